//! Searching a schedule of blocks by time, shared by the halves whose blocks follow one.

/// The last of blocks `0..=max` made at or before `t`, when `time_of` never decreases with
/// the block: `None` when block 0 is later than `t`. log2(max) calls of `time_of`.
pub(crate) fn last_at_or_before(t: u64, max: u64, time_of: impl Fn(u64) -> u64) -> Option<u64> {
    if time_of(0) > t {
        return None;
    }
    let (mut lo, mut hi) = (0u64, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if time_of(mid) <= t {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_block_at_or_before() {
        // Blocks 10 s apart from t = 100, with two made in the same second (4 and 5).
        let time = |n: u64| {
            if n >= 5 {
                100 + 10 * (n - 1)
            } else {
                100 + 10 * n
            }
        };
        assert_eq!(last_at_or_before(99, 20, time), None);
        assert_eq!(last_at_or_before(100, 20, time), Some(0));
        assert_eq!(last_at_or_before(109, 20, time), Some(0));
        assert_eq!(
            last_at_or_before(140, 20, time),
            Some(5),
            "the later of two in one second"
        );
        assert_eq!(
            last_at_or_before(u64::MAX, 20, time),
            Some(20),
            "capped at max"
        );
        assert_eq!(last_at_or_before(100, 0, time), Some(0));
    }
}
