//! The EVM source against a real node: anvil (tests/common/anvil.rs), every read checked
//! against the amounts the test put on chain, at the blocks the test mined.
//!
//! Between tokbal and anvil sits, where a test needs to see the traffic, a small recording
//! proxy on 127.0.0.1 ([`Recorder`]): it forwards every HTTP request as it is and keeps its
//! JSON body, so that a test can say how many `eth_call`s went out, to whom, with which block
//! parameter, and how large the JSON-RPC batches were.
//!
//! Every test starts its own anvil (and skips, with a note, where there is none outside CI).

#[path = "common/anvil.rs"]
mod anvil;

use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy_primitives::{address, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use anvil::{Anvil, Multicall3, CHAIN_ID, DEV_ACCOUNT, MULTICALL3};
use serde_json::{json, Value};
use tokbal::pin::NetworkSnapshot;
use tokbal::retry::RetryPolicy;
use tokbal::{
    At, Balance, BatchOutput, Client, ClientBuilder, Error, ErrorKind, Network, Query, Snapshot,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// anvil as tokbal names it.
const NET: Network = Network::Evm(CHAIN_ID);
const HOLDER: Address = address!("1111111111111111111111111111111111111111");
const OTHER: Address = address!("2222222222222222222222222222222222222222");
/// An address with no code anywhere on the chain.
const NO_CODE: Address = address!("3333333333333333333333333333333333333333");
const REVERT_REASON: &str = "tokbal: balanceOf reverted";
const APT: &str = "0x1::aptos_coin::AptosCoin";

/// A block as the harness gives it: number, hash, timestamp.
type Block = (u64, B256, u64);

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

fn erc721(contract: Address) -> String {
    format!("erc721:{contract}")
}

fn erc721_item(contract: Address, id: U256) -> String {
    format!("erc721:{contract}:{id}")
}

fn erc1155(contract: Address, id: U256) -> String {
    format!("erc1155:{contract}:{id}")
}

/// A client with only anvil's chain pointed somewhere of ours: no retries (every answer is
/// looked at as it came), a short timeout, no Aptos key from the environment.
fn builder(url: &str) -> ClientBuilder {
    Client::builder()
        .endpoint(NET, url)
        .aptos_api_key(None)
        .timeout(Duration::from_secs(20))
        .retry_policy(RetryPolicy::none())
}

fn client(url: &str) -> Client {
    builder(url).build().expect("a client")
}

/// The amount of a result that must have succeeded.
fn amount(out: &BatchOutput, i: usize) -> U256 {
    match &out.results[i] {
        Ok(b) => b.amount.as_u256(),
        Err(e) => panic!("result {i}: {e:?}"),
    }
}

fn error(out: &BatchOutput, i: usize) -> &Error {
    match &out.results[i] {
        Ok(b) => panic!("result {i}: a balance {b:?} where an error was expected"),
        Err(e) => e,
    }
}

/// What `network` was read at.
fn snapshot_of(out: &BatchOutput, network: Network) -> NetworkSnapshot {
    out.snapshot
        .networks()
        .find(|(n, _)| *n == network)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| panic!("no {network} in the snapshot {:?}", out.snapshot))
}

/// The next block anvil mines (by a transaction or `evm_mine`) is stamped `t`.
async fn next_block_at(node: &Anvil, t: u64) {
    node.rpc_ok("evm_setNextBlockTimestamp", json!([t])).await;
}

fn time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Checks every result against `expected` (in order), each read at `block`, and the snapshot
/// naming that block with `hash` and timestamp `timestamp`.
fn assert_read_at(out: &BatchOutput, expected: &[(Query, U256)], block: Block) {
    assert_eq!(out.results.len(), expected.len());
    assert_results_at(&out.snapshot, &out.results, expected, block);
}

/// [`assert_read_at`] for part of a batch's results.
fn assert_results_at(
    snapshot: &Snapshot,
    results: &[Result<Balance, Error>],
    expected: &[(Query, U256)],
    (block, hash, timestamp): Block,
) {
    assert_eq!(results.len(), expected.len());
    for ((query, want), got) in expected.iter().zip(results) {
        let got = got.as_ref().unwrap_or_else(|e| panic!("{query}: {e:?}"));
        assert_eq!(got.amount.as_u256(), *want, "{query} at block {block}");
        assert_eq!(got.block, Some(block), "{query}: the block it was read at");
        assert_eq!(got.ledger_version, None, "{query}");
    }
    assert_eq!(snapshot.block(NET), Some(block), "{snapshot:?}");
    let s = snapshot
        .networks()
        .find(|(n, _)| *n == NET)
        .map(|(_, s)| s.clone())
        .expect("anvil's network in the snapshot");
    assert_eq!(s.block_hash.as_deref(), Some(hash.to_string().as_str()));
    assert_eq!(s.block_time, Some(time(timestamp)));
    assert_eq!(s.ledger_version, None);
}

// ---------------------------------------------------------------------------------------
// The recording proxy.

/// An HTTP/1.1 proxy on 127.0.0.1 in front of one upstream: forwards each request body as it
/// is and records it (parsed as JSON). Optionally answers the first few requests with HTTP 503
/// instead, without forwarding them. Stops when dropped.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<Value>>>,
    reorg: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Upstream {
    url: String,
    http: reqwest::Client,
    seen: Arc<Mutex<Vec<Value>>>,
    /// Requests still to be refused with 503.
    refuse: Arc<Mutex<usize>>,
    /// Replace the tip block (anvil_rollback 1, then a block 100 s later) before forwarding
    /// the next request that reads state.
    reorg: Arc<AtomicBool>,
}

impl Recorder {
    async fn start(upstream: &str) -> Recorder {
        Self::refusing_first(upstream, 0).await
    }

    /// A recorder that answers its first `refuse` requests with HTTP 503.
    async fn refusing_first(upstream: &str, refuse: usize) -> Recorder {
        tokbal::tls::ensure_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reorg = Arc::new(AtomicBool::new(false));
        let up = Upstream {
            url: upstream.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            seen: Arc::clone(&seen),
            refuse: Arc::new(Mutex::new(refuse)),
            reorg: Arc::clone(&reorg),
        };
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(proxy_connection(socket, up.clone()));
            }
        });
        Recorder {
            url,
            seen,
            reorg,
            task,
        }
    }

    /// Before the next request that reads state goes on, the tip block is replaced by
    /// another at the same height: a reorganization between the pin and the read.
    fn reorg_before_next_read(&self) {
        self.reorg.store(true, Ordering::SeqCst);
    }

    /// Every request body recorded so far (and forgets them).
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

async fn proxy_connection(mut socket: TcpStream, up: Upstream) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 16384];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 16384];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf[head_end..head_end + length].to_vec();
        buf.drain(..head_end + length);
        let refused = {
            let mut left = up.refuse.lock().unwrap();
            let refused = *left > 0;
            *left = left.saturating_sub(1);
            refused
        };
        let reads_state = ["eth_call", "eth_getBalance", "eth_getCode"]
            .iter()
            .any(|m| String::from_utf8_lossy(&body).contains(m));
        if reads_state && up.reorg.swap(false, Ordering::SeqCst) {
            for (method, params) in [
                ("anvil_rollback", json!([1])),
                ("evm_increaseTime", json!([100])),
                ("evm_mine", json!([])),
            ] {
                let answer: Value = up
                    .http
                    .post(&up.url)
                    .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
                    .send()
                    .await
                    .expect("anvil answers")
                    .json()
                    .await
                    .expect("JSON");
                assert!(answer.get("error").is_none(), "{method}: {answer}");
            }
        }
        let (status, answer) = if refused {
            (
                "503 Service Unavailable",
                b"{\"error\":\"down for a moment\"}".to_vec(),
            )
        } else {
            up.seen
                .lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            let response = up
                .http
                .post(&up.url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match response {
                Ok(r) => match r.bytes().await {
                    Ok(b) => ("200 OK", b.to_vec()),
                    Err(_) => return,
                },
                Err(_) => return,
            }
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        if socket.write_all(head.as_bytes()).await.is_err()
            || socket.write_all(&answer).await.is_err()
        {
            return;
        }
    }
}

/// One JSON-RPC call out of the recorded traffic.
#[derive(Clone, Debug)]
struct Sent {
    /// Which HTTP request carried it (0-based) and how many calls that request carried
    /// (`None` for a single call, not a batch).
    request: usize,
    batch_len: Option<usize>,
    method: String,
    params: Value,
}

fn calls(bodies: &[Value]) -> Vec<Sent> {
    let mut out = Vec::new();
    for (request, body) in bodies.iter().enumerate() {
        let (items, batch_len) = match body {
            Value::Array(items) => (items.clone(), Some(items.len())),
            one => (vec![one.clone()], None),
        };
        for item in items {
            out.push(Sent {
                request,
                batch_len,
                method: item["method"].as_str().unwrap_or_default().to_owned(),
                params: item["params"].clone(),
            });
        }
    }
    out
}

fn count(calls: &[Sent], method: &str) -> usize {
    calls.iter().filter(|c| c.method == method).count()
}

/// The calls that read state (balances, contract calls, code).
fn reads(calls: &[Sent]) -> Vec<&Sent> {
    calls
        .iter()
        .filter(|c| ["eth_call", "eth_getBalance", "eth_getCode"].contains(&c.method.as_str()))
        .collect()
}

/// Every read names the pinned block by hash (EIP-1898), canonical required.
fn assert_reads_by_hash(calls: &[Sent], hash: B256) {
    let reads = reads(calls);
    assert!(!reads.is_empty(), "no reads in {calls:?}");
    for c in reads {
        let block = c.params.get(1).unwrap_or(&Value::Null);
        assert_eq!(
            block,
            &json!({"blockHash": hash.to_string(), "requireCanonical": true}),
            "{} {}",
            c.method,
            c.params
        );
    }
}

fn call_target(c: &Sent) -> Address {
    anvil::parse(&c.params[0]["to"], "eth_call target")
}

/// The calls of an `aggregate3` sent to Multicall3.
fn aggregate3_calls(c: &Sent) -> Vec<Multicall3::Call3> {
    let input = c.params[0]
        .get("input")
        .or_else(|| c.params[0].get("data"))
        .unwrap_or_else(|| panic!("no calldata in {}", c.params));
    let input: Bytes = anvil::parse(input, "calldata");
    Multicall3::aggregate3Call::abi_decode(&input)
        .unwrap_or_else(|e| panic!("not an aggregate3 ({e}): {input}"))
        .calls
}

// ---------------------------------------------------------------------------------------
// A chain with a bit of everything.

/// The contracts of [`seed`] and the reads that check them.
struct Seeded {
    erc20: Address,
    erc721: Address,
    erc1155: Address,
    /// Every token kind, with the amounts at the tip once seeded.
    expected: Vec<(Query, U256)>,
}

/// An ERC-1155 id above 2^64, so that ids are carried whole too.
fn big_id() -> U256 {
    pow2(160) + U256::from(5)
}

/// Deploys the three token contracts and gives HOLDER and OTHER every kind of holding:
/// native 2^100 + 7 and 0; ERC-20 2^200 + 1 and 0; ERC-721 items 7 and 8 (HOLDER) and 9
/// (OTHER), item 10 minted to HOLDER and burnt; ERC-1155 id 2^160 + 5: 2^130 + 3 and 0.
async fn seed(node: &Anvil) -> Seeded {
    let erc20_c = node.deploy("TestERC20").await;
    let erc721_c = node.deploy("TestERC721").await;
    let erc1155_c = node.deploy("TestERC1155").await;
    node.set_native_balance(HOLDER, pow2(100) + U256::from(7))
        .await;
    node.mint_erc20(erc20_c, HOLDER, pow2(200) + U256::from(1))
        .await;
    for (to, id) in [(HOLDER, 7u64), (HOLDER, 8), (OTHER, 9), (HOLDER, 10)] {
        node.mint_erc721(erc721_c, to, U256::from(id)).await;
    }
    node.burn_erc721(erc721_c, U256::from(10)).await;
    node.mint_erc1155(erc1155_c, HOLDER, big_id(), pow2(130) + U256::from(3))
        .await;
    let id = |n: u64| U256::from(n);
    let expected = vec![
        (evm(HOLDER, ""), pow2(100) + U256::from(7)),
        (evm(OTHER, ""), U256::ZERO),
        (evm(HOLDER, &erc20(erc20_c)), pow2(200) + U256::from(1)),
        (evm(OTHER, &erc20(erc20_c)), U256::ZERO),
        // ERC-721 items: owned, owned by another, never minted, burnt.
        (evm(HOLDER, &erc721_item(erc721_c, id(7))), U256::ONE),
        (evm(HOLDER, &erc721_item(erc721_c, id(9))), U256::ZERO),
        (evm(OTHER, &erc721_item(erc721_c, id(9))), U256::ONE),
        (evm(HOLDER, &erc721_item(erc721_c, id(12345))), U256::ZERO),
        (evm(HOLDER, &erc721_item(erc721_c, id(10))), U256::ZERO),
        // ERC-721 collections: how many items each holds.
        (evm(HOLDER, &erc721(erc721_c)), U256::from(2)),
        (evm(OTHER, &erc721(erc721_c)), U256::ONE),
        (
            evm(HOLDER, &erc1155(erc1155_c, big_id())),
            pow2(130) + U256::from(3),
        ),
        (
            evm(HOLDER, &erc1155(erc1155_c, big_id() + U256::ONE)),
            U256::ZERO,
        ),
        (evm(OTHER, &erc1155(erc1155_c, big_id())), U256::ZERO),
    ];
    Seeded {
        erc20: erc20_c,
        erc721: erc721_c,
        erc1155: erc1155_c,
        expected,
    }
}

/// `expected` plus the dev account's native balance at the tip, as the node itself tells it
/// (it paid gas: no round number).
async fn with_dev_account(node: &Anvil, mut expected: Vec<(Query, U256)>) -> Vec<(Query, U256)> {
    let (tip, _, _) = node.tip().await;
    expected.push((
        evm(DEV_ACCOUNT, ""),
        node.native_balance(DEV_ACCOUNT, tip).await,
    ));
    expected
}

fn queries(expected: &[(Query, U256)]) -> Vec<Query> {
    expected.iter().map(|(q, _)| q.clone()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Every token kind at the latest block, through Multicall3.

#[tokio::test]
async fn every_token_kind_at_the_latest_block_through_multicall3() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let seeded = seed(&node).await;
    let expected = with_dev_account(&node, seeded.expected).await;
    let proxy = Recorder::start(node.url()).await;
    let client = client(&proxy.url);

    let out = client.balances(&queries(&expected), At::Latest).await;
    let tip = node.tip().await;
    assert_read_at(&out, &expected, tip);
    let s = snapshot_of(&out, NET);
    assert!(!s.finalized && !s.at_tip && s.at.is_none(), "{s:?}");

    // One chain id check, one block, one eth_call to Multicall3 by the block's hash
    // carrying every query; nothing read on its own.
    let sent = calls(&proxy.take());
    let methods: Vec<&str> = sent.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["eth_chainId", "eth_getBlockByNumber", "eth_call"],
        "{sent:?}"
    );
    assert_eq!(sent[1].params, json!(["latest", false]));
    assert_eq!(call_target(&sent[2]), MULTICALL3);
    assert_eq!(aggregate3_calls(&sent[2]).len(), expected.len());
    assert_reads_by_hash(&sent, tip.1);

    // The chain id is checked once per client: the next batch pins and reads only.
    let again = client.balances(&queries(&expected), At::Latest).await;
    assert_read_at(&again, &expected, tip);
    let sent = calls(&proxy.take());
    assert_eq!(count(&sent, "eth_chainId"), 0, "{sent:?}");
    assert_eq!(count(&sent, "eth_call"), 1, "{sent:?}");
}

// ---------------------------------------------------------------------------------------
// 2. Balances at two blocks, found by time.

#[tokio::test]
async fn reads_at_a_time_take_the_last_block_at_or_before_it() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node.deploy("TestERC20").await;
    let nft = node.deploy("TestERC721").await;
    let multi = node.deploy("TestERC1155").await;
    let (_, _, genesis_time) = node.block(0).await;

    // Block A at t1 holds nothing for HOLDER.
    let t1 = genesis_time + 10_000;
    let (a, a_hash) = node.mine_at(t1).await;
    // Four blocks all stamped t2 (an hour later) change every kind of holding; B is the
    // last of them.
    let t2 = t1 + 3_600;
    next_block_at(&node, t2).await;
    let m1 = node.mint_erc20(token, HOLDER, pow2(200) + U256::ONE).await;
    next_block_at(&node, t2).await;
    let m2 = node.mint_erc721(nft, HOLDER, U256::from(42)).await;
    next_block_at(&node, t2).await;
    let m3 = node
        .mint_erc1155(multi, HOLDER, U256::from(3), pow2(129))
        .await;
    next_block_at(&node, t2).await;
    let (b, b_hash) = node.set_native_balance(HOLDER, pow2(90)).await;
    for n in [m1.block, m2.block, m3.block, b] {
        assert_eq!(node.block(n).await.2, t2, "block {n} not at t2");
    }
    assert!(a < m1.block && m3.block < b);
    // C, the tip, an hour later again, with one more ERC-20 unit.
    let t3 = t2 + 3_600;
    next_block_at(&node, t3).await;
    let c = node.mint_erc20(token, HOLDER, U256::ONE).await;
    assert_eq!(node.tip().await, (c.block, c.block_hash, t3));

    let kinds = [
        evm(HOLDER, ""),
        evm(HOLDER, &erc20(token)),
        evm(HOLDER, &erc721_item(nft, U256::from(42))),
        evm(HOLDER, &erc721(nft)),
        evm(HOLDER, &erc1155(multi, U256::from(3))),
    ];
    let at_a = [U256::ZERO; 5];
    let at_b = [
        pow2(90),
        pow2(200) + U256::ONE,
        U256::ONE,
        U256::ONE,
        pow2(129),
    ];
    let mut at_c = at_b;
    at_c[1] += U256::ONE;
    let expect =
        |values: [U256; 5]| -> Vec<(Query, U256)> { kinds.iter().cloned().zip(values).collect() };

    let client = client(node.url());
    let cases: [(&str, SystemTime, Block, [U256; 5], bool); 7] = [
        ("exactly t1", time(t1), (a, a_hash, t1), at_a, false),
        (
            "between A and B",
            time(t1 + 1_800),
            (a, a_hash, t1),
            at_a,
            false,
        ),
        (
            "a second before B",
            time(t2 - 1),
            (a, a_hash, t1),
            at_a,
            false,
        ),
        ("exactly t2", time(t2), (b, b_hash, t2), at_b, false),
        (
            "half a second after t2",
            time(t2) + Duration::from_millis(500),
            (b, b_hash, t2),
            at_b,
            false,
        ),
        (
            "a second before C",
            time(t3 - 1),
            (b, b_hash, t2),
            at_b,
            false,
        ),
        (
            "past the tip",
            time(t3 + 86_400),
            (c.block, c.block_hash, t3),
            at_c,
            true,
        ),
    ];
    for (what, at, block, values, at_tip) in cases {
        let out = client.balances(&kinds, At::Time(at)).await;
        let expected = expect(values);
        assert_read_at(&out, &expected, block);
        let s = snapshot_of(&out, NET);
        assert_eq!(s.at, Some(at), "{what}: the instant asked for");
        assert_eq!(s.at_tip, at_tip, "{what}: {s:?}");
        assert!(!s.finalized, "{what}");
    }

    // The same blocks chosen by number.
    for (block, values) in [((a, a_hash, t1), at_a), ((b, b_hash, t2), at_b)] {
        let chosen = At::Blocks(BTreeMap::from([(NET, block.0)]));
        let out = client.balances(&kinds, chosen).await;
        assert_read_at(&out, &expect(values), block);
        let s = snapshot_of(&out, NET);
        assert!(s.at.is_none() && !s.at_tip && !s.finalized, "{s:?}");
    }
    // A block the chain does not have yet: an error for every query, no value.
    let out = client
        .balances(&kinds, At::Blocks(BTreeMap::from([(NET, c.block + 1)])))
        .await;
    for (i, query) in kinds.iter().enumerate() {
        let e = error(&out, i);
        assert_eq!(e.kind(), ErrorKind::NotYetAvailable, "{query}: {e:?}");
    }

    // Before the first block: an error for every query, and no block in the snapshot.
    let out = client
        .balances(&kinds, At::Time(time(genesis_time - 1_000)))
        .await;
    for (i, query) in kinds.iter().enumerate() {
        let e = error(&out, i);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{query}: {e:?}");
        assert!(e.message().contains("before"), "{query}: {e}");
    }
    assert_eq!(out.snapshot.block(NET), None, "{:?}", out.snapshot);
}

// ---------------------------------------------------------------------------------------
// 3. Without Multicall3: JSON-RPC batches.

#[tokio::test]
async fn without_multicall3_the_same_reads_go_as_json_rpc_batches() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    // No Multicall3 on this chain.
    assert!(node.code(MULTICALL3).await.is_empty());
    let seeded = seed(&node).await;
    let expected = with_dev_account(&node, seeded.expected).await;
    assert!(expected.len() >= 10, "{} queries", expected.len());
    let natives = expected
        .iter()
        .filter(|(q, _)| q.token() == &tokbal::query::Token::Native)
        .count();
    let proxy = Recorder::start(node.url()).await;
    let client = builder(&proxy.url)
        .evm_batch_size(3)
        .build()
        .expect("a client");

    let out = client.balances(&queries(&expected), At::Latest).await;
    let tip = node.tip().await;
    assert_read_at(&out, &expected, tip);

    let sent = calls(&proxy.take());
    assert_reads_by_hash(&sent, tip.1);
    // Multicall3 tried once (it answers nothing: no code), then every query in batches of
    // at most 3: eth_getBalance for the native coin, eth_call to the token itself.
    let to_multicall: Vec<&Sent> = sent
        .iter()
        .filter(|c| c.method == "eth_call" && call_target(c) == MULTICALL3)
        .collect();
    assert_eq!(to_multicall.len(), 1, "{sent:?}");
    assert_eq!(count(&sent, "eth_getBalance"), natives, "{sent:?}");
    assert_eq!(
        count(&sent, "eth_call"),
        1 + expected.len() - natives,
        "{sent:?}"
    );
    assert_eq!(count(&sent, "eth_getCode"), 0, "{sent:?}");
    let mut per_request: BTreeMap<usize, usize> = BTreeMap::new();
    for c in sent.iter().filter(|c| {
        c.request > to_multicall[0].request && reads(std::slice::from_ref(c)).len() == 1
    }) {
        assert!(c.batch_len.unwrap_or(1) <= 3, "{c:?}");
        *per_request.entry(c.request).or_default() += 1;
    }
    assert_eq!(
        per_request.values().sum::<usize>(),
        expected.len(),
        "{per_request:?}"
    );
    assert_eq!(
        per_request.len(),
        expected.len().div_ceil(3),
        "requests of at most 3 calls: {per_request:?}"
    );

    // Once Multicall3 is there, reads at the new tip go through it (Multicall3's presence is
    // known per block), with the same amounts.
    node.deploy_multicall3().await;
    let expected = with_dev_account(&node, expected[..expected.len() - 1].to_vec()).await;
    let out = client.balances(&queries(&expected), At::Latest).await;
    let tip = node.tip().await;
    assert_read_at(&out, &expected, tip);
    let sent = calls(&proxy.take());
    assert_eq!(count(&sent, "eth_call"), 1, "{sent:?}");
    assert_eq!(count(&sent, "eth_getBalance"), 0, "{sent:?}");
    assert_reads_by_hash(&sent, tip.1);
}

// ---------------------------------------------------------------------------------------
// 4. A wrong chain id.

#[tokio::test]
async fn an_endpoint_serving_another_chain_fails_every_query_of_the_network() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let seeded = seed(&node).await;
    // Base (chain id 8453) pointed at anvil (31337), through the recorder; anvil's own
    // network pointed at it directly.
    let proxy = Recorder::start(node.url()).await;
    let client = builder(node.url())
        .endpoint(Network::Base, &proxy.url)
        .build()
        .expect("a client");
    let base = |token: &str| {
        if token.is_empty() {
            q(&format!("base:{HOLDER}"))
        } else {
            q(&format!("base:{HOLDER}/{token}"))
        }
    };
    let mut batch = vec![
        base(""),
        base(&erc20(seeded.erc20)),
        base(&erc721_item(seeded.erc721, U256::from(7))),
        base(&erc1155(seeded.erc1155, big_id())),
    ];
    let base_count = batch.len();
    batch.extend(queries(&seeded.expected));

    for round in 0..2 {
        let out = client.balances(&batch, At::Latest).await;
        for (i, query) in batch[..base_count].iter().enumerate() {
            let e = error(&out, i);
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{query}: {e:?}");
            assert_eq!(e.code(), Some("wrong_chain_id"), "{query}: {e:?}");
            assert_eq!(e.backend(), Some(tokbal::Backend::Evm));
            let message = e.message();
            assert!(
                message.contains("31337") && message.contains("8453"),
                "round {round}, {query}: {message}"
            );
        }
        assert_eq!(
            out.snapshot.block(Network::Base),
            None,
            "{:?}",
            out.snapshot
        );
        // The right network in the same batch reads as ever.
        let tip = node.tip().await;
        assert_results_at(
            &out.snapshot,
            &out.results[base_count..],
            &seeded.expected,
            tip,
        );
    }
    // The wrong endpoint was asked its chain id once, in one request with the latest block
    // (which pins nothing once the id is wrong), and no balance, over both batches.
    let sent = calls(&proxy.take());
    let methods: Vec<&str> = sent.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["eth_chainId", "eth_getBlockByNumber"], "{sent:?}");
    assert!(
        sent.iter()
            .all(|c| c.request == 0 && c.batch_len == Some(2)),
        "{sent:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 5. One bad item never sinks the others.

#[tokio::test]
async fn bad_contracts_fail_alone_with_their_own_error() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let seeded = seed(&node).await;
    let reverting = node.deploy("Reverting").await;
    let short = node.deploy("ShortReturn").await;
    assert!(node.code(NO_CODE).await.is_empty());

    let good = seeded.expected;
    let bad = [
        (evm(HOLDER, &erc20(NO_CODE)), "no code"),
        (evm(HOLDER, &erc721(NO_CODE)), "no code"),
        (evm(HOLDER, &erc721_item(NO_CODE, U256::ONE)), "no code"),
        (evm(HOLDER, &erc1155(NO_CODE, U256::ONE)), "no code"),
        (evm(HOLDER, &erc20(reverting)), "revert"),
        (evm(OTHER, &erc721(reverting)), "revert"),
        (evm(HOLDER, &erc1155(reverting, U256::from(5))), "revert"),
        (evm(HOLDER, &erc20(short)), "short"),
        (evm(HOLDER, &erc1155(short, U256::from(5))), "short"),
    ];
    // Bad and good interleaved.
    let mut batch: Vec<Query> = Vec::new();
    let mut want: Vec<Result<U256, &str>> = Vec::new();
    for i in 0..good.len().max(bad.len()) {
        if let Some((query, bad)) = bad.get(i) {
            batch.push(query.clone());
            want.push(Err(bad));
        }
        if let Some((query, amount)) = good.get(i) {
            batch.push(query.clone());
            want.push(Ok(*amount));
        }
    }

    // First through JSON-RPC batches (no Multicall3 yet), then, Multicall3 deployed, through
    // it: the same answers either way.
    let client = builder(node.url())
        .evm_batch_size(4)
        .build()
        .expect("a client");
    for mode in ["batches", "multicall3"] {
        if mode == "multicall3" {
            node.deploy_multicall3().await;
        }
        let out = client.balances(&batch, At::Latest).await;
        let (tip, _, _) = node.tip().await;
        assert_eq!(out.snapshot.block(NET), Some(tip), "{mode}");
        for (i, (query, want)) in batch.iter().zip(&want).enumerate() {
            match want {
                Ok(amount) => {
                    let b = out.results[i]
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{mode}: {query}: {e:?}"));
                    assert_eq!(b.amount.as_u256(), *amount, "{mode}: {query}");
                    assert_eq!(b.block, Some(tip), "{mode}: {query}");
                }
                Err(what) => {
                    let e = error(&out, i);
                    let (kind, needle) = match *what {
                        "no code" => (ErrorKind::NotFound, "no contract"),
                        "revert" => (ErrorKind::Unsupported, REVERT_REASON),
                        _ => (ErrorKind::Decode, "4 bytes"),
                    };
                    assert_eq!(e.kind(), kind, "{mode}: {query}: {e:?}");
                    assert!(e.message().contains(needle), "{mode}: {query}: {e}");
                    assert_eq!(e.backend(), Some(tokbal::Backend::Evm), "{mode}: {query}");
                    if *what == "revert" {
                        assert_eq!(e.code(), Some("execution_reverted"), "{mode}: {query}");
                    }
                    if *what == "no code" {
                        assert!(
                            e.message().contains(&format!("block {tip}")),
                            "{mode}: {query}: the block is named: {e}"
                        );
                    }
                }
            }
        }
    }
}

/// The same mix on one client at two exact blocks found by time: X, before Multicall3 existed
/// (JSON-RPC batches of at most 2), and Y, after (one `aggregate3`); the codeless contract's
/// empty answer explained by one `eth_getCode` at the pinned block each time.
#[tokio::test]
async fn bad_contracts_fail_alone_at_exact_blocks_either_way() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let token = node.deploy("TestERC20").await;
    let reverting = node.deploy("Reverting").await;
    let short = node.deploy("ShortReturn").await;
    node.mint_erc20(token, HOLDER, pow2(200) + U256::ONE).await;
    let (_, _, now) = node.tip().await;
    // X: a block of its own second, without Multicall3; Y, a later second, with it.
    let (x, x_hash) = node.mine_at(now + 100).await;
    next_block_at(&node, now + 200).await;
    node.deploy_multicall3().await;
    let (y, y_hash) = node.mine_at(now + 300).await;

    let batch = [
        evm(HOLDER, &erc20(NO_CODE)),
        evm(HOLDER, &erc20(token)),
        evm(HOLDER, &erc20(reverting)),
        evm(HOLDER, ""),
        evm(HOLDER, &erc20(short)),
        evm(OTHER, &erc20(token)),
    ];
    let proxy = Recorder::start(node.url()).await;
    let client = builder(&proxy.url)
        .evm_batch_size(2)
        .build()
        .expect("a client");
    for (mode, at, block, hash) in [
        ("batches", now + 100, x, x_hash),
        ("multicall3", now + 300, y, y_hash),
    ] {
        let out = client.balances(&batch, At::Time(time(at))).await;
        assert_eq!(out.snapshot.block(NET), Some(block), "{mode}");
        let e = error(&out, 0);
        assert_eq!(e.kind(), ErrorKind::NotFound, "{mode}: {e:?}");
        assert!(e.message().contains(&block.to_string()), "{mode}: {e}");
        assert_eq!(amount(&out, 1), pow2(200) + U256::ONE, "{mode}");
        let e = error(&out, 2);
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode}: {e:?}");
        assert_eq!(e.code(), Some("execution_reverted"), "{mode}: {e:?}");
        assert!(e.message().contains(REVERT_REASON), "{mode}: {e}");
        assert_eq!(amount(&out, 3), U256::ZERO, "{mode}");
        assert_eq!(error(&out, 4).kind(), ErrorKind::Decode, "{mode}");
        assert_eq!(amount(&out, 5), U256::ZERO, "{mode}");
        for r in out.results.iter().flatten() {
            assert_eq!(r.block, Some(block), "{mode}");
        }
        let sent = calls(&proxy.take());
        assert_reads_by_hash(&sent, hash);
        // The empty answer from the codeless address is explained by its code, once.
        assert_eq!(count(&sent, "eth_getCode"), 1, "{mode}: {sent:?}");
        let to_multicall = sent
            .iter()
            .filter(|c| c.method == "eth_call" && call_target(c) == MULTICALL3)
            .count();
        assert_eq!(to_multicall, 1, "{mode}: {sent:?}");
        if mode == "batches" {
            assert_eq!(count(&sent, "eth_getBalance"), 1, "{mode}: {sent:?}");
            assert!(
                sent.iter().all(|c| c.batch_len.unwrap_or(1) <= 2),
                "{mode}: {sent:?}"
            );
        } else {
            assert_eq!(count(&sent, "eth_getBalance"), 0, "{mode}: {sent:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. 1,000 queries across the Aptos devnet and anvil.

/// A small deterministic generator (an LCG), so that the mix is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Evm(U256),
    Aptos(u64),
}

#[tokio::test]
async fn a_thousand_queries_across_the_aptos_devnet_and_anvil() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    let devnet = tokbal_devnet::Devnet::builder()
        .start()
        .await
        .expect("the devnet starts");
    node.deploy_multicall3().await;
    let token = node.deploy("TestERC20").await;
    let nft = node.deploy("TestERC721").await;
    let multi = node.deploy("TestERC1155").await;

    // Ten holders; H9 holds nothing of any token.
    let holders: Vec<Address> = (0..10u8).map(|i| Address::repeat_byte(0x40 + i)).collect();
    let mut distinct: Vec<(Query, U256)> = Vec::new();
    let mut nft_count = [0u64; 10];
    for id in 0..20u64 {
        let to = (id % 9) as usize;
        node.mint_erc721(nft, holders[to], U256::from(id)).await;
        nft_count[to] += 1;
    }
    for (i, &h) in holders.iter().enumerate() {
        let k = U256::from(i as u64);
        let native = pow2(128) + k * U256::from(1_000_003u64) + U256::ONE;
        node.set_native_balance(h, native).await;
        let erc20_amount = if i < 9 {
            let a = pow2(200) + k + U256::ONE;
            node.mint_erc20(token, h, a).await;
            a
        } else {
            U256::ZERO
        };
        let id1 = if i % 2 == 0 {
            let a = pow2(130) + k;
            node.mint_erc1155(multi, h, U256::from(1), a).await;
            a
        } else {
            U256::ZERO
        };
        let id2 = if i < 5 {
            let a = k + U256::ONE;
            node.mint_erc1155(multi, h, U256::from(2), a).await;
            a
        } else {
            U256::ZERO
        };
        distinct.push((evm(h, ""), native));
        distinct.push((evm(h, &erc20(token)), erc20_amount));
        distinct.push((evm(h, &erc721(nft)), U256::from(nft_count[i])));
        distinct.push((evm(h, &erc1155(multi, U256::from(1))), id1));
        distinct.push((evm(h, &erc1155(multi, U256::from(2))), id2));
        for id in 0..20u64 {
            let owned = (id % 9) as usize == i;
            distinct.push((
                evm(h, &erc721_item(nft, U256::from(id))),
                U256::from(u64::from(owned)),
            ));
        }
    }
    assert_eq!(distinct.len(), 250);

    // Forty Aptos owners, each with APT and a fungible asset.
    let aptos = devnet.aptos();
    let mut aptos_distinct: Vec<(Query, u64)> = Vec::new();
    for i in 0..40u64 {
        let owner = format!("0x{:x}", 0xa000 + i);
        let apt = 1_000_000_007 * (i + 1);
        let fa = (i << 40) | 3;
        aptos.set_balance(&owner, APT, apt).expect("APT");
        aptos.set_balance(&owner, "0xfa", fa).expect("FA");
        aptos_distinct.push((q(&format!("aptos:{owner}")), apt));
        aptos_distinct.push((q(&format!("aptos:{owner}/0xfa")), fa));
    }

    // 600 EVM queries (each distinct one at least once) and 400 Aptos ones (likewise),
    // shuffled together.
    let mut rng = Lcg(0x5eed);
    let mut mix: Vec<(Query, Expect)> = Vec::with_capacity(1000);
    for i in 0..600 {
        let (query, v) = &distinct[if i < distinct.len() {
            i
        } else {
            rng.below(distinct.len())
        }];
        mix.push((query.clone(), Expect::Evm(*v)));
    }
    for i in 0..400 {
        let (query, v) = &aptos_distinct[if i < aptos_distinct.len() {
            i
        } else {
            rng.below(aptos_distinct.len())
        }];
        mix.push((query.clone(), Expect::Aptos(*v)));
    }
    rng.shuffle(&mut mix);
    assert_eq!(mix.len(), 1000);

    let proxy = Recorder::start(node.url()).await;
    let client = builder(&proxy.url)
        .aptos_url(devnet.aptos_url())
        .evm_calls_per_request(100)
        .build()
        .expect("a client");
    let batch: Vec<Query> = mix.iter().map(|(q, _)| q.clone()).collect();
    let started = std::time::Instant::now();
    let out = client.balances(&batch, At::Latest).await;
    eprintln!("1,000 queries read in {:?}", started.elapsed());

    assert_eq!(out.results.len(), 1000);
    let (tip, tip_hash, _) = node.tip().await;
    assert_eq!(out.snapshot.block(NET), Some(tip));
    let version = out
        .snapshot
        .aptos_version(Network::AptosMainnet)
        .expect("an Aptos version in the snapshot");
    for (i, ((query, want), got)) in mix.iter().zip(&out.results).enumerate() {
        let got = got
            .as_ref()
            .unwrap_or_else(|e| panic!("#{i} {query}: {e:?}"));
        match want {
            Expect::Evm(v) => {
                assert_eq!(got.amount.as_u256(), *v, "#{i} {query}");
                assert_eq!(got.block, Some(tip), "#{i} {query}");
                assert_eq!(got.ledger_version, None, "#{i} {query}");
            }
            Expect::Aptos(v) => {
                assert_eq!(got.amount.to_u64(), Some(*v), "#{i} {query}");
                assert_eq!(got.ledger_version, Some(version), "#{i} {query}");
                assert_eq!(got.block, None, "#{i} {query}");
            }
        }
    }

    // 250 distinct EVM reads, K = 100: three eth_calls to Multicall3 (100, 100, 50), all at
    // the pinned block.
    let sent = calls(&proxy.take());
    assert_eq!(count(&sent, "eth_chainId"), 1, "{sent:?}");
    assert_eq!(count(&sent, "eth_getBlockByNumber"), 1, "{sent:?}");
    let mut sizes: Vec<usize> = sent
        .iter()
        .filter(|c| c.method == "eth_call")
        .map(|c| {
            assert_eq!(call_target(c), MULTICALL3);
            aggregate3_calls(c).len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [50, 100, 100], "{sent:?}");
    assert_reads_by_hash(&sent, tip_hash);
    assert_eq!(reads(&sent).len(), 3, "{sent:?}");
}

// ---------------------------------------------------------------------------------------
// 7. At::Finalized.

#[tokio::test]
async fn finalized_reads_the_block_the_node_calls_finalized() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let token = node.deploy("TestERC20").await;
    let minted = node.mint_erc20(token, HOLDER, pow2(200) + U256::ONE).await;
    let client = client(node.url());
    let batch = [evm(HOLDER, &erc20(token)), evm(DEV_ACCOUNT, "")];

    // A young chain: anvil's finalized block is the genesis (it lags the tip by 64 blocks,
    // two epochs of 32 slots), before the token existed.
    let finalized = node
        .rpc_ok("eth_getBlockByNumber", json!(["finalized", false]))
        .await;
    assert_eq!(
        anvil::parse_quantity(&finalized["number"]),
        0,
        "{finalized}"
    );
    let out = client.balances(&batch, At::Finalized).await;
    let s = snapshot_of(&out, NET);
    assert_eq!(s.block, Some(0));
    assert!(s.finalized, "{s:?}");
    assert_eq!(
        s.block_hash.as_deref(),
        Some(node.block(0).await.1.to_string().as_str())
    );
    let e = error(&out, 0);
    assert_eq!(
        e.kind(),
        ErrorKind::NotFound,
        "the token has no code at genesis: {e:?}"
    );
    assert_eq!(amount(&out, 1), node.native_balance(DEV_ACCOUNT, 0).await);
    assert_eq!(out.results[1].as_ref().unwrap().block, Some(0));

    // 64 blocks later the mint's block is the finalized one; a second mint after it is not.
    node.rpc_ok("anvil_mine", json!([anvil::quantity(64)]))
        .await;
    node.mint_erc20(token, HOLDER, U256::from(5)).await;
    let (tip, _, _) = node.tip().await;
    let finalized = node
        .rpc_ok("eth_getBlockByNumber", json!(["finalized", false]))
        .await;
    let f_number = anvil::parse_quantity(&finalized["number"]);
    assert_eq!(f_number, tip - 64, "anvil's finalized lag: {finalized}");
    assert_eq!(f_number, minted.block + 1);
    let f = node.block(f_number).await;

    let out = client.balances(&batch, At::Finalized).await;
    let expected = [
        (batch[0].clone(), pow2(200) + U256::ONE),
        (
            batch[1].clone(),
            node.native_balance(DEV_ACCOUNT, f_number).await,
        ),
    ];
    assert_read_at(&out, &expected, f);
    let s = snapshot_of(&out, NET);
    assert!(s.finalized && !s.at_tip && s.at.is_none(), "{s:?}");

    // The latest block, by contrast, has both mints and is not marked finalized.
    let out = client.balances(&batch, At::Latest).await;
    assert_eq!(amount(&out, 0), pow2(200) + U256::from(6));
    assert_eq!(out.snapshot.block(NET), Some(tip));
    assert!(!snapshot_of(&out, NET).finalized);
}

// ---------------------------------------------------------------------------------------
// Robustness of the chain id check.

/// The chain id check remembers its verdict (a wrong chain stays wrong), but a failure to
/// *ask* (the node down for a moment: one HTTP 503) is not remembered: the next batch asks
/// again and reads.
#[tokio::test]
async fn a_chain_id_check_that_could_not_be_made_is_made_again() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let seeded = seed(&node).await;
    // The first request (the chain id check) meets an HTTP 503.
    let proxy = Recorder::refusing_first(node.url(), 1).await;
    let client = client(&proxy.url);
    let batch = queries(&seeded.expected);

    let out = client.balances(&batch, At::Latest).await;
    for (i, query) in batch.iter().enumerate() {
        let e = error(&out, i);
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{query}: {e:?}");
        assert_eq!(e.status(), Some(503), "{query}: {e:?}");
    }

    // The node is back: the same client reads.
    let out = client.balances(&batch, At::Latest).await;
    let tip = node.tip().await;
    assert_read_at(&out, &seeded.expected, tip);
}

// ---------------------------------------------------------------------------------------
// A reorganization between the pin and the read.

/// The pinned block is replaced between the pin and the read (anvil_rollback, then a new
/// block at the same height). In a stream no query may answer a value, and the error is the
/// library's own `reorged` one: anvil answers a read by the hash of a block it no longer has
/// with -32001 "Resource not found" (the code EIP-1898 recommends), and the hash at the
/// pinned height tells a reorganization from a replica behind. `balances` pins the network
/// again and answers in full at the new block.
#[tokio::test]
async fn a_reorganization_is_named_in_a_stream_and_read_again_in_a_batch() {
    let Some(node) = Anvil::start().await else {
        return;
    };
    node.deploy_multicall3().await;
    let seeded = seed(&node).await;
    let (_, _, now) = node.tip().await;
    let (pinned, pinned_hash) = node.mine_at(now + 10).await;
    let proxy = Recorder::start(node.url()).await;
    let client = client(&proxy.url);
    let batch = queries(&seeded.expected);

    // A stream cannot take back what it yielded: the reads after the reorganization are
    // errors naming it, never values from another block under the pinned block's name.
    proxy.reorg_before_next_read();
    let mut stream = client.balances_stream(batch.clone(), At::Latest);
    let mut streamed = Vec::new();
    while let Some(item) = stream.next().await {
        streamed.push(item);
    }
    let (tip, tip_hash, _) = node.tip().await;
    assert_eq!(tip, pinned, "the replacement is at the same height");
    assert_ne!(tip_hash, pinned_hash, "the block was replaced");
    assert_eq!(stream.snapshot().block(NET), Some(pinned));
    let sent = calls(&proxy.take());
    assert_reads_by_hash(&sent, pinned_hash);
    for (i, r) in &streamed {
        let e = r.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{}: {e:?}", batch[*i]);
        assert_eq!(e.code(), Some("reorged"), "{}: {e:?}", batch[*i]);
    }

    // `balances` pins the network again and reads it again whole: the batch answers in full,
    // at one block, the new one, named in the snapshot.
    let (_, _, now) = node.tip().await;
    let (pinned, pinned_hash) = node.mine_at(now + 10).await;
    proxy.reorg_before_next_read();
    let out = client.balances(&batch, At::Latest).await;
    let new_tip = node.tip().await;
    assert_eq!(new_tip.0, pinned);
    assert_ne!(new_tip.1, pinned_hash, "the block was replaced");
    assert_read_at(&out, &seeded.expected, new_tip);
}
