//! The anvil harness itself (tests/common/anvil.rs), with no tokbal EVM source in the loop:
//! the node starts and stops, the fixtures deploy, and mints, burns, balance changes and
//! timestamps land in the blocks the harness says, as raw `eth_call`/`eth_getBalance` see them;
//! and the limiting proxy (tests/common/logs_proxy.rs) refuses, throttles and counts as it says.

#[path = "common/anvil.rs"]
mod anvil;
#[path = "common/logs_proxy.rs"]
mod logs_proxy;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{Revert, SolCall, SolError};
use anvil::{
    quantity, Anvil, Bytes32Metadata, DecimalsMode, Multicall3, RawStrings, TestERC1155, TestERC20,
    TestERC721, TokenMetadataFixture, CHAIN_ID, DEV_ACCOUNT, MULTICALL3,
};
use serde_json::{json, Value};

const HOLDER: Address = address!("1111111111111111111111111111111111111111");
const OTHER: Address = address!("2222222222222222222222222222222222222222");
const REVERT_REASON: &str = "tokbal: balanceOf reverted";

fn pow2(n: usize) -> U256 {
    U256::ONE << n
}

/// `call` on `to` at block `number`, decoded; panics on an error answer.
async fn read<C: SolCall>(node: &Anvil, to: Address, call: C, number: u64) -> C::Return {
    let bytes = node
        .eth_call(to, call.abi_encode(), number)
        .await
        .unwrap_or_else(|e| panic!("{} at block {number}: {e}", C::SIGNATURE));
    C::abi_decode_returns(&bytes)
        .unwrap_or_else(|e| panic!("{} at block {number}: {e}", C::SIGNATURE))
}

async fn erc20_balance(node: &Anvil, token: Address, owner: Address, number: u64) -> U256 {
    read(node, token, TestERC20::balanceOfCall { owner }, number).await
}

fn error_code(error: &Value) -> i64 {
    error["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no code in {error}"))
}

/// A reverting `eth_call`'s error: code 3, the reason in the message, `Error(reason)` as data.
fn assert_reverted_with(error: &Value, reason: &str) {
    assert_eq!(error_code(error), 3, "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{error}");
    let data: alloy_primitives::Bytes = anvil::parse(&error["data"], "revert data");
    assert_eq!(data[..4], Revert::SELECTOR, "{error}");
    assert_eq!(
        Revert::abi_decode(&data).expect("Error(string)").reason,
        reason
    );
}

#[tokio::test]
async fn node_listens_on_loopback_with_the_dev_chain() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    assert_ne!(node.port(), 0);
    assert_eq!(node.url(), format!("http://127.0.0.1:{}", node.port()));
    assert_eq!(
        node.rpc_ok("eth_chainId", json!([])).await,
        quantity(CHAIN_ID)
    );
    let accounts = node.rpc_ok("eth_accounts", json!([])).await;
    assert_eq!(accounts.as_array().map(Vec::len), Some(10), "{accounts}");
    assert_eq!(
        anvil::parse::<Address>(&accounts[0], "account"),
        DEV_ACCOUNT
    );
    // A fresh chain: only the genesis block, stamped with the wall-clock time.
    let (number, hash, timestamp) = node.tip().await;
    assert_eq!(number, 0);
    assert_eq!(node.block(0).await, (0, hash, timestamp));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        timestamp.abs_diff(now) < 300,
        "genesis at {timestamp}, now {now}"
    );
    // Unknown methods and future blocks are JSON-RPC errors, not panics.
    let error = node
        .rpc("tokbal_noSuchMethod", json!([]))
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), -32601, "{error}");
    let error = node
        .rpc("eth_getBalance", json!([HOLDER.to_string(), quantity(5)]))
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), -32602, "{error}");
}

#[tokio::test]
async fn multicall3_and_every_artifact_deploy() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let multicall3 = node.deploy_multicall3().await;
    assert_eq!(multicall3, MULTICALL3);
    let (tip, _, _) = node.tip().await;
    let chain_id = read(&node, multicall3, Multicall3::getChainIdCall {}, tip).await;
    assert_eq!(chain_id, U256::from(CHAIN_ID));
    // Idempotent: a second call finds the code and mines nothing.
    assert_eq!(node.deploy_multicall3().await, MULTICALL3);
    assert_eq!(node.tip().await.0, tip);

    let mut addresses = vec![multicall3];
    for name in [
        "TestERC20",
        "TestERC721",
        "TestERC1155",
        "Reverting",
        "ShortReturn",
        "TestUSD6",
        "TestBytes32Token",
        "HostileMetadata",
        "HeavyMetadata",
        "TestERC1155Named",
    ] {
        let address = node.deploy(name).await;
        assert!(!addresses.contains(&address), "{name} at {address} twice");
        let code = node.code(address).await;
        assert!(code.len() > 100, "{name}: {} bytes of code", code.len());
        addresses.push(address);
    }
    let (tip, _, _) = node.tip().await;
    let decimals = read(&node, addresses[1], TestERC20::decimalsCall {}, tip).await;
    assert_eq!(decimals, 18);
}

#[tokio::test]
async fn erc20_mint_is_seen_from_its_block_on() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let token = node.deploy("TestERC20").await;
    let (before, _, _) = node.tip().await;
    let amount = pow2(200);
    let minted = node.mint_erc20(token, HOLDER, amount).await;
    assert_eq!(minted.block, before + 1);
    assert_eq!(node.tip().await, node.block(minted.block).await);
    assert_eq!(node.block(minted.block).await.1, minted.block_hash);

    assert_eq!(
        erc20_balance(&node, token, HOLDER, before).await,
        U256::ZERO
    );
    assert_eq!(
        erc20_balance(&node, token, HOLDER, minted.block).await,
        amount
    );
    assert_eq!(
        erc20_balance(&node, token, OTHER, minted.block).await,
        U256::ZERO
    );
    let supply = read(&node, token, TestERC20::totalSupplyCall {}, minted.block).await;
    assert_eq!(supply, amount);

    // A second mint moves the balance on without rewriting the first block's.
    let again = node.mint_erc20(token, HOLDER, U256::from(1)).await;
    assert_eq!(again.block, minted.block + 1);
    assert_eq!(
        erc20_balance(&node, token, HOLDER, minted.block).await,
        amount
    );
    assert_eq!(
        erc20_balance(&node, token, HOLDER, again.block).await,
        amount + U256::from(1)
    );
}

#[tokio::test]
async fn erc721_mint_and_burn_are_seen_at_their_blocks() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let token = node.deploy("TestERC721").await;
    let id = U256::from(7);
    let (before, _, _) = node.tip().await;
    let minted = node.mint_erc721(token, HOLDER, id).await;
    let burnt = node.burn_erc721(token, id).await;
    assert!(before < minted.block && minted.block < burnt.block);

    let balance = |number| {
        read(
            &node,
            token,
            TestERC721::balanceOfCall { owner: HOLDER },
            number,
        )
    };
    assert_eq!(balance(before).await, U256::ZERO);
    assert_eq!(balance(minted.block).await, U256::from(1));
    assert_eq!(balance(burnt.block).await, U256::ZERO);
    let owner = read(&node, token, TestERC721::ownerOfCall { id }, minted.block).await;
    assert_eq!(owner, HOLDER);
    // ownerOf of a token that does not exist (yet, or any more) reverts.
    for number in [before, burnt.block] {
        let error = node
            .eth_call(token, TestERC721::ownerOfCall { id }.abi_encode(), number)
            .await
            .unwrap_err();
        assert_eq!(error_code(&error), 3, "block {number}: {error}");
    }
}

#[tokio::test]
async fn erc1155_mint_is_seen_from_its_block_on() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let token = node.deploy("TestERC1155").await;
    let (id, amount) = (U256::from(5), pow2(130));
    let (before, _, _) = node.tip().await;
    let minted = node.mint_erc1155(token, HOLDER, id, amount).await;
    assert_eq!(minted.block, before + 1);

    let balance = |account, id, number| {
        read(
            &node,
            token,
            TestERC1155::balanceOfCall { account, id },
            number,
        )
    };
    assert_eq!(balance(HOLDER, id, before).await, U256::ZERO);
    assert_eq!(balance(HOLDER, id, minted.block).await, amount);
    assert_eq!(
        balance(HOLDER, U256::from(4), minted.block).await,
        U256::ZERO
    );
    assert_eq!(balance(OTHER, id, minted.block).await, U256::ZERO);
}

#[tokio::test]
async fn native_balance_changes_in_a_block_of_its_own() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let (before, _, _) = node.tip().await;
    let first = pow2(100);
    let (set, hash) = node.set_native_balance(HOLDER, first).await;
    assert_eq!(set, before + 1);
    assert_eq!(node.tip().await.0, set, "the change lands in the new tip");
    assert_eq!(node.block(set).await.1, hash);
    assert_eq!(node.native_balance(HOLDER, before).await, U256::ZERO);
    assert_eq!(node.native_balance(HOLDER, set).await, first);

    // A second change, and a block after it: each block keeps what it had.
    let second = U256::from(12345);
    let (reset, _) = node.set_native_balance(HOLDER, second).await;
    node.rpc_ok("evm_mine", json!([])).await;
    assert_eq!(node.native_balance(HOLDER, before).await, U256::ZERO);
    assert_eq!(node.native_balance(HOLDER, set).await, first);
    assert_eq!(node.native_balance(HOLDER, reset).await, second);
    assert_eq!(node.native_balance(HOLDER, reset + 1).await, second);
    // The same through Multicall3.getEthBalance, the way a batched read sees it.
    node.deploy_multicall3().await;
    let (tip, _, _) = node.tip().await;
    let via = read(
        &node,
        MULTICALL3,
        Multicall3::getEthBalanceCall { addr: HOLDER },
        tip,
    )
    .await;
    assert_eq!(via, second);
}

/// What `set_native_balance` works around: anvil_setBalance mines nothing and edits the state
/// of the current tip, and that block keeps the edit once later blocks are mined. Should a
/// new anvil change this, the harness's docs need a look.
#[tokio::test]
async fn anvil_set_balance_rewrites_the_tip_block() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.rpc_ok("evm_mine", json!([])).await;
    let (tip, _, _) = node.tip().await;
    node.rpc_ok("anvil_setBalance", json!([HOLDER.to_string(), "0x10"]))
        .await;
    assert_eq!(node.tip().await.0, tip, "anvil_setBalance mined a block");
    assert_eq!(node.native_balance(HOLDER, tip).await, U256::from(0x10));
    node.rpc_ok("evm_mine", json!([])).await;
    assert_eq!(node.native_balance(HOLDER, tip - 1).await, U256::ZERO);
    assert_eq!(
        node.native_balance(HOLDER, tip).await,
        U256::from(0x10),
        "the edit stays in the old tip"
    );
    assert_eq!(node.native_balance(HOLDER, tip + 1).await, U256::from(0x10));
}

#[tokio::test]
async fn balances_at_blocks_mined_at_known_timestamps() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node.deploy("TestERC20").await;
    let (_, _, genesis_time) = node.block(0).await;
    let t1 = genesis_time + 10_000;
    let (n1, h1) = node.mine_at(t1).await;
    let minted = node.mint_erc20(token, HOLDER, pow2(200)).await;
    let t2 = t1 + 3_600;
    let (n2, h2) = node.mine_at(t2).await;
    assert!(n1 < minted.block && minted.block < n2);
    assert_eq!(node.block(n1).await, (n1, h1, t1));
    assert_eq!(node.block(n2).await, (n2, h2, t2));
    // The mint's block follows on from t1 with the wall clock: within a few seconds of it.
    let (_, _, minted_at) = node.block(minted.block).await;
    assert!(
        (t1..t1 + 60).contains(&minted_at),
        "minted at {minted_at}, t1 {t1}"
    );

    assert_eq!(erc20_balance(&node, token, HOLDER, n1).await, U256::ZERO);
    assert_eq!(erc20_balance(&node, token, HOLDER, n2).await, pow2(200));
    // A call at a past block runs in that block's environment.
    let seen = |number| {
        read(
            &node,
            MULTICALL3,
            Multicall3::getCurrentBlockTimestampCall {},
            number,
        )
    };
    assert_eq!(seen(n1).await, U256::from(t1));
    assert_eq!(seen(n2).await, U256::from(t2));
    let number = read(&node, MULTICALL3, Multicall3::getBlockNumberCall {}, n1).await;
    assert_eq!(number, U256::from(n1));

    // Equal timestamps are allowed (two blocks share t2); going back is refused.
    let (n3, _) = node.mine_at(t2).await;
    assert_eq!(node.block(n3).await.2, node.block(n2).await.2);
    let error = node
        .rpc("evm_setNextBlockTimestamp", json!([t2 - 1]))
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), -32602, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("lower than previous"),
        "{error}"
    );
}

#[tokio::test]
async fn reverting_and_short_return_fail_as_designed() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let reverting = node.deploy("Reverting").await;
    let short = node.deploy("ShortReturn").await;
    let (tip, _, _) = node.tip().await;
    let erc20 = TestERC20::balanceOfCall { owner: HOLDER }.abi_encode();
    let erc1155 = TestERC1155::balanceOfCall {
        account: HOLDER,
        id: U256::from(5),
    }
    .abi_encode();
    for data in [&erc20, &erc1155] {
        let error = node.eth_call(reverting, data, tip).await.unwrap_err();
        assert_reverted_with(&error, REVERT_REASON);

        let bytes = node
            .eth_call(short, data, tip)
            .await
            .expect("ShortReturn answers");
        assert_eq!(bytes[..], [0xde, 0xad, 0xbe, 0xef]);
        assert!(TestERC20::balanceOfCall::abi_decode_returns(&bytes).is_err());
    }
}

/// One aggregate3 at two blocks, mixing a good call, a revert and a short answer: what a
/// batched balance read through Multicall3 gets back.
#[tokio::test]
async fn multicall3_aggregate3_reads_a_past_block() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node.deploy("TestERC20").await;
    let reverting = node.deploy("Reverting").await;
    let short = node.deploy("ShortReturn").await;
    let (before, _, _) = node.tip().await;
    let minted = node.mint_erc20(token, HOLDER, pow2(200)).await;

    let balance_of = TestERC20::balanceOfCall { owner: HOLDER }.abi_encode();
    let call = |target| Multicall3::Call3 {
        target,
        allowFailure: true,
        callData: balance_of.clone().into(),
    };
    let batch = Multicall3::aggregate3Call {
        calls: vec![call(token), call(reverting), call(short)],
    };
    for (number, expected) in [(before, U256::ZERO), (minted.block, pow2(200))] {
        let results = read(&node, MULTICALL3, batch.clone(), number).await;
        assert_eq!(results.len(), 3);
        assert!(results[0].success);
        let balance = TestERC20::balanceOfCall::abi_decode_returns(&results[0].returnData).unwrap();
        assert_eq!(balance, expected, "block {number}");
        assert!(!results[1].success);
        let revert = Revert::abi_decode(&results[1].returnData).expect("Error(string)");
        assert_eq!(revert.reason, REVERT_REASON);
        assert!(results[2].success);
        assert_eq!(results[2].returnData[..], [0xde, 0xad, 0xbe, 0xef]);
    }
}

fn process_gone(pid: u32) -> bool {
    // Neither running nor a zombie: /proc/<pid> disappears once the process is reaped.
    !Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn dropping_the_node_kills_and_reaps_anvil() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let pid = node.pid();
    assert!(!process_gone(pid));
    assert!(
        node.output().contains("Listening on 127.0.0.1:"),
        "{}",
        node.output()
    );
    drop(node);
    assert!(process_gone(pid), "anvil {pid} is still there after drop");
}

#[tokio::test]
async fn a_panicking_test_still_kills_anvil() {
    let (pid_sender, pid) = tokio::sync::oneshot::channel();
    let test = tokio::spawn(async move {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let _ = pid_sender.send(node.pid());
        panic!("a failing test (on purpose)");
    });
    let outcome = test.await;
    match pid.await {
        Ok(pid) => {
            assert!(outcome.unwrap_err().is_panic());
            assert!(process_gone(pid), "anvil {pid} outlived the panic");
        }
        // No anvil started: skipped, or (under CI) the "anvil is missing" panic, passed on.
        Err(_) => {
            if let Err(error) = outcome {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }
}

#[tokio::test]
async fn missing_anvil_skips_outside_ci() {
    let node = Anvil::start_with(Path::new("/nonexistent/anvil"), false).await;
    assert!(node.is_none());
}

#[tokio::test]
#[should_panic(expected = "anvil is missing: run npm ci in evm-fixtures")]
async fn missing_anvil_fails_in_ci() {
    Anvil::start_with(Path::new("/nonexistent/anvil"), true).await;
}

#[tokio::test]
async fn metadata_fixtures_answer_as_documented() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let usd = node
        .deploy_erc20_minted("TestUSD6", &[(HOLDER, U256::from(1_500_000))])
        .await;
    let mkr = node
        .deploy_erc20_minted("TestBytes32Token", &[(HOLDER, pow2(200))])
        .await;
    let nft = node.deploy("TestERC721").await;
    let plain = node.deploy("TestERC1155").await;
    let named = node.deploy("TestERC1155Named").await;
    let (tip, _, _) = node.tip().await;
    let name = |to| read(&node, to, TokenMetadataFixture::nameCall {}, tip);
    let symbol = |to| read(&node, to, TokenMetadataFixture::symbolCall {}, tip);
    let decimals = |to| read(&node, to, TokenMetadataFixture::decimalsCall {}, tip);

    assert_eq!(
        (name(usd).await, symbol(usd).await, decimals(usd).await),
        ("USD Test".to_owned(), "USDT6".to_owned(), U256::from(6))
    );
    assert_eq!(
        erc20_balance(&node, usd, HOLDER, tip).await,
        U256::from(1_500_000)
    );

    // bytes32, left-aligned and NUL-padded: not an ABI string.
    let word = |text: &[u8]| {
        let mut w = [0u8; 32];
        w[..text.len()].copy_from_slice(text);
        alloy_primitives::B256::from(w)
    };
    assert_eq!(
        read(&node, mkr, Bytes32Metadata::symbolCall {}, tip).await,
        word(b"MKR")
    );
    assert_eq!(
        read(&node, mkr, Bytes32Metadata::nameCall {}, tip).await,
        word(b"Maker")
    );
    assert_eq!(decimals(mkr).await, U256::from(18));
    let raw = node
        .eth_call(mkr, TokenMetadataFixture::symbolCall {}.abi_encode(), tip)
        .await
        .expect("symbol()");
    assert_eq!(raw.len(), 32);
    assert!(TokenMetadataFixture::symbolCall::abi_decode_returns(&raw).is_err());
    assert_eq!(erc20_balance(&node, mkr, HOLDER, tip).await, pow2(200));

    // ERC-721: name and symbol, no decimals(); ERC-1155: only the named one has them.
    assert_eq!(name(nft).await, "Tokbal Test NFT");
    assert_eq!(symbol(nft).await, "TBNFT");
    let no_decimals = node
        .eth_call(nft, TokenMetadataFixture::decimalsCall {}.abi_encode(), tip)
        .await
        .expect_err("ERC-721 has no decimals()");
    assert_eq!(error_code(&no_decimals), 3, "{no_decimals}");
    assert_eq!(name(named).await, "Tokbal Test Multi");
    assert_eq!(symbol(named).await, "TBMULTI");
    for call in [
        TokenMetadataFixture::nameCall {}.abi_encode(),
        TokenMetadataFixture::symbolCall {}.abi_encode(),
        TokenMetadataFixture::decimalsCall {}.abi_encode(),
    ] {
        for to in [plain, named] {
            let is_decimals = call == TokenMetadataFixture::decimalsCall {}.abi_encode();
            if to == named && !is_decimals {
                continue;
            }
            let e = node
                .eth_call(to, &call, tip)
                .await
                .expect_err("no such function");
            assert_eq!(error_code(&e), 3, "{e}");
        }
    }
}

#[tokio::test]
async fn hostile_metadata_answers_what_was_set() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let token = node
        .deploy_erc20_minted("HostileMetadata", &[(HOLDER, U256::from(5))])
        .await;
    let deployed = node.tip().await.0;
    let raw_name = |number| read(&node, token, RawStrings::nameCall {}, number);
    let raw_symbol = |number| read(&node, token, RawStrings::symbolCall {}, number);
    assert_eq!(&raw_name(deployed).await[..], b"Hostile Test Token");
    assert_eq!(&raw_symbol(deployed).await[..], b"HOST");

    // An escape sequence, a byte that is not UTF-8, NUL, U+202E and a newline; 20 KB.
    let symbol = b"\x1b[31mRED\xff\0\xe2\x80\xae\n".to_vec();
    let name = "N".repeat(20 * 1024).into_bytes();
    let set = node.set_strings(token, &name, &symbol).await;
    assert_eq!(&raw_symbol(set.block).await[..], &symbol[..]);
    assert_eq!(&raw_name(set.block).await[..], &name[..]);
    assert_eq!(
        &raw_symbol(set.block - 1).await[..],
        b"HOST",
        "the block before"
    );
    assert_eq!(
        erc20_balance(&node, token, HOLDER, set.block).await,
        U256::from(5)
    );

    let decimals = TokenMetadataFixture::decimalsCall {}.abi_encode();
    let at = |landed: anvil::Landed| landed.block;
    let b = at(node
        .set_decimals(token, DecimalsMode::Word, U256::from(300))
        .await);
    let got = node.eth_call(token, &decimals, b).await.expect("a word");
    assert_eq!(got.len(), 32);
    assert_eq!(U256::from_be_slice(&got), U256::from(300));
    let b = at(node
        .set_decimals(token, DecimalsMode::Revert, U256::ZERO)
        .await);
    let e = node
        .eth_call(token, &decimals, b)
        .await
        .expect_err("a revert");
    assert_reverted_with(&e, "tokbal: decimals reverted");
    let b = at(node
        .set_decimals(token, DecimalsMode::Empty, U256::ZERO)
        .await);
    assert!(node
        .eth_call(token, &decimals, b)
        .await
        .expect("no data")
        .is_empty());
    let b = at(node
        .set_decimals(token, DecimalsMode::Short, U256::from(6))
        .await);
    assert_eq!(
        &node.eth_call(token, &decimals, b).await.expect("one byte")[..],
        &[6]
    );
    assert_eq!(erc20_balance(&node, token, HOLDER, b).await, U256::from(5));
}

#[tokio::test]
async fn heavy_metadata_burns_gas_and_answers_a_mebibyte() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node
        .deploy_erc20_minted("HeavyMetadata", &[(HOLDER, U256::from(9))])
        .await;
    let (tip, _, _) = node.tip().await;
    let e = node
        .eth_call(token, TokenMetadataFixture::symbolCall {}.abi_encode(), tip)
        .await
        .expect_err("symbol() runs out of gas");
    // anvil 1.7.1: -32603 "EVM error OutOfGas".
    let message = e["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(message.replace(' ', "").contains("outofgas"), "{e}");
    let name = read(&node, token, RawStrings::nameCall {}, tip).await;
    assert_eq!(name.len(), 1 << 20);
    assert!(name.iter().all(|b| *b == b'A'));
    assert_eq!(
        read(&node, token, TokenMetadataFixture::decimalsCall {}, tip).await,
        U256::from(18)
    );
    assert_eq!(
        erc20_balance(&node, token, HOLDER, tip).await,
        U256::from(9)
    );

    // Inside aggregate3 with allowFailure, on anvil's default gas: the burnt call fails
    // alone, the mebibyte comes back whole, the balances beside them are read. After the
    // burn, the 1/64 of the gas left is too little for the mebibyte, which fails too; and
    // after the mebibyte, too little for Multicall3 to encode it once the burn is done: the
    // whole call runs out of gas, the balances with it.
    let call = |data: Vec<u8>| Multicall3::Call3 {
        target: token,
        allowFailure: true,
        callData: data.into(),
    };
    let balance = TestERC20::balanceOfCall { owner: HOLDER }.abi_encode();
    let symbol = TokenMetadataFixture::symbolCall {}.abi_encode();
    let name = TokenMetadataFixture::nameCall {}.abi_encode();
    let mebibyte = 64 + (1 << 20);
    for (middle, want) in [
        (vec![symbol.clone()], Some(vec![(false, 0)])),
        (vec![name.clone()], Some(vec![(true, mebibyte)])),
        (
            vec![symbol.clone(), name.clone()],
            Some(vec![(false, 0), (false, 0)]),
        ),
        (vec![name, symbol], None),
    ] {
        let mut calls = vec![call(balance.clone())];
        calls.extend(middle.into_iter().map(call));
        calls.push(call(balance.clone()));
        let data = Multicall3::aggregate3Call { calls }.abi_encode();
        let answer = node.eth_call(MULTICALL3, data, tip).await;
        let Some(want) = want else {
            let e = answer.expect_err("out of gas");
            assert_eq!(e["message"], "EVM error OutOfGas", "{e}");
            continue;
        };
        let out = answer.expect("aggregate3");
        let results = Multicall3::aggregate3Call::abi_decode_returns(&out).expect("results");
        let shape: Vec<(bool, usize)> = results
            .iter()
            .map(|r| (r.success, r.returnData.len()))
            .collect();
        let mut expected = vec![(true, 32)];
        expected.extend(want);
        expected.push((true, 32));
        assert_eq!(shape, expected);
        for r in [&results[0], &results[results.len() - 1]] {
            assert_eq!(U256::from_be_slice(&r.returnData), U256::from(9));
        }
    }

    let set = node.set_name_size(token, 33).await;
    assert_eq!(
        read(&node, token, TokenMetadataFixture::nameCall {}, set.block).await,
        "A".repeat(33)
    );
    assert_eq!(
        read(
            &node,
            token,
            anvil::HeavyMetadata::nameSizeCall {},
            set.block
        )
        .await,
        U256::from(33)
    );
}

/// The harness's `npm ci` guard ([`anvil::install_once`]), with a stand-in for npm: a closure
/// that counts its runs and creates `node_modules`, in a folder of its own under the system's
/// temporary directory. No npm is run here.
#[cfg(unix)]
mod install {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use super::anvil::{find_on_path, install_once, Fixtures, INSTALL_LOCK};

    /// An empty folder, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tokbal-{name}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a temporary folder");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const NPM: &str = "/usr/bin/npm-stand-in";

    /// The stand-in for `npm ci`: counts, then creates `node_modules`.
    fn fake_npm_ci(runs: &AtomicUsize) -> impl FnOnce(&Path, &Path) -> Result<(), String> + '_ {
        move |npm, fixtures| {
            assert_eq!(npm, Path::new(NPM));
            runs.fetch_add(1, Ordering::SeqCst);
            std::fs::create_dir(fixtures.join("node_modules")).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn npm_ci_runs_when_node_modules_is_absent_then_never_again() {
        let dir = TempDir::new("npm-once");
        let runs = AtomicUsize::new(0);
        let first = install_once(&dir.0, Some(Path::new(NPM)), fake_npm_ci(&runs));
        assert_eq!(first, Ok(Fixtures::Installed));
        assert!(dir.0.join("node_modules").is_dir());
        assert!(dir.0.join(INSTALL_LOCK).is_file());
        let second = install_once(&dir.0, Some(Path::new(NPM)), fake_npm_ci(&runs));
        assert_eq!(second, Ok(Fixtures::Present));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn node_modules_already_there_is_left_alone() {
        let dir = TempDir::new("npm-present");
        std::fs::create_dir(dir.0.join("node_modules")).expect("node_modules");
        let never = |_: &Path, _: &Path| -> Result<(), String> { panic!("npm ci was run") };
        assert_eq!(
            install_once(&dir.0, Some(Path::new(NPM)), never),
            Ok(Fixtures::Present)
        );
        assert_eq!(install_once(&dir.0, None, never), Ok(Fixtures::Present));
    }

    #[test]
    fn without_npm_nothing_is_run_or_locked() {
        let dir = TempDir::new("npm-none");
        let never = |_: &Path, _: &Path| -> Result<(), String> { panic!("npm ci was run") };
        assert_eq!(install_once(&dir.0, None, never), Ok(Fixtures::NoNpm));
        assert!(!dir.0.join("node_modules").exists());
        assert!(!dir.0.join(INSTALL_LOCK).exists());
    }

    #[test]
    fn a_failed_install_is_an_error_and_releases_the_lock() {
        let dir = TempDir::new("npm-fails");
        let failing = |_: &Path, _: &Path| -> Result<(), String> { Err("no network".into()) };
        assert_eq!(
            install_once(&dir.0, Some(Path::new(NPM)), failing),
            Err("no network".to_owned())
        );
        // An install that reports success but leaves nothing is an error too.
        let empty = |_: &Path, _: &Path| -> Result<(), String> { Ok(()) };
        let error = install_once(&dir.0, Some(Path::new(NPM)), empty).unwrap_err();
        assert!(error.contains("left no node_modules"), "{error}");
        // The lock was let go both times: the next caller gets it and installs.
        let runs = AtomicUsize::new(0);
        assert_eq!(
            install_once(&dir.0, Some(Path::new(NPM)), fake_npm_ci(&runs)),
            Ok(Fixtures::Installed)
        );
    }

    /// Callers released together (threads here; each opens the lock file on its own, so they
    /// contend as processes do): one installs, the others wait for it and find `node_modules`
    /// whole. The stand-in lingers inside the install so that, without the lock, the others
    /// would all see `node_modules` absent and install too.
    #[test]
    fn callers_at_the_same_time_install_once() {
        const CALLERS: usize = 8;
        let dir = Arc::new(TempDir::new("npm-parallel"));
        let runs = Arc::new(AtomicUsize::new(0));
        let inside = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (dir, runs, inside, start) = (
                    Arc::clone(&dir),
                    Arc::clone(&runs),
                    Arc::clone(&inside),
                    Arc::clone(&start),
                );
                std::thread::spawn(move || {
                    start.wait();
                    install_once(&dir.0, Some(Path::new(NPM)), |_, fixtures| {
                        assert!(!inside.swap(true, Ordering::SeqCst), "two installs at once");
                        runs.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        let made = std::fs::create_dir(fixtures.join("node_modules"));
                        inside.store(false, Ordering::SeqCst);
                        made.map_err(|e| e.to_string())
                    })
                })
            })
            .collect();
        let outcomes: Vec<_> = callers
            .into_iter()
            .map(|caller| caller.join().expect("a caller panicked"))
            .collect();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{outcomes:?}");
        let installed = outcomes
            .iter()
            .filter(|o| **o == Ok(Fixtures::Installed))
            .count();
        let present = outcomes
            .iter()
            .filter(|o| **o == Ok(Fixtures::Present))
            .count();
        assert_eq!((installed, present), (1, CALLERS - 1), "{outcomes:?}");
    }

    #[test]
    fn npm_is_found_as_an_executable_on_the_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("npm-path");
        let (plain, bin) = (dir.0.join("plain"), dir.0.join("bin"));
        std::fs::create_dir(&plain).expect("plain");
        std::fs::create_dir(&bin).expect("bin");
        // A file named npm that cannot be run, then a folder named npm, then the real thing.
        std::fs::write(plain.join("npm"), "").expect("plain/npm");
        std::fs::create_dir(dir.0.join("npm")).expect("a folder named npm");
        let npm = bin.join("npm");
        std::fs::write(&npm, "#!/bin/sh\n").expect("bin/npm");
        std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).expect("chmod");

        let path = std::env::join_paths([&plain, &dir.0, &bin]).expect("a PATH");
        assert_eq!(find_on_path("npm", Some(&path)), Some(npm));
        let without = std::env::join_paths([&plain, &dir.0]).expect("a PATH");
        assert_eq!(find_on_path("npm", Some(&without)), None);
        assert_eq!(find_on_path("npm", None), None);
    }
}

/// The limiting proxy in front of anvil, spoken to over raw HTTP.
mod proxy {
    use alloy_primitives::{Address, U256};
    use alloy_sol_types::SolCall;
    use serde_json::{json, Value};

    use super::anvil::{quantity, Anvil, ScriptedERC20};
    use super::logs_proxy::{
        Limits, LogsProxy, LogsRequest, Outcome, Shape, Throttle, ThrottleShape,
    };

    fn holder(i: u64) -> Address {
        Address::left_padding_from(&(0x1000 + i).to_be_bytes())
    }

    /// A token with 5 blocks of one `Transfer` each, then one block of 12: the first block of
    /// logs and the last, as numbers.
    async fn history(node: &Anvil) -> (Address, u64, u64) {
        let token = node.deploy("ScriptedERC20").await;
        let mut first = None;
        for i in 0..5 {
            let landed = node
                .send(
                    token,
                    ScriptedERC20::mintCall {
                        to: holder(i),
                        amount: U256::from(1),
                    }
                    .abi_encode(),
                )
                .await;
            first.get_or_insert(landed.block);
        }
        let many = ScriptedERC20::mintManyCall {
            to: (5..17).map(holder).collect(),
            amounts: vec![U256::from(2); 12],
        };
        let last = node.send(token, many.abi_encode()).await.block;
        let first = first.expect("five mints");
        assert_eq!(last, first + 5);
        (token, first, last)
    }

    /// One request to the proxy: status, `Retry-After`, body.
    async fn post(url: &str, body: Value) -> (u16, Option<String>, Value) {
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client")
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("the proxy answers");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = response.json().await.expect("a JSON body");
        (status, retry_after, body)
    }

    fn get_logs(token: Address, from: Value, to: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": "eth_getLogs",
               "params": [{"address": token.to_string(), "fromBlock": from, "toBlock": to}]})
    }

    fn range(token: Address, from: u64, to: u64) -> Value {
        get_logs(token, json!(quantity(from)), json!(quantity(to)))
    }

    fn logs_in(body: &Value) -> usize {
        body["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no logs in {body}"))
            .len()
    }

    #[tokio::test]
    async fn forwards_everything_without_limits_and_counts_it() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, first, last) = history(&node).await;
        let proxy = LogsProxy::start(node.url(), Limits::new()).await;

        let (status, _, body) = post(
            proxy.url(),
            get_logs(token, json!("earliest"), json!("latest")),
        )
        .await;
        assert_eq!((status, logs_in(&body)), (200, 17), "{body}");
        assert_eq!(body["id"], 7);
        let (_, _, body) = post(proxy.url(), range(token, first, last)).await;
        assert_eq!(logs_in(&body), 17);

        // A batch goes through whole, eth_getLogs inside it unlimited even under a cap.
        proxy.set_limits(Limits::new().max_logs(1));
        let batch = json!([
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            range(token, first, last),
        ]);
        let (status, _, body) = post(proxy.url(), batch).await;
        assert_eq!(status, 200);
        let answers = body
            .as_array()
            .unwrap_or_else(|| panic!("not a batch answer: {body}"));
        assert_eq!(answers.len(), 2);
        assert!(
            answers
                .iter()
                .any(|a| a["result"].as_array().is_some_and(|l| l.len() == 17)),
            "{body}"
        );

        assert_eq!(proxy.requests(), 3);
        assert_eq!(proxy.batches(), 1);
        assert_eq!(proxy.method_count("eth_getLogs"), 3);
        assert_eq!(proxy.method_count("eth_chainId"), 1);
        assert_eq!(
            proxy.log_requests(),
            vec![
                LogsRequest {
                    range: Some((0, last)),
                    outcome: Outcome::Answered(17)
                },
                LogsRequest {
                    range: Some((first, last)),
                    outcome: Outcome::Answered(17)
                },
            ]
        );
        proxy.reset();
        assert_eq!((proxy.requests(), proxy.log_requests().len()), (0, 0));
    }

    /// The range a refusal names in its message, error.data or not at all, read here apart
    /// from the library.
    fn named_range(shape: Shape, error: &Value) -> Option<(u64, u64)> {
        let message = error["message"].as_str().unwrap_or_default();
        let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok();
        match shape {
            Shape::Infura | Shape::Alchemy => {
                let inside = message.rsplit_once('[')?.1.split_once(']')?.0;
                let (a, b) = inside.split_once(',')?;
                Some((hex(a)?, hex(b)?))
            }
            Shape::RetryRange | Shape::EchoedRange => {
                let (a, b) = message.rsplit_once("range ")?.1.split_once('-')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            }
            _ => None,
        }
    }

    #[tokio::test]
    async fn refuses_in_each_shape_naming_a_range_that_fits() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, first, last) = history(&node).await;
        let proxy = LogsProxy::start(node.url(), Limits::new()).await;
        let all = [Shape::REQUIRED.as_slice(), Shape::QUIRKS.as_slice()].concat();
        for shape in all {
            // (caps, requested range, the range that fits: ends before the 7th log and
            // within the block cap).
            let cases = [
                ((None, Some(6)), (first, last), (first, last - 1)),
                ((Some(4), None), (first, last), (first, first + 3)),
                ((Some(4), Some(6)), (first, last), (first, first + 3)),
                ((None, Some(6)), (last - 1, last), (last - 1, last - 1)),
                ((None, Some(6)), (last, last + 1), (last, last)),
            ];
            for ((max_blocks, max_logs), (from, to), fits) in cases {
                if to > node.tip().await.0 {
                    node.mine().await;
                }
                let mut limits = Limits::new().shape(shape);
                limits.max_blocks = max_blocks;
                limits.max_logs = max_logs;
                proxy.set_limits(limits);
                proxy.reset();
                let (status, _, body) = post(proxy.url(), range(token, from, to)).await;
                let shown = format!("{shape:?} {limits:?} [{from}, {to}]: HTTP {status} {body}");
                let error = &body["error"];
                assert_eq!(body["id"], 7, "{shown}");
                let message = error["message"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{shown}"));
                let code = error["code"].as_i64();
                let expected_status = if shape == Shape::Http413 { 413 } else { 200 };
                assert_eq!(status, expected_status, "{shown}");
                let blocks = fits.1 - fits.0 + 1;
                match shape {
                    Shape::Infura => {
                        assert_eq!(code, Some(-32005), "{shown}");
                        assert!(message.starts_with("query returned more than "), "{shown}");
                        assert_eq!(error["data"]["from"], quantity(fits.0), "{shown}");
                        assert_eq!(error["data"]["to"], quantity(fits.1), "{shown}");
                    }
                    Shape::Alchemy => {
                        assert_eq!(code, Some(-32602), "{shown}");
                        assert!(
                            message.starts_with("Log response size exceeded."),
                            "{shown}"
                        );
                        assert!(
                            message.contains("this block range should work: ["),
                            "{shown}"
                        );
                    }
                    Shape::RetryRange | Shape::EchoedRange => {
                        assert_eq!(code, Some(-32602), "{shown}");
                        assert!(message.starts_with("query exceeds max results "), "{shown}");
                    }
                    Shape::TooLarge => {
                        assert_eq!(
                            (code, message),
                            (Some(-32000), "block range too large"),
                            "{shown}"
                        )
                    }
                    Shape::Timeout => {
                        assert_eq!(
                            (code, message),
                            (Some(-32005), "query timeout exceeded"),
                            "{shown}"
                        )
                    }
                    Shape::RangeExceedsLimit => {
                        let words = format!("range {} exceeds limit of {blocks}", to - from + 1);
                        assert_eq!((code, message), (Some(-32602), words.as_str()), "{shown}");
                    }
                    Shape::Http413 => {
                        let words = format!("eth_getLogs is limited to a {blocks} range");
                        assert_eq!((code, message), (Some(-32614), words.as_str()), "{shown}");
                    }
                }
                let named = named_range(shape, error);
                let expected = match shape {
                    Shape::EchoedRange => Some((from, to)),
                    s if s.suggests_range() => Some(fits),
                    _ => None,
                };
                assert_eq!(named, expected, "{shown}");
                assert_eq!(
                    proxy.log_requests(),
                    vec![LogsRequest {
                        range: Some((from, to)),
                        outcome: Outcome::Refused {
                            suggested: expected
                        }
                    }],
                    "{shown}"
                );
                // The range named is answered.
                if let Some((a, b)) = named.filter(|_| shape != Shape::EchoedRange) {
                    let (status, _, body) = post(proxy.url(), range(token, a, b)).await;
                    assert_eq!(status, 200, "{shown}: {body}");
                    assert!(body["result"].is_array(), "{shown}: {body}");
                }
            }
        }
    }

    #[tokio::test]
    async fn one_block_or_a_block_hash_is_never_refused() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, _, last) = history(&node).await;
        let proxy = LogsProxy::start(node.url(), Limits::new().max_blocks(1).max_logs(1)).await;
        let (status, _, body) = post(proxy.url(), range(token, last, last)).await;
        assert_eq!((status, logs_in(&body)), (200, 12), "{body}");
        let (_, hash, _) = node.block(last).await;
        let by_hash = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                             "params": [{"address": token.to_string(), "blockHash": hash.to_string()}]});
        let (status, _, body) = post(proxy.url(), by_hash).await;
        assert_eq!((status, logs_in(&body)), (200, 12), "{body}");
        assert_eq!(proxy.refusals(), 0);
        assert_eq!(
            proxy.log_requests(),
            vec![
                LogsRequest {
                    range: Some((last, last)),
                    outcome: Outcome::Answered(12)
                },
                LogsRequest {
                    range: None,
                    outcome: Outcome::Answered(12)
                },
            ]
        );
    }

    #[tokio::test]
    async fn adds_a_removed_log_when_asked() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, first, last) = history(&node).await;
        let proxy = LogsProxy::start(node.url(), Limits::new().removed_logs(true)).await;
        let (_, _, plain) = post(node.url(), range(token, first, last)).await;
        let (status, _, body) = post(proxy.url(), range(token, first, last)).await;
        assert_eq!((status, logs_in(&body)), (200, 18), "{body}");
        let (logs, plain) = (&body["result"], &plain["result"]);
        for i in 0..17 {
            assert_eq!(logs[i], plain[i], "log {i}");
        }
        let mut expected = plain[0].clone();
        expected["removed"] = json!(true);
        expected["topics"][2] = json!(format!("0x{}{}", "0".repeat(24), "7e".repeat(20)));
        assert_eq!(logs[17], expected);
        assert_eq!(
            proxy.log_requests(),
            vec![LogsRequest {
                range: Some((first, last)),
                outcome: Outcome::Answered(17)
            }]
        );
        // Nothing to copy: the answer is left as it is.
        let (_, _, body) = post(proxy.url(), range(token, 0, first - 1)).await;
        assert_eq!(logs_in(&body), 0, "{body}");
    }

    #[tokio::test]
    async fn reorganises_the_chain_once_on_the_first_logs() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, first, last) = history(&node).await;
        let (tip, hash, _) = node.tip().await;
        assert_eq!(tip, last);
        let proxy = LogsProxy::start(node.url(), Limits::new().reorg_on_logs(2)).await;
        // The last two blocks (the fifth mint and the twelve) are replaced by empty ones
        // before the first answer.
        let (_, _, body) = post(proxy.url(), range(token, first, last)).await;
        assert_eq!(logs_in(&body), 4, "{body}");
        let (number, new_hash, _) = node.tip().await;
        assert_eq!(number, tip);
        assert_ne!(new_hash, hash);
        assert_eq!(proxy.reorgs(), 1);
        // Once only.
        let (_, _, body) = post(proxy.url(), range(token, first, last)).await;
        assert_eq!(logs_in(&body), 4, "{body}");
        assert_eq!(node.tip().await.1, new_hash);
        assert_eq!(proxy.reorgs(), 1);
    }

    #[tokio::test]
    async fn throttles_the_first_requests_or_every_kth() {
        let Some(node) = Anvil::start().await else {
            return;
        };
        let (token, first, last) = history(&node).await;
        let chain_id = json!({"jsonrpc": "2.0", "id": 3, "method": "eth_chainId", "params": []});
        let proxy = LogsProxy::start(node.url(), Limits::new().throttle(Throttle::First(2))).await;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (status, retry_after, body) = post(proxy.url(), chain_id.clone()).await;
            seen.push((status, retry_after, body["error"]["code"].as_i64()));
        }
        let limited = (429, Some("1".to_owned()), Some(-32005));
        let passed = (200, None, None);
        assert_eq!(seen, [limited.clone(), limited, passed.clone(), passed]);
        assert_eq!((proxy.requests(), proxy.throttled()), (4, 2));

        proxy.set_limits(Limits::new().throttle(Throttle::Every(3)));
        proxy.reset();
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(post(proxy.url(), range(token, first, last)).await.0);
        }
        assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);
        assert_eq!(proxy.throttled_log_requests(), 2);
        let throttled = LogsRequest {
            range: Some((first, last)),
            outcome: Outcome::Throttled,
        };
        assert_eq!(proxy.log_requests()[2], throttled);
        assert_eq!(proxy.log_requests()[5], throttled);
        assert_eq!(proxy.method_count("eth_getLogs"), 6);

        proxy.set_limits(
            Limits::new()
                .throttle(Throttle::First(1))
                .throttle_shape(ThrottleShape::RateMessage),
        );
        proxy.reset();
        let (status, retry_after, body) = post(proxy.url(), chain_id).await;
        assert_eq!((status, retry_after), (200, None));
        assert_eq!(body["id"], 3);
        assert_eq!(body["error"]["code"], -32005);
        assert_eq!(body["error"]["message"], "project ID request rate exceeded");
        assert_eq!(body["error"]["data"]["backoff_seconds"], 1.0);
    }
}
