//! Running one unit: resolving (or waiting for) its scope's pin, then reading.

use super::gate::Gate;
use super::pins::Pins;
use super::units::{PinKey, Unit};
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::query::{Network, Query};
use crate::source::{Pin, Source};

type Answered<T> = Vec<(T, Result<Balance, Error>)>;

impl Client {
    pub(crate) async fn run_unit<T>(&self, pins: &Pins, gate: &Gate, unit: Unit<T>) -> Answered<T> {
        match unit {
            Unit::Failed { tag, error } => vec![(tag, Err(error))],
            Unit::Group {
                key,
                network,
                tags,
                queries,
                pinner,
            } => {
                let results = match self.sources.get(key.0) {
                    Some(source) => {
                        read_group(source, pins, gate, key, network, &queries, pinner).await
                    }
                    None => vec![Err(internal("a unit without its source")); queries.len()],
                };
                tags.into_iter().zip(results).collect()
            }
        }
    }
}

/// Reads one group at its scope's pin, fixing the pin first if no unit has yet, its requests
/// let through by `gate`. Exactly one result per query, in order.
async fn read_group(
    source: &dyn Source,
    pins: &Pins,
    gate: &Gate,
    key: PinKey,
    network: Network,
    queries: &[Query],
    pinner: bool,
) -> Vec<Result<Balance, Error>> {
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
        match (own, pin) {
            (Some(results), _) => results,
            (None, Ok(pin)) => source.read(queries, Some(pin)).await.results,
            (None, Err(e)) => vec![Err(e.clone()); queries.len()],
        }
    } else {
        // The source may start on the group while the pin is being resolved.
        let pin = Box::pin(async {
            let pin = cell.get_or_init(|| source.pin(network, &pins.at)).await;
            if let Ok(pin) = pin {
                record(pin);
            }
            pin.clone()
        });
        source.read_at(queries, pin, &pins.at, gate).await
    };
    results.resize_with(queries.len(), || {
        Err(internal("a source gave fewer results than queries").with_backend(source.backend()))
    });
    results
}

fn internal(what: &str) -> Error {
    Error::new(ErrorKind::Unavailable, format!("internal: {what}"))
}
