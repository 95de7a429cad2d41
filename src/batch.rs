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

    /// Distinct queries grouped by network, each with its slot.
    fn by_network(&self) -> Vec<(Network, Vec<(usize, &'q Query)>)> {
        let mut groups: Vec<(Network, Vec<(usize, &'q Query)>)> = Vec::new();
        for (slot, q) in self.unique.iter().enumerate() {
            match groups.iter_mut().find(|(n, _)| *n == q.network()) {
                Some((_, g)) => g.push((slot, q)),
                None => groups.push((q.network(), vec![(slot, q)])),
            }
        }
        groups
    }
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

        let groups = plan.by_network();
        let answers = futures::future::join_all(
            groups
                .into_iter()
                .map(|(network, items)| self.read_network(network, items, at)),
        )
        .await;
        for (network, pinned, results) in answers {
            if let Some(v) = pinned {
                snapshot.pin_aptos(network, v);
            }
            for (slot, result) in results {
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

    /// Reads one network's distinct queries; returns the pinned Aptos version, if any.
    async fn read_network(
        &self,
        network: Network,
        items: Vec<(usize, &Query)>,
        at: At,
    ) -> (Network, Option<u64>, Vec<(usize, Result<Balance, Error>)>) {
        let backend = match (network.backend(), self.aptos.get(&network)) {
            (Backend::Aptos, Some(b)) => b,
            _ => {
                let err = Error::new(
                    ErrorKind::Unsupported,
                    format!("{network}: no back end for this network is configured"),
                )
                .with_backend(network.backend());
                let results = items
                    .into_iter()
                    .map(|(s, _)| (s, Err(err.clone())))
                    .collect();
                return (network, None, results);
            }
        };
        let mut results = Vec::with_capacity(items.len());
        let mut rest = &items[..];
        let version = match at {
            At::AptosVersion(v) => v,
            At::Latest => {
                // The first read at latest pins the version for all the others.
                let Some(((slot, first), tail)) = rest.split_first() else {
                    return (network, None, results);
                };
                let first_result = read_aptos(backend, first, None).await;
                let pinned = match &first_result {
                    Ok(b) => b.ledger_version,
                    Err(_) => None,
                };
                results.push((*slot, first_result));
                rest = tail;
                match pinned {
                    Some(v) => v,
                    None if rest.is_empty() => return (network, None, results),
                    None => match backend.ledger_info().await {
                        Ok(ledger) => ledger.ledger_version,
                        Err(e) => {
                            results.extend(rest.iter().map(|(s, _)| (*s, Err(e.clone()))));
                            return (network, None, results);
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
        (network, Some(version), results)
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
