//! What every source gives the engine: how its queries group into requests, how a network is
//! pinned, and how a group is read at a pin. The engine (`batch/`) knows no source by name;
//! a source is one folder under `src/` plus one line in [`ClientBuilder::build`](crate::ClientBuilder::build).

use std::any::Any;
use std::time::SystemTime;

use futures::future::BoxFuture;

use crate::balance::Balance;
use crate::batch::Gate;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::{At, BlockSnapshot, Snapshot};
use crate::query::{Backend, Network, Query};

/// The moment one network (or one pin scope) is read at, in the terms of its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pin {
    /// An Aptos ledger version; `at_tip` when a time pin was past the node's latest version.
    #[cfg_attr(not(feature = "aptos"), allow(dead_code))]
    Version { version: u64, at_tip: bool },
    /// A block (EVM chains, Bitcoin): its number, hash and time, and how it was chosen.
    #[cfg_attr(not(feature = "evm"), allow(dead_code))]
    Block(BlockSnapshot),
    /// An instant (AMB reads at a time, not at a block).
    #[cfg_attr(not(feature = "amb"), allow(dead_code))]
    Instant(SystemTime),
}

impl Pin {
    /// Writes this pin into `snapshot` as what `network` was read at.
    pub(crate) fn record(&self, snapshot: &mut Snapshot, network: Network, at: &At) {
        // A pin given by a snapshot is recorded as the snapshot had it.
        if let At::Snapshot(given) = at {
            if let Some(entry) = given.get(network) {
                snapshot.insert(network, entry.clone());
                return;
            }
        }
        match (self, at) {
            (Pin::Version { version, at_tip }, At::Time(t)) => {
                snapshot.pin_aptos_time(network, *version, *t, *at_tip)
            }
            (Pin::Version { version, .. }, _) => snapshot.pin_aptos(network, *version),
            (Pin::Instant(t), _) => snapshot.pin_instant(network, *t),
            (Pin::Block(block), _) => snapshot.pin_block(network, block.clone()),
        }
    }
}

/// Which networks share one pin: each network its own, or every network of the source (AMB
/// reads all of its networks at one instant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    /// One pin for this network.
    Network(Network),
    /// One pin for every network of the source.
    #[cfg_attr(not(feature = "amb"), allow(dead_code))]
    Source,
}

/// What reading one group returned: one result per query, in order, and, for a read made
/// without a pin, the pin the answer itself fixes (if it does).
pub(crate) struct Read {
    pub results: Vec<Result<Balance, Error>>,
    pub pin: Option<Pin>,
}

/// What reading a group with its tokens' metadata gives: one result per query and one per
/// token, each in order.
pub(crate) type Answers = (
    Vec<Result<Balance, Error>>,
    Vec<Result<TokenMetadata, Error>>,
);

/// A source of balances, as the engine sees it. (`Any`, so that a client can hand out the
/// typed back end behind a source.)
pub(crate) trait Source: Any + Send + Sync {
    /// Which source this is (for errors and routing).
    fn backend(&self) -> Backend;

    /// The most queries one request carries (1 for one read per request).
    fn max_group(&self) -> usize;

    /// Which networks share `network`'s pin.
    fn scope(&self, network: Network) -> Scope {
        Scope::Network(network)
    }

    /// Whether, under `at`, the first read of `network`'s scope may go out without a pin
    /// and fix it from its own answer, at no extra request.
    fn pins_by_reading(&self, network: Network, at: &At) -> bool {
        let _ = (network, at);
        false
    }

    /// Resolves `network`'s pin for `at` (the latest state, a time, a given block, ...).
    fn pin<'a>(&'a self, network: Network, at: &'a At) -> BoxFuture<'a, Result<Pin, Error>>;

    /// Reads `queries` (all of one scope, at most `max_group`) at `pin`, or without a pin
    /// when the source pins by reading. Returns exactly one result per query, in order.
    fn read<'a>(&'a self, queries: &'a [Query], pin: Option<&'a Pin>) -> BoxFuture<'a, Read>;

    /// Reads `queries` at the pin `pin` resolves to, each request let through by `gate`,
    /// starting before either: a source whose requests take work that needs neither (the
    /// EVM source encodes a Multicall3 request's calldata) does that work first, so that the
    /// pin's round trip, or the wait for a request in flight to come back, hides it; and it
    /// holds a permit only while a request is out. By default, takes a permit for the whole
    /// read, waits for the pin, then [`read`](Self::read)s. Exactly one result per query, in
    /// order.
    ///
    /// `at` is what the pin is resolved for (a source may start a request early only for a
    /// pin that comes back quickly).
    fn read_at<'a>(
        &'a self,
        queries: &'a [Query],
        pin: BoxFuture<'a, Result<Pin, Error>>,
        at: &'a At,
        gate: &'a Gate,
    ) -> BoxFuture<'a, Vec<Result<Balance, Error>>> {
        let _ = at;
        Box::pin(async move {
            let _permit = gate.enter().await;
            match pin.await {
                Ok(pin) => self.read(queries, Some(&pin)).await.results,
                Err(e) => vec![Err(e); queries.len()],
            }
        })
    }

    /// How much of a request (in the units of [`max_group`](Self::max_group)) reading the
    /// metadata of `asset` takes: the calls it adds to a request that batches calls, or 1 for
    /// a source that reads it with one request of its own; 0 when it needs no request.
    fn metadata_cost(&self, asset: &Asset) -> usize {
        let _ = asset;
        1
    }

    /// Reads the symbol, name and decimals of `assets` (all of one scope, none the native
    /// coin) at `pin`. Exactly one result per asset, in order; a field the chain does not
    /// give is `None`, and an `Err` is a read that failed as a whole.
    fn read_metadata<'a>(
        &'a self,
        assets: &'a [Asset],
        pin: &'a Pin,
    ) -> BoxFuture<'a, Vec<Result<TokenMetadata, Error>>> {
        let _ = pin;
        let backend = self.backend();
        Box::pin(async move {
            assets
                .iter()
                .map(|a| {
                    Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("{a}: the {backend} source does not read token metadata"),
                    )
                    .with_backend(backend))
                })
                .collect()
        })
    }

    /// Reads `queries` and the metadata of `assets` (all of one scope) at the pin `pin`
    /// resolves to, as [`read_at`](Self::read_at) does. By default the balances as
    /// `read_at` reads them and the metadata with [`read_metadata`](Self::read_metadata)
    /// once the pin is known; a source that batches calls carries both in the same requests.
    fn read_with_metadata<'a>(
        &'a self,
        queries: &'a [Query],
        assets: &'a [Asset],
        pin: BoxFuture<'a, Result<Pin, Error>>,
        at: &'a At,
        gate: &'a Gate,
    ) -> BoxFuture<'a, Answers> {
        use futures::FutureExt;
        if assets.is_empty() {
            return Box::pin(
                self.read_at(queries, pin, at, gate)
                    .map(|b| (b, Vec::new())),
            );
        }
        let pin = pin.shared();
        let balances = self.read_at(queries, Box::pin(pin.clone()), at, gate);
        let metadata = async move {
            match pin.await {
                Ok(pin) => {
                    let _permit = gate.enter().await;
                    self.read_metadata(assets, &pin).await
                }
                Err(e) => vec![Err(e); assets.len()],
            }
        };
        Box::pin(futures::future::join(balances, metadata))
    }

    /// The candidate holders of `scan.asset` at the pin, handed to `scan.found` as they are
    /// found (each once; `found` is dropped once every one is named), and the figures that
    /// prove a list of them whole, for sources that can find them (EVM chains, from the
    /// contract's logs from `from_block`, by default its creation block); `unsupported`
    /// elsewhere. The pin may still be on its way: a source can start what does not need it.
    /// Its requests go through `scan.gate`, with those reading the candidates' balances.
    fn discover_holders<'a>(
        &'a self,
        scan: crate::holders::HoldersScan<'a>,
    ) -> BoxFuture<'a, Result<crate::holders::Discovery, Error>> {
        let backend = self.backend();
        Box::pin(async move {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: the {backend} source cannot list a token's holders",
                    scan.asset
                ),
            )
            .with_backend(backend))
        })
    }

    /// The tokens `owner` (a query without a token) may hold at `pin`, and where they came
    /// from. By default only the native coin, and the list is not whole: a source that can
    /// look further says so.
    fn discover_holdings<'a>(
        &'a self,
        owner: &'a Query,
        pin: &'a Pin,
        scan: crate::holdings::Scan,
    ) -> BoxFuture<'a, Result<crate::holdings::Found, Error>> {
        let _ = (pin, scan);
        let backend = self.backend();
        Box::pin(async move {
            Ok(crate::holdings::Found {
                tokens: vec![crate::query::Token::Native],
                sources: vec!["native"],
                complete: false,
                reason: Some(format!(
                    "{}: the {backend} source checks the native coin only; give the tokens to check",
                    owner.network()
                )),
                ..Default::default()
            })
        })
    }

    /// HTTP requests this source has sent (for the request counts a summary reports; 0 where
    /// the source does not count).
    fn requests_sent(&self) -> u64 {
        0
    }

    /// [`requests_sent`](Self::requests_sent) less those for logs, which a holders read counts
    /// as they go (one counter, so that it can be read while logs are asked for).
    fn requests_besides_logs(&self) -> u64 {
        self.requests_sent()
    }

    /// Whether `block` is still on `network`'s chain, asked once a batch is read, for
    /// sources whose reads do not name the block themselves (Esplora reads at a height).
    fn still_pinned<'a>(
        &'a self,
        network: Network,
        block: &'a BlockSnapshot,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let _ = (network, block);
        Box::pin(async { Ok(true) })
    }
}
