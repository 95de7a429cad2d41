//! The EVM half's demo data (see
//! [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data)).

use alloy_primitives::U256;

use super::{EvmNode, EvmTokenMetadata, TokenStandard, DEMO_ERC1155_ID, DEMO_ERC721_ID};

impl EvmNode {
    /// Seeds the demo data described at
    /// [`DevnetBuilder::with_demo_data`](crate::DevnetBuilder::with_demo_data): the AMB
    /// half's Ethereum history, each change at the first block made at or after its
    /// instant, plus one ERC-1155 balance of [`DEMO_ETH_OWNER`](crate::DEMO_ETH_OWNER), and
    /// the three tokens' metadata from genesis.
    pub(crate) fn seed_demo_data(&self) {
        use crate::amb::{
            DEMO_AMB_START_SECS, DEMO_ERC1155_CONTRACT, DEMO_ERC20_CONTRACT, DEMO_ERC721_CONTRACT,
            DEMO_ETH_OWNER, DEMO_ETH_OWNER_2,
        };
        let g = u64::try_from(DEMO_AMB_START_SECS).unwrap_or(0);
        let (min, hour) = (60, 3_600);
        let eth = |milli: u64| U256::from(milli) * U256::from(1_000_000_000_000_000u64);
        let block_at = |secs: u64| self.read_lock().chain.first_at_or_after(g + secs);
        for (contract, standard) in [
            (DEMO_ERC20_CONTRACT, TokenStandard::Erc20),
            (DEMO_ERC721_CONTRACT, TokenStandard::Erc721),
            (DEMO_ERC1155_CONTRACT, TokenStandard::Erc1155),
        ] {
            // The constants are valid by construction; so are the writes below.
            let _ = self.deploy_at(contract, standard, 0);
        }
        // The ERC-20 answers its strings as bytes32, as MKR does; the collections have a
        // name and a symbol but no decimals().
        for (contract, metadata) in [
            (
                DEMO_ERC20_CONTRACT,
                EvmTokenMetadata::new(Some("Demo Coffee"), Some("COFFEE"), Some(18)).bytes32(),
            ),
            (
                DEMO_ERC721_CONTRACT,
                EvmTokenMetadata::new(Some("Demo Beef"), Some("BEEF"), None),
            ),
            (
                DEMO_ERC1155_CONTRACT,
                EvmTokenMetadata::new(Some("Demo Cafe"), Some("CAFE"), None),
            ),
        ] {
            let _ = self.set_token_metadata_at(contract, 0, metadata);
        }
        for (owner, secs, milli) in [
            (DEMO_ETH_OWNER, 0, 5_000),
            (DEMO_ETH_OWNER, hour, 4_200),
            (DEMO_ETH_OWNER, 3 * hour, 12_500),
            (DEMO_ETH_OWNER_2, 30 * min, 1_000),
            (DEMO_ETH_OWNER_2, 2 * hour, 750),
        ] {
            let _ = self.set_native_balance_at(owner, block_at(secs), eth(milli));
        }
        let above_2_128 = (U256::from(1) << 128) + U256::from(1);
        let _ = self.set_erc20_balance_at(
            DEMO_ERC20_CONTRACT,
            DEMO_ETH_OWNER,
            block_at(90 * min),
            above_2_128,
        );
        let _ = self.set_erc20_balance_at(
            DEMO_ERC20_CONTRACT,
            DEMO_ETH_OWNER_2,
            block_at(4 * hour),
            U256::MAX,
        );
        let nft = DEMO_ERC721_CONTRACT;
        let _ = self.set_erc721_owner_at(
            nft,
            DEMO_ERC721_ID,
            block_at(20 * min),
            Some(DEMO_ETH_OWNER_2),
        );
        let _ = self.set_erc721_owner_at(
            nft,
            DEMO_ERC721_ID,
            block_at(2 * hour),
            Some(DEMO_ETH_OWNER),
        );
        for (owner, secs, amount) in [
            (DEMO_ETH_OWNER_2, 150 * min, 250u64),
            (DEMO_ETH_OWNER, 75 * min, 12),
        ] {
            let _ = self.set_erc1155_balance_at(
                DEMO_ERC1155_CONTRACT,
                owner,
                DEMO_ERC1155_ID,
                block_at(secs),
                U256::from(amount),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::EvmConfig;

    fn node() -> EvmNode {
        EvmNode::new(&EvmConfig::default(), 1_767_225_600_000, 1, 2)
    }

    #[test]
    fn demo_data_at_the_demo_instant() {
        use crate::amb::{DEMO_ERC1155_CONTRACT, DEMO_ERC20_CONTRACT, DEMO_ETH_OWNER};
        let n = node();
        n.seed_demo_data();
        // 2026-01-01T01:45:00Z, the CLI's demo instant: block 525 of 12 s blocks.
        let b = n.block_at_time(1_767_225_600 + 6_300).unwrap();
        assert_eq!(b, 525);
        assert_eq!(
            n.native_balance(DEMO_ETH_OWNER, Some(b)).unwrap(),
            U256::from(4_200_000_000_000_000_000u64)
        );
        assert_eq!(
            n.erc20_balance(DEMO_ERC20_CONTRACT, DEMO_ETH_OWNER, Some(b))
                .unwrap(),
            (U256::from(1) << 128) + U256::from(1)
        );
        assert_eq!(
            n.erc1155_balance(
                DEMO_ERC1155_CONTRACT,
                DEMO_ETH_OWNER,
                DEMO_ERC1155_ID,
                Some(b)
            )
            .unwrap(),
            U256::from(12)
        );
        let coffee = n
            .token_metadata(DEMO_ERC20_CONTRACT, Some(0))
            .unwrap()
            .unwrap();
        assert_eq!(coffee.symbol.as_deref(), Some(&b"COFFEE"[..]));
        assert_eq!(coffee.encoding, crate::StringEncoding::Bytes32);
    }
}
