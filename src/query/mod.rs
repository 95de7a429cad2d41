//! What a user asks for: [`Query`] = [`Network`] + [`Owner`] + [`Token`].
//!
//! The text form is `NETWORK:OWNER[/TOKEN]`:
//!
//! | network | owner | token |
//! |---|---|---|
//! | `aptos`, `aptos-testnet`, `aptos-devnet` | account address | asset type (default `0x1::aptos_coin::AptosCoin`) |
//! | `ethereum`, `ethereum-sepolia`, `base`, `base-sepolia`, `optimism`, `arbitrum`, `polygon`, `bsc`, `avalanche`, `evm-<chain id>` | `0x` + 40 hex | none or `eth` (the native coin), `erc20:CONTRACT`, `erc721:CONTRACT` (a collection count), `erc721:CONTRACT:ID`, `erc1155:CONTRACT:ID` |
//! | `bitcoin`, `bitcoin-testnet`, `bitcoin-signet`, `bitcoin-regtest` | base58 or bech32/bech32m address, checksum checked | none or `btc` |
//!
//! Parsing validates everything before any request is made; an error names the field
//! (`network`, `owner`, `asset_type`, `token`, `contract`, `token_id`) and quotes the value.

mod aptos;
mod bitcoin;
mod evm;
mod lines;
mod network;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::aptos::{AccountAddress, AssetType, StructTag, TypeTag, MAX_TYPE_NESTING};
pub use self::bitcoin::BitcoinAddress;
pub use self::evm::{EvmAddress, TokenId};
pub use self::lines::{QueryLine, QueryLines, MAX_LINE_BYTES};
pub use self::network::{Chain, EvmChain, Network, EVM_CHAINS};
use crate::error::Error;

/// Writes `0x` and up to 32 bytes as lowercase hex, from a lookup table into a stack buffer
/// in one write: addresses are printed on every request, and `write!("{:02x}")` per byte is
/// a measurable share of a request's client CPU.
pub(crate) fn write_0x_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 2 + 2 * 32];
    let out = buf.get_mut(..2 + 2 * bytes.len()).ok_or(fmt::Error)?;
    out[0] = b'0';
    out[1] = b'x';
    for (i, b) in bytes.iter().enumerate() {
        out[2 + 2 * i] = HEX[usize::from(b >> 4)];
        out[3 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    f.write_str(std::str::from_utf8(out).map_err(|_| fmt::Error)?)
}

/// Longest query accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 8192;

/// The services tokbal reads balances from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An Aptos full node's REST API.
    Aptos,
    /// An EVM chain's JSON-RPC node (Ethereum, Base, Arbitrum, ...).
    Evm,
    /// An Esplora HTTP API (Bitcoin).
    Esplora,
    /// AWS Managed Blockchain Query (Bitcoin and Ethereum).
    Amb,
}

impl Backend {
    /// The cargo feature of the `tokbal` crate that compiles this back end in.
    pub fn feature(self) -> &'static str {
        match self {
            Backend::Aptos => "aptos",
            Backend::Evm => "evm",
            Backend::Esplora => "bitcoin",
            Backend::Amb => "amb",
        }
    }

    /// Whether this build of tokbal has this back end (its cargo feature is on).
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Aptos => cfg!(feature = "aptos"),
            Backend::Evm => cfg!(feature = "evm"),
            Backend::Esplora => cfg!(feature = "bitcoin"),
            Backend::Amb => cfg!(feature = "amb"),
        }
    }

    /// The error for a query on `network` when this back end is compiled out.
    pub(crate) fn not_compiled(self, network: Network) -> Error {
        Error::new(
            crate::error::ErrorKind::Unsupported,
            format!(
                "{network}: this build of tokbal has no {self} back end; enable the tokbal \
                 crate's `{}` feature to read this network",
                self.feature()
            ),
        )
        .with_backend(self)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Esplora => "esplora",
            other => other.feature(),
        })
    }
}

/// Who holds the balance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// An Aptos account.
    Aptos(AccountAddress),
    /// An Ethereum account or contract.
    Evm(EvmAddress),
    /// A Bitcoin address.
    Bitcoin(BitcoinAddress),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Aptos(a) => a.fmt(f),
            Owner::Evm(a) => a.fmt(f),
            Owner::Bitcoin(a) => a.fmt(f),
        }
    }
}

/// What the balance is of.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Token {
    /// An Aptos coin or fungible asset.
    Aptos(AssetType),
    /// The network's native coin (BTC, ETH).
    Native,
    /// An ERC-20 token, by contract.
    Erc20 {
        /// The token contract.
        contract: EvmAddress,
    },
    /// How many items of an ERC-721 collection the owner holds (`balanceOf(owner)`).
    Erc721Count {
        /// The collection contract.
        contract: EvmAddress,
    },
    /// An ERC-721 token (an NFT): the balance is 1 if the owner holds it, else 0.
    Erc721 {
        /// The collection contract.
        contract: EvmAddress,
        /// The token within the collection.
        token_id: TokenId,
    },
    /// An ERC-1155 token: how many of that id the owner holds.
    Erc1155 {
        /// The multi-token contract.
        contract: EvmAddress,
        /// The token id within the contract.
        token_id: TokenId,
    },
}

impl Token {
    /// Whether this is the network's native coin (ETH, BTC; APT is an Aptos asset type).
    pub fn is_native(&self) -> bool {
        matches!(self, Token::Native)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Aptos(a) => a.fmt(f),
            Token::Native => f.write_str("native"),
            Token::Erc20 { contract } => write!(f, "erc20:{contract}"),
            Token::Erc721Count { contract } => write!(f, "erc721:{contract}"),
            Token::Erc721 { contract, token_id } => write!(f, "erc721:{contract}:{token_id}"),
            Token::Erc1155 { contract, token_id } => write!(f, "erc1155:{contract}:{token_id}"),
        }
    }
}

/// One balance to read: who, of what, on which network.
///
/// Parse one from text with [`str::parse`]; its `Display` is the canonical form (long
/// addresses, lower case, explicit asset type), so two queries for the same balance compare
/// equal however they were written.
///
/// ```
/// use tokbal::{Network, Query};
/// let q: Query = "aptos:0x1".parse().unwrap();
/// assert_eq!(q.network(), Network::AptosMainnet);
/// assert_eq!(
///     q.to_string(),
///     format!("aptos:0x{:0>64}/0x{:0>64}::aptos_coin::AptosCoin", 1, 1)
/// );
/// let e: Query = "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7/erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
///     .parse()
///     .unwrap();
/// assert_eq!(e.network(), Network::EthereumMainnet);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Query {
    network: Network,
    owner: Owner,
    token: Token,
}

impl Query {
    /// A query for an Aptos balance.
    pub fn aptos(network: Network, owner: AccountAddress, asset: AssetType) -> Result<Self, Error> {
        if network.chain() != Chain::Aptos {
            return Err(Error::invalid_input(
                "network",
                &network.name(),
                "not an Aptos network",
            ));
        }
        Ok(Query {
            network,
            owner: Owner::Aptos(owner),
            token: Token::Aptos(asset),
        })
    }

    /// A query from parts already checked to belong together (an owner and a token of the
    /// network's chain).
    pub(crate) fn from_parts(network: Network, owner: Owner, token: Token) -> Self {
        Query {
            network,
            owner,
            token,
        }
    }

    /// The network to read on.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Who holds the balance.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// What the balance is of.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The back end that answers this query.
    pub fn backend(&self) -> Backend {
        self.network.backend()
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.network, self.owner)?;
        match &self.token {
            Token::Native => Ok(()),
            t => write!(f, "/{t}"),
        }
    }
}

impl FromStr for Query {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() > MAX_QUERY_LEN {
            return Err(Error::invalid_input(
                "query",
                s,
                format!(
                    "{} bytes long; at most {MAX_QUERY_LEN} are accepted",
                    s.len()
                ),
            ));
        }
        let s_trim = s.trim();
        let (network, rest) = s_trim.split_once(':').ok_or_else(|| {
            Error::invalid_input("query", s, "expected NETWORK:OWNER[/TOKEN], e.g. aptos:0x1")
        })?;
        let network: Network = network.parse()?;
        let (owner, token) = match rest.split_once('/') {
            Some((o, t)) => (o, Some(t)),
            None => (rest, None),
        };
        match network.chain() {
            Chain::Aptos => {
                let owner = AccountAddress::parse_field("owner", owner)?;
                let asset = match token {
                    None => AssetType::apt(),
                    Some(t) => t.parse()?,
                };
                Query::aptos(network, owner, asset)
            }
            Chain::Ethereum => Ok(Query {
                network,
                owner: Owner::Evm(EvmAddress::parse_field("owner", owner)?),
                token: parse_evm_token(token)?,
            }),
            Chain::Bitcoin => {
                let owner = BitcoinAddress::parse_field("owner", owner, network)?;
                match token {
                    None | Some("btc") => Ok(Query {
                        network,
                        owner: Owner::Bitcoin(owner),
                        token: Token::Native,
                    }),
                    Some(t) => Err(Error::invalid_input(
                        "token",
                        t,
                        "Bitcoin has only its native coin; omit the token or write btc",
                    )),
                }
            }
        }
    }
}

pub(crate) fn parse_evm_token(token: Option<&str>) -> Result<Token, Error> {
    let Some(t) = token else {
        return Ok(Token::Native);
    };
    if t == "eth" {
        return Ok(Token::Native);
    }
    let mut parts = t.split(':');
    let standard = parts.next().unwrap_or_default();
    let contract_part = parts.next().filter(|c| !c.is_empty());
    let id = parts.next();
    if parts.next().is_some() {
        return Err(Error::invalid_input(
            "token",
            t,
            "too many ':'; expected erc20:CONTRACT or erc721/erc1155:CONTRACT:TOKEN_ID",
        ));
    }
    let parse_contract = |c: Option<&str>| match c {
        Some(c) => EvmAddress::parse_field("contract", c),
        None => Err(Error::invalid_input(
            "token",
            t,
            format!("{standard} needs a contract address: {standard}:CONTRACT"),
        )),
    };
    let token_id = |i: Option<&str>| match i {
        Some(i) => TokenId::parse_field("token_id", i),
        None => Err(Error::invalid_input(
            "token",
            t,
            format!("{standard} needs a token id: {standard}:CONTRACT:TOKEN_ID"),
        )),
    };
    match standard {
        "erc20" => {
            if id.is_some() {
                return Err(Error::invalid_input(
                    "token",
                    t,
                    "erc20 takes no token id: erc20:CONTRACT",
                ));
            }
            Ok(Token::Erc20 {
                contract: parse_contract(contract_part)?,
            })
        }
        "erc721" => match id {
            // erc721:CONTRACT counts the owner's items of the collection.
            None => Ok(Token::Erc721Count {
                contract: parse_contract(contract_part)?,
            }),
            Some(_) => Ok(Token::Erc721 {
                contract: parse_contract(contract_part)?,
                token_id: token_id(id)?,
            }),
        },
        "erc1155" => Ok(Token::Erc1155 {
            contract: parse_contract(contract_part)?,
            token_id: token_id(id)?,
        }),
        _ => Err(Error::invalid_input(
            "token",
            t,
            "expected eth, erc20:CONTRACT, erc721:CONTRACT, erc721:CONTRACT:TOKEN_ID or \
             erc1155:CONTRACT:TOKEN_ID",
        )),
    }
}
