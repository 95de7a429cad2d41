//! Turning a lazy sequence of queries into units of work: one Aptos read, or one AMB call of
//! up to 10 items. Only the AMB chunk being filled is held; everything else is pulled on demand.

#[cfg(feature = "aptos")]
use std::collections::HashSet;

#[cfg(feature = "amb")]
use crate::amb::MAX_ITEMS_PER_CALL;
use crate::error::Error;
#[cfg(any(feature = "aptos", feature = "amb"))]
use crate::query::Backend;
#[cfg(feature = "aptos")]
use crate::query::Network;
use crate::query::Query;

/// One request's worth of work, each query with its caller's tag. `pinner` marks the first
/// unit of its network (for AMB, of all AMB networks): under `At::Latest` its answer fixes the
/// moment the others read at. A query that failed before the engine saw it is passed through.
#[derive(Debug)]
pub(crate) enum Unit<T> {
    #[cfg(feature = "aptos")]
    Aptos {
        tag: T,
        query: Query,
        pinner: bool,
    },
    #[cfg(feature = "amb")]
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
    /// The tags travel with the queries; without AMB no unit holds them between calls.
    #[cfg(not(feature = "amb"))]
    tag: std::marker::PhantomData<fn() -> T>,
    #[cfg(feature = "amb")]
    pending_amb: Vec<(T, Query)>,
    #[cfg(feature = "aptos")]
    aptos_seen: HashSet<Network>,
    #[cfg(feature = "amb")]
    amb_seen: bool,
    done: bool,
}

impl<T, I: Iterator<Item = (T, Result<Query, Error>)>> Units<T, I> {
    pub(crate) fn new(queries: I) -> Self {
        Units {
            queries,
            #[cfg(not(feature = "amb"))]
            tag: std::marker::PhantomData,
            #[cfg(feature = "amb")]
            pending_amb: Vec::new(),
            #[cfg(feature = "aptos")]
            aptos_seen: HashSet::new(),
            #[cfg(feature = "amb")]
            amb_seen: false,
            done: false,
        }
    }

    #[cfg(feature = "amb")]
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
        loop {
            let next = if self.done { None } else { self.queries.next() };
            let Some((tag, query)) = next else {
                self.done = true;
                return self.flush();
            };
            let unit = match query {
                Ok(query) => self.push(tag, query),
                Err(error) => Some(Unit::Failed { tag, error }),
            };
            if unit.is_some() {
                return unit;
            }
        }
    }
}

impl<T, I: Iterator<Item = (T, Result<Query, Error>)>> Units<T, I> {
    /// Adds one query; returns a unit when one is ready.
    fn push(&mut self, tag: T, query: Query) -> Option<Unit<T>> {
        match query.backend() {
            #[cfg(feature = "aptos")]
            Backend::Aptos => {
                let pinner = self.aptos_seen.insert(query.network());
                Some(Unit::Aptos { tag, query, pinner })
            }
            #[cfg(feature = "amb")]
            Backend::Amb => {
                // Full chunks only, the pinning one included: calls = ceil(items / 10).
                self.pending_amb.push((tag, query));
                (self.pending_amb.len() == MAX_ITEMS_PER_CALL).then(|| self.amb_unit())
            }
            #[allow(unreachable_patterns)] // every back end compiled in
            backend => {
                let error = backend.not_compiled(query.network());
                Some(Unit::Failed { tag, error })
            }
        }
    }

    /// The partly filled unit left at the end of the input, if any.
    fn flush(&mut self) -> Option<Unit<T>> {
        #[cfg(feature = "amb")]
        if !self.pending_amb.is_empty() {
            return Some(self.amb_unit());
        }
        None
    }
}

#[cfg(all(test, feature = "aptos", feature = "amb"))]
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
