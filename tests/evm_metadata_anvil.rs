//! Token metadata on EVM chains: `symbol()`, `name()` and `decimals()` read by the EVM source
//! beside the balances, against real contracts on anvil (tests/common/anvil.rs), with
//! Multicall3 (`aggregate3`) and without it (JSON-RPC batches); and, against the devnet's EVM
//! node, what reading metadata costs in requests and the block it is read at.
//!
//! The contracts are evm-fixtures' (see its README): TestUSD6 (6 decimals), TestBytes32Token
//! (MKR's `bytes32` strings), HostileMetadata (strings and decimals set by the test),
//! HeavyMetadata (a `symbol()` that burns all its gas, a `name()` of a mebibyte), TestERC20,
//! TestERC721, TestERC1155 (no name or symbol) and TestERC1155Named.
//!
//! Every anvil test starts its own node (and skips, with a note, where there is none outside
//! CI).

#[path = "common/anvil.rs"]
mod anvil;

use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{address, Address, U256};
use anvil::{Anvil, DecimalsMode, CHAIN_ID};
use tokbal::metadata::MAX_TEXT_CHARS;
use tokbal::retry::RetryPolicy;
use tokbal::{Asset, At, Balance, BatchOutput, Client, Network, Query, TokenMetadata};
use tokbal_devnet::{
    seed_erc20_amount, seed_holder_address, Devnet, EvmTokenMetadata, DEMO_ERC1155_CONTRACT,
    DEMO_ERC20_CONTRACT, DEMO_ERC721_CONTRACT,
};

/// anvil as tokbal names it.
const NET: Network = Network::Evm(CHAIN_ID);
const HOLDER: Address = address!("1111111111111111111111111111111111111111");
const OTHER: Address = address!("2222222222222222222222222222222222222222");

fn pow2(n: usize) -> U256 {
    U256::ONE << n
}

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A query on anvil's chain: `token` is "" for the native coin, else `erc20:0x..` and so on.
fn evm(owner: Address, token: &str) -> Query {
    if token.is_empty() {
        q(&format!("{NET}:{owner}"))
    } else {
        q(&format!("{NET}:{owner}/{token}"))
    }
}

fn erc20(contract: Address) -> String {
    format!("erc20:{contract}")
}

fn asset(s: &str) -> Asset {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A client reading anvil's chain at `url`: no retries (every answer is looked at as it
/// came), no Aptos key from the environment. Without metadata: call `with_metadata`.
fn client_with(url: &str, calls_per_request: Option<usize>) -> Client {
    let mut builder = Client::builder()
        .endpoint(NET, url)
        .aptos_api_key(None)
        .timeout(Duration::from_secs(60))
        .retry_policy(RetryPolicy::none());
    if let Some(k) = calls_per_request {
        builder = builder.evm_calls_per_request(k);
    }
    builder.build().expect("a client")
}

fn client(url: &str) -> Client {
    client_with(url, None)
}

/// Result `i`, which must be a balance.
fn balance(out: &BatchOutput, i: usize) -> &Balance {
    match &out.results[i] {
        Ok(b) => b,
        Err(e) => panic!("result {i}: {e:?}"),
    }
}

/// The metadata of result `i`, which must be a balance that carries it.
fn token(out: &BatchOutput, i: usize) -> &TokenMetadata {
    balance(out, i)
        .token
        .as_deref()
        .unwrap_or_else(|| panic!("result {i}: no token metadata on {:?}", out.results[i]))
}

fn symbol_of(out: &BatchOutput, i: usize) -> Option<&str> {
    balance(out, i)
        .token
        .as_deref()
        .and_then(|t| t.symbol.as_deref())
}

fn name_of(out: &BatchOutput, i: usize) -> Option<&str> {
    balance(out, i)
        .token
        .as_deref()
        .and_then(|t| t.name.as_deref())
}

/// `amount / 10^decimals` written out in full, computed here apart from the library: no
/// exponent, no trailing zeros, no trailing point.
fn units(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let d = usize::from(decimals);
    if d == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (whole, fraction) = padded.split_at(padded.len() - d);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

#[test]
fn units_is_right_on_its_own() {
    assert_eq!(units(U256::from(1_500_000), 6), "1.5");
    assert_eq!(units(U256::from(1), 6), "0.000001");
    assert_eq!(units(U256::from(4_200), 2), "42");
    assert_eq!(units(U256::ZERO, 18), "0");
    assert_eq!(
        units(pow2(200), 18),
        "1606938044258990275541962092341162602522202.993782792835301376"
    );
}

/// Checks result `i`: the exact `amount`, then the metadata (`None` where the chain gives
/// none) and `formatted()` following from the decimals.
#[track_caller]
fn assert_read(
    out: &BatchOutput,
    i: usize,
    amount: U256,
    symbol: Option<&str>,
    name: Option<&str>,
    decimals: Option<u8>,
) {
    let b = balance(out, i);
    assert_eq!(b.amount.as_u256(), amount, "result {i}: the amount");
    let t = token(out, i);
    assert_eq!(t.symbol.as_deref(), symbol, "result {i}: the symbol");
    assert_eq!(t.name.as_deref(), name, "result {i}: the name");
    assert_eq!(t.decimals, decimals, "result {i}: the decimals");
    assert_eq!(
        b.formatted(),
        decimals.map(|d| units(amount, d)),
        "result {i}: formatted"
    );
}

// ---------------------------------------------------------------------------------------
// Every kind of token, with and without Multicall3.

/// The fixtures of [`every_kind`], each with a balance of [`HOLDER`].
struct Fixtures {
    usd: Address,
    mkr: Address,
    plain: Address,
    decimals_revert: Address,
    decimals_300: Address,
    decimals_256: Address,
    decimals_255: Address,
    decimals_empty: Address,
    decimals_short: Address,
    nft: Address,
    multi: Address,
    named_multi: Address,
}

const NATIVE_WEI: u128 = 1_500_000_000_000_000_000;
const NFT_ID: u64 = 42;
const MULTI_ID: u64 = 7;
const NAMED_MULTI_ID: u64 = 3;

async fn hostile_decimals(node: &Anvil, mode: DecimalsMode, value: u64, amount: u64) -> Address {
    let token = node
        .deploy_erc20_minted("HostileMetadata", &[(HOLDER, U256::from(amount))])
        .await;
    node.set_decimals(token, mode, U256::from(value)).await;
    token
}

async fn deploy_fixtures(node: &Anvil) -> Fixtures {
    let usd = node
        .deploy_erc20_minted(
            "TestUSD6",
            &[(HOLDER, U256::from(1_500_000)), (OTHER, U256::from(1))],
        )
        .await;
    let mkr = node
        .deploy_erc20_minted("TestBytes32Token", &[(HOLDER, pow2(200))])
        .await;
    let plain = node
        .deploy_erc20_minted("TestERC20", &[(HOLDER, pow2(70) + U256::from(3))])
        .await;
    let decimals_revert = hostile_decimals(node, DecimalsMode::Revert, 0, 12_345).await;
    let decimals_300 = hostile_decimals(node, DecimalsMode::Word, 300, 777).await;
    let decimals_256 = hostile_decimals(node, DecimalsMode::Word, 256, 778).await;
    let decimals_255 = hostile_decimals(node, DecimalsMode::Word, 255, 1).await;
    let decimals_empty = hostile_decimals(node, DecimalsMode::Empty, 0, 779).await;
    let decimals_short = hostile_decimals(node, DecimalsMode::Short, 6, 780).await;
    let nft = node.deploy("TestERC721").await;
    node.mint_erc721(nft, HOLDER, U256::from(NFT_ID)).await;
    let multi = node.deploy("TestERC1155").await;
    node.mint_erc1155(multi, HOLDER, U256::from(MULTI_ID), pow2(200))
        .await;
    let named_multi = node.deploy("TestERC1155Named").await;
    node.mint_erc1155(
        named_multi,
        HOLDER,
        U256::from(NAMED_MULTI_ID),
        U256::from(250),
    )
    .await;
    node.set_native_balance(HOLDER, U256::from(NATIVE_WEI))
        .await;
    Fixtures {
        usd,
        mkr,
        plain,
        decimals_revert,
        decimals_300,
        decimals_256,
        decimals_255,
        decimals_empty,
        decimals_short,
        nft,
        multi,
        named_multi,
    }
}

/// Reads one of every kind in one batch with metadata and checks every balance and its
/// metadata; then the same batch without metadata, which carries none.
async fn every_kind(node: &Anvil, f: &Fixtures) {
    let queries = vec![
        evm(HOLDER, &erc20(f.usd)),
        evm(OTHER, &erc20(f.usd)),
        evm(HOLDER, &erc20(f.mkr)),
        evm(HOLDER, &erc20(f.plain)),
        evm(HOLDER, &erc20(f.decimals_revert)),
        evm(HOLDER, &erc20(f.decimals_300)),
        evm(HOLDER, &erc20(f.decimals_256)),
        evm(HOLDER, &erc20(f.decimals_255)),
        evm(HOLDER, &erc20(f.decimals_empty)),
        evm(HOLDER, &erc20(f.decimals_short)),
        evm(HOLDER, &format!("erc721:{}", f.nft)),
        evm(HOLDER, &format!("erc721:{}:{NFT_ID}", f.nft)),
        evm(HOLDER, &format!("erc1155:{}:{MULTI_ID}", f.multi)),
        evm(
            HOLDER,
            &format!("erc1155:{}:{NAMED_MULTI_ID}", f.named_multi),
        ),
        evm(HOLDER, ""),
    ];
    let (tip, _, _) = node.tip().await;
    let out = client(node.url())
        .with_metadata()
        .balances(&queries, At::Latest)
        .await;
    assert_eq!(out.results.len(), queries.len());
    assert_eq!(out.snapshot.block(NET), Some(tip));
    let hostile = (Some("HOST"), Some("Hostile Test Token"));

    assert_read(
        &out,
        0,
        U256::from(1_500_000),
        Some("USDT6"),
        Some("USD Test"),
        Some(6),
    );
    assert_eq!(balance(&out, 0).formatted().as_deref(), Some("1.5"));
    assert_read(
        &out,
        1,
        U256::from(1),
        Some("USDT6"),
        Some("USD Test"),
        Some(6),
    );
    assert_eq!(balance(&out, 1).formatted().as_deref(), Some("0.000001"));
    // bytes32 strings, NUL padding removed.
    assert_read(&out, 2, pow2(200), Some("MKR"), Some("Maker"), Some(18));
    assert_eq!(
        balance(&out, 2).formatted().as_deref(),
        Some("1606938044258990275541962092341162602522202.993782792835301376")
    );
    assert_read(
        &out,
        3,
        pow2(70) + U256::from(3),
        Some("TBT"),
        Some("Tokbal Test Token"),
        Some(18),
    );
    // decimals that do not fit a uint8, or are not a word: none, the balance exact.
    for (i, amount) in [(4, 12_345u64), (5, 777), (6, 778), (8, 779), (9, 780)] {
        assert_read(&out, i, U256::from(amount), hostile.0, hostile.1, None);
        assert_eq!(balance(&out, i).formatted(), None, "result {i}");
    }
    // 255 fits.
    assert_read(&out, 7, U256::from(1), hostile.0, hostile.1, Some(255));
    assert_eq!(
        balance(&out, 7).formatted(),
        Some(format!("0.{}1", "0".repeat(254)))
    );
    // ERC-721, the collection and one item: decimals 0.
    for i in [10, 11] {
        assert_read(
            &out,
            i,
            U256::from(1),
            Some("TBNFT"),
            Some("Tokbal Test NFT"),
            Some(0),
        );
    }
    assert_eq!(balance(&out, 10).formatted().as_deref(), Some("1"));
    // ERC-1155 without and with name/symbol: decimals 0.
    assert_read(&out, 12, pow2(200), None, None, Some(0));
    assert_read(
        &out,
        13,
        U256::from(250),
        Some("TBMULTI"),
        Some("Tokbal Test Multi"),
        Some(0),
    );
    // The native coin of an evm-<id> network: 18 decimals, no symbol.
    assert_read(&out, 14, U256::from(NATIVE_WEI), None, None, Some(18));
    assert_eq!(balance(&out, 14).formatted().as_deref(), Some("1.5"));
    // One token's metadata is shared by its balances.
    let (a, b) = (&balance(&out, 0).token, &balance(&out, 1).token);
    assert!(
        Arc::ptr_eq(a.as_ref().unwrap(), b.as_ref().unwrap()),
        "one USDT6 metadata for both balances"
    );

    // Without with_metadata, as before: the same amounts, no metadata, nothing formatted.
    let plain = client(node.url()).balances(&queries, At::Latest).await;
    assert_eq!(plain.snapshot.block(NET), Some(tip));
    for (i, (with, without)) in out.results.iter().zip(&plain.results).enumerate() {
        let (with, without) = (with.as_ref().unwrap(), without.as_ref().unwrap());
        assert_eq!(
            with.amount.as_u256(),
            without.amount.as_u256(),
            "result {i}"
        );
        assert!(without.token.is_none(), "result {i}: {without:?}");
        assert_eq!(without.formatted(), None, "result {i}");
    }
}

#[tokio::test]
async fn every_kind_of_token_with_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let fixtures = deploy_fixtures(&node).await;
    every_kind(&node, &fixtures).await;
}

#[tokio::test]
async fn every_kind_of_token_without_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    assert!(node.code(anvil::MULTICALL3).await.is_empty());
    let fixtures = deploy_fixtures(&node).await;
    every_kind(&node, &fixtures).await;
}

// ---------------------------------------------------------------------------------------
// Hostile strings.

/// What a string made of `bytes` must come back as: the bytes that are not UTF-8 replaced by
/// U+FFFD, cut to the first [`MAX_TEXT_CHARS`] characters, nothing else changed.
struct HostileCase {
    name: Vec<u8>,
    symbol: Vec<u8>,
    want_name: String,
    want_symbol: String,
}

fn hostile_cases() -> Vec<HostileCase> {
    let case = |name: &[u8], symbol: &[u8], want_name: &str, want_symbol: &str| HostileCase {
        name: name.to_vec(),
        symbol: symbol.to_vec(),
        want_name: want_name.to_owned(),
        want_symbol: want_symbol.to_owned(),
    };
    // 20 KB: U+202E, then "é" (two bytes each) to 20,480 bytes.
    let mut long = "\u{202e}".to_owned();
    while long.len() + 2 <= 20 * 1024 {
        long.push('é');
    }
    let long_want: String = long.chars().take(MAX_TEXT_CHARS).collect();
    assert_eq!(long_want.chars().count(), MAX_TEXT_CHARS);
    vec![
        // An ANSI colour escape, a bidi override, newlines.
        case(
            b"\x1b[31mRed Alert\x1b[0m\r\nline two",
            b"\xe2\x80\xaeLIVE",
            "\u{1b}[31mRed Alert\u{1b}[0m\r\nline two",
            "\u{202e}LIVE",
        ),
        // NUL inside an ABI string, and bytes that are not UTF-8.
        case(b"A\0B", b"\xffBAD\xfe", "A\0B", "\u{fffd}BAD\u{fffd}"),
        // A cut multi-byte character and a stray continuation byte.
        case(b"caf\xc3", b"\x80X", "caf\u{fffd}", "\u{fffd}X"),
        // 20 KB of name; a symbol of exactly the cap.
        case(
            long.as_bytes(),
            "S".repeat(MAX_TEXT_CHARS).as_bytes(),
            &long_want,
            &"S".repeat(MAX_TEXT_CHARS),
        ),
    ]
}

async fn hostile_strings(node: &Anvil) {
    let cases = hostile_cases();
    let mut queries = Vec::new();
    let mut assets = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let amount = U256::from(1_000 + i);
        let token = node
            .deploy_erc20_minted("HostileMetadata", &[(HOLDER, amount)])
            .await;
        node.set_strings(token, &case.name, &case.symbol).await;
        queries.push(evm(HOLDER, &erc20(token)));
        assets.push(asset(&format!("{NET}:erc20:{token}")));
    }
    let out = client(node.url())
        .with_metadata()
        .balances(&queries, At::Latest)
        .await;
    for (i, case) in cases.iter().enumerate() {
        assert_read(
            &out,
            i,
            U256::from(1_000 + i),
            Some(&case.want_symbol),
            Some(&case.want_name),
            Some(18),
        );
    }
    // The same through metadata().
    let meta = client(node.url()).metadata(&assets, At::Latest).await;
    assert_eq!(meta.snapshot.block(NET), out.snapshot.block(NET));
    for (i, case) in cases.iter().enumerate() {
        let got = meta.results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("asset {i}: {e:?}"));
        assert_eq!(
            got.symbol.as_deref(),
            Some(case.want_symbol.as_str()),
            "asset {i}"
        );
        assert_eq!(
            got.name.as_deref(),
            Some(case.want_name.as_str()),
            "asset {i}"
        );
        assert_eq!(got.decimals, Some(18), "asset {i}");
    }
}

#[tokio::test]
async fn hostile_strings_come_back_as_text_with_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    hostile_strings(&node).await;
}

#[tokio::test]
async fn hostile_strings_come_back_as_text_without_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    hostile_strings(&node).await;
}

// ---------------------------------------------------------------------------------------
// Metadata calls that burn their gas or answer a mebibyte never cost a balance.

async fn heavy_beside_balances(node: &Anvil, calls_per_request: Option<usize>) {
    let usd = node
        .deploy_erc20_minted("TestUSD6", &[(HOLDER, U256::from(2_500_000))])
        .await;
    let heavy = node
        .deploy_erc20_minted(
            "HeavyMetadata",
            &[(HOLDER, U256::from(9)), (OTHER, pow2(255))],
        )
        .await;
    let plain = node
        .deploy_erc20_minted("TestERC20", &[(HOLDER, U256::from(5))])
        .await;
    let nft = node.deploy("TestERC721").await;
    node.mint_erc721(nft, OTHER, U256::from(1)).await;
    node.set_native_balance(OTHER, U256::from(77)).await;
    // The heavy token between and around the others, so that its calls sit beside theirs.
    let queries = vec![
        evm(HOLDER, &erc20(usd)),
        evm(HOLDER, &erc20(heavy)),
        evm(HOLDER, &erc20(plain)),
        evm(OTHER, &erc20(heavy)),
        evm(OTHER, &format!("erc721:{nft}")),
        evm(OTHER, ""),
        evm(OTHER, &erc20(usd)),
    ];
    let out = client_with(node.url(), calls_per_request)
        .with_metadata()
        .balances(&queries, At::Latest)
        .await;
    let amounts = [
        U256::from(2_500_000),
        U256::from(9),
        U256::from(5),
        pow2(255),
        U256::ONE,
        U256::from(77),
        U256::ZERO,
    ];
    for (i, want) in amounts.iter().enumerate() {
        assert_eq!(balance(&out, i).amount.as_u256(), *want, "result {i}");
    }
    // The heavy token: no symbol (out of gas), no name (a mebibyte).
    for i in [1, 3] {
        assert_eq!(symbol_of(&out, i), None, "result {i}");
        assert_eq!(name_of(&out, i), None, "result {i}");
    }
    // Everyone else's metadata is whole.
    assert_read(
        &out,
        0,
        amounts[0],
        Some("USDT6"),
        Some("USD Test"),
        Some(6),
    );
    assert_read(
        &out,
        6,
        amounts[6],
        Some("USDT6"),
        Some("USD Test"),
        Some(6),
    );
    assert_read(
        &out,
        2,
        amounts[2],
        Some("TBT"),
        Some("Tokbal Test Token"),
        Some(18),
    );
    assert_read(
        &out,
        4,
        amounts[4],
        Some("TBNFT"),
        Some("Tokbal Test NFT"),
        Some(0),
    );
    assert_read(&out, 5, amounts[5], None, None, Some(18));

    // metadata() on its own: the heavy token has neither, the others are read.
    let assets = [
        asset(&format!("{NET}:erc20:{heavy}")),
        asset(&format!("{NET}:erc20:{usd}")),
    ];
    let meta = client_with(node.url(), calls_per_request)
        .metadata(&assets, At::Latest)
        .await;
    let heavy = meta.results[0]
        .as_ref()
        .expect("the heavy token's metadata");
    assert_eq!(
        (heavy.symbol.as_deref(), heavy.name.as_deref()),
        (None, None)
    );
    let usd = meta.results[1].as_ref().expect("USDT6's metadata");
    assert_eq!(
        *usd,
        TokenMetadata::new(Some("USDT6"), Some("USD Test"), Some(6))
    );
}

#[tokio::test]
async fn gas_burning_and_megabyte_metadata_spare_the_balances_with_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    heavy_beside_balances(&node, None).await;
    // Smaller requests put the heavy calls beside other calls.
    heavy_beside_balances(&node, Some(4)).await;
}

#[tokio::test]
async fn gas_burning_and_megabyte_metadata_spare_the_balances_without_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    heavy_beside_balances(&node, None).await;
}

// ---------------------------------------------------------------------------------------
// metadata() and the block metadata is read at.

async fn metadata_of_assets(node: &Anvil) {
    let f = deploy_fixtures(node).await;
    let texts = [
        format!("{NET}:erc20:{}", f.usd),
        format!("{NET}:erc20:{}", f.mkr),
        format!("{NET}:erc20:{}", f.decimals_300),
        format!("{NET}:erc721:{}", f.nft),
        format!("{NET}:erc721:{}:{NFT_ID}", f.nft),
        format!("{NET}:erc1155:{}:{MULTI_ID}", f.multi),
        format!("{NET}:erc1155:{}:{NAMED_MULTI_ID}", f.named_multi),
        NET.to_string(),
        format!("{NET}:native"),
    ];
    let assets: Vec<Asset> = texts.iter().map(|t| asset(t)).collect();
    let (tip, _, _) = node.tip().await;
    let out = client(node.url()).metadata(&assets, At::Latest).await;
    assert_eq!(out.snapshot.block(NET), Some(tip));
    assert_eq!(out.results.len(), assets.len());
    let none = None::<&str>;
    let want = [
        TokenMetadata::new(Some("USDT6"), Some("USD Test"), Some(6)),
        TokenMetadata::new(Some("MKR"), Some("Maker"), Some(18)),
        TokenMetadata::new(Some("HOST"), Some("Hostile Test Token"), None),
        TokenMetadata::new(Some("TBNFT"), Some("Tokbal Test NFT"), Some(0)),
        TokenMetadata::new(Some("TBNFT"), Some("Tokbal Test NFT"), Some(0)),
        TokenMetadata::new(none, none, Some(0)),
        TokenMetadata::new(Some("TBMULTI"), Some("Tokbal Test Multi"), Some(0)),
        TokenMetadata::new(none, none, Some(18)),
        TokenMetadata::new(none, none, Some(18)),
    ];
    for (i, want) in want.iter().enumerate() {
        let got = out.results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e:?}", texts[i]));
        assert_eq!(got, want, "{}", texts[i]);
    }
    assert_eq!(NET.native_metadata(), want[7]);
}

#[tokio::test]
async fn metadata_of_assets_with_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    metadata_of_assets(&node).await;
}

#[tokio::test]
async fn metadata_of_assets_without_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    metadata_of_assets(&node).await;
}

#[tokio::test]
async fn metadata_is_read_at_the_block_of_the_balances() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node
        .deploy_erc20_minted("HostileMetadata", &[(HOLDER, U256::from(1_234_567))])
        .await;
    let before = node.set_strings(token, b"Old Name", b"OLD").await.block;
    let renamed = node.set_strings(token, b"New Name", b"NEW").await.block;
    let redecimalled = node
        .set_decimals(token, DecimalsMode::Word, U256::from(6))
        .await
        .block;
    let queries = [evm(HOLDER, &erc20(token))];
    let assets = [asset(&format!("{NET}:erc20:{token}"))];
    let c = client(node.url()).with_metadata();
    for (block, symbol, decimals) in [
        (before, "OLD", 18),
        (renamed, "NEW", 18),
        (redecimalled, "NEW", 6),
    ] {
        let at = At::Blocks([(NET, block)].into_iter().collect());
        let out = c.balances(&queries, at.clone()).await;
        assert_eq!(out.snapshot.block(NET), Some(block));
        let name = format!("{} Name", if symbol == "OLD" { "Old" } else { "New" });
        assert_read(
            &out,
            0,
            U256::from(1_234_567),
            Some(symbol),
            Some(&name),
            Some(decimals),
        );
        let meta = c.metadata(&assets, at).await;
        assert_eq!(meta.snapshot.block(NET), Some(block));
        let got = meta.results[0].as_ref().expect("metadata");
        assert_eq!(
            (got.symbol.as_deref(), got.decimals),
            (Some(symbol), Some(decimals)),
            "block {block}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Against the devnet: what metadata costs in requests, and the demo tokens.

const DEVNET_TOKEN: &str = "0x00000000000000000000000000000000000020c0";

fn devnet_client(net: &Devnet) -> Client {
    Client::builder()
        .endpoint(Network::EthereumMainnet, net.evm_url())
        .aptos_api_key(None)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("a client")
}

#[tokio::test]
async fn metadata_for_300_balances_of_one_token_costs_at_most_one_request_more() {
    let net = Devnet::builder()
        .evm_initial_blocks(100)
        .start()
        .await
        .expect("devnet");
    let evm = net.evm();
    evm.seed_erc20_holders(DEVNET_TOKEN, 300).unwrap();
    evm.set_token_metadata_at(
        DEVNET_TOKEN,
        0,
        EvmTokenMetadata::new(Some("USD Test"), Some("USDT6"), Some(6)),
    )
    .unwrap();
    let queries: Vec<Query> = (0..300)
        .map(|i| {
            q(&format!(
                "ethereum:{}/erc20:{DEVNET_TOKEN}",
                seed_holder_address(i)
            ))
        })
        .collect();

    evm.reset_requests();
    let plain = devnet_client(&net).balances(&queries, At::Latest).await;
    let without = evm.requests();
    evm.reset_requests();
    let out = devnet_client(&net)
        .with_metadata()
        .balances(&queries, At::Latest)
        .await;
    let with = evm.requests();

    let shared = balance(&out, 0).token.clone().expect("metadata");
    for i in 0..300 {
        let want = seed_erc20_amount(i as u64);
        assert_eq!(balance(&plain, i).amount.as_u256(), want, "result {i}");
        assert!(balance(&plain, i).token.is_none());
        assert_read(&out, i, want, Some("USDT6"), Some("USD Test"), Some(6));
        let token = balance(&out, i).token.as_ref().expect("metadata");
        assert!(
            Arc::ptr_eq(token, &shared),
            "result {i}: one metadata per token"
        );
    }
    assert!(without.http > 0 && without.call > 0, "{without:?}");
    assert!(
        with.http <= without.http + 1,
        "with metadata {with:?}, without {without:?}"
    );
    assert!(
        with.call <= without.call + 1,
        "with metadata {with:?}, without {without:?}"
    );
    // The metadata calls ride in the aggregate3 calls: three more inner calls, and the
    // request that carries them ends with Multicall3's getBlockNumber() (whether it ran out
    // of gas before its end), no more.
    assert_eq!(with.inner_calls, without.inner_calls + 3 + 1, "{with:?}");
}

#[tokio::test]
async fn metadata_follows_the_pin_on_the_devnet() {
    let net = Devnet::builder()
        .evm_initial_blocks(100)
        .start()
        .await
        .expect("devnet");
    let evm = net.evm();
    let owner = seed_holder_address(0);
    evm.seed_erc20_holders(DEVNET_TOKEN, 1).unwrap();
    evm.set_token_metadata_at(
        DEVNET_TOKEN,
        0,
        EvmTokenMetadata::new(Some("Old"), Some("OLD"), Some(6)),
    )
    .unwrap();
    evm.set_token_metadata_at(
        DEVNET_TOKEN,
        50,
        EvmTokenMetadata::new(Some("New"), Some("NEW"), Some(8)),
    )
    .unwrap();
    let queries = [q(&format!("ethereum:{owner}/erc20:{DEVNET_TOKEN}"))];
    let c = devnet_client(&net).with_metadata();
    let amount = seed_erc20_amount(0);
    for (block, symbol, decimals) in [(49, "OLD", 6), (50, "NEW", 8)] {
        let at = At::Blocks([(Network::EthereumMainnet, block)].into_iter().collect());
        let out = c.balances(&queries, at).await;
        assert_eq!(out.snapshot.block(Network::EthereumMainnet), Some(block));
        let name = if symbol == "OLD" { "Old" } else { "New" };
        assert_read(&out, 0, amount, Some(symbol), Some(name), Some(decimals));
    }
}

#[tokio::test]
async fn the_demo_tokens_have_metadata() {
    let net = Devnet::builder()
        .with_demo_data()
        .start()
        .await
        .expect("devnet");
    let assets = [
        asset(&format!("ethereum:erc20:{DEMO_ERC20_CONTRACT}")),
        asset(&format!("ethereum:erc721:{DEMO_ERC721_CONTRACT}")),
        asset(&format!("ethereum:erc1155:{DEMO_ERC1155_CONTRACT}:7")),
    ];
    let out = devnet_client(&net).metadata(&assets, At::Latest).await;
    let got: Vec<TokenMetadata> = out
        .results
        .iter()
        .map(|r| r.as_ref().expect("metadata").clone())
        .collect();
    assert_eq!(
        got,
        [
            TokenMetadata::new(Some("COFFEE"), Some("Demo Coffee"), Some(18)),
            TokenMetadata::new(Some("BEEF"), Some("Demo Beef"), Some(0)),
            TokenMetadata::new(Some("CAFE"), Some("Demo Cafe"), Some(0)),
        ]
    );
}
