//! Transport behaviour added to the generated client through progenitor's `ClientHooks`.
//!
//! Answers are read with a size limit ([`MAX_BODY`], [`MAX_PAGE_BODY`] for a page of
//! resources): a declared length above it is refused before the body is read, and a body
//! without a declared length is read only up to it. The refusal travels as a marker header
//! from [`exec`](ClientHooks::exec) to [`post`](ClientHooks::post), which turns it into an
//! error before anything is decoded.
//!
//! Resources hold text written by whoever published a token (names, symbols). A node writes
//! it as JSON strings; bytes in them that are not UTF-8 (from a broken or hostile server)
//! would make the whole answer undecodable, so the body of a resource answer is read up front
//! and such bytes are replaced by U+FFFD, as tokbal does for text from any chain.
//!
//! The generated code decodes every documented error status (400, 403, 404, 410, 500, 503)
//! as an `AptosError` JSON body. Gateways and proxies in front of a node answer some of those
//! statuses with HTML or plain text; decoding would then fail and the status and headers
//! would be lost. [`exec`](ClientHooks::exec) reads error bodies (up to a size limit) and,
//! when a body is not an `AptosError`, replaces it with one that carries the original text,
//! so the status, the headers and the server's words all reach the error mapping.

use bytes::Bytes;

use crate::transport::read_limited;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use serde::Deserialize;

use super::generated::Client;

/// Largest answer body read. Balances, ledger info, blocks without transactions and the
/// resources tokbal reads one at a time are a few hundred bytes; a node or proxy sending more
/// is refused rather than buffered.
pub const MAX_BODY: usize = 1024 * 1024;
/// Largest body of one page of an account's resources (`get_account_resources`): the node's
/// default page holds up to 9,999 resources of any size.
pub const MAX_PAGE_BODY: usize = 32 * 1024 * 1024;
/// Largest error body read; longer ones are cut, which is plenty for a message.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;
/// Set by `exec` on a rebuilt answer whose body went over its limit; holds the size seen.
const OVERSIZE_MARKER: &str = "x-tokbal-oversize";
/// Longest excerpt of a non-JSON body kept in an error message.
const MAX_EXCERPT: usize = 200;

impl ClientHooks<()> for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        let status = response.status();
        if status.is_success() {
            let body = Body::of(info.operation_id);
            return limit_body(response, body).await;
        }
        if !is_documented_error(status.as_u16()) {
            return Ok(response);
        }
        let version = response.version();
        let headers = response.headers().clone();
        let body = read_limited(response, MAX_ERROR_BODY).await?;
        let body = if is_aptos_error(&body) {
            body
        } else {
            Bytes::from(synthesized_error(&body))
        };
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        rebuilt.headers_mut().remove(http::header::CONTENT_LENGTH);
        Ok(reqwest::Response::from(rebuilt))
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result {
            if let Some(seen) = response.headers().get(OVERSIZE_MARKER) {
                let seen = seen.to_str().unwrap_or("more");
                let limit = Body::of(info.operation_id).limit;
                return Err(progenitor_client::Error::Custom(format!(
                    "the answer's body ({seen} bytes) is over the {limit}-byte limit"
                )));
            }
        }
        Ok(())
    }
}

/// How an operation's success body is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Body {
    /// The most bytes read.
    limit: usize,
    /// Whether the body is read up front and bytes that are not UTF-8 replaced by U+FFFD.
    text: bool,
}

impl Body {
    fn of(operation_id: &str) -> Body {
        match operation_id {
            "get_account_resource" => Body {
                limit: MAX_BODY,
                text: true,
            },
            "get_account_resources" => Body {
                limit: MAX_PAGE_BODY,
                text: true,
            },
            _ => Body {
                limit: MAX_BODY,
                text: false,
            },
        }
    }
}

/// Passes a body of declared length within the limit through untouched (unless it is to be
/// read as text); reads any other body up to the limit, marking the answer when it goes
/// over.
async fn limit_body(response: reqwest::Response, how: Body) -> reqwest::Result<reqwest::Response> {
    let limit = how.limit;
    let declared = response.content_length();
    if !how.text && declared.is_some_and(|n| n <= limit as u64) {
        return Ok(response);
    }
    let status = response.status();
    let version = response.version();
    let mut headers = response.headers().clone();
    let (body, oversize) = match declared {
        Some(n) if n > limit as u64 => (Bytes::new(), Some(n.to_string())),
        _ => {
            let body = read_limited(response, limit + 1).await?;
            if body.len() > limit {
                (Bytes::new(), Some(format!("more than {limit}")))
            } else if how.text {
                (valid_utf8(body), None)
            } else {
                (body, None)
            }
        }
    };
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::TRANSFER_ENCODING);
    if let Some(seen) = oversize {
        if let Ok(v) = http::HeaderValue::from_str(&seen) {
            headers.insert(OVERSIZE_MARKER, v);
        }
    }
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// `body` with every byte sequence that is not UTF-8 replaced by U+FFFD (untouched, not
/// copied, when it is UTF-8 already).
fn valid_utf8(body: Bytes) -> Bytes {
    match String::from_utf8_lossy(&body) {
        std::borrow::Cow::Borrowed(_) => body,
        std::borrow::Cow::Owned(fixed) => Bytes::from(fixed),
    }
}

/// The error statuses the slice documents, which the generated code decodes as `AptosError`.
fn is_documented_error(status: u16) -> bool {
    matches!(status, 400 | 403 | 404 | 410 | 500 | 503)
}

fn is_aptos_error(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Shape<'a> {
        #[serde(borrow)]
        #[allow(dead_code)]
        message: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        #[allow(dead_code)]
        error_code: std::borrow::Cow<'a, str>,
    }
    serde_json::from_slice::<Shape<'_>>(body).is_ok()
}

/// An `AptosError` body with an empty code, whose message is an excerpt of what was sent.
fn synthesized_error(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut excerpt: String = text
        .chars()
        .take(MAX_EXCERPT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_EXCERPT {
        excerpt.push_str("...");
    }
    if excerpt.is_empty() {
        excerpt.push_str("(empty body)");
    }
    serde_json::to_vec(&serde_json::json!({ "message": excerpt, "error_code": "" }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_node_and_gateway_bodies() {
        assert!(is_aptos_error(
            br#"{"message":"m","error_code":"version_pruned","vm_error_code":null}"#
        ));
        assert!(is_aptos_error(
            br#"{"error_code":"version_pruned","message":"m","hint":"h","oldest_ledger_version":"5"}"#
        ));
        assert!(!is_aptos_error(b"<html>Bad gateway</html>"));
        assert!(!is_aptos_error(br#"{"code":404,"message":"old shape"}"#));
    }

    #[test]
    fn resource_bodies_become_utf8() {
        let body = Bytes::from_static(b"{\"name\":\"M\xffR\"}");
        let fixed = valid_utf8(body);
        let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
        assert_eq!(v["name"], "M\u{fffd}R");
        let fine = Bytes::from_static(b"{\"name\":\"MKR\"}");
        assert_eq!(valid_utf8(fine.clone()).as_ptr(), fine.as_ptr());
        assert!(Body::of("get_account_resource").text);
        assert_eq!(Body::of("get_account_resources").limit, MAX_PAGE_BODY);
        assert!(!Body::of("get_account_balance").text);
    }

    #[test]
    fn synthesized_body_keeps_an_excerpt() {
        let body = synthesized_error(b"<html>\n503 Service Unavailable</html>");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error_code"], "");
        assert_eq!(v["message"], "<html> 503 Service Unavailable</html>");
        let long = synthesized_error("x".repeat(10_000).as_bytes());
        let v: serde_json::Value = serde_json::from_slice(&long).unwrap();
        assert!(v["message"].as_str().unwrap().len() <= MAX_EXCERPT + 3);
    }
}
