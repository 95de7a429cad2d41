//! The in-process Esplora server, exercised with raw HTTP requests on 127.0.0.1 (offline).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokbal_devnet::{
    seed_address, seed_address_on, Devnet, EsploraNetwork, EsploraRequestCounts, DEMO_BTC_ADDRESS,
    DEMO_BTC_COUNTERPARTY, ESPLORA_FAUCET_ADDRESS, TRANSFER_FEE_SATS,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 2026-01-01T00:00:00Z, the devnet's genesis.
const G: u64 = 1_767_225_600;
/// BIP-173's P2WPKH example (mainnet).
const B: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const P2PKH: &str = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT";
const P2SH: &str = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
/// BIP-350's taproot example.
const P2TR: &str = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0";
const TESTNET_BECH32: &str = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
const TESTNET_P2PKH: &str = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn";
const TESTNET_P2SH: &str = "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A devnet whose Bitcoin chain has `blocks` blocks of 600 s from G.
async fn start(blocks: u64) -> Devnet {
    Devnet::builder()
        .esplora_initial_blocks(blocks)
        .start()
        .await
        .expect("devnet starts")
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Got {
    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().expect("ascii"))
            .unwrap_or("")
    }
}

/// Raw GETs against one devnet's Esplora server.
struct Http {
    c: reqwest::Client,
    base: String,
}

impl Http {
    fn new(d: &Devnet) -> Http {
        Http {
            c: client(),
            base: d.esplora_url(),
        }
    }

    async fn request(&self, method: Method, path: &str) -> Got {
        let resp = self
            .c
            .request(method, format!("{}{path}", self.base))
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

    async fn get(&self, path: &str) -> Got {
        self.request(Method::GET, path).await
    }

    /// A plain-text 200 answer.
    async fn text(&self, path: &str) -> String {
        let got = self.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.body);
        assert_eq!(got.content_type(), "text/plain", "{path}");
        got.body
    }

    /// A JSON 200 answer.
    async fn json(&self, path: &str) -> Value {
        let got = self.get(path).await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.body);
        assert_eq!(got.content_type(), "application/json", "{path}");
        serde_json::from_str(&got.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", got.body))
    }

    /// A plain-text error answer: asserts its status and body.
    async fn error(&self, path: &str, status: u16, body: &str) {
        let got = self.get(path).await;
        assert_eq!(got.status.as_u16(), status, "{path}: {}", got.body);
        assert_eq!(got.content_type(), "text/plain", "{path}");
        assert_eq!(got.body, body, "{path}");
    }

    /// Every confirmed transaction of `address`, following `last_seen_txid` page by page;
    /// also returns the page sizes.
    async fn all_chain_txs(&self, address: &str) -> (Vec<Value>, Vec<usize>) {
        let mut all: Vec<Value> = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let path = match all.last() {
                None => format!("/address/{address}/txs/chain"),
                Some(t) => format!("/address/{address}/txs/chain/{}", txid(t)),
            };
            let page = self.json(&path).await;
            let page = page.as_array().expect("array").clone();
            sizes.push(page.len());
            if page.is_empty() {
                return (all, sizes);
            }
            assert!(page.len() <= 25, "{path}: {} transactions", page.len());
            for t in &page {
                assert!(
                    all.iter().all(|seen| txid(seen) != txid(t)),
                    "{path}: {} again",
                    txid(t)
                );
            }
            all.extend(page);
        }
    }
}

fn txid(t: &Value) -> &str {
    t["txid"].as_str().expect("txid")
}

fn keys(v: &Value) -> HashSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> HashSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// (funded count, funded sum, spent count, spent sum) of `address` in `txs`.
fn sums(txs: &[Value], address: &str) -> (u64, u64, u64, u64) {
    let mut s = (0, 0, 0, 0);
    for t in txs {
        for o in t["vout"].as_array().unwrap() {
            if o["scriptpubkey_address"] == address {
                s.0 += 1;
                s.1 += o["value"].as_u64().unwrap();
            }
        }
        for i in t["vin"].as_array().unwrap() {
            if i["prevout"]["scriptpubkey_address"] == address {
                s.2 += 1;
                s.3 += i["prevout"]["value"].as_u64().unwrap();
            }
        }
    }
    s
}

/// The stats object of an address as a tuple like [`sums`], plus `tx_count`.
fn stats_tuple(s: &Value) -> (u64, u64, u64, u64, u64) {
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
    (
        n("funded_txo_count"),
        n("funded_txo_sum"),
        n("spent_txo_count"),
        n("spent_txo_sum"),
        n("tx_count"),
    )
}

#[tokio::test]
async fn tip_and_block_height_are_plain_text() {
    let d = start(100).await;
    let h = Http::new(&d);
    let n = d.esplora();
    assert_eq!(h.text("/blocks/tip/height").await, "99");
    let tip_hash = h.text("/blocks/tip/hash").await;
    assert!(
        is_hex64(&tip_hash) && tip_hash.starts_with("00000000"),
        "{tip_hash}"
    );
    assert_eq!(tip_hash, n.tip_hash());
    assert_eq!(h.text("/block-height/99").await, tip_hash);
    assert_eq!(h.text("/block-height/0").await, n.block(0).hash);
    assert_ne!(n.block(0).hash, n.block(1).hash);
    h.error("/block-height/100", 404, "Block not found").await;
    h.error("/block-height/abc", 400, "Invalid number").await;
    h.error("/block-height/-1", 400, "Invalid number").await;
    // The /api prefix of public instances works too.
    assert_eq!(h.text("/api/blocks/tip/height").await, "99");
    assert_eq!(h.text("/api/block-height/99").await, tip_hash);
    // The chain grows.
    assert_eq!(n.mine(2), 101);
    assert_eq!(h.text("/blocks/tip/height").await, "101");
    assert_eq!(
        h.text("/block-height/99").await,
        tip_hash,
        "old blocks keep hashes"
    );
    assert_eq!(h.text("/block-height/100").await, n.block(100).hash);
    assert_eq!(h.text("/blocks/tip/hash").await, n.block(101).hash);
}

#[tokio::test]
async fn blocks_have_esplora_fields_and_statuses() {
    let d = start(30).await;
    let h = Http::new(&d);
    for height in [0u64, 1, 4, 15, 29] {
        let hash = h.text(&format!("/block-height/{height}")).await;
        let b = h.json(&format!("/block/{hash}")).await;
        assert_eq!(
            keys(&b),
            set(&[
                "id",
                "height",
                "version",
                "timestamp",
                "tx_count",
                "size",
                "weight",
                "merkle_root",
                "previousblockhash",
                "mediantime",
                "nonce",
                "bits",
                "difficulty"
            ])
        );
        assert_eq!(b["id"], hash);
        assert_eq!(b["height"], height);
        assert_eq!(b["version"], 0x2000_0000);
        assert_eq!(b["timestamp"], G + 600 * height);
        // The median of the 11 timestamps ending here (of those from genesis early on).
        let median_index = if height >= 10 {
            height - 5
        } else {
            height.div_ceil(2)
        };
        assert_eq!(b["mediantime"], G + 600 * median_index, "block {height}");
        assert_eq!(b["tx_count"], 1);
        assert!(is_hex64(b["merkle_root"].as_str().unwrap()));
        assert!(b["difficulty"].as_f64().unwrap() > 1.0);
        if height == 0 {
            assert_eq!(b["previousblockhash"], Value::Null);
        } else {
            let parent = h.text(&format!("/block-height/{}", height - 1)).await;
            assert_eq!(b["previousblockhash"], parent);
        }
        let status = h.json(&format!("/block/{hash}/status")).await;
        let next = if height < 29 {
            json!(h.text(&format!("/block-height/{}", height + 1)).await)
        } else {
            Value::Null
        };
        assert_eq!(
            status,
            json!({"in_best_chain": true, "height": height, "next_best": next})
        );
    }
    let unknown = format!("00000000{}", "ab".repeat(28));
    h.error(&format!("/block/{unknown}"), 404, "Block not found")
        .await;
    assert_eq!(
        h.json(&format!("/block/{unknown}/status")).await,
        json!({"in_best_chain": false, "height": null, "next_best": null})
    );
    h.error("/block/xyz", 400, "Invalid hex string").await;
    h.error(
        &format!("/block/{}", "0".repeat(63)),
        400,
        "Invalid hex string",
    )
    .await;
    // Upper-case hex is read too; the answer is lower case.
    let hash5 = h.text("/block-height/5").await;
    let upper = h.json(&format!("/block/{}", hash5.to_uppercase())).await;
    assert_eq!(upper["id"], hash5);
    // /blocks lists ten blocks down from the tip or a height.
    let list = h.json("/blocks").await;
    let heights: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (20..=29).rev().collect::<Vec<_>>());
    let low = h.json("/blocks/5").await;
    assert_eq!(low.as_array().unwrap().len(), 6);
    assert_eq!(low[5]["previousblockhash"], Value::Null);
    h.error("/blocks/30", 404, "Block not found").await;
}

#[tokio::test]
async fn jittered_timestamps_go_back_while_median_times_never_do() {
    let d = Devnet::builder()
        .esplora_initial_blocks(200)
        .esplora_block_jitter(Duration::from_secs(500))
        .start()
        .await
        .expect("devnet starts");
    let h = Http::new(&d);
    let mut blocks: Vec<Value> = Vec::new();
    for start in (9..200).step_by(10).rev() {
        let list = h.json(&format!("/blocks/{start}")).await;
        blocks.extend(list.as_array().unwrap().iter().cloned());
    }
    blocks.reverse();
    assert_eq!(blocks.len(), 200);
    let ts: Vec<u64> = blocks
        .iter()
        .map(|b| b["timestamp"].as_u64().unwrap())
        .collect();
    let mtp: Vec<u64> = blocks
        .iter()
        .map(|b| b["mediantime"].as_u64().unwrap())
        .collect();
    let mut backwards = 0;
    for n in 0..200usize {
        assert_eq!(blocks[n]["height"], n as u64);
        assert!(ts[n].abs_diff(G + 600 * n as u64) <= 500, "block {n}");
        let mut window = ts[n.saturating_sub(10)..=n].to_vec();
        window.sort_unstable();
        assert_eq!(mtp[n], window[window.len() / 2], "median time of {n}");
        if n > 0 {
            backwards += usize::from(ts[n] < ts[n - 1]);
            assert!(
                ts[n] > mtp[n - 1],
                "block {n} above its parent's median time"
            );
            assert!(mtp[n] >= mtp[n - 1], "median time never decreases ({n})");
        }
    }
    assert!(
        backwards >= 5,
        "{backwards} timestamps below their parent's"
    );
    // mine_at may go below the tip's timestamp, not to the median time.
    let n = d.esplora();
    assert!(n.mine_at(mtp[199]).is_err());
    let back = ts[199] - 100;
    assert!(back > mtp[199]);
    assert_eq!(n.mine_at(back).unwrap(), 200);
    let b = h.json(&format!("/block/{}", n.block(200).hash)).await;
    assert_eq!(b["timestamp"], back);
    assert!(b["mediantime"].as_u64().unwrap() >= mtp[199]);
}

/// One request for ten blocks shows a block made as early as consensus allows: below the
/// header times of the five before it, above the median time past of its parent.
#[tokio::test]
async fn one_list_shows_a_block_earlier_than_the_five_before_it() {
    let d = start(40).await;
    let n = d.esplora();
    let early = n.mine_at(n.block(39).mediantime + 1).unwrap();
    n.mine(3);
    let h = Http::new(&d);
    n.reset_requests();
    let list = h.json(&format!("/blocks/{}", early + 3)).await;
    assert_eq!(n.requests().blocks, 1);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 10);
    let at = |height: u64| {
        list.iter()
            .find(|b| b["height"] == height)
            .unwrap_or_else(|| panic!("block {height} listed"))
    };
    let ts = |height: u64| at(height)["timestamp"].as_u64().unwrap();
    for before in early - 5..early {
        assert!(
            ts(before) > ts(early),
            "block {before} is later than {early}"
        );
    }
    assert!(ts(early) > at(early - 1)["mediantime"].as_u64().unwrap());
    assert_eq!(at(early)["id"], n.block(early).hash.as_str());
    assert_eq!(
        at(early)["previousblockhash"],
        n.block(early - 1).hash.as_str()
    );
}

/// Blocks arrive every n-th request, each paying the busy address but every k-th: the
/// request that brings a block already sees it.
#[tokio::test]
async fn blocks_arrive_every_nth_request_and_pay_busy_addresses() {
    let d = start(10).await;
    let n = d.esplora();
    let h = Http::new(&d);
    n.keep_busy(B, 2_000, 3).unwrap();
    n.mine_every_requests(2);
    let mut tips = Vec::new();
    for _ in 0..6 {
        tips.push(h.text("/blocks/tip/height").await);
    }
    assert_eq!(tips, ["9", "10", "10", "11", "11", "12"]);
    // Blocks 10, 11 and 12 (12 skipped); then this request brings block 13.
    let info = h.json(&format!("/address/{B}")).await;
    assert_eq!(n.tip(), 12);
    assert_eq!(info["chain_stats"]["tx_count"], 2);
    assert_eq!(info["chain_stats"]["funded_txo_sum"], 4_000);
    let page = h.json(&format!("/address/{B}/txs/chain")).await;
    assert_eq!(n.tip(), 13);
    assert_eq!(page.as_array().unwrap().len(), 3, "block 13 paid it");
    assert_eq!(page[0]["status"]["block_height"], 13);
    n.stop_arrivals();
    h.text("/blocks/tip/height").await;
    h.text("/blocks/tip/height").await;
    assert_eq!(n.tip(), 13);
}

/// Builds a history of `a` touching every output kind: two payments, a transfer, a
/// transaction of its own to P2PKH, P2SH and P2TR outputs, a coinbase, and spends from the
/// legacy and P2SH outputs. Leaves the chain mined past all of it.
fn rich_history(d: &Devnet, a: &str) {
    let n = d.esplora();
    n.pay(a, 300_000).unwrap();
    n.pay(a, 200_000).unwrap();
    n.mine(1);
    // Spends the older 300,000 output: 120,000 to B, 179,000 back.
    n.transfer(a, B, 120_000).unwrap();
    n.mine(1);
    n.add_tx(
        &[(a, 179_000), (a, 200_000)],
        &[
            (P2PKH, 100_000),
            (P2SH, 100_000),
            (P2TR, 100_000),
            (a, 78_000),
        ],
    )
    .unwrap();
    n.pay_coinbase(a, 312_500_000).unwrap();
    n.mine(1);
    n.transfer(P2PKH, a, 10_000).unwrap();
    n.transfer(P2SH, a, 20_000).unwrap();
    n.mine(1);
}

#[tokio::test]
async fn address_stats_are_the_sum_of_the_history() {
    let d = start(10).await;
    let h = Http::new(&d);
    let a = seed_address(5_000_000);
    rich_history(&d, &a);
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(
        keys(&info),
        set(&["address", "chain_stats", "mempool_stats"])
    );
    assert_eq!(info["address"], a);
    for stats in [&info["chain_stats"], &info["mempool_stats"]] {
        assert_eq!(
            keys(stats),
            set(&[
                "funded_txo_count",
                "funded_txo_sum",
                "spent_txo_count",
                "spent_txo_sum",
                "tx_count"
            ])
        );
    }
    let chain = stats_tuple(&info["chain_stats"]);
    assert_eq!(
        chain,
        (
            7,
            300_000 + 200_000 + 179_000 + 78_000 + 312_500_000 + 10_000 + 20_000,
            3,
            300_000 + 179_000 + 200_000,
            7
        )
    );
    assert_eq!(stats_tuple(&info["mempool_stats"]), (0, 0, 0, 0, 0));
    let (txs, sizes) = h.all_chain_txs(&a).await;
    assert_eq!(sizes, vec![7, 0]);
    let (fc, fs, sc, ss) = sums(&txs, &a);
    assert_eq!((fc, fs, sc, ss, txs.len() as u64), chain);
    assert_eq!(d.esplora().balance(&a, None).unwrap(), fs - ss);
    // The other parties' statistics are sums of their histories too.
    for other in [B, P2PKH, P2SH, P2TR] {
        let info = h.json(&format!("/address/{other}")).await;
        let (txs, _) = h.all_chain_txs(other).await;
        let (fc, fs, sc, ss) = sums(&txs, other);
        assert_eq!(
            stats_tuple(&info["chain_stats"]),
            (fc, fs, sc, ss, txs.len() as u64),
            "{other}"
        );
    }
    assert_eq!(
        stats_tuple(&h.json(&format!("/address/{P2PKH}")).await["chain_stats"]),
        (2, 100_000 + 89_000, 1, 100_000, 2)
    );
    // An address never seen: zeros.
    let never = h.json(&format!("/address/{}", seed_address(9))).await;
    assert_eq!(stats_tuple(&never["chain_stats"]), (0, 0, 0, 0, 0));
    assert_eq!(
        h.json(&format!("/address/{}/txs/chain", seed_address(9)))
            .await,
        json!([])
    );
}

#[tokio::test]
async fn transactions_have_esplora_shapes() {
    let d = start(10).await;
    let h = Http::new(&d);
    let a = seed_address(5_000_001);
    rich_history(&d, &a);
    let (txs, _) = h.all_chain_txs(&a).await;
    let tx_keys = set(&[
        "txid", "version", "locktime", "vin", "vout", "size", "weight", "fee", "status",
    ]);
    let out_keys = set(&[
        "scriptpubkey",
        "scriptpubkey_asm",
        "scriptpubkey_type",
        "scriptpubkey_address",
        "value",
    ]);
    let mut seen_types = HashSet::new();
    for t in &txs {
        assert_eq!(keys(t), tx_keys);
        assert!(is_hex64(txid(t)));
        assert_eq!(
            (t["version"].clone(), t["locktime"].clone()),
            (json!(2), json!(0))
        );
        let height = t["status"]["block_height"].as_u64().unwrap();
        let hash = h.text(&format!("/block-height/{height}")).await;
        let block = h.json(&format!("/block/{hash}")).await;
        assert_eq!(
            t["status"],
            json!({
                "confirmed": true,
                "block_height": height,
                "block_hash": hash,
                "block_time": block["timestamp"],
            })
        );
        let mut total_in = 0;
        for i in t["vin"].as_array().unwrap() {
            if i["is_coinbase"] == true {
                assert_eq!(i["prevout"], Value::Null);
                assert_eq!(i["txid"], "0".repeat(64));
                assert_eq!(i["vout"], 4_294_967_295u64);
                continue;
            }
            assert!(is_hex64(i["txid"].as_str().unwrap()));
            assert_eq!(keys(&i["prevout"]), out_keys);
            assert_eq!(i["sequence"], 0xffff_fffdu32);
            total_in += i["prevout"]["value"].as_u64().unwrap();
            let kind = i["prevout"]["scriptpubkey_type"].as_str().unwrap();
            if kind == "p2pkh" {
                assert!(i.get("witness").is_none(), "{i}");
                assert!(i["scriptsig"].as_str().unwrap().starts_with("47"));
                assert!(i["scriptsig_asm"]
                    .as_str()
                    .unwrap()
                    .starts_with("OP_PUSHBYTES_71 "));
            } else {
                assert!(!i["witness"].as_array().unwrap().is_empty(), "{i}");
            }
        }
        let mut total_out = 0;
        for o in t["vout"].as_array().unwrap() {
            assert_eq!(keys(o), out_keys);
            total_out += o["value"].as_u64().unwrap();
            let kind = o["scriptpubkey_type"].as_str().unwrap().to_owned();
            let script = o["scriptpubkey"].as_str().unwrap();
            let asm = o["scriptpubkey_asm"].as_str().unwrap();
            match kind.as_str() {
                "v0_p2wpkh" => {
                    assert!(script.starts_with("0014") && script.len() == 44);
                    assert!(asm.starts_with("OP_0 OP_PUSHBYTES_20 "));
                }
                "p2pkh" => {
                    assert_eq!(script, "76a9147680adec8eabcabac676be9e83854ade0bd22cdb88ac");
                    assert!(asm.starts_with("OP_DUP OP_HASH160 OP_PUSHBYTES_20 "));
                }
                "p2sh" => assert!(script.starts_with("a914") && script.ends_with("87")),
                "v1_p2tr" => {
                    assert!(script.starts_with("5120") && script.len() == 68);
                    assert!(asm.starts_with("OP_PUSHNUM_1 OP_PUSHBYTES_32 "));
                }
                other => panic!("unexpected type {other}"),
            }
            seen_types.insert(kind);
        }
        let fee = t["fee"].as_u64().unwrap();
        let coinbase = t["vin"][0]["is_coinbase"] == true;
        if coinbase {
            assert_eq!(fee, 0);
        } else {
            assert_eq!(fee, total_in - total_out, "{}", txid(t));
            assert_eq!(fee, TRANSFER_FEE_SATS);
        }
        let (size, weight) = (t["size"].as_u64().unwrap(), t["weight"].as_u64().unwrap());
        assert!(
            size > 60 && size < weight && weight <= 4 * size,
            "{size} {weight}"
        );
    }
    assert_eq!(seen_types.len(), 4, "{seen_types:?}");
    // The payments spend made-up faucet outputs.
    let first = txs.last().unwrap();
    assert_eq!(
        first["vin"][0]["prevout"]["scriptpubkey_address"],
        ESPLORA_FAUCET_ADDRESS
    );
    assert_eq!(d.esplora().faucet_address(), ESPLORA_FAUCET_ADDRESS);
    // The transfer spends the first payment's output.
    let transfer = &txs[txs.len() - 3];
    assert_eq!(transfer["vin"][0]["txid"], txid(first));
    assert_eq!(transfer["vin"][0]["vout"], 0);
    // A P2SH spend carries its redeem script.
    let p2sh_spend = txs
        .iter()
        .find(|t| t["vin"][0]["prevout"]["scriptpubkey_type"] == "p2sh")
        .expect("a P2SH spend");
    assert!(p2sh_spend["vin"][0]["inner_redeemscript_asm"]
        .as_str()
        .unwrap()
        .starts_with("OP_0 OP_PUSHBYTES_20 "));
}

#[tokio::test]
async fn sixty_transactions_page_as_25_25_10() {
    let d = start(30).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let a = seed_address(6_000_000);
    for k in 0..60u64 {
        n.pay_at(1 + k / 3, &a, 10_000 + k).unwrap();
    }
    let expected = n.txids(&a, None).unwrap();
    assert_eq!(expected.len(), 60);
    let p1 = h.json(&format!("/address/{a}/txs/chain")).await;
    let p1 = p1.as_array().unwrap();
    assert_eq!(p1.len(), 25);
    assert_eq!(p1[0]["vout"][0]["value"], 10_059, "newest first");
    assert_eq!(p1[0]["status"]["block_height"], 20);
    let ids = |p: &[Value]| p.iter().map(|t| txid(t).to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(p1), expected[..25]);
    let p2 = h
        .json(&format!("/address/{a}/txs/chain/{}", txid(&p1[24])))
        .await;
    let p2 = p2.as_array().unwrap();
    assert_eq!(ids(p2), expected[25..50]);
    let p3 = h
        .json(&format!("/address/{a}/txs/chain/{}", txid(&p2[24])))
        .await;
    let p3 = p3.as_array().unwrap();
    assert_eq!(ids(p3), expected[50..]);
    assert_eq!(p3[9]["vout"][0]["value"], 10_000);
    assert_eq!(
        h.json(&format!("/address/{a}/txs/chain/{}", txid(&p3[9])))
            .await,
        json!([])
    );
    // Heights never increase from one transaction to the next, across pages.
    let heights: Vec<u64> = p1
        .iter()
        .chain(p2)
        .chain(p3)
        .map(|t| t["status"]["block_height"].as_u64().unwrap())
        .collect();
    assert!(heights.windows(2).all(|w| w[0] >= w[1]));
    // A txid not in the history gives nothing; one that does not parse, the first page.
    let foreign = "ab".repeat(32);
    assert_eq!(
        h.json(&format!("/address/{a}/txs/chain/{foreign}")).await,
        json!([])
    );
    let again = h.json(&format!("/address/{a}/txs/chain/not-a-txid")).await;
    assert_eq!(ids(again.as_array().unwrap()), expected[..25]);
    let upper = h
        .json(&format!(
            "/address/{a}/txs/chain/{}",
            txid(&p1[24]).to_uppercase()
        ))
        .await;
    assert_eq!(ids(upper.as_array().unwrap()), expected[25..50]);
    let api = h.json(&format!("/api/address/{a}/txs/chain")).await;
    assert_eq!(ids(api.as_array().unwrap()), expected[..25]);
    // /txs is the mempool (empty) and the first page.
    let both = h.json(&format!("/address/{a}/txs")).await;
    assert_eq!(ids(both.as_array().unwrap()), expected[..25]);
}

#[tokio::test]
async fn the_mempool_is_kept_apart() {
    let d = start(10).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let a = seed_address(7_000_000);
    n.pay(&a, 50_000).unwrap();
    // Until its block is mined, a payment is unconfirmed.
    let pending = h.json(&format!("/address/{a}/txs/mempool")).await;
    assert_eq!(pending[0]["status"], json!({"confirmed": false}));
    n.mine(1);
    let pay = n.pay_mempool(&a, 7_000).unwrap();
    assert_eq!(pay.height, None);
    // Spends the confirmed 50,000 (the oldest): 20,000 to B, 29,000 back.
    let spend = n.transfer_mempool(&a, B, 20_000).unwrap();
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(
        stats_tuple(&info["chain_stats"]),
        (1, 50_000, 0, 0, 1),
        "the mempool is not in chain_stats"
    );
    assert_eq!(
        stats_tuple(&info["mempool_stats"]),
        (2, 7_000 + 29_000, 1, 50_000, 2)
    );
    let chain = h.json(&format!("/address/{a}/txs/chain")).await;
    assert_eq!(chain.as_array().unwrap().len(), 1);
    assert_eq!(chain[0]["status"]["confirmed"], true);
    let mempool = h.json(&format!("/address/{a}/txs/mempool")).await;
    let mempool = mempool.as_array().unwrap();
    assert_eq!(mempool.len(), 2);
    assert_eq!(txid(&mempool[0]), spend.txid, "newest first");
    assert_eq!(txid(&mempool[1]), pay.txid);
    for t in mempool {
        assert_eq!(t["status"], json!({"confirmed": false}));
    }
    let all = h.json(&format!("/address/{a}/txs")).await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter()
            .map(|t| t["status"]["confirmed"].clone())
            .collect::<Vec<_>>(),
        vec![json!(false), json!(false), json!(true)]
    );
    let b = h.json(&format!("/address/{B}")).await;
    assert_eq!(stats_tuple(&b["chain_stats"]), (0, 0, 0, 0, 0));
    assert_eq!(stats_tuple(&b["mempool_stats"]), (1, 20_000, 0, 0, 1));
    // Confirming: unconfirmed until the block is mined, then in the chain.
    let block = n.confirm_mempool();
    assert_eq!(block, 11);
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(info["mempool_stats"]["tx_count"], 2);
    n.mine(1);
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(stats_tuple(&info["mempool_stats"]), (0, 0, 0, 0, 0));
    assert_eq!(
        stats_tuple(&info["chain_stats"]),
        (3, 50_000 + 7_000 + 29_000, 1, 50_000, 3)
    );
    assert_eq!(
        h.json(&format!("/address/{a}/txs/mempool")).await,
        json!([])
    );
}

#[tokio::test]
async fn a_chain_growing_between_requests_pages_consistently() {
    let d = start(10).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let a = seed_address(8_000_000);
    for k in 0..40u64 {
        n.pay_at(1 + k % 9, &a, 1_000 + k).unwrap();
    }
    let pinned: u64 = h.text("/blocks/tip/height").await.parse().unwrap();
    assert_eq!(pinned, 9);
    let at_pin = n.txids(&a, Some(pinned)).unwrap();
    let p1 = h.json(&format!("/address/{a}/txs/chain")).await;
    // Blocks come with more transactions of the address while the client reads.
    for _ in 0..2 {
        for k in 0..5 {
            n.pay(&a, 500 + k).unwrap();
        }
        n.mine(1);
    }
    let p2 = h
        .json(&format!(
            "/address/{a}/txs/chain/{}",
            txid(&p1.as_array().unwrap()[24])
        ))
        .await;
    let read: Vec<String> = p1
        .as_array()
        .unwrap()
        .iter()
        .chain(p2.as_array().unwrap())
        .filter(|t| t["status"]["block_height"].as_u64().unwrap() <= pinned)
        .map(|t| txid(t).to_owned())
        .collect();
    assert_eq!(read, at_pin, "no gap, no duplicate");
    // Read afresh, the new transactions come first.
    let fresh = h.json(&format!("/address/{a}/txs/chain")).await;
    assert_eq!(fresh[0]["status"]["block_height"], 11);
    assert_eq!(fresh[9]["status"]["block_height"], 10);
    assert_eq!(fresh[10]["status"]["block_height"], 9);
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(info["chain_stats"]["tx_count"], 50);
}

#[tokio::test]
async fn reorgs_replace_hashes_and_may_unconfirm() {
    let d = start(20).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let a = seed_address(9_000_000);
    n.pay_at(15, &a, 1_000).unwrap();
    n.pay_at(18, &a, 2_000).unwrap();
    n.pay_at(19, &a, 4_000).unwrap();
    let old: Vec<String> = (0..20).map(|k| n.block(k).hash).collect();
    let txs = h.json(&format!("/address/{a}/txs/chain")).await;
    assert_eq!(txs[1]["status"]["block_hash"], old[18]);

    assert_eq!(n.reorg(3), Some(17));
    assert_eq!(h.text("/blocks/tip/height").await, "19");
    h.error(&format!("/block/{}", old[18]), 404, "Block not found")
        .await;
    assert_eq!(
        h.json(&format!("/block/{}/status", old[18])).await,
        json!({"in_best_chain": false, "height": null, "next_best": null})
    );
    let new18 = h.text("/block-height/18").await;
    assert_ne!(new18, old[18]);
    assert_eq!(h.text("/block-height/16").await, old[16], "below the fork");
    assert_eq!(
        h.json(&format!("/block/{}/status", old[16])).await["next_best"],
        json!(n.block(17).hash)
    );
    assert_ne!(n.block(17).hash, old[17]);
    let b18 = h.json(&format!("/block/{new18}")).await;
    assert_eq!(b18["previousblockhash"], n.block(17).hash);
    let txs = h.json(&format!("/address/{a}/txs/chain")).await;
    assert_eq!(
        txs[1]["status"]["block_hash"], new18,
        "same transactions, new blocks"
    );
    assert_eq!(
        h.json(&format!("/address/{a}")).await["chain_stats"]["tx_count"],
        3
    );

    // A reorganization that sends transactions back to the mempool.
    assert_eq!(n.reorg_to_mempool(2), Some(18));
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(stats_tuple(&info["chain_stats"]), (1, 1_000, 0, 0, 1));
    assert_eq!(stats_tuple(&info["mempool_stats"]), (2, 6_000, 0, 0, 2));
    assert_eq!(n.balance(&a, None).unwrap(), 1_000);
    assert_eq!(n.confirm_mempool(), 20);
    n.mine(1);
    let txs = h.json(&format!("/address/{a}/txs/chain")).await;
    let heights: Vec<u64> = txs
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"]["block_height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![20, 20, 15]);
    assert_eq!(n.reorg(0), None);
}

#[tokio::test]
async fn a_lagging_replica_answers_as_of_its_tip() {
    let d = start(50).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let a = seed_address(10_000_000);
    n.pay_at(40, &a, 1_000).unwrap();
    n.pay_at(45, &a, 2_000).unwrap();
    n.pay_at(49, &a, 4_000).unwrap();
    n.faults().lag(5);
    assert_eq!(h.text("/blocks/tip/height").await, "44");
    assert_eq!(h.text("/blocks/tip/hash").await, n.block(44).hash);
    assert_eq!(h.text("/block-height/44").await, n.block(44).hash);
    h.error("/block-height/45", 404, "Block not found").await;
    h.error(
        &format!("/block/{}", n.block(47).hash),
        404,
        "Block not found",
    )
    .await;
    assert_eq!(
        h.json(&format!("/block/{}/status", n.block(44).hash)).await,
        json!({"in_best_chain": true, "height": 44, "next_best": null})
    );
    assert_eq!(
        h.json(&format!("/block/{}/status", n.block(47).hash)).await["in_best_chain"],
        false
    );
    let info = h.json(&format!("/address/{a}")).await;
    assert_eq!(stats_tuple(&info["chain_stats"]), (1, 1_000, 0, 0, 1));
    assert_eq!(stats_tuple(&info["mempool_stats"]), (2, 6_000, 0, 0, 2));
    let chain = h.json(&format!("/address/{a}/txs/chain")).await;
    assert_eq!(chain.as_array().unwrap().len(), 1);
    assert_eq!(
        h.json("/blocks").await[0]["height"],
        44,
        "/blocks starts at the replica's tip"
    );
    assert!(n.faults().counts().lagged >= 9);
    n.faults().clear_lag();
    assert_eq!(h.text("/blocks/tip/height").await, "49");
    assert_eq!(
        h.json(&format!("/address/{a}")).await["chain_stats"]["tx_count"],
        3
    );
    n.faults().lag_next(1, 10);
    assert_eq!(h.text("/blocks/tip/height").await, "39");
    assert_eq!(h.text("/blocks/tip/height").await, "49");
}

#[tokio::test]
async fn faults_throttle_without_retry_after_fail_drop_and_delay() {
    let d = start(10).await;
    let h = Http::new(&d);
    let n = d.esplora();
    n.faults().throttle_next(1);
    let got = h.get("/blocks/tip/height").await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        got.headers.get("retry-after").is_none(),
        "Esplora sends none"
    );
    assert_eq!(got.content_type(), "text/plain");
    assert_eq!(got.body, "Too Many Requests");
    assert_eq!(h.text("/blocks/tip/height").await, "9");
    // An injected 429 is the same.
    n.faults().fail_next(1, 429);
    let got = h.get("/blocks/tip/hash").await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(got.headers.get("retry-after").is_none());
    // Retry-After on demand.
    n.set_send_retry_after(true);
    n.faults().set_retry_after_secs(7);
    n.faults().throttle_next(1);
    let got = h.get("/blocks/tip/height").await;
    assert_eq!(got.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(got.headers["retry-after"], "7");
    n.set_send_retry_after(false);
    // 5xx in plain text.
    n.faults().fail_next(2, 503);
    for path in ["/blocks/tip/height", &format!("/address/{B}")] {
        let got = h.get(path).await;
        assert_eq!(got.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(got.content_type(), "text/plain");
        assert_eq!(got.body, "Service Unavailable");
    }
    n.faults().fail_next(1, 200);
    assert_eq!(h.get("/blocks/tip/height").await.status, 500);
    // A drop cuts the body.
    n.pay_at(5, B, 1_000).unwrap();
    n.faults().drop_next(1);
    let resp =
        h.c.get(format!("{}/address/{B}/txs/chain", h.base))
            .send()
            .await
            .expect("head arrives");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.is_err(), "expected a cut body");
    assert_eq!(
        h.json(&format!("/address/{B}/txs/chain")).await[0]["vout"][0]["value"],
        1_000
    );
    // Latency.
    n.faults().set_latency(Duration::from_millis(80));
    let t = Instant::now();
    assert_eq!(h.text("/blocks/tip/height").await, "9");
    assert!(
        t.elapsed() >= Duration::from_millis(80),
        "{:?}",
        t.elapsed()
    );
    n.faults().clear();
    let c = n.faults().counts();
    assert_eq!((c.throttled, c.failed, c.dropped, c.delayed), (2, 4, 1, 1));
}

#[tokio::test]
async fn bad_and_foreign_addresses_are_400_in_plain_text() {
    let d = start(10).await;
    let h = Http::new(&d);
    let long = format!("bc1q{}", "q".repeat(100));
    for bad in [
        "xyz",
        "bc1",
        "bc1q",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3tb",
        "bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpy0",
        "1Boat",
        "0xdac17f958d2ee523a2206206994597c13d831ec7",
        "%20",
        "bc1q%00",
        &long,
    ] {
        for suffix in ["", "/txs", "/txs/chain", "/txs/mempool"] {
            h.error(
                &format!("/address/{bad}{suffix}"),
                400,
                "Invalid Bitcoin address",
            )
            .await;
        }
    }
    let regtest = seed_address_on(EsploraNetwork::Regtest, 1);
    for foreign in [TESTNET_BECH32, TESTNET_P2PKH, TESTNET_P2SH, &regtest] {
        h.error(
            &format!("/address/{foreign}"),
            400,
            "Address on invalid network",
        )
        .await;
    }
    // Upper-case bech32 is the same address, echoed as written.
    let n = d.esplora();
    n.pay(B, 1_234).unwrap();
    n.mine(1);
    let upper = h.json(&format!("/address/{}", B.to_uppercase())).await;
    assert_eq!(upper["address"], B.to_uppercase());
    assert_eq!(upper["chain_stats"]["funded_txo_sum"], 1_234);
    // Legacy and taproot addresses are accepted.
    for ok in [P2PKH, P2SH, P2TR] {
        h.json(&format!("/address/{ok}")).await;
    }
    // The node's methods refuse them too.
    let e = n.pay("xyz", 1).unwrap_err();
    assert!(e.message().contains("Invalid Bitcoin address"), "{e}");
    assert!(n.pay(TESTNET_BECH32, 1).is_err());
    // A testnet node takes testnet addresses only; signet the same; regtest its own.
    for (network, good, wrong) in [
        (EsploraNetwork::Testnet, TESTNET_BECH32, B),
        (EsploraNetwork::Signet, TESTNET_P2SH, P2PKH),
        (EsploraNetwork::Regtest, regtest.as_str(), TESTNET_BECH32),
        (EsploraNetwork::Regtest, TESTNET_P2PKH, P2SH),
    ] {
        let d = Devnet::builder()
            .esplora_network(network)
            .esplora_initial_blocks(5)
            .start()
            .await
            .expect("devnet starts");
        let h = Http::new(&d);
        assert_eq!(d.esplora().network(), network);
        h.json(&format!("/address/{good}")).await;
        h.error(
            &format!("/address/{wrong}"),
            400,
            "Address on invalid network",
        )
        .await;
    }
}

/// Sends raw bytes as a request; returns what came back (maybe nothing).
async fn raw(d: &Devnet, request: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(d.esplora_addr())
        .await
        .expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn hostile_paths_never_break_the_server() {
    let d = start(10).await;
    let h = Http::new(&d);
    let a = seed_address(1);
    let zeros = "0".repeat(64);
    let paths = [
        "/".to_owned(),
        "//".into(),
        "/address".into(),
        "/address/".into(),
        "/address//txs".into(),
        format!("/address/{a}/"),
        format!("/address/{a}/txs/chain/{zeros}/extra"),
        format!("/address/{a}/utxo"),
        "/blocks/tip/height/".into(),
        "/blocks/tip/height/extra".into(),
        "/blocks/-1".into(),
        "/blocks/99999999999999999999999".into(),
        "/blocks/18446744073709551615".into(),
        "/block-height/18446744073709551615".into(),
        "/block-height/18446744073709551616".into(),
        format!("/block/{zeros}/txs"),
        format!("/block/{}", "g".repeat(64)),
        format!("/block/{}", "é".repeat(32)),
        "/..%2F..%2Fetc%2Fpasswd".into(),
        "/address/%E2%82%AC".into(),
        "/address/%FF%FE".into(),
        format!("/{}", "a".repeat(20_000)),
        format!("/address/{}", "1".repeat(5_000)),
        "/api/api/blocks/tip/height".into(),
        "/tx/abc".into(),
        format!("/address/{a}?x=1&y=%zz"),
    ];
    for path in &paths {
        let got = h.get(path).await;
        assert!(
            [200, 400, 404].contains(&got.status.as_u16()),
            "{path}: {} {}",
            got.status,
            got.body
        );
        assert_eq!(
            got.content_type(),
            if got.status == 200 {
                "application/json"
            } else {
                "text/plain"
            },
            "{path}"
        );
    }
    h.error(
        "/blocks/tip/height/",
        404,
        "endpoint does not exist \"/blocks/tip/height/\"",
    )
    .await;
    h.error("/blocks/18446744073709551615", 404, "Block not found")
        .await;
    // Other methods are unknown endpoints; HEAD is GET without a body.
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let got = h.request(method.clone(), "/blocks/tip/height").await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{method}");
    }
    let head = h.request(Method::HEAD, "/blocks/tip/height").await;
    assert_eq!(head.status, StatusCode::OK);
    // Bytes no HTTP client would send.
    for request in [
        &b"GET /address/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        &b"GET /\x00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        &b"GARBAGE\r\n\r\n"[..],
        &b"GET /blocks/tip/height HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"[..],
    ] {
        let answer = raw(&d, request).await;
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    // Still answering.
    assert_eq!(h.text("/blocks/tip/height").await, "9");
}

#[tokio::test]
async fn counters_count_every_request_once() {
    let d = start(10).await;
    let h = Http::new(&d);
    let n = d.esplora();
    n.reset_requests();
    let hash = n.block(3).hash;
    h.text("/blocks/tip/height").await;
    h.text("/api/blocks/tip/height").await;
    h.text("/blocks/tip/hash").await;
    h.text("/block-height/3").await;
    h.error("/block-height/30", 404, "Block not found").await;
    h.json(&format!("/block/{hash}")).await;
    h.json(&format!("/block/{hash}/status")).await;
    h.json("/blocks").await;
    h.json(&format!("/address/{B}")).await;
    h.json(&format!("/address/{B}/txs")).await;
    h.json(&format!("/address/{B}/txs/chain")).await;
    h.json(&format!("/address/{B}/txs/chain/{hash}")).await;
    h.json(&format!("/address/{B}/txs/mempool")).await;
    h.error("/address/nope", 400, "Invalid Bitcoin address")
        .await;
    h.error("/block-height/x", 400, "Invalid number").await;
    h.get("/nope").await;
    h.request(Method::POST, "/tx").await;
    // Faulted requests count under their kind.
    n.faults().throttle_next(1);
    h.get("/blocks/tip/height").await;
    let got = n.requests();
    assert_eq!(
        got,
        EsploraRequestCounts {
            http: 18,
            tip_height: 3,
            tip_hash: 1,
            block_height: 2,
            block: 1,
            block_status: 1,
            blocks: 1,
            address: 1,
            address_txs: 3,
            mempool: 1,
            invalid: 2,
            not_found: 2,
        }
    );
    let kinds = got.tip_height
        + got.tip_hash
        + got.block_height
        + got.block
        + got.block_status
        + got.blocks
        + got.address
        + got.address_txs
        + got.mempool
        + got.invalid
        + got.not_found;
    assert_eq!(kinds, got.http);
    let seen = n.seen_paths();
    assert_eq!(seen.len(), 18);
    assert_eq!(seen[0], "/blocks/tip/height");
    assert_eq!(seen[1], "/api/blocks/tip/height");
    assert_eq!(seen[16], "/tx");
    n.reset_requests();
    assert_eq!(n.requests(), EsploraRequestCounts::default());
    assert!(n.seen_paths().is_empty());
}

#[tokio::test]
async fn demo_address_holds_150000000_at_the_demo_instant() {
    let d = Devnet::builder()
        .with_demo_data()
        .start()
        .await
        .expect("devnet starts");
    let h = Http::new(&d);
    let info = h.json(&format!("/address/{DEMO_BTC_ADDRESS}")).await;
    assert_eq!(
        stats_tuple(&info["chain_stats"]),
        (
            5,
            100_000_000 + 60_000_000 + 90_000_000 + 8_765_432 + 1_234_568,
            2,
            160_000_000,
            5
        )
    );
    assert_eq!(stats_tuple(&info["mempool_stats"]), (1, 5_000_000, 0, 0, 1));
    let (txs, _) = h.all_chain_txs(DEMO_BTC_ADDRESS).await;
    // The demo instant, 2026-01-01T01:45:00Z, pinned by timestamp and by median time.
    let instant = G + 6_300;
    let mut by_time = 0;
    let mut by_median = 0;
    for height in 0..40u64 {
        let hash = h.text(&format!("/block-height/{height}")).await;
        let b = h.json(&format!("/block/{hash}")).await;
        if b["timestamp"].as_u64().unwrap() <= instant {
            by_time = height;
        }
        if b["mediantime"].as_u64().unwrap() <= instant {
            by_median = height;
        }
    }
    assert_eq!((by_time, by_median), (10, 15));
    for pin in [by_time, by_median] {
        let upto: Vec<Value> = txs
            .iter()
            .filter(|t| t["status"]["block_height"].as_u64().unwrap() <= pin)
            .cloned()
            .collect();
        let (_, funded, _, spent) = sums(&upto, DEMO_BTC_ADDRESS);
        assert_eq!(funded - spent, 150_000_000, "pinned at {pin}");
        assert_eq!(upto.len(), 3);
    }
    let counterparty = h.json(&format!("/address/{DEMO_BTC_COUNTERPARTY}")).await;
    assert_eq!(counterparty["chain_stats"]["funded_txo_sum"], 61_232_568);
}

#[tokio::test]
async fn seeded_addresses_are_computed_and_consistent() {
    let d = start(2_000).await;
    let h = Http::new(&d);
    let n = d.esplora();
    let t = Instant::now();
    n.seed_addresses(1_000_000, 1..=200, 42);
    assert!(t.elapsed() < Duration::from_millis(100), "seeding is free");
    assert_eq!(n.seeded_addresses(), 1_000_000);
    let mut above = 0;
    for i in [0u64, 1, 31_337, 999_999] {
        let a = seed_address(i);
        let info = h.json(&format!("/address/{a}")).await;
        let (txs, sizes) = h.all_chain_txs(&a).await;
        assert!((1..=200).contains(&txs.len()), "{}", txs.len());
        let (last, full) = sizes.split_last().unwrap();
        assert_eq!(*last, 0);
        assert!(full.iter().rev().skip(1).all(|s| *s == 25), "{sizes:?}");
        let (fc, fs, sc, ss) = sums(&txs, &a);
        assert_eq!(
            stats_tuple(&info["chain_stats"]),
            (fc, fs, sc, ss, txs.len() as u64),
            "seeded {i}"
        );
        assert_eq!(n.balance(&a, None).unwrap(), fs - ss);
        let ids: Vec<String> = txs.iter().map(|t| txid(t).to_owned()).collect();
        assert_eq!(ids, n.txids(&a, None).unwrap());
        for t in &txs {
            let height = t["status"]["block_height"].as_u64().unwrap();
            assert!((1..=1_999).contains(&height));
            above += usize::from(height > 1_000);
        }
        // Pinned lower, the balance is the sum of the history up to there.
        let upto: Vec<Value> = txs
            .iter()
            .filter(|t| t["status"]["block_height"].as_u64().unwrap() <= 1_000)
            .cloned()
            .collect();
        let (_, f, _, s) = sums(&upto, &a);
        assert_eq!(n.balance(&a, Some(1_000)).unwrap(), f - s);
    }
    assert!(above > 0, "some transactions above block 1,000");
    // Past the seeded count: nothing. Payments join a seeded history.
    let beyond = seed_address(1_000_000);
    assert_eq!(
        stats_tuple(&h.json(&format!("/address/{beyond}")).await["chain_stats"]),
        (0, 0, 0, 0, 0)
    );
    let a = seed_address(7);
    let before = n.txids(&a, None).unwrap().len();
    n.pay(&a, 1).unwrap();
    n.mine(1);
    assert_eq!(
        h.json(&format!("/address/{a}")).await["chain_stats"]["tx_count"],
        before as u64 + 1
    );
    // Seeding again replaces the earlier seeding; histories past the tip come as mined.
    n.seed_addresses_between(10, 5..=5, 1, 2_001..=2_005);
    assert_eq!(n.seeded_addresses(), 10);
    assert_eq!(n.txids(&seed_address(3), None).unwrap().len(), 0);
    n.mine(10);
    assert_eq!(n.txids(&seed_address(3), None).unwrap().len(), 5);
    assert_eq!(n.txids(&seed_address(10), None).unwrap().len(), 0);
}
