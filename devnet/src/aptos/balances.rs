//! Balances: a history of changes per (owner, asset type), and
//! `GET /v1/accounts/{address}/balance/{asset_type}`.

use std::borrow::Cow;

use axum::http::StatusCode;

use super::address::{parse_address, parse_asset_type, AssetKey};
use super::answer::Answer;
use super::history;
use super::http::{check_version, decode_segment, ledger_version, path_address};
use super::{AptosNode, LedgerInfo, LedgerState};
use crate::InvalidInput;

pub(super) type BalanceKey = ([u8; 32], AssetKey);

impl AptosNode {
    /// Records that `owner` holds `amount` of `asset_type` from the current tip version on;
    /// returns that version. `owner` and `asset_type` are parsed and normalized as the HTTP
    /// API does (`0x1::aptos_coin::AptosCoin`, a fungible-asset metadata address, ...).
    pub fn set_balance(
        &self,
        owner: &str,
        asset_type: &str,
        amount: u64,
    ) -> Result<u64, InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        let mut s = self.lock();
        let version = self.inner.layout.last_version(s.tip_height);
        insert_change(&mut s, key, version, amount);
        Ok(version)
    }

    /// Records that `owner` holds `amount` of `asset_type` from `version` on (replacing a
    /// change already recorded at that version). Versions past the tip are allowed: the
    /// change becomes visible once the tip reaches them.
    pub fn set_balance_at(
        &self,
        owner: &str,
        asset_type: &str,
        version: u64,
        amount: u64,
    ) -> Result<(), InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        insert_change(&mut self.lock(), key, version, amount);
        Ok(())
    }

    /// The balance as the HTTP API would answer it at `version` (the tip when `None`),
    /// without the pruning and tip checks: 0 when nothing was recorded at or before it.
    pub fn balance(
        &self,
        owner: &str,
        asset_type: &str,
        version: Option<u64>,
    ) -> Result<u64, InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        let version = version.unwrap_or_else(|| self.tip_version());
        Ok(self.read_balance(&key, version))
    }

    pub(super) fn read_balance(&self, key: &BalanceKey, version: u64) -> u64 {
        let s = self.lock();
        s.balances
            .get(key)
            .and_then(|changes| history::at(changes, version).copied())
            .unwrap_or(0)
    }

    pub(super) fn balance_answer(
        &self,
        raw_address: &str,
        raw_asset: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let address = path_address(raw_address)?;
        let asset_text = decode_segment(raw_asset).unwrap_or(Cow::Borrowed(raw_asset));
        let asset = parse_asset_type(&asset_text).map_err(|e| {
            Answer::bad_request(
                "invalid_input",
                &format!(
                    "failed to parse path `asset_type`: failed to parse \"string(AssetType)\": \
                     invalid asset type {asset_text:?}: {e}"
                ),
            )
        })?;
        let version = ledger_version(query, info)?;
        check_version(version, info)?;
        let amount = self.read_balance(&(address, asset), version);
        Ok(Answer::json(StatusCode::OK, &amount))
    }
}

fn balance_key(owner: &str, asset_type: &str) -> Result<BalanceKey, InvalidInput> {
    let addr = parse_address(owner)
        .ok_or_else(|| InvalidInput(format!("invalid account address {owner:?}")))?;
    let asset = parse_asset_type(asset_type)
        .map_err(|e| InvalidInput(format!("invalid asset type {asset_type:?}: {e}")))?;
    Ok((addr, asset))
}

fn insert_change(s: &mut LedgerState, key: BalanceKey, version: u64, amount: u64) {
    history::set(s.balances.entry(key).or_default(), version, amount);
}
