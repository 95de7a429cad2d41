//! The blocks of the Bitcoin chain: computed timestamps, median times and hashes, and
//! forks.
//!
//! Nothing per block is stored. Timestamps follow a *schedule* of segments: the first
//! starts at genesis and its blocks (from block 11) get a seeded jitter of up to `jitter`
//! seconds either way when asked (so that a timestamp may be below its parent's, as on
//! Bitcoin);
//! [`Chain::mine_at`] starts a new segment whose blocks follow the interval exactly. The
//! median time of a block is the median of the timestamps of the (up to) 11 blocks ending
//! with it, computed when asked.
//!
//! A block hash is 4 zero bytes, then 20 bytes of `keccak256(network ‖ height ‖
//! generation)` (one byte, then two big-endian u64), then the height XOR the first 8 of
//! those bytes: so the node finds a block from its hash without any index, and a hash of a
//! replaced generation (after [`Chain::reorg`]) decodes to a height whose hash is now
//! another.

use alloy_primitives::keccak256;

use super::EsploraNetwork;
use crate::faults::mix64;

/// How many blocks a median time spans (Bitcoin's median time past).
pub(super) const MEDIAN_SPAN: u64 = 11;

/// A run of blocks whose times follow one base time.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// First block of the segment.
    start: u64,
    /// Timestamp of that block, seconds since the Unix epoch.
    t0: u64,
}

/// The chain's blocks: schedule, tip and forks.
#[derive(Debug)]
pub(super) struct Chain {
    network: EsploraNetwork,
    interval: u64,
    jitter: u64,
    seed: u64,
    /// Sorted by `start`; the first starts at block 0.
    segments: Vec<Segment>,
    /// `(first block, generation)`, sorted by first block; the first starts at block 0.
    forks: Vec<(u64, u64)>,
    last_generation: u64,
    pub(super) tip: u64,
}

impl Chain {
    /// A chain of `blocks` blocks (at least 1), the first made at `genesis` (seconds),
    /// `interval` seconds apart (at least 1), with a jitter of up to `jitter` seconds
    /// (at most `interval - 1`) either way.
    pub(super) fn new(
        network: EsploraNetwork,
        genesis: u64,
        interval: u64,
        jitter: u64,
        seed: u64,
        blocks: u64,
    ) -> Chain {
        let interval = interval.max(1);
        Chain {
            network,
            interval,
            jitter: jitter.min(interval - 1),
            seed,
            segments: vec![Segment {
                start: 0,
                t0: genesis,
            }],
            forks: vec![(0, 0)],
            last_generation: 0,
            tip: blocks.max(1) - 1,
        }
    }

    pub(super) fn network(&self) -> EsploraNetwork {
        self.network
    }

    fn segment(&self, n: u64) -> Segment {
        // segments[0].start == 0, so the partition point is at least 1.
        let i = self.segments.partition_point(|s| s.start <= n);
        self.segments[i.saturating_sub(1)]
    }

    /// When block `n` is scheduled, without jitter (never decreasing within a segment).
    pub(super) fn scheduled(&self, n: u64) -> u64 {
        let seg = self.segment(n);
        seg.t0
            .saturating_add((n - seg.start).saturating_mul(self.interval))
    }

    /// Block `n`'s timestamp, seconds since the Unix epoch. With jitter (blocks 11 and up
    /// of the genesis segment), it may be below its parent's by up to `2 * jitter -
    /// interval` seconds, yet it is always above the parent's median time, so that median
    /// times never decrease.
    pub(super) fn timestamp(&self, n: u64) -> u64 {
        let base = self.scheduled(n);
        if self.jitter == 0 || n < MEDIAN_SPAN || self.segment(n).start != 0 {
            return base;
        }
        let r = mix64(self.seed ^ 0xb17c_0e57 ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let offset = r % (2 * self.jitter + 1);
        if offset >= self.jitter {
            base.saturating_add(offset - self.jitter)
        } else {
            base.saturating_sub(self.jitter - offset)
        }
    }

    /// Block `n`'s median time: the median of the timestamps of blocks `n - 10 ..= n` (of
    /// as many as exist from genesis), as Esplora's `mediantime`.
    pub(super) fn mediantime(&self, n: u64) -> u64 {
        let lo = n.saturating_sub(MEDIAN_SPAN - 1);
        let mut ts: Vec<u64> = (lo..=n).map(|h| self.timestamp(h)).collect();
        ts.sort_unstable();
        ts[ts.len() / 2]
    }

    fn generation(&self, n: u64) -> u64 {
        let i = self.forks.partition_point(|(first, _)| *first <= n);
        self.forks[i.saturating_sub(1)].1
    }

    /// Block `n`'s hash on the current fork.
    pub(super) fn hash(&self, n: u64) -> [u8; 32] {
        hash_of(self.network, n, self.generation(n))
    }

    /// The height of the block whose hash on the current fork is `h`, if it is at most
    /// `visible_tip`.
    pub(super) fn height_of(&self, h: &[u8; 32], visible_tip: u64) -> Option<u64> {
        if h[..4] != [0, 0, 0, 0] {
            return None;
        }
        let mut tag = [0u8; 8];
        tag.copy_from_slice(&h[24..]);
        let mut key = [0u8; 8];
        key.copy_from_slice(&h[4..12]);
        let n = u64::from_be_bytes(tag) ^ u64::from_be_bytes(key);
        (n <= visible_tip && self.hash(n) == *h).then_some(n)
    }

    /// Adds `blocks` blocks that follow the schedule; returns the new tip.
    pub(super) fn mine(&mut self, blocks: u64) -> u64 {
        self.tip = self.tip.saturating_add(blocks);
        self.tip
    }

    /// Adds one block made at `timestamp` (above the tip's median time, as Bitcoin requires;
    /// below the tip's own timestamp is allowed); later blocks follow the interval from
    /// there. Returns the new block's number.
    pub(super) fn mine_at(&mut self, timestamp: u64) -> Result<u64, String> {
        let mtp = self.mediantime(self.tip);
        if timestamp <= mtp {
            return Err(format!(
                "timestamp {timestamp} is not above the tip's median time ({mtp}, block {})",
                self.tip
            ));
        }
        let n = self.tip.saturating_add(1);
        self.segments.retain(|s| s.start < n);
        self.segments.push(Segment {
            start: n,
            t0: timestamp,
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

    /// The first block (mined or still to come) scheduled at or after `t`, ignoring jitter.
    pub(super) fn first_scheduled_at_or_after(&self, t: u64) -> u64 {
        if self.scheduled(0) >= t {
            return 0;
        }
        let mut hi = 1u64;
        while self.scheduled(hi) < t {
            if hi >= 1 << 62 {
                return hi;
            }
            hi *= 2;
        }
        // scheduled(lo) < t <= scheduled(hi)
        let mut lo = hi / 2;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.scheduled(mid) >= t {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }
}

/// The hash of block `n` of `generation` on `network` (see the module documentation).
fn hash_of(network: EsploraNetwork, n: u64, generation: u64) -> [u8; 32] {
    let mut pre = [0u8; 17];
    pre[0] = network as u8;
    pre[1..9].copy_from_slice(&n.to_be_bytes());
    pre[9..].copy_from_slice(&generation.to_be_bytes());
    let d = keccak256(pre);
    let mut out = [0u8; 32];
    out[4..24].copy_from_slice(&d[..20]);
    let mut key = [0u8; 8];
    key.copy_from_slice(&d[..8]);
    let tag = n ^ u64::from_be_bytes(key);
    out[24..].copy_from_slice(&tag.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1_767_225_600;

    #[test]
    fn regular_schedule_and_median_time() {
        let c = Chain::new(EsploraNetwork::Mainnet, G, 600, 0, 7, 100);
        assert_eq!(c.tip, 99);
        assert_eq!(c.timestamp(0), G);
        assert_eq!(c.timestamp(10), G + 6_000);
        assert_eq!(c.mediantime(0), G);
        assert_eq!(c.mediantime(1), G + 600, "median of two is the later");
        assert_eq!(c.mediantime(4), G + 1_200);
        assert_eq!(c.mediantime(15), G + 600 * 10);
        assert_eq!(c.first_scheduled_at_or_after(G + 6_300), 11);
        assert_eq!(c.first_scheduled_at_or_after(G + 6_000), 10);
        assert_eq!(c.first_scheduled_at_or_after(0), 0);
    }

    #[test]
    fn jitter_goes_back_but_median_time_never_does() {
        let c = Chain::new(EsploraNetwork::Mainnet, G, 600, 600, 3, 100_000);
        let mut backwards = 0;
        let mut prev_mtp = 0;
        for n in (0..5_000).chain(99_000..100_000) {
            let t = c.timestamp(n);
            assert!(t.abs_diff(c.scheduled(n)) <= 600, "block {n}");
            if n > 0 && n != 99_000 {
                if t < c.timestamp(n - 1) {
                    backwards += 1;
                }
                assert!(t > c.mediantime(n - 1), "block {n} above its parent's MTP");
                assert!(c.mediantime(n) >= prev_mtp, "MTP never decreases at {n}");
            }
            prev_mtp = c.mediantime(n);
        }
        assert!(
            backwards > 100,
            "{backwards} timestamps below their parent's"
        );
    }

    #[test]
    fn mine_at_may_go_back_but_not_below_the_median_time() {
        let mut c = Chain::new(EsploraNetwork::Mainnet, G, 600, 0, 7, 20);
        let tip_ts = c.timestamp(19);
        let mtp = c.mediantime(19);
        assert!(c.mine_at(mtp).is_err());
        assert_eq!(c.mine_at(tip_ts - 1_000), Ok(20));
        assert_eq!(c.timestamp(20), tip_ts - 1_000);
        assert_eq!(c.mine(2), 22);
        assert_eq!(c.timestamp(22), tip_ts + 200);
        assert_eq!(c.timestamp(19), tip_ts, "earlier blocks keep their times");
    }

    #[test]
    fn hashes_decode_and_reorgs_replace_them() {
        let mut c = Chain::new(EsploraNetwork::Mainnet, G, 600, 0, 7, 10);
        let before: Vec<[u8; 32]> = (0..10).map(|n| c.hash(n)).collect();
        for (n, h) in before.iter().enumerate() {
            assert_eq!(&h[..4], &[0, 0, 0, 0]);
            assert_eq!(c.height_of(h, 9), Some(n as u64));
        }
        assert_eq!(c.height_of(&before[9], 8), None, "above the visible tip");
        assert_eq!(c.height_of(&[0u8; 32], 9), None);
        assert_eq!(c.height_of(&[0xff; 32], 9), None);
        assert_eq!(c.reorg(3), Some(7));
        for n in 0..7 {
            assert_eq!(c.hash(n), before[n as usize]);
        }
        for n in 7..10 {
            assert_ne!(c.hash(n), before[n as usize]);
            assert_eq!(c.height_of(&before[n as usize], 9), None);
            assert_eq!(c.height_of(&c.hash(n), 9), Some(n));
        }
        assert_eq!(c.reorg(0), None);
        assert_eq!(c.reorg(100), Some(1), "genesis stays");
        assert_eq!(c.hash(0), before[0]);
        let t = Chain::new(EsploraNetwork::Testnet, G, 600, 0, 7, 10);
        assert_ne!(t.hash(0), before[0], "the network is hashed");
    }
}
