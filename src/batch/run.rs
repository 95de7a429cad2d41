//! Running one unit: resolving (or waiting for) its scope's pin, then reading.

use super::gate::Gate;
use super::pins::Pins;
use super::units::{PinKey, Unit};
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::query::{Network, Query};
use crate::source::{Answers, Pin, Source};

/// What one unit answered: each query's result with its tag; when the batch reads
/// metadata, each query's token whose metadata it takes (`keys`, beside `balances`; empty
/// otherwise, so that a plain batch carries nothing more per result) and the metadata the
/// unit read.
pub(crate) struct Answered<T> {
    pub balances: Vec<(T, Result<Balance, Error>)>,
    pub keys: Vec<Option<Asset>>,
    pub metadata: Vec<(Asset, Result<TokenMetadata, Error>)>,
}

impl Client {
    pub(crate) async fn run_unit<T>(&self, pins: &Pins, gate: &Gate, unit: Unit<T>) -> Answered<T> {
        match unit {
            Unit::Failed { tag, error } => Answered {
                balances: vec![(tag, Err(error))],
                keys: Vec::new(),
                metadata: Vec::new(),
            },
            Unit::Group {
                key,
                network,
                tags,
                queries,
                assets,
                pinner,
            } => {
                let (results, mut metadata) = match self.sources.get(key.0) {
                    Some(source) => {
                        let group = Group {
                            key,
                            network,
                            queries: &queries,
                            assets: &assets,
                            pinner,
                        };
                        read_group(source, pins, gate, group).await
                    }
                    None => {
                        let e = internal("a unit without its source");
                        (
                            vec![Err(e.clone()); queries.len()],
                            vec![Err(e); assets.len()],
                        )
                    }
                };
                metadata.resize_with(assets.len(), || {
                    Err(internal("a source gave fewer metadata than tokens"))
                });
                let keys = if self.metadata {
                    queries
                        .iter()
                        .map(|q| Some(Asset::of_query(q).metadata_key()))
                        .collect()
                } else {
                    Vec::new()
                };
                Answered {
                    balances: tags.into_iter().zip(results).collect(),
                    keys,
                    metadata: assets.into_iter().zip(metadata).collect(),
                }
            }
        }
    }
}

/// One unit's work, as [`read_group`] takes it.
struct Group<'u> {
    key: PinKey,
    network: Network,
    queries: &'u [Query],
    assets: &'u [Asset],
    pinner: bool,
}

/// Reads one group at its scope's pin, fixing the pin first if no unit has yet, its requests
/// let through by `gate`. Exactly one result per query, in order, and one per asset.
async fn read_group(source: &dyn Source, pins: &Pins, gate: &Gate, group: Group<'_>) -> Answers {
    let Group {
        key,
        network,
        queries,
        assets,
        pinner,
    } = group;
    let cell = pins.cell(key);
    // Once per network of the group (a group is one network, or a few for AMB).
    let record = |pin: &Pin| {
        let mut recorded: Vec<Network> = Vec::with_capacity(1);
        for query in queries {
            if !recorded.contains(&query.network()) {
                recorded.push(query.network());
                pins.record(query.network(), pin);
            }
        }
    };
    let mut results = if pinner && source.pins_by_reading(network, &pins.at) {
        // The first group of the scope reads the latest state; the moment its answer was
        // read at pins every other read, at no extra request.
        let _permit = gate.enter().await;
        let mut own = None;
        let pin = cell
            .get_or_init(|| async {
                let read = source.read(queries, None).await;
                own = Some(read.results);
                match read.pin {
                    Some(pin) => Ok(pin),
                    None => source.pin(network, &pins.at).await,
                }
            })
            .await;
        if let Ok(pin) = pin {
            record(pin);
        }
        let results = match (own, pin) {
            (Some(results), _) => results,
            (None, Ok(pin)) => source.read(queries, Some(pin)).await.results,
            (None, Err(e)) => vec![Err(e.clone()); queries.len()],
        };
        let metadata = match (assets.is_empty(), pin) {
            (true, _) => Vec::new(),
            (false, Ok(pin)) => source.read_metadata(assets, pin).await,
            (false, Err(e)) => vec![Err(e.clone()); assets.len()],
        };
        (results, metadata)
    } else {
        // The source may start on the group while the pin is being resolved.
        let pin = Box::pin(async {
            let pin = cell.get_or_init(|| source.pin(network, &pins.at)).await;
            if let Ok(pin) = pin {
                record(pin);
            }
            pin.clone()
        });
        source
            .read_with_metadata(queries, assets, pin, &pins.at, gate)
            .await
    };
    results.0.resize_with(queries.len(), || {
        Err(internal("a source gave fewer results than queries").with_backend(source.backend()))
    });
    results
}

fn internal(what: &str) -> Error {
    Error::new(ErrorKind::Unavailable, format!("internal: {what}"))
}
