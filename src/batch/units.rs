//! Turning a lazy sequence of queries into units of work: one Aptos read, or one AMB call of
//! up to 10 items. Only the AMB chunk being filled is held; everything else is pulled on demand.

use std::collections::HashSet;

use crate::amb::MAX_ITEMS_PER_CALL;
use crate::error::Error;
use crate::query::{Backend, Network, Query};

/// One request's worth of work, each query with its caller's tag. `pinner` marks the first
/// unit of its network (for AMB, of all AMB networks): under `At::Latest` its answer fixes the
/// moment the others read at. A query that failed before the engine saw it is passed through.
#[derive(Debug)]
pub(crate) enum Unit<T> {
    Aptos {
        tag: T,
        query: Query,
        pinner: bool,
    },
    Amb {
        items: Vec<(T, Query)>,
        pinner: bool,
    },
    Failed {
        tag: T,
        error: Error,
    },
}

/// The units for `queries`, in input order (an AMB chunk is emitted when full, or at the end).
pub(crate) struct Units<T, I> {
    queries: I,
    pending_amb: Vec<(T, Query)>,
    aptos_seen: HashSet<Network>,
    amb_seen: bool,
    done: bool,
}

impl<T, I: Iterator<Item = (T, Result<Query, Error>)>> Units<T, I> {
    pub(crate) fn new(queries: I) -> Self {
        Units {
            queries,
            pending_amb: Vec::new(),
            aptos_seen: HashSet::new(),
            amb_seen: false,
            done: false,
        }
    }

    fn amb_unit(&mut self) -> Unit<T> {
        let pinner = !self.amb_seen;
        self.amb_seen = true;
        Unit::Amb {
            items: std::mem::take(&mut self.pending_amb),
            pinner,
        }
    }
}

impl<T, I: Iterator<Item = (T, Result<Query, Error>)>> Iterator for Units<T, I> {
    type Item = Unit<T>;

    fn next(&mut self) -> Option<Unit<T>> {
        while !self.done {
            let Some((tag, query)) = self.queries.next() else {
                self.done = true;
                break;
            };
            let query = match query {
                Ok(q) => q,
                Err(error) => return Some(Unit::Failed { tag, error }),
            };
            match query.backend() {
                Backend::Aptos => {
                    let pinner = self.aptos_seen.insert(query.network());
                    return Some(Unit::Aptos { tag, query, pinner });
                }
                Backend::Amb => {
                    // Full chunks only, the pinning one included: calls = ceil(items / 10).
                    self.pending_amb.push((tag, query));
                    if self.pending_amb.len() == MAX_ITEMS_PER_CALL {
                        return Some(self.amb_unit());
                    }
                }
            }
        }
        if self.pending_amb.is_empty() {
            None
        } else {
            Some(self.amb_unit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_amb_items_and_marks_pinners() {
        let eth = |i: u8| -> Query {
            format!("ethereum:0x{:040x}", u32::from(i) + 1)
                .parse()
                .unwrap()
        };
        let mut input: Vec<Result<Query, Error>> = (0..23).map(|i| Ok(eth(i))).collect();
        input.insert(5, "aptos:0x1".parse());
        input.insert(9, "aptos:0x2".parse());
        input.insert(12, "aptos:0xZZ".parse());
        let units: Vec<Unit<usize>> = Units::new(input.into_iter().enumerate()).collect();
        let shape: Vec<(char, usize, bool)> = units
            .iter()
            .map(|u| match u {
                Unit::Aptos { pinner, .. } => ('a', 1, *pinner),
                Unit::Amb { items, pinner } => ('e', items.len(), *pinner),
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
}
