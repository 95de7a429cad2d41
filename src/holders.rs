//! Every holder of a token at one block, and the proof that the list is whole:
//! [`Client::holders`] and [`Client::holders_stream`].
//!
//! The flow is the same whatever the source: pin the network, let the source *discover* the
//! candidate owners (it may start beside the pin, on what does not need it) (on EVM chains: every address a `Transfer`, `TransferSingle` or
//! `TransferBatch` log of the contract ever named, from its creation block to the pin), read
//! every candidate's balance through the batch engine at that same block, keep those with a
//! balance, and *prove* the list: the sum of the balances against the token's own supply
//! (`totalSupply()` for ERC-20; for ERC-721 and ERC-1155 what the logs minted minus what they
//! burned, and `totalSupply` where the contract has one). Balances are read, never summed
//! from the logs, so fee-on-transfer and other odd tokens still come out exact; a list built
//! from events can miss holders whose balance changed without one (a rebasing token), and
//! then the proof fails and says so.

use std::pin::Pin as StdPin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::stream::{Stream, StreamExt};

use crate::amount::Amount;
use crate::batch::Gate;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::metadata::{Asset, TokenMetadata};
use crate::pin::{At, Snapshot};
use crate::query::{Chain, EvmAddress, Owner, Query, Token};
use crate::source::Pin;

/// How to read holders.
#[derive(Clone, Debug, Default)]
pub struct HoldersOptions {
    from_block: Option<u64>,
    min: Option<Amount>,
}

impl HoldersOptions {
    /// Scans logs from `block` on, instead of from the contract's creation block (found by
    /// bisection on `eth_getCode`, which needs a node that keeps old state). A list read from
    /// a later block can miss holders; its proof then says so.
    pub fn from_block(mut self, block: u64) -> Self {
        self.from_block = Some(block);
        self
    }

    /// Lists only holders with at least `amount` (in base units); by default every one with
    /// a balance above zero. The proof still counts every holder.
    pub fn min(mut self, amount: Amount) -> Self {
        self.min = Some(amount);
        self
    }
}

/// One holder and its balance at the pinned block.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holder {
    /// Who holds it.
    pub owner: EvmAddress,
    /// How much: for an ERC-721 collection, how many items.
    pub balance: Amount,
    /// With metadata ([`Client::with_metadata`]): the balance in whole tokens.
    pub formatted: Option<String>,
}

/// How a holders list was built, and whether it is proven whole.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HoldersSummary {
    /// How many holders (with a balance above zero; `--min` does not change it).
    pub holders: u64,
    /// The sum of their balances.
    pub sum: Amount,
    /// What the contract says exists (`totalSupply()`, or `totalSupply(id)` for ERC-1155),
    /// where it says.
    pub total_supply: Option<Amount>,
    /// ERC-721 and ERC-1155: what the logs minted minus what they burned.
    pub minted_minus_burned: Option<Amount>,
    /// Whether the sum equals every supply figure there is: the list is whole.
    pub verified: bool,
    /// Why the list is not proven whole, for a person.
    pub reason: Option<String>,
    /// The first block whose logs were read.
    pub from_block: u64,
    /// The pinned block (the last whose logs were read).
    pub to_block: u64,
    /// Logs read.
    pub logs: u64,
    /// Distinct addresses the logs named (candidates whose balance was read).
    pub candidates: u64,
    /// `eth_getLogs` requests (refused ones included).
    pub log_requests: u64,
    /// Requests that read balances and supply.
    pub balance_requests: u64,
    /// With metadata: the token's symbol, name and decimals.
    pub token: Option<TokenMetadata>,
}

/// Every holder at one block, largest first, and the summary.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HoldersOutput {
    /// The block read.
    pub snapshot: Snapshot,
    /// The holders, by balance (largest first), then by address.
    pub holders: Vec<Holder>,
    /// How the list was built and whether it is proven whole.
    pub summary: HoldersSummary,
}

/// How far a holders read has got: for a progress display, read while it runs.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Blocks whose logs have been read.
    pub blocks_done: AtomicU64,
    /// Blocks to read logs of.
    pub blocks_total: AtomicU64,
    /// Logs read.
    pub logs: AtomicU64,
    /// Distinct candidates the logs named so far.
    pub candidates: AtomicU64,
    /// Candidates whose balance has been read.
    pub balances: AtomicU64,
    /// `eth_getLogs` requests sent.
    pub log_requests: AtomicU64,
}

/// Where a source hands the candidate holders it finds, as it finds them; dropped once
/// every one is named.
pub(crate) type Found<'a> = Box<dyn FnMut(Vec<Owner>) + Send + 'a>;

/// What a source is given to find a token's candidate holders (only EVM chains read it).
#[cfg_attr(not(feature = "evm"), allow(dead_code))]
pub(crate) struct HoldersScan<'a> {
    pub asset: &'a Asset,
    /// How the pin was asked for: a source starting before the pin is known reads to the
    /// same block.
    pub at: &'a At,
    /// The pin, on its way.
    pub pin: futures::future::BoxFuture<'a, Result<Pin, Error>>,
    /// The first block to read logs from; by default the contract's creation block.
    pub from_block: Option<u64>,
    /// Whether one request may go out beside the pin's: the concurrency allows two.
    pub early: bool,
    pub gate: &'a Gate,
    pub progress: &'a Progress,
    pub found: Found<'a>,
}

/// What a source found for a token's holders (the candidates themselves went to the
/// reader as they were found): how many, and the supply figures.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    pub candidates: u64,
    pub from_block: u64,
    pub to_block: u64,
    pub minted_minus_burned: Option<Amount>,
    pub total_supply: Option<Amount>,
    /// Requests made besides the logs and the balances (the creation search, the supply).
    pub other_requests: u64,
}

/// Why `asset`'s holders cannot be listed, if they cannot (the native coin, an ERC-721 item,
/// a network that is not an EVM chain): the check [`Client::holders`] makes before any
/// request, an `invalid_input` error on the field `token`.
pub fn listable(asset: &Asset) -> Result<(), Error> {
    let refuse = |why: &str| Err(Error::invalid_input("token", &asset.to_string(), why));
    if asset.network().chain() != Chain::Ethereum {
        return refuse("holders are listed on EVM networks only (from the contract's logs)");
    }
    match asset.token() {
        Token::Native => refuse(
            "the native coin emits no logs to list its holders from; name a token contract \
             (erc20:, erc721:, erc1155:CONTRACT:ID)",
        ),
        Token::Erc721 { .. } => refuse(
            "an ERC-721 item has one holder; list the collection's holders with \
             erc721:CONTRACT",
        ),
        Token::Erc20 { .. } | Token::Erc721Count { .. } | Token::Erc1155 { .. } => Ok(()),
        Token::Aptos(_) => refuse("not an EVM token"),
    }
}

/// Holders as they are known, then the summary ([`Client::holders_stream`]).
pub struct HoldersStream<'a> {
    inner: StdPin<Box<dyn Stream<Item = Result<Holder, Error>> + Send + 'a>>,
    state: Arc<Mutex<StreamState>>,
    progress: Arc<Progress>,
}

#[derive(Default)]
struct StreamState {
    summary: Option<HoldersSummary>,
    snapshot: Snapshot,
}

impl HoldersStream<'_> {
    /// The summary, once the stream has ended without an error.
    pub fn summary(&self) -> Option<HoldersSummary> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .summary
            .clone()
    }

    /// The block read (once pinned).
    pub fn snapshot(&self) -> Snapshot {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot
            .clone()
    }

    /// How far the read has got.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }
}

impl Stream for HoldersStream<'_> {
    type Item = Result<Holder, Error>;

    fn poll_next(mut self: StdPin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for HoldersStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldersStream")
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Every holder of `asset` (an ERC-20, an ERC-721 collection, or one ERC-1155 id) at the
    /// block `at` pins, each balance read at that block, largest first; and the proof that
    /// the list is whole (see the [module docs](crate::holders)). A token that cannot be
    /// listed (the native coin, an ERC-721 item, a network that is not an EVM chain) is an
    /// error before any request.
    ///
    /// ```no_run
    /// # async fn run(client: tokbal::Client) -> Result<(), tokbal::Error> {
    /// use tokbal::holders::HoldersOptions;
    /// let usdc: tokbal::Asset = "ethereum:erc20:0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48".parse()?;
    /// let out = client.holders(&usdc, tokbal::At::Finalized, HoldersOptions::default()).await?;
    /// println!("{} holders, verified: {}", out.summary.holders, out.summary.verified);
    /// # Ok(()) }
    /// ```
    pub async fn holders(
        &self,
        asset: &Asset,
        at: At,
        options: HoldersOptions,
    ) -> Result<HoldersOutput, Error> {
        let mut stream = self.holders_stream(asset, at, options);
        let mut holders = Vec::new();
        while let Some(holder) = stream.next().await {
            holders.push(holder?);
        }
        // Owners are distinct, so the order is total: an unstable sort gives the same list
        // and takes no buffer (a stable one would take half the list again).
        holders.sort_unstable_by(|a, b| b.balance.cmp(&a.balance).then(a.owner.cmp(&b.owner)));
        let summary = stream.summary().ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                "internal: holders ended without a summary",
            )
        })?;
        Ok(HoldersOutput {
            snapshot: stream.snapshot(),
            holders,
            summary,
        })
    }

    /// [`holders`](Self::holders) as a stream: the holders in no order, handed on once the
    /// logs are read and the pinned block is proven still on the chain (their balances are
    /// read while the logs are scanned), then [`HoldersStream::summary`]. An `Err` item ends
    /// it.
    pub fn holders_stream<'a>(
        &'a self,
        asset: &Asset,
        at: At,
        options: HoldersOptions,
    ) -> HoldersStream<'a> {
        let state = Arc::new(Mutex::new(StreamState::default()));
        let progress = Arc::new(Progress::default());
        // Holders travel a chunk at a time (one message, not one per holder).
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<Holder>, Error>>();
        let run = {
            let (state, progress, asset) = (state.clone(), progress.clone(), asset.clone());
            async move {
                if let Err(e) = self
                    .read_holders(&asset, at, &options, &progress, &state, &tx)
                    .await
                {
                    let _ = tx.unbounded_send(Err(e));
                }
            }
        };
        // The work runs as the stream is polled; holders come out as they are found.
        let holders = rx.flat_map(|chunk| {
            let (holders, error) = match chunk {
                Ok(holders) => (holders, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            futures::stream::iter(holders.into_iter().map(Ok).chain(error.map(Err)))
        });
        let inner =
            futures::stream::select(holders.map(Some), futures::stream::once(run).map(|()| None))
                .filter_map(futures::future::ready);
        HoldersStream {
            inner: Box::pin(inner),
            state,
            progress,
        }
    }

    async fn read_holders(
        &self,
        asset: &Asset,
        at: At,
        options: &HoldersOptions,
        progress: &Progress,
        state: &Mutex<StreamState>,
        out: &futures::channel::mpsc::UnboundedSender<Result<Vec<Holder>, Error>>,
    ) -> Result<(), Error> {
        listable(asset)?;
        let network = asset.network();
        let (_, source) = self.sources.for_network(network)?;
        // A block that leaves the chain while its logs are read is pinned again, once; what
        // was read at it is dropped.
        let mut attempt = 0;
        let (snapshot, discovery, read, requests_before) = loop {
            // The discovery and the balances share the client's concurrency: the discovery
            // (on the way to every candidate) has a sixteenth of it to itself while it runs,
            // the balances the rest, and all of it once the discovery is done.
            // A concurrency of one is one gate for both.
            let discovery_share = (self.concurrency / 16).max(1);
            let apart = self.concurrency > discovery_share;
            let gate = Arc::new(Gate::new(if apart {
                self.concurrency - discovery_share
            } else {
                self.concurrency.max(1)
            }));
            let discovery_gate = if apart {
                Arc::new(Gate::new(discovery_share))
            } else {
                gate.clone()
            };
            // The pin, shared by the discovery (which may start before it is known) and the
            // reader, with the requests sent by then (logs aside): the balances' are those
            // sent after, less the discovery's own.
            let pinning = async {
                let pin = source.pin(network, &at).await?;
                Ok::<_, Error>((pin, source.requests_besides_logs()))
            };
            let pinning = futures::FutureExt::shared(
                Box::pin(pinning) as futures::future::BoxFuture<'_, Result<(Pin, u64), Error>>
            );
            // The candidates go to the reader as the logs name them: balances are read
            // while the scan goes on, a whole number of requests at a time.
            let (tx, rx) = futures::channel::mpsc::unbounded::<Vec<Owner>>();
            let (gate_ref, discovery_gate) = (&gate, &*discovery_gate);
            let at_ref = &at;
            let pin_for_source = pinning.clone();
            let discover = async move {
                let found: Found<'_> = Box::new(move |fresh: Vec<Owner>| {
                    let _ = tx.unbounded_send(fresh);
                });
                let scan = HoldersScan {
                    asset,
                    at: at_ref,
                    pin: Box::pin(async move { pin_for_source.await.map(|(pin, _)| pin) }),
                    from_block: options.from_block,
                    early: apart,
                    gate: discovery_gate,
                    progress,
                    found,
                };
                let discovered = source.discover_holders(scan).await;
                if apart {
                    gate_ref.widen(discovery_share);
                }
                discovered
            };
            let reader = async {
                let (pin, requests_before) = pinning.clone().await?;
                let mut snapshot = Snapshot::default();
                pin.record(&mut snapshot, network, &at);
                let read = self
                    .read_candidates(asset, &snapshot, options, progress, &gate, rx)
                    .await?;
                Ok::<_, Error>((snapshot, read, requests_before))
            };
            let (discovery, read) = futures::join!(discover, reader);
            match discovery {
                Err(e)
                    if e.code() == Some(crate::batch::REORGED)
                        && attempt == 0
                        && !matches!(at, At::Snapshot(_)) =>
                {
                    attempt += 1;
                }
                other => {
                    let discovery = other?;
                    let (snapshot, read, requests_before) = read?;
                    break (snapshot, discovery, read, requests_before);
                }
            }
        };
        state.lock().unwrap_or_else(|e| e.into_inner()).snapshot = snapshot.clone();
        let Read {
            held,
            count,
            sum,
            overflow,
            mut token,
        } = read;
        let decimals = token.as_ref().and_then(|t| t.decimals);
        for chunk in held {
            let holders = chunk
                .into_iter()
                .map(|(owner, balance)| Holder {
                    owner,
                    balance,
                    formatted: decimals.map(|d| balance.format_units(d)),
                })
                .collect();
            if out.unbounded_send(Ok(holders)).is_err() {
                // The caller stopped listening.
                return Ok(());
            }
            // Lets the caller take this chunk before the next is sent: a million holders are
            // never held twice over.
            tokio::task::yield_now().await;
        }
        if self.metadata && token.is_none() {
            // No holder to carry it: read it on its own.
            token = self
                .metadata(std::slice::from_ref(asset), At::Snapshot(snapshot.clone()))
                .await
                .results
                .pop()
                .and_then(Result::ok);
        }
        let (verified, reason) = prove(asset, sum, overflow, &discovery, options.from_block);
        let summary = HoldersSummary {
            holders: count,
            sum,
            total_supply: discovery.total_supply,
            minted_minus_burned: discovery.minted_minus_burned,
            verified,
            reason,
            from_block: discovery.from_block,
            to_block: discovery.to_block,
            logs: progress.logs.load(Ordering::Relaxed),
            candidates: discovery.candidates,
            log_requests: progress.log_requests.load(Ordering::Relaxed),
            balance_requests: source
                .requests_besides_logs()
                .saturating_sub(requests_before)
                .saturating_sub(discovery.other_requests),
            token,
        };
        state.lock().unwrap_or_else(|e| e.into_inner()).summary = Some(summary);
        Ok(())
    }

    /// Reads the balance of every candidate `found` hands on, at `snapshot`, as they come: in
    /// chunks of whole requests (the source's calls per request) while more may come, the
    /// rest at the end, so that the requests are as many as one batch of every candidate
    /// would take. At most two rounds of requests (the concurrency's worth) are being read
    /// or prepared at once, their requests let through by `gate`; candidates found meanwhile
    /// wait, held once.
    async fn read_candidates(
        &self,
        asset: &Asset,
        snapshot: &Snapshot,
        options: &HoldersOptions,
        progress: &Progress,
        gate: &Arc<Gate>,
        mut found: futures::channel::mpsc::UnboundedReceiver<Vec<Owner>>,
    ) -> Result<Read, Error> {
        let network = asset.network();
        let (_, source) = self.sources.for_network(network)?;
        let group = source.max_group().max(1);
        let round = group * self.concurrency.max(1);
        let min = options
            .min
            .unwrap_or(Amount::from(1u64))
            .max(Amount::from(1u64));
        let read_chunk = |chunk: Vec<Owner>| async move {
            let queries = chunk
                .iter()
                .map(|owner| Query::from_parts(network, owner.clone(), asset.token().clone()));
            let at = At::Snapshot(snapshot.clone());
            let mut balances = self.balances_stream_gated(queries, at, gate.clone());
            let mut read = Read::default();
            while let Some((index, result)) = balances.next().await {
                progress.balances.fetch_add(1, Ordering::Relaxed);
                let balance = result?;
                if let Some(Owner::Evm(owner)) = chunk.get(index) {
                    read.take(*owner, &balance, min);
                }
            }
            Ok::<(usize, Read), Error>((chunk.len(), read))
        };
        let mut read = Read::default();
        let mut reading = futures::stream::FuturesUnordered::new();
        // Candidates waiting, and how many are being read.
        let mut pending: Vec<Owner> = Vec::new();
        let mut in_reading = 0usize;
        let mut more = true;
        loop {
            // Whole requests while more may come (the rest at the end), so that the requests
            // are as many as one batch of every candidate would take; at most two rounds
            // at once, each chunk at most one.
            let whole = if more {
                pending.len() / group * group
            } else {
                pending.len()
            };
            let take = whole.min(round).min((2 * round).saturating_sub(in_reading));
            if take > 0 {
                in_reading += take;
                reading.push(read_chunk(pending.drain(..take).collect()));
                continue;
            }
            if !more && reading.is_empty() {
                return Ok(read);
            }
            tokio::select! {
                next = found.next(), if more && in_reading < 2 * round => {
                    more = next.is_some();
                    pending.extend(next.unwrap_or_default());
                }
                Some(chunk) = reading.next(), if !reading.is_empty() => {
                    let (size, chunk) = chunk?;
                    in_reading -= size;
                    read.add(chunk);
                }
            }
        }
    }
}

/// The balances read so far: the holders at or above the minimum, and the figures over
/// every holder.
#[derive(Default)]
struct Read {
    /// By chunk of candidates read: each holder at or above the minimum, and its balance
    /// (its amount in whole tokens is written when it is handed on).
    held: Vec<Vec<(EvmAddress, Amount)>>,
    count: u64,
    sum: Amount,
    overflow: bool,
    token: Option<TokenMetadata>,
}

impl Read {
    /// Takes in what another chunk read.
    fn add(&mut self, other: Read) {
        self.count += other.count;
        match self.sum.as_u256().checked_add(other.sum.as_u256()) {
            Some(s) => self.sum = Amount::from(s),
            None => self.overflow = true,
        }
        self.overflow |= other.overflow;
        if self.token.is_none() {
            self.token = other.token;
        }
        self.held.extend(other.held);
    }

    fn take(&mut self, owner: EvmAddress, balance: &crate::Balance, min: Amount) {
        if balance.amount == Amount::ZERO {
            return;
        }
        self.count += 1;
        match self.sum.as_u256().checked_add(balance.amount.as_u256()) {
            Some(s) => self.sum = Amount::from(s),
            None => self.overflow = true,
        }
        if self.token.is_none() {
            self.token = balance.token.as_deref().cloned();
        }
        if balance.amount >= min {
            let holder = (owner, balance.amount);
            match self.held.last_mut() {
                Some(chunk) => chunk.push(holder),
                None => self.held.push(vec![holder]),
            }
        }
    }
}

/// Whether `sum` equals every supply figure there is, and if not, why.
fn prove(
    asset: &Asset,
    sum: Amount,
    overflow: bool,
    discovery: &Discovery,
    from_block: Option<u64>,
) -> (bool, Option<String>) {
    if overflow {
        return (
            false,
            Some("the balances add up to more than 2^256 - 1: the contract's numbers are not a token's".into()),
        );
    }
    let figures: Vec<(&str, Amount)> = [
        ("totalSupply", discovery.total_supply),
        (
            "minted minus burned in the logs",
            discovery.minted_minus_burned,
        ),
    ]
    .into_iter()
    .filter_map(|(what, v)| v.map(|v| (what, v)))
    .collect();
    if figures.is_empty() {
        let what = match asset.token() {
            Token::Erc20 { .. } => "the contract answered no totalSupply()",
            _ => "there is no supply figure to hold the sum against",
        };
        return (
            false,
            Some(format!("nothing to prove the list with: {what}")),
        );
    }
    let wrong: Vec<String> = figures
        .iter()
        .filter(|(_, v)| *v != sum)
        .map(|(what, v)| format!("{what} is {v}"))
        .collect();
    if wrong.is_empty() {
        return (true, None);
    }
    let mut why = format!(
        "the holders' balances add up to {sum}, but {}. A list built from events misses any \
         holder whose balance changed without one (a rebasing or fee-taking token, balances \
         set at deployment, a non-standard mint)",
        wrong.join(" and ")
    );
    if let Some(from) = from_block {
        why.push_str(&format!(
            "; and logs were read from block {from} on, not from the contract's creation"
        ));
    }
    (false, Some(why))
}
