//! An answer as the node writes it: a JSON body (or the gateway's plain text for
//! throttling), the status, and the `X-APTOS-*` ledger headers of the moment it answers.

use axum::body::Body;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::LedgerInfo;
use crate::faults::cut_body;

/// An answer before the ledger headers are added.
pub(super) struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<u64>,
    /// `X-APTOS-CURSOR`: where the next page of a paged answer starts.
    cursor: Option<String>,
}

#[derive(Serialize)]
struct AptosErrorBody<'a> {
    message: &'a str,
    error_code: &'a str,
    vm_error_code: Option<u64>,
}

const JSON: &str = "application/json";

impl Answer {
    pub(super) fn json<T: Serialize>(status: StatusCode, value: &T) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                status,
                content_type: JSON,
                body,
                retry_after: None,
                cursor: None,
            },
            Err(e) => Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                &format!("failed to serialize the answer: {e}"),
            ),
        }
    }

    /// A 200 answer whose JSON body is already written (it may hold bytes that are not
    /// UTF-8, as a broken node's would).
    pub(super) fn raw_json(body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            content_type: JSON,
            body,
            retry_after: None,
            cursor: None,
        }
    }

    /// The same answer with `X-APTOS-CURSOR: cursor`.
    pub(super) fn with_cursor(mut self, cursor: Option<String>) -> Answer {
        self.cursor = cursor;
        self
    }

    pub(super) fn error(status: StatusCode, error_code: &str, message: &str) -> Answer {
        let body = AptosErrorBody {
            message,
            error_code,
            vm_error_code: None,
        };
        Answer {
            status,
            content_type: JSON,
            // Serializing two strings and a null cannot fail.
            body: serde_json::to_vec(&body).unwrap_or_default(),
            retry_after: None,
            cursor: None,
        }
    }

    pub(super) fn bad_request(error_code: &str, message: &str) -> Answer {
        Answer::error(StatusCode::BAD_REQUEST, error_code, message)
    }

    pub(super) fn throttled(retry_after_secs: u64) -> Answer {
        Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            content_type: "text/plain; charset=utf-8",
            body: format!(
                "Too Many Requests: per-IP rate limit exceeded for anonymous requests; \
                 retry in {retry_after_secs}s or use an API key"
            )
            .into_bytes(),
            retry_after: Some(retry_after_secs),
            cursor: None,
        }
    }

    pub(super) fn injected_failure(status: u16) -> Answer {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (code, message) = match status {
            StatusCode::SERVICE_UNAVAILABLE => (
                "health_check_failed",
                "Service unavailable: the node is not ready to serve requests (injected fault)",
            ),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many requests (injected fault)"),
            s if s.is_client_error() => {
                ("invalid_input", "The request was refused (injected fault)")
            }
            _ => (
                "internal_error",
                "Internal error: failed to read from storage (injected fault)",
            ),
        };
        Answer::error(status, code, message)
    }

    pub(super) fn into_response(self, info: &LedgerInfo, drop_mid_body: bool) -> Response {
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
            HeaderValue::from_static(self.content_type),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cursor) = self.cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(HeaderName::from_static("x-aptos-cursor"), cursor);
        }
        let ledger_headers: [(&'static str, u64); 7] = [
            ("x-aptos-chain-id", u64::from(info.chain_id)),
            ("x-aptos-ledger-version", info.ledger_version),
            ("x-aptos-ledger-oldest-version", info.oldest_ledger_version),
            ("x-aptos-ledger-timestampusec", info.ledger_timestamp_us),
            ("x-aptos-epoch", info.epoch),
            ("x-aptos-block-height", info.block_height),
            ("x-aptos-oldest-block-height", info.oldest_block_height),
        ];
        for (name, value) in ledger_headers {
            h.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        resp
    }
}
