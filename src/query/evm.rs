//! Ethereum addresses and token ids: parsing, validation and canonical forms.

use std::fmt;
use std::str::FromStr;

use ruint::aliases::U256;

use crate::error::Error;

/// A 20-byte Ethereum address, printed as `0x` and 40 lowercase hex digits.
///
/// Mixed-case (checksummed) input is accepted and printed in lower case.
///
/// ```
/// use tokbal::query::EvmAddress;
/// let a: EvmAddress = "0xdAC17F958D2ee523a2206206994597C13D831ec7".parse().unwrap();
/// assert_eq!(a.to_string(), "0xdac17f958d2ee523a2206206994597c13d831ec7");
/// assert!("0x1234".parse::<EvmAddress>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvmAddress([u8; 20]);

impl EvmAddress {
    /// The address of these 20 bytes.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        EvmAddress(bytes)
    }

    /// The 20 bytes of the address.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Whether this is 0x000...0, which holds nothing and which AMB refuses.
    pub fn is_null(&self) -> bool {
        self.0 == [0u8; 20]
    }

    /// Parses an address, naming `field` in the error. The null address is an ordinary owner
    /// (burned tokens are held there) but no contract.
    pub(crate) fn parse_field(field: &'static str, s: &str) -> Result<Self, Error> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .ok_or_else(|| Error::invalid_input(field, s, "an Ethereum address starts with 0x"))?;
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(Error::invalid_input(
                field,
                s,
                format!("'{}' is not a hex digit", bad.escape_debug()),
            ));
        }
        if digits.len() != 40 {
            return Err(Error::invalid_input(
                field,
                s,
                format!(
                    "{} hex digits; an Ethereum address has exactly 40",
                    digits.len()
                ),
            ));
        }
        let mut bytes = [0u8; 20];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                .map_err(|e| Error::invalid_input(field, s, e))?;
        }
        let addr = EvmAddress(bytes);
        if addr.is_null() && field == "contract" {
            return Err(Error::invalid_input(
                field,
                s,
                "the null address is not a contract",
            ));
        }
        Ok(addr)
    }
}

impl FromStr for EvmAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        EvmAddress::parse_field("address", s)
    }
}

impl fmt::Display for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_0x_hex(f, &self.0)
    }
}

impl fmt::Debug for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmAddress({self})")
    }
}

/// An ERC-721 or ERC-1155 token id, any value up to 2^256 - 1.
///
/// Accepted in decimal or as `0x` hex; printed in decimal; sent to AMB as 64 hex digits.
///
/// ```
/// use tokbal::query::TokenId;
/// let id: TokenId = "0xff".parse().unwrap();
/// assert_eq!(id, "255".parse().unwrap());
/// assert_eq!(id.to_hex64(), format!("{:0>64}", "ff"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TokenId(pub U256);

impl TokenId {
    /// Id 0.
    pub const ZERO: TokenId = TokenId(U256::ZERO);

    /// The id as 64 lowercase hex digits, without `0x`: the form AMB expects.
    pub fn to_hex64(&self) -> String {
        format!("{:064x}", self.0)
    }

    pub(crate) fn parse_field(field: &'static str, s: &str) -> Result<Self, Error> {
        let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => (hex, 16),
            None => (s, 10),
        };
        if digits.is_empty() {
            return Err(Error::invalid_input(field, s, "no digits"));
        }
        let ok = if radix == 16 {
            digits.bytes().all(|b| b.is_ascii_hexdigit())
        } else {
            digits.bytes().all(|b| b.is_ascii_digit())
        };
        if !ok {
            return Err(Error::invalid_input(
                field,
                s,
                "expected a decimal number or 0x followed by hex digits",
            ));
        }
        if radix == 16 && digits.len() > 64 {
            return Err(Error::invalid_input(
                field,
                s,
                format!("{} hex digits; a token id has at most 64", digits.len()),
            ));
        }
        U256::from_str_radix(digits, radix)
            .map(TokenId)
            .map_err(|_| Error::invalid_input(field, s, "larger than 2^256 - 1"))
    }
}

impl FromStr for TokenId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        TokenId::parse_field("token_id", s)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
