//! The Aptos source as the engine sees it: one read per request, one ledger version per
//! network, fixed by the first answer under `At::Latest`; a token's metadata one resource
//! read per token (none for APT), at the network's version.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::StreamExt;

use super::metadata::is_apt;
use super::AptosBackend;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::At;
use crate::query::{Backend, Network, Owner, Query, Token};
use crate::source::{Pin, Read, Source};

/// Most metadata reads one [`Source::read_metadata`] call has in flight at once.
const METADATA_IN_FLIGHT: usize = 8;

/// One Aptos node per Aptos network.
pub(crate) struct AptosSource {
    nodes: BTreeMap<Network, AptosBackend>,
}

impl AptosSource {
    pub(crate) fn new(nodes: BTreeMap<Network, AptosBackend>) -> Self {
        AptosSource { nodes }
    }

    /// The Aptos networks this source serves.
    pub(crate) fn networks(&self) -> Vec<Network> {
        self.nodes.keys().copied().collect()
    }

    fn node(&self, network: Network) -> Result<&AptosBackend, Error> {
        self.nodes.get(&network).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!("{network}: no Aptos node is configured for this network"),
            )
            .with_backend(Backend::Aptos)
        })
    }

    async fn read_one(&self, query: &Query, version: Option<u64>) -> Result<Balance, Error> {
        let node = self.node(query.network())?;
        match (query.owner(), query.token()) {
            (Owner::Aptos(owner), Token::Aptos(asset)) => node
                .balance(owner, asset, version)
                .await
                .map(|b| Balance::aptos(b.amount, b.ledger_version)),
            _ => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{query} is not an Aptos query"),
            )),
        }
    }

    /// Reads the metadata of `assets` at `version`, at most [`METADATA_IN_FLIGHT`] at a
    /// time, each result in the place of its asset.
    async fn metadata_at(
        &self,
        assets: &[Asset],
        version: u64,
    ) -> Vec<Result<TokenMetadata, Error>> {
        // Collected first: a lazy iterator's closure held across an await would make the
        // future's Send bound too specific for the compiler to prove.
        let reads: Vec<_> = assets
            .iter()
            .map(|asset| self.metadata_one(asset, version))
            .collect();
        futures::stream::iter(reads)
            .buffered(METADATA_IN_FLIGHT)
            .collect()
            .await
    }

    async fn metadata_one(&self, asset: &Asset, version: u64) -> Result<TokenMetadata, Error> {
        let network = asset.network();
        match asset.token() {
            Token::Native => Ok(network.native_metadata()),
            Token::Aptos(asset_type) => {
                self.node(network)?
                    .token_metadata(asset_type, version)
                    .await
            }
            _ => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{asset} is not an Aptos token"),
            )
            .with_backend(Backend::Aptos)),
        }
    }
}

impl Source for AptosSource {
    fn backend(&self) -> Backend {
        Backend::Aptos
    }

    fn max_group(&self) -> usize {
        1
    }

    fn pins_by_reading(&self, network: Network, at: &At) -> bool {
        match at {
            At::Latest | At::Finalized => true,
            At::Blocks(chosen) => !chosen.contains_key(&network),
            At::Snapshot(given) => given.aptos_version(network).is_none(),
            At::AptosVersion(_) | At::Time(_) => false,
        }
    }

    fn pin<'a>(&'a self, network: Network, at: &'a At) -> BoxFuture<'a, Result<Pin, Error>> {
        Box::pin(async move {
            let node = self.node(network)?;
            let chosen = match at {
                At::AptosVersion(version) => Some(*version),
                At::Blocks(chosen) => chosen.get(&network).copied(),
                At::Snapshot(given) => given.aptos_version(network),
                _ => None,
            };
            if let Some(version) = chosen {
                return Ok(Pin::Version {
                    version,
                    at_tip: false,
                });
            }
            match *at {
                At::Time(t) => node.version_at_time(t).await.map(|p| Pin::Version {
                    version: p.version,
                    at_tip: p.at_tip,
                }),
                // Aptos commits are final: its finalized state is its latest.
                _ => node.ledger_info().await.map(|l| Pin::Version {
                    version: l.ledger_version,
                    at_tip: false,
                }),
            }
        })
    }

    fn read<'a>(&'a self, queries: &'a [Query], pin: Option<&'a Pin>) -> BoxFuture<'a, Read> {
        Box::pin(async move {
            let version = match pin {
                None => None,
                Some(Pin::Version { version, .. }) => Some(*version),
                Some(other) => {
                    let e = Error::new(
                        ErrorKind::Unsupported,
                        format!("an Aptos node cannot read at {other:?}"),
                    )
                    .with_backend(Backend::Aptos);
                    return Read {
                        results: vec![Err(e); queries.len()],
                        pin: None,
                    };
                }
            };
            let mut results = Vec::with_capacity(queries.len());
            for query in queries {
                results.push(self.read_one(query, version).await);
            }
            // Read without a pin: the version the first answer carries pins the network.
            let pin = match version {
                Some(_) => None,
                None => results.iter().find_map(|r| {
                    let version = r.as_ref().ok()?.ledger_version?;
                    Some(Pin::Version {
                        version,
                        at_tip: false,
                    })
                }),
            };
            Read { results, pin }
        })
    }

    fn metadata_cost(&self, asset: &Asset) -> usize {
        match asset.token() {
            Token::Native => 0,
            Token::Aptos(asset_type) if is_apt(asset_type) => 0,
            _ => 1,
        }
    }

    fn read_metadata<'a>(
        &'a self,
        assets: &'a [Asset],
        pin: &'a Pin,
    ) -> BoxFuture<'a, Vec<Result<TokenMetadata, Error>>> {
        Box::pin(async move {
            match pin {
                Pin::Version { version, .. } => self.metadata_at(assets, *version).await,
                other => {
                    let e = Error::new(
                        ErrorKind::Unsupported,
                        format!("an Aptos node cannot read at {other:?}"),
                    )
                    .with_backend(Backend::Aptos);
                    vec![Err(e); assets.len()]
                }
            }
        })
    }
}

impl Client {
    /// The Aptos back end serving `network`, if it is an Aptos network.
    pub fn aptos(&self, network: Network) -> Option<&AptosBackend> {
        self.sources.find::<AptosSource>()?.nodes.get(&network)
    }
}
