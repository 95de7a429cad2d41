//! Account addresses and Move type tags, parsed and normalized as the node does.

use crate::InvalidInput;

/// Deepest nesting of generic arguments accepted in a type tag.
const MAX_TYPE_DEPTH: usize = 32;

/// Parses an account address the way the node does: `0x` followed by 1 to 64 hex digits
/// (short forms are left-padded with zeros; a bare `0x` is address zero), or exactly 64 hex
/// digits without the prefix. Hex digits may be upper or lower case.
pub(super) fn parse_address(s: &str) -> Option<[u8; 32]> {
    let hex = match s.strip_prefix("0x") {
        Some(rest) if rest.len() <= 64 => rest,
        Some(_) => return None,
        None if s.len() == 64 => s,
        None => return None,
    };
    let mut out = [0u8; 32];
    for (i, b) in hex.bytes().rev().enumerate() {
        let v = (b as char).to_digit(16)? as u8;
        // The last digit is the low nibble of the last byte, the one before it the high one.
        out[31 - i / 2] |= v << ((i % 2) * 4);
    }
    Some(out)
}

/// The standard string form of an address (AIP-40): `0x0`..`0xf` for the special
/// addresses, `0x` and 64 lower-case hex digits for every other one.
pub(super) fn address_string(addr: &[u8; 32]) -> String {
    if addr[..31].iter().all(|b| *b == 0) && addr[31] < 16 {
        return format!("0x{:x}", addr[31]);
    }
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in addr {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The key balances are stored under: a fungible-asset metadata address, or a coin's
/// type tag in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum AssetKey {
    Fa([u8; 32]),
    Coin(String),
}

impl AssetKey {
    fn canonical(&self) -> String {
        match self {
            AssetKey::Fa(a) => address_string(a),
            AssetKey::Coin(t) => t.clone(),
        }
    }
}

/// Parses an asset type as the node does: an address first, else a Move struct tag.
pub(super) fn parse_asset_type(s: &str) -> Result<AssetKey, String> {
    if let Some(addr) = parse_address(s) {
        return Ok(AssetKey::Fa(addr));
    }
    parse_struct_tag(s).map(AssetKey::Coin)
}

/// Parses a Move struct tag (`0x1::coin::CoinInfo<0x1::aptos_coin::AptosCoin>`) into its
/// canonical form.
pub(super) fn parse_struct_tag(s: &str) -> Result<String, String> {
    let mut p = TagParser {
        s: s.as_bytes(),
        pos: 0,
    };
    let tag = p.struct_tag(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!("unexpected text at offset {}", p.pos));
    }
    Ok(tag)
}

/// The primitive type names a type argument may use.
const PRIMITIVES: &[&str] = &[
    "bool", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128", "i256",
    "address", "signer",
];

/// A small recursive-descent parser for Move type tags, producing the canonical form
/// (standard address strings, no spaces except `", "` between type arguments).
struct TagParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl TagParser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(tok.as_bytes()) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(format!("expected `{tok}` at offset {}", self.pos))
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        let word = &self.s[start..self.pos];
        let valid = match word.first() {
            Some(c) if c.is_ascii_alphabetic() => true,
            Some(b'_') => word.len() > 1,
            _ => false,
        };
        if !valid {
            return Err(format!("expected an identifier at offset {start}"));
        }
        Ok(String::from_utf8_lossy(word).into_owned())
    }

    fn address(&mut self) -> Result<[u8; 32], String> {
        self.skip_ws();
        let start = self.pos;
        if !self.s[self.pos..].starts_with(b"0x") {
            return Err(format!("expected an address at offset {start}"));
        }
        let mut end = start + 2;
        while end < self.s.len() && self.s[end].is_ascii_hexdigit() {
            end += 1;
        }
        let text = std::str::from_utf8(&self.s[start..end]).unwrap_or("");
        if end == start + 2 {
            return Err(format!("expected hex digits at offset {end}"));
        }
        let addr = parse_address(text).ok_or_else(|| format!("invalid address {text:?}"))?;
        self.pos = end;
        Ok(addr)
    }

    fn struct_tag(&mut self, depth: usize) -> Result<String, String> {
        let addr = self.address()?;
        self.expect("::")?;
        let module = self.ident()?;
        self.expect("::")?;
        let name = self.ident()?;
        let mut out = format!("{}::{module}::{name}", address_string(&addr));
        if self.eat("<") {
            let args = self.type_args(depth + 1)?;
            out.push('<');
            out.push_str(&args.join(", "));
            out.push('>');
        }
        Ok(out)
    }

    fn type_args(&mut self, depth: usize) -> Result<Vec<String>, String> {
        if depth > MAX_TYPE_DEPTH {
            return Err(format!(
                "type arguments nested deeper than {MAX_TYPE_DEPTH}"
            ));
        }
        let mut args = vec![self.type_tag(depth)?];
        while self.eat(",") {
            args.push(self.type_tag(depth)?);
        }
        self.expect(">")?;
        Ok(args)
    }

    fn type_tag(&mut self, depth: usize) -> Result<String, String> {
        self.skip_ws();
        if self.s[self.pos..].starts_with(b"0x") {
            return self.struct_tag(depth);
        }
        let word = self.ident()?;
        if word == "vector" {
            self.expect("<")?;
            if depth + 1 > MAX_TYPE_DEPTH {
                return Err(format!(
                    "type arguments nested deeper than {MAX_TYPE_DEPTH}"
                ));
            }
            let inner = self.type_tag(depth + 1)?;
            self.expect(">")?;
            return Ok(format!("vector<{inner}>"));
        }
        if PRIMITIVES.contains(&word.as_str()) {
            Ok(word)
        } else {
            Err(format!("unknown type {word:?}"))
        }
    }
}

/// Normalizes an account address: `0x1`, `1`-padded long forms and upper-case hex all give
/// the same string (`0x1`; `0x` and 64 lower-case hex digits for non-special addresses).
pub fn canonical_address(address: &str) -> Result<String, InvalidInput> {
    parse_address(address)
        .map(|a| address_string(&a))
        .ok_or_else(|| InvalidInput(format!("invalid account address {address:?}")))
}

/// Normalizes an asset type (a fungible-asset metadata address, or a Move struct tag such
/// as `0x1::coin::Foo<0x1::a::B, vector<u8>>`): addresses in their standard form, type
/// arguments separated by `", "`, no other whitespace.
pub fn canonical_asset_type(asset_type: &str) -> Result<String, InvalidInput> {
    parse_asset_type(asset_type)
        .map(|k| k.canonical())
        .map_err(|e| InvalidInput(format!("invalid asset type {asset_type:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aptos::APT_COIN;

    #[test]
    fn addresses_parse_like_the_node() {
        let one = parse_address("0x1").unwrap();
        assert_eq!(parse_address("0x0001"), Some(one));
        assert_eq!(
            parse_address("0000000000000000000000000000000000000000000000000000000000000001"),
            Some(one)
        );
        assert_eq!(address_string(&one), "0x1");
        assert_eq!(parse_address("0xABC"), parse_address("0xabc"));
        for bad in [
            "",
            "1",
            "01",
            "x1",
            "00x1",
            "0xg",
            "0X1",
            &format!("0x{}", "1".repeat(65)),
        ] {
            assert_eq!(parse_address(bad), None, "{bad:?}");
        }
        assert_eq!(
            address_string(&parse_address("0xabc").unwrap()),
            format!("0x{}abc", "0".repeat(61))
        );
    }

    #[test]
    fn type_tags_normalize() {
        let a = canonical_asset_type("0x1::coin::Foo<0x1::a::B, 0x2::c::D<u8>>").unwrap();
        let b = canonical_asset_type("0x0001::coin::Foo<0x01::a::B,0x2::c::D< u8 >>").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "0x1::coin::Foo<0x1::a::B, 0x2::c::D<u8>>");
        assert_eq!(
            canonical_asset_type(&format!("0x{}1::aptos_coin::AptosCoin", "0".repeat(63))).unwrap(),
            APT_COIN
        );
        assert!(canonical_asset_type("0x1::coin::Foo<vector<u8>, address>").is_ok());
        for bad in [
            "",
            "coin",
            "0x1::coin",
            "0x1::coin::",
            "0x1::coin::Foo<",
            "0x1::coin::Foo<>",
            "0x1::coin::Foo<u8,>",
            "0x1::coin::Foo>",
            "0x1::1coin::Foo",
            "0x1::coin::Foo<nope>",
            "1::coin::Foo",
        ] {
            assert!(canonical_asset_type(bad).is_err(), "{bad:?}");
        }
        let deep = format!("0x1::a::B{}", "<vector".repeat(500));
        assert!(canonical_asset_type(&deep).is_err());
    }
}
