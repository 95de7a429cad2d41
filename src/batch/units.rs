//! Turning a lazy sequence of queries into units of work: each source says how many queries
//! one request carries (one Aptos read; ten AMB items; K calls in one `eth_call`), and queries
//! of one pin scope fill a group until it is full. Only the groups being filled are held;
//! everything else is pulled on demand.

use std::collections::HashSet;

use super::sources::Sources;
use crate::error::Error;
use crate::metadata::Asset;
use crate::query::{Network, Query};
use crate::source::Scope;

/// Where a group's pin lives: its source (by index in [`Sources`]) and its scope.
pub(crate) type PinKey = (usize, Scope);

/// One request's worth of work: queries, and each one's caller's tag at the same position. `pinner` marks the first
/// unit of its pin scope: under a pin the source can fix by reading, its answer fixes the
/// moment the others read at. A query that failed before the engine saw it, or that no
/// source of this build serves, is passed through.
#[derive(Debug)]
pub(crate) enum Unit<T> {
    Group {
        key: PinKey,
        /// The network of the group's first query (every query of a group shares its pin).
        network: Network,
        tags: Vec<T>,
        queries: Vec<Query>,
        /// The tokens whose metadata this unit reads too (each token once per batch, with
        /// its first query).
        assets: Vec<Asset>,
        pinner: bool,
    },
    Failed {
        tag: T,
        error: Error,
    },
}

/// A group being filled.
struct Pending<T> {
    key: PinKey,
    tags: Vec<T>,
    queries: Vec<Query>,
    assets: Vec<Asset>,
    /// What the assets' metadata adds to the request, in the source's units.
    weight: usize,
}

/// The units for `queries`, in input order (a group is emitted when full, or at the end).
pub(crate) struct Units<'s, T, I> {
    queries: I,
    sources: &'s Sources,
    /// The groups being filled: one per pin scope met so far, so a handful.
    pending: Vec<Pending<T>>,
    /// Pin scopes that already emitted a unit.
    pinned: Vec<PinKey>,
    /// With metadata: the tokens whose metadata a unit already reads.
    metadata: Option<HashSet<Asset, foldhash::fast::RandomState>>,
    done: bool,
}

impl<'s, T, I: Iterator<Item = (T, Result<Query, Error>)>> Units<'s, T, I> {
    /// The units for `queries`; with `metadata`, each distinct token's metadata is read by
    /// the unit of its first query, and counts towards that unit's size.
    pub(crate) fn new(queries: I, sources: &'s Sources, metadata: bool) -> Self {
        Units {
            queries,
            sources,
            pending: Vec::new(),
            pinned: Vec::new(),
            metadata: metadata.then(HashSet::default),
            done: false,
        }
    }

    /// Adds one query; returns a unit when one is ready.
    fn push(&mut self, tag: T, query: Query) -> Option<Unit<T>> {
        let (index, source) = match self.sources.for_network(query.network()) {
            Ok(found) => found,
            Err(error) => return Some(Unit::Failed { tag, error }),
        };
        let key = (index, source.scope(query.network()));
        let max = source.max_group().max(1);
        let at = match self.pending.iter().position(|p| p.key == key) {
            Some(at) => at,
            None => {
                self.pending.push(Pending {
                    key,
                    tags: Vec::with_capacity(max.min(1024)),
                    queries: Vec::with_capacity(max.min(1024)),
                    assets: Vec::new(),
                    weight: 0,
                });
                self.pending.len() - 1
            }
        };
        let group = &mut self.pending[at];
        if let Some(seen) = &mut self.metadata {
            let asset = Asset::of_query(&query).metadata_key();
            // The native coin's metadata comes from the network table, not from a request.
            if !asset.token().is_native() && !seen.contains(&asset) {
                group.weight += source.metadata_cost(&asset);
                seen.insert(asset.clone());
                group.assets.push(asset);
            }
        }
        group.tags.push(tag);
        group.queries.push(query);
        // Full groups only, the pinning one included: requests = ceil((queries + metadata
        // calls) / max).
        (group.queries.len() + group.weight >= max).then(|| {
            let full = self.pending.swap_remove(at);
            self.unit(full)
        })
    }

    fn unit(&mut self, group: Pending<T>) -> Unit<T> {
        let pinner = !self.pinned.contains(&group.key);
        if pinner {
            self.pinned.push(group.key);
        }
        let network = group
            .queries
            .first()
            .map(Query::network)
            .unwrap_or(Network::AptosMainnet);
        Unit::Group {
            key: group.key,
            network,
            tags: group.tags,
            queries: group.queries,
            assets: group.assets,
            pinner,
        }
    }
}

impl<T, I: Iterator<Item = (T, Result<Query, Error>)>> Iterator for Units<'_, T, I> {
    type Item = Unit<T>;

    fn next(&mut self) -> Option<Unit<T>> {
        while !self.done {
            let Some((tag, query)) = self.queries.next() else {
                self.done = true;
                break;
            };
            let unit = match query {
                Ok(query) => self.push(tag, query),
                Err(error) => Some(Unit::Failed { tag, error }),
            };
            if unit.is_some() {
                return unit;
            }
        }
        // The partly filled groups left at the end, in the order they were opened.
        if self.pending.is_empty() {
            None
        } else {
            let group = self.pending.remove(0);
            Some(self.unit(group))
        }
    }
}

#[cfg(all(test, feature = "aptos", feature = "evm", feature = "amb"))]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    fn groups_amb_items_by_ten_and_marks_pinners() {
        let client = Client::builder().amb(true).build().unwrap();
        let eth = |i: u8| -> Query {
            format!("ethereum:0x{:040x}", u32::from(i) + 1)
                .parse()
                .unwrap()
        };
        let mut input: Vec<Result<Query, Error>> = (0..23).map(|i| Ok(eth(i))).collect();
        input.insert(5, "aptos:0x1".parse());
        input.insert(9, "aptos:0x2".parse());
        input.insert(12, "aptos:0xZZ".parse());
        let units: Vec<Unit<usize>> =
            Units::new(input.into_iter().enumerate(), &client.sources, false).collect();
        let shape: Vec<(char, usize, bool)> = units
            .iter()
            .map(|u| match u {
                Unit::Group {
                    key,
                    queries,
                    pinner,
                    ..
                } if key.1 == Scope::Source => ('e', queries.len(), *pinner),
                Unit::Group {
                    queries, pinner, ..
                } => ('a', queries.len(), *pinner),
                Unit::Failed { .. } => ('x', 1, false),
            })
            .collect();
        assert_eq!(
            shape,
            [
                ('a', 1, true),
                ('a', 1, false),
                ('e', 10, true),
                ('x', 1, false),
                ('e', 10, false),
                ('e', 3, false)
            ]
        );
    }

    #[test]
    fn groups_evm_calls_per_network_by_k() {
        let client = Client::builder().evm_calls_per_request(4).build().unwrap();
        let q = |n: &str, i: u32| -> Result<Query, Error> { format!("{n}:0x{i:040x}").parse() };
        let input: Vec<Result<Query, Error>> = (1..=6)
            .flat_map(|i| [q("ethereum", i), q("base", i)])
            .chain([q("evm-31337", 1)])
            .collect();
        let units: Vec<Unit<usize>> =
            Units::new(input.into_iter().enumerate(), &client.sources, false).collect();
        let shape: Vec<(String, usize, bool)> = units
            .iter()
            .map(|u| match u {
                Unit::Group {
                    network,
                    queries,
                    pinner,
                    ..
                } => (network.to_string(), queries.len(), *pinner),
                Unit::Failed { error, .. } => (error.kind().to_string(), 1, false),
            })
            .collect();
        let s = |n: &str, len, pinner| (n.to_string(), len, pinner);
        assert_eq!(
            shape,
            [
                s("ethereum", 4, true),
                s("base", 4, true),
                // evm-31337 has no public endpoint: refused at once, naming what to give.
                s("unsupported", 1, false),
                s("ethereum", 2, false),
                s("base", 2, false),
            ]
        );
    }
}
