//! The Aptos source as the engine sees it: one read per request, one ledger version per
//! network, fixed by the first answer under `At::Latest`.

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use super::AptosBackend;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::pin::At;
use crate::query::{Backend, Network, Owner, Query, Token};
use crate::source::{Pin, Read, Source};

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
}

impl Client {
    /// The Aptos back end serving `network`, if it is an Aptos network.
    pub fn aptos(&self, network: Network) -> Option<&AptosBackend> {
        self.sources.find::<AptosSource>()?.nodes.get(&network)
    }
}
