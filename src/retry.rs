//! What the servers say about retrying: the `Retry-After` header, in seconds or as an HTTP date.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

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
    use reqwest::header::HeaderValue;

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
