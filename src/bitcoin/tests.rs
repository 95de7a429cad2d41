//! Tests of [`EsploraClient`] against a canned HTTP server on 127.0.0.1 (the approach of
//! `tests/common/mod.rs`, with a declared length that may lie, for the size limits).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::esplora::net_effect;
use super::generated::types;
use super::*;
use crate::error::ErrorKind;
use crate::retry::{RateLimit, RetryPolicy};
use crate::Transport;

const HASH_A: &str = "000000000000000000026bd6a3fb4ab5b2e8a6a1ed6e1d3e8f5a2a1b7c9d0e1f";
const HASH_B: &str = "00000000000000000001a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
const TXID_1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const TXID_2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const TXID_3: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const ME: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
const OTHER: &str = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";

/// How the canned server delivers a body.
#[derive(Clone, Debug)]
enum Delivery {
    /// The whole body, its length declared.
    Whole,
    /// A declared length of this many bytes, whatever the body is.
    Declared(usize),
    /// The full length declared, this many bytes, then the connection closes.
    CutAfter(usize),
    /// Nothing at all, not even the status line, for an hour.
    Hang,
    /// The full length declared, this many bytes, then nothing for an hour.
    HangAfter(usize),
    /// No declared length: chunked, in chunks of this size.
    Chunked(usize),
}

#[derive(Clone, Debug)]
struct Canned {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delivery: Delivery,
}

impl Canned {
    fn json(value: serde_json::Value) -> Self {
        Canned::raw(200, "application/json", value.to_string())
    }

    fn text(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Canned::raw(status, "text/plain", body)
    }

    fn raw(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Canned {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
            delivery: Delivery::Whole,
        }
    }

    fn delivered(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A server on 127.0.0.1 answering each request with what `answer` picks for its request
/// line, and recording the request lines.
struct Server {
    base_url: String,
    requests: Arc<Mutex<Vec<String>>>,
    served: Arc<AtomicUsize>,
}

impl Server {
    async fn route(answer: impl Fn(&str) -> Canned + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(AtomicUsize::new(0));
        let (reqs, count, answer) = (requests.clone(), served.clone(), Arc::new(answer));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (reqs, count, answer) = (reqs.clone(), count.clone(), answer.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let line = head.lines().next().unwrap_or_default().to_string();
                    reqs.lock().unwrap().push(line.clone());
                    count.fetch_add(1, Ordering::SeqCst);
                    let a = answer(&line);
                    if let Delivery::Hang = a.delivery {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    let mut out = format!(
                        "HTTP/1.1 {} X\r\ncontent-type: {}\r\n",
                        a.status, a.content_type
                    );
                    for (k, v) in &a.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    match a.delivery {
                        Delivery::Chunked(_) => out.push_str("transfer-encoding: chunked\r\n"),
                        Delivery::Declared(n) => out.push_str(&format!("content-length: {n}\r\n")),
                        _ => out.push_str(&format!("content-length: {}\r\n", a.body.len())),
                    }
                    out.push_str("connection: close\r\n\r\n");
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                    match a.delivery {
                        Delivery::Whole | Delivery::Declared(_) | Delivery::Hang => {
                            let _ = sock.write_all(&a.body).await;
                        }
                        Delivery::CutAfter(n) => {
                            let _ = sock.write_all(&a.body[..n.min(a.body.len())]).await;
                        }
                        Delivery::HangAfter(n) => {
                            let _ = sock.write_all(&a.body[..n.min(a.body.len())]).await;
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                        Delivery::Chunked(size) => {
                            for part in a.body.chunks(size.max(1)) {
                                let frame = format!("{:x}\r\n", part.len());
                                if sock.write_all(frame.as_bytes()).await.is_err()
                                    || sock.write_all(part).await.is_err()
                                    || sock.write_all(b"\r\n").await.is_err()
                                {
                                    return;
                                }
                            }
                            let _ = sock.write_all(b"0\r\n\r\n").await;
                        }
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
        Server {
            // A path on the base, as public servers have (/api), that must never show in
            // an error: providers put keys there.
            base_url: format!("http://{addr}/secret-token/api"),
            requests,
            served,
        }
    }

    /// Answers every request with `canned`.
    async fn always(canned: Canned) -> Server {
        Server::route(move |_| canned.clone()).await
    }

    /// Answers the n-th request with the n-th answer (the last one repeats).
    async fn sequence(answers: Vec<Canned>) -> Server {
        let n = AtomicUsize::new(0);
        Server::route(move |_| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            answers[i.min(answers.len() - 1)].clone()
        })
        .await
    }

    fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                let path = l.split(' ').nth(1).unwrap_or_default();
                path.trim_start_matches("/secret-token/api").to_string()
            })
            .collect()
    }

    /// A client with quick retries (at most `attempts`) and no rate limit.
    fn client(&self, attempts: usize) -> EsploraClient {
        let transport = Transport::default()
            .with_timeout(Duration::from_secs(5))
            .with_retry(quick(attempts));
        EsploraClient::new(&self.base_url, &transport, RateLimit::unlimited()).unwrap()
    }
}

fn quick(attempts: usize) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(attempts)
        .with_min_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(5))
}

/// Checks that no error shows the base URL's path, where a key may sit.
fn assert_no_secret(e: &crate::Error) {
    let mut shown = format!("{e} {e:?}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(!shown.contains("secret-token"), "{shown}");
}

fn stats_json(funded: serde_json::Value) -> serde_json::Value {
    json!({
        "address": ME,
        "chain_stats": {
            "funded_txo_count": 3, "funded_txo_sum": funded,
            "spent_txo_count": 1, "spent_txo_sum": 20_000, "tx_count": 4
        },
        "mempool_stats": {
            "funded_txo_count": 0, "funded_txo_sum": 0,
            "spent_txo_count": 0, "spent_txo_sum": 0, "tx_count": 0
        }
    })
}

fn output(address: Option<&str>, value: u64) -> serde_json::Value {
    let mut o = json!({
        "scriptpubkey": "0014e8df018c7e326cc253faac7e46cdc51e68542c42",
        "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 e8df018c7e326cc253faac7e46cdc51e68542c42",
        "scriptpubkey_type": "v0_p2wpkh",
        "value": value
    });
    if let Some(a) = address {
        o["scriptpubkey_address"] = json!(a);
    }
    o
}

fn input(prevout: Option<serde_json::Value>, coinbase: bool) -> serde_json::Value {
    json!({
        "txid": TXID_3, "vout": 0, "prevout": prevout, "scriptsig": "", "scriptsig_asm": "",
        "witness": ["00"], "is_coinbase": coinbase, "sequence": 4294967293u32
    })
}

fn tx(
    txid: &str,
    height: Option<u64>,
    vin: Vec<serde_json::Value>,
    vout: Vec<serde_json::Value>,
) -> serde_json::Value {
    let status = match height {
        Some(h) => {
            json!({"confirmed": true, "block_height": h, "block_hash": HASH_A, "block_time": 1_700_000_000})
        }
        None => json!({"confirmed": false}),
    };
    json!({
        "txid": txid, "version": 2, "locktime": 0, "size": 222, "weight": 561, "fee": 1000,
        "vin": vin, "vout": vout, "status": status
    })
}

fn block_json(id: &str, previous: serde_json::Value) -> serde_json::Value {
    json!({
        "id": id, "height": 840_000, "version": 710_926_336, "timestamp": 1_713_571_767,
        "tx_count": 3050, "size": 2_325_617, "weight": 3_993_281,
        "merkle_root": "031b1b7a7ecf0e5f3c1b2c39f0a3e2a7f5b4c2d1e0f9a8b7c6d5e4f3a2b1c0d9",
        "previousblockhash": previous, "mediantime": 1_713_570_000, "nonce": 3_932_395_645u32,
        "bits": 386_089_497, "difficulty": 86_388_558_925_171.02
    })
}

// ---- each endpoint ----

#[tokio::test]
async fn tip_height_reads_plain_text_with_or_without_a_newline() {
    for body in ["840000", "840000\n", "840000\r\n", " 840000 \n"] {
        let server = Server::always(Canned::text(200, body)).await;
        assert_eq!(
            server.client(1).tip_height().await.unwrap(),
            840_000,
            "{body:?}"
        );
        assert_eq!(server.paths(), ["/blocks/tip/height"]);
    }
}

#[tokio::test]
async fn tip_hash_is_checked_and_lower_cased() {
    let server = Server::always(Canned::text(200, format!("{}\n", HASH_A.to_uppercase()))).await;
    assert_eq!(server.client(1).tip_hash().await.unwrap(), HASH_A);
    assert_eq!(server.paths(), ["/blocks/tip/hash"]);

    for bad in [
        "",
        "xyz",
        &HASH_A[..63],
        &format!("{HASH_A}00"),
        "<html>hi</html>",
    ] {
        let server = Server::always(Canned::text(200, bad)).await;
        let e = server.client(3).tip_hash().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{bad:?}: {e}");
        assert_eq!(server.served(), 1, "a decode error is not retried");
    }
}

#[tokio::test]
async fn block_hash_at_a_height() {
    let server = Server::always(Canned::text(200, format!("{HASH_B}\n"))).await;
    assert_eq!(server.client(1).block_hash_at(5).await.unwrap(), HASH_B);
    assert_eq!(server.paths(), ["/block-height/5"]);
}

#[tokio::test]
async fn a_height_past_the_tip_is_not_yet_available_and_retried() {
    let server = Server::sequence(vec![
        Canned::text(404, "Block not found"),
        Canned::text(200, HASH_B),
    ])
    .await;
    assert_eq!(
        server.client(3).block_hash_at(840_001).await.unwrap(),
        HASH_B
    );
    assert_eq!(server.served(), 2);

    let server = Server::always(Canned::text(404, "Block not found")).await;
    let e = server.client(2).block_hash_at(840_001).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotYetAvailable, "{e}");
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("840001"), "{e}");
    assert!(e.to_string().contains("Block not found"), "{e}");
    assert_eq!(server.served(), 2);
    assert_no_secret(&e);
}

#[tokio::test]
async fn a_block_by_hash() {
    let server = Server::always(Canned::json(block_json(HASH_A, json!(HASH_B)))).await;
    let b = server
        .client(1)
        .block(&HASH_A.to_uppercase())
        .await
        .unwrap();
    assert_eq!(
        b,
        Block {
            hash: HASH_A.into(),
            height: 840_000,
            timestamp: 1_713_571_767,
            median_time: 1_713_570_000,
            previous_hash: Some(HASH_B.into()),
            tx_count: 3050,
        }
    );
    assert_eq!(server.paths(), [format!("/block/{HASH_A}")]);

    // The genesis block has no parent: null, or the field left out.
    for previous in [json!(null)] {
        let server = Server::always(Canned::json(block_json(HASH_A, previous))).await;
        assert_eq!(
            server.client(1).block(HASH_A).await.unwrap().previous_hash,
            None
        );
    }
    let mut genesis = block_json(HASH_A, json!(null));
    genesis.as_object_mut().unwrap().remove("previousblockhash");
    let server = Server::always(Canned::json(genesis)).await;
    assert_eq!(
        server.client(1).block(HASH_A).await.unwrap().previous_hash,
        None
    );
}

/// Three consecutive blocks from `height` down, each the parent of the one before.
fn block_list(height: u64) -> Vec<serde_json::Value> {
    let id = |h: u64| format!("{:064x}", 0xb10c_0000 + h);
    (0..3)
        .map(|i| {
            let h = height - i;
            let mut b = block_json(&id(h), json!(id(h - 1)));
            b["height"] = json!(h);
            b["timestamp"] = json!(1_713_571_767 - 1_000 * i);
            b["mediantime"] = json!(1_713_570_000 - 600 * i);
            b
        })
        .collect()
}

#[tokio::test]
async fn blocks_from_a_height_or_the_tip_newest_first() {
    let server = Server::always(Canned::json(json!(block_list(840_002)))).await;
    let client = server.client(1);
    for start in [Some(840_002), None] {
        let blocks = client.blocks(start).await.unwrap();
        let heights: Vec<u64> = blocks.iter().map(|b| b.height).collect();
        assert_eq!(heights, [840_002, 840_001, 840_000]);
        assert_eq!(blocks[2].timestamp, 1_713_569_767);
        assert_eq!(blocks[2].median_time, 1_713_568_800);
        assert_eq!(
            blocks[0].previous_hash.as_deref(),
            Some(blocks[1].hash.as_str())
        );
    }
    assert_eq!(server.paths(), ["/blocks/840002", "/blocks"]);

    // Another start, a gap, a parent that is not the next block, nothing: decode errors.
    let gap = {
        let mut l = block_list(840_002);
        l.remove(1);
        l
    };
    let foreign_parent = {
        let mut l = block_list(840_002);
        l[0]["previousblockhash"] = json!(HASH_A);
        l
    };
    for (start, list, words) in [
        (
            840_003,
            block_list(840_002),
            "starts at height 840002, not 840003",
        ),
        (840_002, gap, "does not follow"),
        (840_002, foreign_parent, "does not follow"),
        (840_002, Vec::new(), "lists no block"),
    ] {
        let server = Server::always(Canned::json(json!(list))).await;
        let e = server.client(3).blocks(Some(start)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
        assert!(e.to_string().contains(words), "{e}");
        assert_eq!(server.served(), 1, "a decode error is not retried");
        assert_no_secret(&e);
    }

    // Past the tip: not yet available, retried.
    let server = Server::sequence(vec![
        Canned::text(404, "Block not found"),
        Canned::json(json!(block_list(840_003))),
    ])
    .await;
    assert_eq!(
        server.client(3).blocks(Some(840_003)).await.unwrap().len(),
        3
    );
    let server = Server::always(Canned::text(404, "Block not found")).await;
    let e = server.client(2).blocks(Some(840_003)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotYetAvailable, "{e}");
    assert!(e.to_string().contains("840003"), "{e}");
}

#[tokio::test]
async fn a_block_answer_about_another_block_is_refused() {
    let server = Server::always(Canned::json(block_json(HASH_B, json!(HASH_A)))).await;
    let e = server.client(3).block(HASH_A).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn an_unknown_block_is_not_found_and_not_retried() {
    let server = Server::always(Canned::text(404, "Block not found")).await;
    let e = server.client(3).block(HASH_A).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.status(), Some(404));
    assert_eq!(server.served(), 1);
    assert_no_secret(&e);
}

#[tokio::test]
async fn address_stats_are_the_chain_stats() {
    let server = Server::always(Canned::json(stats_json(json!(150_000)))).await;
    let s = server.client(1).address_stats(ME).await.unwrap();
    assert_eq!(
        s,
        AddressStats {
            funded_txo_sum: 150_000,
            spent_txo_sum: 20_000,
            tx_count: 4
        }
    );
    assert_eq!(s.balance(), Some(130_000));
    assert_eq!(server.paths(), [format!("/address/{ME}")]);

    let server = Server::always(Canned::json(stats_json(json!(u64::MAX)))).await;
    let s = server.client(1).address_stats(ME).await.unwrap();
    assert_eq!(s.funded_txo_sum, u64::MAX);

    let server = Server::always(Canned::json(stats_json(json!(5)))).await;
    let s = server.client(1).address_stats(ME).await.unwrap();
    assert_eq!(s.balance(), None, "more spent than received");
}

#[tokio::test]
async fn a_refused_address_is_invalid_input_naming_it() {
    let server = Server::always(Canned::text(400, "Invalid Bitcoin address")).await;
    let client = server.client(3);
    for e in [
        client.address_stats("bc1qnotmine").await.unwrap_err(),
        client
            .address_txs_chain("bc1qnotmine", None)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_eq!(e.field(), Some("address"));
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("\"bc1qnotmine\""), "{e}");
        assert!(e.to_string().contains("Invalid Bitcoin address"), "{e}");
        assert_no_secret(&e);
    }
    assert_eq!(server.served(), 2, "invalid input is never retried");
}

#[tokio::test]
async fn inputs_are_checked_before_anything_is_sent() {
    let server = Server::always(Canned::text(500, "should not be asked")).await;
    let client = server.client(1);
    for address in [
        "",
        "../blocks",
        "bc1q/x",
        "a?b",
        "a b",
        "a%2fb",
        &"a".repeat(101),
    ] {
        let e = client.address_stats(address).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{address:?}");
        assert_eq!(e.field(), Some("address"));
        let e = client.address_txs_chain(address, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{address:?}");
    }
    for hash in [
        "",
        "00",
        &format!("{HASH_A}0"),
        &HASH_A.replace('0', "g"),
        "../tip",
    ] {
        let e = client.block(hash).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{hash:?}");
        assert_eq!(e.field(), Some("block_hash"));
        let e = client.address_txs_chain(ME, Some(hash)).await.unwrap_err();
        assert_eq!(e.field(), Some("last_seen"), "{hash:?}");
    }
    assert_eq!(server.served(), 0);
}

#[tokio::test]
async fn address_txs_pages_and_net_effects() {
    let page = json!([
        // Received 50_000 (and paid someone else).
        tx(
            TXID_1,
            Some(840_000),
            vec![input(Some(output(Some(OTHER), 80_000)), false)],
            vec![output(Some(ME), 50_000), output(Some(OTHER), 29_000)]
        ),
        // Spent 70_000 of two outputs, 30_000 back as change, and an OP_RETURN.
        tx(
            TXID_2,
            Some(839_000),
            vec![
                input(Some(output(Some(ME), 50_000)), false),
                input(Some(output(Some(ME), 20_000)), false)
            ],
            vec![
                output(Some(OTHER), 39_000),
                output(Some(ME), 30_000),
                output(None, 0)
            ]
        ),
        // A coinbase paying the address.
        tx(
            TXID_3,
            Some(1),
            vec![input(None, true)],
            vec![output(Some(ME), 5_000_000_000)]
        ),
    ]);
    let server = Server::route(move |line| {
        if line.contains(&format!("/txs/chain/{TXID_3}")) {
            Canned::json(json!([]))
        } else {
            Canned::json(page.clone())
        }
    })
    .await;
    let client = server.client(1);
    let txs = client.address_txs_chain(ME, None).await.unwrap();
    let got: Vec<(&str, Option<u64>, i128)> = txs
        .iter()
        .map(|t| (t.txid.as_str(), t.height, t.net))
        .collect();
    assert_eq!(
        got,
        [
            (TXID_1, Some(840_000), 50_000),
            (TXID_2, Some(839_000), -40_000),
            (TXID_3, Some(1), 5_000_000_000),
        ]
    );
    let next = client
        .address_txs_chain(ME, Some(&txs[2].txid.to_uppercase()))
        .await
        .unwrap();
    assert!(next.is_empty());
    assert_eq!(
        server.paths(),
        [
            format!("/address/{ME}/txs/chain"),
            format!("/address/{ME}/txs/chain/{TXID_3}")
        ]
    );
}

#[tokio::test]
async fn a_page_the_balance_cannot_be_read_from_is_a_decode_error() {
    let cases = [
        // A spending input without its prevout.
        tx(
            TXID_1,
            Some(5),
            vec![input(None, false)],
            vec![output(Some(ME), 1)],
        ),
        // Confirmed without a height.
        json!({"txid": TXID_1, "vin": [], "vout": [], "status": {"confirmed": true}}),
        // A txid that is not one (it would become the next page's last_seen).
        tx("../../x", Some(5), vec![], vec![]),
        // A negative value.
        tx(
            TXID_1,
            Some(5),
            vec![],
            vec![json!({"scriptpubkey": "", "scriptpubkey_type": "p2pkh", "value": -1})],
        ),
    ];
    for case in cases {
        let server = Server::always(Canned::json(json!([case]))).await;
        let e = server
            .client(3)
            .address_txs_chain(ME, None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{case}: {e}");
        assert_eq!(server.served(), 1);
    }
}

#[test]
fn net_effect_counts_only_the_address() {
    let t: types::Transaction = serde_json::from_value(tx(
        TXID_1,
        None,
        vec![input(Some(output(Some(&ME.to_uppercase()), 7)), false)],
        vec![
            output(Some(ME), 3),
            output(Some(OTHER), 4),
            output(Some(ME), u64::MAX),
        ],
    ))
    .unwrap();
    // Bech32 is compared without regard to case.
    assert_eq!(net_effect(&t, ME).unwrap(), i128::from(u64::MAX) + 3 - 7);
    assert_eq!(net_effect(&t, OTHER).unwrap(), 4);
    // Base58 is compared exactly.
    assert_eq!(net_effect(&t, &OTHER.to_lowercase()).unwrap(), 0);
}

// ---- each error kind ----

#[tokio::test]
async fn throttling_without_retry_after_uses_the_policys_backoff() {
    let server = Server::sequence(vec![
        Canned::text(429, "Too Many Requests"),
        Canned::text(429, "Too Many Requests"),
        Canned::text(200, "7\n"),
    ])
    .await;
    assert_eq!(server.client(5).tip_height().await.unwrap(), 7);
    assert_eq!(server.served(), 3);

    let server = Server::always(Canned::text(429, "Too Many Requests")).await;
    let e = server.client(3).address_stats(ME).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Throttled, "{e}");
    assert_eq!(e.retry_after(), None);
    assert_eq!(e.status(), Some(429));
    assert_eq!(server.served(), 3);
    assert_no_secret(&e);
}

#[tokio::test]
async fn a_retry_after_is_kept_when_sent() {
    let server = Server::always(Canned::text(429, "slow down").header("retry-after", "2")).await;
    let e = server.client(1).block(HASH_A).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Throttled);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
}

#[tokio::test]
async fn server_errors_are_unavailable_and_retried() {
    for status in [500, 502, 503, 504] {
        let server = Server::always(Canned::raw(
            status,
            "text/html",
            "<html><body>Bad gateway</body></html>",
        ))
        .await;
        let client = server.client(2);
        let e = client.address_txs_chain(ME, None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{status}: {e}");
        assert_eq!(e.status(), Some(status));
        assert!(e.to_string().contains("Bad gateway"), "{e}");
        assert_no_secret(&e);
        let e = client.tip_hash().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{status}: {e}");
        assert_eq!(server.served(), 4, "two attempts each");
    }
    let server = Server::sequence(vec![
        Canned::text(503, "Service Unavailable"),
        Canned::json(stats_json(json!(1))),
    ])
    .await;
    assert!(server.client(2).address_stats(ME).await.is_ok());
}

#[tokio::test]
async fn other_statuses() {
    for (status, kind) in [
        (401, ErrorKind::AccessDenied),
        (403, ErrorKind::AccessDenied),
        (418, ErrorKind::Decode),
        (302, ErrorKind::Decode),
    ] {
        let server =
            Server::always(Canned::text(status, "no").header("location", "http://10.1.2.3/")).await;
        let client = server.client(1);
        let e = client.block(HASH_A).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
        let e = client.tip_height().await.unwrap_err();
        assert_eq!(e.kind(), kind, "{status}: {e}");
    }
    // A 404 where Esplora never answers one: the endpoint is likely wrong.
    let server = Server::always(Canned::raw(404, "text/html", "<h1>Not Found</h1>")).await;
    let e = server.client(1).tip_height().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("base of an Esplora API"), "{e}");
}

#[tokio::test]
async fn cut_connections_are_transport_errors() {
    let stats = stats_json(json!(1)).to_string();
    let server = Server::always(
        Canned::raw(200, "application/json", stats.clone()).delivered(Delivery::CutAfter(10)),
    )
    .await;
    let e = server.client(2).address_stats(ME).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert_eq!(server.served(), 2, "retried");
    assert_no_secret(&e);

    let server = Server::always(Canned::text(200, "840000").delivered(Delivery::CutAfter(3))).await;
    let e = server.client(1).tip_height().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert_no_secret(&e);

    // Nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let transport = Transport::default().with_retry(RetryPolicy::none());
    let client = EsploraClient::new(
        &format!("http://127.0.0.1:{port}/secret-token/api"),
        &transport,
        RateLimit::unlimited(),
    )
    .unwrap();
    let e = client.block(HASH_A).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    assert!(e.to_string().contains("could not connect"), "{e}");
    assert_no_secret(&e);
}

#[tokio::test]
async fn silent_servers_time_out() {
    let server = Server::always(Canned::text(200, "1").delivered(Delivery::Hang)).await;
    let transport = Transport::default()
        .with_timeout(Duration::from_millis(300))
        .with_retry(RetryPolicy::none());
    let client = EsploraClient::new(&server.base_url, &transport, RateLimit::unlimited()).unwrap();
    let e = client.tip_height().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_no_secret(&e);
    let e = client.address_stats(ME).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_no_secret(&e);

    // Silent halfway through the body.
    let stats = stats_json(json!(1)).to_string();
    let server = Server::always(
        Canned::raw(200, "application/json", stats).delivered(Delivery::HangAfter(20)),
    )
    .await;
    let client = EsploraClient::new(&server.base_url, &transport, RateLimit::unlimited()).unwrap();
    let e = client.address_stats(ME).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_no_secret(&e);
    let server =
        Server::always(Canned::text(200, "840000\n").delivered(Delivery::HangAfter(3))).await;
    let client = EsploraClient::new(&server.base_url, &transport, RateLimit::unlimited()).unwrap();
    let e = client.tip_height().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

// ---- size limits ----

#[tokio::test]
async fn oversized_json_bodies_are_refused() {
    let big = vec![b' '; MAX_BODY + 1];
    // Declared too long: refused before reading.
    let server = Server::always(
        Canned::raw(200, "application/json", "{}").delivered(Delivery::Declared(MAX_BODY + 1)),
    )
    .await;
    let e = server.client(3).address_stats(ME).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
    assert_eq!(server.served(), 1, "not retried");
    // No declared length: read up to the limit only.
    let server = Server::always(
        Canned::raw(200, "application/json", big).delivered(Delivery::Chunked(64 * 1024)),
    )
    .await;
    let e = server.client(1).block(HASH_A).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
    // A page of transactions may be larger than MAX_BODY, up to MAX_TXS_BODY.
    let mut page = json!([]).to_string().into_bytes();
    page.extend(std::iter::repeat_n(b' ', MAX_BODY + 10));
    let server = Server::always(
        Canned::raw(200, "application/json", page).delivered(Delivery::Chunked(256 * 1024)),
    )
    .await;
    assert!(server
        .client(1)
        .address_txs_chain(ME, None)
        .await
        .unwrap()
        .is_empty());
    let server = Server::always(
        Canned::raw(200, "application/json", "[]").delivered(Delivery::Declared(MAX_TXS_BODY + 1)),
    )
    .await;
    let e = server
        .client(1)
        .address_txs_chain(ME, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
}

#[tokio::test]
async fn oversized_text_bodies_are_refused() {
    let mut long = b"840000".to_vec();
    long.extend(std::iter::repeat_n(b'\n', MAX_TEXT_BODY));
    for delivery in [Delivery::Whole, Delivery::Chunked(100)] {
        let server = Server::always(Canned::text(200, long.clone()).delivered(delivery)).await;
        let e = server.client(3).tip_height().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
        assert!(e.to_string().contains("limit"), "{e}");
        assert_eq!(server.served(), 1);
    }
}

#[tokio::test]
async fn huge_error_bodies_are_cut_not_buffered() {
    let huge = "x".repeat(8 * 1024 * 1024);
    for delivery in [Delivery::Whole, Delivery::Chunked(64 * 1024)] {
        let server = Server::always(Canned::text(503, huge.clone()).delivered(delivery)).await;
        let client = server.client(1);
        for e in [
            client.address_stats(ME).await.unwrap_err(),
            client.tip_height().await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
            assert!(e.to_string().len() < 400, "{e}");
        }
    }
}

// ---- hostile numbers ----

#[tokio::test]
async fn hostile_numbers_in_json_are_decode_errors() {
    // Written as text: serde_json cannot hold 2^64 in a Value.
    for funded in [
        "-1",
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "\"150000\"",
        "1.5",
        "1e3",
        "null",
        "true",
    ] {
        let body = stats_json(json!("FUNDED"))
            .to_string()
            .replace("\"FUNDED\"", funded);
        let server = Server::always(Canned::raw(200, "application/json", body)).await;
        let e = server.client(3).address_stats(ME).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{funded}: {e}");
        assert_eq!(server.served(), 1, "not retried");
        assert_no_secret(&e);
    }
    let mut b = block_json(HASH_A, json!(null));
    b["height"] = json!(-840_000);
    let server = Server::always(Canned::json(b)).await;
    assert_eq!(
        server.client(1).block(HASH_A).await.unwrap_err().kind(),
        ErrorKind::Decode
    );
    for body in ["not json", "", "{\"address\":"] {
        let server = Server::always(Canned::raw(200, "application/json", body)).await;
        let e = server.client(1).address_stats(ME).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{body:?}: {e}");
    }
}

#[tokio::test]
async fn hostile_numbers_in_text_are_decode_errors() {
    for body in [
        "-1",
        "+5",
        "18446744073709551616",
        "99999999999999999999999",
        "abc",
        "",
        "\n",
        "12 34",
        "0x10",
        "1.5",
        "1e3",
        "８４０",
        "{\"height\":5}",
    ] {
        let server = Server::always(Canned::text(200, body)).await;
        let e = server.client(3).tip_height().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{body:?}: {e}");
        assert_eq!(server.served(), 1, "not retried");
    }
    let server = Server::always(Canned::text(200, "18446744073709551615\n")).await;
    assert_eq!(server.client(1).tip_height().await.unwrap(), u64::MAX);
    let server = Server::always(Canned::text(200, vec![0xff, 0xfe, b'1'])).await;
    assert_eq!(
        server.client(1).tip_height().await.unwrap_err().kind(),
        ErrorKind::Decode
    );
}

/// A server whose pages of an address's history never end (each full, each new, each above
/// the height) costs a bounded number of requests and ends as `unavailable`.
#[tokio::test]
async fn a_history_that_pages_without_end_is_given_up() {
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = pages.clone();
    let server = Server::route(move |line| {
        let path = line.split(' ').nth(1).unwrap_or_default();
        let path = path.trim_start_matches("/secret-token/api");
        if path.starts_with("/block-height/") {
            Canned::text(200, HASH_A)
        } else if path.starts_with("/block/") {
            Canned::json(block_json(HASH_A, json!(HASH_B)))
        } else if path == format!("/address/{ME}") {
            Canned::json(stats_json(json!(150_000)))
        } else {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let page: Vec<_> = (0..25)
                .map(|i| {
                    let txid = format!("{:064x}", n * 25 + i + 1);
                    tx(
                        &txid,
                        Some(840_001),
                        vec![input(None, true)],
                        vec![output(Some(ME), 1)],
                    )
                })
                .collect();
            Canned::json(json!(page))
        }
    })
    .await;
    let client = crate::Client::builder()
        .endpoint(crate::Network::BitcoinMainnet, server.base_url.clone())
        .retry_policy(quick(2))
        .build()
        .unwrap();
    let query: crate::Query = format!("bitcoin:{ME}").parse().unwrap();
    let at = crate::At::Blocks([(crate::Network::BitcoinMainnet, 840_000)].into());
    let out = client.balances(&[query], at).await;
    let e = out.results[0].as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_no_secret(e);
    // Four reads from the start, each given up after the pages its totals (4 transactions)
    // and the slack allow.
    let read = pages.load(Ordering::SeqCst);
    assert!((100..=500).contains(&read), "{read} pages");
}

// ---- configuration ----

#[test]
fn the_endpoint_is_checked() {
    let t = Transport::default();
    for bad in [
        "ftp://example.com/api",
        "http://10.0.0.5/api",
        "https://x/api?k=1",
        "not a url",
    ] {
        let e = EsploraClient::new(bad, &t, RateLimit::unlimited()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
        assert_eq!(e.field(), Some("endpoint"), "{bad}");
    }
    let e = EsploraClient::new(
        "https://user:hunter2@example.com/KEY-9/api",
        &t,
        RateLimit::unlimited(),
    )
    .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(!text.contains("hunter2") && !text.contains("KEY-9"), "{e}");
    assert!(text.contains("https://example.com/…"), "{e}");
    let c =
        EsploraClient::new("https://blockstream.info/api/", &t, RateLimit::unlimited()).unwrap();
    assert_eq!(c.endpoint(), "https://blockstream.info/api");
    let c = EsploraClient::new(
        "https://esplora.example/key-123/api",
        &t,
        RateLimit::unlimited(),
    )
    .unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("https://esplora.example"), "{shown}");
    assert!(!shown.contains("key-123"), "{shown}");
}

#[tokio::test]
async fn requests_wait_for_the_rate_limit() {
    let server = Server::always(Canned::text(200, "1")).await;
    let transport = Transport::default().with_retry(RetryPolicy::none());
    let limit = RateLimit::per_second(5);
    let client = EsploraClient::new(&server.base_url, &transport, limit).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..7 {
        client.tip_height().await.unwrap();
    }
    // A burst of 5, then one every 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
}
