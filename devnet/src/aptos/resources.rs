//! Account resources: a history of each resource's fields per (account, resource type), and
//! `GET /v1/accounts/{address}/resource/{resource_type}` and
//! `GET /v1/accounts/{address}/resources` (paged, the next page's start in `X-APTOS-CURSOR`).
//!
//! A resource's fields are kept as the JSON the node would write for them (`data`), so that
//! they can hold anything a test asks for, bytes that are not UTF-8 included. Besides the
//! resources set here, an account holds `0x1::coin::CoinStore<T>` for each coin `T` it has a
//! balance of (from the first change of that balance on), with that balance.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;

use super::address::{address_string, parse_address, parse_struct_tag, AssetKey};
use super::answer::Answer;
use super::history::{self, History};
use super::http::{check_version, decode_segment, ledger_version, path_address, query_param};
use super::{AptosNode, LedgerInfo, LedgerState};
use crate::InvalidInput;

/// Most resources in one page of `GET /v1/accounts/{address}/resources`, and the page size
/// when the request gives no `limit` (the node's default `max_account_resources_page_size`).
pub const DEFAULT_RESOURCES_PAGE_SIZE: u16 = 9_999;

/// One resource's fields, as written JSON.
pub(super) type Data = Arc<[u8]>;

/// An account's resources by canonical type, each a history of its fields.
pub(super) type AccountResources = BTreeMap<String, History<Data>>;

impl AptosNode {
    /// Records that `address` holds a resource of type `resource_type` (a Move struct tag)
    /// with fields `data` (the JSON the node writes as the resource's `data`, usually an
    /// object) from the current tip version on; returns that version. Any JSON is taken, so
    /// that tests can see what a client makes of fields of the wrong type.
    pub fn set_resource(
        &self,
        address: &str,
        resource_type: &str,
        data: &serde_json::Value,
    ) -> Result<u64, InvalidInput> {
        let version = self.tip_version();
        self.set_resource_at(address, resource_type, version, data)?;
        Ok(version)
    }

    /// Records `address`'s resource of type `resource_type` with fields `data` from
    /// `version` on (replacing one recorded at that version). Versions past the tip are
    /// allowed: the change becomes visible once the tip reaches them.
    pub fn set_resource_at(
        &self,
        address: &str,
        resource_type: &str,
        version: u64,
        data: &serde_json::Value,
    ) -> Result<(), InvalidInput> {
        let address = parse_address(address)
            .ok_or_else(|| InvalidInput(format!("invalid account address {address:?}")))?;
        let resource_type = parse_struct_tag(resource_type)
            .map_err(|e| InvalidInput(format!("invalid resource type {resource_type:?}: {e}")))?;
        let data = serde_json::to_vec(data)
            .map_err(|e| InvalidInput(format!("resource fields that cannot be written: {e}")))?;
        self.put_resource(address, resource_type, version, data.into());
        Ok(())
    }

    /// Records a resource whose fields are already written.
    pub(super) fn put_resource(
        &self,
        address: [u8; 32],
        resource_type: String,
        version: u64,
        data: Data,
    ) {
        let mut s = self.lock();
        let account = s.resources.entry(address).or_default();
        history::set(account.entry(resource_type).or_default(), version, data);
    }

    /// Sets the most resources one page of `GET /v1/accounts/{address}/resources` holds
    /// (at least 1; [`DEFAULT_RESOURCES_PAGE_SIZE`] until set), as a node's
    /// `max_account_resources_page_size` does: a request's `limit` above it is cut to it.
    pub fn set_resources_page_size(&self, size: u16) {
        self.lock().resources_page_size = size.max(1);
    }

    /// The types of the resources `address` holds at `version` (the tip when `None`), in
    /// the order the HTTP API lists them, without the pruning and tip checks.
    pub fn resource_types(
        &self,
        address: &str,
        version: Option<u64>,
    ) -> Result<Vec<String>, InvalidInput> {
        let address = parse_address(address)
            .ok_or_else(|| InvalidInput(format!("invalid account address {address:?}")))?;
        let version = version.unwrap_or_else(|| self.tip_version());
        let s = self.lock();
        Ok(resources_at(&s, &address, version)
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }

    pub(super) fn resource_answer(
        &self,
        raw_address: &str,
        raw_type: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let address = path_address(raw_address)?;
        let type_text = decode_segment(raw_type).unwrap_or(Cow::Borrowed(raw_type));
        let resource_type = parse_struct_tag(&type_text).map_err(|e| {
            Answer::bad_request(
                "invalid_input",
                &format!(
                    "failed to parse path `resource_type`: failed to parse \
                     \"string(MoveStructTag)\": invalid struct tag {type_text:?}: {e}"
                ),
            )
        })?;
        let version = ledger_version(query, info)?;
        check_version(version, info)?;
        let data = {
            let s = self.lock();
            resource_at(&s, &address, &resource_type, version)
        };
        match data {
            Some(data) => Ok(Answer::raw_json(resource_json(&resource_type, &data))),
            None => Err(Answer::error(
                StatusCode::NOT_FOUND,
                "resource_not_found",
                &format!(
                    "Resource not found by Address({}), Struct tag({resource_type}) and Ledger \
                     version({version})",
                    address_string(&address)
                ),
            )),
        }
    }

    pub(super) fn resources_answer(
        &self,
        raw_address: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let address = path_address(raw_address)?;
        let version = ledger_version(query, info)?;
        let start = match query_param(query, "start") {
            None => None,
            Some(raw) => Some(cursor_key(&raw).ok_or_else(|| {
                Answer::bad_request(
                    "web_framework_error",
                    &format!(
                        "failed to parse parameter `start`: failed to parse \
                         \"string(StateKeyWrapper)\": invalid cursor {raw:?} (occurred while \
                         parsing \"optional<string(StateKeyWrapper)>\")"
                    ),
                )
            })?),
        };
        let requested = match query_param(query, "limit") {
            None => None,
            Some(raw) => Some(raw.parse::<u16>().map_err(|e| {
                Answer::bad_request(
                    "web_framework_error",
                    &format!(
                        "failed to parse parameter `limit`: failed to parse \
                         \"integer(uint16)\": {e} (occurred while parsing \
                         \"optional<integer(uint16)>\")"
                    ),
                )
            })?),
        };
        if requested == Some(0) {
            return Err(Answer::bad_request(
                "invalid_input",
                "Given limit value (0) must not be zero",
            ));
        }
        check_version(version, info)?;
        let (page, next) = {
            let s = self.lock();
            let size = usize::from(
                requested.map_or(s.resources_page_size, |n| n.min(s.resources_page_size)),
            );
            let all = resources_at(&s, &address, version);
            let from = match &start {
                Some(key) => all.partition_point(|(t, _)| t < key),
                None => 0,
            };
            let rest = all.get(from..).unwrap_or_default();
            let page: Vec<(String, Data)> = rest.iter().take(size).cloned().collect();
            let next = rest.get(size).map(|(t, _)| cursor_of(t));
            (page, next)
        };
        let mut body = Vec::from(&b"["[..]);
        for (i, (resource_type, data)) in page.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&resource_json(resource_type, data));
        }
        body.push(b']');
        Ok(Answer::raw_json(body).with_cursor(next))
    }
}

/// The fields of `address`'s resource of type `resource_type` at `version`, if it holds
/// one then.
fn resource_at(
    s: &LedgerState,
    address: &[u8; 32],
    resource_type: &str,
    version: u64,
) -> Option<Data> {
    if let Some(data) = s
        .resources
        .get(address)
        .and_then(|account| account.get(resource_type))
        .and_then(|changes| history::at(changes, version))
    {
        return Some(data.clone());
    }
    let coin = resource_type
        .strip_prefix("0x1::coin::CoinStore<")?
        .strip_suffix('>')?;
    let changes = s
        .balances
        .get(&(*address, AssetKey::Coin(coin.to_string())))?;
    history::at(changes, version).map(|amount| coin_store(address, *amount))
}

/// Every resource `address` holds at `version`, sorted by type.
fn resources_at(s: &LedgerState, address: &[u8; 32], version: u64) -> Vec<(String, Data)> {
    let mut all: Vec<(String, Data)> = Vec::new();
    if let Some(account) = s.resources.get(address) {
        for (resource_type, changes) in account {
            if let Some(data) = history::at(changes, version) {
                all.push((resource_type.clone(), data.clone()));
            }
        }
    }
    for ((owner, asset), changes) in &s.balances {
        let (AssetKey::Coin(coin), true) = (asset, owner == address) else {
            continue;
        };
        let resource_type = format!("0x1::coin::CoinStore<{coin}>");
        if all.iter().any(|(t, _)| *t == resource_type) {
            continue;
        }
        if let Some(amount) = history::at(changes, version) {
            all.push((resource_type, coin_store(address, *amount)));
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// The fields of a `0x1::coin::CoinStore<T>` holding `amount`.
fn coin_store(owner: &[u8; 32], amount: u64) -> Data {
    let owner = address_string(owner);
    let events = |creation_num: u32| {
        serde_json::json!({
            "counter": "0",
            "guid": {"id": {"addr": owner, "creation_num": creation_num.to_string()}}
        })
    };
    let data = serde_json::json!({
        "coin": {"value": amount.to_string()},
        "deposit_events": events(2),
        "frozen": false,
        "withdraw_events": events(3),
    });
    Data::from(data.to_string().into_bytes())
}

/// `{"type": ..., "data": ...}`, as the node writes a resource.
fn resource_json(resource_type: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + resource_type.len() + 24);
    out.extend_from_slice(b"{\"type\":");
    out.extend_from_slice(json_string(resource_type).as_bytes());
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data);
    out.push(b'}');
    out
}

/// `s` as a JSON string, quotes included.
fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The cursor that starts a page at resource type `resource_type`: its bytes in hex (the
/// node's are a state key in hex; both are opaque to a client).
fn cursor_of(resource_type: &str) -> String {
    resource_type.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The resource type a cursor starts at; `None` when it is not one this node handed out.
fn cursor_key(cursor: &str) -> Option<String> {
    let digits = cursor.as_bytes();
    if digits.is_empty()
        || !digits.len().is_multiple_of(2)
        || !digits.iter().all(u8::is_ascii_hexdigit)
    {
        return None;
    }
    let bytes = digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let t = "0x1::coin::CoinInfo<0x1::aptos_coin::AptosCoin>";
        assert_eq!(cursor_key(&cursor_of(t)).as_deref(), Some(t));
        for bad in ["", "0", "zz", "ff", "+1"] {
            assert_eq!(cursor_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn resources_are_written_as_the_node_does() {
        let body = resource_json("0x1::a::B", br#"{"x":1}"#);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "0x1::a::B", "data": {"x": 1}})
        );
        let store: serde_json::Value = serde_json::from_slice(&coin_store(&[0; 32], 5)).unwrap();
        assert_eq!(store["coin"]["value"], "5");
    }
}
