//! The in-process EVM node, exercised with raw JSON-RPC over HTTP on 127.0.0.1 (offline).

use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolError};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokbal_devnet::{
    seed_erc20_amount, seed_holder_address, seed_native_amount, BatchLimitStyle, Devnet,
    EvmTokenMetadata, StringEncoding, ThrottleStyle, DEMO_ERC1155_CONTRACT, DEMO_ERC1155_ID,
    DEMO_ERC20_CONTRACT, DEMO_ERC721_CONTRACT, DEMO_ERC721_ID, DEMO_ETH_OWNER, DEMO_ETH_OWNER_2,
    EVM_PANICKING_CONTRACT, EVM_REVERTING_CONTRACT, EVM_SHORT_RETURN_CONTRACT, MULTICALL3_ADDRESS,
    REVERT_REASON, SHORT_RETURN_DATA,
};

/// The contract interfaces, exactly as tokbal's client declares them.
#[path = "../../src/evm/abi.rs"]
mod abi;

use abi::{IBalanceOf, IMulticall3, ITokenMetadata, RevertPanic, RevertReason, IERC1155, IERC721};

const ALICE: &str = "0x00000000000000000000000000000000000a11ce";
const BOB: &str = "0x0000000000000000000000000000000000000b0b";
const TOKEN: &str = "0x2020202020202020202020202020202020202020";
const NFT: &str = "0x7217217217217217217217217217217217217210";
const MULTI: &str = "0x1155115511551155115511551155115511551155";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// 100 blocks of 12 s (tip 99), Multicall3 from block 0.
async fn small() -> Devnet {
    Devnet::builder()
        .evm_initial_blocks(100)
        .start()
        .await
        .expect("devnet starts")
}

fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &str) -> Vec<u8> {
    let digits = s.strip_prefix("0x").expect("0x prefix");
    assert!(digits.len().is_multiple_of(2), "odd hex {s}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"))
        .collect()
}

fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u64::from_str_radix(s.strip_prefix("0x").expect("0x"), 16).expect("hex quantity")
}

fn q(n: u64) -> String {
    format!("0x{n:x}")
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }
}

/// A JSON-RPC speaker for one devnet.
struct Rpc {
    c: reqwest::Client,
    url: String,
}

impl Rpc {
    fn new(d: &Devnet) -> Rpc {
        Rpc {
            c: client(),
            url: d.evm_url(),
        }
    }

    async fn post(&self, body: impl Into<reqwest::Body>) -> Got {
        let resp = self
            .c
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        Got {
            status,
            headers,
            body,
        }
    }

    /// One request with id 1; the whole answer object (asserting a 200 and the id).
    async fn call(&self, method: &str, params: Value) -> Value {
        let got = self
            .post(
                json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
            )
            .await;
        assert_eq!(got.status, StatusCode::OK, "{}", got.body);
        assert!(got.header("content-type").starts_with("application/json"));
        let v = got.json();
        assert_eq!(v["jsonrpc"], "2.0");
        assert_eq!(v["id"], 1);
        v
    }

    /// The result of a call that must succeed.
    async fn result(&self, method: &str, params: Value) -> Value {
        let v = self.call(method, params).await;
        assert!(v.get("error").is_none(), "{method}: {v}");
        v.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method}: no result in {v}"))
    }

    /// The error of a call that must fail: (code, message, data).
    async fn error(&self, method: &str, params: Value) -> (i64, String, Option<Value>) {
        let v = self.call(method, params).await;
        assert!(v.get("result").is_none(), "{method}: {v}");
        let e = &v["error"];
        (
            e["code"].as_i64().unwrap_or_else(|| panic!("no code: {v}")),
            e["message"].as_str().expect("message").to_owned(),
            e.get("data").cloned(),
        )
    }

    async fn balance(&self, owner: &str, block: Value) -> U256 {
        let r = self.result("eth_getBalance", json!([owner, block])).await;
        r.as_str().unwrap().parse::<U256>().expect("quantity")
    }

    /// `eth_call` to `to` with `data` at `block`: the returned bytes.
    async fn eth_call(&self, to: &str, data: &[u8], block: Value) -> Vec<u8> {
        let r = self
            .result("eth_call", json!([{"to": to, "data": hex(data)}, block]))
            .await;
        unhex(r.as_str().expect("hex data"))
    }

    async fn block(&self, tag: &str) -> Value {
        self.result("eth_getBlockByNumber", json!([tag, false]))
            .await
    }
}

fn balance_of(owner: &str) -> Vec<u8> {
    IBalanceOf::balanceOfCall { owner: addr(owner) }.abi_encode()
}

fn call3(target: &str, allow_failure: bool, data: Vec<u8>) -> IMulticall3::Call3 {
    IMulticall3::Call3 {
        target: addr(target),
        allowFailure: allow_failure,
        callData: data.into(),
    }
}

#[tokio::test]
async fn chain_id_and_block_number() {
    let d = Devnet::builder()
        .evm_chain_id(42_161)
        .evm_initial_blocks(100)
        .start()
        .await
        .unwrap();
    let rpc = Rpc::new(&d);
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0xa4b1");
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x63");
    // Params may also be absent.
    let got = rpc
        .post(r#"{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}"#)
        .await;
    assert_eq!(got.json()["result"], "0x63");
    assert_eq!(d.evm().mine(5), 104);
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x68");
    assert_eq!(d.evm().chain_id(), 42_161);
    // The default chain id is 1, and the default chain is 2,000 blocks long.
    let default = Devnet::start().await.unwrap();
    let rpc = Rpc::new(&default);
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x1");
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x7cf");
}

#[tokio::test]
async fn blocks_by_number_have_header_fields_and_tags() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let b = rpc
        .result("eth_getBlockByNumber", json!(["0xa", false]))
        .await;
    let expected = d.evm().block(10);
    assert_eq!(b["number"], "0xa");
    assert_eq!(b["hash"], expected.hash);
    assert_eq!(b["parentHash"], expected.parent_hash);
    // 12 s blocks from 2026-01-01T00:00:00Z.
    assert_eq!(quantity(&b["timestamp"]), 1_767_225_600 + 120);
    assert_eq!(expected.timestamp, 1_767_225_600 + 120);
    for field in [
        "nonce",
        "sha3Uncles",
        "logsBloom",
        "transactionsRoot",
        "stateRoot",
        "receiptsRoot",
        "miner",
        "difficulty",
        "extraData",
        "size",
        "gasLimit",
        "gasUsed",
        "baseFeePerGas",
        "mixHash",
    ] {
        assert!(b[field].is_string(), "{field} in {b}");
    }
    assert_eq!(b["transactions"], json!([]));
    assert_eq!(b["uncles"], json!([]));
    let hash = b["hash"].as_str().unwrap();
    assert!(hash.len() == 66 && hash.starts_with("0x"));
    // Parent links.
    let b9 = rpc
        .result("eth_getBlockByNumber", json!(["0x9", true]))
        .await;
    assert_eq!(b["parentHash"], b9["hash"]);
    let genesis = rpc.block("earliest").await;
    assert_eq!(genesis["number"], "0x0");
    assert_eq!(genesis["parentHash"], format!("0x{}", "0".repeat(64)));

    for (tag, n) in [
        ("latest", 99),
        ("pending", 99),
        ("safe", 99 - 32),
        ("finalized", 99 - 64),
        ("earliest", 0),
    ] {
        assert_eq!(rpc.block(tag).await["number"], q(n), "{tag}");
    }
    // Past the tip: null.
    let got = rpc
        .call("eth_getBlockByNumber", json!(["0x64", false]))
        .await;
    assert_eq!(got["result"], Value::Null);
    assert!(got.as_object().unwrap().contains_key("result"));
    // The second parameter is required; a hash is not a block number.
    let (code, msg, _) = rpc.error("eth_getBlockByNumber", json!(["0x1"])).await;
    assert_eq!(code, -32602);
    assert_eq!(msg, "missing value for required argument 1 (full)");
    let (code, msg, _) = rpc
        .error("eth_getBlockByNumber", json!([hash, false]))
        .await;
    assert_eq!(code, -32602);
    assert!(msg.starts_with("invalid argument 0 (block)"), "{msg}");
    // Tags follow the configured depths.
    let d2 = Devnet::builder()
        .evm_initial_blocks(100)
        .evm_finalized_depth(10)
        .evm_safe_depth(3)
        .start()
        .await
        .unwrap();
    let rpc2 = Rpc::new(&d2);
    assert_eq!(rpc2.block("finalized").await["number"], q(89));
    assert_eq!(rpc2.block("safe").await["number"], q(96));
    assert_eq!(d2.evm().finalized(), 89);
    assert_eq!(d2.evm().safe(), 96);
}

#[tokio::test]
async fn blocks_by_hash() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let b = rpc.block("0x2a").await;
    let by_hash = rpc
        .result("eth_getBlockByHash", json!([b["hash"], false]))
        .await;
    assert_eq!(by_hash, b);
    // A hash the node did not hand out is found too (among the last 256 blocks).
    let tip_hash = {
        let other = Devnet::builder()
            .evm_initial_blocks(100)
            .start()
            .await
            .unwrap();
        other.evm().block(99).hash
    };
    let got = rpc
        .result("eth_getBlockByHash", json!([tip_hash, false]))
        .await;
    assert_eq!(got["number"], "0x63");
    // Unknown: null.
    let unknown = format!("0x{}", "12".repeat(32));
    let got = rpc.call("eth_getBlockByHash", json!([unknown, true])).await;
    assert_eq!(got["result"], Value::Null);
    let (code, msg, _) = rpc
        .error("eth_getBlockByHash", json!(["0x1234", false]))
        .await;
    assert_eq!(code, -32602);
    assert_eq!(
        msg,
        "invalid argument 0 (hash): hex string has length 4, want 64 for common.Hash"
    );
}

#[tokio::test]
async fn hashes_follow_chain_number_and_generation_and_parents_can_be_walked() {
    let start = |chain_id: u64| async move {
        Devnet::builder()
            .evm_chain_id(chain_id)
            .evm_initial_blocks(10_000)
            .start()
            .await
            .unwrap()
    };
    let d = start(10).await;
    let rpc = Rpc::new(&d);
    let b = rpc.block("0x64").await;
    // A block's hash is made from the chain id, its number and its generation only: another
    // devnet of the same chain gives the same, another chain another.
    let (same, other) = (start(10).await, start(11).await);
    assert_eq!(Rpc::new(&same).block("0x64").await["hash"], b["hash"]);
    assert_ne!(Rpc::new(&other).block("0x64").await["hash"], b["hash"]);
    let mut seen = std::collections::HashSet::new();
    for n in 0..200u64 {
        let h = rpc.block(&format!("{n:#x}")).await["hash"].clone();
        assert!(seen.insert(h), "block {n}'s hash is its own");
    }
    // Far below the tip, a parent hash handed out is found by hash.
    let mut block = b;
    for n in (95..100).rev() {
        block = rpc
            .result("eth_getBlockByHash", json!([block["parentHash"], false]))
            .await;
        assert_eq!(block["number"], q(n));
    }
    // A reorganization gives the blocks it replaces a new generation, and only those.
    let (tip, below) = (rpc.block("latest").await, rpc.block("0x270e").await);
    d.evm().reorg(1);
    assert_eq!(rpc.block("latest").await["number"], tip["number"]);
    assert_ne!(rpc.block("latest").await["hash"], tip["hash"]);
    assert_eq!(rpc.block("0x270e").await["hash"], below["hash"]);
}

#[tokio::test]
async fn every_block_parameter_form() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    // A balance that differs at every block of interest.
    for (block, amount) in [(0, 1u64), (35, 2), (67, 3), (99, 4)] {
        n.set_native_balance_at(ALICE, block, U256::from(amount))
            .unwrap();
    }
    let hash_of = |b: u64| n.block(b).hash;
    let h50 = hash_of(50);
    for (block, want) in [
        (json!("0x0"), 1u64),
        (json!("0x22"), 1),
        (json!("0x23"), 2),
        (json!("latest"), 4),
        (json!("pending"), 4),
        (json!("safe"), 3),
        (json!("finalized"), 2),
        (json!("earliest"), 1),
        (json!(h50), 2),
        (json!({"blockHash": h50}), 2),
        (
            json!({"blockHash": hash_of(80), "requireCanonical": true}),
            3,
        ),
        (
            json!({"blockHash": hash_of(99), "requireCanonical": false}),
            4,
        ),
        (json!({"blockNumber": "0x43"}), 3),
        (json!({"blockNumber": "latest"}), 4),
    ] {
        assert_eq!(
            rpc.balance(ALICE, block.clone()).await,
            U256::from(want),
            "{block}"
        );
    }
    // The same forms work for eth_call and eth_getCode.
    let data = IMulticall3::getEthBalanceCall { addr: addr(ALICE) }.abi_encode();
    for block in [json!("0x23"), json!(h50), json!({"blockHash": h50})] {
        let out = rpc.eth_call(MULTICALL3_ADDRESS, &data, block).await;
        assert_eq!(
            IMulticall3::getEthBalanceCall::abi_decode_returns(&out).unwrap(),
            U256::from(2)
        );
    }
    let code = rpc
        .result(
            "eth_getCode",
            json!([MULTICALL3_ADDRESS, {"blockNumber": "0x1"}]),
        )
        .await;
    assert_ne!(code, "0x");

    // Errors.
    let unknown = format!("0x{}", "ab".repeat(32));
    for block in [
        json!(unknown),
        json!({"blockHash": unknown, "requireCanonical": true}),
    ] {
        let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, block])).await;
        assert_eq!((code, msg.as_str()), (-32000, "block not found"));
    }
    for block in [json!("0x64"), json!({"blockNumber": "0xffffffff"})] {
        let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, block])).await;
        assert_eq!((code, msg.as_str()), (-32000, "header not found"));
    }
    for (block, why) in [
        (
            json!({"blockHash": h50, "blockNumber": "0x1"}),
            "cannot specify both",
        ),
        (json!({}), "neither block nor hash specified"),
        (json!("0x01"), "leading zero"),
        (json!("12"), "without 0x prefix"),
        (json!(12), "want a block number"),
        (json!("Latest"), "without 0x prefix"),
        (json!(format!("0x{}", "g".repeat(64))), "invalid hex string"),
        (
            json!({"blockHash": h50, "requireCanonical": 1}),
            "requireCanonical",
        ),
    ] {
        let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, block])).await;
        assert_eq!(code, -32602, "{block}");
        assert!(msg.starts_with("invalid argument 1 (block): "), "{msg}");
        assert!(msg.contains(why), "{block}: {msg}");
    }
    let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE])).await;
    assert_eq!(code, -32602);
    assert_eq!(msg, "missing value for required argument 1 (block)");
}

#[tokio::test]
async fn history_is_exact_at_every_block() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let id = U256::from(5);
    n.set_native_balance_at(ALICE, 3, U256::from(100)).unwrap();
    n.set_native_balance_at(ALICE, 10, U256::from(200)).unwrap();
    n.set_erc20_balance_at(TOKEN, ALICE, 3, U256::from(7))
        .unwrap();
    n.set_erc20_balance_at(TOKEN, ALICE, 10, U256::from(8))
        .unwrap();
    n.set_erc721_owner_at(NFT, id, 3, Some(ALICE)).unwrap();
    n.set_erc721_owner_at(NFT, id, 10, Some(BOB)).unwrap();
    n.set_erc1155_balance_at(MULTI, ALICE, id, 3, U256::from(70))
        .unwrap();
    n.set_erc1155_balance_at(MULTI, ALICE, id, 10, U256::ZERO)
        .unwrap();

    let owner_of = IERC721::ownerOfCall { tokenId: id }.abi_encode();
    let multi_of = IERC1155::balanceOfCall {
        account: addr(ALICE),
        id,
    }
    .abi_encode();
    for (block, eth, erc20, holder, units) in [
        (3u64, 100u64, 7u64, ALICE, 70u64),
        (9, 100, 7, ALICE, 70),
        (10, 200, 8, BOB, 0),
        (99, 200, 8, BOB, 0),
    ] {
        let b = json!(q(block));
        assert_eq!(
            rpc.balance(ALICE, b.clone()).await,
            U256::from(eth),
            "{block}"
        );
        let out = rpc.eth_call(TOKEN, &balance_of(ALICE), b.clone()).await;
        assert_eq!(
            IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
            U256::from(erc20)
        );
        let out = rpc.eth_call(NFT, &owner_of, b.clone()).await;
        assert_eq!(
            IERC721::ownerOfCall::abi_decode_returns(&out).unwrap(),
            addr(holder)
        );
        let out = rpc.eth_call(NFT, &balance_of(ALICE), b.clone()).await;
        let alice_items = u64::from(holder == ALICE);
        assert_eq!(
            IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
            U256::from(alice_items)
        );
        let out = rpc.eth_call(MULTI, &multi_of, b.clone()).await;
        assert_eq!(
            IERC1155::balanceOfCall::abi_decode_returns(&out).unwrap(),
            U256::from(units)
        );
    }
    assert_eq!(rpc.balance(ALICE, json!("0x2")).await, U256::ZERO);

    // A write takes effect at the tip + 1: invisible at the tip until mined.
    assert_eq!(n.set_native_balance(BOB, U256::MAX).unwrap(), 100);
    assert_eq!(rpc.balance(BOB, json!("latest")).await, U256::ZERO);
    assert_eq!(n.mine(1), 100);
    assert_eq!(rpc.balance(BOB, json!("latest")).await, U256::MAX);
    assert_eq!(
        rpc.result("eth_getBalance", json!([BOB, "0x64"])).await,
        format!("0x{}", "f".repeat(64))
    );
    assert_eq!(rpc.balance(BOB, json!("0x63")).await, U256::ZERO);
    assert_eq!(n.native_balance(BOB, Some(99)).unwrap(), U256::ZERO);
    assert_eq!(
        n.erc721_owner(NFT, id, Some(9)).unwrap().as_deref(),
        Some(ALICE)
    );
    // Burning an item: no holder, ownerOf reverts.
    n.set_erc721_owner_at(NFT, id, 50, None).unwrap();
    let (code, msg, _) = rpc
        .error(
            "eth_call",
            json!([{"to": NFT, "data": hex(&owner_of)}, "0x32"]),
        )
        .await;
    assert_eq!(
        (code, msg.as_str()),
        (3, "execution reverted: ERC721: invalid token ID")
    );
}

#[tokio::test]
async fn code_follows_deployments() {
    let d = Devnet::builder()
        .evm_initial_blocks(100)
        .evm_multicall3_at(20)
        .start()
        .await
        .unwrap();
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let code = |a: &'static str, b: &'static str| {
        let rpc = &rpc;
        async move { rpc.result("eth_getCode", json!([a, b])).await }
    };
    assert_eq!(code(MULTICALL3_ADDRESS, "0x13").await, "0x");
    let mc = code(MULTICALL3_ADDRESS, "0x14").await;
    assert!(mc.as_str().unwrap().len() > 2, "{mc}");
    assert_eq!(code(ALICE, "latest").await, "0x");
    n.set_erc20_balance_at(TOKEN, ALICE, 30, U256::from(1))
        .unwrap();
    assert_eq!(code(TOKEN, "0x1d").await, "0x");
    assert_ne!(code(TOKEN, "0x1e").await, "0x");
    // Explicit deployments, and kinds are kept.
    assert_eq!(n.deploy_erc721(NFT).unwrap(), 100);
    assert_eq!(code(NFT, "latest").await, "0x");
    n.mine(1);
    assert_ne!(code(NFT, "latest").await, "0x");
    assert!(n.set_erc20_balance(NFT, ALICE, U256::from(1)).is_err());
    assert!(n.deploy_erc20(MULTICALL3_ADDRESS).is_err());
    assert!(n.set_erc20_balance("0x1234", ALICE, U256::from(1)).is_err());
    for special in [
        EVM_REVERTING_CONTRACT,
        EVM_SHORT_RETURN_CONTRACT,
        EVM_PANICKING_CONTRACT,
    ] {
        assert_ne!(code(special, "earliest").await, "0x");
        assert!(n.has_code(special, Some(0)).unwrap());
    }
    let (code_, msg, _) = rpc.error("eth_getCode", json!(["0xabc", "latest"])).await;
    assert_eq!(code_, -32602);
    assert!(msg.starts_with("invalid argument 0 (address)"), "{msg}");
    // Removing Multicall3.
    n.set_multicall3(None);
    assert_eq!(code(MULTICALL3_ADDRESS, "latest").await, "0x");
}

#[tokio::test]
async fn direct_calls_answer_or_revert_like_a_node() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let big = (U256::from(1) << 200) + U256::from(12345);
    n.set_erc20_balance_at(TOKEN, ALICE, 0, big).unwrap();
    let out = rpc
        .eth_call(TOKEN, &balance_of(ALICE), json!("latest"))
        .await;
    assert_eq!(out.len(), 32);
    assert_eq!(
        IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
        big
    );
    // `input` instead of `data`, `gas` up to the cap, and `from`, `value` accepted.
    let r = rpc
        .result(
            "eth_call",
            json!([{"from": BOB, "to": TOKEN, "input": hex(&balance_of(ALICE)),
                    "gas": "0x1000000", "value": "0x0"}, "latest"]),
        )
        .await;
    assert_eq!(unhex(r.as_str().unwrap()), out);
    // The block is optional for eth_call.
    let r = rpc
        .result(
            "eth_call",
            json!([{"to": TOKEN, "data": hex(&balance_of(ALICE))}]),
        )
        .await;
    assert_eq!(unhex(r.as_str().unwrap()), out);
    // An account without code: empty data.
    assert_eq!(
        rpc.eth_call(BOB, &balance_of(ALICE), json!("latest")).await,
        Vec::<u8>::new()
    );
    // A short return.
    let out = rpc
        .eth_call(
            EVM_SHORT_RETURN_CONTRACT,
            &balance_of(ALICE),
            json!("latest"),
        )
        .await;
    assert_eq!(out, SHORT_RETURN_DATA.to_vec());
    assert!(IBalanceOf::balanceOfCall::abi_decode_returns(&out).is_err());

    // A revert with a reason: code 3, the reason in the message, the payload in data.
    let (code, msg, data) = rpc
        .error(
            "eth_call",
            json!([{"to": EVM_REVERTING_CONTRACT, "data": hex(&balance_of(ALICE))}, "latest"]),
        )
        .await;
    assert_eq!(code, 3);
    assert_eq!(msg, format!("execution reverted: {REVERT_REASON}"));
    let payload = unhex(data.expect("revert data").as_str().unwrap());
    assert_eq!(
        RevertReason::abi_decode(&payload).unwrap().reason,
        REVERT_REASON
    );
    // A panic.
    let (code, msg, data) = rpc
        .error(
            "eth_call",
            json!([{"to": EVM_PANICKING_CONTRACT, "data": "0x"}, "latest"]),
        )
        .await;
    assert_eq!(
        (code, msg.as_str()),
        (3, "execution reverted: assert(false)")
    );
    let payload = unhex(data.unwrap().as_str().unwrap());
    assert_eq!(
        RevertPanic::abi_decode(&payload).unwrap().code,
        U256::from(1)
    );
    // A revert without data (unknown selector): -32000 without data.
    let (code, msg, data) = rpc
        .error(
            "eth_call",
            json!([{"to": TOKEN, "data": "0xdeadbeef"}, "latest"]),
        )
        .await;
    assert_eq!(
        (code, msg.as_str(), data),
        (-32000, "execution reverted", None)
    );
    // ERC-721 and ERC-1155 refuse the zero address as owner.
    n.set_erc721_owner_at(NFT, U256::from(1), 0, Some(ALICE))
        .unwrap();
    n.set_erc1155_balance_at(MULTI, ALICE, U256::from(1), 0, U256::from(3))
        .unwrap();
    let zero = "0x0000000000000000000000000000000000000000";
    let (code, msg, _) = rpc
        .error(
            "eth_call",
            json!([{"to": NFT, "data": hex(&balance_of(zero))}]),
        )
        .await;
    assert_eq!(code, 3);
    assert!(msg.contains("address zero is not a valid owner"), "{msg}");
    let call = IERC1155::balanceOfCall {
        account: Address::ZERO,
        id: U256::from(1),
    }
    .abi_encode();
    let (code, _, _) = rpc
        .error("eth_call", json!([{"to": MULTI, "data": hex(&call)}]))
        .await;
    assert_eq!(code, 3);
    // Data and input that disagree; no `to`; a bad `to`.
    let (code, msg, _) = rpc
        .error(
            "eth_call",
            json!([{"to": TOKEN, "data": "0x01", "input": "0x02"}]),
        )
        .await;
    assert_eq!(code, -32602);
    assert!(msg.contains("both \"data\" and \"input\""), "{msg}");
    let (code, msg, _) = rpc
        .error("eth_call", json!([{"data": "0x"}, "latest"]))
        .await;
    assert_eq!(code, -32000);
    assert!(msg.contains("contract creation"), "{msg}");
    let (code, msg, _) = rpc.error("eth_call", json!([{"to": "0x12"}])).await;
    assert_eq!(code, -32602);
    assert!(
        msg.starts_with("invalid argument 0 (transaction): to: "),
        "{msg}"
    );
    let (code, msg, _) = rpc
        .error("eth_call", json!([{"to": TOKEN}, "latest", {"0x1": {}}]))
        .await;
    assert_eq!(code, -32602);
    assert!(msg.contains("argument 2 (state overrides)"), "{msg}");
}

#[tokio::test]
async fn aggregate3_runs_mixed_inner_calls() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let above_2_128 = (U256::from(1) << 128) + U256::from(1);
    n.set_native_balance_at(ALICE, 0, U256::from(10).pow(U256::from(18)))
        .unwrap();
    n.set_erc20_balance_at(TOKEN, ALICE, 0, above_2_128)
        .unwrap();
    n.set_erc721_owner_at(NFT, U256::from(9), 0, Some(BOB))
        .unwrap();
    n.set_erc1155_balance_at(MULTI, BOB, U256::from(2), 0, U256::from(250))
        .unwrap();
    let calls = vec![
        call3(
            MULTICALL3_ADDRESS,
            false,
            IMulticall3::getEthBalanceCall { addr: addr(ALICE) }.abi_encode(),
        ),
        call3(TOKEN, false, balance_of(ALICE)),
        call3(
            NFT,
            true,
            IERC721::ownerOfCall {
                tokenId: U256::from(9),
            }
            .abi_encode(),
        ),
        call3(
            NFT,
            true,
            IERC721::ownerOfCall {
                tokenId: U256::from(10),
            }
            .abi_encode(),
        ),
        call3(
            MULTI,
            false,
            IERC1155::balanceOfCall {
                account: addr(BOB),
                id: U256::from(2),
            }
            .abi_encode(),
        ),
        call3(EVM_REVERTING_CONTRACT, true, balance_of(ALICE)),
        call3(EVM_SHORT_RETURN_CONTRACT, true, balance_of(ALICE)),
        call3(BOB, false, balance_of(ALICE)),
        call3(TOKEN, true, vec![0xde, 0xad]),
    ];
    let data = IMulticall3::aggregate3Call {
        calls: calls.clone(),
    }
    .abi_encode();
    n.reset_requests();
    let out = rpc.eth_call(MULTICALL3_ADDRESS, &data, json!("0x5")).await;
    let results = IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap();
    assert_eq!(results.len(), calls.len());
    let ok: Vec<bool> = results.iter().map(|r| r.success).collect();
    assert_eq!(
        ok,
        [true, true, true, false, true, false, true, true, false]
    );
    assert_eq!(
        IMulticall3::getEthBalanceCall::abi_decode_returns(&results[0].returnData).unwrap(),
        U256::from(10).pow(U256::from(18))
    );
    assert_eq!(
        IBalanceOf::balanceOfCall::abi_decode_returns(&results[1].returnData).unwrap(),
        above_2_128
    );
    assert_eq!(
        IERC721::ownerOfCall::abi_decode_returns(&results[2].returnData).unwrap(),
        addr(BOB)
    );
    assert_eq!(
        RevertReason::abi_decode(&results[3].returnData)
            .unwrap()
            .reason,
        "ERC721: invalid token ID"
    );
    assert_eq!(
        IERC1155::balanceOfCall::abi_decode_returns(&results[4].returnData).unwrap(),
        U256::from(250)
    );
    assert_eq!(
        RevertReason::abi_decode(&results[5].returnData)
            .unwrap()
            .reason,
        REVERT_REASON
    );
    assert_eq!(&results[6].returnData[..], &SHORT_RETURN_DATA[..]);
    assert!(results[7].returnData.is_empty(), "an EOA returns nothing");
    assert!(
        results[8].returnData.is_empty(),
        "bad calldata reverts empty"
    );
    let counts = n.requests();
    assert_eq!((counts.call, counts.inner_calls), (1, 9));

    // A failing call that does not allow failure makes the whole call revert.
    let mut strict = calls;
    strict[5].allowFailure = false;
    let data = IMulticall3::aggregate3Call { calls: strict }.abi_encode();
    let (code, msg, revert) = rpc
        .error(
            "eth_call",
            json!([{"to": MULTICALL3_ADDRESS, "data": hex(&data)}, "0x5"]),
        )
        .await;
    assert_eq!(code, 3);
    assert_eq!(msg, "execution reverted: Multicall3: call failed");
    let payload = unhex(revert.unwrap().as_str().unwrap());
    assert_eq!(
        RevertReason::abi_decode(&payload).unwrap().reason,
        "Multicall3: call failed"
    );
    // An empty batch of calls returns an empty array.
    let data = IMulticall3::aggregate3Call { calls: vec![] }.abi_encode();
    let out = rpc
        .eth_call(MULTICALL3_ADDRESS, &data, json!("latest"))
        .await;
    assert!(IMulticall3::aggregate3Call::abi_decode_returns(&out)
        .unwrap()
        .is_empty());
}

fn name_call() -> Vec<u8> {
    ITokenMetadata::nameCall {}.abi_encode()
}

fn symbol_call() -> Vec<u8> {
    ITokenMetadata::symbolCall {}.abi_encode()
}

fn decimals_call() -> Vec<u8> {
    ITokenMetadata::decimalsCall {}.abi_encode()
}

/// `text` as a `bytes32` word: left-aligned, NUL-padded.
fn word_of(text: &[u8]) -> Vec<u8> {
    let mut w = text.to_vec();
    w.resize(32, 0);
    w
}

#[tokio::test]
async fn tokens_answer_their_metadata_directly_and_inside_aggregate3() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let mkr = "0x00000000000000000000000000000000000006b7";
    let odd = "0x0000000000000000000000000000000000000dd0";
    n.set_erc20_balance_at(TOKEN, ALICE, 0, U256::from(1_500_000))
        .unwrap();
    n.set_erc20_balance_at(mkr, ALICE, 0, U256::from(7))
        .unwrap();
    n.set_erc20_balance_at(odd, ALICE, 0, U256::from(9))
        .unwrap();
    n.set_erc721_owner_at(NFT, U256::from(1), 0, Some(ALICE))
        .unwrap();
    n.set_erc1155_balance_at(MULTI, ALICE, U256::from(1), 0, U256::from(3))
        .unwrap();
    let usd = EvmTokenMetadata::new(Some("USD Test"), Some("USDT6"), Some(6));
    n.set_token_metadata_at(TOKEN, 0, usd.clone()).unwrap();
    n.set_token_metadata_at(
        mkr,
        0,
        EvmTokenMetadata::new(Some("Maker"), Some("MKR"), Some(18)).bytes32(),
    )
    .unwrap();
    // Bytes that are not UTF-8, an escape, U+202E; decimals above 255.
    let hostile = b"\x1b[31m\xff\0\xe2\x80\xae".to_vec();
    n.set_token_metadata_at(
        odd,
        0,
        EvmTokenMetadata {
            name: Some(hostile.clone()),
            symbol: None,
            decimals: Some(U256::from(300)),
            encoding: StringEncoding::Abi,
        },
    )
    .unwrap();
    n.set_token_metadata_at(
        NFT,
        0,
        EvmTokenMetadata::new(Some("Test NFT"), Some("TNFT"), None),
    )
    .unwrap();
    let latest = || json!("latest");

    // Direct calls: ABI strings and a decimals word.
    let out = rpc.eth_call(TOKEN, &name_call(), latest()).await;
    assert_eq!(
        ITokenMetadata::nameCall::abi_decode_returns(&out).unwrap(),
        "USD Test"
    );
    let out = rpc.eth_call(TOKEN, &symbol_call(), latest()).await;
    assert_eq!(
        ITokenMetadata::symbolCall::abi_decode_returns(&out).unwrap(),
        "USDT6"
    );
    let out = rpc.eth_call(TOKEN, &decimals_call(), latest()).await;
    assert_eq!(out.len(), 32);
    assert_eq!(
        ITokenMetadata::decimalsCall::abi_decode_returns(&out).unwrap(),
        U256::from(6)
    );
    // bytes32 strings: one word, which is not an ABI string.
    let out = rpc.eth_call(mkr, &symbol_call(), latest()).await;
    assert_eq!(out, word_of(b"MKR"));
    assert!(ITokenMetadata::symbolCall::abi_decode_returns(&out).is_err());
    assert_eq!(
        rpc.eth_call(mkr, &name_call(), latest()).await,
        word_of(b"Maker")
    );
    // Any bytes, as set; a word above 255.
    let out = rpc.eth_call(odd, &name_call(), latest()).await;
    assert_eq!(out.len(), 96);
    assert_eq!(U256::from_be_slice(&out[32..64]), U256::from(hostile.len()));
    assert_eq!(&out[64..64 + hostile.len()], &hostile[..]);
    let out = rpc.eth_call(odd, &decimals_call(), latest()).await;
    assert_eq!(U256::from_be_slice(&out), U256::from(300));
    // What is not set reverts with empty data, as a contract without the function.
    for (to, call) in [
        (odd, symbol_call()),
        (NFT, decimals_call()),
        (MULTI, name_call()),
        (MULTI, symbol_call()),
        (MULTI, decimals_call()),
    ] {
        let (code, msg, data) = rpc
            .error(
                "eth_call",
                json!([{"to": to, "data": hex(&call)}, "latest"]),
            )
            .await;
        assert_eq!(
            (code, msg.as_str(), data),
            (-32000, "execution reverted", None),
            "{to}"
        );
    }
    // An account without code answers empty data; the short-return contract its 4 bytes.
    assert!(rpc
        .eth_call(BOB, &decimals_call(), latest())
        .await
        .is_empty());
    assert_eq!(
        rpc.eth_call(EVM_SHORT_RETURN_CONTRACT, &decimals_call(), latest())
            .await,
        SHORT_RETURN_DATA.to_vec()
    );

    // The same calls beside balances in one aggregate3, every one allowed to fail.
    let calls = vec![
        call3(TOKEN, true, balance_of(ALICE)),
        call3(TOKEN, true, decimals_call()),
        call3(TOKEN, true, symbol_call()),
        call3(mkr, true, symbol_call()),
        call3(odd, true, symbol_call()),
        call3(odd, true, decimals_call()),
        call3(NFT, true, name_call()),
        call3(NFT, true, decimals_call()),
        call3(MULTI, true, name_call()),
        call3(
            MULTI,
            true,
            IERC1155::balanceOfCall {
                account: addr(ALICE),
                id: U256::from(1),
            }
            .abi_encode(),
        ),
        call3(mkr, true, balance_of(ALICE)),
    ];
    let data = IMulticall3::aggregate3Call { calls }.abi_encode();
    n.reset_requests();
    let out = rpc.eth_call(MULTICALL3_ADDRESS, &data, latest()).await;
    let r = IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap();
    let ok: Vec<bool> = r.iter().map(|x| x.success).collect();
    assert_eq!(
        ok,
        [true, true, true, true, false, true, true, false, false, true, true]
    );
    let uint = |i: usize| U256::from_be_slice(&r[i].returnData);
    assert_eq!(uint(0), U256::from(1_500_000));
    assert_eq!(uint(1), U256::from(6));
    assert_eq!(
        ITokenMetadata::symbolCall::abi_decode_returns(&r[2].returnData).unwrap(),
        "USDT6"
    );
    assert_eq!(&r[3].returnData[..], &word_of(b"MKR")[..]);
    assert!(r[4].returnData.is_empty());
    assert_eq!(uint(5), U256::from(300));
    assert_eq!(
        ITokenMetadata::nameCall::abi_decode_returns(&r[6].returnData).unwrap(),
        "Test NFT"
    );
    assert!(r[7].returnData.is_empty() && r[8].returnData.is_empty());
    assert_eq!(uint(9), U256::from(3));
    assert_eq!(uint(10), U256::from(7));
    let counts = n.requests();
    assert_eq!((counts.http, counts.call, counts.inner_calls), (1, 1, 11));
}

#[tokio::test]
async fn token_metadata_has_history_and_setters_check_their_input() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.set_erc20_balance_at(TOKEN, ALICE, 0, U256::from(1))
        .unwrap();
    assert_eq!(n.token_metadata(TOKEN, None).unwrap(), None);
    // Set at the tip + 1: seen once mined, never before.
    let block = n
        .set_token_metadata(TOKEN, Some("Old Name"), Some("OLD"), Some(8))
        .unwrap();
    assert_eq!(block, 100);
    let at = |b: u64| json!(q(b));
    let (code, _, _) = rpc
        .error(
            "eth_call",
            json!([{"to": TOKEN, "data": hex(&symbol_call())}, "latest"]),
        )
        .await;
    assert_eq!(code, -32000, "not mined yet");
    n.mine(1);
    let symbol_at = |b: u64| {
        let rpc = &rpc;
        async move { rpc.eth_call(TOKEN, &symbol_call(), at(b)).await }
    };
    assert_eq!(
        ITokenMetadata::symbolCall::abi_decode_returns(&symbol_at(100).await).unwrap(),
        "OLD"
    );
    // Renamed at 110; bytes32 from 111; decimals revert from 112 on.
    n.mine(9);
    n.set_token_metadata(TOKEN, Some("New Name"), Some("NEW"), Some(8))
        .unwrap();
    n.mine(1);
    assert_eq!(n.set_token_strings_bytes32(TOKEN).unwrap(), 111);
    n.mine(1);
    n.set_token_metadata_with(
        TOKEN,
        EvmTokenMetadata {
            decimals: None,
            ..n.token_metadata(TOKEN, None).unwrap().unwrap()
        },
    )
    .unwrap();
    n.mine(1);
    assert_eq!(
        ITokenMetadata::symbolCall::abi_decode_returns(&symbol_at(109).await).unwrap(),
        "OLD"
    );
    assert_eq!(
        ITokenMetadata::symbolCall::abi_decode_returns(&symbol_at(110).await).unwrap(),
        "NEW"
    );
    assert_eq!(symbol_at(111).await, word_of(b"NEW"));
    let decimals_at = |b: u64| json!([{"to": TOKEN, "data": hex(&decimals_call())}, q(b)]);
    assert_eq!(
        rpc.result("eth_call", decimals_at(111)).await,
        json!(hex(&U256::from(8).to_be_bytes::<32>()))
    );
    let (code, _, _) = rpc.error("eth_call", decimals_at(112)).await;
    assert_eq!(code, -32000);
    assert_eq!(symbol_at(112).await, word_of(b"NEW"));
    let then = n.token_metadata(TOKEN, Some(110)).unwrap().unwrap();
    assert_eq!(
        then,
        EvmTokenMetadata::new(Some("New Name"), Some("NEW"), Some(8))
    );
    // Back to no metadata at all.
    n.set_token_metadata_with(TOKEN, EvmTokenMetadata::default())
        .unwrap();
    n.mine(1);
    let (code, _, _) = rpc
        .error(
            "eth_call",
            json!([{"to": TOKEN, "data": hex(&name_call())}, "latest"]),
        )
        .await;
    assert_eq!(code, -32000);
    // The balance never moved.
    let out = rpc
        .eth_call(TOKEN, &balance_of(ALICE), json!("latest"))
        .await;
    assert_eq!(U256::from_be_slice(&out), U256::from(1));

    // Refused: no metadata to turn into bytes32, contracts that are not tokens, bad input.
    let e = n.set_token_strings_bytes32(NFT).unwrap_err();
    assert!(e.to_string().contains("no metadata"), "{e}");
    for not_a_token in [
        MULTICALL3_ADDRESS,
        EVM_REVERTING_CONTRACT,
        EVM_PANICKING_CONTRACT,
    ] {
        let e = n
            .set_token_metadata(not_a_token, Some("X"), Some("X"), Some(0))
            .unwrap_err();
        assert!(e.to_string().contains("not a token"), "{e}");
    }
    let e = n.set_token_metadata("0x12", None, None, None).unwrap_err();
    assert!(e.to_string().contains("invalid EVM address"), "{e}");
    // Metadata deploys nothing: an address without code still answers empty data.
    n.set_token_metadata(BOB, Some("Nobody"), Some("NOPE"), Some(1))
        .unwrap();
    n.mine(1);
    assert!(rpc
        .eth_call(BOB, &name_call(), json!("latest"))
        .await
        .is_empty());
}

#[tokio::test]
async fn a_chain_without_multicall3_answers_empty_data() {
    let d = Devnet::builder()
        .evm_initial_blocks(100)
        .evm_without_multicall3()
        .start()
        .await
        .unwrap();
    let rpc = Rpc::new(&d);
    let data = IMulticall3::aggregate3Call {
        calls: vec![call3(TOKEN, true, balance_of(ALICE))],
    }
    .abi_encode();
    let out = rpc
        .eth_call(MULTICALL3_ADDRESS, &data, json!("latest"))
        .await;
    assert!(out.is_empty());
    assert!(IMulticall3::aggregate3Call::abi_decode_returns(&out).is_err());
    assert_eq!(
        rpc.result("eth_getCode", json!([MULTICALL3_ADDRESS, "latest"]))
            .await,
        "0x"
    );
    assert_eq!(d.evm().requests().inner_calls, 0);
    // Deployed later, it answers from then on.
    d.evm().set_multicall3(Some(50));
    let out = rpc.eth_call(MULTICALL3_ADDRESS, &data, json!("0x31")).await;
    assert!(out.is_empty());
    let out = rpc.eth_call(MULTICALL3_ADDRESS, &data, json!("0x32")).await;
    assert_eq!(
        IMulticall3::aggregate3Call::abi_decode_returns(&out)
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn batches_are_answered_by_id_in_a_shuffled_order() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.set_native_balance_at(ALICE, 0, U256::from(5)).unwrap();
    let ids = [
        json!(1),
        json!("two"),
        json!(3),
        json!("4"),
        json!(0),
        json!(-6),
        json!(u64::MAX),
        json!("été ✓"),
        json!(null),
        json!(1.5),
    ];
    let mut batch: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({"jsonrpc": "2.0", "id": id, "method": "eth_getBalance",
                   "params": [ALICE, q(i as u64)]})
        })
        .collect();
    // A notification (no answer), an unknown method and an invalid element.
    batch.push(json!({"jsonrpc": "2.0", "method": "eth_chainId"}));
    batch.push(json!({"jsonrpc": "2.0", "id": "x", "method": "eth_nope"}));
    batch.push(json!(42));
    let got = rpc.post(Value::Array(batch).to_string()).await;
    assert_eq!(got.status, StatusCode::OK);
    let answers = got.json();
    let answers = answers.as_array().expect("an array");
    assert_eq!(answers.len(), ids.len() + 2);
    let answered_ids: Vec<&Value> = answers.iter().map(|a| &a["id"]).collect();
    let (x, null) = (json!("x"), Value::Null);
    let mut expected: Vec<&Value> = ids.iter().collect();
    expected.push(&x);
    expected.push(&null);
    assert_ne!(answered_ids, expected, "answers come in another order");
    for id in &ids {
        let a = answers
            .iter()
            .find(|a| &a["id"] == id && a.get("result").is_some())
            .unwrap_or_else(|| panic!("no answer for {id}"));
        assert_eq!(a["result"], "0x5");
    }
    // The ids are echoed exactly, to the text.
    assert!(got.body.contains("18446744073709551615"));
    assert!(got.body.contains("\"été ✓\""));
    assert!(got.body.contains("-6"));
    let unknown = answers.iter().find(|a| a["id"] == "x").unwrap();
    assert_eq!(unknown["error"]["code"], -32601);
    assert_eq!(
        unknown["error"]["message"],
        "the method eth_nope does not exist/is not available"
    );
    let invalid = answers
        .iter()
        .find(|a| a["id"].is_null() && a.get("error").is_some())
        .unwrap();
    assert_eq!(invalid["error"]["code"], -32600);

    // The order is deterministic.
    let batch: Vec<Value> = (0..6)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber"}))
        .collect();
    let body = Value::Array(batch).to_string();
    let first: Vec<Value> = rpc
        .post(body.clone())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    let again: Vec<Value> = rpc
        .post(body.clone())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(first, again);
    assert_ne!(first, (0..6).map(|i| json!(i)).collect::<Vec<_>>());
    // ... and can be switched off.
    n.set_shuffle_batches(false);
    let plain: Vec<Value> = rpc
        .post(body)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(plain, (0..6).map(|i| json!(i)).collect::<Vec<_>>());

    // Notifications only: an empty 200. An empty batch: one error object.
    let got = rpc
        .post(r#"[{"jsonrpc":"2.0","method":"eth_chainId"}]"#)
        .await;
    assert_eq!((got.status, got.body.as_str()), (StatusCode::OK, ""));
    let got = rpc.post("[]").await;
    assert_eq!(
        got.json(),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "empty batch"}})
    );
    let counts = n.requests();
    assert_eq!(counts.batches, 6);
}

#[tokio::test]
async fn batches_above_the_limit_are_refused() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let batch = |len: usize| {
        let items: Vec<Value> = (0..len)
            .map(|i| json!({"jsonrpc": "2.0", "id": i + 100, "method": "eth_chainId"}))
            .collect();
        Value::Array(items).to_string()
    };
    // The default limit is geth's 1,000.
    let got = rpc.post(batch(1_000)).await;
    assert_eq!(got.json().as_array().unwrap().len(), 1_000);
    let got = rpc.post(batch(1_001)).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.json(),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "batch too large"}})
    );
    n.set_max_batch_size(Some(3));
    assert_eq!(rpc.post(batch(3)).await.json().as_array().unwrap().len(), 3);
    assert_eq!(
        rpc.post(batch(4)).await.json()["error"]["message"],
        "batch too large"
    );
    n.set_batch_limit_style(BatchLimitStyle::GethArray);
    assert_eq!(
        rpc.post(batch(4)).await.json(),
        json!([{"jsonrpc": "2.0", "id": 100, "error": {"code": -32600, "message": "batch too large"}}])
    );
    n.set_batch_limit_style(BatchLimitStyle::Http413);
    let got = rpc.post(batch(4)).await;
    assert_eq!(got.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(got.body.contains("batch too large"));
    // A single request is not a batch.
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x1");
    n.set_max_batch_size(None);
    assert_eq!(
        rpc.post(batch(1_500))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1_500
    );
    // Refused batches still count their calls.
    assert_eq!(n.requests().chain_id, 1_000 + 1_001 + 3 + 4 * 3 + 1 + 1_500);
}

#[tokio::test]
async fn a_reorg_makes_old_hashes_unknown() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.set_native_balance_at(ALICE, 0, U256::from(1)).unwrap();
    let old_tip = rpc.block("latest").await;
    let old_96 = rpc.block("0x60").await;
    let old_95 = rpc.block("0x5f").await;
    assert_eq!(n.reorg(4), Some(96));
    let new_tip = rpc.block("latest").await;
    assert_eq!(new_tip["number"], old_tip["number"]);
    assert_eq!(new_tip["timestamp"], old_tip["timestamp"]);
    assert_ne!(new_tip["hash"], old_tip["hash"]);
    let new_96 = rpc.block("0x60").await;
    assert_ne!(new_96["hash"], old_96["hash"]);
    assert_eq!(new_96["parentHash"], old_95["hash"], "block 95 stays");
    assert_eq!(rpc.block("0x5f").await["hash"], old_95["hash"]);
    // The old hashes are unknown.
    for old in [&old_tip, &old_96] {
        let got = rpc
            .call("eth_getBlockByHash", json!([old["hash"], false]))
            .await;
        assert_eq!(got["result"], Value::Null);
        for block in [
            json!(old["hash"]),
            json!({"blockHash": old["hash"], "requireCanonical": true}),
        ] {
            let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, block])).await;
            assert_eq!((code, msg.as_str()), (-32000, "block not found"));
        }
        let (code, msg, _) = rpc
            .error(
                "eth_call",
                json!([{"to": TOKEN}, {"blockHash": old["hash"]}]),
            )
            .await;
        assert_eq!((code, msg.as_str()), (-32000, "block not found"));
    }
    // The new ones and the untouched ones work.
    for b in [&new_tip, &new_96, &old_95] {
        assert_eq!(
            rpc.balance(ALICE, json!({"blockHash": b["hash"]})).await,
            U256::from(1)
        );
    }
    // Blocks mined afterwards extend the new fork.
    n.mine(1);
    assert_eq!(rpc.block("latest").await["parentHash"], new_tip["hash"]);
}

#[tokio::test]
async fn a_lagging_replica_hides_recent_blocks() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.set_native_balance_at(ALICE, 99, U256::from(42)).unwrap();
    let tip_hash = n.block(99).hash;
    n.faults().lag(5);
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x5e");
    assert_eq!(rpc.block("latest").await["number"], "0x5e");
    assert_eq!(rpc.block("finalized").await["number"], q(94 - 64));
    let got = rpc
        .call("eth_getBlockByNumber", json!(["0x5f", false]))
        .await;
    assert_eq!(got["result"], Value::Null);
    let got = rpc
        .call("eth_getBlockByHash", json!([tip_hash, false]))
        .await;
    assert_eq!(got["result"], Value::Null);
    let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, "0x63"])).await;
    assert_eq!((code, msg.as_str()), (-32000, "header not found"));
    let (code, msg, _) = rpc.error("eth_getBalance", json!([ALICE, tip_hash])).await;
    assert_eq!((code, msg.as_str()), (-32000, "block not found"));
    assert_eq!(rpc.balance(ALICE, json!("latest")).await, U256::ZERO);
    assert!(n.faults().counts().lagged >= 8);
    n.faults().clear_lag();
    assert_eq!(rpc.balance(ALICE, json!("0x63")).await, U256::from(42));
    assert_eq!(rpc.balance(ALICE, json!("latest")).await, U256::from(42));
    // For the next request only.
    n.faults().lag_next(1, 50);
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x31");
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x63");
}

#[tokio::test]
async fn throttling_answers_429_or_an_in_band_error() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.faults().set_retry_after_secs(7);
    n.faults().throttle_next(1);
    let got = rpc
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).to_string())
        .await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(got.header("retry-after"), "7");
    let v = got.json();
    assert_eq!(v["error"]["code"], -32005);
    assert_eq!(v["error"]["message"], "rate limit exceeded");
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x1");

    // In band: a 200, every request answered with -32005 under its own id.
    n.set_throttle_style(ThrottleStyle::JsonRpc);
    n.faults().throttle_next(2);
    let v = rpc.call("eth_chainId", json!([])).await;
    assert_eq!(
        v["error"],
        json!({"code": -32005, "message": "rate limit exceeded", "data": {"backoff_seconds": 7}})
    );
    let got = rpc
        .post(
            json!([
                {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": "b", "method": "eth_blockNumber"},
                {"jsonrpc": "2.0", "method": "eth_blockNumber"}
            ])
            .to_string(),
        )
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(got.headers.get("retry-after").is_none());
    let answers = got.json();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 2);
    let mut ids: Vec<&str> = answers.iter().map(|a| a["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a", "b"]);
    assert!(answers.iter().all(|a| a["error"]["code"] == -32005));
    assert_eq!(n.faults().counts().throttled, 3);
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x1");
}

#[tokio::test]
async fn injected_failures_drops_and_latency() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}).to_string();
    n.faults().fail_next(1, 503);
    let got = rpc.post(body.clone()).await;
    assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(got.header("content-type").starts_with("text/plain"));
    assert!(got.body.contains("injected fault"));
    n.faults().fail_next(1, 502);
    assert_eq!(rpc.post(body.clone()).await.status, StatusCode::BAD_GATEWAY);
    n.faults().fail_next(1, 429);
    let got = rpc.post(body.clone()).await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(got.header("retry-after"), "1");
    assert_eq!(rpc.post(body.clone()).await.json()["result"], "0x63");

    // A dropped connection: the head arrives, the body stops short.
    n.faults().drop_next(1);
    let resp = rpc
        .c
        .post(&rpc.url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("head arrives");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.is_err(), "expected a cut body");
    assert_eq!(n.faults().counts().dropped, 1);
    assert_eq!(rpc.post(body.clone()).await.json()["result"], "0x63");

    n.faults().set_latency(Duration::from_millis(120));
    let t = Instant::now();
    assert_eq!(rpc.post(body).await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(120));
    n.faults().set_latency(Duration::ZERO);
    assert_eq!(n.faults().counts().delayed, 1);
}

#[tokio::test]
async fn pruned_state_answers_4444() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.set_native_balance_at(ALICE, 0, U256::from(3)).unwrap();
    n.set_erc20_balance_at(TOKEN, ALICE, 0, U256::from(4))
        .unwrap();
    n.prune_before(50);
    assert_eq!(n.oldest_state_block(), 50);
    let h49 = n.block(49).hash;
    for (method, params) in [
        ("eth_getBalance", json!([ALICE, "0x31"])),
        ("eth_getBalance", json!([ALICE, h49])),
        ("eth_getBalance", json!([ALICE, "earliest"])),
        ("eth_getCode", json!([TOKEN, "0x31"])),
        (
            "eth_call",
            json!([{"to": TOKEN, "data": hex(&balance_of(ALICE))}, "0x31"]),
        ),
    ] {
        let (code, msg, _) = rpc.error(method, params).await;
        assert_eq!(
            (code, msg.as_str()),
            (4444, "missing trie node"),
            "{method}"
        );
    }
    assert_eq!(rpc.balance(ALICE, json!("0x32")).await, U256::from(3));
    let out = rpc.eth_call(TOKEN, &balance_of(ALICE), json!("0x32")).await;
    assert_eq!(
        IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
        U256::from(4)
    );
    // Headers stay.
    assert_eq!(rpc.block("0x1").await["number"], "0x1");
    // Clamped to the tip.
    n.prune_before(1_000);
    assert_eq!(n.oldest_state_block(), 99);
    n.prune_before(0);
    assert_eq!(rpc.balance(ALICE, json!("0x0")).await, U256::from(3));
}

#[tokio::test]
async fn eth_call_gas_is_capped_at_2_pow_24() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let at_cap = json!([{"to": BOB, "data": "0x", "gas": "0x1000000"}, "latest"]);
    assert_eq!(rpc.result("eth_call", at_cap).await, "0x");
    for gas in ["0x1000001", "0xffffffffffffffff"] {
        let (code, msg, _) = rpc
            .error(
                "eth_call",
                json!([{"to": BOB, "data": "0x", "gas": gas}, "latest"]),
            )
            .await;
        assert_eq!(
            (code, msg.as_str()),
            (-32000, "gas limit too high"),
            "{gas}"
        );
    }
    let (code, msg, _) = rpc
        .error(
            "eth_call",
            json!([{"to": BOB, "gas": "0x10000000000000000"}]),
        )
        .await;
    assert_eq!(code, -32602);
    assert_eq!(
        msg,
        "invalid argument 0 (transaction): gas: hex number > 64 bits"
    );
}

#[tokio::test]
async fn wrong_params_name_the_parameter() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "eth_chainId",
            json!([1]),
            "too many arguments, want at most 0",
        ),
        ("eth_blockNumber", json!({"a": 1}), "non-array args"),
        (
            "eth_getBalance",
            json!([]),
            "missing value for required argument 0 (address)",
        ),
        (
            "eth_getBalance",
            json!([null, "latest"]),
            "missing value for required argument 0 (address)",
        ),
        (
            "eth_getBalance",
            json!([5, "latest"]),
            "invalid argument 0 (address): want a string",
        ),
        (
            "eth_getBalance",
            json!(["0x12", "latest"]),
            "invalid argument 0 (address): hex string has length 2, want 40",
        ),
        (
            "eth_getBalance",
            json!([ALICE, "latest", 3]),
            "too many arguments, want at most 2",
        ),
        (
            "eth_getCode",
            json!([ALICE]),
            "missing value for required argument 1 (block)",
        ),
        (
            "eth_getBlockByNumber",
            json!([]),
            "missing value for required argument 0 (block)",
        ),
        (
            "eth_getBlockByNumber",
            json!(["0x1", "yes"]),
            "invalid argument 1 (full): want a bool",
        ),
        (
            "eth_getBlockByNumber",
            json!([1, false]),
            "invalid argument 0 (block): want a string",
        ),
        (
            "eth_getBlockByHash",
            json!([]),
            "missing value for required argument 0 (hash)",
        ),
        (
            "eth_call",
            json!([]),
            "missing value for required argument 0 (transaction)",
        ),
        (
            "eth_call",
            json!(["0x"]),
            "invalid argument 0 (transaction): want an object",
        ),
        (
            "eth_call",
            json!([{"to": TOKEN, "data": "0xabc"}]),
            "invalid argument 0 (transaction): data: hex string of odd length",
        ),
        (
            "eth_call",
            json!([{"to": TOKEN, "data": 7}]),
            "invalid argument 0 (transaction): data: want a string",
        ),
        (
            "eth_call",
            json!([{"to": TOKEN, "value": "-1"}]),
            "invalid argument 0 (transaction): value",
        ),
        (
            "eth_call",
            json!([{"to": TOKEN}, "0xzz"]),
            "invalid argument 1 (block)",
        ),
    ];
    for (method, params, want) in cases {
        let (code, msg, _) = rpc.error(method, params.clone()).await;
        assert_eq!(code, -32602, "{method} {params}");
        assert!(msg.starts_with(want), "{method} {params}: {msg}");
    }
    // Trailing nulls are as good as absent.
    assert_eq!(rpc.result("eth_chainId", json!([null])).await, "0x1");
    let (code, msg, _) = rpc.error("eth_sendRawTransaction", json!(["0x00"])).await;
    assert_eq!(code, -32601);
    assert_eq!(
        msg,
        "the method eth_sendRawTransaction does not exist/is not available"
    );
}

#[tokio::test]
async fn hostile_bodies_get_errors_never_a_panic() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let parse_error =
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}});
    let deep = "[".repeat(100_000);
    let huge_number = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["{ALICE}","0x{}"]}}"#,
        "f".repeat(10_000)
    );
    let huge_batch_of_junk = format!("[{}1]", "1,".repeat(200_000));
    for body in [
        "",
        "{",
        "[",
        "nul",
        "{\"jsonrpc\":\"2.0\",}",
        deep.as_str(),
        "\u{feff}{}",
    ] {
        let got = rpc.post(body.to_owned()).await;
        assert_eq!(got.status, StatusCode::OK, "{:.40}", body);
        assert_eq!(got.json(), parse_error, "{:.40}", body);
    }
    let got = rpc.post(vec![0xff, 0xfe, 0x00, 0x7b]).await;
    assert_eq!(got.json(), parse_error);
    for body in [
        "null",
        "1",
        "\"eth_chainId\"",
        "{}",
        "{\"jsonrpc\":\"2.0\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"eth_chainId\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":[\"eth_chainId\"]}",
    ] {
        let got = rpc.post(body.to_owned()).await;
        assert_eq!(got.status, StatusCode::OK, "{body}");
        assert_eq!(got.json()["error"]["code"], -32600, "{body}: {}", got.body);
    }
    let got = rpc.post(huge_number).await;
    assert_eq!(got.json()["error"]["code"], -32602);
    let got = rpc.post(huge_batch_of_junk).await;
    assert_eq!(got.json()["error"]["message"], "batch too large");
    d.evm().set_max_batch_size(None);
    let got = rpc.post(format!("[{}1]", "1,".repeat(5_000))).await;
    let answers = got.json();
    assert_eq!(answers.as_array().unwrap().len(), 5_001);
    assert!(answers
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["error"]["code"] == -32600));
    // Hostile calldata: huge claimed lengths, nested aggregate3, garbage.
    let mut claims = IMulticall3::aggregate3Call::SELECTOR.to_vec();
    claims.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
    claims.extend_from_slice(&U256::from(u64::MAX).to_be_bytes::<32>());
    let (code, _, _) = rpc
        .error(
            "eth_call",
            json!([{"to": MULTICALL3_ADDRESS, "data": hex(&claims)}]),
        )
        .await;
    assert_eq!(code, -32000);
    let mut nested = balance_of(ALICE);
    for _ in 0..200 {
        nested = IMulticall3::aggregate3Call {
            calls: vec![call3(MULTICALL3_ADDRESS, true, nested)],
        }
        .abi_encode();
    }
    // The innermost calls, past the depth limit, fail; their callers allow it.
    let out = rpc
        .eth_call(MULTICALL3_ADDRESS, &nested, json!("latest"))
        .await;
    assert!(IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap()[0].success);

    // HTTP-level refusals, in plain text.
    let c = client();
    let got = c.get(d.evm_url()).send().await.unwrap();
    assert_eq!(got.status(), StatusCode::METHOD_NOT_ALLOWED);
    let got = c
        .post(d.evm_url())
        .header("content-type", "text/plain")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let got = c
        .post(d.evm_url())
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let got = rpc.post(vec![b' '; 6 * 1024 * 1024]).await;
    assert_eq!(got.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Still answering, at any path.
    let got = c
        .post(format!("{}/v3/some-api-key", d.evm_url()))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(got.json::<Value>().await.unwrap()["result"], "0x1");
}

#[tokio::test]
async fn counters_count_and_reset() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    rpc.result("eth_chainId", json!([])).await;
    rpc.result("eth_blockNumber", json!([])).await;
    rpc.block("latest").await;
    rpc.result("eth_getBlockByHash", json!([n.block(1).hash, false]))
        .await;
    rpc.balance(ALICE, json!("0x1")).await;
    rpc.result("eth_getCode", json!([ALICE, "0x1"])).await;
    let data = IMulticall3::aggregate3Call {
        calls: vec![call3(TOKEN, true, vec![]), call3(BOB, true, vec![])],
    }
    .abi_encode();
    rpc.eth_call(MULTICALL3_ADDRESS, &data, json!("0x2")).await;
    rpc.error("eth_foo", json!([])).await;
    rpc.post("{").await;
    rpc.post(
        json!([
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_call", "params": [{"to": MULTICALL3_ADDRESS, "data": hex(&data)}, "0x3"]},
            7
        ])
        .to_string(),
    )
    .await;
    n.faults().throttle_next(1);
    rpc.post(json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).to_string())
        .await;
    let c = n.requests();
    assert_eq!(c.http, 11);
    assert_eq!(c.batches, 1);
    assert_eq!(c.calls, 11);
    assert_eq!(c.chain_id, 3);
    assert_eq!(c.block_number, 1);
    assert_eq!(c.get_block_by_number, 1);
    assert_eq!(c.get_block_by_hash, 1);
    assert_eq!(c.get_balance, 1);
    assert_eq!(c.get_code, 1);
    assert_eq!(c.call, 2);
    assert_eq!(c.unknown_method, 1);
    assert_eq!(c.invalid, 2);
    assert_eq!(c.inner_calls, 4, "the throttled request ran nothing");
    let seen = n.seen_calls();
    assert_eq!(seen.len(), 11);
    assert_eq!(seen[4].method, "eth_getBalance");
    assert_eq!(seen[4].params, format!("[\"{ALICE}\",\"0x1\"]"));
    assert_eq!(seen[0].params, "[]");
    n.reset_requests();
    assert_eq!(n.requests(), Default::default());
    assert!(n.seen_calls().is_empty());
}

#[tokio::test]
async fn demo_data_reads_at_the_demo_instant() {
    let d = Devnet::builder().with_demo_data().start().await.unwrap();
    let rpc = Rpc::new(&d);
    // 2026-01-01T01:45:00Z: the last block at or before it.
    let demo_at = 1_767_225_600 + 6_300;
    let block = d.evm().block_at_time(demo_at).unwrap();
    assert_eq!(block, 525);
    let calls = vec![
        call3(
            MULTICALL3_ADDRESS,
            false,
            IMulticall3::getEthBalanceCall {
                addr: addr(DEMO_ETH_OWNER),
            }
            .abi_encode(),
        ),
        call3(DEMO_ERC20_CONTRACT, false, balance_of(DEMO_ETH_OWNER)),
        call3(
            DEMO_ERC721_CONTRACT,
            false,
            IERC721::ownerOfCall {
                tokenId: DEMO_ERC721_ID,
            }
            .abi_encode(),
        ),
        call3(DEMO_ERC721_CONTRACT, false, balance_of(DEMO_ETH_OWNER_2)),
        call3(
            DEMO_ERC1155_CONTRACT,
            false,
            IERC1155::balanceOfCall {
                account: addr(DEMO_ETH_OWNER),
                id: DEMO_ERC1155_ID,
            }
            .abi_encode(),
        ),
    ];
    let data = IMulticall3::aggregate3Call { calls }.abi_encode();
    let out = rpc
        .eth_call(MULTICALL3_ADDRESS, &data, json!(q(block)))
        .await;
    let r = IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap();
    let uint = |i: usize| IBalanceOf::balanceOfCall::abi_decode_returns(&r[i].returnData).unwrap();
    assert_eq!(uint(0), U256::from(4_200_000_000_000_000_000u64));
    assert_eq!(uint(1), (U256::from(1) << 128) + U256::from(1));
    assert_eq!(
        IERC721::ownerOfCall::abi_decode_returns(&r[2].returnData).unwrap(),
        addr(DEMO_ETH_OWNER_2)
    );
    assert_eq!(uint(3), U256::from(1));
    assert_eq!(uint(4), U256::from(12));
    // Later, as in the AMB half: the NFT moved, the ERC-1155 grew, the ERC-20 is maxed.
    let late = json!("latest");
    assert_eq!(
        rpc.balance(DEMO_ETH_OWNER, late.clone()).await,
        U256::from(12_500_000_000_000_000_000u128)
    );
    let out = rpc
        .eth_call(
            DEMO_ERC20_CONTRACT,
            &balance_of(DEMO_ETH_OWNER_2),
            late.clone(),
        )
        .await;
    assert_eq!(
        IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
        U256::MAX
    );
    assert_eq!(
        d.evm()
            .erc721_owner(DEMO_ERC721_CONTRACT, DEMO_ERC721_ID, None)
            .unwrap()
            .as_deref(),
        Some(DEMO_ETH_OWNER)
    );
    assert_eq!(
        d.evm()
            .erc1155_balance(
                DEMO_ERC1155_CONTRACT,
                DEMO_ETH_OWNER_2,
                DEMO_ERC1155_ID,
                None
            )
            .unwrap(),
        U256::from(250)
    );
    // Their metadata, from genesis: the ERC-20's strings as bytes32, no decimals() for the
    // collections.
    let at = json!(q(block));
    let erc20 = DEMO_ERC20_CONTRACT;
    assert_eq!(
        rpc.eth_call(erc20, &symbol_call(), at.clone()).await,
        word_of(b"COFFEE")
    );
    assert_eq!(
        rpc.eth_call(erc20, &name_call(), at.clone()).await,
        word_of(b"Demo Coffee")
    );
    let out = rpc.eth_call(erc20, &decimals_call(), at.clone()).await;
    assert_eq!(U256::from_be_slice(&out), U256::from(18));
    for (contract, name, symbol) in [
        (DEMO_ERC721_CONTRACT, "Demo Beef", "BEEF"),
        (DEMO_ERC1155_CONTRACT, "Demo Cafe", "CAFE"),
    ] {
        let out = rpc.eth_call(contract, &name_call(), at.clone()).await;
        assert_eq!(
            ITokenMetadata::nameCall::abi_decode_returns(&out).unwrap(),
            name
        );
        let out = rpc.eth_call(contract, &symbol_call(), at.clone()).await;
        assert_eq!(
            ITokenMetadata::symbolCall::abi_decode_returns(&out).unwrap(),
            symbol
        );
        let (code, _, _) = rpc
            .error(
                "eth_call",
                json!([{"to": contract, "data": hex(&decimals_call())}, q(block)]),
            )
            .await;
        assert_eq!(code, -32000, "{contract}");
    }
    // The contracts have code from genesis.
    assert_ne!(
        rpc.result("eth_getCode", json!([DEMO_ERC20_CONTRACT, "0x0"]))
            .await,
        "0x"
    );
}

#[tokio::test]
async fn seeded_holders_are_computed_on_the_fly() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.seed_native_holders(10_000);
    n.seed_erc20_holders(TOKEN, 10_000).unwrap();
    assert_eq!(
        seed_holder_address(9_999),
        "0x000000000000000000000000000000010000270f"
    );
    for i in [0u64, 1, 4_321, 9_999] {
        let holder = seed_holder_address(i);
        assert_eq!(
            rpc.balance(&holder, json!("earliest")).await,
            seed_native_amount(i)
        );
        let out = rpc
            .eth_call(TOKEN, &balance_of(&holder), json!("latest"))
            .await;
        assert_eq!(
            IBalanceOf::balanceOfCall::abi_decode_returns(&out).unwrap(),
            seed_erc20_amount(i)
        );
    }
    assert_eq!(
        rpc.balance(&seed_holder_address(10_000), json!("latest"))
            .await,
        U256::ZERO
    );
    assert_eq!(seed_native_amount(7), U256::from(1_000_007));
    assert_eq!(
        seed_erc20_amount(7),
        U256::from(1_000_000_000_000_000_007u64)
    );
}

#[tokio::test]
async fn time_search_over_300_million_sub_second_blocks() {
    let started = Instant::now();
    let d = Devnet::builder()
        .evm_initial_blocks(300_000_000)
        .evm_block_interval(Duration::from_millis(250))
        .evm_block_jitter(true)
        .start()
        .await
        .unwrap();
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let tip = quantity(&rpc.result("eth_blockNumber", json!([])).await);
    assert_eq!(tip, 299_999_999);
    // Timestamps: several blocks per second, never decreasing.
    let mut prev = 0;
    let mut same_second = 0;
    for b in 1_000..1_040u64 {
        let t = quantity(&rpc.block(&q(b)).await["timestamp"]);
        assert!(t >= prev);
        if t == prev {
            same_second += 1;
        }
        prev = t;
    }
    assert!(same_second >= 20, "{same_second}");
    // The last block at or before a target time, found by a client-style binary search.
    let target = n.block(123_456_789).timestamp;
    let (mut lo, mut hi) = (0u64, tip);
    let mut requests = 0;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        let t = quantity(&rpc.block(&q(mid)).await["timestamp"]);
        requests += 1;
        if t <= target {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    assert!(requests <= 30, "{requests}");
    assert_eq!(Some(lo), n.block_at_time(target));
    assert_eq!(n.block(lo).timestamp, target);
    assert!(n.block(lo + 1).timestamp > target);
    // mine_at places a block at a chosen second; the next ones follow the interval.
    let tip_ts = n.block(tip).timestamp;
    assert!(n.mine_at(tip_ts - 1).is_err());
    assert_eq!(n.mine_at(tip_ts + 3_600).unwrap(), 300_000_000);
    assert_eq!(
        quantity(&rpc.block("latest").await["timestamp"]),
        tip_ts + 3_600
    );
    n.mine(8);
    let t = quantity(&rpc.block("latest").await["timestamp"]);
    assert!((tip_ts + 3_601..=tip_ts + 3_603).contains(&t), "{t}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let url = d.evm_url();
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x1");
    d.shutdown().await;
    let fresh = client();
    assert!(fresh
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .is_err());
}
