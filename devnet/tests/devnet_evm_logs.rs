//! The EVM node's token moves, event logs and `eth_getLogs` (with provider limits), and
//! `totalSupply`, exercised with raw JSON-RPC over HTTP on 127.0.0.1 (offline).

use std::collections::BTreeSet;
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokbal_devnet::{
    seed_holder_address, Devnet, LogsErrorStyle, ThrottleStyle, MULTICALL3_ADDRESS, ZERO_ADDRESS,
};

/// The contract interfaces and events, exactly as tokbal's client declares them (the revert
/// payloads it also names are not needed here).
#[path = "../../src/evm/abi.rs"]
#[allow(unused_imports)]
mod abi;

use abi::{IBalanceOf, IERC1155Supply, IMulticall3, ITransfers, IERC721};

const ALICE: &str = "0x00000000000000000000000000000000000a11ce";
const BOB: &str = "0x0000000000000000000000000000000000000b0b";
const CAROL: &str = "0x00000000000000000000000000000000000ca201";
const OPERATOR: &str = "0x0000000000000000000000000000000000000095";
const TOKEN: &str = "0x2020202020202020202020202020202020202020";
const NFT: &str = "0x7217217217217217217217217217217217217210";
const MULTI: &str = "0x1155115511551155115511551155115511551155";

fn u(n: u64) -> U256 {
    U256::from(n)
}

fn addr(s: &str) -> Address {
    s.parse().expect("address")
}

fn word(a: &str) -> String {
    format!("0x{}", alloy_primitives::hex::encode(addr(a).into_word()))
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", alloy_primitives::hex::encode(bytes))
}

fn unhex(s: &str) -> Vec<u8> {
    alloy_primitives::hex::decode(s.strip_prefix("0x").expect("0x")).expect("hex")
}

fn quantity(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u64::from_str_radix(s.strip_prefix("0x").expect("0x"), 16).expect("hex quantity")
}

fn q(n: u64) -> String {
    format!("0x{n:x}")
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// 100 blocks of 12 s (tip 99).
async fn small() -> Devnet {
    Devnet::builder()
        .evm_initial_blocks(100)
        .start()
        .await
        .expect("devnet starts")
}

struct Rpc {
    c: reqwest::Client,
    url: String,
}

/// An error answer: (code, message, data).
type RpcErr = (i64, String, Option<Value>);

impl Rpc {
    fn new(d: &Devnet) -> Rpc {
        Rpc {
            c: client(),
            url: d.evm_url(),
        }
    }

    async fn post(&self, body: String) -> (StatusCode, reqwest::header::HeaderMap, Value) {
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
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, headers, v)
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, RpcErr> {
        let (status, _, v) = self
            .post(
                json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["id"], 1, "{v}");
        match v.get("error") {
            Some(e) => Err((
                e["code"].as_i64().expect("code"),
                e["message"].as_str().expect("message").to_owned(),
                e.get("data").cloned(),
            )),
            None => Ok(v["result"].clone()),
        }
    }

    async fn logs(&self, filter: Value) -> Result<Vec<Value>, RpcErr> {
        self.call("eth_getLogs", json!([filter]))
            .await
            .map(|v| v.as_array().expect("a list of logs").clone())
    }

    async fn ok_logs(&self, filter: Value) -> Vec<Value> {
        self.logs(filter.clone())
            .await
            .unwrap_or_else(|e| panic!("eth_getLogs {filter}: {e:?}"))
    }

    async fn eth_call(&self, to: &str, data: &[u8], block: &str) -> Result<Vec<u8>, RpcErr> {
        self.call("eth_call", json!([{"to": to, "input": hex(data)}, block]))
            .await
            .map(|v| unhex(v.as_str().expect("hex")))
    }

    async fn block_hash(&self, n: u64) -> String {
        let b = self
            .call("eth_getBlockByNumber", json!([q(n), false]))
            .await
            .expect("block");
        b["hash"].as_str().expect("hash").to_owned()
    }
}

/// The log's topics and data, decoded from hex.
fn topics(log: &Value) -> Vec<String> {
    log["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| t.as_str().expect("topic").to_owned())
        .collect()
}

fn sig<E: SolEvent>() -> String {
    hex(E::SIGNATURE_HASH.as_slice())
}

#[tokio::test]
async fn every_kind_of_move_emits_its_standard_log_in_order() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    // Block 100: an ERC-20 mint and a transfer, an ERC-721 mint, an ERC-1155 mint.
    assert_eq!(
        n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(100))
            .unwrap(),
        100
    );
    n.transfer_erc20(TOKEN, ALICE, BOB, u(30)).unwrap();
    n.transfer_erc721(NFT, ZERO_ADDRESS, ALICE, u(7)).unwrap();
    n.transfer_erc1155(MULTI, OPERATOR, ZERO_ADDRESS, ALICE, u(1), u(50))
        .unwrap();
    assert!(rpc.ok_logs(json!({})).await.is_empty(), "not mined yet");
    n.mine(1);
    // Block 101: an ERC-20 burn, a move to oneself, an ERC-721 transfer, a batch mixing ids
    // (one of them twice), an ERC-721 burn.
    n.transfer_erc20(TOKEN, BOB, ZERO_ADDRESS, u(10)).unwrap();
    n.transfer_erc20(TOKEN, ALICE, ALICE, u(70)).unwrap();
    n.transfer_erc721(NFT, ALICE, BOB, u(7)).unwrap();
    n.transfer_erc1155_batch(
        MULTI,
        OPERATOR,
        ZERO_ADDRESS,
        BOB,
        &[u(2), u(1), u(2)],
        &[u(5), u(6), u(7)],
    )
    .unwrap();
    n.transfer_erc721(NFT, BOB, ZERO_ADDRESS, u(7)).unwrap();
    n.mine(2);

    assert_eq!(n.erc20_balance(TOKEN, ALICE, None).unwrap(), u(70));
    assert_eq!(n.erc20_balance(TOKEN, BOB, None).unwrap(), u(20));
    assert_eq!(n.erc20_balance(TOKEN, BOB, Some(100)).unwrap(), u(30));
    assert_eq!(n.total_supply(TOKEN, None).unwrap(), u(90));
    assert_eq!(n.total_supply(TOKEN, Some(100)).unwrap(), u(100));
    assert_eq!(
        n.erc721_owner(NFT, u(7), Some(100)).unwrap().as_deref(),
        Some(ALICE)
    );
    assert_eq!(n.erc721_owner(NFT, u(7), None).unwrap(), None);
    assert_eq!(n.total_supply(NFT, Some(100)).unwrap(), u(1));
    assert_eq!(n.total_supply(NFT, None).unwrap(), u(0));
    assert_eq!(n.erc1155_balance(MULTI, BOB, u(2), None).unwrap(), u(12));
    assert_eq!(n.erc1155_balance(MULTI, BOB, u(1), None).unwrap(), u(6));
    assert_eq!(n.erc1155_total_supply(MULTI, u(1), None).unwrap(), u(56));
    assert_eq!(n.erc1155_total_supply(MULTI, u(2), None).unwrap(), u(12));

    let logs = rpc
        .ok_logs(json!({"fromBlock": "earliest", "toBlock": "latest"}))
        .await;
    assert_eq!(logs.len(), 9);
    let (h100, h101) = (rpc.block_hash(100).await, rpc.block_hash(101).await);
    let mut seen_tx = BTreeSet::new();
    for (i, log) in logs.iter().enumerate() {
        let (block, hash, index) = if i < 4 {
            (100, &h100, i)
        } else {
            (101, &h101, i - 4)
        };
        assert_eq!(quantity(&log["blockNumber"]), block, "{log}");
        assert_eq!(log["blockHash"].as_str(), Some(hash.as_str()));
        assert_eq!(quantity(&log["logIndex"]), index as u64);
        assert_eq!(quantity(&log["transactionIndex"]), index as u64);
        assert_eq!(log["removed"], false);
        assert_eq!(quantity(&log["blockTimestamp"]), n.block(block).timestamp);
        let tx = log["transactionHash"].as_str().unwrap();
        assert!(tx.len() == 66 && tx.starts_with("0x"), "{tx}");
        assert!(seen_tx.insert(tx.to_owned()), "one transaction a move");
    }
    let transfer = sig::<ITransfers::Transfer>();
    let amount = |log: &Value| U256::from_be_slice(&unhex(log["data"].as_str().unwrap()));
    // ERC-20: three topics, the value as data.
    assert_eq!(logs[0]["address"], TOKEN);
    assert_eq!(
        topics(&logs[0]),
        [transfer.clone(), word(ZERO_ADDRESS), word(ALICE)]
    );
    assert_eq!(amount(&logs[0]), u(100));
    assert_eq!(topics(&logs[1]), [transfer.clone(), word(ALICE), word(BOB)]);
    assert_eq!(
        topics(&logs[4]),
        [transfer.clone(), word(BOB), word(ZERO_ADDRESS)]
    );
    assert_eq!(
        topics(&logs[5]),
        [transfer.clone(), word(ALICE), word(ALICE)]
    );
    assert_eq!(amount(&logs[5]), u(70));
    // ERC-721: the id as a fourth topic, no data.
    assert_eq!(logs[2]["address"], NFT);
    assert_eq!(
        topics(&logs[2]),
        [
            transfer.clone(),
            word(ZERO_ADDRESS),
            word(ALICE),
            hex(&u(7).to_be_bytes::<32>())
        ]
    );
    assert_eq!(logs[2]["data"], "0x");
    assert_eq!(topics(&logs[8])[2], word(ZERO_ADDRESS));
    // ERC-1155: operator, from and to indexed; the rest ABI-encoded.
    assert_eq!(logs[3]["address"], MULTI);
    assert_eq!(
        topics(&logs[3]),
        [
            sig::<ITransfers::TransferSingle>(),
            word(OPERATOR),
            word(ZERO_ADDRESS),
            word(ALICE)
        ]
    );
    let single_topics: Vec<B256> = topics(&logs[3])
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let single = ITransfers::TransferSingle::decode_raw_log(
        single_topics,
        &unhex(logs[3]["data"].as_str().unwrap()),
    )
    .expect("TransferSingle decodes");
    assert_eq!((single.id, single.value), (u(1), u(50)));
    let batch_topics: Vec<B256> = topics(&logs[7])
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(
        hex(batch_topics[0].as_slice()),
        sig::<ITransfers::TransferBatch>()
    );
    let batch = ITransfers::TransferBatch::decode_raw_log(
        batch_topics,
        &unhex(logs[7]["data"].as_str().unwrap()),
    )
    .expect("TransferBatch decodes");
    assert_eq!(batch.ids, [u(2), u(1), u(2)]);
    assert_eq!(batch.values, [u(5), u(6), u(7)]);
    assert_eq!(batch.operator, addr(OPERATOR));
    assert_eq!(batch.to, addr(BOB));
    assert_eq!(logs[6]["address"], NFT);
    assert_eq!(topics(&logs[6])[1..3], [word(ALICE), word(BOB)]);

    // Balances set without a move change without a log (and without the supply).
    n.set_erc20_balance(TOKEN, CAROL, u(5)).unwrap();
    n.mine(1);
    assert_eq!(rpc.ok_logs(json!({"fromBlock": "0x67"})).await.len(), 0);
    assert_eq!(n.total_supply(TOKEN, None).unwrap(), u(90));
}

#[tokio::test]
async fn moves_a_token_would_revert_are_refused_and_change_nothing() {
    let d = small().await;
    let n = d.evm();
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(10)).unwrap();
    let e = n.transfer_erc20(TOKEN, ALICE, BOB, u(11)).unwrap_err();
    assert!(e.message().contains("holds 10"), "{e}");
    assert!(n
        .transfer_erc20(TOKEN, ZERO_ADDRESS, ZERO_ADDRESS, u(1))
        .is_err());
    assert!(n.transfer_erc20(TOKEN, ALICE, ALICE, u(11)).is_err());
    assert!(
        n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, U256::MAX)
            .is_err(),
        "supply overflow"
    );
    assert!(n.transfer_erc20("0x12", ALICE, BOB, u(1)).is_err());
    n.transfer_erc721(NFT, ZERO_ADDRESS, ALICE, u(1)).unwrap();
    let e = n.transfer_erc721(NFT, ZERO_ADDRESS, BOB, u(1)).unwrap_err();
    assert!(e.message().contains("already held"), "{e}");
    let e = n.transfer_erc721(NFT, BOB, CAROL, u(1)).unwrap_err();
    assert!(e.message().contains("not by"), "{e}");
    assert!(
        n.transfer_erc721(NFT, ALICE, BOB, u(2)).is_err(),
        "never minted"
    );
    let e = n
        .transfer_erc20(NFT, ZERO_ADDRESS, ALICE, u(1))
        .unwrap_err();
    assert!(e.message().contains("ERC-721"), "{e}");
    n.transfer_erc1155(MULTI, OPERATOR, ZERO_ADDRESS, ALICE, u(1), u(5))
        .unwrap();
    // The second move of the batch is short: none is made.
    let e = n
        .transfer_erc1155_batch(MULTI, OPERATOR, ALICE, BOB, &[u(1), u(1)], &[u(3), u(3)])
        .unwrap_err();
    assert!(e.message().contains("holds 2"), "{e}");
    assert!(n
        .transfer_erc1155_batch(MULTI, OPERATOR, ALICE, BOB, &[u(1)], &[])
        .is_err());
    n.mine(1);
    assert_eq!(n.erc20_balance(TOKEN, ALICE, None).unwrap(), u(10));
    assert_eq!(n.erc1155_balance(MULTI, ALICE, u(1), None).unwrap(), u(5));
    assert_eq!(n.erc1155_balance(MULTI, BOB, u(1), None).unwrap(), u(0));
    let rpc = Rpc::new(&d);
    assert_eq!(rpc.ok_logs(json!({})).await.len(), 3, "one log a move made");
}

#[tokio::test]
async fn filters_by_address_topics_and_blocks_as_geth_does() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(10)).unwrap(); // 100
    n.mine(1);
    n.transfer_erc721(NFT, ZERO_ADDRESS, BOB, u(3)).unwrap(); // 101
    n.transfer_erc20(TOKEN, ALICE, BOB, u(4)).unwrap();
    n.mine(1);
    n.transfer_erc1155(MULTI, OPERATOR, ZERO_ADDRESS, CAROL, u(9), u(1))
        .unwrap(); // 102
    n.mine(3); // tip 104
    let count = |f: Value| {
        let rpc = &rpc;
        async move { rpc.ok_logs(f).await.len() }
    };
    let transfer = sig::<ITransfers::Transfer>();
    assert_eq!(count(json!({})).await, 0, "latest only by default");
    assert_eq!(count(json!({"fromBlock": "0x0"})).await, 4);
    assert_eq!(
        count(json!({"fromBlock": "0x65", "toBlock": "0x65"})).await,
        2
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "address": TOKEN})).await,
        2
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "address": [TOKEN, NFT]})).await,
        3
    );
    assert_eq!(count(json!({"fromBlock": "0x0", "address": []})).await, 4);
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [transfer]})).await,
        3
    );
    // A fourth position, even a wildcard, matches only logs with four topics: ERC-721's
    // Transfer and ERC-1155's.
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [transfer, null, null, null]})).await,
        1
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [null, null, null, null]})).await,
        2
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [[sig::<ITransfers::TransferSingle>(), sig::<ITransfers::TransferBatch>()]]})).await,
        1
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [null, word(ZERO_ADDRESS)]})).await,
        2,
        "from zero: ERC-20 and 721 mints"
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [null, null, [word(BOB), word(CAROL)]]})).await,
        2
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": [null, null, [word(BOB), null]]})).await,
        4
    );
    assert_eq!(
        count(json!({"fromBlock": "0x0", "topics": null, "address": null})).await,
        4
    );
    // In a batch, each answer under its own id (in a shuffled order).
    let (status, _, answers) = rpc
        .post(
            json!([
                {"jsonrpc": "2.0", "id": "logs", "method": "eth_getLogs", "params": [{"fromBlock": "0x0", "address": TOKEN}]},
                {"jsonrpc": "2.0", "id": 7, "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": [1], "method": "eth_getLogs", "params": [{}]},
                {"jsonrpc": "2.0", "method": "eth_getLogs", "params": [{}]},
                {"jsonrpc": "2.0", "id": null, "method": "eth_getLogs", "params": [{"blockHash": rpc.block_hash(102).await}]}
            ])
            .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answers = answers.as_array().expect("a batch answer").clone();
    assert_eq!(answers.len(), 4, "{answers:?}");
    let by_id = |id: Value| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no answer for {id}"))
            .clone()
    };
    assert_eq!(
        by_id(json!("logs"))["result"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(by_id(json!(7))["result"], "0x1");
    // Two answers have id null: the invalid request's and the logs by hash.
    let nulls: Vec<&Value> = answers.iter().filter(|a| a["id"].is_null()).collect();
    assert_eq!(nulls.len(), 2);
    assert!(nulls.iter().any(|a| a["error"]["code"] == -32600));
    assert!(nulls
        .iter()
        .any(|a| a["result"].as_array().map(Vec::len) == Some(1)));
    // Tags.
    assert_eq!(
        count(json!({"fromBlock": "earliest", "toBlock": "finalized"})).await,
        0
    );
    assert_eq!(
        count(json!({"fromBlock": "earliest", "toBlock": "pending"})).await,
        4
    );
    // By hash: one block.
    let h = rpc.block_hash(101).await;
    let by_hash = rpc.ok_logs(json!({"blockHash": h, "address": TOKEN})).await;
    assert_eq!(by_hash.len(), 1);
    assert_eq!(quantity(&by_hash[0]["logIndex"]), 1);
    // Errors.
    let e = rpc
        .logs(json!({"fromBlock": "0x66", "toBlock": "0x65"}))
        .await
        .unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32000, "invalid block range params"));
    let e = rpc
        .logs(json!({"fromBlock": "0x0", "toBlock": "0x69"}))
        .await
        .unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32000, "header not found"));
    let e = rpc
        .logs(json!({"blockHash": h, "fromBlock": "0x1"}))
        .await
        .unwrap_err();
    assert_eq!(e.0, -32602);
    assert!(
        e.1.contains("cannot specify both BlockHash and FromBlock/ToBlock"),
        "{}",
        e.1
    );
    let e = rpc
        .logs(json!({"blockHash": format!("0x{}", "11".repeat(32))}))
        .await
        .unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32000, "block not found"));
    let e = rpc
        .logs(json!({"topics": [null, null, null, null, null]}))
        .await
        .unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32000, "exceed max topics"));
    for bad in [
        json!({"address": "0x12"}),
        json!({"topics": ["0x12"]}),
        json!({"fromBlock": 5}),
        json!("latest"),
    ] {
        let e = rpc.logs(bad.clone()).await.unwrap_err();
        assert_eq!(e.0, -32602, "{bad}: {e:?}");
        assert!(
            e.1.starts_with("invalid argument 0 (filter)"),
            "{bad}: {e:?}"
        );
    }
    let e = rpc.call("eth_getLogs", json!([])).await.unwrap_err();
    assert_eq!(e.1, "missing value for required argument 0 (filter)");
    let e = rpc.call("eth_getLogs", json!([{}, {}])).await.unwrap_err();
    assert_eq!(e.1, "too many arguments, want at most 1");
    // A lagging replica does not show the blocks it has not seen.
    n.faults().lag_next(1, 3);
    let e = rpc
        .logs(json!({"fromBlock": "0x0", "toBlock": "0x68"}))
        .await
        .unwrap_err();
    assert_eq!(e.1, "header not found");
}

/// Blocks 100..=103 hold 5, 1, 12 and 2 ERC-20 mints (one receiver each); tip 108.
async fn capped_history(d: &Devnet) -> Vec<Value> {
    let n = d.evm();
    let mut receiver = 0u64;
    for per_block in [5, 1, 12, 2] {
        for _ in 0..per_block {
            receiver += 1;
            n.transfer_erc20(
                TOKEN,
                ZERO_ADDRESS,
                &seed_holder_address(receiver),
                u(receiver),
            )
            .unwrap();
        }
        n.mine(1);
    }
    n.mine(5);
    let all = Rpc::new(d)
        .ok_logs(json!({"fromBlock": "0x64", "toBlock": "0x6c"}))
        .await;
    assert_eq!(all.len(), 20);
    all
}

/// The range a refusal names, as a client reads it: `data.from/to`, `[0xA, 0xB]`, or `the
/// range A-B`.
fn suggested(e: &RpcErr) -> Option<(u64, u64)> {
    if let Some(d) = &e.2 {
        if let (Some(a), Some(b)) = (d["from"].as_str(), d["to"].as_str()) {
            let h = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            return Some((h(a), h(b)));
        }
    }
    if let Some(start) = e.1.find('[') {
        let inner = &e.1[start + 1..e.1[start..].find(']')? + start];
        let (a, b) = inner.split_once(',')?;
        let h = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok();
        return Some((h(a)?, h(b)?));
    }
    let rest = e.1.split("retry with the range ").nth(1)?;
    let (a, b) = rest.split_once('-')?;
    Some((a.parse().ok()?, b.trim().parse().ok()?))
}

/// Reads `from..=to` as a client does: a refusal's suggested range next, else half.
async fn read_through(rpc: &Rpc, from: u64, to: u64) -> (Vec<Value>, usize) {
    let (mut got, mut refusals, mut at) = (Vec::new(), 0, from);
    while at <= to {
        let mut hi = to;
        loop {
            match rpc
                .logs(json!({"address": TOKEN, "fromBlock": q(at), "toBlock": q(hi)}))
                .await
            {
                Ok(logs) => {
                    got.extend(logs);
                    at = hi + 1;
                    break;
                }
                Err(e) => {
                    refusals += 1;
                    let next = match suggested(&e) {
                        Some((a, b)) => {
                            assert_eq!(a, at, "{e:?}");
                            b
                        }
                        None => at + (hi - at) / 2,
                    };
                    assert!(next < hi, "no progress: {e:?}");
                    hi = next;
                }
            }
        }
    }
    (got, refusals)
}

#[tokio::test]
async fn caps_are_refused_in_each_providers_shape() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let all = capped_history(&d).await;
    n.set_logs_max_range(Some(3));
    n.set_logs_max_results(Some(6));
    let whole = json!({"address": TOKEN, "fromBlock": "0x64", "toBlock": "0x67"});
    let results_only = json!({"address": TOKEN, "fromBlock": "0x66", "toBlock": "0x67"});
    let range_only = json!({"address": TOKEN, "fromBlock": "0x67", "toBlock": "0x6a"});

    // Infura (the default): -32005, a working range in the message and in data.
    let e = rpc.logs(whole.clone()).await.unwrap_err();
    assert_eq!(e.0, -32005);
    assert_eq!(
        e.1,
        "query returned more than 6 results. Try with this block range [0x64, 0x65]."
    );
    assert_eq!(e.2, Some(json!({"from": "0x64", "limit": 6, "to": "0x65"})));
    assert_eq!(
        rpc.ok_logs(json!({"address": TOKEN, "fromBlock": "0x64", "toBlock": "0x65"}))
            .await
            .len(),
        6
    );
    // Over the result cap within one block: that block is the range that works, and one
    // block is answered whole.
    let e = rpc.logs(results_only.clone()).await.unwrap_err();
    assert_eq!(suggested(&e), Some((102, 102)));
    assert_eq!(
        rpc.ok_logs(json!({"fromBlock": "0x66", "toBlock": "0x66"}))
            .await
            .len(),
        12
    );
    let h = rpc.block_hash(102).await;
    assert_eq!(rpc.ok_logs(json!({"blockHash": h})).await.len(), 12);
    let e = rpc.logs(range_only.clone()).await.unwrap_err();
    assert_eq!(suggested(&e), Some((103, 105)));

    // Alchemy: -32602, the caps shortened, a working range in the message.
    n.set_logs_error_style(LogsErrorStyle::Alchemy);
    let e = rpc.logs(whole.clone()).await.unwrap_err();
    assert_eq!(e.0, -32602);
    assert_eq!(
        e.1,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 3 block \
         range and no limit on the response size, or you can request any block range with a \
         cap of 6 logs in the response. Based on your parameters, this block range should \
         work: [0x64, 0x65]"
    );
    assert_eq!(e.2, None);

    // reth: nothing suggested for too many blocks (checked first); the range in decimal
    // for too many results.
    n.set_logs_error_style(LogsErrorStyle::RangeDash);
    for f in [&whole, &range_only] {
        let e = rpc.logs(f.clone()).await.unwrap_err();
        assert_eq!(
            (e.0, e.1.as_str()),
            (-32602, "query exceeds max block range 3")
        );
        assert_eq!(suggested(&e), None);
    }
    let e = rpc.logs(results_only.clone()).await.unwrap_err();
    assert_eq!(
        (e.0, e.1.as_str()),
        (
            -32602,
            "query exceeds max results 6, retry with the range 102-102"
        )
    );
    let two = json!({"address": TOKEN, "fromBlock": "0x64", "toBlock": "0x66"});
    let e = rpc.logs(two).await.unwrap_err();
    assert_eq!(
        e.1,
        "query exceeds max results 6, retry with the range 100-101"
    );

    // Plain: what is too large, no range.
    n.set_logs_error_style(LogsErrorStyle::Plain);
    let e = rpc.logs(whole.clone()).await.unwrap_err();
    assert_eq!(
        (e.0, e.1.as_str(), e.2),
        (-32600, "block range is too wide (maximum 3)", None)
    );
    let e = rpc.logs(results_only.clone()).await.unwrap_err();
    assert_eq!(
        (e.0, e.1.as_str(), e.2),
        (-32005, "query exceeds max results 6", None)
    );

    // A timeout, whichever cap.
    n.set_logs_error_style(LogsErrorStyle::Timeout);
    for f in [&whole, &results_only, &range_only] {
        let e = rpc.logs(f.clone()).await.unwrap_err();
        assert_eq!(
            (e.0, e.1.as_str(), e.2),
            (-32000, "query timeout exceeded", None)
        );
    }

    // In every shape, a client that follows the suggestion or halves reads the same logs as
    // without limits.
    for style in [
        LogsErrorStyle::Infura,
        LogsErrorStyle::Alchemy,
        LogsErrorStyle::RangeDash,
        LogsErrorStyle::Plain,
        LogsErrorStyle::Timeout,
    ] {
        n.set_logs_error_style(style);
        let (got, refusals) = read_through(&rpc, 0, 108).await;
        assert_eq!(got, all, "{style:?}");
        assert!(refusals > 0, "{style:?}");
    }
    // Each cap alone.
    n.set_logs_max_range(None);
    assert!(rpc.logs(range_only.clone()).await.is_ok());
    assert!(rpc.logs(whole.clone()).await.is_err());
    n.set_logs_max_results(None);
    n.set_logs_max_range(Some(2));
    assert!(
        rpc.logs(results_only.clone()).await.is_ok(),
        "two blocks, no result cap"
    );
    assert!(rpc.logs(range_only.clone()).await.is_err());
    n.set_logs_max_range(None);
    assert_eq!(rpc.ok_logs(json!({"fromBlock": "0x0"})).await.len(), 20);
    let c = n.requests();
    assert!(c.get_logs_refused > 10, "{c:?}");
    assert!(c.get_logs > c.get_logs_refused);
}

#[tokio::test]
async fn log_requests_can_be_throttled_alone() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(1)).unwrap();
    n.mine(1);
    n.faults().set_retry_after_secs(3);
    n.throttle_logs_next(2);
    // Other requests go through.
    assert!(rpc.call("eth_blockNumber", json!([])).await.is_ok());
    let filter = json!([{"fromBlock": "0x0"}]);
    let (status, headers, body) = rpc
        .post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": filter})
                .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers.get("retry-after").unwrap(), "3");
    assert_eq!(body["error"]["code"], -32005);
    // In a batch, the whole request is throttled.
    let (status, _, _) = rpc
        .post(
            json!([
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                {"jsonrpc": "2.0", "id": 2, "method": "eth_getLogs", "params": filter}
            ])
            .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rpc.ok_logs(json!({"fromBlock": "0x0"})).await.len(), 1);

    // In band: -32005 with "rate limit exceeded", or Alchemy's compute units.
    n.set_throttle_style(ThrottleStyle::JsonRpc);
    n.throttle_logs_next(1);
    let e = rpc.logs(json!({"fromBlock": "0x0"})).await.unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32005, "rate limit exceeded"));
    assert_eq!(e.2, Some(json!({"backoff_seconds": 3})));
    n.set_throttle_style(ThrottleStyle::ComputeUnits);
    n.throttle_logs_next(1);
    let e = rpc.logs(json!({"fromBlock": "0x0"})).await.unwrap_err();
    assert_eq!(e.0, -32005);
    assert!(e.1.contains("compute units per second capacity"), "{}", e.1);
    assert_eq!(e.2, None);
    // The general throttle speaks the same way.
    n.faults().throttle_next(1);
    let e = rpc.call("eth_chainId", json!([])).await.unwrap_err();
    assert!(e.1.contains("compute units"), "{}", e.1);
    assert_eq!(rpc.ok_logs(json!({"fromBlock": "0x0"})).await.len(), 1);
    let c = n.requests();
    assert_eq!(c.get_logs_throttled, 4);
    assert_eq!(c.get_logs, 6);
    assert_eq!(c.logs_returned, 2);
    n.reset_requests();
    assert_eq!(n.requests().get_logs, 0);
}

#[tokio::test]
async fn a_reorg_drops_the_logs_of_its_blocks_and_undoes_their_moves() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(100))
        .unwrap(); // 100
    n.transfer_erc721(NFT, ZERO_ADDRESS, ALICE, u(1)).unwrap();
    n.transfer_erc1155(MULTI, OPERATOR, ZERO_ADDRESS, ALICE, u(4), u(8))
        .unwrap();
    n.mine(1);
    n.transfer_erc20(TOKEN, ALICE, BOB, u(40)).unwrap(); // 101
    n.transfer_erc721(NFT, ALICE, BOB, u(1)).unwrap();
    n.transfer_erc1155(MULTI, OPERATOR, ALICE, ZERO_ADDRESS, u(4), u(3))
        .unwrap();
    n.set_erc20_balance(TOKEN, CAROL, u(9)).unwrap();
    n.mine(1);
    n.transfer_erc20(TOKEN, BOB, CAROL, u(1)).unwrap(); // 102, not mined
    let late = "0x00000000000000000000000000000000000000d1";
    n.transfer_erc20(late, ZERO_ADDRESS, ALICE, u(1)).unwrap(); // deploys it at 102
    let old_101 = rpc.block_hash(101).await;
    let before = rpc.ok_logs(json!({"fromBlock": "0x0"})).await;
    assert_eq!(before.len(), 6);
    assert_eq!(
        rpc.ok_logs(json!({"fromBlock": "0x0"})).await,
        before,
        "the same every time"
    );
    assert_eq!(n.reorg(1), Some(101));
    let logs = rpc.ok_logs(json!({"fromBlock": "0x0"})).await;
    assert_eq!(logs, before[..3], "block 100 is untouched");
    assert!(logs.iter().all(|l| quantity(&l["blockNumber"]) == 100));
    let e = rpc.logs(json!({"blockHash": old_101})).await.unwrap_err();
    assert_eq!(e.1, "block not found");
    assert_eq!(n.erc20_balance(TOKEN, ALICE, None).unwrap(), u(100));
    assert_eq!(n.erc20_balance(TOKEN, BOB, None).unwrap(), u(0));
    assert_eq!(
        n.erc721_owner(NFT, u(1), None).unwrap().as_deref(),
        Some(ALICE)
    );
    assert_eq!(n.erc1155_balance(MULTI, ALICE, u(4), None).unwrap(), u(8));
    assert_eq!(n.erc1155_total_supply(MULTI, u(4), None).unwrap(), u(8));
    assert_eq!(n.total_supply(TOKEN, None).unwrap(), u(100));
    assert_eq!(
        n.erc20_balance(TOKEN, CAROL, None).unwrap(),
        u(9),
        "setters stay"
    );
    assert!(
        !n.has_code(late, Some(u64::MAX)).unwrap(),
        "its deployment went too"
    );
    assert!(n.has_code(TOKEN, Some(100)).unwrap());
    n.mine(1);
    assert_eq!(
        n.erc20_balance(TOKEN, CAROL, None).unwrap(),
        u(9),
        "the pending move went too"
    );
    // Moves go on from there.
    n.transfer_erc20(TOKEN, ALICE, BOB, u(1)).unwrap();
    n.mine(1);
    let logs = rpc.ok_logs(json!({"fromBlock": "0x65"})).await;
    assert_eq!(logs.len(), 1);
    assert_eq!(quantity(&logs[0]["blockNumber"]), 103);
}

#[tokio::test]
async fn total_supply_answers_directly_and_inside_aggregate3() {
    let d = small().await;
    let rpc = Rpc::new(&d);
    let n = d.evm();
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, ALICE, u(100))
        .unwrap();
    n.transfer_erc721(NFT, ZERO_ADDRESS, ALICE, u(1)).unwrap();
    n.transfer_erc721(NFT, ZERO_ADDRESS, BOB, u(2)).unwrap();
    n.transfer_erc1155(MULTI, OPERATOR, ZERO_ADDRESS, ALICE, u(5), u(30))
        .unwrap();
    n.mine(1);
    let supply = ITransfers::totalSupplyCall {}.abi_encode();
    let supply_of = |id: u64| IERC1155Supply::totalSupplyCall { id: u(id) }.abi_encode();
    let word = |out: &[u8]| U256::from_be_slice(out);
    assert_eq!(
        word(&rpc.eth_call(TOKEN, &supply, "latest").await.unwrap()),
        u(100)
    );
    assert!(
        rpc.eth_call(TOKEN, &supply, "0x63")
            .await
            .unwrap()
            .is_empty(),
        "no code yet: empty data"
    );
    // ERC-721 and ERC-1155 have it only when told.
    let e = rpc.eth_call(NFT, &supply, "latest").await.unwrap_err();
    assert_eq!((e.0, e.1.as_str()), (-32000, "execution reverted"));
    assert!(rpc.eth_call(MULTI, &supply_of(5), "latest").await.is_err());
    n.set_total_supply_function(NFT, true).unwrap();
    n.set_total_supply_function(MULTI, true).unwrap();
    assert_eq!(
        word(&rpc.eth_call(NFT, &supply, "latest").await.unwrap()),
        u(2)
    );
    assert_eq!(
        word(&rpc.eth_call(MULTI, &supply_of(5), "latest").await.unwrap()),
        u(30)
    );
    assert_eq!(
        word(&rpc.eth_call(MULTI, &supply_of(6), "latest").await.unwrap()),
        u(0)
    );
    n.set_total_supply_function(TOKEN, false).unwrap();
    assert!(rpc.eth_call(TOKEN, &supply, "latest").await.is_err());
    n.set_total_supply_function(TOKEN, true).unwrap();
    assert!(
        n.set_total_supply_function(ALICE, true).is_err(),
        "no contract"
    );
    assert!(n
        .set_total_supply_function(MULTICALL3_ADDRESS, true)
        .is_err());

    // A supply set by hand, for a mismatch; mints count on from it.
    assert_eq!(n.set_total_supply(TOKEN, u(1_000)).unwrap(), 101);
    n.transfer_erc20(TOKEN, ZERO_ADDRESS, BOB, u(1)).unwrap();
    n.set_erc1155_total_supply(MULTI, u(5), u(7)).unwrap();
    assert!(n.set_erc1155_total_supply(TOKEN, u(5), u(7)).is_err());
    assert!(n.set_total_supply(MULTI, u(7)).is_err());
    assert!(n.set_total_supply(BOB, u(7)).is_err());
    n.mine(1);
    let calls = vec![
        IMulticall3::Call3 {
            target: addr(TOKEN),
            allowFailure: false,
            callData: supply.clone().into(),
        },
        IMulticall3::Call3 {
            target: addr(NFT),
            allowFailure: false,
            callData: supply.clone().into(),
        },
        IMulticall3::Call3 {
            target: addr(MULTI),
            allowFailure: false,
            callData: supply_of(5).into(),
        },
        IMulticall3::Call3 {
            target: addr(TOKEN),
            allowFailure: false,
            callData: IBalanceOf::balanceOfCall { owner: addr(BOB) }
                .abi_encode()
                .into(),
        },
        IMulticall3::Call3 {
            target: addr(NFT),
            allowFailure: false,
            callData: IERC721::ownerOfCall { tokenId: u(2) }.abi_encode().into(),
        },
    ];
    let out = rpc
        .eth_call(
            MULTICALL3_ADDRESS,
            &IMulticall3::aggregate3Call { calls }.abi_encode(),
            "latest",
        )
        .await
        .unwrap();
    let results = IMulticall3::aggregate3Call::abi_decode_returns(&out).unwrap();
    let words: Vec<U256> = results
        .iter()
        .take(4)
        .map(|r| word(&r.returnData))
        .collect();
    assert_eq!(words, [u(1_001), u(2), u(7), u(1)]);
    assert_eq!(n.total_supply(TOKEN, Some(100)).unwrap(), u(100));
}

#[tokio::test]
async fn a_seeded_history_has_every_holder_and_its_supply() {
    let d = Devnet::builder()
        .evm_initial_blocks(1_000_001)
        .start()
        .await
        .expect("devnet starts");
    let rpc = Rpc::new(&d);
    let n = d.evm();
    let token = tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT;
    let h = n
        .seed_transfer_history(token, 200_000, 1_000_000, 50_000)
        .unwrap();
    assert_eq!((h.first_block, h.logs, h.holders), (1, 200_000, 50_000));
    assert!(h.last_block <= 1_000_000 && h.last_block > 999_000, "{h:?}");
    assert!(
        n.seed_transfer_history(token, 10, 10, 1).is_err(),
        "already seeded"
    );
    // The creation block, as a bisection on eth_getCode finds it.
    let code = |b: u64| {
        let rpc = &rpc;
        async move { rpc.call("eth_getCode", json!([token, q(b)])).await.unwrap() != "0x" }
    };
    assert!(!code(0).await);
    assert!(code(1).await);
    // Every log, read in ranges of 100,000 blocks.
    let mut candidates = BTreeSet::new();
    let mut logs = 0;
    let mut minted_minus_burned = U256::ZERO;
    let zero = word(ZERO_ADDRESS);
    for start in (0..=1_000_000u64).step_by(100_000) {
        let end = (start + 99_999).min(1_000_000);
        let got = rpc
            .ok_logs(json!({"address": token, "topics": [sig::<ITransfers::Transfer>()], "fromBlock": q(start), "toBlock": q(end)}))
            .await;
        logs += got.len();
        for log in &got {
            let t = topics(log);
            let amount = U256::from_be_slice(&unhex(log["data"].as_str().unwrap()));
            if t[1] == zero {
                minted_minus_burned += amount;
            } else {
                candidates.insert(t[1].clone());
            }
            if t[2] == zero {
                minted_minus_burned -= amount;
            } else {
                candidates.insert(t[2].clone());
            }
        }
    }
    assert_eq!(logs, 200_000);
    assert_eq!(candidates.len(), 50_000);
    assert_eq!(minted_minus_burned, h.total_supply);
    let mut sum = U256::ZERO;
    for i in 0..50_000 {
        let b = n
            .erc20_balance(token, &seed_holder_address(i), None)
            .unwrap();
        assert!(b > U256::ZERO, "holder {i}");
        sum += b;
    }
    assert_eq!(sum, h.total_supply);
    assert_eq!(n.total_supply(token, None).unwrap(), h.total_supply);
    assert_eq!(
        U256::from_be_slice(
            &rpc.eth_call(
                token,
                &ITransfers::totalSupplyCall {}.abi_encode(),
                "latest"
            )
            .await
            .unwrap()
        ),
        h.total_supply
    );
    // A holder's balance at a past block is what the logs up to it say.
    let holder = seed_holder_address(0);
    let mut replay = U256::ZERO;
    for log in rpc
        .ok_logs(json!({"address": token, "fromBlock": "0x0", "toBlock": q(500_000), "topics": [null, null, word(&holder)]}))
        .await
    {
        replay += U256::from_be_slice(&unhex(log["data"].as_str().unwrap()));
    }
    for log in rpc
        .ok_logs(json!({"address": token, "fromBlock": "0x0", "toBlock": q(500_000), "topics": [null, word(&holder)]}))
        .await
    {
        replay -= U256::from_be_slice(&unhex(log["data"].as_str().unwrap()));
    }
    assert_eq!(
        n.erc20_balance(token, &holder, Some(500_000)).unwrap(),
        replay
    );
    assert!(n.requests().logs_returned > 200_000);
    // Under the benchmark's caps, the seeded logs come back through refusals too.
    n.reset_requests();
    n.set_logs_max_results(Some(10_000));
    n.set_logs_max_range(Some(100_000));
    let e = rpc
        .logs(json!({"address": token, "fromBlock": "0x0", "toBlock": q(1_000_000)}))
        .await
        .unwrap_err();
    // Log k is at block 1 + 5k: the 10,001st at 50,001.
    assert_eq!(suggested(&e), Some((0, 50_000)), "{e:?}");
    let first = rpc
        .ok_logs(json!({"address": token, "fromBlock": "0x0", "toBlock": q(50_000)}))
        .await;
    assert_eq!(first.len(), 10_000);
    let c = n.requests();
    assert_eq!(c.get_logs_refused, 1);
    assert_eq!((c.get_logs, c.logs_returned), (2, 10_000));
}

#[tokio::test]
async fn a_million_holders_seed_in_compact_form() {
    let d = Devnet::builder()
        .evm_initial_blocks(1_000_000)
        .start()
        .await
        .expect("devnet starts");
    let n = d.evm();
    let token = tokbal_devnet::SEED_EVM_TRANSFERS_CONTRACT;
    let h = n
        .seed_transfer_history(token, 1_000_000, 1_000_000, 1_000_000)
        .unwrap();
    assert_eq!((h.first_block, h.last_block), (0, 999_999));
    // One log a block, each bringing a new holder.
    let rpc = Rpc::new(&d);
    let logs = rpc
        .ok_logs(json!({"address": token, "fromBlock": q(123_456), "toBlock": q(123_465)}))
        .await;
    assert_eq!(logs.len(), 10);
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(
            topics(log)[2],
            word(&seed_holder_address(123_456 + i as u64))
        );
    }
    for i in [0, 1, 499_999, 999_999] {
        assert!(
            n.erc20_balance(token, &seed_holder_address(i), None)
                .unwrap()
                > U256::ZERO
        );
    }
    assert_eq!(
        n.erc20_balance(token, &seed_holder_address(1_000_000), None)
            .unwrap(),
        U256::ZERO
    );
    for bad in [
        (10, 10, 0),
        (10, 10, 11),
        (10, 0, 1),
        (10, 1_000_001, 1),
        (100_000_001, 10, 1),
    ] {
        assert!(
            n.seed_transfer_history(ALICE, bad.0, bad.1, bad.2).is_err(),
            "{bad:?}"
        );
    }
}
