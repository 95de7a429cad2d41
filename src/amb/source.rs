//! The AMB source as the engine sees it: ten items per call, every AMB network read at one
//! instant, fixed by the first call's answer under `At::Latest`.

use std::time::SystemTime;

use futures::future::BoxFuture;

use super::{AmbBackend, MAX_ITEMS_PER_CALL};
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::At;
use crate::query::{Backend, Network, Query};
use crate::source::{Pin, Read, Scope, Source};
use crate::time::truncate_to_second;

impl Source for AmbBackend {
    fn backend(&self) -> Backend {
        Backend::Amb
    }

    /// AMB reads no token metadata (its `GetAssetContract` covers only some ERC-20
    /// contracts, and only now): a token's fields are null, at no request.
    fn metadata_cost(&self, _asset: &Asset) -> usize {
        0
    }

    fn read_metadata<'a>(
        &'a self,
        assets: &'a [Asset],
        _pin: &'a Pin,
    ) -> BoxFuture<'a, Vec<Result<TokenMetadata, Error>>> {
        Box::pin(async move { vec![Ok(TokenMetadata::default()); assets.len()] })
    }

    fn max_group(&self) -> usize {
        MAX_ITEMS_PER_CALL
    }

    fn scope(&self, _network: Network) -> Scope {
        Scope::Source
    }

    fn pins_by_reading(&self, network: Network, at: &At) -> bool {
        match at {
            At::Time(_) => false,
            At::Snapshot(given) => given.instant(network).is_none(),
            _ => true,
        }
    }

    fn pin<'a>(&'a self, network: Network, at: &'a At) -> BoxFuture<'a, Result<Pin, Error>> {
        Box::pin(async move {
            Ok(Pin::Instant(match *at {
                At::Time(t) => truncate_to_second(t),
                At::Snapshot(ref given) if given.instant(network).is_some() => {
                    given.instant(network).unwrap_or_else(SystemTime::now)
                }
                // AMB reads at instants, not blocks: every other pin is its latest.
                _ => truncate_to_second(SystemTime::now()),
            }))
        })
    }

    fn read<'a>(&'a self, queries: &'a [Query], pin: Option<&'a Pin>) -> BoxFuture<'a, Read> {
        Box::pin(async move {
            let instant = match pin {
                None => None,
                Some(Pin::Instant(t)) => Some(*t),
                Some(other) => {
                    let e = Error::new(
                        ErrorKind::Unsupported,
                        format!("AMB cannot read at {other:?}"),
                    )
                    .with_backend(Backend::Amb);
                    return Read {
                        results: vec![Err(e); queries.len()],
                        pin: None,
                    };
                }
            };
            // Items the service would refuse fail here, on their own; the rest go in one call.
            let mut results: Vec<Option<Result<_, Error>>> = Vec::with_capacity(queries.len());
            let mut prepared = Vec::with_capacity(queries.len());
            for (position, query) in queries.iter().enumerate() {
                match AmbBackend::prepare(query) {
                    Ok(item) => {
                        prepared.push((position, item));
                        results.push(None);
                    }
                    Err(e) => results.push(Some(Err(e))),
                }
            }
            let mut fixed = None;
            if !prepared.is_empty() {
                for (position, result) in self.call(&prepared, instant).await {
                    if instant.is_none() && fixed.is_none() {
                        fixed = result.as_ref().ok().and_then(|b| b.at).map(Pin::Instant);
                    }
                    if let Some(slot) = results.get_mut(position) {
                        *slot = Some(result);
                    }
                }
            }
            let results = results
                .into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| {
                        Err(
                            Error::new(ErrorKind::Decode, "internal: an AMB item was not answered")
                                .with_backend(Backend::Amb),
                        )
                    })
                })
                .collect();
            Read {
                results,
                pin: fixed,
            }
        })
    }
}

impl Client {
    /// The AMB back end, serving Bitcoin and Ethereum (`None` only for a client built
    /// without it).
    pub fn amb(&self) -> Option<&AmbBackend> {
        self.sources.find::<AmbBackend>()
    }
}
