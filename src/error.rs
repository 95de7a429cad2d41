//! The one error type: [`Error`], classified by [`ErrorKind`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::query::Backend;

/// What kind of failure an [`Error`] is: the part a program branches on.
///
/// Written in `snake_case` in JSON (`"not_yet_available"`). New kinds may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was malformed; nothing was sent. Also a request the server refused as invalid.
    InvalidInput,
    /// The server does not know the thing asked for (block, contract, resource).
    NotFound,
    /// The asked-for ledger version or time is older than the server keeps.
    Pruned,
    /// The asked-for version is past what this server has reached (a lagging replica).
    NotYetAvailable,
    /// The server asked us to slow down (HTTP 429); see [`Error::retry_after`].
    Throttled,
    /// A paid quota is used up; waiting will not help.
    QuotaExceeded,
    /// The credentials were missing, wrong or not allowed to do this.
    AccessDenied,
    /// The server failed or is unavailable (5xx); often worth a retry.
    Unavailable,
    /// The connection failed or broke before a full answer arrived.
    Transport,
    /// No answer arrived within the configured time.
    Timeout,
    /// An answer arrived but could not be understood.
    Decode,
    /// The query is valid but this client cannot answer it (no back end for that network).
    Unsupported,
}

impl ErrorKind {
    /// The `snake_case` name used in JSON and in the CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Pruned => "pruned",
            ErrorKind::NotYetAvailable => "not_yet_available",
            ErrorKind::Throttled => "throttled",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Decode => "decode",
            ErrorKind::Unsupported => "unsupported",
        }
    }

    /// Whether trying the same request again later can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::Unavailable
                | ErrorKind::Transport
                | ErrorKind::Timeout
                | ErrorKind::NotYetAvailable
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in tokbal, for one query or for a whole call.
///
/// An error carries its [`kind`](Error::kind), the [`backend`](Error::backend) that raised it,
/// the upstream error code when the server sent one (`version_pruned`,
/// `ThrottlingException`, ...), a message a person can act on, and the underlying cause in
/// its [`source`](std::error::Error::source) chain. It is cheap to clone, so one failure can
/// be handed to every query it affects. It never holds API keys or credentials.
///
/// ```
/// use tokbal::{ErrorKind, Query};
/// let err = "aptos:0xZZ".parse::<Query>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert_eq!(err.field(), Some("owner"));
/// assert!(err.to_string().contains("0xZZ"));
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    backend: Option<Backend>,
    code: Option<String>,
    field: Option<&'static str>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    oldest_version: Option<u64>,
    archive_url: Option<String>,
    source: Option<Source>,
}

impl Error {
    /// A new error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                backend: None,
                code: None,
                field: None,
                status: None,
                retry_after: None,
                oldest_version: None,
                archive_url: None,
                source: None,
            }),
        }
    }

    /// Malformed input: names the field and quotes the offending value.
    pub fn invalid_input(field: &'static str, value: &str, problem: impl fmt::Display) -> Self {
        let mut e = Error::new(
            ErrorKind::InvalidInput,
            format!("invalid {field} {}: {problem}", quote(value)),
        );
        e.inner.field = Some(field);
        e
    }

    /// Sets the back end that raised the error.
    pub fn with_backend(mut self, backend: Backend) -> Self {
        self.inner.backend = Some(backend);
        self
    }

    /// Sets the upstream error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    /// Sets the HTTP status of the answer that carried the error.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets how long the server asked us to wait.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.inner.retry_after = wait;
        self
    }

    /// Sets the oldest ledger version the server keeps (for [`ErrorKind::Pruned`]).
    pub fn with_oldest_version(mut self, version: Option<u64>) -> Self {
        self.inner.oldest_version = version;
        self
    }

    /// Sets the URL of a server that keeps older history (for [`ErrorKind::Pruned`]).
    pub fn with_archive_url(mut self, url: Option<String>) -> Self {
        self.inner.archive_url = url;
        self
    }

    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether trying again later can succeed (throttling, 5xx, timeouts, broken
    /// connections, a replica that has not caught up yet).
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }

    /// How long the server asked us to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The back end that raised the error, if any (input errors have none).
    pub fn backend(&self) -> Option<Backend> {
        self.inner.backend
    }

    /// The upstream error code (`version_pruned`, `ThrottlingException`, ...), when the server
    /// sent one.
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// For input errors, the field that was wrong (`owner`, `asset_type`, `token_id`, ...).
    pub fn field(&self) -> Option<&'static str> {
        self.inner.field
    }

    /// The HTTP status of the answer that carried the error, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// For [`ErrorKind::Pruned`], the oldest ledger version the server still keeps.
    pub fn oldest_version(&self) -> Option<u64> {
        self.inner.oldest_version
    }

    /// For [`ErrorKind::Pruned`], a server that keeps the full history, when one was named.
    pub fn archive_url(&self) -> Option<&str> {
        self.inner.archive_url.as_deref()
    }

    /// The message without the back-end prefix that `Display` adds.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(backend) = self.inner.backend {
            write!(f, "{backend}: ")?;
        }
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("message", &i.message);
        if let Some(b) = i.backend {
            d.field("backend", &b);
        }
        if let Some(c) = &i.code {
            d.field("code", c);
        }
        if let Some(v) = i.field {
            d.field("field", &v);
        }
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if let Some(r) = i.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(v) = i.oldest_version {
            d.field("oldest_version", &v);
        }
        if let Some(u) = &i.archive_url {
            d.field("archive_url", u);
        }
        if let Some(s) = &i.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Quotes a user-supplied value for a message: escaped, and cut short when very long, so that
/// a 1 MB line or a control character never lands raw in a log.
pub(crate) fn quote(value: &str) -> String {
    const MAX: usize = 80;
    let mut out = String::with_capacity(value.len().min(MAX) + 8);
    out.push('"');
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
        let long = "x".repeat(1000);
        let q = quote(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("...\""));
    }

    #[test]
    fn display_prefixes_backend() {
        let e = Error::new(
            ErrorKind::Pruned,
            "ledger version 12 is pruned; oldest kept is 900",
        )
        .with_backend(Backend::Aptos);
        assert_eq!(
            e.to_string(),
            "aptos: ledger version 12 is pruned; oldest kept is 900"
        );
        assert!(!e.is_retryable());
        assert!(Error::new(ErrorKind::Throttled, "slow down").is_retryable());
    }

    #[test]
    fn kinds_serialize_snake_case() {
        let json = serde_json::to_string(&ErrorKind::NotYetAvailable).unwrap();
        assert_eq!(json, "\"not_yet_available\"");
        assert_eq!(ErrorKind::QuotaExceeded.as_str(), "quota_exceeded");
    }
}
