//! The Esplora node's HTTP side: routing a path as Esplora (electrs) does, counting it,
//! applying the fault switches, and answering under one lock of the chain and ledger so
//! that one answer sees one tip.

use std::sync::atomic::Ordering;

use alloy_primitives::keccak256;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::address::{self, hex, unhex_32, BtcAddress, ScriptKind};
use super::ledger::{chain_page, mempool_page, stats, Stats, Tx, TxIn};
use super::{EsploraNetwork, EsploraNode, World, BLOCKS_PER_LIST};
use crate::faults::{cut_body, FaultAction};

/// Longest path [`EsploraNode::seen_paths`] keeps, in bytes.
pub(super) const SEEN_PATH_MAX_LEN: usize = 1024;

/// A request, routed.
#[derive(Debug)]
enum Route {
    TipHeight,
    TipHash,
    /// `/blocks[/:start_height]`; `None` (also for an unparsable height) from the tip.
    Blocks(Option<u64>),
    BlockHeight(u64),
    Block([u8; 32]),
    BlockStatus([u8; 32]),
    /// The address as written in the path, and as parsed.
    Address(String, BtcAddress),
    /// `/address/:a/txs`: mempool and the first confirmed page.
    AddressTxs(BtcAddress),
    /// `/address/:a/txs/chain[/:last_seen_txid]`.
    AddressChain(BtcAddress, Option<[u8; 32]>),
    AddressMempool(BtcAddress),
}

/// What a request turned out to be.
#[derive(Debug)]
enum Routed {
    Route(Route),
    /// A known endpoint with a malformed parameter: 400 with this text.
    Invalid(&'static str),
    /// No such endpoint: 404.
    NotFound,
}

/// Splits off the base path prefixes public instances use (`/api`, `/testnet/api`,
/// `/testnet4/api`, `/signet/api`).
fn strip_prefix<'a>(segments: &'a [&'a str]) -> &'a [&'a str] {
    match segments {
        ["api", rest @ ..] => rest,
        ["testnet" | "testnet4" | "signet", "api", rest @ ..] => rest,
        _ => segments,
    }
}

/// Routes `path` as electrs does (no percent-decoding; a malformed last-seen txid reads
/// as none).
fn route(method: &Method, path: &str, network: EsploraNetwork) -> Routed {
    if method != Method::GET && method != Method::HEAD {
        return Routed::NotFound;
    }
    let all: Vec<&str> = path.split('/').skip(1).collect();
    let seg = strip_prefix(&all);
    let parse_address = |s: &str| address::parse(network, s).map_err(|e| e.message());
    let hash = |s: &str| unhex_32(s).ok_or("Invalid hex string");
    let r = match seg {
        ["blocks", "tip", "height"] => Ok(Route::TipHeight),
        ["blocks", "tip", "hash"] => Ok(Route::TipHash),
        ["blocks"] => Ok(Route::Blocks(None)),
        ["blocks", start] => Ok(Route::Blocks(start.parse().ok())),
        ["block-height", h] => h
            .parse::<u64>()
            .map(Route::BlockHeight)
            .map_err(|_| "Invalid number"),
        ["block", h] => hash(h).map(Route::Block),
        ["block", h, "status"] => hash(h).map(Route::BlockStatus),
        ["address", a] => parse_address(a).map(|p| Route::Address((*a).to_owned(), p)),
        ["address", a, "txs"] => parse_address(a).map(Route::AddressTxs),
        ["address", a, "txs", "chain"] => parse_address(a).map(|p| Route::AddressChain(p, None)),
        ["address", a, "txs", "chain", seen] => {
            parse_address(a).map(|p| Route::AddressChain(p, unhex_32(seen)))
        }
        ["address", a, "txs", "mempool"] => parse_address(a).map(Route::AddressMempool),
        _ => return Routed::NotFound,
    };
    match r {
        Ok(r) => Routed::Route(r),
        Err(message) => Routed::Invalid(message),
    }
}

/// An answer before it becomes a response.
struct Answer {
    status: StatusCode,
    json: bool,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

impl Answer {
    fn text(status: StatusCode, message: impl Into<String>) -> Answer {
        Answer {
            status,
            json: false,
            body: message.into().into_bytes(),
            retry_after: None,
        }
    }

    fn ok_text(message: impl Into<String>) -> Answer {
        Answer::text(StatusCode::OK, message)
    }

    fn json(value: &Value) -> Answer {
        Answer {
            status: StatusCode::OK,
            json: true,
            body: value.to_string().into_bytes(),
            retry_after: None,
        }
    }

    fn json_text(body: String) -> Answer {
        Answer {
            status: StatusCode::OK,
            json: true,
            body: body.into_bytes(),
            retry_after: None,
        }
    }

    fn block_not_found() -> Answer {
        Answer::text(StatusCode::NOT_FOUND, "Block not found")
    }

    /// 429 in plain text, as public Esplora instances answer (with `Retry-After` only
    /// when [`EsploraNode::set_send_retry_after`] is on).
    fn throttled(retry_after: Option<u64>) -> Answer {
        let mut a = Answer::text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        a.retry_after = retry_after;
        a
    }

    fn into_response(self, drop_mid_body: bool) -> Response {
        let body = if drop_mid_body {
            cut_body(self.body)
        } else {
            Body::from(self.body)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(if self.json {
                "application/json"
            } else {
                "text/plain"
            }),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

// ---------------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------------

/// The compact target every block of `network` reports.
fn bits(network: EsploraNetwork) -> u32 {
    match network {
        EsploraNetwork::Mainnet => 0x1703_0ecd,
        EsploraNetwork::Testnet => 0x1d00_ffff,
        EsploraNetwork::Signet => 0x1e03_77ae,
        EsploraNetwork::Regtest => 0x207f_ffff,
    }
}

/// The difficulty of a compact target (the genesis target over this one).
fn difficulty(bits: u32) -> f64 {
    let exponent = i32::try_from(bits >> 24).unwrap_or(0);
    let mantissa = f64::from((bits & 0x00ff_ffff).max(1));
    f64::from(0xffff_u32) / mantissa * 256f64.powi(0x1d - exponent)
}

/// Block `n` as `GET /block/:hash` answers it.
fn block_json(w: &World, n: u64) -> Value {
    let hash = w.chain.hash(n);
    let (coinbases, others) = w.ledger.stored_at(n);
    let tx_count = coinbases.max(1) + others;
    let size = 81 + 250 * tx_count;
    let bits = bits(w.chain.network());
    let nonce = u32::from_be_bytes([hash[28], hash[29], hash[30], hash[31]]);
    json!({
        "id": hex(&hash),
        "height": n,
        "version": 0x2000_0000u32,
        "timestamp": w.chain.timestamp(n),
        "tx_count": tx_count,
        "size": size,
        "weight": size * 4 - 300 * tx_count,
        "merkle_root": hex(&keccak256(hash).0),
        "previousblockhash": n.checked_sub(1).map(|p| hex(&w.chain.hash(p))),
        "mediantime": w.chain.mediantime(n),
        "nonce": nonce,
        "bits": bits,
        "difficulty": difficulty(bits),
    })
}

/// `chain_stats` / `mempool_stats`.
fn stats_json(s: &Stats) -> Value {
    json!({
        "funded_txo_count": s.funded_txo_count,
        "funded_txo_sum": s.funded_txo_sum,
        "spent_txo_count": s.spent_txo_count,
        "spent_txo_sum": s.spent_txo_sum,
        "tx_count": s.tx_count,
    })
}

/// An output, as Esplora writes `vout` entries and `prevout`s.
fn output_json(network: EsploraNetwork, addr: &str, value: u64) -> Value {
    match address::parse(network, addr) {
        Ok(a) => json!({
            "scriptpubkey": hex(&a.script()),
            "scriptpubkey_asm": a.script_asm(),
            "scriptpubkey_type": a.kind.name(),
            "scriptpubkey_address": a.canonical,
            "value": value,
        }),
        // Every stored address was accepted by the same parser; this is unreachable.
        Err(_) => json!({
            "scriptpubkey": "",
            "scriptpubkey_asm": "",
            "scriptpubkey_type": "empty",
            "value": value,
        }),
    }
}

/// `n` bytes made up from `txid`, the input index and a tag (signatures and keys).
fn made_up(txid: &[u8; 32], index: usize, tag: u8, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    let mut counter = 0u8;
    while out.len() < n {
        let mut pre = Vec::with_capacity(42);
        pre.extend_from_slice(txid);
        pre.extend_from_slice(&(index as u64).to_be_bytes());
        pre.push(tag);
        pre.push(counter);
        out.extend_from_slice(&keccak256(&pre).0);
        counter = counter.wrapping_add(1);
    }
    out.truncate(n);
    out
}

/// The length prefix of a byte string in a transaction (a Bitcoin varint).
fn varint_len(n: usize) -> usize {
    match n {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        _ => 5,
    }
}

/// One input as JSON, and its (non-witness, witness) sizes in bytes.
fn input_json(
    network: EsploraNetwork,
    tx: &Tx,
    index: usize,
    input: &TxIn,
) -> (Value, usize, usize) {
    let Some((prev_addr, prev_value)) = &input.prevout else {
        // A coinbase: BIP-34 height push and a tag, the witness reserved value.
        let h = tx.height.unwrap_or(0).to_le_bytes();
        let script = [&[0x03][..], &h[..3], &[0x06], b"tokbal"].concat();
        let asm = format!(
            "OP_PUSHBYTES_3 {} OP_PUSHBYTES_6 {}",
            hex(&h[..3]),
            hex(b"tokbal")
        );
        let v = json!({
            "txid": hex(&[0u8; 32]),
            "vout": u32::MAX,
            "prevout": null,
            "scriptsig": hex(&script),
            "scriptsig_asm": asm,
            "witness": [hex(&[0u8; 32])],
            "is_coinbase": true,
            "sequence": u32::MAX,
        });
        return (v, 41 + script.len(), 1 + 1 + 32);
    };
    let kind = address::parse(network, prev_addr)
        .map(|a| a.kind)
        .unwrap_or(ScriptKind::V0P2wpkh);
    let r = made_up(&tx.txid, index, b'r', 32);
    let s = made_up(&tx.txid, index, b's', 32);
    let sig = [
        &[0x30, 0x44, 0x02, 0x20][..],
        &r,
        &[0x02, 0x20],
        &s,
        &[0x01],
    ]
    .concat();
    let pubkey = [&[0x02][..], &made_up(&tx.txid, index, b'k', 32)].concat();
    let (scriptsig, scriptsig_asm, witness, inner): (Vec<u8>, String, Option<Vec<Vec<u8>>>, _) =
        match kind {
            ScriptKind::P2pkh => (
                [&[0x47][..], &sig, &[0x21], &pubkey].concat(),
                format!(
                    "OP_PUSHBYTES_71 {} OP_PUSHBYTES_33 {}",
                    hex(&sig),
                    hex(&pubkey)
                ),
                None,
                None,
            ),
            ScriptKind::P2sh => {
                // Nested P2WPKH: the redeem script pushes the key's hash.
                let key_hash = &keccak256(&pubkey).0[..20];
                let redeem = [&[0x00, 0x14][..], key_hash].concat();
                (
                    [&[0x16][..], &redeem].concat(),
                    format!("OP_PUSHBYTES_22 {}", hex(&redeem)),
                    Some(vec![sig, pubkey]),
                    Some(format!("OP_0 OP_PUSHBYTES_20 {}", hex(key_hash))),
                )
            }
            ScriptKind::V1P2tr => (Vec::new(), String::new(), Some(vec![[r, s].concat()]), None),
            _ => (Vec::new(), String::new(), Some(vec![sig, pubkey]), None),
        };
    let base = 32 + 4 + varint_len(scriptsig.len()) + scriptsig.len() + 4;
    let wit = witness.as_ref().map_or(1, |items| {
        varint_len(items.len())
            + items
                .iter()
                .map(|i| varint_len(i.len()) + i.len())
                .sum::<usize>()
    });
    let mut v = json!({
        "txid": hex(&input.txid),
        "vout": input.vout,
        "prevout": output_json(network, prev_addr, *prev_value),
        "scriptsig": hex(&scriptsig),
        "scriptsig_asm": scriptsig_asm,
        "is_coinbase": false,
        "sequence": 0xffff_fffdu32,
    });
    if let Some(items) = &witness {
        v["witness"] = items.iter().map(|i| Value::from(hex(i))).collect();
    }
    if let Some(asm) = inner {
        v["inner_redeemscript_asm"] = Value::from(asm);
    }
    (v, base, if witness.is_some() { wit } else { 1 })
}

/// A transaction as the address endpoints answer it, its status as seen at `tip` (what
/// [`txs_json`] writes, kept to check it against).
#[cfg(test)]
fn tx_json(w: &World, tx: &Tx, tip: u64) -> Value {
    let mut v = tx_json_without_status(w, tx);
    v["status"] = match tx.height.filter(|h| *h <= tip) {
        Some(h) => json!({
            "confirmed": true,
            "block_height": h,
            "block_hash": hex(&w.chain.hash(h)),
            "block_time": w.chain.timestamp(h),
        }),
        None => json!({ "confirmed": false }),
    };
    v
}

/// A list of transactions as the address endpoints answer it (the same bytes as
/// [`tx_json`]'s values in an array), each made once and kept on the transaction but for its
/// status.
fn txs_json<'a>(w: &World, txs: impl Iterator<Item = &'a Tx>, tip: u64) -> String {
    const STATUS: &str = "\"status\":";
    let mut out = String::from("[");
    for (k, tx) in txs.enumerate() {
        if k > 0 {
            out.push(',');
        }
        let (before, after) = tx.rendered.get_or_init(|| {
            let mut v = tx_json_without_status(w, tx);
            v["status"] = Value::Null;
            let s = v.to_string();
            // Keys are written in order: only `fee`, `locktime` and `size` (numbers) come
            // before `status`.
            let at = s
                .find("\"status\":null")
                .map_or(s.len(), |p| p + STATUS.len());
            let rest = (at + 4).min(s.len());
            (s[..at].into(), s[rest..].into())
        });
        out.push_str(before);
        match tx.height.filter(|h| *h <= tip) {
            Some(h) => {
                use std::fmt::Write as _;
                let _ = write!(
                    out,
                    "{{\"block_hash\":\"{}\",\"block_height\":{h},\"block_time\":{},\"confirmed\":true}}",
                    hex(&w.chain.hash(h)),
                    w.chain.timestamp(h)
                );
            }
            None => out.push_str("{\"confirmed\":false}"),
        }
        out.push_str(after);
    }
    out.push(']');
    out
}

/// [`tx_json`] without `status`.
fn tx_json_without_status(w: &World, tx: &Tx) -> Value {
    let network = w.chain.network();
    let mut base = 4 + varint_len(tx.inputs.len()) + varint_len(tx.outputs.len()) + 4;
    let mut witness = 0usize;
    let mut any_witness = false;
    let vin: Vec<Value> = tx
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let (v, b, wit) = input_json(network, tx, i, input);
            base += b;
            witness += wit;
            any_witness |= v.get("witness").is_some();
            v
        })
        .collect();
    let vout: Vec<Value> = tx
        .outputs
        .iter()
        .map(|o| {
            let v = output_json(network, &o.address, o.value);
            let script_len = v["scriptpubkey"].as_str().map_or(0, str::len) / 2;
            base += 8 + varint_len(script_len) + script_len;
            v
        })
        .collect();
    let witness = if any_witness { 2 + witness } else { 0 };
    json!({
        "txid": hex(&tx.txid),
        "version": 2,
        "locktime": 0,
        "vin": vin,
        "vout": vout,
        "size": base + witness,
        "weight": base * 4 + witness,
        "fee": tx.fee(),
    })
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

impl EsploraNode {
    /// Answers a routed request as a replica `lag` blocks behind.
    fn answer(&self, route: Route, lag: u64) -> Answer {
        let w = self.lock();
        let tip = w.chain.tip.saturating_sub(lag);
        match route {
            Route::TipHeight => Answer::ok_text(tip.to_string()),
            Route::TipHash => Answer::ok_text(hex(&w.chain.hash(tip))),
            Route::Blocks(start) => {
                let start = start.unwrap_or(tip);
                if start > tip {
                    return Answer::block_not_found();
                }
                let blocks: Vec<Value> = (start.saturating_sub(BLOCKS_PER_LIST - 1)..=start)
                    .rev()
                    .map(|n| block_json(&w, n))
                    .collect();
                Answer::json(&Value::Array(blocks))
            }
            Route::BlockHeight(n) if n <= tip => Answer::ok_text(hex(&w.chain.hash(n))),
            Route::BlockHeight(_) => Answer::block_not_found(),
            Route::Block(h) => match w.chain.height_of(&h, tip) {
                Some(n) => Answer::json(&block_json(&w, n)),
                None => Answer::block_not_found(),
            },
            Route::BlockStatus(h) => Answer::json(&match w.chain.height_of(&h, tip) {
                Some(n) => json!({
                    "in_best_chain": true,
                    "height": n,
                    "next_best": (n < tip).then(|| hex(&w.chain.hash(n + 1))),
                }),
                None => json!({"in_best_chain": false, "height": null, "next_best": null}),
            }),
            Route::Address(written, a) => {
                let seeded = w.ledger.seeded_history(&a);
                let txs = w.ledger.history(&a, &seeded);
                let (chain, mempool) = stats(&txs, &a.canonical, tip);
                Answer::json(&json!({
                    "address": written,
                    "chain_stats": stats_json(&chain),
                    "mempool_stats": stats_json(&mempool),
                }))
            }
            Route::AddressTxs(a) => {
                let seeded = w.ledger.seeded_history(&a);
                let txs = w.ledger.history(&a, &seeded);
                let list = mempool_page(&txs, tip)
                    .into_iter()
                    .chain(chain_page(&txs, tip, None));
                Answer::json_text(txs_json(&w, list, tip))
            }
            Route::AddressChain(a, last_seen) => {
                let seeded = w.ledger.seeded_history(&a);
                let txs = w.ledger.history(&a, &seeded);
                let list = chain_page(&txs, tip, last_seen.as_ref()).into_iter();
                Answer::json_text(txs_json(&w, list, tip))
            }
            Route::AddressMempool(a) => {
                let seeded = w.ledger.seeded_history(&a);
                let txs = w.ledger.history(&a, &seeded);
                let list = mempool_page(&txs, tip).into_iter();
                Answer::json_text(txs_json(&w, list, tip))
            }
        }
    }

    /// Counts a request under its kind and remembers its path.
    fn record(&self, routed: &Routed, path: &str) {
        let c = &self.inner.counters;
        let counter = match routed {
            Routed::Invalid(_) => &c.invalid,
            Routed::NotFound => &c.not_found,
            Routed::Route(r) => match r {
                Route::TipHeight => &c.tip_height,
                Route::TipHash => &c.tip_hash,
                Route::Blocks(_) => &c.blocks,
                Route::BlockHeight(_) => &c.block_height,
                Route::Block(_) => &c.block,
                Route::BlockStatus(_) => &c.block_status,
                Route::Address(..) => &c.address,
                Route::AddressTxs(_) | Route::AddressChain(..) => &c.address_txs,
                Route::AddressMempool(_) => &c.mempool,
            },
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut cut = path.len().min(SEEN_PATH_MAX_LEN);
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        self.inner.seen.push(path[..cut].to_owned());
    }
}

/// Shared by the handler: the node and the server's shutdown signal.
#[derive(Clone)]
struct ServerState {
    node: EsploraNode,
    cancel: CancellationToken,
}

async fn handle(State(st): State<ServerState>, req: Request) -> Response {
    let node = &st.node;
    node.inner.counters.http.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path().to_owned();
    let routed = route(req.method(), &path, node.network());
    node.record(&routed, &path);
    node.on_request();

    let decision = node.faults().decide();
    let handled = crate::faults::delayed(decision.delay, &st.cancel, || {
        let retry_after = node
            .knobs()
            .send_retry_after
            .then(|| node.faults().retry_after_secs());
        match decision.action {
            Some(FaultAction::Throttle { .. }) => Answer::throttled(retry_after),
            Some(FaultAction::Fail { status: 429 }) => Answer::throttled(retry_after),
            Some(FaultAction::Fail { status }) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Answer::text(status, status.canonical_reason().unwrap_or("Error"))
            }
            Some(FaultAction::Drop) | None => match routed {
                Routed::Route(r) => node.answer(r, decision.lag),
                Routed::Invalid(message) => Answer::text(StatusCode::BAD_REQUEST, message),
                Routed::NotFound => Answer::text(
                    StatusCode::NOT_FOUND,
                    format!("endpoint does not exist {path:?}"),
                ),
            },
        }
    });
    let Some(answer) = handled.await else {
        return Answer::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the devnet is shutting down",
        )
        .into_response(false);
    };
    answer.into_response(decision.action == Some(FaultAction::Drop))
}

/// The axum router answering for `node` (every path and method goes through one handler).
pub(crate) fn router(node: EsploraNode, cancel: CancellationToken) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(ServerState { node, cancel })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(path: &str) -> String {
        match route(&Method::GET, path, EsploraNetwork::Mainnet) {
            Routed::Route(r) => format!("{r:?}")
                .split(['(', ' '])
                .next()
                .unwrap()
                .to_owned(),
            Routed::Invalid(m) => format!("400 {m}"),
            Routed::NotFound => "404".into(),
        }
    }

    #[test]
    fn routes_like_electrs() {
        let a = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
        let h = "00".repeat(32);
        for (path, want) in [
            ("/blocks/tip/height", "TipHeight"),
            ("/api/blocks/tip/height", "TipHeight"),
            ("/testnet/api/blocks/tip/hash", "TipHash"),
            ("/blocks/tip/height/", "404"),
            ("/blocks", "Blocks"),
            ("/blocks/tip", "Blocks"),
            ("/blocks/12", "Blocks"),
            ("/block-height/7", "BlockHeight"),
            ("/block-height/+7", "BlockHeight"),
            ("/block-height/-1", "400 Invalid number"),
            ("/block-height/", "400 Invalid number"),
            ("/block-height/99999999999999999999", "400 Invalid number"),
            (&format!("/block/{h}"), "Block"),
            (&format!("/block/{h}/status"), "BlockStatus"),
            ("/block/abc", "400 Invalid hex string"),
            (&format!("/block/{h}0/status"), "400 Invalid hex string"),
            (&format!("/address/{a}"), "Address"),
            (&format!("/address/{a}/txs"), "AddressTxs"),
            (&format!("/address/{a}/txs/chain"), "AddressChain"),
            (&format!("/address/{a}/txs/chain/{h}"), "AddressChain"),
            (&format!("/address/{a}/txs/chain/nothex"), "AddressChain"),
            (&format!("/address/{a}/txs/mempool"), "AddressMempool"),
            (&format!("/address/{a}/utxo"), "404"),
            ("/address/xyz", "400 Invalid Bitcoin address"),
            (
                "/address/tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
                "400 Address on invalid network",
            ),
            ("/address/%62c1q", "400 Invalid Bitcoin address"),
            ("", "404"),
            ("/", "404"),
            ("//blocks/tip/height", "404"),
            ("/api", "404"),
            ("/tx/abc", "404"),
        ] {
            assert_eq!(kind(path), want, "{path}");
        }
        assert!(matches!(
            route(&Method::POST, "/blocks/tip/height", EsploraNetwork::Mainnet),
            Routed::NotFound
        ));
        match route(
            &Method::GET,
            &format!("/address/{a}/txs/chain/nothex"),
            EsploraNetwork::Mainnet,
        ) {
            Routed::Route(Route::AddressChain(_, None)) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kept_json_is_the_same_bytes() {
        use crate::esplora::{seed_address, EsploraConfig};
        let node = EsploraNode::new(&EsploraConfig::default(), 1_767_225_600, 1, 2);
        node.seed_addresses(3, 1..=40, 7);
        let a = seed_address(1);
        let p2pkh = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2";
        let p2sh = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
        let p2tr = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0";
        node.pay(&a, 90_000).unwrap();
        node.pay_coinbase(p2pkh, 5_000).unwrap();
        node.pay(p2pkh, 70_000).unwrap();
        node.pay(p2sh, 70_000).unwrap();
        node.pay(p2tr, 70_000).unwrap();
        node.mine(1);
        node.transfer(p2pkh, &a, 10_000).unwrap();
        node.transfer(p2sh, &a, 10_000).unwrap();
        node.transfer_mempool(p2tr, &a, 10_000).unwrap();
        for _ in 0..2 {
            let w = node.lock();
            let tip = w.chain.tip;
            for t in [tip, tip - 1, tip - 500] {
                for addr in [a.as_str(), p2pkh, p2sh, p2tr] {
                    let parsed = address::parse(EsploraNetwork::Mainnet, addr).unwrap();
                    let seeded = w.ledger.seeded_history(&parsed);
                    let txs = w.ledger.history(&parsed, &seeded);
                    assert!(!txs.is_empty());
                    let want = Value::Array(txs.iter().map(|x| tx_json(&w, x, t)).collect());
                    let got = txs_json(&w, txs.iter().copied(), t);
                    assert_eq!(got, want.to_string());
                }
            }
        }
    }

    #[test]
    fn difficulty_of_known_targets() {
        assert_eq!(difficulty(0x1d00_ffff), 1.0);
        assert!((difficulty(0x207f_ffff) - 4.656_542_373_906_925e-10).abs() < 1e-20);
        assert!(difficulty(bits(EsploraNetwork::Mainnet)) > 1e13);
        assert!(difficulty(0).is_finite());
    }
}
