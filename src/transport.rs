//! [`Transport`]: how requests to a back end are sent. Both back ends take the same settings.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::retry::{RateLimit, RetryPolicy};

/// Default time allowed for one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed, retries, pacing, and whether plain `http://` to hosts other than loopback
/// is accepted: the settings every back end's requests follow.
///
/// ```
/// use std::time::Duration;
/// use tokbal::retry::{RateLimit, RetryPolicy};
/// use tokbal::Transport;
/// let t = Transport::default()
///     .with_timeout(Duration::from_secs(5))
///     .with_retry(RetryPolicy::none())
///     .with_rate_limit(Some(RateLimit::per_second(20)));
/// assert_eq!(t.timeout, Duration::from_secs(5));
/// assert!(!t.allow_insecure_http);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Transport {
    /// Time allowed for one request, from connecting to the last byte.
    pub timeout: Duration,
    /// When to try a failed request again.
    pub retry: RetryPolicy,
    /// Requests per second; `None` picks the back end's default for its endpoint.
    pub rate_limit: Option<RateLimit>,
    /// Accept plain `http://` to hosts other than loopback (keys and signed requests would
    /// cross the network in the clear).
    pub allow_insecure_http: bool,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            rate_limit: None,
            allow_insecure_http: false,
        }
    }
}

impl Transport {
    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the rate limit (`None`: the back end's default for its endpoint).
    pub fn with_rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Accepts plain `http://` to hosts other than loopback.
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Time allowed to connect: the timeout, at most 10 seconds.
    pub(crate) fn connect_timeout(&self) -> Duration {
        self.timeout.min(Duration::from_secs(10))
    }
}

#[cfg_attr(not(any(feature = "aptos", feature = "evm")), allow(dead_code))]
impl Transport {
    /// An HTTP client following these settings: the timeouts, `headers` on every request, one
    /// TLS stack (rustls with ring), and redirects only within the same origin.
    pub(crate) fn http_client(
        &self,
        headers: reqwest::header::HeaderMap,
    ) -> Result<reqwest::Client, Error> {
        crate::tls::ensure_crypto_provider();
        reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout())
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Transport, "could not set up the HTTP client").with_source(e)
            })
    }
}

/// Redirects are followed only to the same scheme, host and port (at most 5), so that an
/// answer can never send a key, or the query, to another host.
#[cfg_attr(not(any(feature = "aptos", feature = "evm")), allow(dead_code))]
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if first.is_some_and(|f| crate::endpoint::same_origin(&f, attempt.url())) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Reads at most `limit` bytes of the body; the rest is dropped with the connection.
#[cfg_attr(not(any(feature = "aptos", feature = "bitcoin")), allow(dead_code))]
pub(crate) async fn read_limited(
    response: reqwest::Response,
    limit: usize,
) -> reqwest::Result<bytes::Bytes> {
    read_limited_into(response, limit, Vec::new())
        .await
        .map(bytes::Bytes::from)
}

/// [`read_limited`] into `buf` (emptied first): a buffer used before has its memory mapped
/// already, which spares a large answer a page fault every 4 KiB.
#[cfg_attr(
    not(any(feature = "aptos", feature = "bitcoin", feature = "evm")),
    allow(dead_code)
)]
pub(crate) async fn read_limited_into(
    mut response: reqwest::Response,
    limit: usize,
    mut buf: Vec<u8>,
) -> reqwest::Result<Vec<u8>> {
    buf.clear();
    // The declared length (when the server gives one, and within the limit) sizes the buffer
    // once instead of doubling it chunk by chunk.
    let declared = response.content_length().unwrap_or(0).min(limit as u64);
    buf.reserve(usize::try_from(declared).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() >= room {
            buf.extend_from_slice(&chunk[..room]);
            break;
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// A short, printable excerpt of an answer's body, for an error message: at most 200
/// characters, control characters blanked.
#[cfg_attr(not(any(feature = "aptos", feature = "bitcoin")), allow(dead_code))]
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX {
        out.push_str("...");
    }
    out
}

/// Runs `work` (an HTTP exchange) as a tokio task of its own where a runtime is at hand, so
/// that it makes progress (connecting, writing, reading) whatever the task awaiting it is busy
/// with; inline elsewhere. Dropping the returned future aborts the task, as dropping `work`
/// itself would have.
#[cfg_attr(not(feature = "evm"), allow(dead_code))]
pub(crate) async fn detached<T, F>(work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    Exchange::start(work).await
}

/// An HTTP exchange started now (see [`detached`]) and awaited later: its task begins at
/// once, not when first polled. Dropping it aborts the task.
#[cfg_attr(not(feature = "evm"), allow(dead_code))]
pub(crate) enum Exchange<T> {
    /// Running as a task of its own.
    Spawned(tokio::task::JoinHandle<Result<T, Error>>),
    /// No runtime at hand: run when awaited.
    Inline(Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>),
}

#[cfg_attr(not(feature = "evm"), allow(dead_code))]
impl<T: Send + 'static> Exchange<T> {
    /// Starts `work`.
    pub(crate) fn start<F>(work: F) -> Self
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
    {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => Exchange::Spawned(runtime.spawn(work)),
            Err(_) => Exchange::Inline(Box::pin(work)),
        }
    }
}

impl<T> Future for Exchange<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Exchange::Spawned(task) => Pin::new(task).poll(cx).map(|joined| match joined {
                Ok(result) => result,
                Err(e) => Err(Error::new(
                    ErrorKind::Transport,
                    format!("the request's task ended without an answer ({e})"),
                )),
            }),
            Exchange::Inline(work) => work.as_mut().poll(cx),
        }
    }
}

impl<T> Drop for Exchange<T> {
    fn drop(&mut self) {
        if let Exchange::Spawned(task) = self {
            task.abort();
        }
    }
}
