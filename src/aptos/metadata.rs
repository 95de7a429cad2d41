//! The symbol, name and decimals of an Aptos coin or fungible asset at a ledger version, read
//! from the resource that holds them:
//!
//! | asset | resource | stored under |
//! |---|---|---|
//! | a coin `T` (`0xabc::usdc::USDC`) | `0x1::coin::CoinInfo<T>` | the address of `T` (`0xabc`) |
//! | a fungible asset (`0xbae2...`) | `0x1::fungible_asset::Metadata` | its metadata address |
//!
//! Both have `name` and `symbol` (`0x1::string::String`, a JSON string) and `decimals` (`u8`,
//! a JSON number). APT (`0x1::aptos_coin::AptosCoin`, and `0xa`, the fungible asset it is
//! paired with) is known and costs no request.
//!
//! A resource that is not there is metadata the chain does not give (every field `None`), not
//! an error; a field missing or of the wrong type (text that is not a string, decimals that
//! are not an integer from 0 to 255) is that one field unknown. Text is cut to
//! [`MAX_TEXT_CHARS`](crate::metadata::MAX_TEXT_CHARS) characters.

use serde_json::Value;

use super::resources::ResourceFields;
use super::AptosBackend;
use crate::error::Error;
use crate::metadata::TokenMetadata;
use crate::query::{AccountAddress, AssetType, Network};

/// The resource type of a fungible asset's metadata.
const FA_METADATA: &str = "0x1::fungible_asset::Metadata";

/// Where the metadata of `asset` is stored: the account, and the resource type.
fn metadata_resource(asset: &AssetType) -> (AccountAddress, String) {
    match asset {
        AssetType::Coin(tag) => (tag.address, format!("0x1::coin::CoinInfo<{tag}>")),
        AssetType::FungibleAsset(address) => (*address, FA_METADATA.to_string()),
    }
}

/// The metadata in a `CoinInfo` or `Metadata` resource's fields; whatever is missing or of
/// the wrong type is `None`.
fn from_fields(fields: &ResourceFields) -> TokenMetadata {
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    let decimals = fields
        .get("decimals")
        .and_then(Value::as_u64)
        .and_then(|d| u8::try_from(d).ok());
    TokenMetadata::new(text("symbol"), text("name"), decimals)
}

impl AptosBackend {
    /// The symbol, name and decimals of `asset` at `ledger_version`: from
    /// `0x1::coin::CoinInfo<T>` at the address of `T` for a coin `T`, from
    /// `0x1::fungible_asset::Metadata` at the metadata address for a fungible asset. APT is
    /// known (`APT`, `Aptos Coin`, 8) and read without a request.
    ///
    /// A resource that is not there gives every field `None` (the chain does not say); a
    /// field missing or of the wrong type gives that field `None`. A failed read (a pruned
    /// version, throttling after the configured retries, a transport error, ...) is an
    /// error.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tokbal::Error> {
    /// use tokbal::aptos::{AptosBackend, AptosConfig};
    /// let node = AptosBackend::new(AptosConfig::new("https://api.mainnet.aptoslabs.com/v1"))?;
    /// let version = node.ledger_info().await?.ledger_version;
    /// let usdc = "0xbae207659db88bea0cbead6da0ed00aac12edcdda169e591cd41c94180b46f3b".parse()?;
    /// let meta = node.token_metadata(&usdc, version).await?;
    /// println!("{:?} has {:?} decimals", meta.symbol, meta.decimals);
    /// # Ok(()) }
    /// ```
    pub async fn token_metadata(
        &self,
        asset: &AssetType,
        ledger_version: u64,
    ) -> Result<TokenMetadata, Error> {
        if asset.is_apt() {
            return Ok(Network::AptosMainnet.native_metadata());
        }
        let (address, resource_type) = metadata_resource(asset);
        let fields = self
            .resource(&address, &resource_type, ledger_version)
            .await?;
        Ok(fields.as_ref().map(from_fields).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> ResourceFields {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn apt_is_known_both_ways() {
        let parse = |s: &str| s.parse::<AssetType>().unwrap();
        assert!(AssetType::apt().is_apt());
        assert!(parse("0xa").is_apt());
        assert!(parse(&format!("0x{:0>64}", "a")).is_apt());
        assert!(!parse("0xb").is_apt());
        assert!(!parse("0xa::aptos_coin::AptosCoin").is_apt());
        assert!(!parse("0x1::aptos_coin::AptosCoin2").is_apt());
    }

    #[test]
    fn resources_are_where_the_framework_keeps_them() {
        let coin: AssetType = "0xabc::usdc::USDC".parse().unwrap();
        let (at, ty) = metadata_resource(&coin);
        assert_eq!(at, "0xabc".parse().unwrap());
        assert_eq!(
            ty,
            format!("0x1::coin::CoinInfo<0x{:0>64}::usdc::USDC>", "abc")
        );
        let fa: AssetType = "0xbeef".parse().unwrap();
        assert_eq!(
            metadata_resource(&fa),
            ("0xbeef".parse().unwrap(), FA_METADATA.to_string())
        );
    }

    #[test]
    fn fields_of_the_wrong_type_are_unknown() {
        let m = from_fields(&fields(json!({
            "name": "USD Coin", "symbol": "USDC", "decimals": 6,
            "supply": {"vec": []}, "icon_uri": "", "project_uri": ""
        })));
        assert_eq!(
            m,
            TokenMetadata::new(Some("USDC"), Some("USD Coin"), Some(6))
        );

        for decimals in [json!(256), json!(-1), json!(6.5), json!("6"), json!(null)] {
            let m = from_fields(&fields(
                json!({"name": "n", "symbol": "s", "decimals": decimals}),
            ));
            assert_eq!(m.decimals, None, "{decimals}");
            assert_eq!(m.symbol.as_deref(), Some("s"));
        }
        let m = from_fields(&fields(
            json!({"name": 5, "symbol": ["x"], "decimals": 255}),
        ));
        assert_eq!(m, TokenMetadata::new(None::<&str>, None::<&str>, Some(255)));
        assert!(from_fields(&fields(json!({}))).is_empty());

        let long = "\u{202e}x\u{1b}[31m".repeat(10_000);
        let m = from_fields(&fields(json!({"name": long, "symbol": long})));
        assert_eq!(
            m.name.unwrap().chars().count(),
            crate::metadata::MAX_TEXT_CHARS
        );
    }
}
