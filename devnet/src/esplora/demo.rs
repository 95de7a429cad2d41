//! The Esplora half's demo data (see
//! [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data)).

use super::{EsploraNetwork, EsploraNode, DEMO_BTC_COUNTERPARTY};

/// When each demo change happens, seconds after the demo start, and what it is.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// The faucet pays the demo address.
    Receive(u64),
    /// The demo address pays the counterparty (fee [`super::TRANSFER_FEE_SATS`]).
    Send(u64),
}

/// The demo address's history: `(seconds after 2026-01-01T00:00:00Z, change)`.
const HISTORY: [(u64, Change); 5] = [
    (10 * 60, Change::Receive(100_000_000)),
    (30 * 60, Change::Receive(60_000_000)),
    (60 * 60, Change::Send(9_999_000)),
    (3 * 3_600, Change::Send(51_233_568)),
    (4 * 3_600, Change::Receive(1_234_568)),
];

/// The unconfirmed payment to the demo address.
const MEMPOOL_RECEIVE: u64 = 5_000_000;

impl EsploraNode {
    /// Seeds the demo data described at
    /// [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data) (mainnet
    /// only: the demo addresses are mainnet addresses).
    pub(crate) fn seed_demo_data(&self) {
        use crate::amb::{DEMO_AMB_START_SECS, DEMO_BTC_ADDRESS};
        if self.network() != EsploraNetwork::Mainnet {
            return;
        }
        let g = u64::try_from(DEMO_AMB_START_SECS).unwrap_or(0);
        for (secs, change) in HISTORY {
            let block = self.lock().chain.first_scheduled_at_or_after(g + secs);
            // The constants are valid and the amounts covered by construction (a unit test
            // checks the balances).
            let _ = match change {
                Change::Receive(sats) => self.pay_at(block, DEMO_BTC_ADDRESS, sats),
                Change::Send(sats) => {
                    self.transfer_at(block, DEMO_BTC_ADDRESS, DEMO_BTC_COUNTERPARTY, sats)
                }
            };
        }
        let _ = self.pay_mempool(DEMO_BTC_ADDRESS, MEMPOOL_RECEIVE);
    }
}

#[cfg(test)]
mod tests {
    use crate::{Devnet, DEMO_BTC_ADDRESS, DEMO_BTC_COUNTERPARTY};

    #[test]
    fn demo_balances() {
        let node = Devnet::builder().with_demo_data().build_esplora_node();
        let b = |at| node.balance(DEMO_BTC_ADDRESS, Some(at)).unwrap();
        // 600 s blocks from 2026-01-01T00:00:00Z: the demo instant (01:45) is after block
        // 10 by timestamp and after block 15 by median time; nothing changes in between.
        for at in 10..=17 {
            assert_eq!(b(at), 150_000_000, "block {at}");
        }
        assert_eq!(b(0), 0);
        assert_eq!(b(1), 100_000_000);
        assert_eq!(b(3), 160_000_000);
        assert_eq!(b(18), 98_765_432, "as the AMB half at G + 3 h");
        assert_eq!(b(24), 100_000_000);
        assert_eq!(node.txids(DEMO_BTC_ADDRESS, None).unwrap().len(), 5);
        assert_eq!(node.txids(DEMO_BTC_ADDRESS, Some(15)).unwrap().len(), 3);
        assert_eq!(
            node.balance(DEMO_BTC_COUNTERPARTY, None).unwrap(),
            9_999_000 + 51_233_568
        );
        let testnet = Devnet::builder()
            .esplora_network(crate::EsploraNetwork::Testnet)
            .with_demo_data()
            .build_esplora_node();
        assert!(testnet.balance(DEMO_BTC_ADDRESS, None).is_err());
    }
}
