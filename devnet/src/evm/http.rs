//! The EVM node's HTTP side: one handler for every path, reading a JSON-RPC body (a
//! request or a batch), applying the fault switches, and answering under one read lock of
//! the ledger so that a whole batch sees the same tip (reads of other requests run
//! alongside; the body is parsed before taking the lock and encoded after releasing it).

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::raw_text::RawText;
use super::rpc::{
    response, Item, Output, RpcError, View, INVALID_REQUEST, LIMIT_EXCEEDED, PARSE_ERROR,
};
use super::{BatchLimitStyle, EvmNode, Knobs, ThrottleStyle, MAX_BODY_BYTES};
use crate::faults::{cut_body, FaultAction, SplitMix64};

/// The media types geth accepts for a JSON-RPC body.
const ACCEPTED_CONTENT_TYPES: [&str; 3] = [
    "application/json",
    "application/json-rpc",
    "application/jsonrequest",
];

/// A body, sorted out.
#[derive(Debug)]
enum Parsed {
    /// Not JSON at all.
    NotJson,
    /// One JSON value (answered as one request, valid or not).
    Single(Item),
    /// A JSON array (a batch), each element sorted out.
    Batch(Vec<Item>),
}

fn parse_body(bytes: &[u8]) -> Parsed {
    match serde_json::from_slice::<Value>(bytes) {
        Err(_) => Parsed::NotJson,
        Ok(Value::Array(items)) => Parsed::Batch(items.into_iter().map(Item::parse).collect()),
        Ok(v) => Parsed::Single(Item::parse(v)),
    }
}

/// An answer before it becomes a response.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: bytes::Bytes,
    retry_after: Option<u64>,
}

/// One answer object: built as a JSON value, or written out already.
enum Reply {
    Json(Value),
    Raw(RawText),
}

impl Reply {
    /// The answer to the call with `id` that gave `result`.
    fn new(id: &Value, result: Result<Output, RpcError>) -> Reply {
        match result {
            Ok(Output::Raw(text)) => {
                let mut head = b"{\"id\":".to_vec();
                // Writing into a `Vec` cannot fail.
                let _ = super::json::write(&mut head, id);
                head.extend_from_slice(b",\"jsonrpc\":\"2.0\",\"result\":");
                Reply::Raw(text.wrap(&head, b"}"))
            }
            Ok(Output::Json(v)) => Reply::Json(response(id, Ok(v))),
            Err(e) => Reply::Json(response(id, Err(e))),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            // Writing into a `Vec` cannot fail.
            Reply::Json(v) => {
                let _ = super::json::write(out, v);
            }
            Reply::Raw(text) => out.extend_from_slice(text.text()),
        }
    }

    fn len_hint(&self) -> usize {
        match self {
            Reply::Json(_) => 256,
            Reply::Raw(text) => text.text().len(),
        }
    }
}

impl Answer {
    fn json(value: &Value) -> Answer {
        Answer::bytes(super::json::to_vec(value))
    }

    /// A 200 with this JSON text.
    fn bytes(body: impl Into<bytes::Bytes>) -> Answer {
        Answer {
            status: StatusCode::OK,
            content_type: "application/json",
            body: body.into(),
            retry_after: None,
        }
    }

    /// One reply alone.
    fn reply(reply: Reply) -> Answer {
        match reply {
            Reply::Json(v) => Answer::json(&v),
            Reply::Raw(text) => Answer::bytes(text.into_bytes()),
        }
    }

    /// Replies as a JSON array.
    fn replies(replies: &[Reply]) -> Answer {
        let mut out =
            Vec::with_capacity(2 + replies.iter().map(|r| r.len_hint() + 1).sum::<usize>());
        out.push(b'[');
        for (i, r) in replies.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            r.write(&mut out);
        }
        out.push(b']');
        Answer::bytes(out)
    }

    /// A 200 without body: every request was a notification.
    fn empty() -> Answer {
        Answer {
            status: StatusCode::OK,
            content_type: "application/json",
            body: bytes::Bytes::new(),
            retry_after: None,
        }
    }

    /// An error object with `id` null, alone.
    fn error(error: RpcError) -> Answer {
        Answer::json(&response(&Value::Null, Err(error)))
    }

    fn text(status: StatusCode, message: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: bytes::Bytes::copy_from_slice(message.as_bytes()),
            retry_after: None,
        }
    }

    /// 429 with `Retry-After`, the JSON-RPC error -32005 as the body.
    fn throttled(retry_after_secs: u64) -> Answer {
        let mut a = Answer::error(rate_limited(retry_after_secs, ThrottleStyle::Http429));
        a.status = StatusCode::TOO_MANY_REQUESTS;
        a.retry_after = Some(retry_after_secs);
        a
    }

    fn injected_failure(status: u16, retry_after_secs: u64) -> Answer {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Answer::throttled(retry_after_secs);
        }
        let reason = status.canonical_reason().unwrap_or("Error");
        Answer::text(status, &format!("{reason} (injected fault)"))
    }

    fn into_response(self, drop_mid_body: bool) -> Response {
        let body = if drop_mid_body {
            cut_body(self.body.to_vec())
        } else {
            Body::from(self.body)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// The message of [`ThrottleStyle::ComputeUnits`].
pub(super) const COMPUTE_UNITS_MESSAGE: &str = "Your app has exceeded its compute units per \
    second capacity. If you have retries enabled, you can safely ignore this message.";

/// The JSON-RPC error of a throttled request.
fn rate_limited(retry_after_secs: u64, style: ThrottleStyle) -> RpcError {
    match style {
        ThrottleStyle::ComputeUnits => RpcError::new(LIMIT_EXCEEDED, COMPUTE_UNITS_MESSAGE),
        ThrottleStyle::Http429 | ThrottleStyle::JsonRpc => RpcError {
            code: LIMIT_EXCEEDED,
            message: "rate limit exceeded".into(),
            data: Some(json!({ "backoff_seconds": retry_after_secs })),
        },
    }
}

/// Whether the request says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    ACCEPTED_CONTENT_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(media))
}

/// A seeded order of `n` answers, never the identity when `n >= 2`.
fn batch_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed ^ n as u64);
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    if n >= 2 && order.iter().enumerate().all(|(i, v)| i == *v) {
        order.reverse();
    }
    order
}

impl EvmNode {
    /// Counts the calls and invalid items of a body, and remembers the calls.
    fn record(&self, parsed: &Parsed) {
        let c = &self.inner.counters;
        let items: &[Item] = match parsed {
            Parsed::NotJson => {
                c.invalid.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Parsed::Single(item) => std::slice::from_ref(item),
            Parsed::Batch(items) => {
                c.batches.fetch_add(1, Ordering::Relaxed);
                items
            }
        };
        for item in items {
            match item {
                Item::Call { method, params, .. } => self.record_call(method, params.as_ref()),
                Item::Invalid { .. } => {
                    c.invalid.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Puts a batch's answers in the seeded order (when shuffling is on).
    fn order<T>(&self, mut answers: Vec<T>, knobs: &Knobs) -> Vec<T> {
        if !knobs.shuffle {
            return answers;
        }
        let order = batch_order(answers.len(), self.inner.shuffle_seed);
        let mut slots: Vec<Option<T>> = answers.drain(..).map(Some).collect();
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take))
            .collect()
    }

    /// The answer to every request of a throttled body, with [`ThrottleStyle::JsonRpc`] or
    /// [`ThrottleStyle::ComputeUnits`].
    fn throttled_in_band(&self, parsed: &Parsed, knobs: &Knobs, secs: u64) -> Answer {
        let style = knobs.throttle_style;
        let one = |item: &Item| match item {
            Item::Call { id: None, .. } => None,
            Item::Call { id: Some(id), .. } | Item::Invalid { id, .. } => {
                Some(response(id, Err(rate_limited(secs, style))))
            }
        };
        match parsed {
            Parsed::NotJson => Answer::error(rate_limited(secs, style)),
            Parsed::Single(item) => one(item).map_or_else(Answer::empty, |v| Answer::json(&v)),
            Parsed::Batch(items) if items.is_empty() => Answer::error(rate_limited(secs, style)),
            Parsed::Batch(items) => {
                let answers: Vec<Value> = items.iter().filter_map(one).collect();
                if answers.is_empty() {
                    return Answer::empty();
                }
                Answer::json(&Value::Array(self.order(answers, knobs)))
            }
        }
    }

    /// The answer to a batch above the size limit.
    fn batch_too_large(items: &[Item], style: BatchLimitStyle) -> Answer {
        let error = RpcError::new(INVALID_REQUEST, "batch too large");
        match style {
            BatchLimitStyle::SingleError => Answer::error(error),
            BatchLimitStyle::GethArray => {
                let id = items
                    .iter()
                    .find_map(|i| match i {
                        Item::Call { id: Some(id), .. } => Some(id.clone()),
                        _ => None,
                    })
                    .unwrap_or(Value::Null);
                Answer::json(&json!([response(&id, Err(error))]))
            }
            BatchLimitStyle::Http413 => {
                Answer::text(StatusCode::PAYLOAD_TOO_LARGE, "batch too large")
            }
        }
    }

    /// Answers a body normally, as a replica `lag` blocks behind.
    fn answer(&self, parsed: Parsed, knobs: &Knobs, lag: u64) -> Answer {
        let items = match parsed {
            Parsed::NotJson => return Answer::error(RpcError::new(PARSE_ERROR, "parse error")),
            Parsed::Batch(items) if items.is_empty() => {
                return Answer::error(RpcError::new(INVALID_REQUEST, "empty batch"))
            }
            Parsed::Batch(items) if knobs.max_batch.is_some_and(|m| items.len() > m) => {
                return EvmNode::batch_too_large(&items, knobs.batch_limit_style)
            }
            Parsed::Single(item) => {
                let answers = self.answer_items(vec![item], knobs, lag);
                return answers
                    .into_iter()
                    .next()
                    .map_or_else(Answer::empty, Answer::reply);
            }
            Parsed::Batch(items) => items,
        };
        let answers = self.answer_items(items, knobs, lag);
        if answers.is_empty() {
            return Answer::empty();
        }
        Answer::replies(&self.order(answers, knobs))
    }

    /// Answers each item (notifications get none) under one read lock of the ledger, so
    /// that other requests' reads run alongside and the whole batch sees one tip.
    fn answer_items(&self, items: Vec<Item>, knobs: &Knobs, lag: u64) -> Vec<Reply> {
        let ledger = self.read_lock();
        let tip = ledger.chain.tip.saturating_sub(lag);
        let mut view = View {
            ledger: &ledger,
            tip,
            finalized_depth: self.inner.finalized_depth,
            safe_depth: self.inner.safe_depth,
            logs_limits: knobs.logs,
            inner_calls: 0,
            logs_returned: 0,
            logs_refused: 0,
            spare: &self.inner.spare,
        };
        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Invalid { id, error } => answers.push(Reply::Json(response(&id, Err(error)))),
                Item::Call { id, method, params } => {
                    let result = view.dispatch(&method, params.as_ref());
                    if let Some(id) = id {
                        answers.push(Reply::new(&id, result));
                    }
                }
            }
        }
        let (inner_calls, returned, refused) =
            (view.inner_calls, view.logs_returned, view.logs_refused);
        drop(ledger);
        let c = &self.inner.counters;
        c.inner_calls.fetch_add(inner_calls, Ordering::Relaxed);
        c.logs_returned.fetch_add(returned, Ordering::Relaxed);
        c.get_logs_refused.fetch_add(refused, Ordering::Relaxed);
        answers
    }

    /// Whether the body asks for logs and the next such request is to be throttled
    /// ([`EvmNode::throttle_logs_next`]); counts it down.
    fn throttles_logs(&self, parsed: &Parsed) -> bool {
        let items: &[Item] = match parsed {
            Parsed::NotJson => return false,
            Parsed::Single(item) => std::slice::from_ref(item),
            Parsed::Batch(items) => items,
        };
        let asks = items
            .iter()
            .any(|i| matches!(i, Item::Call { method, .. } if method == "eth_getLogs"));
        if !asks {
            return false;
        }
        let taken = self
            .inner
            .logs_throttle
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if taken {
            self.inner
                .counters
                .get_logs_throttled
                .fetch_add(1, Ordering::Relaxed);
        }
        taken
    }
}

/// Shared by the handler: the node and the server's shutdown signal.
#[derive(Clone)]
struct ServerState {
    node: EvmNode,
    cancel: CancellationToken,
}

async fn handle(State(st): State<ServerState>, req: Request) -> Response {
    let node = &st.node;
    node.inner.counters.http.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        return Answer::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
            .into_response(false);
    }
    if !is_json(&parts.headers) {
        return Answer::text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid content type, only application/json is supported",
        )
        .into_response(false);
    }
    let Some(bytes) = read_body(&parts.headers, body, MAX_BODY_BYTES).await else {
        return Answer::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("content length too large (max {MAX_BODY_BYTES} bytes)"),
        )
        .into_response(false);
    };
    let decision = node.faults().decide();
    let handled = crate::faults::delayed(decision.delay, &st.cancel, || {
        let parsed = parse_body(&bytes);
        node.record(&parsed);
        let knobs = node.knobs();
        let action = match decision.action {
            None if node.throttles_logs(&parsed) => Some(FaultAction::Throttle {
                retry_after_secs: node.faults().retry_after_secs(),
            }),
            action => action,
        };
        match action {
            Some(FaultAction::Throttle { retry_after_secs }) => match knobs.throttle_style {
                ThrottleStyle::Http429 => Answer::throttled(retry_after_secs),
                ThrottleStyle::JsonRpc | ThrottleStyle::ComputeUnits => {
                    node.throttled_in_band(&parsed, &knobs, retry_after_secs)
                }
            },
            Some(FaultAction::Fail { status }) => {
                Answer::injected_failure(status, node.faults().retry_after_secs())
            }
            Some(FaultAction::Drop) | None => node.answer(parsed, &knobs, decision.lag),
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

/// The body, read into one buffer sized by its declared length (a `Content-Length` the
/// client gave; a body of 100 calls' calldata is tens of kilobytes, which growing a buffer
/// chunk by chunk would copy several times). `None` past `limit`, or when reading fails.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Option<Vec<u8>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if declared > limit {
        return None;
    }
    let mut out = Vec::with_capacity(declared);
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.ok()?;
        if out.len() + chunk.len() > limit {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    Some(out)
}

/// The axum router answering for `node` (every path and method goes through one handler).
pub(crate) fn router(node: EvmNode, cancel: CancellationToken) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(ServerState { node, cancel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_order_is_a_seeded_permutation() {
        for n in 0..50 {
            let order = batch_order(n, 7);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            if n >= 2 {
                assert!(order.iter().enumerate().any(|(i, v)| i != *v), "n = {n}");
            }
            assert_eq!(order, batch_order(n, 7));
        }
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (value, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/json-rpc", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&h), ok, "{value}");
        }
    }
}
