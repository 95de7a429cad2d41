//! Bitcoin addresses: validation and canonical form.

use std::fmt;

use crate::error::Error;

/// Base58 alphabet (no 0, O, I, l).
const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Bech32 data characters.
const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// A Bitcoin address: legacy base58 (P2PKH, P2SH) or bech32/bech32m (segwit, taproot).
///
/// Checked for the network's prefix, alphabet and length; bech32 addresses are printed in
/// lower case. The checksum is left to the service, which refuses a bad one per item.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BitcoinAddress(String);

impl BitcoinAddress {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an address for mainnet (`testnet == false`) or testnet, naming `field`.
    pub(crate) fn parse_field(field: &'static str, s: &str, testnet: bool) -> Result<Self, Error> {
        let (hrp, legacy_prefixes): (&str, &[char]) = if testnet {
            ("tb1", &['m', 'n', '2'])
        } else {
            ("bc1", &['1', '3'])
        };
        let lower = s.to_ascii_lowercase();
        if let Some(data) = lower.strip_prefix(hrp) {
            if s != lower && s != s.to_ascii_uppercase() {
                return Err(Error::invalid_input(
                    field,
                    s,
                    "a bech32 address is all lower case or all upper case",
                ));
            }
            if let Some(bad) = data.chars().find(|c| !BECH32.contains(*c)) {
                return Err(Error::invalid_input(
                    field,
                    s,
                    format!("'{}' is not a bech32 character", bad.escape_debug()),
                ));
            }
            if !(14..=74).contains(&lower.len()) {
                return Err(Error::invalid_input(
                    field,
                    s,
                    format!("{} characters; a bech32 address has 14 to 74", lower.len()),
                ));
            }
            return Ok(BitcoinAddress(lower));
        }
        let first = s.chars().next();
        if !first.is_some_and(|c| legacy_prefixes.contains(&c)) {
            let net = if testnet { "testnet" } else { "mainnet" };
            let starts: Vec<String> = legacy_prefixes.iter().map(|c| c.to_string()).collect();
            return Err(Error::invalid_input(
                field,
                s,
                format!(
                    "a Bitcoin {net} address starts with {hrp} or one of {}",
                    starts.join(", ")
                ),
            ));
        }
        if let Some(bad) = s.chars().find(|c| !BASE58.contains(*c)) {
            return Err(Error::invalid_input(
                field,
                s,
                format!("'{}' is not a base58 character", bad.escape_debug()),
            ));
        }
        if !(26..=35).contains(&s.len()) {
            return Err(Error::invalid_input(
                field,
                s,
                format!("{} characters; a base58 address has 26 to 35", s.len()),
            ));
        }
        Ok(BitcoinAddress(s.to_string()))
    }
}

impl fmt::Display for BitcoinAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
