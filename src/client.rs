//! [`Client`]: the entry point, configured through [`ClientBuilder`].

use std::collections::BTreeMap;
use std::time::Duration;

#[cfg(feature = "amb")]
use std::sync::Arc;

#[cfg(feature = "amb")]
use crate::amb::{AmbBackend, AmbConfig, AmbCredentials};
#[cfg(feature = "aptos")]
use crate::aptos::{ApiKey, AptosBackend, AptosConfig};
use crate::batch::Sources;
use crate::error::Error;
#[allow(unused_imports)] // Chain: by the sources compiled in
use crate::query::{Chain, Network};
#[cfg(any(
    feature = "aptos",
    feature = "evm",
    feature = "bitcoin",
    feature = "amb"
))]
use crate::retry::RateLimit;
use crate::retry::RetryPolicy;
use crate::transport::Transport;

/// Default number of requests a batch keeps in flight.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Reads balances across networks. Cheap to clone; clones share connections.
///
/// ```no_run
/// # async fn run() -> Result<(), tokbal::Error> {
/// let client = tokbal::Client::builder().build()?;
/// let out = client
///     .balances(&["aptos:0x1".parse()?], tokbal::At::Latest)
///     .await;
/// println!("{:?}", out.results[0]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) sources: Sources,
    pub(crate) concurrency: usize,
    /// Whether reads carry each token's metadata ([`with_metadata`](Self::with_metadata)).
    pub(crate) metadata: bool,
}

impl Client {
    /// A builder with the public endpoints and the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// This client, reading each token's symbol, name and decimals with its balances: every
    /// entry point that reads balances ([`balances`](Self::balances), the streams,
    /// [`balance`](Self::balance)) then fills [`Balance::token`](crate::Balance::token), read
    /// once per distinct token and network at the same pin as the balances. On EVM chains
    /// the calls go in the same Multicall3 requests as the balances; a metadata call that
    /// fails never costs a balance. The clone shares this client's connections.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
    /// let usdc = "ethereum:0x0000000000000000000000000000000000000001/erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48";
    /// let balance = client.with_metadata().balance(&usdc.parse()?, tokbal::At::Latest).await?;
    /// let symbol = balance.token.as_ref().and_then(|t| t.symbol.clone());
    /// println!("{} {}", balance.formatted().unwrap_or_default(), symbol.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub fn with_metadata(&self) -> Client {
        Client {
            metadata: true,
            ..self.clone()
        }
    }

    /// Whether this client reads metadata with balances.
    pub fn reads_metadata(&self) -> bool {
        self.metadata
    }
}

/// Configures a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    /// Endpoints given per network (any source).
    endpoints: BTreeMap<Network, String>,
    #[cfg(feature = "evm")]
    evm_calls_per_request: usize,
    #[cfg(feature = "evm")]
    evm_batch_size: usize,
    #[cfg(feature = "evm")]
    evm_rate_limit: Option<RateLimit>,
    #[cfg(feature = "bitcoin")]
    bitcoin_rate_limit: Option<RateLimit>,
    #[cfg(feature = "amb")]
    use_amb: bool,
    #[cfg(feature = "aptos")]
    aptos_urls: BTreeMap<Network, String>,
    #[cfg(feature = "aptos")]
    aptos_api_key: Option<ApiKey>,
    #[cfg(feature = "aptos")]
    aptos_rate_limit: Option<RateLimit>,
    #[cfg(feature = "amb")]
    amb_url: Option<String>,
    #[cfg(feature = "amb")]
    amb_credentials: Option<AmbCredentials>,
    #[cfg(feature = "amb")]
    amb_rate_limit: Option<RateLimit>,
    concurrency: usize,
    transport: Transport,
}

impl std::fmt::Debug for ClientBuilder {
    /// Endpoints show their scheme and host only: keys live in paths and queries.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoints: BTreeMap<String, String> = self
            .endpoints
            .iter()
            .map(|(n, url)| (n.to_string(), crate::endpoint::shown(url)))
            .collect();
        f.debug_struct("ClientBuilder")
            .field("endpoints", &endpoints)
            .field("concurrency", &self.concurrency)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoints: BTreeMap::new(),
            #[cfg(feature = "evm")]
            evm_calls_per_request: crate::evm::DEFAULT_CALLS_PER_REQUEST,
            #[cfg(feature = "evm")]
            evm_batch_size: crate::evm::DEFAULT_BATCH_SIZE,
            #[cfg(feature = "evm")]
            evm_rate_limit: None,
            #[cfg(feature = "bitcoin")]
            bitcoin_rate_limit: None,
            #[cfg(feature = "amb")]
            use_amb: false,
            #[cfg(feature = "aptos")]
            aptos_urls: BTreeMap::new(),
            #[cfg(feature = "aptos")]
            aptos_api_key: ApiKey::from_env(),
            #[cfg(feature = "aptos")]
            aptos_rate_limit: None,
            #[cfg(feature = "amb")]
            amb_url: None,
            #[cfg(feature = "amb")]
            amb_credentials: None,
            #[cfg(feature = "amb")]
            amb_rate_limit: None,
            concurrency: DEFAULT_CONCURRENCY,
            transport: Transport::default(),
        }
    }
}

impl ClientBuilder {
    /// Sends `network`'s queries to `url`: for an EVM network, a JSON-RPC endpoint (the whole
    /// URL is treated as a secret: providers put keys in it); for an Aptos network, a node's
    /// base URL including `/v1`. A network given its own endpoint is never routed through
    /// AMB.
    pub fn endpoint(mut self, network: Network, url: impl Into<String>) -> Self {
        self.endpoints.insert(network, url.into());
        self
    }

    /// Calls per `eth_call` to Multicall3 on EVM networks (at least 1; default
    /// [`evm::DEFAULT_CALLS_PER_REQUEST`](crate::evm::DEFAULT_CALLS_PER_REQUEST)).
    #[cfg(feature = "evm")]
    pub fn evm_calls_per_request(mut self, k: usize) -> Self {
        self.evm_calls_per_request = k.max(1);
        self
    }

    /// Calls per JSON-RPC batch on EVM networks where Multicall3 is absent (at least 1;
    /// default [`evm::DEFAULT_BATCH_SIZE`](crate::evm::DEFAULT_BATCH_SIZE)).
    #[cfg(feature = "evm")]
    pub fn evm_batch_size(mut self, n: usize) -> Self {
        self.evm_batch_size = n.max(1);
        self
    }

    /// Requests per second to each EVM endpoint (by default a few per second to a chain's
    /// public endpoint, unlimited to one you give).
    #[cfg(feature = "evm")]
    pub fn evm_rate_limit(mut self, limit: RateLimit) -> Self {
        self.evm_rate_limit = Some(limit);
        self
    }

    /// Requests per second to each Esplora server (by default a few per second to the
    /// public instances, unlimited to one you give).
    #[cfg(feature = "bitcoin")]
    pub fn bitcoin_rate_limit(mut self, limit: RateLimit) -> Self {
        self.bitcoin_rate_limit = Some(limit);
        self
    }

    /// Routes `ethereum` and `ethereum-sepolia` through AMB at AWS with the standard
    /// credential chain (giving [`amb_url`](Self::amb_url) or
    /// [`amb_credentials`](Self::amb_credentials) does too). Networks given their own
    /// [`endpoint`](Self::endpoint) stay off AMB.
    #[cfg(feature = "amb")]
    pub fn amb(mut self, on: bool) -> Self {
        self.use_amb = on;
        self
    }

    /// Sends every Aptos network's queries to the node at `url` (including `/v1`): for a
    /// private node, a proxy, or the devnet.
    #[cfg(feature = "aptos")]
    pub fn aptos_url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        for n in Network::ALL
            .into_iter()
            .filter(|n| n.chain() == Chain::Aptos)
        {
            self.aptos_urls.insert(n, url.clone());
        }
        self
    }

    /// Sends one Aptos network's queries to the node at `url` (including `/v1`).
    #[cfg(feature = "aptos")]
    pub fn aptos_network_url(mut self, network: Network, url: impl Into<String>) -> Self {
        self.aptos_urls.insert(network, url.into());
        self
    }

    /// The Aptos API key; by default the one in `APTOS_API_KEY`, if set.
    #[cfg(feature = "aptos")]
    pub fn aptos_api_key(mut self, key: Option<ApiKey>) -> Self {
        self.aptos_api_key = key;
        self
    }

    /// Routes `ethereum`, `ethereum-sepolia`, `bitcoin` and `bitcoin-testnet` through this AMB
    /// Query endpoint instead of AWS's (a proxy, or the devnet), except networks given their
    /// own [`endpoint`](Self::endpoint).
    #[cfg(feature = "amb")]
    pub fn amb_url(mut self, url: impl Into<String>) -> Self {
        self.amb_url = Some(url.into());
        self
    }

    /// AWS credentials for AMB; by default the standard AWS credential chain (environment,
    /// profiles, SSO, instance roles) is used, on first use.
    #[cfg(feature = "amb")]
    pub fn amb_credentials(mut self, credentials: Option<AmbCredentials>) -> Self {
        self.amb_credentials = credentials;
        self
    }

    /// Time allowed for one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// How many requests a batch keeps in flight (at least 1). The requests that pin a
    /// network (its latest block, say) go beside them: an EVM batch sends its first reads,
    /// all but the block they name, while its pin is out.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The retry policy for both back ends.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.transport.retry = retry;
        self
    }

    /// Requests per second to each Aptos node (by default 10 for the public endpoints without
    /// an API key, unlimited otherwise).
    #[cfg(feature = "aptos")]
    pub fn aptos_rate_limit(mut self, limit: RateLimit) -> Self {
        self.aptos_rate_limit = Some(limit);
        self
    }

    /// Calls per second to AMB (by default 10 to AWS, unlimited to an endpoint override).
    #[cfg(feature = "amb")]
    pub fn amb_rate_limit(mut self, limit: RateLimit) -> Self {
        self.amb_rate_limit = Some(limit);
        self
    }

    /// Accepts plain `http://` endpoints on hosts other than loopback. Off by default: API
    /// keys and signed requests would cross the network in the clear.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.transport.allow_insecure_http = allow;
        self
    }

    /// Builds the client. Fails on a malformed URL or key, naming it.
    ///
    /// Each source compiled in registers here, with the networks it serves; a later
    /// registration takes a network over from an earlier one.
    pub fn build(self) -> Result<Client, Error> {
        #[allow(unused_mut)] // no source compiled in
        let mut sources = Sources::default();
        #[cfg(feature = "aptos")]
        let mut aptos = BTreeMap::new();
        #[cfg(feature = "aptos")]
        let mut aptos_http: Option<reqwest::Client> = None;
        // One HTTP client (one TLS setup, one connection pool) for every source that sends
        // no header of its own.
        #[cfg(any(feature = "evm", feature = "bitcoin"))]
        let shared_http = self
            .transport
            .http_client(reqwest::header::HeaderMap::new())?;
        #[cfg(feature = "aptos")]
        for network in Network::ALL
            .into_iter()
            .filter(|n| n.chain() == Chain::Aptos)
        {
            let url = self
                .endpoints
                .get(&network)
                .or(self.aptos_urls.get(&network));
            let config = match url {
                Some(url) => AptosConfig::new(url.clone()),
                None => AptosConfig::for_network(network)?,
            }
            .with_api_key(self.aptos_api_key.clone())
            .with_transport(
                self.transport
                    .clone()
                    .with_rate_limit(self.aptos_rate_limit.clone()),
            );
            // Every Aptos node shares one HTTP client (same key, same transport).
            let http = match &aptos_http {
                Some(http) => http,
                None => aptos_http.insert(AptosBackend::http_client(&config)?),
            };
            aptos.insert(network, AptosBackend::with_http(config, http.clone())?);
        }
        #[cfg(feature = "aptos")]
        {
            let source = crate::aptos::AptosSource::new(aptos);
            let networks = source.networks();
            sources.add(std::sync::Arc::new(source), networks);
        }
        #[cfg(feature = "amb")]
        let amb = AmbBackend::new(
            AmbConfig::default()
                .with_endpoint_url(self.amb_url.clone())
                .with_credentials(self.amb_credentials.clone())
                .with_transport(
                    self.transport
                        .clone()
                        .with_rate_limit(self.amb_rate_limit.clone()),
                ),
        )?;
        #[cfg(feature = "evm")]
        {
            use crate::evm::{EvmBackend, EvmConfig, EvmSource};
            let transport = self
                .transport
                .clone()
                .with_rate_limit(self.evm_rate_limit.clone());
            let named = crate::query::EVM_CHAINS.iter().map(|c| c.network);
            let given = self
                .endpoints
                .keys()
                .copied()
                .filter(|n| n.chain() == Chain::Ethereum);
            let mut nodes = BTreeMap::new();
            for network in named.chain(given) {
                let config = match self.endpoints.get(&network) {
                    Some(url) => EvmConfig::new(url.clone()),
                    None => match EvmConfig::for_network(network) {
                        Some(config) => config,
                        None => continue,
                    },
                };
                let config = config
                    .with_transport(transport.clone())
                    .with_calls_per_request(self.evm_calls_per_request)
                    .with_batch_size(self.evm_batch_size);
                nodes.insert(
                    network,
                    EvmBackend::with_http(network, config, Some(shared_http.clone()))?,
                );
            }
            let source = EvmSource::new(nodes, self.evm_calls_per_request);
            let networks = source.networks();
            sources.add(std::sync::Arc::new(source), networks);
        }
        #[cfg(feature = "bitcoin")]
        {
            use crate::bitcoin::{EsploraClient, EsploraSource};
            let transport = self
                .transport
                .clone()
                .with_rate_limit(self.bitcoin_rate_limit.clone());
            let mut nodes = BTreeMap::new();
            for network in Network::ALL
                .into_iter()
                .filter(|n| n.chain() == Chain::Bitcoin)
            {
                let (url, public) = match self.endpoints.get(&network) {
                    Some(url) => (url.clone(), false),
                    None => match crate::bitcoin::default_url(network) {
                        Some(url) => (url.to_string(), true),
                        None => continue,
                    },
                };
                let limit = match (&transport.rate_limit, public) {
                    (Some(limit), _) => limit.clone(),
                    (None, true) => RateLimit::per_second(crate::bitcoin::PUBLIC_RATE_LIMIT),
                    (None, false) => RateLimit::unlimited(),
                };
                nodes.insert(
                    network,
                    EsploraClient::with_http(&url, &transport, limit, shared_http.clone())?,
                );
            }
            let source = EsploraSource::new(nodes);
            let networks = source.networks();
            sources.add(std::sync::Arc::new(source), networks);
        }
        // AMB, when it is configured, serves its networks, except those given their own
        // endpoint.
        #[cfg(feature = "amb")]
        {
            let via_amb = self.use_amb || self.amb_url.is_some() || self.amb_credentials.is_some();
            let networks = crate::amb::HANDLED_NETWORKS
                .map(|(n, _)| n)
                .into_iter()
                .filter(|n| via_amb && !self.endpoints.contains_key(n))
                .collect::<Vec<_>>();
            sources.add(Arc::new(amb), networks);
        }
        Ok(Client {
            sources,
            concurrency: self.concurrency,
            metadata: false,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_shows_no_endpoint_path_or_query() {
        let builder = super::Client::builder().endpoint(
            crate::Network::Base,
            "https://base.example.com/v2/SECRETKEY?key=SECRET2",
        );
        let shown = format!("{builder:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("https://base.example.com/"), "{shown}");
    }
}
