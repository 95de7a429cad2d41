//! What a devnet server remembers of the requests it saw, for tests that look at what a
//! client sent: the newest entries up to a limit, oldest first.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// The most recent `limit` entries, oldest first.
#[derive(Debug)]
pub(crate) struct Seen<T> {
    entries: Mutex<VecDeque<T>>,
    limit: usize,
}

impl<T: Clone> Seen<T> {
    /// An empty log keeping at most `limit` entries.
    pub(crate) fn new(limit: usize) -> Self {
        Seen {
            entries: Mutex::new(VecDeque::new()),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `entry`, forgetting the oldest past the limit.
    pub(crate) fn push(&self, entry: T) {
        let mut entries = self.lock();
        while entries.len() >= self.limit.max(1) {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The entries, oldest first.
    pub(crate) fn list(&self) -> Vec<T> {
        self.lock().iter().cloned().collect()
    }

    /// What `f` takes from each entry, oldest first.
    pub(crate) fn map<U>(&self, f: impl Fn(&T) -> U) -> Vec<U> {
        self.lock().iter().map(f).collect()
    }

    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_up_to_its_limit_oldest_first() {
        let seen = Seen::new(3);
        for i in 0..5 {
            seen.push(i);
        }
        assert_eq!(seen.list(), [2, 3, 4]);
        assert_eq!(seen.map(|i| i * 10), [20, 30, 40]);
        seen.clear();
        assert!(seen.list().is_empty());
    }
}
