//! Aptos account addresses and asset types (fungible-asset metadata addresses and Move struct
//! tags): parsing, validation and canonical forms.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A 32-byte Aptos account address.
///
/// Accepts the long form, the short form (`0x1`), no `0x` prefix, and upper case; always
/// prints the long form, `0x` and 64 lowercase hex digits.
///
/// ```
/// use tokbal::query::AccountAddress;
/// let a: AccountAddress = "0X1".parse().unwrap();
/// assert_eq!(a.to_string(), format!("0x{:0>64}", 1));
/// assert!("0x".parse::<AccountAddress>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountAddress([u8; 32]);

impl AccountAddress {
    /// The address `0x1`, where the Aptos framework lives.
    pub const ONE: AccountAddress = {
        let mut b = [0u8; 32];
        b[31] = 1;
        AccountAddress(b)
    };

    /// The 32 bytes of the address.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses an address, naming `field` in the error.
    pub(crate) fn parse_field(field: &'static str, s: &str) -> Result<Self, Error> {
        Self::parse_hex(s).map_err(|problem| Error::invalid_input(field, s, problem))
    }

    /// Parses an address; the error says only what is wrong with it.
    fn parse_hex(s: &str) -> Result<Self, String> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if digits.is_empty() {
            return Err("no hex digits".into());
        }
        if digits.len() > 64 {
            return Err(format!(
                "{} hex digits; an address has at most 64",
                digits.len()
            ));
        }
        if let Some(bad) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(format!("'{}' is not a hex digit", bad.escape_debug()));
        }
        // Right-align the digits: "1" is 0x00..01. Every byte is ASCII hex by now.
        let mut bytes = [0u8; 32];
        let offset = 64 - digits.len();
        for (i, d) in digits.bytes().enumerate() {
            let nibble = (d as char).to_digit(16).unwrap_or(0) as u8;
            let at = offset + i;
            bytes[at / 2] |= if at.is_multiple_of(2) {
                nibble << 4
            } else {
                nibble
            };
        }
        Ok(AccountAddress(bytes))
    }
}

impl FromStr for AccountAddress {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        AccountAddress::parse_field("address", s)
    }
}

impl fmt::Display for AccountAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        super::write_0x_hex(f, &self.0)
    }
}

impl fmt::Debug for AccountAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountAddress({self})")
    }
}

/// What an Aptos balance is of: a coin, by its Move struct tag, or a fungible asset, by the
/// address of its metadata object.
///
/// ```
/// use tokbal::query::AssetType;
/// let coin: AssetType = "0x1::aptos_coin::AptosCoin".parse().unwrap();
/// assert!(matches!(coin, AssetType::Coin(_)));
/// let fa: AssetType = "0xa".parse().unwrap();
/// assert!(matches!(fa, AssetType::FungibleAsset(_)));
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum AssetType {
    /// A coin, named by its Move struct tag (`0x1::aptos_coin::AptosCoin`).
    Coin(StructTag),
    /// A fungible asset, named by its metadata object's address.
    FungibleAsset(AccountAddress),
}

impl AssetType {
    /// APT, the native coin: `0x1::aptos_coin::AptosCoin`.
    pub fn apt() -> AssetType {
        AssetType::Coin(StructTag {
            address: AccountAddress::ONE,
            module: "aptos_coin".into(),
            name: "AptosCoin".into(),
            type_args: Vec::new(),
        })
    }

    /// The fungible asset `0xa`, which APT is paired with (the node's balance of the coin
    /// includes it).
    pub fn apt_fungible_asset() -> AssetType {
        let mut address = [0u8; 32];
        address[31] = 0xa;
        AssetType::FungibleAsset(AccountAddress(address))
    }

    /// Whether this is APT: the coin or its paired fungible asset `0xa`.
    pub fn is_apt(&self) -> bool {
        *self == AssetType::apt() || *self == AssetType::apt_fungible_asset()
    }
}

impl FromStr for AssetType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.contains("::") {
            StructTag::parse_field("asset_type", s).map(AssetType::Coin)
        } else {
            AccountAddress::parse_field("asset_type", s).map(AssetType::FungibleAsset)
        }
    }
}

impl fmt::Display for AssetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssetType::Coin(tag) => tag.fmt(f),
            AssetType::FungibleAsset(addr) => addr.fmt(f),
        }
    }
}

/// A Move struct tag, `ADDRESS::module::Name<TYPE, ...>`, with every address in long form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct StructTag {
    /// The address that published the module.
    pub address: AccountAddress,
    /// The module name.
    pub module: String,
    /// The struct name.
    pub name: String,
    /// Generic arguments, outermost first.
    pub type_args: Vec<TypeTag>,
}

/// A Move type, as it may appear among a struct tag's generic arguments.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TypeTag {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `u128`
    U128,
    /// `u256`
    U256,
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `i128`
    I128,
    /// `i256`
    I256,
    /// `address`
    Address,
    /// `signer`
    Signer,
    /// `vector<T>`
    Vector(Box<TypeTag>),
    /// A struct type.
    Struct(Box<StructTag>),
}

/// Longest struct tag accepted, in bytes; real ones are far shorter.
const MAX_TAG_LEN: usize = 4096;
/// Deepest nesting of generic arguments accepted (`A<B<C<...>>>`).
pub const MAX_TYPE_NESTING: usize = 8;

impl StructTag {
    fn parse_field(field: &'static str, s: &str) -> Result<Self, Error> {
        if s.len() > MAX_TAG_LEN {
            return Err(Error::invalid_input(
                field,
                s,
                format!("{} bytes long; at most {MAX_TAG_LEN} are accepted", s.len()),
            ));
        }
        let mut p = TagParser {
            src: s,
            pos: 0,
            field,
        };
        let tag = p.struct_tag(0)?;
        p.skip_spaces();
        if p.pos != s.len() {
            return Err(p.error(format!(
                "unexpected {} at byte {}",
                p.describe_next(),
                p.pos
            )));
        }
        Ok(tag)
    }
}

impl FromStr for StructTag {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        StructTag::parse_field("struct_tag", s)
    }
}

impl fmt::Display for StructTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}::{}", self.address, self.module, self.name)?;
        if !self.type_args.is_empty() {
            f.write_str("<")?;
            for (i, t) in self.type_args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                t.fmt(f)?;
            }
            f.write_str(">")?;
        }
        Ok(())
    }
}

impl fmt::Display for TypeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeTag::Bool => f.write_str("bool"),
            TypeTag::U8 => f.write_str("u8"),
            TypeTag::U16 => f.write_str("u16"),
            TypeTag::U32 => f.write_str("u32"),
            TypeTag::U64 => f.write_str("u64"),
            TypeTag::U128 => f.write_str("u128"),
            TypeTag::U256 => f.write_str("u256"),
            TypeTag::I8 => f.write_str("i8"),
            TypeTag::I16 => f.write_str("i16"),
            TypeTag::I32 => f.write_str("i32"),
            TypeTag::I64 => f.write_str("i64"),
            TypeTag::I128 => f.write_str("i128"),
            TypeTag::I256 => f.write_str("i256"),
            TypeTag::Address => f.write_str("address"),
            TypeTag::Signer => f.write_str("signer"),
            TypeTag::Vector(t) => write!(f, "vector<{t}>"),
            TypeTag::Struct(s) => s.fmt(f),
        }
    }
}

/// A recursive-descent parser over a struct tag. Depth is bounded, so hostile input cannot
/// exhaust the stack, and every step consumes input, so it runs in linear time.
struct TagParser<'a> {
    src: &'a str,
    pos: usize,
    field: &'static str,
}

impl TagParser<'_> {
    fn error(&self, problem: impl fmt::Display) -> Error {
        Error::invalid_input(self.field, self.src, problem)
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn describe_next(&self) -> String {
        match self.rest().chars().next() {
            Some(c) => format!("'{}'", c.escape_debug()),
            None => "end of input".into(),
        }
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start_matches(' ');
        self.pos = self.src.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, what: &str) -> Result<(), Error> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(format!(
                "expected {what} at byte {}, found {}",
                self.pos,
                self.describe_next()
            )))
        }
    }

    /// A run of ASCII letters, digits and underscores.
    fn word(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        self.pos += len;
        &self.src[start..start + len]
    }

    fn identifier(&mut self, what: &str) -> Result<String, Error> {
        let at = self.pos;
        let word = self.word().to_string();
        let valid = match word.as_bytes() {
            [] => false,
            [b'_'] => false,
            [first, ..] => first.is_ascii_alphabetic() || *first == b'_',
        };
        if valid {
            Ok(word)
        } else if word.is_empty() {
            Err(self.error(format!(
                "expected a {what} name at byte {at}, found {}",
                self.describe_next()
            )))
        } else {
            Err(self.error(format!(
                "{word:?} is not a valid {what} name (a letter or '_' comes first)"
            )))
        }
    }

    fn struct_tag(&mut self, depth: usize) -> Result<StructTag, Error> {
        self.skip_spaces();
        let at = self.pos;
        let addr_text = self.word().to_string();
        if addr_text.is_empty() {
            return Err(self.error(format!(
                "expected an address at byte {at}, found {}",
                self.describe_next()
            )));
        }
        let address = AccountAddress::parse_hex(&addr_text)
            .map_err(|problem| self.error(format!("bad address {addr_text:?}: {problem}")))?;
        self.expect("::", "'::' after the address")?;
        let module = self.identifier("module")?;
        self.expect("::", "'::' after the module name")?;
        let name = self.identifier("struct")?;
        let type_args = self.type_args(depth)?;
        Ok(StructTag {
            address,
            module,
            name,
            type_args,
        })
    }

    fn type_args(&mut self, depth: usize) -> Result<Vec<TypeTag>, Error> {
        self.skip_spaces();
        if !self.eat("<") {
            return Ok(Vec::new());
        }
        if depth + 1 > MAX_TYPE_NESTING {
            return Err(self.error(format!(
                "generic arguments nested more than {MAX_TYPE_NESTING} deep"
            )));
        }
        let mut args = Vec::new();
        loop {
            args.push(self.type_tag(depth + 1)?);
            self.skip_spaces();
            if self.eat(">") {
                return Ok(args);
            }
            self.expect(",", "',' or '>' between generic arguments")?;
        }
    }

    fn type_tag(&mut self, depth: usize) -> Result<TypeTag, Error> {
        self.skip_spaces();
        let start = self.pos;
        let word = self.word().to_string();
        let primitive = match word.as_str() {
            "bool" => Some(TypeTag::Bool),
            "u8" => Some(TypeTag::U8),
            "u16" => Some(TypeTag::U16),
            "u32" => Some(TypeTag::U32),
            "u64" => Some(TypeTag::U64),
            "u128" => Some(TypeTag::U128),
            "u256" => Some(TypeTag::U256),
            "i8" => Some(TypeTag::I8),
            "i16" => Some(TypeTag::I16),
            "i32" => Some(TypeTag::I32),
            "i64" => Some(TypeTag::I64),
            "i128" => Some(TypeTag::I128),
            "i256" => Some(TypeTag::I256),
            "address" => Some(TypeTag::Address),
            "signer" => Some(TypeTag::Signer),
            _ => None,
        };
        if let Some(p) = primitive {
            return Ok(p);
        }
        if word == "vector" {
            self.skip_spaces();
            self.expect("<", "'<' after vector")?;
            if depth + 1 > MAX_TYPE_NESTING {
                return Err(self.error(format!(
                    "generic arguments nested more than {MAX_TYPE_NESTING} deep"
                )));
            }
            let inner = self.type_tag(depth + 1)?;
            self.skip_spaces();
            self.expect(">", "'>' closing vector<...>")?;
            return Ok(TypeTag::Vector(Box::new(inner)));
        }
        // Otherwise a struct tag: rewind and parse it from its address.
        self.pos = start;
        self.struct_tag(depth).map(|t| TypeTag::Struct(Box::new(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_struct_tag_normalizes_addresses_and_spacing() {
        let signed: AssetType = "0x1::m::S<i8, i16, i32, i64, i128, i256>".parse().unwrap();
        assert!(signed
            .to_string()
            .ends_with("::m::S<i8, i16, i32, i64, i128, i256>"));
        let t: AssetType = "0x1::coin::Wrapper<0xA::x::Y,vector<u8>,  0x00b::z::W<bool>>"
            .parse()
            .unwrap();
        let long = |d: &str| format!("0x{d:0>64}");
        assert_eq!(
            t.to_string(),
            format!(
                "{}::coin::Wrapper<{}::x::Y, vector<u8>, {}::z::W<bool>>",
                long("1"),
                long("a"),
                long("b")
            )
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("0x1::a::B{}", "<0x1::a::B".repeat(100) + &">".repeat(100));
        let err = deep.parse::<AssetType>().unwrap_err();
        assert!(err.message().contains("nested more than 8 deep"), "{err}");
        let huge = format!("0x1::a::B{}", "<0x1::a::B".repeat(1000) + &">".repeat(1000));
        let err = huge.parse::<AssetType>().unwrap_err();
        assert!(err.message().contains("at most 4096"), "{err}");
        let ok = format!(
            "0x1::a::B{}",
            "<0x1::a::B".repeat(MAX_TYPE_NESTING) + &">".repeat(MAX_TYPE_NESTING)
        );
        assert!(ok.parse::<AssetType>().is_ok());
    }
}
