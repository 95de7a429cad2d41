//! The `X-APTOS-*` headers a node puts on every answer: its view of the ledger at that moment.

use reqwest::header::{HeaderMap, HeaderName};

use crate::error::{Error, ErrorKind};
use crate::query::Backend;

pub(crate) const CHAIN_ID: &str = "x-aptos-chain-id";
pub(crate) const LEDGER_VERSION: &str = "x-aptos-ledger-version";
pub(crate) const OLDEST_VERSION: &str = "x-aptos-ledger-oldest-version";
pub(crate) const LEDGER_TIMESTAMP: &str = "x-aptos-ledger-timestampusec";
pub(crate) const EPOCH: &str = "x-aptos-epoch";
pub(crate) const BLOCK_HEIGHT: &str = "x-aptos-block-height";
pub(crate) const OLDEST_BLOCK_HEIGHT: &str = "x-aptos-oldest-block-height";

/// The same names as [`HeaderName`]s, built at compile time.
mod names {
    use reqwest::header::HeaderName;
    pub(super) const CHAIN_ID: HeaderName = HeaderName::from_static(super::CHAIN_ID);
    pub(super) const LEDGER_VERSION: HeaderName = HeaderName::from_static(super::LEDGER_VERSION);
    pub(super) const OLDEST_VERSION: HeaderName = HeaderName::from_static(super::OLDEST_VERSION);
    pub(super) const LEDGER_TIMESTAMP: HeaderName =
        HeaderName::from_static(super::LEDGER_TIMESTAMP);
    pub(super) const EPOCH: HeaderName = HeaderName::from_static(super::EPOCH);
    pub(super) const BLOCK_HEIGHT: HeaderName = HeaderName::from_static(super::BLOCK_HEIGHT);
    pub(super) const OLDEST_BLOCK_HEIGHT: HeaderName =
        HeaderName::from_static(super::OLDEST_BLOCK_HEIGHT);
}

/// The node's ledger state: from the headers of any answer, or the body of `GET /`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerState {
    /// Chain id (1 mainnet, 2 testnet, others for devnets and local chains).
    pub chain_id: u8,
    /// The node's latest ledger version when it answered.
    pub ledger_version: u64,
    /// The oldest ledger version the node has not pruned.
    pub oldest_ledger_version: u64,
    /// Timestamp of the latest ledger version, in microseconds since the Unix epoch.
    pub ledger_timestamp_usec: u64,
    /// The current epoch.
    pub epoch: u64,
    /// Height of the node's latest block.
    pub block_height: u64,
    /// Height of the oldest block the node has not pruned.
    pub oldest_block_height: u64,
}

impl LedgerState {
    /// Reads the headers the API requires on every successful answer; a missing or malformed
    /// one is a decode error naming it.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, Error> {
        // Looked up by HeaderName constants: a &str name would be parsed again on every get.
        let get = |key: &HeaderName| {
            let name = key.as_str();
            let value = headers
                .get(key)
                .and_then(|v| v.to_str().ok()?.trim().parse().ok());
            value.ok_or_else(|| {
                let problem = match headers.get(key) {
                    None => "is missing",
                    Some(_) => "is not an unsigned integer",
                };
                Error::new(
                    ErrorKind::Decode,
                    format!(
                        "the answer's {} header {problem}",
                        name.to_ascii_uppercase()
                    ),
                )
                .with_backend(Backend::Aptos)
            })
        };
        let chain_id = get(&names::CHAIN_ID)?;
        Ok(LedgerState {
            chain_id: u8::try_from(chain_id).map_err(|_| {
                Error::new(
                    ErrorKind::Decode,
                    format!("the answer's chain id {chain_id} does not fit in a byte"),
                )
                .with_backend(Backend::Aptos)
            })?,
            ledger_version: get(&names::LEDGER_VERSION)?,
            oldest_ledger_version: get(&names::OLDEST_VERSION)?,
            ledger_timestamp_usec: get(&names::LEDGER_TIMESTAMP)?,
            epoch: get(&names::EPOCH)?,
            block_height: get(&names::BLOCK_HEIGHT)?,
            oldest_block_height: get(&names::OLDEST_BLOCK_HEIGHT)?,
        })
    }
}

/// One header as a u64, if present and well formed.
pub(crate) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}
