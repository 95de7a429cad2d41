//! Running one unit: resolving (or waiting for) its network's pin, then reading.

#[cfg(feature = "amb")]
use std::time::SystemTime;

#[cfg(feature = "aptos")]
use super::pins::AptosPin;
use super::pins::Pins;
use super::units::Unit;
#[cfg(feature = "amb")]
use crate::amb::AmbBackend;
#[cfg(feature = "aptos")]
use crate::aptos::AptosBackend;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::Error;
#[cfg(any(feature = "aptos", feature = "amb"))]
use crate::error::ErrorKind;
#[cfg(any(feature = "aptos", feature = "amb"))]
use crate::pin::At;
#[cfg(any(feature = "aptos", feature = "amb"))]
use crate::query::{Backend, Query};
#[cfg(feature = "aptos")]
use crate::query::{Owner, Token};

type Answered<T> = Vec<(T, Result<Balance, Error>)>;

impl Client {
    pub(crate) async fn run_unit<T>(&self, pins: &Pins, unit: Unit<T>) -> Answered<T> {
        let _ = pins; // unused when no back end is compiled in
        match unit {
            #[cfg(feature = "aptos")]
            Unit::Aptos { tag, query, pinner } => {
                vec![(tag, self.run_aptos(pins, &query, pinner).await)]
            }
            // Boxed: the AMB call's future (the SDK's orchestrator) is several KB, and inline
            // it would make every unit's future that large, Aptos reads included; the executor
            // moves each unit's future as it starts it.
            #[cfg(feature = "amb")]
            Unit::Amb { items, pinner } => Box::pin(run_amb(&self.amb, pins, items, pinner)).await,
            Unit::Failed { tag, error } => vec![(tag, Err(error))],
        }
    }

    #[cfg(feature = "aptos")]
    async fn run_aptos(&self, pins: &Pins, query: &Query, pinner: bool) -> Result<Balance, Error> {
        let network = query.network();
        let Some(backend) = self.aptos.get(&network) else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{network}: no back end for this network is configured"),
            )
            .with_backend(Backend::Aptos));
        };
        let cell = pins.aptos_cell(network);
        let mut own_read = None;
        let pin = cell
            .get_or_init(|| async {
                let pin = match pins.at {
                    At::AptosVersion(version) => Ok(AptosPin {
                        version,
                        at_tip: false,
                    }),
                    At::Time(t) => backend.version_at_time(t).await.map(|p| AptosPin {
                        version: p.version,
                        at_tip: p.at_tip,
                    }),
                    // The first query of the network reads the latest state; the version it
                    // was read at pins every other read, at no extra request.
                    At::Latest if pinner => {
                        let read = read_aptos(backend, query, None).await;
                        let version = match &read {
                            Ok(b) => b.ledger_version.ok_or_else(|| {
                                Error::new(ErrorKind::Decode, "answer without a ledger version")
                            }),
                            Err(_) => backend.ledger_info().await.map(|l| l.ledger_version),
                        };
                        own_read = Some(read);
                        version.map(|version| AptosPin {
                            version,
                            at_tip: false,
                        })
                    }
                    At::Latest => backend.ledger_info().await.map(|l| AptosPin {
                        version: l.ledger_version,
                        at_tip: false,
                    }),
                };
                if let Ok(p) = &pin {
                    pins.record_aptos(network, *p);
                }
                pin
            })
            .await;
        if let Some(read) = own_read {
            return read;
        }
        match pin {
            Ok(p) => read_aptos(backend, query, Some(p.version)).await,
            Err(e) => Err(e.clone()),
        }
    }
}

#[cfg(feature = "amb")]
async fn run_amb<T>(
    amb: &AmbBackend,
    pins: &Pins,
    items: Vec<(T, Query)>,
    pinner: bool,
) -> Answered<T> {
    let networks: Vec<_> = items.iter().map(|(_, q)| q.network()).collect();
    // Results are matched back by position in this chunk.
    let mut results: Vec<Option<Result<Balance, Error>>> = Vec::with_capacity(items.len());
    let mut prepared = Vec::with_capacity(items.len());
    for (position, (_, query)) in items.iter().enumerate() {
        match AmbBackend::prepare(query) {
            Ok(item) => {
                prepared.push((position, item));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let tags = items.into_iter().map(|(tag, _)| tag);
    if prepared.is_empty() {
        return tags.zip(results.into_iter().flatten()).collect();
    }
    let mut own = None;
    let instant: SystemTime = match pins.at {
        At::Time(t) => crate::time::truncate_to_second(t),
        At::Latest | At::AptosVersion(_) => {
            *pins
                .amb
                .get_or_init(|| async {
                    if pinner {
                        // The first call reads "now"; the instant it answers pins the others.
                        let answers = amb.call(&prepared, None).await;
                        let t = answers
                            .iter()
                            .find_map(|(_, r)| r.as_ref().ok().and_then(|b| b.at));
                        own = Some(answers);
                        t.unwrap_or_else(|| crate::time::truncate_to_second(SystemTime::now()))
                    } else {
                        crate::time::truncate_to_second(SystemTime::now())
                    }
                })
                .await
        }
    };
    let answers = match own {
        Some(answers) => answers,
        None => amb.call(&prepared, Some(instant)).await,
    };
    for n in networks {
        pins.record_instant(n, instant);
    }
    for (position, result) in answers {
        if let Some(slot) = results.get_mut(position) {
            *slot = Some(result);
        }
    }
    tags.zip(results)
        .map(|(tag, r)| {
            let r = r.unwrap_or_else(|| {
                Err(
                    Error::new(ErrorKind::Decode, "internal: an AMB item was not answered")
                        .with_backend(Backend::Amb),
                )
            });
            (tag, r)
        })
        .collect()
}

#[cfg(feature = "aptos")]
async fn read_aptos(
    backend: &AptosBackend,
    query: &Query,
    version: Option<u64>,
) -> Result<Balance, Error> {
    match (query.owner(), query.token()) {
        (Owner::Aptos(owner), Token::Aptos(asset)) => backend
            .balance(owner, asset, version)
            .await
            .map(|b| Balance::aptos(b.amount, b.ledger_version)),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{query} is not an Aptos query"),
        )),
    }
}
