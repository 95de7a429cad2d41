//! Pinning an Aptos read to an instant: the last ledger version at or before it.
//!
//! Blocks carry timestamps (microseconds) and hold contiguous ranges of versions, so the
//! version for an instant is the last version of the last block made at or before it. Block
//! times are nearly regular, so an interpolation search over block heights lands next to the
//! answer in a step or two, even on a chain of 10^8 blocks; a bisection step takes over if
//! interpolation stops closing in. Every block learned is cached, so later searches start
//! from a narrower bracket.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::AptosBackend;
use crate::error::{Error, ErrorKind};
use crate::query::Backend;

/// The ledger version an instant resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimePin {
    /// The last ledger version at or before the instant.
    pub version: u64,
    /// The block holding it.
    pub block_height: u64,
    /// That block's timestamp, microseconds since the Unix epoch.
    pub block_timestamp_usec: u64,
    /// True when the instant is at or after the node's latest ledger version: the read is
    /// at the tip, which is the closest the node can come.
    pub at_tip: bool,
}

/// A block as far as the search cares: its timestamp and its last version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    height: u64,
    timestamp: u64,
    last_version: u64,
}

/// Blocks learned by earlier searches (height -> point), bounded in size.
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    points: Mutex<BTreeMap<u64, Point>>,
}

const MAX_CACHED_BLOCKS: usize = 16_384;

impl BlockCache {
    fn insert(&self, p: Point) {
        if let Ok(mut points) = self.points.lock() {
            if points.len() >= MAX_CACHED_BLOCKS {
                points.clear();
            }
            points.insert(p.height, p);
        }
    }

    /// Narrows `(lo, hi)` with what is cached strictly between them.
    fn narrow(&self, target: u64, lo: &mut Point, hi: &mut Point) {
        let Ok(points) = self.points.lock() else {
            return;
        };
        for p in points.range(lo.height + 1..hi.height).map(|(_, p)| *p) {
            if p.timestamp <= target {
                if p.height > lo.height {
                    *lo = p;
                }
            } else if p.height < hi.height {
                *hi = p;
                break;
            }
        }
    }

    fn get(&self, height: u64) -> Option<Point> {
        self.points.lock().ok()?.get(&height).copied()
    }
}

impl AptosBackend {
    /// The last ledger version at or before `at`: the version a read "as of `at`" uses.
    ///
    /// An instant before the oldest block the node keeps is [`ErrorKind::Pruned`]; one at or
    /// after its latest ledger version resolves to the tip, with [`TimePin::at_tip`] set.
    pub async fn version_at_time(&self, at: SystemTime) -> Result<TimePin, Error> {
        let target = at
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .map_err(|_| {
                Error::invalid_input(
                    "at",
                    &crate::time::format_rfc3339(at),
                    "before 1970-01-01T00:00:00Z",
                )
            })?;
        let ledger = self.ledger_info().await?;
        if target >= ledger.ledger_timestamp_usec {
            return Ok(TimePin {
                version: ledger.ledger_version,
                block_height: ledger.block_height,
                block_timestamp_usec: ledger.ledger_timestamp_usec,
                at_tip: true,
            });
        }

        let mut lo = self.block_point(ledger.oldest_block_height).await?;
        if lo.timestamp > target {
            let when = crate::time::format_rfc3339(at);
            return Err(Error::new(
                ErrorKind::Pruned,
                format!(
                    "{when} is before the oldest block the node keeps (height {}); oldest kept version is {}",
                    lo.height, ledger.oldest_ledger_version
                ),
            )
            .with_backend(Backend::Aptos)
            .with_oldest_version(Some(ledger.oldest_ledger_version)));
        }
        // One past the tip, a point later than the target: the bracket's upper end.
        let mut hi = Point {
            height: ledger.block_height + 1,
            timestamp: ledger.ledger_timestamp_usec.saturating_add(1),
            last_version: ledger.ledger_version,
        };
        self.blocks.narrow(target, &mut lo, &mut hi);

        let mut slow_steps = 0;
        while hi.height - lo.height > 1 {
            let width = hi.height - lo.height;
            let guess = if slow_steps >= 2 {
                lo.height + width / 2
            } else {
                interpolate(&lo, &hi, target)
            };
            let p = self.block_point(guess).await?;
            if p.timestamp <= target {
                lo = p;
            } else {
                hi = p;
            }
            if hi.height - lo.height > width / 2 {
                slow_steps += 1;
            } else {
                slow_steps = 0;
            }
        }
        Ok(TimePin {
            version: lo.last_version.min(ledger.ledger_version),
            block_height: lo.height,
            block_timestamp_usec: lo.timestamp,
            at_tip: false,
        })
    }

    /// A block's point, from the cache or the node.
    async fn block_point(&self, height: u64) -> Result<Point, Error> {
        if let Some(p) = self.blocks.get(height) {
            return Ok(p);
        }
        let b = self.block_by_height(height).await?;
        let p = Point {
            height: b.height,
            timestamp: b.timestamp_usec,
            last_version: b.last_version,
        };
        self.blocks.insert(p);
        Ok(p)
    }
}

/// The height where `target` would fall if block times were even between `lo` and `hi`,
/// kept strictly inside the bracket.
fn interpolate(lo: &Point, hi: &Point, target: u64) -> u64 {
    let span = u128::from(hi.timestamp.saturating_sub(lo.timestamp)).max(1);
    let offset = u128::from(target.saturating_sub(lo.timestamp));
    let width = u128::from(hi.height - lo.height);
    let step = u64::try_from(offset * width / span).unwrap_or(u64::MAX);
    lo.height
        .saturating_add(step)
        .clamp(lo.height + 1, hi.height - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_stays_inside_the_bracket() {
        let lo = Point {
            height: 10,
            timestamp: 1_000,
            last_version: 30,
        };
        let hi = Point {
            height: 20,
            timestamp: 2_000,
            last_version: 60,
        };
        assert_eq!(interpolate(&lo, &hi, 1_500), 15);
        assert_eq!(interpolate(&lo, &hi, 1_000), 11);
        assert_eq!(interpolate(&lo, &hi, 1_999), 19);
        let same = Point { height: 11, ..lo };
        assert_eq!(interpolate(&lo, &Point { height: 12, ..same }, 5_000), 11);
    }
}
