//! The batch call: plan (dedup, group by network), pin, execute with bounded concurrency,
//! merge back into input order.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use crate::aptos::AptosBackend;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::pin::{At, Snapshot};
use crate::query::{Backend, Network, Owner, Query, Token};

/// The answer to a batch: one result per query, in input order, and the moment read at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchOutput {
    /// What each network was read at.
    pub snapshot: Snapshot,
    /// One result per query, in the order the queries were given.
    pub results: Vec<Result<Balance, Error>>,
}

/// The deduplicated work of a batch: each distinct query once, and for each input its slot.
struct Plan<'q> {
    unique: Vec<&'q Query>,
    slot_of_input: Vec<usize>,
}

impl<'q> Plan<'q> {
    fn new(queries: &'q [Query]) -> Self {
        let mut seen: HashMap<&'q Query, usize> = HashMap::with_capacity(queries.len());
        let mut unique = Vec::new();
        let slot_of_input = queries
            .iter()
            .map(|q| {
                *seen.entry(q).or_insert_with(|| {
                    unique.push(q);
                    unique.len() - 1
                })
            })
            .collect();
        Plan {
            unique,
            slot_of_input,
        }
    }

    /// Distinct Aptos queries grouped by network, and distinct AMB queries (all networks
    /// together, so that one instant covers them), each with its slot.
    fn split(&self) -> (AptosGroups<'q>, Vec<(usize, &'q Query)>) {
        let mut aptos: AptosGroups<'q> = Vec::new();
        let mut amb = Vec::new();
        for (slot, q) in self.unique.iter().enumerate() {
            match q.backend() {
                Backend::Amb => amb.push((slot, *q)),
                Backend::Aptos => match aptos.iter_mut().find(|(n, _)| *n == q.network()) {
                    Some((_, g)) => g.push((slot, *q)),
                    None => aptos.push((q.network(), vec![(slot, *q)])),
                },
            }
        }
        (aptos, amb)
    }
}

type AptosGroups<'q> = Vec<(Network, Vec<(usize, &'q Query)>)>;

/// One back end's answers: what it pinned, and results by slot.
struct Answers {
    pins: Vec<(Network, Pin)>,
    results: Vec<(usize, Result<Balance, Error>)>,
}

enum Pin {
    Version(u64),
    Instant(std::time::SystemTime),
    VersionAtTime {
        version: u64,
        at: std::time::SystemTime,
        at_tip: bool,
    },
}

impl Client {
    /// Reads every query at one moment and returns one result per query, in input order.
    ///
    /// Identical queries are read once. For Aptos, `At::Latest` is resolved to one ledger
    /// version per network, taken from the first answer, and every other read of that
    /// network carries it, so the whole batch is one consistent snapshot. A failure of one
    /// query is that query's `Err`; the others are unaffected.
    pub async fn balances(&self, queries: &[Query], at: At) -> BatchOutput {
        let plan = Plan::new(queries);
        let mut slots: Vec<Option<Result<Balance, Error>>> = vec![None; plan.unique.len()];
        let mut snapshot = Snapshot::default();

        let (aptos_groups, amb_items) = plan.split();
        let aptos = futures::future::join_all(
            aptos_groups
                .into_iter()
                .map(|(network, items)| self.read_aptos_network(network, items, at)),
        );
        let (aptos, amb) = futures::join!(aptos, self.read_amb(amb_items, at));
        for answers in aptos.into_iter().chain(std::iter::once(amb)) {
            for (network, pin) in answers.pins {
                match pin {
                    Pin::Version(v) => snapshot.pin_aptos(network, v),
                    Pin::Instant(t) => snapshot.pin_instant(network, t),
                    Pin::VersionAtTime {
                        version,
                        at,
                        at_tip,
                    } => snapshot.pin_aptos_time(network, version, at, at_tip),
                }
            }
            for (slot, result) in answers.results {
                slots[slot] = Some(result);
            }
        }

        let results = plan
            .slot_of_input
            .iter()
            .map(|&slot| {
                slots[slot].clone().unwrap_or_else(|| {
                    Err(Error::new(
                        ErrorKind::Unavailable,
                        "internal: query was planned but not executed",
                    ))
                })
            })
            .collect();
        BatchOutput { snapshot, results }
    }

    /// Reads one query. Equivalent to a batch of one.
    pub async fn balance(&self, query: &Query, at: At) -> Result<Balance, Error> {
        let mut out = self.balances(std::slice::from_ref(query), at).await;
        out.results.pop().unwrap_or_else(|| {
            Err(Error::new(
                ErrorKind::Unavailable,
                "internal: a batch of one gave no result",
            ))
        })
    }

    /// Reads the distinct Bitcoin and Ethereum queries at one instant.
    async fn read_amb(&self, items: Vec<(usize, &Query)>, at: At) -> Answers {
        if items.is_empty() {
            return Answers {
                pins: Vec::new(),
                results: Vec::new(),
            };
        }
        let instant = match at {
            At::Time(t) => Some(t),
            At::Latest | At::AptosVersion(_) => None,
        };
        let queries: Vec<&Query> = items.iter().map(|(_, q)| *q).collect();
        let read = self.amb.read(&queries, instant).await;
        let mut pins = Vec::new();
        if let Some(t) = read.at {
            for (_, q) in &items {
                if !pins.iter().any(|(n, _)| *n == q.network()) {
                    pins.push((q.network(), Pin::Instant(t)));
                }
            }
        }
        Answers {
            pins,
            results: items.iter().map(|(s, _)| *s).zip(read.results).collect(),
        }
    }

    /// Reads one Aptos network's distinct queries at one ledger version.
    async fn read_aptos_network(
        &self,
        network: Network,
        items: Vec<(usize, &Query)>,
        at: At,
    ) -> Answers {
        let fail_all = |items: &[(usize, &Query)], err: Error| Answers {
            pins: Vec::new(),
            results: items.iter().map(|(s, _)| (*s, Err(err.clone()))).collect(),
        };
        let Some(backend) = self.aptos.get(&network) else {
            let err = Error::new(
                ErrorKind::Unsupported,
                format!("{network}: no back end for this network is configured"),
            )
            .with_backend(Backend::Aptos);
            return fail_all(&items, err);
        };
        let mut results = Vec::with_capacity(items.len());
        let mut rest = &items[..];
        let mut pin_at = None;
        let version = match at {
            At::AptosVersion(v) => v,
            At::Time(t) => match backend.version_at_time(t).await {
                Ok(pin) => {
                    pin_at = Some((t, pin.at_tip));
                    pin.version
                }
                Err(e) => return fail_all(&items, e),
            },
            At::Latest => {
                // The first read at latest pins the version for all the others.
                let Some(((slot, first), tail)) = rest.split_first() else {
                    return Answers {
                        pins: Vec::new(),
                        results,
                    };
                };
                let first_result = read_aptos(backend, first, None).await;
                let pinned = first_result.as_ref().ok().and_then(|b| b.ledger_version);
                results.push((*slot, first_result));
                rest = tail;
                match pinned {
                    Some(v) => v,
                    None if rest.is_empty() => {
                        return Answers {
                            pins: Vec::new(),
                            results,
                        }
                    }
                    None => match backend.ledger_info().await {
                        Ok(ledger) => ledger.ledger_version,
                        Err(e) => {
                            results.extend(rest.iter().map(|(s, _)| (*s, Err(e.clone()))));
                            return Answers {
                                pins: Vec::new(),
                                results,
                            };
                        }
                    },
                }
            }
        };
        let reads =
            stream::iter(rest.iter().map(|(slot, q)| async move {
                (*slot, read_aptos(backend, q, Some(version)).await)
            }))
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        results.extend(reads);
        let pin = match pin_at {
            Some((at, at_tip)) => Pin::VersionAtTime {
                version,
                at,
                at_tip,
            },
            None => Pin::Version(version),
        };
        Answers {
            pins: vec![(network, pin)],
            results,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_dedups_and_keeps_every_input_slot() {
        let q = |s: &str| s.parse::<Query>().unwrap();
        let queries = vec![
            q("aptos:0x1"),
            q("aptos:0x2"),
            q("aptos:0x01"),
            q("aptos:1"),
        ];
        let plan = Plan::new(&queries);
        assert_eq!(plan.unique.len(), 2);
        assert_eq!(plan.slot_of_input, vec![0, 1, 0, 0]);
    }
}
