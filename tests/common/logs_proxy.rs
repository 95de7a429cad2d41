//! A JSON-RPC proxy on 127.0.0.1 in front of a node (anvil), that refuses `eth_getLogs` as
//! providers do and counts what it saw.
//!
//! Include it with `#[path = "common/logs_proxy.rs"] mod logs_proxy;` beside
//! `common/anvil.rs`, then:
//!
//! ```ignore
//! let proxy = LogsProxy::start(node.url(), Limits::new().max_blocks(10).max_logs(50)).await;
//! // point the client at proxy.url(); afterwards: proxy.log_requests(), proxy.refusals(), ...
//! ```
//!
//! # What it does
//!
//! Every request is forwarded to the node as it came and the node's answer handed back, but:
//!
//! - **Rate limits** ([`Throttle`]): the first N requests, or every k-th one, counted over all
//!   HTTP requests (batches included), are answered HTTP 429 with `Retry-After: 1` and a
//!   JSON-RPC error body ([`ThrottleShape::Http429`]), or HTTP 200 with Infura's `-32005`
//!   "project ID request rate exceeded" ([`ThrottleShape::RateMessage`]), without reaching the
//!   node.
//! - **`eth_getLogs`** (a single request, not in a batch) with a block range of more than one
//!   block (`fromBlock`/`toBlock` as numbers or tags; a `blockHash` filter is never refused):
//!   when the range is longer than [`Limits::max_blocks`] or the node's answer holds more logs
//!   than [`Limits::max_logs`], the request is refused in the words of [`Limits::shape`]. A
//!   suggested range starts at the requested `fromBlock` and ends at the last block that keeps
//!   both caps (at least `fromBlock` itself: one block is always answered whole).
//! - **Removed logs** ([`Limits::removed_logs`]): each answered `eth_getLogs` may get one more
//!   log, marked `"removed": true` as after a reorganisation, naming an owner no one paid.
//! - **A reorganisation** ([`Limits::reorg_on_logs`]): the chain's last blocks replaced by
//!   empty ones when the first `eth_getLogs` arrives, before it is answered.
//! - **Batches** (JSON arrays) are forwarded as they are, `eth_getLogs` inside them included.
//!
//! Counters: every request and its method ([`LogsProxy::method_count`]), and every
//! `eth_getLogs` with its range and what became of it ([`LogsProxy::log_requests`]).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

/// How a refusal of `eth_getLogs` is worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Infura: `-32005 "query returned more than N results. Try with this block range
    /// [0xA, 0xB]."`, the range also in `error.data.from/to`.
    Infura,
    /// Alchemy: `-32602 "Log response size exceeded. You can make eth_getLogs requests with up
    /// to a R block range and no limit on the response size, or you can request any block
    /// range with a cap of N logs in the response. Based on your parameters, this block range
    /// should work: [0xA, 0xB]"`.
    Alchemy,
    /// reth, Erigon and the nodes built on them: `-32602 "query exceeds max results N, retry
    /// with the range A-B"` (decimal).
    RetryRange,
    /// `-32000 "block range too large"`: no range named.
    TooLarge,
    /// `-32005 "query timeout exceeded"`: no range named (Infura words its timeouts with the
    /// same code as its result cap and its rate limit).
    Timeout,
    /// reth before it was fixed: [`Shape::RetryRange`]'s words naming the very range that was
    /// asked for, whatever would fit.
    EchoedRange,
    /// Infura's block-range cap: `-32602 "range R exceeds limit of M"` (R the blocks asked
    /// for, M the cap; for a result cap, M the most blocks from `fromBlock` that would fit).
    RangeExceedsLimit,
    /// QuickNode: HTTP 413 with `-32614 "eth_getLogs is limited to a M range"` (M the cap as
    /// in [`Shape::RangeExceedsLimit`], written `10,000`).
    Http413,
}

impl Shape {
    /// The shapes every provider-facing client must follow.
    pub const REQUIRED: [Shape; 5] = [
        Shape::Infura,
        Shape::Alchemy,
        Shape::RetryRange,
        Shape::TooLarge,
        Shape::Timeout,
    ];
    /// Shapes seen in the wild beyond those.
    pub const QUIRKS: [Shape; 3] = [Shape::EchoedRange, Shape::RangeExceedsLimit, Shape::Http413];

    /// Whether the refusal names a range to read instead.
    pub fn suggests_range(self) -> bool {
        matches!(
            self,
            Shape::Infura | Shape::Alchemy | Shape::RetryRange | Shape::EchoedRange
        )
    }
}

/// Which requests are answered with a rate limit instead of being forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// None.
    Never,
    /// The first `n` requests the proxy receives.
    First(u64),
    /// Every `k`-th request (the k-th, the 2k-th, ...).
    Every(u64),
}

/// How a rate limit is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleShape {
    /// HTTP 429, `Retry-After: 1`, body `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,
    /// "message":"Too Many Requests"}}`.
    Http429,
    /// HTTP 200, `{"code":-32005,"message":"project ID request rate exceeded","data":
    /// {"see":"https://infura.io/dashboard","current_rps":13.3,"allowed_rps":10.0,
    /// "backoff_seconds":1.0}}` (Infura's words: the same code as its result cap).
    RateMessage,
}

/// What the proxy enforces.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most blocks one `eth_getLogs` may span (`None`: no cap).
    pub max_blocks: Option<u64>,
    /// The most logs one `eth_getLogs` may answer (`None`: no cap).
    pub max_logs: Option<usize>,
    /// How refusals are worded.
    pub shape: Shape,
    /// Which requests get a rate limit.
    pub throttle: Throttle,
    /// How a rate limit is answered.
    pub throttle_shape: ThrottleShape,
    /// Whether each answered `eth_getLogs` with logs gets one more, as a node answers after a
    /// reorganisation: a copy of its first log marked `"removed": true`, naming
    /// [`REMOVED_OWNER`] as the receiver.
    pub removed_logs: bool,
    /// Reorganise the chain once (until [`LogsProxy::reset`]), when the first `eth_getLogs`
    /// arrives, before answering it:
    /// `anvil_reorg [depth, []]` replaces the last `depth` blocks with empty ones (the tip
    /// keeps its number, not its hash; the transactions in them are gone).
    pub reorg_on_logs: Option<u64>,
    /// A method answered only after this many milliseconds (a slow pin, say).
    pub slow: Option<(&'static str, u64)>,
}

/// The receiver named by the logs [`Limits::removed_logs`] adds.
pub const REMOVED_OWNER: [u8; 20] = [0x7e; 20];

const TRANSFER_TOPIC: &str = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// No cap, no rate limit: every request forwarded.
    pub fn new() -> Self {
        Limits {
            max_blocks: None,
            max_logs: None,
            shape: Shape::Infura,
            throttle: Throttle::Never,
            throttle_shape: ThrottleShape::Http429,
            removed_logs: false,
            reorg_on_logs: None,
            slow: None,
        }
    }

    pub fn max_blocks(mut self, n: u64) -> Self {
        self.max_blocks = Some(n);
        self
    }

    pub fn max_logs(mut self, n: usize) -> Self {
        self.max_logs = Some(n);
        self
    }

    pub fn shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = throttle;
        self
    }

    pub fn throttle_shape(mut self, shape: ThrottleShape) -> Self {
        self.throttle_shape = shape;
        self
    }

    pub fn slow(mut self, method: &'static str, ms: u64) -> Self {
        self.slow = Some((method, ms));
        self
    }

    pub fn removed_logs(mut self, on: bool) -> Self {
        self.removed_logs = on;
        self
    }

    pub fn reorg_on_logs(mut self, depth: u64) -> Self {
        self.reorg_on_logs = Some(depth);
        self
    }
}

/// What became of one `eth_getLogs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded and answered: this many logs from the node (a removed one added aside; 0
    /// when the node answered an error).
    Answered(usize),
    /// Refused for its size; `suggested` is the range the refusal names, if any.
    Refused { suggested: Option<(u64, u64)> },
    /// Answered with a rate limit, not looked at.
    Throttled,
}

/// One `eth_getLogs` the proxy received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogsRequest {
    /// The range asked for, resolved to numbers (`None` for a `blockHash` filter, and for a
    /// throttled request whose range is not two numbers: its tags are not resolved).
    pub range: Option<(u64, u64)>,
    pub outcome: Outcome,
}

impl LogsRequest {
    /// The blocks the range spans.
    pub fn blocks(&self) -> Option<u64> {
        self.range.map(|(from, to)| to.saturating_sub(from) + 1)
    }
}

#[derive(Default)]
struct Counters {
    requests: u64,
    reorgs: u64,
    batches: u64,
    throttled: u64,
    methods: BTreeMap<String, u64>,
    /// Every method, in the order its request arrived.
    arrivals: Vec<String>,
    logs: Vec<LogsRequest>,
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    limits: Mutex<Limits>,
    counters: Mutex<Counters>,
}

/// The proxy: serves until dropped.
pub struct LogsProxy {
    url: String,
    inner: Arc<Inner>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for LogsProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl LogsProxy {
    /// Starts the proxy on 127.0.0.1 (a port the OS picks), forwarding to `upstream`.
    pub async fn start(upstream: &str, limits: Limits) -> LogsProxy {
        let inner = Arc::new(Inner {
            upstream: upstream.to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("an HTTP client"),
            limits: Mutex::new(limits),
            counters: Mutex::new(Counters::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let port = listener.local_addr().expect("the proxy's address").port();
        let app = Router::new()
            .route("/", axum::routing::post(handle))
            .with_state(Arc::clone(&inner));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LogsProxy {
            url: format!("http://127.0.0.1:{port}"),
            inner,
            server,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the limits, for the requests that come next.
    pub fn set_limits(&self, limits: Limits) {
        *lock(&self.inner.limits) = limits;
    }

    /// Forgets every count.
    pub fn reset(&self) {
        *lock(&self.inner.counters) = Counters::default();
    }

    /// HTTP requests received, throttled ones and batches included.
    pub fn requests(&self) -> u64 {
        lock(&self.inner.counters).requests
    }

    /// Requests that were batches (JSON arrays).
    pub fn batches(&self) -> u64 {
        lock(&self.inner.counters).batches
    }

    /// Reorganisations made ([`Limits::reorg_on_logs`]).
    pub fn reorgs(&self) -> u64 {
        lock(&self.inner.counters).reorgs
    }

    /// Requests answered with a rate limit.
    pub fn throttled(&self) -> u64 {
        lock(&self.inner.counters).throttled
    }

    /// Calls of `method`, single or in batches, throttled or not.
    pub fn method_count(&self, method: &str) -> u64 {
        lock(&self.inner.counters)
            .methods
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Every method seen, with its count.
    pub fn methods(&self) -> BTreeMap<String, u64> {
        lock(&self.inner.counters).methods.clone()
    }

    /// Every method asked for, in the order the requests arrived.
    pub fn arrivals(&self) -> Vec<String> {
        lock(&self.inner.counters).arrivals.clone()
    }

    /// Every single `eth_getLogs` request, in the order received.
    pub fn log_requests(&self) -> Vec<LogsRequest> {
        lock(&self.inner.counters).logs.clone()
    }

    /// How many `eth_getLogs` requests were refused for their size.
    pub fn refusals(&self) -> usize {
        self.log_requests()
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Refused { .. }))
            .count()
    }

    /// How many `eth_getLogs` requests were throttled.
    pub fn throttled_log_requests(&self) -> usize {
        self.log_requests()
            .iter()
            .filter(|r| r.outcome == Outcome::Throttled)
            .count()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    let request: Option<Value> = serde_json::from_slice(&body).ok();
    let limits = *lock(&inner.limits);
    let (number, method) = {
        let mut counters = lock(&inner.counters);
        counters.requests += 1;
        let methods: Vec<String> = match &request {
            Some(Value::Array(calls)) => {
                counters.batches += 1;
                calls.iter().filter_map(method_of).collect()
            }
            Some(call) => method_of(call).into_iter().collect(),
            None => Vec::new(),
        };
        for m in &methods {
            *counters.methods.entry(m.clone()).or_default() += 1;
            counters.arrivals.push(m.clone());
        }
        let single = match &request {
            Some(Value::Object(_)) => methods.into_iter().next(),
            _ => None,
        };
        (counters.requests, single)
    };

    let throttled = match limits.throttle {
        Throttle::Never => false,
        Throttle::First(n) => number <= n,
        Throttle::Every(k) => k > 0 && number.is_multiple_of(k),
    };
    if throttled {
        let mut counters = lock(&inner.counters);
        counters.throttled += 1;
        if method.as_deref() == Some("eth_getLogs") {
            counters.logs.push(LogsRequest {
                range: request.as_ref().and_then(numeric_range),
                outcome: Outcome::Throttled,
            });
        }
        drop(counters);
        return rate_limited(limits.throttle_shape, request.as_ref());
    }

    if let Some((slow, ms)) = limits.slow {
        if method.as_deref() == Some(slow) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
    match (method.as_deref(), &request) {
        (Some("eth_getLogs"), Some(call)) => {
            if let Some(depth) = limits.reorg_on_logs {
                let first = {
                    let mut counters = lock(&inner.counters);
                    let first = counters.reorgs == 0;
                    if first {
                        counters.reorgs = 1;
                    }
                    first
                };
                if first {
                    if let Err(e) = node_call(&inner, "anvil_reorg", json!([depth, []])).await {
                        return json_response(StatusCode::BAD_GATEWAY, Bytes::from(e));
                    }
                }
            }
            get_logs(&inner, limits, call, body.clone()).await
        }
        _ => forward(&inner, body).await,
    }
}

/// An `eth_getLogs` call's `fromBlock` and `toBlock`, when both are numbers.
fn numeric_range(call: &Value) -> Option<(u64, u64)> {
    let filter = call.get("params")?.get(0)?;
    let number = |key: &str| {
        let hex = filter.get(key)?.as_str()?.strip_prefix("0x")?;
        u64::from_str_radix(hex, 16).ok()
    };
    Some((number("fromBlock")?, number("toBlock")?))
}

fn method_of(call: &Value) -> Option<String> {
    call.get("method")?.as_str().map(str::to_owned)
}

/// The node's answer to `body`, status and body as they came.
async fn forward(inner: &Inner, body: Bytes) -> Response {
    match upstream(inner, body).await {
        Ok((status, bytes)) => json_response(status, bytes),
        Err(e) => json_response(StatusCode::BAD_GATEWAY, Bytes::from(e)),
    }
}

async fn upstream(inner: &Inner, body: Bytes) -> Result<(StatusCode, Bytes), String> {
    let response = inner
        .http
        .post(&inner.upstream)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the node is unreachable: {e}"))?;
    let status = StatusCode::from_u16(response.status().as_u16())
        .map_err(|e| format!("the node answered a bad status: {e}"))?;
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("the node's answer was cut: {e}"))?;
    Ok((status, bytes))
}

/// One JSON-RPC call to the node, its result.
async fn node_call(inner: &Inner, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let (_, bytes) = upstream(inner, Bytes::from(body.to_string())).await?;
    let answer: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{method}: not JSON: {e}"))?;
    match answer.get("result") {
        Some(result) => Ok(result.clone()),
        None => Err(format!("{method}: {answer}")),
    }
}

/// A block number or tag of a filter, as a number.
async fn resolve(inner: &Inner, tag: Option<&Value>) -> Result<u64, String> {
    let tag = tag.and_then(Value::as_str).unwrap_or("latest");
    if let Some(hex) = tag.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).map_err(|e| format!("block {tag:?}: {e}"));
    }
    if tag == "earliest" {
        return Ok(0);
    }
    let block = node_call(inner, "eth_getBlockByNumber", json!([tag, false])).await?;
    block
        .get("number")
        .and_then(Value::as_str)
        .and_then(|n| n.strip_prefix("0x"))
        .and_then(|n| u64::from_str_radix(n, 16).ok())
        .ok_or_else(|| format!("block {tag:?}: {block}"))
}

async fn get_logs(inner: &Inner, limits: Limits, call: &Value, body: Bytes) -> Response {
    let record = |range, outcome| {
        lock(&inner.counters)
            .logs
            .push(LogsRequest { range, outcome });
    };
    let filter = call.get("params").and_then(|p| p.get(0));
    let by_hash = filter.is_some_and(|f| f.get("blockHash").is_some());
    let range = match filter {
        Some(f) if !by_hash => {
            match (
                resolve(inner, f.get("fromBlock")).await,
                resolve(inner, f.get("toBlock")).await,
            ) {
                (Ok(from), Ok(to)) => Some((from, to)),
                _ => None,
            }
        }
        _ => None,
    };
    let (status, bytes) = match upstream(inner, body).await {
        Ok(answer) => answer,
        Err(e) => return json_response(StatusCode::BAD_GATEWAY, Bytes::from(e)),
    };
    let answer: Option<Value> = serde_json::from_slice(&bytes).ok();
    let logs: Option<Vec<u64>> = answer
        .as_ref()
        .and_then(|a| a.get("result"))
        .and_then(Value::as_array)
        .map(|logs| {
            logs.iter()
                .map(|log| {
                    log.get("blockNumber")
                        .and_then(Value::as_str)
                        .and_then(|n| n.strip_prefix("0x"))
                        .and_then(|n| u64::from_str_radix(n, 16).ok())
                        .unwrap_or(0)
                })
                .collect()
        });
    let bytes = match (&answer, limits.removed_logs) {
        (Some(answer), true) => with_removed_log(answer).unwrap_or(bytes),
        _ => bytes,
    };
    let Some(mut blocks) = logs else {
        // An error from the node: handed back as it came.
        record(range, Outcome::Answered(0));
        return json_response(status, bytes);
    };
    let Some((from, to)) = range else {
        // A blockHash filter, or a range the proxy cannot read: never refused.
        record(range, Outcome::Answered(blocks.len()));
        return json_response(status, bytes);
    };
    let span = to.saturating_sub(from) + 1;
    let over_blocks = limits.max_blocks.is_some_and(|m| span > m);
    let over_logs = limits.max_logs.is_some_and(|m| blocks.len() > m);
    if from >= to || !(over_blocks || over_logs) {
        record(range, Outcome::Answered(blocks.len()));
        return json_response(status, bytes);
    }

    // The longest range from `from` that keeps both caps, one block at least.
    let mut last = to;
    if let Some(m) = limits.max_blocks {
        last = last.min(from + m.max(1) - 1);
    }
    if let Some(m) = limits.max_logs {
        blocks.sort_unstable();
        if let Some(&first_over) = blocks.get(m) {
            last = last.min(first_over.saturating_sub(1).max(from));
        }
    }
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let cap = limits.max_logs.unwrap_or(blocks.len());
    let fits = last - from + 1;
    let (status, error, suggested) = match limits.shape {
        Shape::Infura => (
            StatusCode::OK,
            json!({
                "code": -32005,
                "message": format!(
                    "query returned more than {cap} results. Try with this block range [{from:#x}, {last:#x}]."
                ),
                "data": {"from": format!("{from:#x}"), "to": format!("{last:#x}")},
            }),
            Some((from, last)),
        ),
        Shape::Alchemy => (
            StatusCode::OK,
            json!({
                "code": -32602,
                "message": format!(
                    "Log response size exceeded. You can make eth_getLogs requests with up to a {} \
                     block range and no limit on the response size, or you can request any block \
                     range with a cap of {cap} logs in the response. Based on your parameters, this \
                     block range should work: [{from:#x}, {last:#x}]",
                    limits.max_blocks.unwrap_or(span),
                ),
            }),
            Some((from, last)),
        ),
        Shape::RetryRange => (
            StatusCode::OK,
            json!({
                "code": -32602,
                "message": format!("query exceeds max results {cap}, retry with the range {from}-{last}"),
            }),
            Some((from, last)),
        ),
        Shape::EchoedRange => (
            StatusCode::OK,
            json!({
                "code": -32602,
                "message": format!("query exceeds max results {cap}, retry with the range {from}-{to}"),
            }),
            Some((from, to)),
        ),
        Shape::TooLarge => (
            StatusCode::OK,
            json!({"code": -32000, "message": "block range too large"}),
            None,
        ),
        Shape::Timeout => (
            StatusCode::OK,
            json!({"code": -32005, "message": "query timeout exceeded"}),
            None,
        ),
        Shape::RangeExceedsLimit => (
            StatusCode::OK,
            json!({"code": -32602, "message": format!("range {span} exceeds limit of {fits}")}),
            None,
        ),
        Shape::Http413 => (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({
                "code": -32614,
                "message": format!("eth_getLogs is limited to a {} range", thousands(fits)),
            }),
            None,
        ),
    };
    record(range, Outcome::Refused { suggested });
    let body = json!({"jsonrpc": "2.0", "id": id, "error": error});
    json_response(status, Bytes::from(body.to_string()))
}

/// `answer` (a JSON-RPC answer with a list of logs) with a copy of its first log appended,
/// marked removed and naming [`REMOVED_OWNER`] as the receiver (`topics[2]` of a `Transfer`,
/// `topics[3]` of an ERC-1155 event); `None` when there is no log to copy.
fn with_removed_log(answer: &Value) -> Option<Bytes> {
    let mut answer = answer.clone();
    let logs = answer.get_mut("result")?.as_array_mut()?;
    let mut removed = logs.first()?.clone();
    let topics = removed.get_mut("topics")?.as_array_mut()?;
    let to = if topics.first()?.as_str() == Some(TRANSFER_TOPIC) {
        2
    } else {
        3
    };
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&REMOVED_OWNER);
    *topics.get_mut(to)? = Value::String(format!("0x{}", alloy_primitives::hex::encode(word)));
    removed
        .as_object_mut()?
        .insert("removed".into(), Value::Bool(true));
    logs.push(removed);
    Some(Bytes::from(answer.to_string()))
}

/// `n` with commas between thousands: 10,000.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate_limited(shape: ThrottleShape, request: Option<&Value>) -> Response {
    let id = request
        .and_then(|r| r.get("id"))
        .cloned()
        .unwrap_or(Value::Null);
    match shape {
        ThrottleShape::Http429 => {
            let body = json!({
                "jsonrpc": "2.0",
                "id": Value::Null,
                "error": {"code": -32005, "message": "Too Many Requests"},
            });
            let mut response =
                json_response(StatusCode::TOO_MANY_REQUESTS, Bytes::from(body.to_string()));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
        ThrottleShape::RateMessage => {
            let body = json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": {
                    "code": -32005,
                    "message": "project ID request rate exceeded",
                    "data": {
                        "see": "https://infura.io/dashboard",
                        "current_rps": 13.3,
                        "allowed_rps": 10.0,
                        "backoff_seconds": 1.0,
                    },
                },
            });
            json_response(StatusCode::OK, Bytes::from(body.to_string()))
        }
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
