//! Queries to `BatchGetTokenBalanceInputItem`s and answers back to balances.

use std::time::SystemTime;

use aws_sdk_managedblockchainquery::types::{
    BatchGetTokenBalanceErrorItem, BatchGetTokenBalanceInputItem, BatchGetTokenBalanceOutputItem,
    BlockchainInstant, OwnerIdentifier, QueryNetwork, TokenIdentifier,
};
use aws_smithy_types::DateTime;

use crate::amount::Amount;
use crate::balance::Balance;
use crate::error::{Error, ErrorKind};
use crate::query::{Backend, Network, Owner, Query, Token};

/// The networks the AMB back end answers, with the service's name for each. A test holds
/// this against the SDK's `QueryNetwork::values()` and against `specs/amb.json`.
pub const HANDLED_NETWORKS: [(Network, &str); 4] = [
    (Network::BitcoinMainnet, "BITCOIN_MAINNET"),
    (Network::BitcoinTestnet, "BITCOIN_TESTNET"),
    (Network::EthereumMainnet, "ETHEREUM_MAINNET"),
    (Network::EthereumSepolia, "ETHEREUM_SEPOLIA_TESTNET"),
];

/// The service's name for a network (`ETHEREUM_MAINNET`, ...), if AMB serves it.
pub fn network_value(network: Network) -> Option<&'static str> {
    HANDLED_NETWORKS
        .iter()
        .find(|(n, _)| *n == network)
        .map(|(_, v)| *v)
}

/// What identifies an item in an answer: network, owner, contract and token id, compared
/// without regard to case (the service may echo hex in either case).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ItemKey {
    network: String,
    owner: String,
    contract: String,
    token_id: String,
}

impl ItemKey {
    fn new(network: &str, owner: &str, contract: Option<&str>, token_id: Option<&str>) -> Self {
        ItemKey {
            network: network.to_string(),
            owner: owner.to_ascii_lowercase(),
            contract: contract.unwrap_or_default().to_ascii_lowercase(),
            token_id: token_id.unwrap_or_default().to_ascii_lowercase(),
        }
    }

    fn of(token: Option<&TokenIdentifier>, owner: Option<&OwnerIdentifier>) -> Option<Self> {
        let token = token?;
        Some(ItemKey::new(
            token.network().as_str(),
            owner?.address(),
            token.contract_address(),
            token.token_id(),
        ))
    }

    pub(crate) fn of_output(item: &BatchGetTokenBalanceOutputItem) -> Option<Self> {
        Self::of(item.token_identifier(), item.owner_identifier())
    }

    pub(crate) fn of_error(item: &BatchGetTokenBalanceErrorItem) -> Option<Self> {
        Self::of(item.token_identifier(), item.owner_identifier())
    }
}

/// A query in the service's terms, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct PreparedItem {
    pub key: ItemKey,
    network: &'static str,
    owner: String,
    contract: Option<String>,
    token_id: Option<String>,
}

impl PreparedItem {
    pub(crate) fn new(query: &Query) -> Result<Self, Error> {
        let network = network_value(query.network()).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("{} is not served by AMB", query.network()),
            )
            .with_backend(Backend::Amb)
        })?;
        let owner = match query.owner() {
            Owner::Evm(a) if a.is_null() => {
                return Err(Error::invalid_input(
                    "owner",
                    &a.to_string(),
                    "AMB refuses the null address as an owner; read it from an EVM endpoint",
                )
                .with_backend(Backend::Amb))
            }
            Owner::Evm(a) => a.to_string(),
            Owner::Bitcoin(a) => a.to_string(),
            Owner::Aptos(_) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{query} is not a Bitcoin or Ethereum query"),
                )
                .with_backend(Backend::Amb))
            }
        };
        let native = match query.network() {
            Network::BitcoinMainnet | Network::BitcoinTestnet => "btc",
            _ => "eth",
        };
        let (contract, token_id) = match query.token() {
            Token::Native => (None, Some(native.to_string())),
            Token::Erc20 { contract } => (Some(contract.to_string()), None),
            Token::Erc721 { contract, token_id } | Token::Erc1155 { contract, token_id } => {
                (Some(contract.to_string()), Some(token_id.to_hex64()))
            }
            Token::Erc721Count { .. } => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "{query}: AMB reads one ERC-721 item at a time (erc721:CONTRACT:ID); \
                         a collection count needs an EVM JSON-RPC endpoint"
                    ),
                )
                .with_backend(Backend::Amb))
            }
            Token::Aptos(_) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{query} is not a Bitcoin or Ethereum query"),
                )
                .with_backend(Backend::Amb))
            }
        };
        Ok(PreparedItem {
            key: ItemKey::new(network, &owner, contract.as_deref(), token_id.as_deref()),
            network,
            owner,
            contract,
            token_id,
        })
    }

    /// How the item reads in a message.
    pub(crate) fn description(&self) -> String {
        let mut s = format!("{} owner {}", self.network, self.owner);
        if let Some(c) = &self.contract {
            s.push_str(&format!(" contract {c}"));
        }
        if let Some(t) = &self.token_id {
            s.push_str(&format!(" token {t}"));
        }
        s
    }

    pub(crate) fn to_input(
        &self,
        at: Option<SystemTime>,
    ) -> Result<BatchGetTokenBalanceInputItem, Error> {
        let built = |e: aws_smithy_types::error::operation::BuildError| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{}: {e}", self.description()),
            )
            .with_backend(Backend::Amb)
        };
        let token = TokenIdentifier::builder()
            .network(QueryNetwork::from(self.network))
            .set_contract_address(self.contract.clone())
            .set_token_id(self.token_id.clone())
            .build()
            .map_err(built)?;
        let owner = OwnerIdentifier::builder()
            .address(self.owner.clone())
            .build()
            .map_err(built)?;
        Ok(BatchGetTokenBalanceInputItem::builder()
            .token_identifier(token)
            .owner_identifier(owner)
            .set_at_blockchain_instant(
                at.map(|t| BlockchainInstant::builder().time(DateTime::from(t)).build()),
            )
            .build())
    }
}

/// A balance from an answer item: the amount must be a plain decimal up to 2^256 - 1.
pub(crate) fn balance_from_output(item: &BatchGetTokenBalanceOutputItem) -> Result<Balance, Error> {
    let amount: Amount = item.balance().parse().map_err(|e: Error| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "the service sent a balance that is not an amount: {}",
                e.message()
            ),
        )
        .with_backend(Backend::Amb)
    })?;
    Ok(Balance::amb(
        amount,
        item.at_blockchain_instant().and_then(instant),
        item.last_updated_time().and_then(instant),
    ))
}

fn instant(i: &BlockchainInstant) -> Option<SystemTime> {
    i.time().and_then(|t| SystemTime::try_from(*t).ok())
}
