//! Instants in RFC 3339, as the CLI and the JSON output write them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;

/// Parses an RFC 3339 instant (`2026-01-01T00:00:00Z`, `2026-01-01T02:00:00+02:00`),
/// naming `field` in the error.
pub fn parse_rfc3339(field: &'static str, s: &str) -> Result<SystemTime, Error> {
    let ts: jiff::Timestamp = s.trim().parse().map_err(|e| {
        Error::invalid_input(
            field,
            s,
            format!("not an RFC 3339 instant like 2026-01-01T00:00:00Z ({e})"),
        )
    })?;
    Ok(SystemTime::from(ts))
}

/// Formats an instant as RFC 3339 in UTC, with fractional seconds only when present.
pub fn format_rfc3339(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.to_string(),
        // Outside jiff's range (years beyond 9999): fall back to seconds since the epoch.
        Err(_) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => format!("{}s after 1970-01-01T00:00:00Z", d.as_secs()),
            Err(e) => format!("{}s before 1970-01-01T00:00:00Z", e.duration().as_secs()),
        },
    }
}

/// Drops the sub-second part: AMB records instants to the second.
pub fn truncate_to_second(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        let t = parse_rfc3339("at", "2026-01-01T02:00:00+02:00").unwrap();
        assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1_767_225_600));
        assert_eq!(format_rfc3339(t), "2026-01-01T00:00:00Z");
        for bad in [
            "",
            "yesterday",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "1767225600",
        ] {
            let e = parse_rfc3339("at", bad).unwrap_err();
            assert_eq!(e.field(), Some("at"), "{bad}");
        }
    }
}
