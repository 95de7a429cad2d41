//! What a token is: [`TokenMetadata`] (symbol, name, decimals), read at the same pin as the
//! balances, and [`Asset`], a token on a network (`NETWORK:TOKEN`).
//!
//! Symbols and names come from contracts and on-chain resources, so they are hostile input:
//! any bytes, any length. tokbal keeps them as text (bytes that are not UTF-8 replaced by
//! U+FFFD), cut to [`MAX_TEXT_CHARS`] characters, and never interprets them. Printing them
//! to a terminal safely is the printer's job (the `tokbal` CLI escapes control, escape and
//! bidirectional characters).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::query::{AssetType, Chain, Network, Token};

/// The most characters of a symbol or name that tokbal keeps; longer text is cut there.
pub const MAX_TEXT_CHARS: usize = 256;

/// A token's symbol, name and decimals, each `None` where the chain does not say (a contract
/// without `symbol()`, a `decimals()` that reverts or answers more than 255, a read that
/// failed).
///
/// ```
/// use tokbal::TokenMetadata;
/// let usdc = TokenMetadata::new(Some("USDC"), Some("USD Coin"), Some(6));
/// assert_eq!(usdc.symbol.as_deref(), Some("USDC"));
/// let long = TokenMetadata::new(Some("x".repeat(10_000)), None::<String>, None);
/// assert_eq!(long.symbol.unwrap().chars().count(), tokbal::metadata::MAX_TEXT_CHARS);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TokenMetadata {
    /// The ticker (`USDC`, `APT`), at most [`MAX_TEXT_CHARS`] characters.
    pub symbol: Option<String>,
    /// The full name (`USD Coin`), at most [`MAX_TEXT_CHARS`] characters.
    pub name: Option<String>,
    /// How many decimal places the smallest unit is: an amount is `balance / 10^decimals`.
    pub decimals: Option<u8>,
}

impl TokenMetadata {
    /// Metadata from its parts; text longer than [`MAX_TEXT_CHARS`] characters is cut.
    pub fn new(
        symbol: Option<impl Into<String>>,
        name: Option<impl Into<String>>,
        decimals: Option<u8>,
    ) -> Self {
        TokenMetadata {
            symbol: symbol.map(|s| cap(s.into())),
            name: name.map(|s| cap(s.into())),
            decimals,
        }
    }

    /// Text as read from a chain: bytes that are not UTF-8 replaced by U+FFFD, cut to
    /// [`MAX_TEXT_CHARS`] characters. Only the bytes needed are looked at.
    pub fn text_from_bytes(bytes: &[u8]) -> String {
        // A character is at most 4 bytes, and a replaced byte at least one character.
        let head = &bytes[..bytes.len().min(4 * MAX_TEXT_CHARS)];
        cap(String::from_utf8_lossy(head).into_owned())
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.symbol.is_none() && self.name.is_none() && self.decimals.is_none()
    }
}

/// Cuts `s` to at most [`MAX_TEXT_CHARS`] characters.
fn cap(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(MAX_TEXT_CHARS) {
        s.truncate(at);
    }
    s
}

/// A token on a network: what `NETWORK:TOKEN` names, with TOKEN written as in a query
/// (`ethereum:erc20:0xA0b8...`, `ethereum:erc721:0xBC4C...`, `ethereum:erc1155:0x...:7`,
/// `aptos:0x1::aptos_coin::AptosCoin`, `aptos:0xa` for a fungible asset). The network alone
/// (or with `native`, `eth`, `btc`) is its native coin.
///
/// ```
/// use tokbal::{Asset, Network};
/// let usdc: Asset = "ethereum:erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".parse().unwrap();
/// assert_eq!(usdc.network(), Network::EthereumMainnet);
/// assert_eq!(usdc.to_string(), "ethereum:erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
/// assert!("ethereum".parse::<Asset>().unwrap().token().is_native());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asset {
    network: Network,
    token: Token,
}

impl Asset {
    /// `token` on `network`, checked to belong to the network's chain.
    pub fn new(network: Network, token: Token) -> Result<Self, Error> {
        let fits = match (&token, network.chain()) {
            (Token::Native, _) => true,
            (Token::Aptos(_), Chain::Aptos) => true,
            (Token::Aptos(_), _) => false,
            (_, Chain::Ethereum) => true,
            _ => false,
        };
        if !fits {
            return Err(Error::invalid_input(
                "token",
                &token.to_string(),
                format!("not a token of {network}"),
            ));
        }
        Ok(Asset { network, token })
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The token `query` reads, on its network.
    pub(crate) fn of_query(query: &crate::query::Query) -> Asset {
        Asset {
            network: query.network(),
            token: query.token().clone(),
        }
    }

    /// The token whose metadata stands for this one: an ERC-721 item's collection, an
    /// ERC-1155 id's contract (id 0), the token itself otherwise. Names and symbols belong to
    /// the contract, not to one item.
    pub(crate) fn metadata_key(&self) -> Asset {
        let token = match &self.token {
            Token::Erc721 { contract, .. } => Token::Erc721Count {
                contract: *contract,
            },
            Token::Erc1155 { contract, .. } => Token::Erc1155 {
                contract: *contract,
                token_id: crate::query::TokenId::ZERO,
            },
            other => other.clone(),
        };
        Asset {
            network: self.network,
            token,
        }
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.token {
            Token::Native => write!(f, "{}", self.network),
            t => write!(f, "{}:{t}", self.network),
        }
    }
}

impl FromStr for Asset {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.len() > crate::query::MAX_QUERY_LEN {
            return Err(Error::invalid_input(
                "token",
                s,
                format!("longer than {} bytes", crate::query::MAX_QUERY_LEN),
            ));
        }
        let (network, token) = match s.split_once(':') {
            Some((n, t)) => (n, Some(t)),
            None => (s, None),
        };
        let network: Network = network.parse()?;
        let token = match (network.chain(), token) {
            (_, None | Some("native")) => Token::Native,
            (Chain::Aptos, Some(t)) => Token::Aptos(t.parse::<AssetType>()?),
            (Chain::Ethereum, Some(t)) => crate::query::parse_evm_token(Some(t))?,
            (Chain::Bitcoin, Some("btc")) => Token::Native,
            (Chain::Bitcoin, Some(t)) => {
                return Err(Error::invalid_input(
                    "token",
                    t,
                    "Bitcoin has only its native coin: write bitcoin or bitcoin:btc",
                ))
            }
        };
        Asset::new(network, token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_capped_and_lossy() {
        assert_eq!(TokenMetadata::text_from_bytes(b"MKR"), "MKR");
        assert_eq!(
            TokenMetadata::text_from_bytes(&[0x4d, 0xff, 0x52]),
            "M\u{fffd}R"
        );
        let long = vec![b'a'; 100_000];
        assert_eq!(TokenMetadata::text_from_bytes(&long).len(), MAX_TEXT_CHARS);
        let wide = "é".repeat(1000);
        let capped = TokenMetadata::text_from_bytes(wide.as_bytes());
        assert_eq!(capped.chars().count(), MAX_TEXT_CHARS);
    }

    #[test]
    fn assets_parse_per_chain() {
        let a: Asset = "aptos:0x1::aptos_coin::AptosCoin".parse().unwrap();
        assert_eq!(a.network(), Network::AptosMainnet);
        assert!(matches!(a.token(), Token::Aptos(_)));
        assert!("bitcoin:btc".parse::<Asset>().unwrap().token().is_native());
        assert!("base:eth".parse::<Asset>().unwrap().token().is_native());
        let e = "bitcoin:erc20:0x1".parse::<Asset>().unwrap_err();
        assert_eq!(e.field(), Some("token"));
        let e = "ethereum:erc20:0xZZ".parse::<Asset>().unwrap_err();
        assert_eq!(e.field(), Some("contract"));
        let e = "nowhere:eth".parse::<Asset>().unwrap_err();
        assert_eq!(e.field(), Some("network"));
    }

    #[test]
    fn metadata_key_is_the_contract() {
        let item: Asset = "ethereum:erc721:0x00000000000000000000000000000000000000aa:7"
            .parse()
            .unwrap();
        let count: Asset = "ethereum:erc721:0x00000000000000000000000000000000000000aa"
            .parse()
            .unwrap();
        assert_eq!(item.metadata_key(), count);
        let a: Asset = "ethereum:erc1155:0x00000000000000000000000000000000000000aa:7"
            .parse()
            .unwrap();
        let b: Asset = "ethereum:erc1155:0x00000000000000000000000000000000000000aa:9"
            .parse()
            .unwrap();
        assert_eq!(a.metadata_key(), b.metadata_key());
    }
}
