//! Token metadata as the Aptos framework keeps it: a coin `T`'s `0x1::coin::CoinInfo<T>` at
//! the address of `T`, and a fungible asset's `0x1::fungible_asset::Metadata` at its
//! metadata address, each with `name`, `symbol` and `decimals`.
//!
//! Names and symbols are taken as any bytes: a real node only ever writes UTF-8 (Move's
//! `String` is checked), but a test may want to see what a client makes of a server that
//! writes anything, so bytes that are not UTF-8 go into the JSON string as they are.

use super::address::{parse_address, parse_struct_tag};
use super::resources::Data;
use super::{AptosNode, APT_COIN};
use crate::InvalidInput;

/// The resource type of a fungible asset's metadata.
pub const FA_METADATA_TYPE: &str = "0x1::fungible_asset::Metadata";
/// The fungible asset APT is paired with: its metadata lives at `0xa`.
pub const APT_FA_METADATA: &str = "0xa";

impl AptosNode {
    /// Records the `CoinInfo` of coin `coin_type` (a Move struct tag, such as
    /// `0xabc::usdc::USDC`), stored at the address of the coin's struct, from the current
    /// tip version on; returns that version. `name` and `symbol` may be any bytes, of any
    /// length.
    pub fn set_coin_info(
        &self,
        coin_type: &str,
        name: impl AsRef<[u8]>,
        symbol: impl AsRef<[u8]>,
        decimals: u8,
    ) -> Result<u64, InvalidInput> {
        let version = self.tip_version();
        self.set_coin_info_at(coin_type, version, name, symbol, decimals)?;
        Ok(version)
    }

    /// Records the `CoinInfo` of coin `coin_type` from `version` on (replacing one recorded
    /// at that version); before it, the resource is not there. Versions past the tip are
    /// allowed: the change becomes visible once the tip reaches them.
    pub fn set_coin_info_at(
        &self,
        coin_type: &str,
        version: u64,
        name: impl AsRef<[u8]>,
        symbol: impl AsRef<[u8]>,
        decimals: u8,
    ) -> Result<(), InvalidInput> {
        let coin = parse_struct_tag(coin_type)
            .map_err(|e| InvalidInput(format!("invalid coin type {coin_type:?}: {e}")))?;
        // The canonical tag starts with the address of the coin's module.
        let address = coin
            .split("::")
            .next()
            .and_then(parse_address)
            .ok_or_else(|| InvalidInput(format!("invalid coin type {coin_type:?}")))?;
        let data = fields(&[
            ("decimals", decimals.to_string().into_bytes()),
            ("name", json_text(name.as_ref())),
            ("supply", br#"{"vec":[]}"#.to_vec()),
            ("symbol", json_text(symbol.as_ref())),
        ]);
        self.put_resource(
            address,
            format!("0x1::coin::CoinInfo<{coin}>"),
            version,
            data,
        );
        Ok(())
    }

    /// Records the `Metadata` of the fungible asset whose metadata object is at `address`,
    /// from the current tip version on; returns that version. `name` and `symbol` may be
    /// any bytes, of any length.
    pub fn set_fungible_asset_metadata(
        &self,
        address: &str,
        name: impl AsRef<[u8]>,
        symbol: impl AsRef<[u8]>,
        decimals: u8,
    ) -> Result<u64, InvalidInput> {
        let version = self.tip_version();
        self.set_fungible_asset_metadata_at(address, version, name, symbol, decimals)?;
        Ok(version)
    }

    /// Records the `Metadata` of the fungible asset at `address` from `version` on
    /// (replacing one recorded at that version); before it, the resource is not there.
    pub fn set_fungible_asset_metadata_at(
        &self,
        address: &str,
        version: u64,
        name: impl AsRef<[u8]>,
        symbol: impl AsRef<[u8]>,
        decimals: u8,
    ) -> Result<(), InvalidInput> {
        let at = parse_address(address)
            .ok_or_else(|| InvalidInput(format!("invalid account address {address:?}")))?;
        let data = fields(&[
            ("decimals", decimals.to_string().into_bytes()),
            ("icon_uri", br#""""#.to_vec()),
            ("name", json_text(name.as_ref())),
            ("project_uri", br#""""#.to_vec()),
            ("symbol", json_text(symbol.as_ref())),
        ]);
        self.put_resource(at, FA_METADATA_TYPE.to_string(), version, data);
        Ok(())
    }

    /// APT's metadata, there from genesis as on every Aptos chain: the coin's `CoinInfo`
    /// at `0x1` and the paired fungible asset's `Metadata` at `0xa`.
    pub(super) fn seed_apt_metadata(&self) {
        // The constants are valid by construction.
        let _ = self.set_coin_info_at(APT_COIN, 0, "Aptos Coin", "APT", 8);
        let _ = self.set_fungible_asset_metadata_at(APT_FA_METADATA, 0, "Aptos Coin", "APT", 8);
    }
}

/// A JSON object from its members, each value already written.
fn fields(members: &[(&str, Vec<u8>)]) -> Data {
    let mut out = vec![b'{'];
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&json_text(name.as_bytes()));
        out.push(b':');
        out.extend_from_slice(value);
    }
    out.push(b'}');
    out.into()
}

/// `text` as a JSON string: UTF-8 escaped as JSON requires, any other byte written as it is.
fn json_text(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'"');
    for chunk in text.utf8_chunks() {
        let escaped = serde_json::Value::from(chunk.valid()).to_string();
        // Without its quotes.
        if let Some(inner) = escaped.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            out.extend_from_slice(inner.as_bytes());
        }
        out.extend_from_slice(chunk.invalid());
    }
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_every_byte() {
        assert_eq!(json_text(b"USD Coin"), b"\"USD Coin\"");
        assert_eq!(json_text(b"a\"b\\c\n"), br#""a\"b\\c\n""#);
        assert_eq!(json_text(b"M\xffR"), b"\"M\xffR\"");
        let v: serde_json::Value =
            serde_json::from_slice(&json_text("é\u{202e}\0".as_bytes())).unwrap();
        assert_eq!(v, "é\u{202e}\0");
    }

    #[test]
    fn fields_make_an_object() {
        let data = fields(&[("decimals", b"6".to_vec()), ("name", json_text(b"x"))]);
        let v: serde_json::Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(v, serde_json::json!({"decimals": 6, "name": "x"}));
    }
}
