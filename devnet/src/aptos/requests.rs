//! What the node has been asked: counters by kind of route, and the most recent raw paths.

use std::sync::atomic::{AtomicU64, Ordering};

use super::http::Route;
use super::{AptosNode, RequestCounts, SEEN_PATH_MAX_LEN};

/// The request counters, one per kind of route.
#[derive(Debug, Default)]
pub(super) struct Counters {
    total: AtomicU64,
    ledger_info: AtomicU64,
    healthy: AtomicU64,
    balance: AtomicU64,
    resource: AtomicU64,
    resources: AtomicU64,
    block: AtomicU64,
    other: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 8] {
        [
            &self.total,
            &self.ledger_info,
            &self.healthy,
            &self.balance,
            &self.resource,
            &self.resources,
            &self.block,
            &self.other,
        ]
    }
}

impl AptosNode {
    /// How many requests the node has received, by kind.
    pub fn requests(&self) -> RequestCounts {
        let c = &self.inner.counters;
        RequestCounts {
            total: c.total.load(Ordering::Relaxed),
            ledger_info: c.ledger_info.load(Ordering::Relaxed),
            healthy: c.healthy.load(Ordering::Relaxed),
            balance: c.balance.load(Ordering::Relaxed),
            resource: c.resource.load(Ordering::Relaxed),
            resources: c.resources.load(Ordering::Relaxed),
            block: c.block.load(Ordering::Relaxed),
            other: c.other.load(Ordering::Relaxed),
        }
    }

    /// The raw path and query (`/v1/...?...`, exactly as received, still percent-encoded)
    /// of the most recent requests, oldest first, at most [`SEEN_PATHS_LIMIT`](super::SEEN_PATHS_LIMIT) of them, each
    /// cut at [`SEEN_PATH_MAX_LEN`] bytes.
    pub fn seen_paths(&self) -> Vec<String> {
        self.inner.seen.list()
    }

    /// Sets the request counters back to zero and forgets the seen paths.
    pub fn reset_requests(&self) {
        for a in self.inner.counters.all() {
            a.store(0, Ordering::Relaxed);
        }
        self.inner.seen.clear();
    }

    /// Counts a request and keeps its path.
    pub(super) fn record(&self, route: &Route<'_>, path: &str, query: Option<&str>) {
        let c = &self.inner.counters;
        c.total.fetch_add(1, Ordering::Relaxed);
        let kind = match route {
            Route::Index => &c.ledger_info,
            Route::Healthy => &c.healthy,
            Route::Balance { .. } => &c.balance,
            Route::Resource { .. } => &c.resource,
            Route::Resources { .. } => &c.resources,
            Route::BlockByHeight(_) | Route::BlockByVersion(_) => &c.block,
            Route::NotFound => &c.other,
        };
        kind.fetch_add(1, Ordering::Relaxed);
        let mut entry = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        if entry.len() > SEEN_PATH_MAX_LEN {
            // A request target is ASCII, but stay on a char boundary whatever happens.
            let mut cut = SEEN_PATH_MAX_LEN;
            while !entry.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.truncate(cut);
        }
        self.inner.seen.push(entry);
    }
}
