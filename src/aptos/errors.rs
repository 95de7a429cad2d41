//! Turns what the Aptos node (or a gateway in front of it) answers into [`tokbal::Error`](Error).

use reqwest::header::HeaderMap;

use super::generated::types::AptosError;
use super::headers::{header_u64, OLDEST_VERSION};
use crate::error::{Error, ErrorKind};
use crate::query::Backend;
use crate::retry::retry_after;

/// The generated client's error type.
pub(crate) type GeneratedError = progenitor_client::Error<AptosError>;

/// The kind for an Aptos error code; `None` for codes this version of tokbal does not know,
/// which are then classified by HTTP status.
pub fn kind_for_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "version_pruned" | "block_pruned" => ErrorKind::Pruned,
        "version_not_found" => ErrorKind::NotYetAvailable,
        "account_not_found"
        | "resource_not_found"
        | "module_not_found"
        | "struct_field_not_found"
        | "transaction_not_found"
        | "table_item_not_found"
        | "block_not_found"
        | "state_value_not_found" => ErrorKind::NotFound,
        "invalid_input"
        | "invalid_transaction_update"
        | "sequence_number_too_old"
        | "vm_error"
        | "web_framework_error" => ErrorKind::InvalidInput,
        "rejected_by_filter" => ErrorKind::AccessDenied,
        "rate_limited" => ErrorKind::Throttled,
        "health_check_failed" | "mempool_is_full" | "node_not_bootstrapped" | "internal_error" => {
            ErrorKind::Unavailable
        }
        "bcs_not_supported" | "api_disabled" => ErrorKind::Unsupported,
        _ => return None,
    })
}

/// The kind for an HTTP status when the body names no known code.
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 414 | 422 => ErrorKind::InvalidInput,
        401 | 403 => ErrorKind::AccessDenied,
        404 => ErrorKind::NotFound,
        408 | 504 => ErrorKind::Timeout,
        410 => ErrorKind::Pruned,
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Decode,
    }
}

/// Maps a failed call. `what` says what was being read, for the message
/// ("balance at ledger version 12").
pub(crate) async fn map_error(err: GeneratedError, what: &str) -> Error {
    let base =
        |kind: ErrorKind, message: String| Error::new(kind, message).with_backend(Backend::Aptos);
    match err {
        progenitor_client::Error::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let headers = rv.headers().clone();
            from_body(status, &headers, rv.into_inner(), what)
        }
        progenitor_client::Error::UnexpectedResponse(response)
            if response.status().is_redirection() =>
        {
            // Only same-origin redirects are followed; this one pointed elsewhere.
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|l| crate::error::quote(&crate::endpoint::shown(l)))
                .unwrap_or_else(|| "nowhere".into());
            base(
                ErrorKind::Decode,
                format!(
                    "{what}: HTTP {status} redirect to {location}, another host; tokbal follows redirects only within the same scheme, host and port"
                ),
            )
            .with_status(status)
        }
        progenitor_client::Error::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let text = match crate::transport::read_limited(response, super::hooks::MAX_ERROR_BODY)
                .await
            {
                Ok(bytes) => crate::transport::excerpt(&bytes),
                Err(_) => String::new(),
            };
            let kind = if (200..300).contains(&status) {
                ErrorKind::Decode
            } else {
                kind_for_status(status)
            };
            let mut message = format!("{what}: HTTP {status}");
            if !text.is_empty() {
                message.push_str(": ");
                message.push_str(&text);
            }
            let mut e = base(kind, message)
                .with_status(status)
                .with_retry_after(retry_after(&headers));
            if kind == ErrorKind::Pruned {
                e = e.with_oldest_version(header_u64(&headers, OLDEST_VERSION));
            }
            e
        }
        progenitor_client::Error::CommunicationError(source)
        | progenitor_client::Error::ResponseBodyError(source)
        | progenitor_client::Error::InvalidUpgrade(source) => {
            // Reading failed before a whole answer arrived (reqwest calls a body cut short a
            // "decode" error; JSON that does not decode arrives as InvalidResponsePayload).
            let kind = if source.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Transport
            };
            let what_failed = if source.is_timeout() {
                "timed out"
            } else if source.is_connect() {
                "could not connect"
            } else if source.is_body() || source.is_decode() {
                "the connection broke while the answer was being read"
            } else {
                "connection failed"
            };
            base(kind, format!("{what}: {what_failed}")).with_source(source.without_url())
        }
        progenitor_client::Error::InvalidResponsePayload(bytes, source) => base(
            ErrorKind::Decode,
            format!(
                "{what}: the answer is not what the API describes ({source}): {}",
                crate::transport::excerpt(&bytes)
            ),
        )
        .with_source(source),
        progenitor_client::Error::InvalidRequest(message) => {
            base(ErrorKind::InvalidInput, format!("{what}: {message}"))
        }
        // Only tokbal's own hooks raise these: an answer refused before decoding.
        progenitor_client::Error::Custom(message) => {
            base(ErrorKind::Decode, format!("{what}: {message}"))
        }
    }
}

/// Maps a documented error answer with an `AptosError` body.
fn from_body(status: u16, headers: &HeaderMap, body: AptosError, what: &str) -> Error {
    let code = body.error_code.trim();
    let kind = kind_for_code(code).unwrap_or_else(|| kind_for_status(status));
    let mut message = format!("{what}: {}", body.message.trim());
    let (mut oldest, mut archive) = (None, None);
    if kind == ErrorKind::Pruned {
        oldest = header_u64(headers, OLDEST_VERSION).or(body.oldest_ledger_version.map(|v| v.0));
        archive = body.archival_endpoint;
        if let Some(oldest) = oldest {
            message.push_str(&format!("; oldest kept version is {oldest}"));
        }
        if let Some(url) = &archive {
            message.push_str(&format!("; full history at {url}"));
        }
    }
    let e = Error::new(kind, message)
        .with_backend(Backend::Aptos)
        .with_status(status)
        .with_retry_after(retry_after(headers))
        .with_oldest_version(oldest)
        .with_archive_url(archive);
    if code.is_empty() {
        e
    } else {
        e.with_code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code in the published `AptosErrorCode` enum, as of the newest description.
    const UPSTREAM_CODES: [&str; 24] = [
        "account_not_found",
        "resource_not_found",
        "module_not_found",
        "struct_field_not_found",
        "version_not_found",
        "transaction_not_found",
        "table_item_not_found",
        "block_not_found",
        "state_value_not_found",
        "version_pruned",
        "block_pruned",
        "invalid_input",
        "invalid_transaction_update",
        "sequence_number_too_old",
        "vm_error",
        "rejected_by_filter",
        "health_check_failed",
        "mempool_is_full",
        "rate_limited",
        "node_not_bootstrapped",
        "internal_error",
        "web_framework_error",
        "bcs_not_supported",
        "api_disabled",
    ];

    #[test]
    fn every_upstream_code_has_a_kind() {
        for code in UPSTREAM_CODES {
            assert!(kind_for_code(code).is_some(), "{code} has no kind");
        }
        assert_eq!(kind_for_code("version_pruned"), Some(ErrorKind::Pruned));
        assert_eq!(
            kind_for_code("version_not_found"),
            Some(ErrorKind::NotYetAvailable)
        );
        assert_eq!(kind_for_code("rate_limited"), Some(ErrorKind::Throttled));
        assert_eq!(kind_for_code("some_future_code"), None);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_status() {
        let body = AptosError {
            message: "new".into(),
            error_code: "some_future_code".into(),
            vm_error_code: None,
            oldest_ledger_version: None,
            archival_endpoint: None,
            hint: None,
        };
        let e = from_body(503, &HeaderMap::new(), body, "balance");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.code(), Some("some_future_code"));
        assert!(e.is_retryable());
    }

    #[test]
    fn gateway_pruned_body_carries_oldest_and_archive() {
        let body: AptosError = serde_json::from_str(
            r#"{"error_code":"version_pruned","message":"Ledger version(1) has been pruned",
                "hint":"h","oldest_ledger_version":"10255283755",
                "archival_endpoint":"https://archive.example/v1"}"#,
        )
        .unwrap();
        let e = from_body(410, &HeaderMap::new(), body, "balance at ledger version 1");
        assert_eq!(e.kind(), ErrorKind::Pruned);
        assert_eq!(e.oldest_version(), Some(10255283755));
        assert_eq!(e.archive_url(), Some("https://archive.example/v1"));
        assert!(e.to_string().contains("oldest kept version is 10255283755"));
        assert!(!e.is_retryable());
    }
}
