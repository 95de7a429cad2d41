//! The blocks of the EVM chain: computed timestamps and hashes, forks, and the index that
//! finds a block from its hash.
//!
//! Nothing per block is stored. A block's timestamp comes from a *schedule*: a list of
//! segments, each starting at some block with a base time and continuing every `interval`
//! (plus a seeded jitter when asked). The chain starts with one segment at genesis;
//! [`Chain::mine_at`] starts a new one. A block's hash is four 64-bit words mixed from the
//! chain id, its number and its generation (see [`Chain::hash`]), where the generation of a
//! block is 0 until a [`Chain::reorg`] gives the blocks it replaces a fresh one. (No keccak:
//! an answer of 10,000 logs names as many blocks, and would spend most of its time hashing.)

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use alloy_primitives::B256;

use crate::faults::mix64;

/// How many block hashes the hash index remembers (the oldest are forgotten first).
pub(super) const HASH_INDEX_LIMIT: usize = 1 << 16;
/// How many blocks below the tip a hash missing from the index is searched among.
pub(super) const HASH_SEARCH_DEPTH: u64 = 256;

/// A run of blocks whose times follow one base time.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// First block of the segment.
    start: u64,
    /// Time of that block, milliseconds since the Unix epoch.
    t0_ms: u64,
}

/// The block hashes handed out, oldest first in `order` (at most [`HASH_INDEX_LIMIT`]).
#[derive(Debug, Default)]
struct HashIndex {
    index: HashMap<B256, u64>,
    order: VecDeque<B256>,
}

/// The chain's blocks: schedule, tip, forks and hash index.
///
/// The hash index is memory, not chain: it sits behind its own lock so that readers
/// sharing the chain (`&Chain`) can remember and look up hashes.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) chain_id: u64,
    interval_ms: u64,
    jitter: bool,
    seed: u64,
    /// Sorted by `start`; the first starts at block 0.
    segments: Vec<Segment>,
    /// `(first block, generation)`, sorted by first block; the first starts at block 0.
    forks: Vec<(u64, u64)>,
    last_generation: u64,
    pub(super) tip: u64,
    hashes: Mutex<HashIndex>,
}

impl Chain {
    /// A chain of `blocks` blocks (at least 1), the first made at `genesis_ms`.
    pub(super) fn new(
        chain_id: u64,
        genesis_ms: u64,
        interval_ms: u64,
        jitter: bool,
        seed: u64,
        blocks: u64,
    ) -> Chain {
        Chain {
            chain_id,
            interval_ms: interval_ms.max(1),
            jitter,
            seed,
            segments: vec![Segment {
                start: 0,
                t0_ms: genesis_ms,
            }],
            forks: vec![(0, 0)],
            last_generation: 0,
            tip: blocks.max(1) - 1,
            hashes: Mutex::new(HashIndex::default()),
        }
    }

    fn hashes(&self) -> MutexGuard<'_, HashIndex> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.hashes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn segment(&self, n: u64) -> Segment {
        // segments[0].start == 0, so the partition point is at least 1.
        let i = self.segments.partition_point(|s| s.start <= n);
        self.segments[i.saturating_sub(1)]
    }

    /// When block `n` was made, in milliseconds (strictly increasing within a segment).
    pub(super) fn time_ms(&self, n: u64) -> u64 {
        let seg = self.segment(n);
        let k = n - seg.start;
        let base = seg.t0_ms.saturating_add(k.saturating_mul(self.interval_ms));
        if !self.jitter || k == 0 || self.interval_ms < 3 {
            return base;
        }
        // |jitter| <= (interval - 1) / 2, so consecutive blocks are at least 1 ms apart.
        let amp = (self.interval_ms - 1) / 2;
        let r = mix64(self.seed ^ 0x0e7a_57e2 ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let offset = r % (2 * amp + 1);
        if offset >= amp {
            base.saturating_add(offset - amp)
        } else {
            base.saturating_sub(amp - offset)
        }
    }

    /// Block `n`'s timestamp, whole seconds since the Unix epoch (never decreasing with `n`).
    pub(super) fn timestamp(&self, n: u64) -> u64 {
        self.time_ms(n) / 1000
    }

    fn generation(&self, n: u64) -> u64 {
        let i = self.forks.partition_point(|(first, _)| *first <= n);
        self.forks[i.saturating_sub(1)].1
    }

    /// Block `n`'s hash on the current fork: each word is a bijection of `n` once the
    /// chain id, the generation and the word's place are fixed, so two blocks of one fork
    /// never share a hash, and a fork's new generation gives every word anew.
    pub(super) fn hash(&self, n: u64) -> B256 {
        let salt = mix64(self.chain_id ^ mix64(self.generation(n).wrapping_add(1)));
        let mut out = [0u8; 32];
        for (j, word) in out.chunks_exact_mut(8).enumerate() {
            let place = (j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            word.copy_from_slice(&mix64(n ^ mix64(salt ^ place)).to_be_bytes());
        }
        B256::from(out)
    }

    /// Block `n`'s hash and parent hash, both remembered so that [`Chain::lookup`] finds
    /// them later (a client may walk back by parent hashes).
    pub(super) fn remember_with_parent(&self, n: u64) -> (B256, B256) {
        let parent = match n.checked_sub(1) {
            Some(p) => self.remember(p),
            None => B256::ZERO,
        };
        (self.remember(n), parent)
    }

    /// Block `n`'s hash, remembered so that [`Chain::lookup`] finds it later.
    pub(super) fn remember(&self, n: u64) -> B256 {
        let h = self.hash(n);
        let mut hashes = self.hashes();
        if hashes.index.insert(h, n).is_none() {
            hashes.order.push_back(h);
            if hashes.order.len() > HASH_INDEX_LIMIT {
                if let Some(old) = hashes.order.pop_front() {
                    hashes.index.remove(&old);
                }
            }
        }
        h
    }

    /// The number of the block (at most `visible_tip`) whose hash on the current fork is
    /// `h`: a hash handed out earlier, or one of the last [`HASH_SEARCH_DEPTH`] blocks.
    pub(super) fn lookup(&self, h: &B256, visible_tip: u64) -> Option<u64> {
        let known = self.hashes().index.get(h).copied();
        if let Some(n) = known {
            return (n <= visible_tip && self.hash(n) == *h).then_some(n);
        }
        let low = visible_tip.saturating_sub(HASH_SEARCH_DEPTH - 1);
        let n = (low..=visible_tip).rev().find(|n| self.hash(*n) == *h)?;
        self.remember(n);
        Some(n)
    }

    /// Adds `blocks` blocks that follow the schedule; returns the new tip.
    pub(super) fn mine(&mut self, blocks: u64) -> u64 {
        self.tip = self.tip.saturating_add(blocks);
        self.tip
    }

    /// Adds one block made at `timestamp` (seconds, not before the tip's); later blocks
    /// follow the interval from there. Returns the new block's number.
    pub(super) fn mine_at(&mut self, timestamp: u64) -> Result<u64, String> {
        let tip_ts = self.timestamp(self.tip);
        if timestamp < tip_ts {
            return Err(format!(
                "timestamp {timestamp} is before the tip's ({tip_ts}, block {})",
                self.tip
            ));
        }
        let n = self.tip.saturating_add(1);
        self.segments.retain(|s| s.start < n);
        self.segments.push(Segment {
            start: n,
            t0_ms: timestamp.saturating_mul(1000),
        });
        self.tip = n;
        Ok(n)
    }

    /// Gives the last `depth` blocks (at most every block but genesis) new hashes; blocks
    /// mined afterwards are on the new fork too. Returns the first replaced block, or `None`
    /// when `depth` is 0 or the chain is only genesis.
    pub(super) fn reorg(&mut self, depth: u64) -> Option<u64> {
        let depth = depth.min(self.tip);
        if depth == 0 {
            return None;
        }
        let first = self.tip - depth + 1;
        self.last_generation += 1;
        self.forks.retain(|(start, _)| *start < first);
        self.forks.push((first, self.last_generation));
        Some(first)
    }

    /// The last block in `0..=max` made at or before `t` (seconds), if any.
    pub(super) fn last_at_or_before(&self, t: u64, max: u64) -> Option<u64> {
        crate::schedule::last_at_or_before(t, max, |n| self.timestamp(n))
    }

    /// The first block (mined or still to come on the schedule) made at or after `t`.
    pub(super) fn first_at_or_after(&self, t: u64) -> u64 {
        if self.timestamp(0) >= t {
            return 0;
        }
        let mut hi = 1u64;
        while self.timestamp(hi) < t {
            if hi >= 1 << 62 {
                return hi;
            }
            hi *= 2;
        }
        // timestamp(lo) < t <= timestamp(hi)
        let mut lo = hi / 2;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.timestamp(mid) >= t {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1_767_225_600_000;

    #[test]
    fn regular_schedule() {
        let c = Chain::new(1, G, 12_000, false, 7, 100);
        assert_eq!(c.tip, 99);
        assert_eq!(c.timestamp(0), G / 1000);
        assert_eq!(c.timestamp(10), G / 1000 + 120);
        assert_eq!(c.last_at_or_before(G / 1000 + 125, 99), Some(10));
        assert_eq!(c.last_at_or_before(G / 1000 - 1, 99), None);
        assert_eq!(c.first_at_or_after(G / 1000 + 121), 11);
        assert_eq!(c.first_at_or_after(G / 1000 + 120), 10);
        assert_eq!(c.first_at_or_after(0), 0);
        assert_eq!(c.first_at_or_after(G / 1000 + 12 * 500), 500);
    }

    #[test]
    fn jittered_sub_second_schedule_never_goes_back() {
        let c = Chain::new(42_161, G, 250, true, 3, 300_000_000);
        let mut prev = 0;
        let mut same = 0;
        for n in (299_999_000..300_000_000).chain(0..1000) {
            let t = c.time_ms(n);
            if n != 0 && n != 299_999_000 {
                assert!(t > prev, "block {n}");
                if t / 1000 == prev / 1000 {
                    same += 1;
                }
            }
            prev = t;
        }
        assert!(same > 1000, "sub-second blocks share seconds");
        let t = c.timestamp(123_456_789);
        let n = c.last_at_or_before(t, c.tip).unwrap();
        assert_eq!(c.timestamp(n), t);
        assert!(c.timestamp(n + 1) > t);
        let first = c.first_at_or_after(t);
        assert_eq!(c.timestamp(first), t);
        assert!(first == 0 || c.timestamp(first - 1) < t);
    }

    #[test]
    fn mine_at_starts_a_segment() {
        let mut c = Chain::new(1, G, 12_000, false, 7, 10);
        let tip_ts = c.timestamp(9);
        assert!(c.mine_at(tip_ts - 1).is_err());
        assert_eq!(c.mine_at(tip_ts + 100), Ok(10));
        assert_eq!(c.timestamp(10), tip_ts + 100);
        assert_eq!(c.mine(2), 12);
        assert_eq!(c.timestamp(12), tip_ts + 124);
        assert_eq!(c.timestamp(9), tip_ts);
        assert_eq!(c.mine_at(tip_ts + 124), Ok(13), "same second as the tip");
    }

    #[test]
    fn reorg_replaces_hashes() {
        let mut c = Chain::new(1, G, 12_000, false, 7, 10);
        let before: Vec<B256> = (0..10).map(|n| c.remember(n)).collect();
        assert_eq!(c.remember_with_parent(5), (before[5], before[4]));
        assert_eq!(c.remember_with_parent(0), (before[0], B256::ZERO));
        assert_eq!(c.reorg(3), Some(7));
        for n in 0..7 {
            assert_eq!(c.hash(n), before[n as usize]);
            assert_eq!(c.lookup(&before[n as usize], 9), Some(n));
        }
        for n in 7..10 {
            assert_ne!(c.hash(n), before[n as usize]);
            assert_eq!(c.lookup(&before[n as usize], 9), None);
            let h = c.hash(n);
            assert_eq!(c.lookup(&h, 9), Some(n), "found by search");
            assert_eq!(c.lookup(&h, n - 1), None, "hidden above the visible tip");
        }
        assert_eq!(c.reorg(0), None);
        assert_eq!(c.reorg(100), Some(1), "genesis stays");
        assert_eq!(c.hash(0), before[0]);
        let other = Chain::new(2, G, 12_000, false, 7, 10);
        assert_ne!(other.hash(0), before[0], "the chain id is hashed");
    }
}
