//! The Aptos back end: balances, token metadata, account resources, ledger info and blocks
//! from an Aptos full node's REST API.
//!
//! The HTTP client is generated from `specs/aptos.yaml` (see [`generated`]); this module adds
//! configuration, input canonicalization, the ledger headers, and the mapping of every
//! failure to [`Error`].

mod errors;
pub mod generated;
mod headers;
mod hooks;
mod metadata;
mod pin;
mod resources;
mod source;
pub mod wire;

use std::fmt;

use progenitor_client::ClientInfo;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

pub use self::errors::kind_for_code;
use self::errors::map_error;
use self::generated::types;
pub use self::headers::LedgerState;
pub use self::pin::TimePin;
pub use self::resources::MAX_RESOURCE_PAGES;
pub(crate) use self::source::AptosSource;
use self::wire::U64;
use crate::error::{Error, ErrorKind};
use crate::query::{AccountAddress, AssetType, Backend, Network};
use crate::retry::{RateLimit, RetryPolicy};
use crate::transport::Transport;

/// Environment variable read for an API key when none is configured.
pub const API_KEY_ENV: &str = "APTOS_API_KEY";
/// Requests per second sent to the public Aptos Labs endpoints without an API key: they limit
/// anonymous callers per IP address, and staying under the limit beats being throttled.
pub const ANONYMOUS_PUBLIC_RATE_LIMIT: u32 = 10;

/// The public Aptos Labs endpoint for a network (`None` for non-Aptos networks).
pub fn default_url(network: Network) -> Option<&'static str> {
    match network {
        Network::AptosMainnet => Some("https://api.mainnet.aptoslabs.com/v1"),
        Network::AptosTestnet => Some("https://api.testnet.aptoslabs.com/v1"),
        Network::AptosDevnet => Some("https://api.devnet.aptoslabs.com/v1"),
        _ => None,
    }
}

/// An Aptos API key, sent as `Authorization: Bearer <key>`.
///
/// Its `Debug` form hides the key, and it has no `Display`, so it cannot end up in a log by
/// accident.
///
/// ```
/// use tokbal::aptos::ApiKey;
/// let key = ApiKey::new("aptoslabs_secret");
/// assert!(!format!("{key:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key in `APTOS_API_KEY`, if set and not empty.
    pub fn from_env() -> Option<Self> {
        std::env::var(API_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }

    fn header_value(&self) -> Result<HeaderValue, Error> {
        let mut v = HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "invalid api_key: it contains characters that cannot be sent in a header",
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How to reach one Aptos node.
#[derive(Clone)]
#[non_exhaustive]
pub struct AptosConfig {
    /// Base URL including `/v1`, e.g. `https://api.mainnet.aptoslabs.com/v1`.
    pub base_url: String,
    /// API key; `None` sends no `Authorization` header.
    pub api_key: Option<ApiKey>,
    /// Timeout, retries, pacing (without a rate limit set: [`ANONYMOUS_PUBLIC_RATE_LIMIT`]
    /// for a public Aptos Labs endpoint without an API key, no limit otherwise).
    pub transport: Transport,
}

impl AptosConfig {
    /// A configuration for the node at `base_url` (including `/v1`), with no API key.
    pub fn new(base_url: impl Into<String>) -> Self {
        AptosConfig {
            base_url: base_url.into(),
            api_key: None,
            transport: Transport::default(),
        }
    }

    /// The public endpoint of an Aptos network, with the key from `APTOS_API_KEY` if set.
    pub fn for_network(network: Network) -> Result<Self, Error> {
        let url = default_url(network).ok_or_else(|| {
            Error::invalid_input("network", &network.name(), "not an Aptos network")
        })?;
        Ok(AptosConfig {
            api_key: ApiKey::from_env(),
            ..AptosConfig::new(url)
        })
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: Option<ApiKey>) -> Self {
        self.api_key = key;
        self
    }

    /// Sets the timeout, retries and pacing.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The rate limit in force: the one set, or the default for the endpoint.
    fn effective_rate_limit(&self) -> RateLimit {
        if let Some(limit) = &self.transport.rate_limit {
            return limit.clone();
        }
        let public = Network::ALL
            .into_iter()
            .filter_map(default_url)
            .any(|u| self.base_url.trim_end_matches('/') == u);
        if public && self.api_key.is_none() {
            RateLimit::per_second(ANONYMOUS_PUBLIC_RATE_LIMIT)
        } else {
            RateLimit::unlimited()
        }
    }
}

/// A balance read from an Aptos node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AptosBalance {
    /// The amount, in the asset's smallest unit (octas for APT).
    pub amount: u64,
    /// The ledger version the balance was read at.
    pub ledger_version: u64,
    /// The node's ledger state when it answered (its tip, its oldest kept version, ...).
    pub ledger: LedgerState,
}

/// A block: its height, timestamp and the ledger versions it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockInfo {
    /// Block height, from 0.
    pub height: u64,
    /// Block hash, hex.
    pub hash: String,
    /// When the block was made, microseconds since the Unix epoch.
    pub timestamp_usec: u64,
    /// First ledger version in the block.
    pub first_version: u64,
    /// Last ledger version in the block.
    pub last_version: u64,
    /// The node's ledger state when it answered.
    pub ledger: LedgerState,
}

/// A client for one Aptos node.
///
/// ```no_run
/// # async fn run() -> Result<(), tokbal::Error> {
/// use tokbal::aptos::{AptosBackend, AptosConfig};
/// use tokbal::query::AssetType;
/// let node = AptosBackend::new(AptosConfig::new("https://api.testnet.aptoslabs.com/v1"))?;
/// let owner = "0x1".parse()?;
/// let balance = node.balance(&owner, &AssetType::apt(), None).await?;
/// println!("{} octas at version {}", balance.amount, balance.ledger_version);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AptosBackend {
    client: generated::Client,
    retry: RetryPolicy,
    limit: RateLimit,
    blocks: std::sync::Arc<pin::BlockCache>,
}

impl AptosBackend {
    /// A client for the node `config` describes. Fails only on a malformed URL or key.
    pub fn new(config: AptosConfig) -> Result<Self, Error> {
        let http = Self::http_client(&config)?;
        Self::with_http(config, http)
    }

    /// The HTTP client `config` asks for (its timeouts, its key); nodes configured alike share
    /// one, with its connections.
    pub(crate) fn http_client(config: &AptosConfig) -> Result<reqwest::Client, Error> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &config.api_key {
            headers.insert(AUTHORIZATION, key.header_value()?);
        }
        config
            .transport
            .http_client(headers)
            .map_err(|e| e.with_backend(Backend::Aptos))
    }

    /// A client for the node `config` describes, sending through `http` (made by
    /// [`http_client`](Self::http_client) for a config with the same key and transport).
    pub(crate) fn with_http(config: AptosConfig, http: reqwest::Client) -> Result<Self, Error> {
        let base = crate::endpoint::check(
            "aptos_url",
            &config.base_url,
            config.transport.allow_insecure_http,
        )?;
        Ok(AptosBackend {
            client: generated::Client::new_with_client(&base, http),
            retry: config.transport.retry.clone(),
            limit: config.effective_rate_limit(),
            blocks: Default::default(),
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.client.baseurl()
    }

    /// The generated client, for calls this wrapper does not cover.
    pub fn raw(&self) -> &generated::Client {
        &self.client
    }

    /// The balance of `asset` held by `owner`, at `version` or at the node's latest version.
    ///
    /// An account that never held the asset reads as 0, as the node answers. Retryable
    /// failures (throttling, 5xx, a replica behind the asked version, ...) are retried under
    /// the configured policy.
    pub async fn balance(
        &self,
        owner: &AccountAddress,
        asset: &AssetType,
        version: Option<u64>,
    ) -> Result<AptosBalance, Error> {
        self.retry
            .run(&self.limit, || self.balance_once(owner, asset, version))
            .await
    }

    async fn balance_once(
        &self,
        owner: &AccountAddress,
        asset: &AssetType,
        version: Option<u64>,
    ) -> Result<AptosBalance, Error> {
        let address = types::Address(owner.to_string());
        let asset_type = types::AssetType(asset.to_string());
        let at = version.map(U64);
        let what = || match version {
            Some(v) => format!("balance of {asset} for {owner} at ledger version {v}"),
            None => format!("balance of {asset} for {owner}"),
        };
        let response = match self
            .client
            .get_account_balance(&address, &asset_type, at.as_ref())
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(map_error(e, &what()).await),
        };
        let ledger = LedgerState::from_headers(response.headers())?;
        Ok(AptosBalance {
            amount: response.into_inner().0,
            ledger_version: version.unwrap_or(ledger.ledger_version),
            ledger,
        })
    }

    /// The node's current ledger state (`GET /`).
    pub async fn ledger_info(&self) -> Result<LedgerState, Error> {
        self.retry
            .run(&self.limit, || self.ledger_info_once())
            .await
    }

    async fn ledger_info_once(&self) -> Result<LedgerState, Error> {
        let info = match self.client.get_ledger_info().await {
            Ok(r) => r.into_inner(),
            Err(e) => return Err(map_error(e, "ledger info").await),
        };
        Ok(LedgerState {
            chain_id: info.chain_id,
            ledger_version: info.ledger_version.0,
            oldest_ledger_version: info.oldest_ledger_version.0,
            ledger_timestamp_usec: info.ledger_timestamp.0,
            epoch: info.epoch.0,
            block_height: info.block_height.0,
            oldest_block_height: info.oldest_block_height.0,
        })
    }

    /// The block at `height`.
    pub async fn block_by_height(&self, height: u64) -> Result<BlockInfo, Error> {
        self.retry
            .run(&self.limit, || self.block_by_height_once(height))
            .await
    }

    async fn block_by_height_once(&self, height: u64) -> Result<BlockInfo, Error> {
        match self.client.get_block_by_height(height, Some(false)).await {
            Ok(r) => block_info(r),
            Err(e) => Err(map_error(e, &format!("block at height {height}")).await),
        }
    }

    /// The block that holds ledger `version`.
    pub async fn block_by_version(&self, version: u64) -> Result<BlockInfo, Error> {
        self.retry
            .run(&self.limit, || self.block_by_version_once(version))
            .await
    }

    async fn block_by_version_once(&self, version: u64) -> Result<BlockInfo, Error> {
        match self.client.get_block_by_version(version, Some(false)).await {
            Ok(r) => block_info(r),
            Err(e) => Err(map_error(e, &format!("block holding ledger version {version}")).await),
        }
    }

    /// Probes the node once (no retries: a probe reports what it sees); with
    /// `max_lag_secs`, fails unless its ledger is at most that many seconds behind the wall
    /// clock. Returns the node's ledger state.
    pub async fn healthy(&self, max_lag_secs: Option<u32>) -> Result<LedgerState, Error> {
        self.limit.wait().await;
        match self.client.healthy(max_lag_secs).await {
            Ok(r) => LedgerState::from_headers(r.headers()),
            Err(e) => Err(map_error(e, "health probe").await),
        }
    }
}

fn block_info(r: progenitor_client::ResponseValue<types::Block>) -> Result<BlockInfo, Error> {
    let ledger = LedgerState::from_headers(r.headers())?;
    let b = r.into_inner();
    Ok(BlockInfo {
        height: b.block_height.0,
        hash: b.block_hash.0,
        timestamp_usec: b.block_timestamp.0,
        first_version: b.first_version.0,
        last_version: b.last_version.0,
        ledger,
    })
}

impl std::fmt::Debug for AptosConfig {
    /// The base URL shows its scheme and host only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AptosConfig")
            .field("base_url", &crate::endpoint::shown(&self.base_url))
            .field("api_key", &self.api_key)
            .field("transport", &self.transport)
            .finish()
    }
}

impl std::fmt::Debug for AptosBackend {
    /// The node's URL shows its scheme and host only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AptosBackend")
            .field("base_url", &crate::endpoint::shown(self.client.baseurl()))
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}
