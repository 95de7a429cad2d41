//! [`RpcUrl`]: a JSON-RPC endpoint, treated as a secret (providers put API keys in its path
//! or query).

use std::fmt;

/// A JSON-RPC endpoint URL. Many providers carry the API key in the path or the query, so
/// the whole URL is a secret: `Debug` and `Display` show the scheme and host only, and no
/// error or log line carries more.
///
/// ```
/// use tokbal::evm::RpcUrl;
/// let url = RpcUrl::new("https://eth-mainnet.example.com/v2/sk_live_123");
/// assert_eq!(url.to_string(), "https://eth-mainnet.example.com/…");
/// assert!(!format!("{url:?}").contains("sk_live"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RpcUrl(String);

impl RpcUrl {
    /// Wraps a URL (checked when a client is built from it).
    pub fn new(url: impl Into<String>) -> Self {
        RpcUrl(url.into())
    }

    /// The whole URL, for sending requests only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reqwest::Url::parse(&self.0) {
            Ok(u) => match (u.host_str(), u.port()) {
                (Some(host), Some(port)) => write!(f, "{}://{host}:{port}/…", u.scheme()),
                (Some(host), None) => write!(f, "{}://{host}/…", u.scheme()),
                _ => f.write_str("(an endpoint URL)"),
            },
            Err(_) => f.write_str("(a malformed endpoint URL)"),
        }
    }
}

impl fmt::Debug for RpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcUrl({self})")
    }
}
