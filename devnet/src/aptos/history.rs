//! Values that change at ledger versions: a list of (version, value) sorted by version, where
//! a read at version `V` sees the last value set at or before `V`.

/// A value's changes, sorted by version.
pub(super) type History<T> = Vec<(u64, T)>;

/// Records `value` from `version` on, replacing a value set at that same version.
pub(super) fn set<T>(history: &mut History<T>, version: u64, value: T) {
    match history.binary_search_by_key(&version, |(v, _)| *v) {
        Ok(i) => history[i].1 = value,
        Err(i) => history.insert(i, (version, value)),
    }
}

/// The value as of `version`: the last one set at or before it, if any.
pub(super) fn at<T>(history: &History<T>, version: u64) -> Option<&T> {
    let i = history.partition_point(|(v, _)| *v <= version);
    history.get(i.checked_sub(1)?).map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_the_last_change_at_or_before() {
        let mut h = History::new();
        set(&mut h, 10, "b");
        set(&mut h, 5, "a");
        set(&mut h, 10, "c");
        assert_eq!(at(&h, 4), None);
        assert_eq!(at(&h, 5), Some(&"a"));
        assert_eq!(at(&h, 9), Some(&"a"));
        assert_eq!(at(&h, 10), Some(&"c"));
        assert_eq!(at(&h, u64::MAX), Some(&"c"));
        assert_eq!(h.len(), 2);
    }
}
