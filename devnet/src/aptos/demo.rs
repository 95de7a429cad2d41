//! The demo ledger described at
//! [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data).

use super::{AptosNode, APT_COIN, DEMO_ALICE, DEMO_BOB, DEMO_USDC_METADATA};

impl AptosNode {
    /// Seeds the demo balances and token metadata described at
    /// [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data).
    pub(crate) fn seed_demo_data(&self) {
        let tip = self.tip_version();
        let at = |tenths: u64| tip / 10 * tenths;
        let changes: [(&str, &str, u64, u64); 10] = [
            (DEMO_ALICE, APT_COIN, 0, 100_000_000_000),
            (DEMO_ALICE, APT_COIN, at(3), 98_765_432_100),
            (DEMO_ALICE, APT_COIN, at(6), 123_456_789_000),
            (DEMO_ALICE, APT_COIN, at(9), 120_000_000_000),
            (DEMO_BOB, APT_COIN, 0, 2_500_000_000),
            (DEMO_BOB, APT_COIN, at(5), 4_000_000_000),
            (DEMO_BOB, APT_COIN, at(8), 3_990_000_000),
            (DEMO_ALICE, DEMO_USDC_METADATA, at(2), 1_500_000_000),
            (DEMO_ALICE, DEMO_USDC_METADATA, at(7), 1_250_000_000),
            (DEMO_BOB, DEMO_USDC_METADATA, at(8), 42_000_000),
        ];
        for (owner, asset, version, amount) in changes {
            // The constants above are valid by construction.
            let _ = self.set_balance_at(owner, asset, version, amount);
        }
        // USDC's metadata object exists from genesis, as mainnet's did before any transfer.
        let _ = self.set_fungible_asset_metadata_at(DEMO_USDC_METADATA, 0, "USDC", "USDC", 6);
        self.prune_before(at(1));
    }
}
