//! [`Network`]: which chain, and which of its deployments. The EVM networks, their chain ids
//! and their default public endpoints are one table, [`EVM_CHAINS`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Backend;
use crate::error::Error;

/// The chains tokbal reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Chain {
    /// Aptos.
    Aptos,
    /// Bitcoin.
    Bitcoin,
    /// Ethereum and every EVM chain (Base, Optimism, Arbitrum, Polygon, BNB Chain, Avalanche
    /// C-Chain, ...): the same addresses, tokens and JSON-RPC.
    Ethereum,
}

/// A network: a chain and which of its deployments (mainnet, a testnet, ...).
///
/// Written as in queries: `aptos`, `aptos-testnet`, `ethereum`, `base`, `evm-31337`, ...
///
/// ```
/// use tokbal::Network;
/// assert_eq!("base".parse::<Network>().unwrap(), Network::Base);
/// assert_eq!("evm-8453".parse::<Network>().unwrap(), Network::Base);
/// assert_eq!("evm-31337".parse::<Network>().unwrap(), Network::Evm(31337));
/// assert_eq!(Network::Evm(31337).to_string(), "evm-31337");
/// assert_eq!(Network::Arbitrum.evm_chain_id(), Some(42161));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Network {
    /// Aptos mainnet (`aptos`).
    AptosMainnet,
    /// Aptos testnet (`aptos-testnet`).
    AptosTestnet,
    /// Aptos devnet (`aptos-devnet`).
    AptosDevnet,
    /// Bitcoin mainnet (`bitcoin`).
    BitcoinMainnet,
    /// Bitcoin testnet (`bitcoin-testnet`).
    BitcoinTestnet,
    /// Bitcoin signet (`bitcoin-signet`): testnet's addresses (`tb1`, `m`, `n`, `2`).
    BitcoinSignet,
    /// A Bitcoin regtest network (`bitcoin-regtest`): `bcrt1` segwit addresses, testnet's
    /// legacy ones.
    BitcoinRegtest,
    /// Ethereum mainnet (`ethereum`, chain id 1).
    EthereumMainnet,
    /// Ethereum Sepolia testnet (`ethereum-sepolia`, chain id 11155111).
    EthereumSepolia,
    /// Base (`base`, chain id 8453).
    Base,
    /// Base Sepolia testnet (`base-sepolia`, chain id 84532).
    BaseSepolia,
    /// OP Mainnet (`optimism`, chain id 10).
    Optimism,
    /// Arbitrum One (`arbitrum`, chain id 42161).
    Arbitrum,
    /// Polygon PoS (`polygon`, chain id 137).
    Polygon,
    /// BNB Smart Chain (`bsc`, chain id 56).
    Bsc,
    /// Avalanche C-Chain (`avalanche`, chain id 43114).
    Avalanche,
    /// Any other EVM chain, by chain id (`evm-<chain id>`). Chain ids of the named networks
    /// parse to the named network, so each chain has one spelling.
    Evm(u64),
}

/// A named EVM network: its name in queries, its chain id, and the public JSON-RPC endpoint
/// used when none is configured (one that answers without a key, as the chain's own
/// documentation gives it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvmChain {
    /// The network.
    pub network: Network,
    /// Its name in queries.
    pub name: &'static str,
    /// Its EIP-155 chain id.
    pub chain_id: u64,
    /// The keyless public JSON-RPC endpoint used by default.
    pub default_rpc: &'static str,
    /// The native coin's symbol (`ETH`, `POL`, `BNB`, `AVAX`); it has 18 decimals.
    pub native_symbol: &'static str,
    /// The native coin's name.
    pub native_name: &'static str,
}

/// Every named EVM network: the one place names, chain ids and default endpoints live.
pub const EVM_CHAINS: [EvmChain; 9] = [
    evm(
        Network::EthereumMainnet,
        "ethereum",
        1,
        "https://ethereum-rpc.publicnode.com",
        "ETH",
        "Ether",
    ),
    evm(
        Network::EthereumSepolia,
        "ethereum-sepolia",
        11_155_111,
        "https://ethereum-sepolia-rpc.publicnode.com",
        "ETH",
        "Ether",
    ),
    evm(
        Network::Base,
        "base",
        8453,
        "https://mainnet.base.org",
        "ETH",
        "Ether",
    ),
    evm(
        Network::BaseSepolia,
        "base-sepolia",
        84_532,
        "https://sepolia.base.org",
        "ETH",
        "Ether",
    ),
    evm(
        Network::Optimism,
        "optimism",
        10,
        "https://mainnet.optimism.io",
        "ETH",
        "Ether",
    ),
    evm(
        Network::Arbitrum,
        "arbitrum",
        42_161,
        "https://arb1.arbitrum.io/rpc",
        "ETH",
        "Ether",
    ),
    evm(
        Network::Polygon,
        "polygon",
        137,
        "https://polygon-rpc.com",
        "POL",
        "Polygon Ecosystem Token",
    ),
    evm(
        Network::Bsc,
        "bsc",
        56,
        "https://bsc-dataseed.bnbchain.org",
        "BNB",
        "BNB",
    ),
    evm(
        Network::Avalanche,
        "avalanche",
        43_114,
        "https://api.avax.network/ext/bc/C/rpc",
        "AVAX",
        "Avalanche",
    ),
];

const fn evm(
    network: Network,
    name: &'static str,
    chain_id: u64,
    default_rpc: &'static str,
    native_symbol: &'static str,
    native_name: &'static str,
) -> EvmChain {
    EvmChain {
        network,
        name,
        chain_id,
        default_rpc,
        native_symbol,
        native_name,
    }
}

/// The networks that are not EVM chains, with their names.
const OTHER: [(Network, &str); 7] = [
    (Network::AptosMainnet, "aptos"),
    (Network::AptosTestnet, "aptos-testnet"),
    (Network::AptosDevnet, "aptos-devnet"),
    (Network::BitcoinMainnet, "bitcoin"),
    (Network::BitcoinTestnet, "bitcoin-testnet"),
    (Network::BitcoinSignet, "bitcoin-signet"),
    (Network::BitcoinRegtest, "bitcoin-regtest"),
];

/// The prefix of an EVM chain written by id.
const EVM_PREFIX: &str = "evm-";

impl Network {
    /// Every named network, in a stable order (`Evm(id)` stands for any other EVM chain).
    pub const ALL: [Network; 16] = [
        Network::AptosMainnet,
        Network::AptosTestnet,
        Network::AptosDevnet,
        Network::BitcoinMainnet,
        Network::BitcoinTestnet,
        Network::BitcoinSignet,
        Network::BitcoinRegtest,
        Network::EthereumMainnet,
        Network::EthereumSepolia,
        Network::Base,
        Network::BaseSepolia,
        Network::Optimism,
        Network::Arbitrum,
        Network::Polygon,
        Network::Bsc,
        Network::Avalanche,
    ];

    /// The name used in queries (`aptos-testnet`, `ethereum`, `evm-31337`, ...).
    pub fn name(self) -> Cow<'static, str> {
        if let Network::Evm(id) = self {
            return Cow::Owned(format!("{EVM_PREFIX}{id}"));
        }
        let named = OTHER
            .iter()
            .map(|(n, name)| (*n, *name))
            .chain(EVM_CHAINS.iter().map(|c| (c.network, c.name)))
            .find(|(n, _)| *n == self);
        Cow::Borrowed(named.map_or("unknown", |(_, name)| name))
    }

    /// The chain this network belongs to.
    pub fn chain(self) -> Chain {
        match self {
            Network::AptosMainnet | Network::AptosTestnet | Network::AptosDevnet => Chain::Aptos,
            Network::BitcoinMainnet
            | Network::BitcoinTestnet
            | Network::BitcoinSignet
            | Network::BitcoinRegtest => Chain::Bitcoin,
            _ => Chain::Ethereum,
        }
    }

    /// The EIP-155 chain id of an EVM network.
    pub fn evm_chain_id(self) -> Option<u64> {
        match self {
            Network::Evm(id) => Some(id),
            n => EVM_CHAINS
                .iter()
                .find(|c| c.network == n)
                .map(|c| c.chain_id),
        }
    }

    /// The named EVM network, if this is one.
    pub fn evm_chain(self) -> Option<&'static EvmChain> {
        EVM_CHAINS.iter().find(|c| c.network == self)
    }

    /// The EVM network with this chain id: a named one if it has a name, else `Evm(id)`.
    pub fn from_evm_chain_id(id: u64) -> Network {
        EVM_CHAINS
            .iter()
            .find(|c| c.chain_id == id)
            .map_or(Network::Evm(id), |c| c.network)
    }

    /// The source that answers queries on this network unless AMB is configured for it: an
    /// The native coin's metadata, from the network table: ETH, POL, BNB or AVAX with 18
    /// decimals on the named EVM networks, 18 decimals and no symbol on `evm-<chain id>`,
    /// BTC with 8 on Bitcoin, APT (`Aptos Coin`) with 8 on Aptos.
    pub fn native_metadata(self) -> crate::metadata::TokenMetadata {
        use crate::metadata::TokenMetadata;
        match self.chain() {
            Chain::Aptos => TokenMetadata::new(Some("APT"), Some("Aptos Coin"), Some(8)),
            Chain::Bitcoin => TokenMetadata::new(Some("BTC"), Some("Bitcoin"), Some(8)),
            Chain::Ethereum => match self.evm_chain() {
                Some(c) => TokenMetadata::new(Some(c.native_symbol), Some(c.native_name), Some(18)),
                None => TokenMetadata::new(None::<String>, None::<String>, Some(18)),
            },
        }
    }

    /// Aptos node, an EVM JSON-RPC node, or an Esplora server.
    pub fn backend(self) -> Backend {
        match self.chain() {
            Chain::Aptos => Backend::Aptos,
            Chain::Ethereum => Backend::Evm,
            Chain::Bitcoin => Backend::Esplora,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Network {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if let Some(n) = Network::ALL.into_iter().find(|n| n.name() == s) {
            return Ok(n);
        }
        if let Some(id) = s.strip_prefix(EVM_PREFIX) {
            let digits = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
            return match id.parse::<u64>() {
                Ok(id) if digits && id > 0 => Ok(Network::from_evm_chain_id(id)),
                _ => Err(Error::invalid_input(
                    "network",
                    s,
                    "expected evm-<chain id>, a decimal chain id from 1 to 2^64-1 (e.g. evm-31337)",
                )),
            };
        }
        let names: Vec<Cow<'static, str>> = Network::ALL.iter().map(|n| n.name()).collect();
        Err(Error::invalid_input(
            "network",
            s,
            format!(
                "unknown network; expected one of {}, or evm-<chain id>",
                names.join(", ")
            ),
        ))
    }
}

impl Serialize for Network {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Network {
    fn schema_name() -> Cow<'static, str> {
        "Network".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A network name: aptos, aptos-testnet, aptos-devnet, bitcoin, bitcoin-testnet, bitcoin-signet, bitcoin-regtest, ethereum, ethereum-sepolia, base, base-sepolia, optimism, arbitrum, polygon, bsc, avalanche, or evm-<chain id>",
            "pattern": "^([a-z]+(-[a-z]+)?|evm-[1-9][0-9]{0,19})$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_chain_ids_are_unique() {
        for n in Network::ALL {
            assert_eq!(n.name().parse::<Network>().unwrap(), n);
        }
        let mut ids: Vec<u64> = EVM_CHAINS.iter().map(|c| c.chain_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), EVM_CHAINS.len());
        for c in EVM_CHAINS {
            assert_eq!(Network::from_evm_chain_id(c.chain_id), c.network);
            assert_eq!(
                format!("evm-{}", c.chain_id).parse::<Network>().unwrap(),
                c.network
            );
        }
    }

    #[test]
    fn bad_chain_ids_are_refused_naming_the_network() {
        for bad in [
            "evm-",
            "evm-0",
            "evm-x",
            "evm--1",
            "evm-18446744073709551616",
            "evm-+5",
        ] {
            let e = bad.parse::<Network>().unwrap_err();
            assert_eq!(e.field(), Some("network"), "{bad}");
        }
        assert_eq!("evm-31337".parse::<Network>().unwrap(), Network::Evm(31337));
    }

    #[test]
    fn serde_uses_the_query_names() {
        let json = serde_json::to_string(&[Network::Base, Network::Evm(7)]).unwrap();
        assert_eq!(json, r#"["base","evm-7"]"#);
        let back: Vec<Network> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [Network::Base, Network::Evm(7)]);
    }
}
