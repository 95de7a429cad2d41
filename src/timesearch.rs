//! Finding the last block at or before an instant, for every source that can read a block's
//! time by height (Aptos, EVM chains, Bitcoin).
//!
//! Block times are nearly regular, so an interpolation search over heights lands next to the
//! answer in a step or two, even on a chain of 10^8 blocks; a bisection step takes over when
//! interpolation stops closing in (irregular or sub-second blocks). Every block learned is
//! cached, so later searches start from a narrower bracket.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use crate::error::Error;

/// A block as the search sees it: its height, its time (in any unit that only grows with
/// height), and what the source needs of it afterwards (a ledger version, a hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Point<D> {
    pub height: u64,
    pub time: u64,
    pub data: D,
}

/// Blocks learned by earlier searches (height -> point), bounded in size.
#[derive(Debug)]
pub(crate) struct BlockCache<D> {
    points: Mutex<BTreeMap<u64, Point<D>>>,
}

impl<D> Default for BlockCache<D> {
    fn default() -> Self {
        BlockCache {
            points: Mutex::new(BTreeMap::new()),
        }
    }
}

const MAX_CACHED_BLOCKS: usize = 16_384;

impl<D: Copy> BlockCache<D> {
    pub(crate) fn insert(&self, p: Point<D>) {
        if let Ok(mut points) = self.points.lock() {
            if points.len() >= MAX_CACHED_BLOCKS {
                points.clear();
            }
            points.insert(p.height, p);
        }
    }

    pub(crate) fn get(&self, height: u64) -> Option<Point<D>> {
        self.points.lock().ok()?.get(&height).copied()
    }

    /// Narrows `(lo, hi)` with what is cached strictly between them.
    fn narrow(&self, target: u64, lo: &mut Point<D>, hi: &mut Point<D>) {
        let Ok(points) = self.points.lock() else {
            return;
        };
        for p in points.range(lo.height + 1..hi.height).map(|(_, p)| *p) {
            if p.time <= target {
                if p.height > lo.height {
                    *lo = p;
                }
            } else if p.height < hi.height {
                *hi = p;
                break;
            }
        }
    }
}

/// The last block at or before `target`, given a bracket with `lo.time <= target < hi.time`
/// (`hi` may be a made-up point one past the tip). `fetch` reads one block by height; the
/// cache is consulted first and filled as blocks are learned.
pub(crate) async fn last_at_or_before<D, F, Fut>(
    target: u64,
    mut lo: Point<D>,
    mut hi: Point<D>,
    cache: &BlockCache<D>,
    mut fetch: F,
) -> Result<Point<D>, Error>
where
    D: Copy,
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<Point<D>, Error>>,
{
    cache.narrow(target, &mut lo, &mut hi);
    let mut slow_steps = 0;
    while hi.height.saturating_sub(lo.height) > 1 {
        let width = hi.height - lo.height;
        let guess = if slow_steps >= 2 {
            lo.height + width / 2
        } else {
            interpolate(&lo, &hi, target)
        };
        let p = match cache.get(guess) {
            Some(p) => p,
            None => {
                let p = fetch(guess).await?;
                cache.insert(p);
                p
            }
        };
        if p.time <= target {
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
    Ok(lo)
}

/// The height where the first block after `target` would fall if block times were even
/// between `lo` and `hi`, kept strictly inside the bracket. Aiming past the target, not at
/// it, matters when many blocks share one timestamp (sub-second blocks, times in whole
/// seconds): aimed at the target, every guess would be the block after `lo`.
fn interpolate<D>(lo: &Point<D>, hi: &Point<D>, target: u64) -> u64 {
    let span = u128::from(hi.time.saturating_sub(lo.time)).max(1);
    let offset = u128::from(target.saturating_add(1).saturating_sub(lo.time));
    let width = u128::from(hi.height - lo.height);
    let step = u64::try_from(offset * width / span).unwrap_or(u64::MAX);
    lo.height
        .saturating_add(step)
        .clamp(lo.height + 1, hi.height - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(height: u64, time: u64) -> Point<()> {
        Point {
            height,
            time,
            data: (),
        }
    }

    #[test]
    fn interpolation_stays_inside_the_bracket() {
        let (lo, hi) = (p(10, 1_000), p(20, 2_000));
        assert_eq!(interpolate(&lo, &hi, 1_500), 15);
        assert_eq!(interpolate(&lo, &hi, 1_000), 11);
        assert_eq!(interpolate(&lo, &hi, 1_999), 19);
        assert_eq!(interpolate(&p(10, 1_000), &p(12, 1_000), 5_000), 11);
    }

    /// Blocks four to a second (sub-second blocks, whole-second times): a handful of steps.
    #[tokio::test]
    async fn sub_second_blocks_take_few_steps() {
        let tip = 300_000_000u64;
        let time = |h: u64| 1_000_000 + h / 4;
        let mut worst = 0;
        for k in 0..50u64 {
            let target = time(tip / 50 * k + 12_345);
            let cache = BlockCache::default();
            let steps = std::cell::Cell::new(0);
            let found = last_at_or_before(
                target,
                p(0, time(0)),
                p(tip + 1, time(tip) + 1),
                &cache,
                |h| {
                    steps.set(steps.get() + 1);
                    async move { Ok(p(h, time(h))) }
                },
            )
            .await
            .unwrap();
            assert!(found.time <= target && time(found.height + 1) > target);
            worst = worst.max(steps.get());
        }
        assert!(worst <= 6, "{worst} steps");
    }

    /// On a chain with gaps and bursts, the search still finds the exact block, and every
    /// block it asked for was inside the bracket.
    #[tokio::test]
    async fn finds_the_last_block_at_or_before_on_irregular_chains() {
        // Block h at time h*h/1000 + (h % 7) * 3: irregular, never decreasing.
        let time = |h: u64| h * h / 1000 + (h % 7) * 3 + h * 2;
        let tip = 100_000;
        for target in [0, 5, 1_234, 77_777, 5_000_000, time(tip) - 1] {
            let cache = BlockCache::default();
            let lo = p(0, time(0));
            let hi = p(tip + 1, time(tip) + 1);
            let found = last_at_or_before(target, lo, hi, &cache, |h| async move {
                assert!(h <= tip);
                Ok(p(h, time(h)))
            })
            .await
            .unwrap();
            assert!(found.time <= target, "{target}");
            assert!(
                found.height == tip || time(found.height + 1) > target,
                "{target}"
            );
        }
    }
}
