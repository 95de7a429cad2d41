//! Transport behaviour added to the generated Esplora client through progenitor's
//! `ClientHooks`, as `src/aptos/hooks.rs` does for the Aptos client.
//!
//! Success bodies are read with a size limit that depends on the operation
//! ([`max_body`]): a declared length above it is refused before the body is read, and a body
//! without a declared length is read only up to it. The refusal travels as a marker header
//! from [`exec`](ClientHooks::exec) to [`post`](ClientHooks::post), which turns it into an
//! error before anything is decoded.
//!
//! Esplora answers every error with a short plain-text message (the slice says so, and the
//! generated code hands such bodies back undecoded, as a byte stream). A proxy in front of
//! it may answer with a page of HTML instead. [`exec`](ClientHooks::exec) reads every error
//! body up front, up to [`MAX_ERROR_BODY`], so that neither the documented error answers
//! nor the undocumented ones can make the error mapping read without bound; `errors.rs`
//! then turns the status, the headers and an excerpt of the text into an [`Error`].
//!
//! [`Error`]: crate::Error

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

use super::generated::Client;
use crate::transport::read_limited;

/// Largest body read from `GET /address/{address}` and `GET /block/{hash}`: both answer a
/// few hundred bytes.
pub const MAX_BODY: usize = 1024 * 1024;
/// Largest body read from a page of an address's transactions. A page holds 25
/// transactions with every input's prevout; a few large ones (thousands of outputs) make a
/// page of several megabytes, so the limit is higher than [`MAX_BODY`], but still bounded.
pub const MAX_TXS_BODY: usize = 32 * 1024 * 1024;
/// Largest error body read; longer ones are cut, which is plenty for a message.
pub const MAX_ERROR_BODY: usize = 64 * 1024;
/// Set by `exec` on a rebuilt answer whose body went over the limit; holds the size seen.
const OVERSIZE_MARKER: &str = "x-tokbal-oversize";

/// The body limit of an operation of the slice.
pub(crate) fn max_body(operation_id: &str) -> usize {
    match operation_id {
        "get_address_txs_chain" | "get_address_txs_chain_after" => MAX_TXS_BODY,
        _ => MAX_BODY,
    }
}

impl ClientHooks<()> for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        if response.status().is_success() {
            limit_body(response, max_body(info.operation_id)).await
        } else {
            buffer_error(response).await
        }
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        if let Ok(response) = result {
            if let Some(seen) = response.headers().get(OVERSIZE_MARKER) {
                let seen = seen.to_str().unwrap_or("more");
                return Err(progenitor_client::Error::Custom(format!(
                    "the answer's body ({seen} bytes) is over the {}-byte limit",
                    max_body(info.operation_id)
                )));
            }
        }
        Ok(())
    }
}

/// Passes a body of declared length within `limit` through untouched; reads any other body
/// up to `limit`, marking the answer when it goes over.
async fn limit_body(
    mut response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<reqwest::Response> {
    let declared = response.content_length();
    if declared.is_some_and(|n| n <= limit as u64) {
        // A server's own header of that name must not pass for tokbal's marker.
        response.headers_mut().remove(OVERSIZE_MARKER);
        return Ok(response);
    }
    let (status, version) = (response.status(), response.version());
    let headers = response.headers().clone();
    let (body, oversize) = match declared {
        Some(n) => (Bytes::new(), Some(n.to_string())),
        None => {
            let body = read_limited(response, limit + 1).await?;
            if body.len() > limit {
                (Bytes::new(), Some(format!("more than {limit}")))
            } else {
                (body, None)
            }
        }
    };
    Ok(rebuild(status, version, headers, body, oversize))
}

/// Reads an error answer's body, up to [`MAX_ERROR_BODY`], and hands back the answer with
/// that body in memory.
async fn buffer_error(response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = read_limited(response, MAX_ERROR_BODY).await?;
    Ok(rebuild(status, version, headers, body, None))
}

/// An answer with `body` in memory, the length headers of the original dropped, and the
/// oversize marker set when `oversize` says how much was seen.
fn rebuild(
    status: http::StatusCode,
    version: http::Version,
    mut headers: http::HeaderMap,
    body: Bytes,
    oversize: Option<String>,
) -> reqwest::Response {
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::TRANSFER_ENCODING);
    // A server's own header of that name must not pass for tokbal's marker.
    headers.remove(OVERSIZE_MARKER);
    if let Some(seen) = oversize {
        if let Ok(v) = http::HeaderValue::from_str(&seen) {
            headers.insert(OVERSIZE_MARKER, v);
        }
    }
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    reqwest::Response::from(rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_transactions_get_the_larger_limit() {
        assert_eq!(max_body("get_address"), MAX_BODY);
        assert_eq!(max_body("get_block"), MAX_BODY);
        assert_eq!(max_body("get_address_txs_chain"), MAX_TXS_BODY);
        assert_eq!(max_body("get_address_txs_chain_after"), MAX_TXS_BODY);
    }

    #[test]
    fn a_servers_own_marker_is_dropped() {
        let mut headers = http::HeaderMap::new();
        headers.insert(OVERSIZE_MARKER, http::HeaderValue::from_static("9"));
        let r = rebuild(
            http::StatusCode::OK,
            http::Version::HTTP_11,
            headers,
            Bytes::from_static(b"{}"),
            None,
        );
        assert!(r.headers().get(OVERSIZE_MARKER).is_none());
    }
}
