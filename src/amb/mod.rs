//! The AMB back end: Bitcoin and Ethereum balances through AWS Managed Blockchain Query's
//! `BatchGetTokenBalance`, over the Smithy-generated `aws-sdk-managedblockchainquery`.
//!
//! This module adds what the SDK leaves to its caller: items in the service's terms, calls of
//! at most 10 items (the service's limit, which the SDK does not check; the batch engine makes
//! the chunks and runs them concurrently at one instant), answers matched back to their
//! queries, and every failure mapped to [`Error`]. The SDK's own retries are switched off, so that tokbal's one retry
//! policy (which honours `Retry-After`) is the only one.

mod errors;
mod items;
mod limit;
mod source;

use std::fmt;
use std::time::SystemTime;

use aws_config::BehaviorVersion;
use aws_sdk_managedblockchainquery::config::Region;
use aws_sdk_managedblockchainquery::Client as SdkClient;
use aws_smithy_http_client::tls;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::OnceCell;

pub use self::errors::{kind_for_item_error, kind_for_service_error};
use self::items::ItemKey;
pub(crate) use self::items::PreparedItem;
pub use self::items::{network_value, HANDLED_NETWORKS};
pub use self::limit::MAX_BODY;
use crate::balance::Balance;
use crate::error::{Error, ErrorKind};
use crate::query::{Backend, Query};
use crate::retry::RateLimit;
use crate::transport::Transport;

/// The most items one `BatchGetTokenBalance` call takes (the model's `@length(max: 10)`).
pub const MAX_ITEMS_PER_CALL: usize = 10;
/// The region AMB Query is offered in.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Default calls per second to AWS (the endpoint override has no default limit).
pub const DEFAULT_RATE_LIMIT: u32 = 10;

/// Explicit AWS credentials, for tests and for callers that manage keys themselves. Without
/// them, the standard chain is used (environment, shared profiles, SSO, web identity, ECS
/// and EC2 instance roles).
///
/// `Debug` hides the secret and the session token.
#[derive(Clone)]
pub struct AmbCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl AmbCredentials {
    /// Credentials from an access key pair and an optional session token.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        AmbCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }
}

impl fmt::Debug for AmbCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmbCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// How to reach AMB Query.
#[derive(Clone)]
#[non_exhaustive]
pub struct AmbConfig {
    /// Endpoint override (a proxy, or the devnet); `None` uses the AWS endpoint for the region.
    pub endpoint_url: Option<String>,
    /// AWS region; AMB Query is offered in us-east-1.
    pub region: String,
    /// Credentials; `None` uses the standard AWS credential chain.
    pub credentials: Option<AmbCredentials>,
    /// Timeout, retries (of whole-call failures; a per-item error is an answer), pacing
    /// (without a rate limit set: [`DEFAULT_RATE_LIMIT`] for AWS, none for an override).
    pub transport: Transport,
}

impl Default for AmbConfig {
    fn default() -> Self {
        AmbConfig {
            endpoint_url: None,
            region: DEFAULT_REGION.to_string(),
            credentials: None,
            transport: Transport::default(),
        }
    }
}

impl AmbConfig {
    /// Sets the endpoint override.
    pub fn with_endpoint_url(mut self, url: Option<String>) -> Self {
        self.endpoint_url = url;
        self
    }

    /// Sets explicit credentials.
    pub fn with_credentials(mut self, credentials: Option<AmbCredentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the timeout, retries and pacing.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }
}

/// A client for AMB Query. The AWS configuration (credential chain, region) is loaded on
/// first use, so that building one costs nothing when no Bitcoin or Ethereum query comes.
#[derive(Clone, Debug)]
pub struct AmbBackend {
    config: AmbConfig,
    limit: RateLimit,
    client: std::sync::Arc<OnceCell<SdkClient>>,
}

impl AmbBackend {
    /// A client for the service `config` describes. Fails only on a malformed endpoint URL.
    pub fn new(config: AmbConfig) -> Result<Self, Error> {
        if let Some(url) = &config.endpoint_url {
            crate::endpoint::check("amb_url", url, config.transport.allow_insecure_http)?;
        }
        let limit = match (&config.transport.rate_limit, &config.endpoint_url) {
            (Some(limit), _) => limit.clone(),
            (None, Some(_)) => RateLimit::unlimited(),
            (None, None) => RateLimit::per_second(DEFAULT_RATE_LIMIT),
        };
        Ok(AmbBackend {
            config,
            limit,
            client: std::sync::Arc::new(OnceCell::new()),
        })
    }

    /// The SDK client, configured on first use.
    pub async fn sdk_client(&self) -> &SdkClient {
        self.client
            .get_or_init(|| async {
                crate::tls::ensure_crypto_provider();
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https();
                let timeouts = TimeoutConfig::builder()
                    .operation_attempt_timeout(self.config.transport.timeout)
                    .connect_timeout(self.config.transport.connect_timeout())
                    .build();
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::new(self.config.region.clone()))
                    .http_client(http)
                    .retry_config(RetryConfig::disabled())
                    .timeout_config(timeouts);
                if let Some(c) = &self.config.credentials {
                    loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                        c.access_key_id.clone(),
                        c.secret_access_key.clone(),
                        c.session_token.clone(),
                        None,
                        "tokbal",
                    ));
                }
                let shared = loader.load().await;
                let mut builder = aws_sdk_managedblockchainquery::config::Builder::from(&shared)
                    .interceptor(limit::BodyLimit);
                if let Some(url) = &self.config.endpoint_url {
                    builder = builder.endpoint_url(url.trim_end_matches('/'));
                }
                SdkClient::from_conf(builder.build())
            })
            .await
    }

    /// A query in the service's terms, ready for [`call`](Self::call).
    pub(crate) fn prepare(query: &Query) -> Result<PreparedItem, Error> {
        PreparedItem::new(query)
    }

    /// One `BatchGetTokenBalance` call per 10 items (the engine sends exactly 10 or fewer);
    /// one result per item.
    pub(crate) async fn call(
        &self,
        chunk: &[(usize, PreparedItem)],
        at: Option<SystemTime>,
    ) -> Vec<(usize, Result<Balance, Error>)> {
        let inputs = match chunk
            .iter()
            .map(|(_, item)| item.to_input(at))
            .collect::<Result<Vec<_>, Error>>()
        {
            Ok(inputs) => inputs,
            Err(e) => return chunk.iter().map(|(i, _)| (*i, Err(e.clone()))).collect(),
        };
        let client = self.sdk_client().await;
        let sent = self
            .config
            .transport
            .retry
            .run(&self.limit, || async {
                client
                    .batch_get_token_balance()
                    .set_get_token_balance_inputs(Some(inputs.clone()))
                    .send()
                    .await
                    .map_err(errors::from_sdk_error)
            })
            .await;
        match sent {
            Ok(output) => {
                let mut answers = std::collections::HashMap::new();
                for item in output.token_balances() {
                    if let Some(key) = ItemKey::of_output(item) {
                        answers.insert(key, items::balance_from_output(item));
                    }
                }
                for item in output.errors() {
                    if let Some(key) = ItemKey::of_error(item) {
                        answers.insert(key, Err(errors::from_item_error(item)));
                    }
                }
                chunk
                    .iter()
                    .map(|(i, item)| {
                        let result = answers.get(&item.key).cloned().unwrap_or_else(|| {
                            Err(Error::new(
                                ErrorKind::Decode,
                                format!(
                                    "the service's answer does not mention {}",
                                    item.description()
                                ),
                            )
                            .with_backend(Backend::Amb))
                        });
                        (*i, result)
                    })
                    .collect()
            }
            Err(err) => {
                // A whole-call failure marks every item of this chunk, and only this chunk.
                chunk.iter().map(|(i, _)| (*i, Err(err.clone()))).collect()
            }
        }
    }
}

impl std::fmt::Debug for AmbConfig {
    /// An endpoint override shows its scheme and host only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmbConfig")
            .field(
                "endpoint_url",
                &self.endpoint_url.as_deref().map(crate::endpoint::shown),
            )
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("transport", &self.transport)
            .finish()
    }
}
