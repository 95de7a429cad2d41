//! Where blocks start and when they were made: computed from the seed, never stored.

use super::{AptosConfig, BlockInfo, MAX_VERSIONS_PER_BLOCK};
use crate::faults::mix64;

/// Length of the repeating pattern of block sizes.
const PATTERN_LEN: u64 = 64;

/// Where blocks start and when they were made, computed rather than stored.
#[derive(Debug)]
pub(super) struct Layout {
    genesis_us: u64,
    interval_us: u64,
    jitter: bool,
    seed: u64,
    /// `prefix[i]` = versions in the first `i` blocks of the pattern; `prefix[64]` = total.
    prefix: Vec<u64>,
}

impl Layout {
    pub(super) fn new(cfg: &AptosConfig) -> Layout {
        let min = cfg.min_versions_per_block.clamp(1, MAX_VERSIONS_PER_BLOCK);
        let max = cfg
            .max_versions_per_block
            .clamp(min, MAX_VERSIONS_PER_BLOCK);
        let span = max - min + 1;
        let mut prefix = Vec::with_capacity(PATTERN_LEN as usize + 1);
        prefix.push(0u64);
        let mut total = 0u64;
        for i in 0..PATTERN_LEN {
            let size = min + mix64(cfg.seed ^ 0x5eed_b10c ^ i.wrapping_mul(0x9E37_79B9)) % span;
            total += size;
            prefix.push(total);
        }
        Layout {
            genesis_us: cfg.genesis_timestamp_us,
            interval_us: cfg.block_interval_us.max(1),
            jitter: cfg.jitter,
            seed: cfg.seed,
            prefix,
        }
    }

    fn pattern_total(&self) -> u64 {
        self.prefix[PATTERN_LEN as usize]
    }

    pub(super) fn first_version(&self, h: u64) -> u64 {
        (h / PATTERN_LEN)
            .saturating_mul(self.pattern_total())
            .saturating_add(self.prefix[(h % PATTERN_LEN) as usize])
    }

    pub(super) fn last_version(&self, h: u64) -> u64 {
        self.first_version(h.saturating_add(1)).saturating_sub(1)
    }

    pub(super) fn block_of(&self, v: u64) -> u64 {
        let total = self.pattern_total();
        let (q, r) = (v / total, v % total);
        // Largest i < 64 with prefix[i] <= r; prefix[0] = 0 so i >= 0.
        let i = self.prefix[..PATTERN_LEN as usize].partition_point(|&x| x <= r) - 1;
        q.saturating_mul(PATTERN_LEN).saturating_add(i as u64)
    }

    pub(super) fn timestamp(&self, h: u64) -> u64 {
        let base = self
            .genesis_us
            .saturating_add(h.saturating_mul(self.interval_us));
        if !self.jitter || h == 0 || self.interval_us < 3 {
            return base;
        }
        // |jitter| <= (interval - 1) / 2, so consecutive blocks are at least 1 µs apart.
        let amp = (self.interval_us - 1) / 2;
        let r = mix64(self.seed ^ 0x0071_57e2 ^ h.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let offset = r % (2 * amp + 1);
        if offset >= amp {
            base.saturating_add(offset - amp)
        } else {
            base.saturating_sub(amp - offset)
        }
    }

    fn hash(&self, h: u64) -> String {
        let mut s = String::with_capacity(66);
        s.push_str("0x");
        for i in 0..4u64 {
            let word = mix64(self.seed ^ mix64(h) ^ i.wrapping_mul(0xA076_1D64_78BD_642F));
            s.push_str(&format!("{word:016x}"));
        }
        s
    }

    pub(super) fn block(&self, h: u64) -> BlockInfo {
        BlockInfo {
            height: h,
            hash: self.hash(h),
            timestamp_us: self.timestamp(h),
            first_version: self.first_version(h),
            last_version: self.last_version(h),
        }
    }

    /// The highest block in `0..=max_h` made at or before `t`.
    pub(super) fn height_at_time(&self, t: u64, max_h: u64) -> Option<u64> {
        crate::schedule::last_at_or_before(t, max_h, |h| self.timestamp(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aptos::DEFAULT_GENESIS_TIMESTAMP_US;

    fn cfg(min: u64, max: u64) -> AptosConfig {
        AptosConfig {
            min_versions_per_block: min,
            max_versions_per_block: max,
            ..AptosConfig::default()
        }
    }

    #[test]
    fn layout_is_consistent() {
        for (min, max) in [(3, 3), (2, 5), (1, 1), (1, 100)] {
            let l = Layout::new(&cfg(min, max));
            let mut prev_ts = 0;
            for h in 0..300u64 {
                let first = l.first_version(h);
                let last = l.last_version(h);
                assert!(first <= last);
                assert!(last - first < max);
                assert_eq!(l.first_version(h + 1), last + 1);
                assert_eq!(l.block_of(first), h);
                assert_eq!(l.block_of(last), h);
                let ts = l.timestamp(h);
                assert!(h == 0 || ts > prev_ts, "timestamps increase");
                prev_ts = ts;
                assert_eq!(l.height_at_time(ts, 299), Some(h));
            }
            assert_eq!(l.height_at_time(DEFAULT_GENESIS_TIMESTAMP_US - 1, 10), None);
        }
        let fixed = Layout::new(&cfg(3, 3));
        assert_eq!(fixed.first_version(100_000_000), 300_000_000);
        assert_eq!(fixed.block_of(300_000_002), 100_000_000);
        assert_eq!(fixed.block_of(u64::MAX), u64::MAX / 3);
    }
}
