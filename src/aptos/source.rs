//! The Aptos source as the engine sees it: one read per request, one ledger version per
//! network, fixed by the first answer under `At::Latest`; a token's metadata one resource
//! read per token (none for APT), at the network's version.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use futures::StreamExt;

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
    /// APT, and every coin whose `0x1::coin::CoinStore<T>` is among the account's resources
    /// at the pinned version (every page). A full node cannot list the fungible assets an
    /// account holds in primary stores: the list is not whole, and says so.
    fn discover_holdings<'a>(
        &'a self,
        owner: &'a Query,
        pin: &'a Pin,
        _scan: crate::holdings::Scan,
    ) -> BoxFuture<'a, Result<crate::holdings::Found, Error>> {
        Box::pin(async move {
            let node = self.node(owner.network())?;
            let (Pin::Version { version, .. }, crate::query::Owner::Aptos(account)) =
                (pin, owner.owner())
            else {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{owner}: not an Aptos account read at a ledger version"),
                )
                .with_backend(Backend::Aptos));
            };
            let mut tokens = vec![crate::query::Token::Aptos(crate::query::AssetType::apt())];
            for ty in node.resource_types(account, *version).await? {
                if let Some(coin) = coin_store_type(&ty) {
                    tokens.push(crate::query::Token::Aptos(coin));
                }
            }
            Ok(crate::holdings::Found {
                tokens,
                sources: vec!["native", "resources"],
                complete: false,
                reason: Some(
                    "an Aptos full node cannot list the fungible assets an account holds in primary stores: only those given (--tokens) were checked"
                        .to_string(),
                ),
                ..Default::default()
            })
        })
    }

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
            Token::Aptos(asset_type) if asset_type.is_apt() => 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aptos::AptosConfig;
    use crate::retry::RetryPolicy;
    use crate::transport::Transport;
    use tokbal_devnet::Devnet;

    const USDC: &str = "0xabc::usdc::USDC";

    fn source(devnet: &Devnet) -> AptosSource {
        let config = AptosConfig::new(devnet.aptos_url())
            .with_transport(Transport::default().with_retry(RetryPolicy::none()));
        let node = AptosBackend::new(config).unwrap();
        AptosSource::new(BTreeMap::from([(Network::AptosMainnet, node)]))
    }

    fn assets(list: &[&str]) -> Vec<Asset> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[tokio::test]
    async fn metadata_is_read_at_the_pin_one_result_per_asset_in_order() {
        let net = Devnet::builder()
            .initial_blocks(100)
            .versions_per_block(3)
            .start()
            .await
            .unwrap();
        let n = net.aptos();
        n.set_coin_info_at(USDC, 100, "USD Coin", "USDC", 6)
            .unwrap();
        n.set_coin_info_at(USDC, 200, "USD Coin v2", "USDC2", 6)
            .unwrap();
        n.set_fungible_asset_metadata_at("0xfa", 10, "Token", "TKN", 9)
            .unwrap();
        let source = source(&net);
        let list = assets(&[
            "aptos:0xabc::usdc::USDC",
            "aptos",
            "aptos:0x1::aptos_coin::AptosCoin",
            "aptos:0xa",
            "aptos:0xfa",
            "aptos:0xbeef",
            "aptos-testnet:0xfa",
        ]);
        let costs: Vec<usize> = list.iter().map(|a| source.metadata_cost(a)).collect();
        assert_eq!(costs, [1, 0, 0, 0, 1, 1, 1]);

        let apt = Network::AptosMainnet.native_metadata();
        for (version, usdc) in [(150, "USDC"), (250, "USDC2")] {
            n.reset_requests();
            let pin = Pin::Version {
                version,
                at_tip: false,
            };
            let out = source.read_metadata(&list, &pin).await;
            assert_eq!(out.len(), list.len());
            let ok = |i: usize| out[i].as_ref().unwrap().clone();
            assert_eq!(ok(0).symbol.as_deref(), Some(usdc), "at {version}");
            assert_eq!(
                (ok(1), ok(2), ok(3)),
                (apt.clone(), apt.clone(), apt.clone())
            );
            assert_eq!(
                ok(4),
                TokenMetadata::new(Some("TKN"), Some("Token"), Some(9))
            );
            assert!(ok(5).is_empty());
            let e = out[6].as_ref().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            // One request for each asset of the configured network that is not APT.
            assert_eq!(n.requests().resource, 3);
            for path in n.seen_paths() {
                assert!(
                    path.ends_with(&format!("?ledger_version={version}")),
                    "{path}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_pin_that_is_not_a_version_fails_every_asset() {
        let net = Devnet::builder().initial_blocks(10).start().await.unwrap();
        let source = source(&net);
        let list = assets(&["aptos:0xfa", "aptos:0xfb"]);
        let pin = Pin::Instant(std::time::SystemTime::UNIX_EPOCH);
        let out = source.read_metadata(&list, &pin).await;
        assert_eq!(out.len(), 2);
        for r in out {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::Unsupported);
        }
        assert_eq!(net.aptos().requests().total, 0);
    }
}

/// `T` of a `0x1::coin::CoinStore<T>` resource type, if it is one (and `T` parses).
fn coin_store_type(ty: &str) -> Option<crate::query::AssetType> {
    let inner = ty
        .strip_prefix("0x1::coin::CoinStore<")
        .or_else(|| {
            ty.strip_prefix("0x0000000000000000000000000000000000000000000000000000000000000001::coin::CoinStore<")
        })?
        .strip_suffix('>')?;
    inner.parse().ok()
}

#[cfg(test)]
mod holdings_tests {
    use super::coin_store_type;

    #[test]
    fn coin_stores_name_their_coin() {
        let t = coin_store_type("0x1::coin::CoinStore<0x1::aptos_coin::AptosCoin>").unwrap();
        assert_eq!(t, crate::query::AssetType::apt());
        assert!(coin_store_type("0x1::coin::CoinStore<0xabc::usdc::USDC>").is_some());
        assert!(coin_store_type("0x1::account::Account").is_none());
        assert!(coin_store_type("0x1::coin::CoinStore<not a type>").is_none());
    }
}
