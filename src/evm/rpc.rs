//! JSON-RPC 2.0 over HTTP: single calls and batches (answers matched by `id`, never by
//! position), each retried and paced by the shared policy, and every failure mapped to an
//! [`Error`] kind.

use std::borrow::Cow;
use std::time::Duration;

use alloy_primitives::{hex, Address};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use super::url::RpcUrl;
use crate::error::{Error, ErrorKind};
use crate::query::Backend;
use crate::retry::{RateLimit, RetryPolicy};
use crate::transport::{read_limited_into, Transport};

/// Largest answer read, in bytes: a batch of 100 calls or a Multicall3 answer of 1,000 reads
/// fits many times over.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The largest `eth_getLogs` answer read: 10,000 logs (a common provider cap) take about
/// 6 MB. A longer answer is taken as a range to read in smaller parts, so that memory stays
/// bounded whatever the provider sends.
pub const MAX_LOGS_BODY: usize = 8 * 1024 * 1024;

/// The code of an error for an answer over the size tokbal reads.
pub(crate) const ANSWER_TOO_LARGE: &str = "answer_too_large";

/// One JSON-RPC endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    pub(super) http: reqwest::Client,
    pub(super) url: RpcUrl,
    retry: RetryPolicy,
    pub(super) limit: RateLimit,
    /// HTTP requests sent, retries included, besides those for logs.
    pub(super) sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// `eth_getLogs` requests sent, retries included.
    logs_sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A JSON-RPC answer's error object, kept whole until it is mapped.
#[derive(Clone, Debug)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl Rpc {
    pub(crate) fn new(
        url: RpcUrl,
        transport: &Transport,
        limit: RateLimit,
        http: Option<reqwest::Client>,
    ) -> Result<Self, Error> {
        let http = match http {
            Some(http) => http,
            None => transport
                .http_client(reqwest::header::HeaderMap::new())
                .map_err(|e| e.with_backend(Backend::Evm))?,
        };
        Ok(Rpc {
            http,
            url,
            retry: transport.retry.clone(),
            limit,
            sent: Default::default(),
            logs_sent: Default::default(),
        })
    }

    /// Counts one HTTP request sent.
    pub(super) fn count(&self) {
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// HTTP requests sent so far.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.requests_besides_logs() + self.logs_sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// HTTP requests sent so far, less those for logs: one counter, which a holders read
    /// takes as it pins while logs may be asked for.
    pub(crate) fn requests_besides_logs(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The endpoint, as it may be shown (scheme and host).
    pub(crate) fn url(&self) -> &RpcUrl {
        &self.url
    }

    /// One call; a JSON-RPC error is mapped to an [`Error`], retried when that can help.
    pub(crate) async fn call(&self, method: &str, params: Value) -> Result<Value, Error> {
        let body = to_body(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
        self.retry
            .run(&self.limit, || async {
                let answer = self.post_json(&body).await?;
                match parse_answer(&answer) {
                    Ok(v) => Ok(v),
                    Err(e) => Err(map_rpc_error(method, &e)),
                }
            })
            .await
    }

    /// One `eth_getLogs` call. A refusal about the range or the size of the answer is handed
    /// back as it came, for the caller to read a smaller range (a provider's `-32005` may say
    /// either that or that the rate is too high: only the second is retried here, after the
    /// back-off, with the same range).
    /// Every request sent, retries included, is counted in `sent`.
    pub(crate) async fn get_logs(
        &self,
        filter: Value,
        sent: &std::sync::atomic::AtomicU64,
        buffers: &super::logs::Buffers,
    ) -> Result<Result<super::log_answer::Logs, RpcError>, Error> {
        let body = to_body(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [filter]}),
        );
        self.retry
            .run(&self.limit, || async {
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (http, url, body) = (self.http.clone(), self.url.clone(), body.clone());
                // Read in the exchange's own task: the body (megabytes) is gone once read,
                // and answers that come together are read on as many threads.
                let (buf, table) = (buffers.take(), buffers.table());
                let answer = crate::transport::detached(async move {
                    let bytes =
                        exchange_limited(http, url.clone(), body, MAX_LOGS_BODY, buf).await?;
                    let answer = super::log_answer::parse_answer_body(&bytes, table);
                    let answer = answer.map_err(|why| {
                        evm_error(
                            ErrorKind::Decode,
                            format!("{url}: eth_getLogs answered {why}"),
                        )
                    });
                    Ok((answer, bytes))
                })
                .await;
                self.logs_sent
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (answer, buf) = answer?;
                buffers.put(buf);
                match answer? {
                    Ok(logs) => Ok(Ok(logs)),
                    Err(e) if super::logs::is_range_refusal(&e) => Ok(Err(e)),
                    Err(e) => handed_back("eth_getLogs", Err(e)),
                }
            })
            .await
    }

    /// One call whose JSON-RPC error is handed back as it came (a revert is an answer, not a
    /// transport failure); only transport-level failures and retryable errors are retried.
    pub(crate) async fn call_raw(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, Error> {
        let body = to_body(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
        self.retry
            .run(&self.limit, || async {
                let answer = self.post_json(&body).await?;
                handed_back(method, parse_answer(&answer))
            })
            .await
    }

    /// One `eth_call` whose answer is return data, handed back like [`call_raw`]'s. The
    /// hot path of every Multicall3 read, so it skips the JSON tree both ways: the request
    /// was written directly ([`EthCallRequest`]), and the answer's hex is decoded from where
    /// it lies in the body, never copied into a string first.
    ///
    /// [`call_raw`]: Self::call_raw
    pub(crate) async fn eth_call(
        &self,
        request: EthCallRequest,
        block: &Value,
    ) -> Result<Result<Vec<u8>, RpcError>, Error> {
        let body = request.at(block);
        self.retry
            .run(&self.limit, || async {
                // The answer's hex is decoded in the exchange's task too, off the batch's.
                self.count();
                let (http, url) = (self.http.clone(), self.url.clone());
                let data = crate::transport::detached(exchange_data(http, url, body.clone()));
                handed_back("eth_call", data.await?)
            })
            .await
    }

    /// A batch of calls in one HTTP request; one answer per call, matched by `id`. `Err` when
    /// the request as a whole failed (including a server that refuses batches, or this many
    /// in one: [`is_batch_refusal`] tells).
    pub(crate) async fn batch(
        &self,
        calls: &[(&str, Value)],
    ) -> Result<Vec<Result<Value, RpcError>>, Error> {
        let body = to_body(&Value::Array(
            calls
                .iter()
                .enumerate()
                .map(|(i, (method, params))| {
                    json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
                })
                .collect(),
        ));
        self.retry
            .run(&self.limit, || async {
                let answer = self.post_json(&body).await?;
                let answers = match_batch(&answer, calls.len())?;
                // A retryable error on any call (throttling, a lagging replica) retries the
                // whole batch: it is one request to the server.
                for (answer, (method, _)) in answers.iter().zip(calls) {
                    if let Err(e) = answer {
                        let mapped = map_rpc_error(method, e);
                        if mapped.is_retryable() {
                            return Err(mapped);
                        }
                    }
                }
                Ok(answers)
            })
            .await
    }

    /// Sends one request body; the answer's JSON, or the HTTP-level failure mapped.
    async fn post_json(&self, body: &Bytes) -> Result<Value, Error> {
        let bytes = self.post(body).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            evm_error(
                ErrorKind::Decode,
                format!("{}: the answer is not JSON ({e})", self.url),
            )
        })
    }

    /// Sends one request body (JSON, serialized once however often it is sent); the answer's
    /// bytes, or the HTTP-level failure mapped. The exchange runs as a task of its own
    /// ([`detached`](crate::transport::detached)), so that connecting, writing and reading
    /// go on while the batch's task prepares or decodes other requests.
    async fn post(&self, body: &Bytes) -> Result<Bytes, Error> {
        self.count();
        crate::transport::detached(exchange(self.http.clone(), self.url.clone(), body.clone()))
            .await
    }
}

/// One HTTP exchange with `url`: the answer's bytes, or the HTTP-level failure mapped.
async fn exchange(
    http: reqwest::Client,
    url: RpcUrl,
    body: impl Into<reqwest::Body>,
) -> Result<Bytes, Error> {
    exchange_limited(http, url, body, MAX_BODY, Vec::new())
        .await
        .map(Bytes::from)
}

/// [`exchange`] with an answer of at most `max_body` bytes, read into `buf`; a longer one is
/// an error with the code [`ANSWER_TOO_LARGE`].
async fn exchange_limited(
    http: reqwest::Client,
    url: RpcUrl,
    body: impl Into<reqwest::Body>,
    max_body: usize,
    buf: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    let response = http
        .post(url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| transport_error(&url, e))?;
    let status = response.status().as_u16();
    let retry_after = crate::retry::retry_after(response.headers());
    let declared = response.content_length();
    if declared.is_some_and(|n| n > max_body as u64) {
        return Err(evm_error(
            ErrorKind::Decode,
            format!("{url}: the answer is over the {max_body}-byte limit"),
        )
        .with_status(status)
        .with_code(ANSWER_TOO_LARGE));
    }
    let bytes = read_limited_into(response, max_body + 1, buf)
        .await
        .map_err(|e| transport_error(&url, e))?;
    if bytes.len() > max_body {
        return Err(evm_error(
            ErrorKind::Decode,
            format!("{url}: the answer is over the {max_body}-byte limit"),
        )
        .with_status(status)
        .with_code(ANSWER_TOO_LARGE));
    }
    if !(200..300).contains(&status) {
        return Err(http_error(&url, status, &bytes, retry_after));
    }
    Ok(bytes)
}

/// One `eth_call` exchange with `url`: the answer's return data, or its JSON-RPC error.
pub(super) async fn exchange_data(
    http: reqwest::Client,
    url: RpcUrl,
    body: impl Into<reqwest::Body>,
) -> Result<Result<Vec<u8>, RpcError>, Error> {
    let answer = exchange(http, url.clone(), body).await?;
    data_answer(&answer)
        .map_err(|why| evm_error(ErrorKind::Decode, format!("{url}: eth_call answered {why}")))
}

/// A request object as the bytes sent.
fn to_body(v: &Value) -> Bytes {
    // Serializing a `Value` cannot fail (its map keys are strings).
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

/// A call's answer for [`Rpc::call_raw`] and [`Rpc::eth_call`]: its JSON-RPC error is handed
/// back as it came unless retrying can help (throttling, a replica behind), which is `Err`.
pub(super) fn handed_back<T>(
    method: &str,
    answer: Result<T, RpcError>,
) -> Result<Result<T, RpcError>, Error> {
    match answer {
        Ok(v) => Ok(Ok(v)),
        Err(e) => {
            let mapped = map_rpc_error(method, &e);
            if mapped.is_retryable() {
                Err(mapped)
            } else {
                Ok(Err(e))
            }
        }
    }
}

/// An `eth_call(tx, block)` request, `tx` being `{to, input, gas}`, written but for its block
/// parameter, which comes last: the bulk of it, the hex of the calldata, can be written
/// before the block is known. The bytes are the JSON serde would write for the same request,
/// without a tree built around 100 calls' calldata.
#[derive(Debug)]
pub(crate) struct EthCallRequest {
    head: Vec<u8>,
}

impl EthCallRequest {
    /// The request for calling `to` with `input` and at most `gas`.
    pub(crate) fn new(to: &Address, input: &[u8], gas: u64) -> Self {
        // Room for the block parameter too, so that finishing the body copies nothing.
        let mut head = Vec::with_capacity(2 * input.len() + 128 + BLOCK_PARAM_ROOM);
        head.extend_from_slice(
            br#"{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x"#,
        );
        push_hex(&mut head, to.as_slice());
        head.extend_from_slice(br#"","input":"0x"#);
        push_hex(&mut head, input);
        head.extend_from_slice(format!(r#"","gas":"0x{gas:x}"}},"#).as_bytes());
        EthCallRequest { head }
    }

    /// The whole body, reading at `block`.
    pub(super) fn at(self, block: &Value) -> Bytes {
        let mut out = self.head;
        push_tail(&mut out, block);
        Bytes::from(out)
    }

    /// The body but its end ([`push_tail`]), for a request sent before its block is known.
    pub(super) fn into_head(self) -> Vec<u8> {
        self.head
    }

    /// A request from the head [`into_head`](Self::into_head) gave.
    pub(super) fn from_head(head: &[u8]) -> Self {
        let mut copy = Vec::with_capacity(head.len() + BLOCK_PARAM_ROOM);
        copy.extend_from_slice(head);
        EthCallRequest { head: copy }
    }
}

/// Appends what ends an `eth_call` body after its head: the block parameter, and the closing
/// of the parameter list and of the request object.
pub(super) fn push_tail(out: &mut Vec<u8>, block: &Value) {
    // The block parameter is a few bytes: serde writes it (it cannot fail for a `Value`).
    let _ = serde_json::to_writer(&mut *out, block);
    out.extend_from_slice(b"]}");
}

/// Bytes kept free after an [`EthCallRequest`]'s head for its block parameter: an EIP-1898
/// object with a block hash takes 90.
const BLOCK_PARAM_ROOM: usize = 128;

/// Appends `bytes` as lower-case hex digits.
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    // The slice is exactly twice as long as the input: encoding cannot fail.
    let _ = hex::encode_to_slice(bytes, &mut out[start..]);
}

/// A single answer whose result is hex data, read without copying the data into a string
/// first (serde borrows it from the body when it has no escapes, as hex never does).
#[derive(Deserialize)]
struct DataAnswer<'a> {
    #[serde(borrow, default)]
    result: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<Value>,
}

/// The return data of a single answer, or its error object; `Err(why)` for an answer that is
/// neither (not JSON, or a result that is not hex data).
fn data_answer(body: &[u8]) -> Result<Result<Vec<u8>, RpcError>, String> {
    let answer: DataAnswer = serde_json::from_slice(body)
        .map_err(|e| format!("something that is not hex data ({e})"))?;
    if let Some(e) = &answer.error {
        return Ok(Err(rpc_error_of(e)));
    }
    let Some(result) = answer.result else {
        return Ok(Err(RpcError {
            code: -32603,
            message: "an answer with neither result nor error".into(),
            data: None,
        }));
    };
    let shown = || result.chars().take(80).collect::<String>();
    let digits = result
        .strip_prefix("0x")
        .ok_or_else(|| format!("{:?}, which is not hex data", shown()))?;
    hex::decode(digits)
        .map(Ok)
        .map_err(|_| format!("{:?}, which is not hex data", shown()))
}

/// The result of a single call's answer, or its error object.
fn parse_answer(answer: &Value) -> Result<Value, RpcError> {
    if let Some(e) = answer.get("error") {
        return Err(rpc_error_of(e));
    }
    match answer.get("result") {
        Some(v) => Ok(v.clone()),
        None => Err(RpcError {
            code: -32603,
            message: "an answer with neither result nor error".into(),
            data: None,
        }),
    }
}

pub(super) fn rpc_error_of(e: &Value) -> RpcError {
    RpcError {
        code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect(),
        data: e.get("data").cloned(),
    }
}

/// Matches a batch answer to its `n` calls by `id`. A single error object instead of an
/// array is the server refusing the batch.
fn match_batch(answer: &Value, n: usize) -> Result<Vec<Result<Value, RpcError>>, Error> {
    let Some(items) = answer.as_array() else {
        let e = answer.get("error").map(rpc_error_of).unwrap_or(RpcError {
            code: -32600,
            message: "a batch answered with something other than an array".into(),
            data: None,
        });
        return Err(map_rpc_error("a batch", &e).with_code(BATCH_REFUSED));
    };
    let mut out: Vec<Option<Result<Value, RpcError>>> = vec![None; n];
    for item in items {
        let Some(id) = item
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
        else {
            // An error without an id is about the batch as a whole.
            if let Some(e) = item.get("error") {
                return Err(map_rpc_error("a batch", &rpc_error_of(e)).with_code(BATCH_REFUSED));
            }
            continue;
        };
        let answer = parse_answer(item);
        // Some servers refuse a batch by answering its first call with the refusal.
        if let Err(e) = &answer {
            if e.code == -32600 && e.message.to_ascii_lowercase().contains("batch") {
                return Err(map_rpc_error("a batch", e).with_code(BATCH_REFUSED));
            }
        }
        if let Some(slot) = out.get_mut(id) {
            *slot = Some(answer);
        }
    }
    Ok(out
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Err(RpcError {
                    code: -32603,
                    message: "the batch answer does not mention this call".into(),
                    data: None,
                })
            })
        })
        .collect())
}

/// The code on an error that means "this server will not take this batch": send smaller.
pub(crate) const BATCH_REFUSED: &str = "batch_refused";

/// Whether `e` is a server refusing a batch or its size (then smaller batches are tried).
pub(crate) fn is_batch_refusal(e: &Error) -> bool {
    e.code() == Some(BATCH_REFUSED)
        || e.status() == Some(413)
        || e.message().to_ascii_lowercase().contains("batch")
}

/// The kind a JSON-RPC error stands for.
pub(crate) fn map_rpc_error(method: &str, e: &RpcError) -> Error {
    let lower = e.message.to_ascii_lowercase();
    let kind = if e.code == -32005
        || e.code == -32016
        || lower.contains("rate limit")
        || lower.contains("too many requests")
    {
        ErrorKind::Throttled
    } else if e.code == -32601 {
        ErrorKind::Unsupported
    } else if e.code == 4444
        || lower.contains("missing trie node")
        || lower.contains("state not available")
        || lower.contains("historical state")
        || lower.contains("pruned")
    {
        ErrorKind::Pruned
    } else if e.code == -32001
        || lower.contains("header not found")
        || lower.contains("header for hash not found")
        || lower.contains("unknown block")
        || lower.contains("block not found")
        || lower.contains("resource not found")
        || lower.contains("canonical")
    {
        // A block the node does not know (yet): a replica behind, or (for a block named by
        // hash) one that left the chain, which the caller tells apart.
        ErrorKind::NotYetAvailable
    } else if e.code == 3
        || lower.contains("execution reverted")
        || lower.contains("out of gas")
        || lower.contains("outofgas")
        || lower.contains("invalid opcode")
    {
        // The call itself failed as it ran: asking again gives the same.
        ErrorKind::Unsupported
    } else if e.code == -32602 || e.code == -32600 {
        ErrorKind::InvalidInput
    } else {
        ErrorKind::Unavailable
    };
    let message = match kind {
        ErrorKind::Pruned => format!(
            "{method}: the node no longer keeps that block's state ({}); an archive node is needed",
            e.message
        ),
        ErrorKind::NotYetAvailable => format!(
            "{method}: the node does not have the pinned block yet ({}), a replica behind the others",
            e.message
        ),
        _ => format!("{method}: {} (JSON-RPC error {})", e.message, e.code),
    };
    evm_error(kind, message).with_code(e.code.to_string())
}

fn http_error(url: &RpcUrl, status: u16, body: &[u8], retry_after: Option<Duration>) -> Error {
    let kind = match status {
        429 => ErrorKind::Throttled,
        401 | 403 => ErrorKind::AccessDenied,
        413 => ErrorKind::InvalidInput,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Unavailable,
    };
    let excerpt: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    evm_error(kind, format!("{url}: HTTP {status}: {excerpt}"))
        .with_status(status)
        .with_retry_after(retry_after)
}

fn transport_error(url: &RpcUrl, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Transport
    };
    // reqwest's message names the URL, which may carry a key: it goes without it.
    let e = e.without_url();
    evm_error(kind, format!("{url}: {e}")).with_source(e)
}

pub(crate) fn evm_error(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message).with_backend(Backend::Evm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_matched_by_id_whatever_the_order() {
        let answer = json!([
            {"jsonrpc": "2.0", "id": 2, "result": "0x2"},
            {"jsonrpc": "2.0", "id": 0, "result": "0x0"},
            {"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted"}},
        ]);
        let got = match_batch(&answer, 4).unwrap();
        assert_eq!(got[0].as_ref().unwrap(), "0x0");
        assert_eq!(got[1].as_ref().unwrap_err().code, 3);
        assert_eq!(got[2].as_ref().unwrap(), "0x2");
        assert!(
            got[3].is_err(),
            "a call the answer leaves out is an error, not a value"
        );
    }

    #[test]
    fn a_refused_batch_is_told_apart() {
        let e = match_batch(
            &json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "batch too large"}}),
            3,
        )
        .unwrap_err();
        assert!(is_batch_refusal(&e));
    }

    #[test]
    fn error_codes_and_messages_map_to_kinds() {
        let k = |code: i64, message: &str| {
            map_rpc_error(
                "eth_call",
                &RpcError {
                    code,
                    message: message.into(),
                    data: None,
                },
            )
            .kind()
        };
        assert_eq!(k(-32005, "limit exceeded"), ErrorKind::Throttled);
        assert_eq!(k(-32016, "over rate"), ErrorKind::Throttled);
        assert_eq!(k(-32000, "Too Many Requests"), ErrorKind::Throttled);
        assert_eq!(
            k(-32601, "the method does not exist"),
            ErrorKind::Unsupported
        );
        assert_eq!(k(4444, "pruned history unavailable"), ErrorKind::Pruned);
        assert_eq!(k(-32000, "missing trie node abc"), ErrorKind::Pruned);
        assert_eq!(k(-32000, "header not found"), ErrorKind::NotYetAvailable);
        assert_eq!(k(-32000, "unknown block"), ErrorKind::NotYetAvailable);
        assert_eq!(k(-32001, "Resource not found"), ErrorKind::NotYetAvailable);
        assert_eq!(
            k(-32000, "hash 0xab is not currently canonical"),
            ErrorKind::NotYetAvailable
        );
        assert_eq!(k(-32000, "something else"), ErrorKind::Unavailable);
    }

    #[test]
    fn the_written_eth_call_body_is_the_json_serde_would_write() {
        let to = Address::repeat_byte(0xca);
        let input: Vec<u8> = (0..=255).collect();
        for block in [
            json!({"blockHash": format!("0x{}", "ab".repeat(32)), "requireCanonical": true}),
            json!("0x1b4"),
        ] {
            let body = EthCallRequest::new(&to, &input, 1 << 24).at(&block);
            let expected = json!({
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_call",
                "params": [
                    {"to": to.to_string().to_lowercase(), "input": format!("0x{}", hex::encode(&input)), "gas": "0x1000000"},
                    block,
                ],
            });
            let parsed: Value = serde_json::from_slice(&body).expect("the body is JSON");
            assert_eq!(parsed, expected);
        }
    }

    #[test]
    fn data_answers_are_decoded_or_named() {
        let ok = data_answer(br#"{"jsonrpc":"2.0","id":1,"result":"0x00ff"}"#).unwrap();
        assert_eq!(ok.unwrap(), vec![0x00, 0xff]);
        // An escaped string is still read (serde copies it instead of borrowing).
        let escaped = data_answer(br#"{"id":1,"result":"\u0030x0a"}"#).unwrap();
        assert_eq!(escaped.unwrap(), vec![0x0a]);
        let reverted = data_answer(
            br#"{"id":1,"error":{"code":3,"message":"execution reverted","data":"0x08c379a0"}}"#,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(
            (reverted.code, reverted.data),
            (3, Some(json!("0x08c379a0")))
        );
        let neither = data_answer(br#"{"id":1,"result":null}"#)
            .unwrap()
            .unwrap_err();
        assert_eq!(neither.code, -32603);
        for bad in [
            &br#"{"id":1,"result":"0xzz"}"#[..],
            br#"{"id":1,"result":"00"}"#,
            br#"{"id":1,"result":"0xabc"}"#,
            br#"{"id":1,"result":{"data":"0x00"}}"#,
            br#"[{"id":1,"result":"0x00"}]"#,
            b"not json",
        ] {
            let why = data_answer(bad).unwrap_err();
            assert!(why.contains("hex data"), "{why}");
        }
    }

    #[test]
    fn transport_errors_never_show_the_key() {
        let url = RpcUrl::new("http://127.0.0.1:9/v3/secret-key-123");
        let e = http_error(&url, 500, b"boom", None);
        assert!(!e.to_string().contains("secret-key"), "{e}");
    }
}
