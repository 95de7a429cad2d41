//! Everything an account holds at one ledger version ([`Client::holdings`]) against the
//! in-process Aptos devnet on 127.0.0.1: coin stores found among the account's resources over
//! several pages (every page at the pinned version), APT always checked, a coin whose balance
//! went back to zero, fungible assets found only when given, APT's coin and its paired
//! fungible asset `0xa` reported once, an account with nothing, an earlier version; and a
//! Bitcoin owner beside them in one call (BTC only, always whole).
//!
//! Every expectation comes from the script of balance changes kept here ([`CHANGES`]), never
//! from the library.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use tokbal::holdings::{Discovery, HoldingsOptions, HoldingsOutput, OwnerHoldings};
use tokbal::retry::RetryPolicy;
use tokbal::{Asset, At, Client, Network, Query, TokenMetadata};
use tokbal_devnet::{Devnet, APT_COIN};

const OWNER: &str = "0xa11ce";
/// An account with no resource and no balance.
const NOBODY: &str = "0xdead";

const USDC: &str = "0xabc::usdc::USDC";
const MOON: &str = "0xabc::moon::MOON";
const LP: &str = "0xdef::pool::LP<0x1::aptos_coin::AptosCoin, 0xabc::usdc::USDC>";
/// A coin whose balance went back to zero: its store stays, empty.
const DUST: &str = "0xabc::dust::DUST";
/// APT's paired fungible asset.
const APT_FA: &str = "0xa";
/// A fungible asset the owner holds and that is given (`--tokens`).
const FA_GIVEN: &str = "0xfa";
/// A fungible asset the owner holds that nobody names: a full node cannot list it.
const FA_UNLISTED: &str = "0xfb";
/// A fungible asset given that the owner never held.
const FA_NEVER: &str = "0xfc";

/// The coins the owner ever held (each has a coin store from its first change on), with
/// their metadata.
const COINS: [(&str, &str, &str, u8); 5] = [
    (APT_COIN, "Aptos Coin", "APT", 8),
    (USDC, "USD Coin", "USDC", 6),
    (MOON, "Moon", "MOON", 8),
    (LP, "LP", "APT-USDC", 8),
    (DUST, "Dust", "DUST", 2),
];

/// The fungible assets, with their metadata.
const FAS: [(&str, &str, &str, u8); 3] = [
    (FA_GIVEN, "Token", "TKN", 9),
    (FA_UNLISTED, "Other", "OTH", 6),
    (FA_NEVER, "Zero", "ZRO", 6),
];

/// The owner's balance changes: (asset type, from version, amount). APT is held both in its
/// coin store and as its paired fungible asset, as on a migrated account.
const CHANGES: [(&str, u64, u64); 11] = [
    (APT_COIN, 10, 5_000_000_000),
    (APT_FA, 10, 5_000_000_000),
    (USDC, 20, 1_500_000),
    (MOON, 25, 42),
    (DUST, 30, 100),
    (DUST, 40, 0),
    (FA_GIVEN, 50, 123_456_789),
    (FA_UNLISTED, 50, 999),
    (LP, 120, 7),
    (USDC, 150, 2_750_000),
    (APT_COIN, 200, 4_000_000_000),
];

/// Resources that are no coin store, to fill the pages.
const OTHER_RESOURCES: usize = 5;
/// Resources a page holds.
const PAGE: u16 = 2;

fn q(s: &str) -> Query {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn asset(s: &str) -> Asset {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// `0x` and the address in 64 hex digits.
fn long(address: &str) -> String {
    format!("0x{:0>64}", address.trim_start_matches("0x"))
}

/// The holding of `asset_type` by `owner`, as a query.
fn holding(owner: &str, asset_type: &str) -> Query {
    q(&format!("aptos:{owner}/{asset_type}"))
}

fn meta(name: &str, symbol: &str, decimals: u8) -> TokenMetadata {
    TokenMetadata::new(Some(symbol), Some(name), Some(decimals))
}

/// `amount / 10^decimals` written out in full, computed here apart from the library.
fn units(amount: u64, decimals: u8) -> String {
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

/// A devnet of 300 versions (tip 299) with the owner's history, and its resources listed
/// [`PAGE`] to a page.
async fn devnet() -> Devnet {
    let net = Devnet::builder()
        .initial_blocks(100)
        .versions_per_block(3)
        .esplora_initial_blocks(50)
        .start()
        .await
        .expect("devnet starts");
    let n = net.aptos();
    assert_eq!(n.tip_version(), 299);
    for (coin, name, symbol, decimals) in COINS {
        if coin != APT_COIN {
            n.set_coin_info_at(coin, 5, name, symbol, decimals).unwrap();
        }
    }
    for (fa, name, symbol, decimals) in FAS {
        n.set_fungible_asset_metadata_at(fa, 5, name, symbol, decimals)
            .unwrap();
    }
    for (asset_type, version, amount) in CHANGES {
        n.set_balance_at(OWNER, asset_type, version, amount)
            .unwrap();
    }
    n.set_resource_at(
        OWNER,
        "0x1::account::Account",
        1,
        &json!({"sequence_number": "3"}),
    )
    .unwrap();
    for i in 0..OTHER_RESOURCES {
        n.set_resource_at(OWNER, &format!("0x1::m::R{i}"), 2, &json!({"i": i}))
            .unwrap();
    }
    n.set_resources_page_size(PAGE);
    net
}

fn client(net: &Devnet) -> Client {
    Client::builder()
        .aptos_url(net.aptos_url())
        .aptos_api_key(None)
        .endpoint(Network::BitcoinMainnet, net.esplora_url())
        .timeout(Duration::from_secs(10))
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("a client")
}

/// The owner's balance of `asset_type` at `version`, from [`CHANGES`].
fn balance_at(asset_type: &str, version: u64) -> u64 {
    CHANGES
        .iter()
        .filter(|(a, v, _)| *a == asset_type && *v <= version)
        .max_by_key(|(_, v, _)| *v)
        .map_or(0, |(_, _, amount)| *amount)
}

/// What a read of `account` at `version` must find, with `given` the fungible assets and
/// coins given: (each holding with its amount and metadata, distinct candidates).
fn expect(
    account: &str,
    version: u64,
    given: &[&str],
) -> (BTreeMap<Query, (u64, TokenMetadata)>, u64) {
    let metadata: BTreeMap<&str, TokenMetadata> = COINS
        .iter()
        .chain(&FAS)
        .map(|(a, name, symbol, decimals)| (*a, meta(name, symbol, *decimals)))
        .collect();
    // APT always; every coin with a store at the version; what is given, APT's fungible
    // asset being APT.
    let mut candidates: BTreeSet<&str> = BTreeSet::from([APT_COIN]);
    if account == OWNER {
        for (coin, _, _, _) in COINS {
            if CHANGES.iter().any(|(a, v, _)| *a == coin && *v <= version) {
                candidates.insert(coin);
            }
        }
    }
    for g in given {
        candidates.insert(if *g == APT_FA { APT_COIN } else { *g });
    }
    let held = candidates
        .iter()
        .filter_map(|a| {
            let amount = if account == OWNER {
                balance_at(a, version)
            } else {
                0
            };
            (amount > 0).then(|| (holding(account, a), (amount, metadata[a].clone())))
        })
        .collect();
    (held, candidates.len() as u64)
}

/// One account's holdings against `want`, all read at `version`.
#[track_caller]
fn assert_holdings(
    got: &OwnerHoldings,
    account: &str,
    version: u64,
    want: &(BTreeMap<Query, (u64, TokenMetadata)>, u64),
    what: &str,
) {
    assert_eq!(
        got.owner,
        format!("aptos:{}", long(account)),
        "{what}: owner"
    );
    let mut held = BTreeMap::new();
    for (query, result) in &got.holdings {
        let b = result
            .as_ref()
            .unwrap_or_else(|e| panic!("{what}: {query}: {e}"));
        assert_eq!(query.network(), Network::AptosMainnet, "{what}");
        assert!(
            held.insert(query.clone(), b).is_none(),
            "{what}: {query} reported twice"
        );
    }
    let amounts: BTreeMap<&Query, Option<u64>> =
        held.iter().map(|(q, b)| (q, b.amount.to_u64())).collect();
    let wanted: BTreeMap<&Query, Option<u64>> =
        want.0.iter().map(|(q, (a, _))| (q, Some(*a))).collect();
    assert_eq!(amounts, wanted, "{what}: holdings");
    for (query, (amount, metadata)) in &want.0 {
        let b = held[query];
        assert_eq!(b.ledger_version, Some(version), "{what}: {query}");
        assert_eq!(b.token.as_deref(), Some(metadata), "{what}: {query}");
        assert_eq!(
            b.formatted(),
            metadata.decimals.map(|d| units(*amount, d)),
            "{what}: {query}"
        );
    }
    assert_eq!(
        got.discovery.candidates, want.1,
        "{what}: candidates {:?}",
        got.discovery
    );
}

/// Aptos: never whole, because no full node lists the fungible assets an account holds in
/// primary stores, and saying so in words; no block range. `list`: whether the tokens given
/// are among the sources (`None`: either way, for tokens given that add no candidate).
#[track_caller]
fn assert_aptos_discovery(d: &Discovery, list: Option<bool>, what: &str) {
    let mut sources: BTreeSet<&str> = d.sources.iter().map(String::as_str).collect();
    if list.is_none() {
        sources.remove("list");
    }
    let mut want = BTreeSet::from(["native", "resources"]);
    if list == Some(true) {
        want.insert("list");
    }
    assert_eq!(sources, want, "{what}: {d:?}");
    assert_eq!((d.from_block, d.to_block), (None, None), "{what}");
    assert!(!d.complete, "{what}: {d:?}");
    let reason = d.reason.as_deref().unwrap_or_default();
    assert!(
        reason.to_lowercase().contains("fungible asset"),
        "{what}: the reason names fungible assets: {d:?}"
    );
    assert_reads_well(reason, what);
}

/// A reason for a person: words, one space apart, on one line.
#[track_caller]
fn assert_reads_well(reason: &str, what: &str) {
    assert!(!reason.trim().is_empty(), "{what}: no reason");
    assert_eq!(reason, reason.trim(), "{what}: {reason:?}");
    assert!(
        !reason.contains("  ") && !reason.chars().any(char::is_control),
        "{what}: {reason:?}"
    );
}

/// The tokens given: a fungible asset held, one never held, APT's fungible asset, a coin the
/// resources show anyway, and other networks' tokens.
fn given() -> Vec<Asset> {
    [
        format!("aptos:{FA_GIVEN}"),
        format!("aptos:{FA_NEVER}"),
        format!("aptos:{APT_FA}"),
        format!("aptos:{USDC}"),
        "ethereum:erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".to_owned(),
        "ethereum".to_owned(),
    ]
    .iter()
    .map(|s| asset(s))
    .collect()
}

const GIVEN_APTOS: [&str; 4] = [FA_GIVEN, FA_NEVER, APT_FA, USDC];

/// Every request to an account's routes carried `ledger_version=VERSION`; returns how many
/// resources pages were read.
#[track_caller]
fn assert_all_pinned(net: &Devnet, version: u64) -> u64 {
    let paths = net.aptos().seen_paths();
    for path in paths.iter().filter(|p| p.contains("/accounts/")) {
        assert!(
            path.contains(&format!("ledger_version={version}")),
            "{path} not at {version}: {paths:#?}"
        );
    }
    net.aptos().requests().resources
}

async fn holdings(
    client: &Client,
    owners: &[&str],
    at: At,
    options: HoldingsOptions,
) -> HoldingsOutput {
    let owners: Vec<Query> = owners.iter().map(|o| q(o)).collect();
    let out = client.holdings(&owners, at, options).await;
    assert_eq!(out.owners.len(), owners.len(), "one entry per owner");
    out
}

#[tokio::test]
async fn coin_stores_over_pages_and_fungible_assets_given() {
    let net = devnet().await;
    let n = net.aptos();
    let client = client(&net);
    // The script as the node sees it: every coin store, and the other resources.
    let types = n.resource_types(OWNER, Some(299)).unwrap();
    assert_eq!(types.len(), COINS.len() + OTHER_RESOURCES + 1, "{types:#?}");
    assert!(
        types.len() > 2 * usize::from(PAGE),
        "the resources span several pages"
    );
    assert_eq!(n.balance(OWNER, DUST, Some(299)).unwrap(), 0);
    assert_eq!(n.balance(OWNER, FA_UNLISTED, Some(299)).unwrap(), 999);

    for version in [299, 130, 35] {
        let what = format!("at {version}");
        let at = if version == 299 {
            At::Latest
        } else {
            At::AptosVersion(version)
        };
        n.reset_requests();
        let out = holdings(
            &client,
            &[&format!("aptos:{OWNER}"), &format!("aptos:{NOBODY}")],
            at,
            HoldingsOptions::default().tokens(given()),
        )
        .await;
        assert_eq!(
            out.snapshot.aptos_version(Network::AptosMainnet),
            Some(version),
            "{what}"
        );
        let want = expect(OWNER, version, &GIVEN_APTOS);
        assert_holdings(&out.owners[0], OWNER, version, &want, &what);
        assert_aptos_discovery(&out.owners[0].discovery, Some(true), &what);
        let want = expect(NOBODY, version, &GIVEN_APTOS);
        assert!(want.0.is_empty());
        assert_holdings(&out.owners[1], NOBODY, version, &want, &what);
        assert_aptos_discovery(&out.owners[1].discovery, Some(true), &what);

        // Every page of both accounts, each at the pinned version, and every balance and
        // metadata read too.
        let pages = |account: &str| {
            let resources = n.resource_types(account, Some(version)).unwrap().len() as u64;
            resources.div_ceil(u64::from(PAGE)).max(1)
        };
        let read = assert_all_pinned(&net, version);
        assert_eq!(
            read,
            pages(OWNER) + pages(NOBODY),
            "{what}: resources pages"
        );
    }

    // Spelled out at the tip: APT once (by its coin, its fungible asset not again), the
    // coins with a balance, the fungible asset given; not the empty store, not the asset
    // never held, not the one nobody named.
    let (held, candidates) = expect(OWNER, 299, &GIVEN_APTOS);
    let queries: BTreeSet<Query> = held.into_keys().collect();
    let spelled: BTreeSet<Query> = [APT_COIN, USDC, MOON, LP, FA_GIVEN]
        .iter()
        .map(|a| holding(OWNER, a))
        .collect();
    assert_eq!(queries, spelled);
    // APT, USDC, MOON, LP, DUST; 0xfa and 0xfc given (0xa is APT, USDC found already).
    assert_eq!(candidates, 7);
}

#[tokio::test]
async fn apt_and_its_fungible_asset_are_one_holding() {
    let net = devnet().await;
    let client = client(&net);
    for (options, given, list) in [
        (HoldingsOptions::default(), false, Some(false)),
        (
            HoldingsOptions::default().tokens([asset(&format!("aptos:{APT_FA}"))]),
            true,
            None,
        ),
        (
            HoldingsOptions::default().tokens([
                asset(&format!("aptos:{APT_FA}")),
                asset(&format!("aptos:{APT_COIN}")),
                asset("aptos:0x000a"),
            ]),
            true,
            Some(true),
        ),
    ] {
        let what = format!("given {given}");
        let out = holdings(&client, &[&format!("aptos:{OWNER}")], At::Latest, options).await;
        let apt: Vec<&Query> = out.owners[0]
            .holdings
            .iter()
            .map(|(q, _)| q)
            .filter(|q| **q == holding(OWNER, APT_COIN) || **q == holding(OWNER, APT_FA))
            .collect();
        assert_eq!(apt, [&holding(OWNER, APT_COIN)], "{what}: read by its coin");
        let want = expect(OWNER, 299, if given { &[APT_FA] } else { &[] });
        assert_holdings(&out.owners[0], OWNER, 299, &want, &what);
        assert_aptos_discovery(&out.owners[0].discovery, list, &what);
    }
    // Without the tokens given, the fungible asset held is not found, and the discovery
    // says why.
    let out = holdings(
        &client,
        &[&format!("aptos:{OWNER}")],
        At::Latest,
        HoldingsOptions::default(),
    )
    .await;
    assert!(!out.owners[0]
        .holdings
        .iter()
        .any(|(q, _)| *q == holding(OWNER, FA_GIVEN)));
}

#[tokio::test]
async fn apt_is_checked_without_a_coin_store() {
    let net = devnet().await;
    let n = net.aptos();
    // An account whose resources hold no coin store at all: APT is a candidate still.
    let account = "0xb0b";
    n.set_resource_at(
        account,
        "0x1::account::Account",
        1,
        &json!({"sequence_number": "0"}),
    )
    .unwrap();
    n.set_balance_at(account, FA_GIVEN, 10, 5).unwrap();
    assert!(!n
        .resource_types(account, Some(299))
        .unwrap()
        .iter()
        .any(|t| t.contains("CoinStore")));
    let out = holdings(
        &client(&net),
        &[&format!("aptos:{account}")],
        At::Latest,
        HoldingsOptions::default().tokens([asset(&format!("aptos:{FA_GIVEN}"))]),
    )
    .await;
    let got = &out.owners[0];
    assert_eq!(
        got.discovery.candidates, 2,
        "APT and the asset given: {:?}",
        got.discovery
    );
    assert_eq!(got.holdings.len(), 1, "{:?}", got.holdings);
    let (query, result) = &got.holdings[0];
    assert_eq!(*query, holding(account, FA_GIVEN));
    let b = result.as_ref().expect("a balance");
    assert_eq!(b.amount.to_u64(), Some(5));
    assert_eq!(b.token.as_deref(), Some(&meta("Token", "TKN", 9)));
    assert_eq!(b.formatted().as_deref(), Some("0.000000005"));
    assert_aptos_discovery(&got.discovery, Some(true), "no coin store");
}

// ---------------------------------------------------------------------------------------
// Bitcoin beside Aptos

#[cfg(feature = "bitcoin")]
mod bitcoin {
    use super::*;

    /// BIP 173's example P2WPKH address, and a taproot address that holds nothing.
    const HOLDER: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
    const EMPTY: &str = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0";

    /// BTC only, always whole.
    #[track_caller]
    fn assert_btc(got: &OwnerHoldings, address: &str, sats: u64, height: u64) {
        assert_eq!(got.owner, format!("bitcoin:{address}"));
        let d = &got.discovery;
        let sources: Vec<&str> = d.sources.iter().map(String::as_str).collect();
        assert_eq!(sources, ["native"], "{d:?}");
        assert_eq!(d.candidates, 1, "{d:?}");
        assert!(d.complete, "{d:?}");
        assert_eq!(d.reason, None);
        assert_eq!((d.from_block, d.to_block), (None, None));
        if sats == 0 {
            assert!(got.holdings.is_empty(), "{:?}", got.holdings);
            return;
        }
        assert_eq!(got.holdings.len(), 1, "{:?}", got.holdings);
        let (query, result) = &got.holdings[0];
        assert_eq!(*query, q(&format!("bitcoin:{address}")));
        assert_eq!(query.to_string(), format!("bitcoin:{address}"), "no token");
        let b = result.as_ref().expect("a balance");
        assert_eq!(b.amount.to_u64(), Some(sats));
        assert_eq!(b.block, Some(height));
        assert_eq!(
            b.token.as_deref(),
            Some(&TokenMetadata::new(Some("BTC"), Some("Bitcoin"), Some(8)))
        );
        assert_eq!(b.formatted(), Some(units(sats, 8)));
    }

    #[tokio::test]
    async fn a_bitcoin_owner_holds_btc_and_the_list_is_whole() {
        let net = devnet().await;
        let node = net.esplora();
        node.pay(HOLDER, 3_000).unwrap();
        node.mine(1);
        let first = node.tip();
        node.pay(HOLDER, 50).unwrap();
        node.mine(1);
        // Unconfirmed: part of no balance.
        node.pay_mempool(HOLDER, 7).unwrap();
        let tip = node.tip();
        let client = client(&net);
        let owners = [
            format!("aptos:{OWNER}"),
            format!("bitcoin:{HOLDER}"),
            format!("bitcoin:{EMPTY}"),
        ];
        let owners: Vec<&str> = owners.iter().map(String::as_str).collect();

        let out = holdings(
            &client,
            &owners,
            At::Latest,
            HoldingsOptions::default().tokens(given()),
        )
        .await;
        assert_eq!(out.snapshot.block(Network::BitcoinMainnet), Some(tip));
        assert_holdings(
            &out.owners[0],
            OWNER,
            299,
            &expect(OWNER, 299, &GIVEN_APTOS),
            "beside Bitcoin",
        );
        assert_btc(&out.owners[1], HOLDER, 3_050, tip);
        assert_btc(&out.owners[2], EMPTY, 0, tip);

        // Both networks at an earlier point, in one call.
        let at = At::Blocks(BTreeMap::from([
            (Network::BitcoinMainnet, first),
            (Network::AptosMainnet, 35),
        ]));
        let out = holdings(&client, &owners, at, HoldingsOptions::default()).await;
        assert_eq!(out.snapshot.block(Network::BitcoinMainnet), Some(first));
        assert_eq!(out.snapshot.aptos_version(Network::AptosMainnet), Some(35));
        assert_holdings(
            &out.owners[0],
            OWNER,
            35,
            &expect(OWNER, 35, &[]),
            "earlier",
        );
        assert_btc(&out.owners[1], HOLDER, 3_000, first);
        assert_btc(&out.owners[2], EMPTY, 0, first);
    }
}
