//! Retrying and pacing, one policy for both back ends: [`RetryPolicy`] (exponential backoff
//! with jitter, bounded in attempts and total time, honouring `Retry-After`) and
//! [`RateLimit`] (requests per second, per back end).

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::Error;

/// When and how often to try a request again.
///
/// Only retryable failures are retried ([`Error::is_retryable`]: throttling, 5xx, timeouts,
/// broken connections, a replica that has not reached the pinned version); a server's
/// `Retry-After` replaces the computed delay when it is longer. Invalid input, pruned
/// versions, missing access or an exhausted quota are never retried.
///
/// ```
/// use std::time::Duration;
/// use tokbal::retry::RetryPolicy;
/// let patient = RetryPolicy::default().with_max_attempts(8).with_max_total_delay(Duration::from_secs(60));
/// assert_eq!(patient.max_attempts, 8);
/// assert_eq!(RetryPolicy::none().max_attempts, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: usize,
    /// Delay before the first retry; each later one doubles it, with jitter.
    pub min_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// Longest time spent waiting between attempts, in all.
    pub max_total_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            max_total_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts in all (at least 1).
    pub fn with_max_attempts(mut self, n: usize) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the first delay.
    pub fn with_min_delay(mut self, d: Duration) -> Self {
        self.min_delay = d;
        self
    }

    /// Sets the longest single delay.
    pub fn with_max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// Sets the longest total time spent waiting.
    pub fn with_max_total_delay(mut self, d: Duration) -> Self {
        self.max_total_delay = d;
        self
    }

    /// Runs `op`, waiting for `limit` before each attempt and retrying what is retryable.
    pub(crate) async fn run<T, F, Fut>(&self, limit: &RateLimit, op: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1))
            .with_total_delay(Some(self.max_total_delay))
            .with_jitter();
        let max_delay = self.max_total_delay;
        (|| async {
            limit.wait().await;
            op().await
        })
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|e: &Error| e.is_retryable())
        // A server's Retry-After wins over a shorter computed delay, within the total bound.
        .adjust(move |e: &Error, delay: Option<Duration>| {
            let delay = delay?;
            Some(match e.retry_after() {
                Some(asked) => asked.max(delay).min(max_delay),
                None => delay,
            })
        })
        .await
    }
}

/// A client-side limit on requests per second, shared by every request of one back end.
///
/// ```
/// use tokbal::retry::RateLimit;
/// let limit = RateLimit::per_second(10);
/// assert_eq!(limit.requests_per_second(), Some(10));
/// assert_eq!(RateLimit::unlimited().requests_per_second(), None);
/// ```
#[derive(Clone, Default)]
pub struct RateLimit {
    limiter: Option<(u32, Arc<DefaultDirectRateLimiter>)>,
}

impl RateLimit {
    /// At most `n` requests per second (0 means no limit), with bursts of up to `n`.
    pub fn per_second(n: u32) -> Self {
        match NonZeroU32::new(n) {
            Some(rate) => RateLimit {
                limiter: Some((
                    n,
                    Arc::new(DefaultDirectRateLimiter::direct(Quota::per_second(rate))),
                )),
            },
            None => RateLimit::unlimited(),
        }
    }

    /// No limit.
    pub fn unlimited() -> Self {
        RateLimit { limiter: None }
    }

    /// The limit, if any.
    pub fn requests_per_second(&self) -> Option<u32> {
        self.limiter.as_ref().map(|(n, _)| *n)
    }

    /// Waits until one more request is allowed.
    pub(crate) async fn wait(&self) {
        if let Some((_, limiter)) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.requests_per_second() {
            Some(n) => write!(f, "RateLimit({n}/s)"),
            None => f.write_str("RateLimit(unlimited)"),
        }
    }
}

/// Longest wait taken from a `Retry-After` header; a server asking for more is capped.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Reads `Retry-After` (delta-seconds or an HTTP date), capped at [`MAX_RETRY_AFTER`].
/// A malformed or absent header gives `None`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use reqwest::header::HeaderValue;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn quick() -> RetryPolicy {
        RetryPolicy::default()
            .with_min_delay(Duration::from_millis(1))
            .with_max_delay(Duration::from_millis(5))
    }

    #[tokio::test]
    async fn retries_only_what_is_retryable_and_stops_at_the_bound() {
        let calls = AtomicUsize::new(0);
        let r: Result<(), Error> = quick()
            .with_max_attempts(3)
            .run(&RateLimit::unlimited(), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(ErrorKind::Unavailable, "down"))
            })
            .await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Unavailable);
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicUsize::new(0);
        let r: Result<(), Error> = quick()
            .run(&RateLimit::unlimited(), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::new(ErrorKind::Pruned, "gone"))
            })
            .await;
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Pruned);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "pruned is never retried");
    }

    #[tokio::test]
    async fn a_transient_failure_then_success() {
        let calls = AtomicUsize::new(0);
        let r = quick()
            .run(&RateLimit::unlimited(), || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err(Error::new(ErrorKind::Throttled, "slow down")),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let started = tokio::time::Instant::now();
        let calls = AtomicUsize::new(0);
        let r = quick()
            .run(&RateLimit::unlimited(), || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(Error::new(ErrorKind::Throttled, "wait")
                        .with_retry_after(Some(Duration::from_secs(3))))
                } else {
                    Ok(())
                }
            })
            .await;
        assert!(r.is_ok());
        // Paused time: the wait is exactly what was asked, not the 1 ms backoff.
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn seconds_dates_and_garbage() {
        assert_eq!(retry_after(&with("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&with("999999")), Some(MAX_RETRY_AFTER));
        let soon = SystemTime::now() + Duration::from_secs(30);
        let d = retry_after(&with(&httpdate::fmt_http_date(soon))).unwrap();
        assert!(
            d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
            "{d:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH);
        assert_eq!(retry_after(&with(&past)), Some(Duration::ZERO));
        assert_eq!(retry_after(&with("soon")), None);
        assert_eq!(retry_after(&with("-1")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
