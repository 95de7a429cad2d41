//! Pinning an Aptos read to an instant: the last ledger version at or before it.
//!
//! Blocks carry timestamps (microseconds) and hold contiguous ranges of versions, so the
//! version for an instant is the last version of the last block made at or before it, found
//! by the search every source shares (`timesearch`).

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

/// What the search keeps of an Aptos block: its last ledger version.
pub(crate) type BlockCache = crate::timesearch::BlockCache<u64>;
type Point = crate::timesearch::Point<u64>;

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

        let lo = self.block_point(ledger.oldest_block_height).await?;
        if lo.time > target {
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
        let hi = Point {
            height: ledger.block_height + 1,
            time: ledger.ledger_timestamp_usec.saturating_add(1),
            data: ledger.ledger_version,
        };
        let lo = crate::timesearch::last_at_or_before(target, lo, hi, &self.blocks, |h| {
            self.block_point(h)
        })
        .await?;
        Ok(TimePin {
            version: lo.data.min(ledger.ledger_version),
            block_height: lo.height,
            block_timestamp_usec: lo.time,
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
            time: b.timestamp_usec,
            data: b.last_version,
        };
        self.blocks.insert(p);
        Ok(p)
    }
}
