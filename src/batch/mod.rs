//! The batch call: plan (drop duplicates), pin, execute with bounded concurrency, merge
//! back into input order; or the same work as a stream of results as they complete.

mod attach;
mod buffer;
mod gate;
mod metadata;
mod pins;
mod run;
mod sources;
mod units;

#[cfg_attr(not(feature = "evm"), allow(unused_imports))]
pub(crate) use self::gate::{Gate, Permit};
pub use self::metadata::MetadataOutput;
pub(crate) use self::sources::Sources;

use std::collections::{HashMap, HashSet};
use std::pin::Pin as StdPin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{self, Stream, StreamExt};

use self::pins::Pins;
use self::units::Units;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::pin::{At, Snapshot};
use crate::query::{Network, Query};

/// The answer to a batch: one result per query, in input order, and the moment read at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchOutput {
    /// What each network was read at.
    pub snapshot: Snapshot,
    /// One result per query, in the order the queries were given.
    pub results: Vec<Result<Balance, Error>>,
}

/// The code of an error for a read whose pinned block left the chain during the batch.
pub(crate) const REORGED: &str = "reorged";

type BoxedResults<'a, T> = StdPin<Box<dyn Stream<Item = (T, Result<Balance, Error>)> + Send + 'a>>;

/// Results of a batch as they complete: `(tag, result)`, where the tag is the query's position
/// in the input ([`Client::balances_stream`]) or the caller's own
/// ([`Client::balances_stream_tagged`]). Every query yields exactly one item.
///
/// Queries are pulled from the input only as work is started, so memory stays bounded by the
/// work in flight however long the input is. [`snapshot`](Self::snapshot) tells what each
/// network was read at (complete once the stream has ended).
pub struct BalanceStream<'a, T = usize> {
    inner: BoxedResults<'a, T>,
    pins: Arc<Pins>,
}

impl<T> BalanceStream<'_, T> {
    /// What each network was read at, so far.
    pub fn snapshot(&self) -> Snapshot {
        self.pins.snapshot()
    }
}

impl<T> Stream for BalanceStream<'_, T> {
    type Item = (T, Result<Balance, Error>);

    fn poll_next(mut self: StdPin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> std::fmt::Debug for BalanceStream<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalanceStream")
            .field("snapshot", &self.snapshot())
            .finish_non_exhaustive()
    }
}

/// The deduplicated work of a batch, as [`Dedup`] learned it: each input's slot, and each
/// slot's first input.
#[derive(Debug, Default)]
struct Plan {
    slot_of_input: Vec<usize>,
    first_input: Vec<usize>,
}

/// The distinct queries of a batch, each once with its slot, pulled lazily: the first
/// requests go out before the whole input has been looked at. What it learns goes to the
/// shared [`Plan`] once the input is exhausted.
struct Dedup<'q> {
    queries: std::iter::Enumerate<std::slice::Iter<'q, Query>>,
    seen: HashMap<&'q Query, usize, foldhash::fast::RandomState>,
    plan: Plan,
    shared: Arc<std::sync::Mutex<Plan>>,
}

impl<'q> Dedup<'q> {
    fn new(queries: &'q [Query]) -> (Self, Arc<std::sync::Mutex<Plan>>) {
        let shared = Arc::new(std::sync::Mutex::new(Plan::default()));
        let dedup = Dedup {
            queries: queries.iter().enumerate(),
            seen: HashMap::with_capacity_and_hasher(queries.len(), Default::default()),
            plan: Plan {
                slot_of_input: Vec::with_capacity(queries.len()),
                first_input: Vec::new(),
            },
            shared: shared.clone(),
        };
        (dedup, shared)
    }

    fn hand_over(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        *shared = std::mem::take(&mut self.plan);
    }
}

impl Iterator for Dedup<'_> {
    type Item = (usize, Result<Query, Error>);

    fn next(&mut self) -> Option<Self::Item> {
        for (input, query) in self.queries.by_ref() {
            let fresh = self.seen.len();
            let slot = *self.seen.entry(query).or_insert(fresh);
            self.plan.slot_of_input.push(slot);
            if slot == fresh {
                self.plan.first_input.push(input);
                return Some((slot, Ok(query.clone())));
            }
        }
        self.hand_over();
        None
    }
}

impl Client {
    /// Reads every query at one moment and returns one result per query, in input order.
    ///
    /// An EVM network whose pinned block leaves the chain during the batch (a reorganization)
    /// is pinned again and read again whole, so that every network is still read at one
    /// block; only if that fails again do its results carry the error (code `reorged`). The
    /// streams cannot take back what they yielded: there, such reads are `reorged` errors.
    ///
    /// Identical queries are read once. `At::Latest` is resolved once per network (an Aptos
    /// version from the first answer, an EVM block or a Bitcoin height before the first read,
    /// one AMB instant) and every other read of that network carries it. A failure of one
    /// query is that query's `Err`; the others are unaffected.
    pub async fn balances(&self, queries: &[Query], at: At) -> BatchOutput {
        let (distinct, plan) = Dedup::new(queries);
        let mut slots: Vec<Option<Result<Balance, Error>>> = Vec::new();
        // The queries are all at hand: the next requests are prepared while others are out.
        let gate = Arc::new(Gate::new(self.concurrency));
        let mut stream = self.stream(distinct, at.clone(), gate, gate::LOOKAHEAD);
        while let Some((slot, result)) = stream.next().await {
            if slots.len() <= slot {
                slots.resize(slot + 1, None);
            }
            slots[slot] = Some(result);
        }
        let mut snapshot = stream.snapshot();
        drop(stream);
        let plan = std::mem::take(&mut *plan.lock().unwrap_or_else(|e| e.into_inner()));
        slots.resize(plan.first_input.len(), None);
        // Each distinct query, by slot.
        let unique: Vec<&Query> = plan.first_input.iter().map(|&i| &queries[i]).collect();

        // A network whose pinned block left the chain during the batch is pinned again and
        // read again whole, so that the batch still answers at one block per network. If
        // that fails too, its results carry the error.
        let mut reorged: HashSet<Network> = unique
            .iter()
            .zip(&slots)
            .filter(|(_, r)| matches!(r, Some(Err(e)) if e.code() == Some(REORGED)))
            .map(|(q, _)| q.network())
            .collect();
        // Sources whose reads do not name the block are asked whether it is still there.
        for (network, entry) in snapshot.networks() {
            let (Some(number), Some(hash), Some(time)) =
                (entry.block, entry.block_hash.clone(), entry.block_time)
            else {
                continue;
            };
            let Ok((_, source)) = self.sources.for_network(network) else {
                continue;
            };
            let block = crate::pin::BlockSnapshot::new(number, hash, time);
            if let Ok(false) = source.still_pinned(network, &block).await {
                reorged.insert(network);
            }
        }
        if let (false, At::Snapshot(given)) = (reorged.is_empty(), &at) {
            // A snapshot is an instruction to read at exactly its blocks: one that left the
            // chain cannot be read at any more, and another block would not be the snapshot.
            for (query, slot) in unique.iter().zip(slots.iter_mut()) {
                let network = query.network();
                if let (true, Some(entry)) = (reorged.contains(&network), given.get(network)) {
                    *slot = Some(Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "{network}: the snapshot's block {} ({}) is no longer on the chain; \
                             take a new snapshot",
                            entry.block.unwrap_or_default(),
                            entry.block_hash.as_deref().unwrap_or("?")
                        ),
                    )
                    .with_code(REORGED)));
                }
            }
        } else if !reorged.is_empty() {
            let again = unique
                .iter()
                .enumerate()
                .filter(|(_, q)| reorged.contains(&q.network()))
                .map(|(slot, q)| (slot, Ok((*q).clone())));
            let mut stream = self.balances_stream_tagged(again, at);
            while let Some((slot, result)) = stream.next().await {
                if let Some(s) = slots.get_mut(slot) {
                    *s = Some(result);
                }
            }
            snapshot.replace_from(&stream.snapshot(), &reorged);
        }
        // One result per input, whatever happened above: an input without an answer (which
        // would be a bug) is an error of its own, never a shorter list.
        let results = (0..queries.len())
            .map(|input| {
                plan.slot_of_input
                    .get(input)
                    .and_then(|&slot| slots.get(slot).cloned().flatten())
                    .unwrap_or_else(|| {
                        Err(Error::new(
                            ErrorKind::Unavailable,
                            "internal: a query was planned but not answered",
                        ))
                    })
            })
            .collect();
        BatchOutput { snapshot, results }
    }

    /// Resolves the pins of `networks` for `at` without reading a balance: the snapshot a
    /// batch would be read at, to hand to other processes ([`At::Snapshot`]) so that they all
    /// read the same blocks. A network that cannot be pinned is left out of the snapshot and
    /// returned with its error.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
    /// use tokbal::{At, Network};
    /// let (snapshot, failed) = client.pin(&[Network::Base, Network::AptosMainnet], At::Finalized).await;
    /// assert!(failed.is_empty());
    /// let json = serde_json::to_string(&snapshot).unwrap(); // for the other workers
    /// let again = tokbal::Snapshot::from_json(&json)?;
    /// let queries = vec!["base:0x0000000000000000000000000000000000000001".parse()?];
    /// let out = client.balances(&queries, At::Snapshot(again)).await;
    /// # Ok(()) }
    /// ```
    pub async fn pin(&self, networks: &[Network], at: At) -> (Snapshot, Vec<(Network, Error)>) {
        let mut snapshot = Snapshot::default();
        let mut failed = Vec::new();
        let mut distinct: Vec<Network> = networks.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let pins = futures::future::join_all(distinct.iter().map(|&network| {
            let at = &at;
            async move {
                let (_, source) = self.sources.for_network(network)?;
                source.pin(network, at).await
            }
        }))
        .await;
        for (network, pin) in distinct.into_iter().zip(pins) {
            match pin {
                Ok(pin) => pin.record(&mut snapshot, network, &at),
                Err(e) => failed.push((network, e)),
            }
        }
        (snapshot, failed)
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

    /// Reads `queries` at one moment and yields `(index, result)` as results complete.
    ///
    /// The input is consumed lazily, so a batch of any size holds only the work in flight
    /// (at most the client's concurrency in requests). Duplicates are not merged across the
    /// whole input here, since that would mean remembering every query; use
    /// [`balances`](Self::balances) for that.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client, queries: Vec<tokbal::Query>) {
    /// use futures::StreamExt;
    /// let mut results = client.balances_stream(queries, tokbal::At::Latest);
    /// while let Some((index, result)) = results.next().await {
    ///     println!("{index}: {result:?}");
    /// }
    /// println!("read at {:?}", results.snapshot());
    /// # }
    /// ```
    pub fn balances_stream<'a, I>(&'a self, queries: I, at: At) -> BalanceStream<'a>
    where
        I: IntoIterator<Item = Query>,
        I::IntoIter: Send + 'a,
    {
        self.balances_stream_tagged(queries.into_iter().enumerate().map(|(i, q)| (i, Ok(q))), at)
    }

    /// Like [`balances_stream`](Self::balances_stream), with a tag of the caller's choosing
    /// carried from each query to its result (a line number, a row id, the query's text), and
    /// queries that already failed (say, to parse) passed through as their own result, at no
    /// request. Nothing is kept per query beyond the work in flight.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) {
    /// use futures::StreamExt;
    /// let lines = ["aptos:0x1", "aptos:0xZZ", "aptos:0x2"];
    /// let tagged = lines.into_iter().map(|text| (text, text.parse()));
    /// let mut results = client.balances_stream_tagged(tagged, tokbal::At::Latest);
    /// while let Some((text, result)) = results.next().await {
    ///     println!("{text}: {result:?}");
    /// }
    /// # }
    /// ```
    pub fn balances_stream_tagged<'a, T, I>(&'a self, queries: I, at: At) -> BalanceStream<'a, T>
    where
        T: Send + 'a,
        I: IntoIterator<Item = (T, Result<Query, Error>)>,
        I::IntoIter: Send + 'a,
    {
        // The input may be slow to give its next query (lines from a pipe): nothing is pulled
        // ahead of the work it starts.
        self.stream(queries, at, Arc::new(Gate::new(self.concurrency)), 0)
    }

    /// [`balances_stream`](Self::balances_stream) whose requests go through `gate`, shared
    /// with other work (several streams at once, a log scan) that stays within the client's
    /// concurrency in all.
    pub(crate) fn balances_stream_gated<'a, I>(
        &'a self,
        queries: I,
        at: At,
        gate: Arc<Gate>,
    ) -> BalanceStream<'a>
    where
        I: IntoIterator<Item = Query>,
        I::IntoIter: Send + 'a,
    {
        let tagged = queries.into_iter().enumerate().map(|(i, q)| (i, Ok(q)));
        self.stream(tagged, at, gate, 0)
    }

    /// The batch as a stream, its requests let through by `gate` (`concurrency` at once) and
    /// `lookahead` times as many more units pulled from the input to prepare their requests
    /// meanwhile.
    fn stream<'a, T, I>(
        &'a self,
        queries: I,
        at: At,
        gate: Arc<Gate>,
        lookahead: usize,
    ) -> BalanceStream<'a, T>
    where
        T: Send + 'a,
        I: IntoIterator<Item = (T, Result<Query, Error>)>,
        I::IntoIter: Send + 'a,
    {
        let pins = Arc::new(Pins::new(at));
        let shared = pins.clone();
        let started = self.concurrency.saturating_mul(1 + lookahead);
        let units = Units::new(queries.into_iter(), &self.sources, self.metadata);
        let inner = stream::iter(units).map(move |unit| {
            let (pins, gate) = (shared.clone(), gate.clone());
            async move { self.run_unit(&pins, &gate, unit).await }
        });
        let answered = buffer::run_buffered(inner, started);
        let inner: BoxedResults<'a, T> = if self.metadata {
            // Each balance goes out with its token's metadata, once that has been read.
            let attach = Arc::new(std::sync::Mutex::new(attach::Attach::default()));
            let last = attach.clone();
            let taken = answered.flat_map(move |answered| {
                let mut guard = attach.lock().unwrap_or_else(|e| e.into_inner());
                stream::iter(guard.take(answered))
            });
            let rest = stream::once(async move {
                let mut guard = last.lock().unwrap_or_else(|e| e.into_inner());
                guard.finish()
            })
            .flat_map(stream::iter);
            Box::pin(taken.chain(rest))
        } else {
            Box::pin(answered.flat_map(|answered| stream::iter(answered.balances)))
        };
        BalanceStream { inner, pins }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small pool of queries across every back end, so that random picks repeat.
    fn pool() -> Vec<Query> {
        let mut v: Vec<Query> = (1..=6)
            .map(|i| format!("aptos:0x{i:x}").parse().unwrap())
            .collect();
        v.push("aptos-testnet:0x1/0xa".parse().unwrap());
        v.extend((1..=6).map(|i| format!("ethereum:0x{i:040x}").parse::<Query>().unwrap()));
        v.push(
            "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
                .parse()
                .unwrap(),
        );
        v
    }

    proptest! {
        #[test]
        fn plan_gives_every_input_exactly_one_slot(picks in prop::collection::vec(0usize..14, 0..200)) {
            let pool = pool();
            let queries: Vec<Query> = picks.iter().map(|&i| pool[i].clone()).collect();
            let (unique, plan) = dedup(&queries);
            prop_assert_eq!(plan.slot_of_input.len(), queries.len());
            prop_assert_eq!(plan.first_input.len(), unique.len());
            // Each input maps to an equal query; the unique list has no repeats; every unique
            // query is used, and slots are numbered in order of first appearance.
            for (q, &slot) in queries.iter().zip(&plan.slot_of_input) {
                prop_assert_eq!(&unique[slot], q);
            }
            for (slot, &input) in plan.first_input.iter().enumerate() {
                prop_assert_eq!(plan.slot_of_input[input], slot);
            }
            let distinct: std::collections::HashSet<&Query> = unique.iter().collect();
            prop_assert_eq!(distinct.len(), unique.len());
            let mut next = 0;
            for &slot in &plan.slot_of_input {
                prop_assert!(slot <= next);
                if slot == next { next += 1; }
            }
            prop_assert_eq!(next, unique.len());
        }

        #[test]
        fn units_carry_every_query_once_in_groups_no_larger_than_their_source_allows(
            picks in prop::collection::vec(0usize..15, 0..300)
        ) {
            static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
            let client = CLIENT.get_or_init(|| {
                let builder = Client::builder();
                #[cfg(feature = "amb")]
                let builder = builder.amb(true);
                builder.build().unwrap()
            });
            let pool = pool();
            let input: Vec<(usize, Result<Query, Error>)> = picks
                .iter()
                .enumerate()
                .map(|(i, &p)| match pool.get(p) {
                    Some(q) => (i, Ok(q.clone())),
                    None => (i, "bad".parse::<Query>()),
                })
                .collect();
            let mut tags = Vec::new();
            for unit in units::Units::new(input.into_iter(), &client.sources, false) {
                match unit {
                    units::Unit::Failed { tag, .. } => tags.push(tag),
                    units::Unit::Group { key, tags: group, queries, .. } => {
                        let max = client.sources.get(key.0).unwrap().max_group();
                        prop_assert!(!queries.is_empty() && queries.len() <= max);
                        prop_assert_eq!(group.len(), queries.len());
                        tags.extend(group);
                    }
                }
            }
            tags.sort_unstable();
            prop_assert_eq!(tags, (0..picks.len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn plan_dedups_and_keeps_every_input_slot() {
        let q = |s: &str| s.parse::<Query>().unwrap();
        let queries = vec![
            q("aptos:0x1"),
            q("aptos:0x2"),
            q("aptos:0x01"),
            q("aptos:1"),
        ];
        let (unique, plan) = dedup(&queries);
        assert_eq!(unique.len(), 2);
        assert_eq!(plan.slot_of_input, vec![0, 1, 0, 0]);
        assert_eq!(plan.first_input, vec![0, 1]);
    }

    /// Every distinct query [`Dedup`] yields, by slot, and the plan it hands over.
    fn dedup(queries: &[Query]) -> (Vec<Query>, Plan) {
        let (distinct, shared) = Dedup::new(queries);
        let mut unique = Vec::new();
        for (slot, query) in distinct {
            assert_eq!(slot, unique.len(), "slots are handed out in order");
            unique.push(query.unwrap());
        }
        let plan = std::mem::take(&mut *shared.lock().unwrap());
        (unique, plan)
    }
}
