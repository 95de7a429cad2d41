//! AMB failures to [`tokbal::Error`](Error): whole-call errors (`SdkError`) and per-item
//! errors (`errors[]` in a 200 answer).

use std::time::Duration;

use aws_sdk_managedblockchainquery::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_managedblockchainquery::operation::batch_get_token_balance::BatchGetTokenBalanceError;
use aws_sdk_managedblockchainquery::types::{BatchGetTokenBalanceErrorItem, ErrorType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error::{Error, ErrorKind};
use crate::query::Backend;

/// The kind for a whole-call error, by the exception's name (`ThrottlingException`, ...), or
/// by HTTP status for names the model does not list (AWS's own `MissingAuthenticationToken`,
/// `InvalidSignatureException`, `UnrecognizedClientException`, ... are 403s).
pub fn kind_for_service_error(code: Option<&str>, status: u16) -> ErrorKind {
    match code {
        Some("AccessDeniedException") => ErrorKind::AccessDenied,
        Some("ValidationException") => ErrorKind::InvalidInput,
        Some("ResourceNotFoundException") => ErrorKind::NotFound,
        Some("ServiceQuotaExceededException") => ErrorKind::QuotaExceeded,
        Some("ThrottlingException") => ErrorKind::Throttled,
        Some("InternalServerException") => ErrorKind::Unavailable,
        _ => match status {
            400 => ErrorKind::InvalidInput,
            401 | 403 => ErrorKind::AccessDenied,
            402 => ErrorKind::QuotaExceeded,
            404 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            429 => ErrorKind::Throttled,
            500..=599 => ErrorKind::Unavailable,
            _ => ErrorKind::Decode,
        },
    }
}

/// The kind for a per-item error type.
pub fn kind_for_item_error(error_type: &str) -> ErrorKind {
    match error_type {
        "VALIDATION_EXCEPTION" => ErrorKind::InvalidInput,
        "RESOURCE_NOT_FOUND_EXCEPTION" => ErrorKind::NotFound,
        // A type the model adds later: the item failed, and we cannot say more.
        _ => ErrorKind::Unavailable,
    }
}

/// Maps one entry of `errors[]`, keeping `errorCode` and `errorMessage`.
pub(crate) fn from_item_error(item: &BatchGetTokenBalanceErrorItem) -> Error {
    let error_type = item.error_type();
    let type_name = match error_type {
        ErrorType::ValidationException => "VALIDATION_EXCEPTION",
        ErrorType::ResourceNotFoundException => "RESOURCE_NOT_FOUND_EXCEPTION",
        other => other.as_str(),
    };
    let code = if item.error_code().is_empty() {
        type_name
    } else {
        item.error_code()
    };
    Error::new(
        kind_for_item_error(type_name),
        format!("{} ({type_name})", item.error_message().trim()),
    )
    .with_backend(Backend::Amb)
    .with_code(code)
}

/// Maps a failed call. The same error then marks every item of the call.
pub(crate) fn from_sdk_error(err: SdkError<BatchGetTokenBalanceError, HttpResponse>) -> Error {
    let base =
        |kind: ErrorKind, message: String| Error::new(kind, message).with_backend(Backend::Amb);
    // An answer refused for its size (by the body-limit interceptor, or cut off by it).
    let chain = error_chain_text(&err);
    if chain.contains(super::limit::LIMIT_MESSAGE) || chain.contains("length limit exceeded") {
        return base(
            ErrorKind::Decode,
            format!(
                "BatchGetTokenBalance: the answer is over the {}-byte limit",
                super::limit::MAX_BODY
            ),
        )
        .with_source(err);
    }
    match &err {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            let status = raw.status().as_u16();
            let service_err = ctx.err();
            let code = service_err.code();
            let kind = kind_for_service_error(code, status);
            let retry_after = retry_after(service_err, raw);
            let mut message = if (200..300).contains(&status) {
                // A success status whose body is not the operation's output.
                format!("BatchGetTokenBalance: the answer (HTTP {status}) is not a BatchGetTokenBalance output")
            } else {
                format!(
                    "BatchGetTokenBalance failed (HTTP {status}): {}",
                    service_err.message().unwrap_or("no message")
                )
            };
            if let BatchGetTokenBalanceError::ValidationException(v) = service_err {
                let fields: Vec<String> = v
                    .field_list()
                    .iter()
                    .map(|f| format!("{}: {}", f.name(), f.message()))
                    .collect();
                if !fields.is_empty() {
                    message.push_str(&format!(" [{}]", fields.join("; ")));
                }
            }
            let mut e = base(kind, message)
                .with_status(status)
                .with_retry_after(retry_after);
            if let Some(code) = code {
                e = e.with_code(code);
            }
            e.with_source(err)
        }
        SdkError::TimeoutError(_) => {
            base(ErrorKind::Timeout, "BatchGetTokenBalance timed out".into()).with_source(err)
        }
        SdkError::DispatchFailure(d) => {
            let (kind, what) = if d.is_timeout() {
                (ErrorKind::Timeout, "timed out")
            } else if d.is_user() {
                (ErrorKind::InvalidInput, "the request could not be sent")
            } else {
                (ErrorKind::Transport, "connection failed")
            };
            base(kind, format!("BatchGetTokenBalance: {what}")).with_source(err)
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            base(
                ErrorKind::Transport,
                format!(
                    "BatchGetTokenBalance: the answer (HTTP {status}) broke off or could not be read"
                ),
            )
            .with_status(status)
            .with_source(err)
        }
        SdkError::ConstructionFailure(_) => {
            if chain.to_ascii_lowercase().contains("credential") {
                base(
                    ErrorKind::AccessDenied,
                    "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                     or AWS_PROFILE, or sign in with SSO"
                        .into(),
                )
                .with_source(err)
            } else {
                base(
                    ErrorKind::InvalidInput,
                    "BatchGetTokenBalance: the request could not be built".into(),
                )
                .with_source(err)
            }
        }
        _ => base(ErrorKind::Transport, "BatchGetTokenBalance failed".into()).with_source(err),
    }
}

/// `retryAfterSeconds` from the exception, or the `Retry-After` header (seconds or a date).
fn retry_after(err: &BatchGetTokenBalanceError, raw: &HttpResponse) -> Option<Duration> {
    let typed = match err {
        BatchGetTokenBalanceError::ThrottlingException(t) => t.retry_after_seconds(),
        BatchGetTokenBalanceError::InternalServerException(i) => i.retry_after_seconds(),
        _ => None,
    };
    if let Some(secs) = typed.and_then(|s| u64::try_from(s).ok()) {
        return Some(Duration::from_secs(secs).min(crate::retry::MAX_RETRY_AFTER));
    }
    let value = raw.headers().get("retry-after")?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::RETRY_AFTER,
        reqwest::header::HeaderValue::from_str(value).ok()?,
    );
    crate::retry::retry_after(&headers)
}

/// The whole source chain as text, to look for a cause by name.
fn error_chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cur = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_by_name_then_status() {
        assert_eq!(
            kind_for_service_error(Some("ThrottlingException"), 429),
            ErrorKind::Throttled
        );
        assert_eq!(
            kind_for_service_error(Some("ServiceQuotaExceededException"), 402),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            kind_for_service_error(Some("InvalidSignatureException"), 403),
            ErrorKind::AccessDenied
        );
        assert_eq!(kind_for_service_error(None, 503), ErrorKind::Unavailable);
        assert_eq!(
            kind_for_item_error("VALIDATION_EXCEPTION"),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            kind_for_item_error("RESOURCE_NOT_FOUND_EXCEPTION"),
            ErrorKind::NotFound
        );
    }
}
