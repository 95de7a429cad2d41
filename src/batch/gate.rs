//! The bound on a batch's requests in flight. A unit holds a permit only while its request is
//! out: a source that can prepare a request without one (the EVM source encodes its
//! Multicall3 calldata) does so ahead, so that when an answer comes back the next request is
//! ready to go, and the answer is decoded after its permit has passed on.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Permits for one batch's requests in flight.
#[derive(Debug)]
pub(crate) struct Gate {
    permits: Semaphore,
}

/// Units [`Client::balances`](crate::Client::balances) starts beyond the requests in flight,
/// per request in flight: each prepares its request and waits for a permit. (The streams
/// start none ahead: their input may be slow to give the next query.)
pub(crate) const LOOKAHEAD: usize = 1;

impl Gate {
    /// A gate letting `in_flight` requests through at once.
    pub(crate) fn new(in_flight: usize) -> Self {
        Gate {
            permits: Semaphore::new(in_flight.max(1)),
        }
    }

    /// Waits for a permit to send a request; dropping it lets the next one through.
    pub(crate) async fn enter(&self) -> Permit<'_> {
        // The semaphore is never closed, so acquiring fails never; were it to, the request
        // goes without waiting rather than never.
        self.permits.acquire().await.ok()
    }

    /// Lets `more` requests through at once from now on (work that held them apart ended).
    pub(crate) fn widen(&self, more: usize) {
        self.permits.add_permits(more);
    }

    /// A permit if one is free now, without waiting.
    #[cfg_attr(not(feature = "evm"), allow(dead_code))]
    pub(crate) fn try_enter(&self) -> Option<Permit<'_>> {
        self.permits.try_acquire().ok().map(Some)
    }
}

/// Leave to have one request out (`None` only were the gate ever closed, which it is not).
pub(crate) type Permit<'g> = Option<SemaphorePermit<'g>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lets_through_as_many_as_it_was_given() {
        let gate = Gate::new(2);
        let a = gate.enter().await;
        let _b = gate.enter().await;
        let third = gate.enter();
        tokio::pin!(third);
        assert!(
            futures::poll!(third.as_mut()).is_pending(),
            "a third request waits while two are out"
        );
        drop(a);
        assert!(third.await.is_some(), "and goes once one is back");
    }
}
