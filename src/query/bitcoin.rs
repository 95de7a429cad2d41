//! Bitcoin addresses: validation and canonical form.
//!
//! With the `bitcoin` or `amb` feature an address is checked in full before any request:
//! base58check (P2PKH, P2SH: version byte, 25 bytes, double-SHA-256 checksum) or segwit
//! (BIP 173 bech32 for version 0, BIP 350 bech32m for versions 1 to 16, program lengths),
//! each for its network. Without either, no source can read Bitcoin, and the check is
//! structural (prefix, alphabet, case, length) so that queries still parse and the source
//! that is compiled out gives its own `unsupported` error.

use std::fmt;

use super::Network;
use crate::error::Error;

/// Base58 alphabet (no 0, O, I, l).
const BASE58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// Bech32 data characters, by value.
const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// What the addresses of a network look like.
struct Params {
    /// The segwit human-readable part with its separator (`bc1`).
    hrp: &'static str,
    /// The first characters of its base58 addresses.
    legacy_first: &'static [char],
    /// The base58 version bytes: P2PKH, P2SH.
    #[cfg_attr(not(any(feature = "bitcoin", feature = "amb")), allow(dead_code))]
    versions: [u8; 2],
}

const MAINNET: Params = Params {
    hrp: "bc1",
    legacy_first: &['1', '3'],
    versions: [0x00, 0x05],
};
const TESTNET: Params = Params {
    hrp: "tb1",
    legacy_first: &['m', 'n', '2'],
    versions: [0x6f, 0xc4],
};
const REGTEST: Params = Params {
    hrp: "bcrt1",
    legacy_first: &['m', 'n', '2'],
    versions: [0x6f, 0xc4],
};

/// The address format of a Bitcoin network (testnet and signet share one; so do their
/// base58 addresses and regtest's).
fn params(network: Network) -> &'static Params {
    match network {
        Network::BitcoinMainnet => &MAINNET,
        Network::BitcoinRegtest => &REGTEST,
        _ => &TESTNET,
    }
}

/// Which networks an address looks like it is for, by its prefix, to say so when it is not
/// for the network asked.
fn looks_like(s: &str, lower: &str) -> Option<&'static str> {
    if lower.starts_with(REGTEST.hrp) {
        Some("a Bitcoin regtest address")
    } else if lower.starts_with(MAINNET.hrp) || s.starts_with(MAINNET.legacy_first) {
        Some("a Bitcoin mainnet address")
    } else if lower.starts_with(TESTNET.hrp) {
        Some("a Bitcoin testnet or signet address")
    } else if s.starts_with(TESTNET.legacy_first) {
        Some("a Bitcoin testnet, signet or regtest address")
    } else {
        None
    }
}

/// A Bitcoin address: legacy base58 (P2PKH, P2SH) or bech32/bech32m (segwit, taproot).
///
/// Checked for its network before any request (in full with the `bitcoin` or `amb`
/// feature, structurally without); bech32 addresses are printed in lower case, base58 ones
/// as given.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BitcoinAddress(String);

impl BitcoinAddress {
    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an address for a Bitcoin `network`, naming `field` in errors.
    pub(crate) fn parse_field(
        field: &'static str,
        s: &str,
        network: Network,
    ) -> Result<Self, Error> {
        let p = params(network);
        let lower = s.to_ascii_lowercase();
        if let Some(data) = lower.strip_prefix(p.hrp) {
            check_segwit(s, &lower, data, p, network)
                .map_err(|m| Error::invalid_input(field, s, m))?;
            return Ok(BitcoinAddress(lower));
        }
        if s.starts_with(p.legacy_first) {
            check_base58(s, p, network).map_err(|m| Error::invalid_input(field, s, m))?;
            return Ok(BitcoinAddress(s.to_string()));
        }
        let starts: Vec<String> = p.legacy_first.iter().map(|c| c.to_string()).collect();
        let expected = format!(
            "an address on {network} starts with {} or one of {}",
            p.hrp,
            starts.join(", ")
        );
        let problem = match looks_like(s, &lower) {
            Some(kind) => format!("{kind}; {expected}"),
            None => format!("not a Bitcoin address: {expected}"),
        };
        Err(Error::invalid_input(field, s, problem))
    }
}

/// Checks a segwit address `s` (`lower` in lower case, `data` the part after the prefix).
fn check_segwit(
    s: &str,
    lower: &str,
    data: &str,
    p: &Params,
    network: Network,
) -> Result<(), String> {
    if s != lower && s != s.to_ascii_uppercase() {
        return Err("mixed case: a bech32 address is all lower case or all upper case".into());
    }
    if let Some(bad) = data.chars().find(|c| !BECH32.contains(*c)) {
        return Err(format!(
            "'{}' is not a bech32 character",
            bad.escape_debug()
        ));
    }
    // The prefix, a witness version, 2 to 40 bytes (4 to 64 characters), a 6-character
    // checksum.
    let (min, max) = (p.hrp.len() + 11, p.hrp.len() + 71);
    if !(min..=max).contains(&lower.len()) {
        return Err(format!(
            "{} characters; a bech32 address on {network} has {min} to {max}",
            lower.len()
        ));
    }
    #[cfg(any(feature = "bitcoin", feature = "amb"))]
    full::segwit(lower, p)?;
    Ok(())
}

/// Checks a base58 address.
fn check_base58(s: &str, p: &Params, network: Network) -> Result<(), String> {
    if let Some(bad) = s.chars().find(|c| !BASE58.contains(*c)) {
        return Err(format!(
            "'{}' is not a base58 character",
            bad.escape_debug()
        ));
    }
    if !(26..=35).contains(&s.len()) {
        return Err(format!(
            "{} characters; a base58 address has 26 to 35",
            s.len()
        ));
    }
    #[cfg(any(feature = "bitcoin", feature = "amb"))]
    full::base58(s, p, network)?;
    #[cfg(not(any(feature = "bitcoin", feature = "amb")))]
    let _ = (p, network);
    Ok(())
}

/// The checks that need the checksums: with the `bitcoin` or `amb` feature.
#[cfg(any(feature = "bitcoin", feature = "amb"))]
mod full {
    use bech32::primitives::decode::{PaddingError, SegwitHrpstringError, UncheckedHrpstring};
    use bech32::{Bech32, Bech32m, Fe32};
    use sha2::{Digest, Sha256};

    use super::{Params, BASE58};
    use crate::query::Network;

    /// Checks a lower-case segwit address whose prefix, alphabet and length are known good.
    pub(super) fn segwit(lower: &str, p: &Params) -> Result<(), String> {
        let unchecked =
            UncheckedHrpstring::new(lower).map_err(|e| format!("not a bech32 string: {e}"))?;
        let first = unchecked
            .data_part_ascii()
            .first()
            .copied()
            .ok_or("no data after the prefix")?;
        let version = Fe32::from_char(char::from(first))
            .map_err(|e| e.to_string())?
            .to_u8();
        if version > 16 {
            return Err(format!(
                "witness version {version} (the '{}' after {}); segwit versions run from 0 to 16",
                char::from(first),
                p.hrp
            ));
        }
        let (bech32, bech32m) = (
            unchecked.has_valid_checksum::<Bech32>(),
            unchecked.has_valid_checksum::<Bech32m>(),
        );
        let checked = match (version, bech32, bech32m) {
            (0, true, _) => unchecked.remove_checksum::<Bech32>(),
            (1.., _, true) => unchecked.remove_checksum::<Bech32m>(),
            (0, false, true) => {
                return Err(
                    "a version 0 address with a bech32m checksum; version 0 takes \
                            bech32 (BIP 173), versions 1 to 16 take bech32m (BIP 350)"
                        .into(),
                )
            }
            (_, true, false) => {
                return Err(format!(
                    "a version {version} address with a bech32 checksum; versions 1 to 16 \
                     take bech32m (BIP 350), version 0 takes bech32 (BIP 173)"
                ))
            }
            _ => {
                return Err(
                    "bad bech32 checksum: a character is mistyped, missing or swapped".into(),
                )
            }
        };
        // 5 bits a character after the version; the leftover bits are padding.
        let bytes = checked
            .data_part_ascii_no_checksum()
            .len()
            .saturating_sub(1)
            * 5
            / 8;
        let program = match checked.validate_segwit() {
            Ok(segwit) => segwit.byte_iter().len(),
            Err(SegwitHrpstringError::Padding(PaddingError::TooMuch)) => {
                return Err(
                    "bad padding: more than 4 bits left over after the program's last byte \
                     (BIP 173)"
                        .into(),
                )
            }
            Err(SegwitHrpstringError::Padding(_)) => {
                return Err(
                    "bad padding: the bits left over after the program's last byte are not \
                     all zero (BIP 173)"
                        .into(),
                )
            }
            Err(SegwitHrpstringError::WitnessLength(_)) => bytes,
            Err(e) => return Err(e.to_string()),
        };
        match (version, program) {
            (0, 20 | 32) | (1, 32) | (2.., 2..=40) => Ok(()),
            (0, n) => Err(format!(
                "a version 0 witness program of {n} bytes; it is 20 (P2WPKH) or 32 (P2WSH)"
            )),
            (1, n) => Err(format!(
                "a version 1 witness program of {n} bytes; version 1 (taproot, P2TR) takes 32"
            )),
            (v, n) => Err(format!(
                "a version {v} witness program of {n} bytes; it is 2 to 40"
            )),
        }
    }

    /// Checks a base58 address whose prefix, alphabet and length are known good.
    pub(super) fn base58(s: &str, p: &Params, network: Network) -> Result<(), String> {
        let bytes = decode_base58(s);
        if bytes.len() != 25 {
            return Err(format!(
                "decodes to {} bytes; a base58 address has 25 (a version byte, a 20-byte \
                 hash and a 4-byte checksum)",
                bytes.len()
            ));
        }
        let (payload, checksum) = bytes.split_at(21);
        let hash = Sha256::digest(Sha256::digest(payload));
        if hash[..4] != *checksum {
            return Err(
                "bad base58check checksum: a character is mistyped, missing or swapped".into(),
            );
        }
        let version = payload[0];
        if p.versions.contains(&version) {
            return Ok(());
        }
        // The prefix is the network's, so the version is at most a neighbour of its own.
        let [pkh, sh] = p.versions;
        Err(format!(
            "version byte 0x{version:02x}; a base58 address on {network} has 0x{pkh:02x} \
             (P2PKH) or 0x{sh:02x} (P2SH)"
        ))
    }

    /// Decodes base58 text (of known-good characters) to bytes, leading `1`s as zero bytes.
    pub(super) fn decode_base58(s: &str) -> Vec<u8> {
        // Little-endian base-256 digits of the number.
        let mut num: Vec<u8> = Vec::with_capacity(s.len());
        for c in s.bytes() {
            let mut carry = BASE58.bytes().position(|b| b == c).unwrap_or(0) as u32;
            for digit in &mut num {
                carry += u32::from(*digit) * 58;
                *digit = carry as u8;
                carry >>= 8;
            }
            while carry > 0 {
                num.push(carry as u8);
                carry >>= 8;
            }
        }
        let zeros = s.bytes().take_while(|&b| b == b'1').count();
        let mut out = vec![0u8; zeros];
        out.extend(num.iter().rev());
        out
    }
}

impl fmt::Display for BitcoinAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str, network: Network) -> Result<BitcoinAddress, Error> {
        BitcoinAddress::parse_field("owner", s, network)
    }

    #[test]
    fn canonical_forms() {
        let upper = parse(
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            Network::BitcoinMainnet,
        )
        .unwrap();
        assert_eq!(upper.as_str(), "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
        let legacy = parse(
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            Network::BitcoinMainnet,
        )
        .unwrap();
        assert_eq!(legacy.to_string(), "1BoatSLRHtKNngkdXEeobR76b53LETtpyT");
    }

    #[test]
    fn networks_have_their_prefixes() {
        let tb = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
        assert!(parse(tb, Network::BitcoinTestnet).is_ok());
        assert!(parse(tb, Network::BitcoinSignet).is_ok());
        assert!(parse(tb, Network::BitcoinRegtest).is_err());
        assert!(parse(tb, Network::BitcoinMainnet).is_err());
    }

    /// Every substitution of one character by another of its alphabet, and every deletion,
    /// is refused, naming the owner, without a panic.
    #[cfg(any(feature = "bitcoin", feature = "amb"))]
    #[test]
    fn every_one_character_error_is_caught() {
        let cases = [
            (
                Network::BitcoinMainnet,
                "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
                BASE58,
            ),
            (
                Network::BitcoinMainnet,
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                BASE58,
            ),
            (
                Network::BitcoinTestnet,
                "2N3oefVeg6stiTb5Kh3ozCSkaqmx91FDbsm",
                BASE58,
            ),
            (
                Network::BitcoinMainnet,
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                BECH32,
            ),
            (
                Network::BitcoinMainnet,
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                BECH32,
            ),
            (
                Network::BitcoinRegtest,
                "bcrt1qqv9pzxqlyckngw6zf9g9whn9d3eh4qvg37tfmf9tk2uup37w6hwqd3h3a8",
                BECH32,
            ),
        ];
        for (network, good, alphabet) in cases {
            assert!(parse(good, network).is_ok(), "{good}");
            let start = if alphabet == BECH32 {
                good.find('1').unwrap() + 1
            } else {
                0
            };
            for at in start..good.len() {
                let mut variants: Vec<String> = alphabet
                    .chars()
                    .filter(|&c| c != good.as_bytes()[at] as char)
                    .map(|c| format!("{}{c}{}", &good[..at], &good[at + 1..]))
                    .collect();
                variants.push(format!("{}{}", &good[..at], &good[at + 1..]));
                for bad in variants {
                    let e = parse(&bad, network).expect_err(&bad);
                    assert_eq!(e.field(), Some("owner"), "{bad}");
                }
            }
        }
    }

    #[cfg(any(feature = "bitcoin", feature = "amb"))]
    #[test]
    fn base58_decodes_with_leading_zeros() {
        // The genesis block's address: version 0, then the hash160 of its key.
        let bytes = full::decode_base58("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
        assert_eq!(bytes.len(), 25);
        assert_eq!(bytes[0], 0);
        assert_eq!(bytes[1..5], [0x62, 0xe9, 0x07, 0xb1]);
        assert_eq!(full::decode_base58("11"), [0, 0]);
        assert_eq!(full::decode_base58("z"), [57]);
        assert_eq!(full::decode_base58("21"), [58]);
    }
}
