//! The Bitcoin source as the engine sees it: one address per unit, every address of a network
//! read at one height, the balance at that height computed from the address's confirmed
//! totals and its history above the height.
//!
//! Esplora has no "balance at height" call. `GET /address/:a` gives the confirmed totals now;
//! `GET /address/:a/txs/chain` pages the confirmed history newest first. The balance at H is
//! the totals minus what the transactions above H did. An address with nothing above H costs
//! two requests (the totals, and the first page, whose newest transaction is at or below H).
//! When something is above H, the totals are read again after the pages: if they did not
//! move, the pages and the totals describe one state of the chain and the subtraction is
//! exact, however the chain grew meanwhile. If they moved, only what is new is read: the
//! newest page again, down to the newest transaction already read, and the totals again.
//! The history only grows at the top, so the transactions at or below H are a fixed number
//! B, and each read of the history between two reads of the totals bounds B by the totals'
//! `tx_count` (`before - read <= B <= after - read`, `read` the transactions above H known
//! when that page was read). Once the bounds meet and the last totals count exactly B plus
//! the transactions known above H, those totals and those transactions describe one state:
//! the balance at H is exact. Each further round costs about two requests, so an address
//! that receives something in most blocks converges however far back H is. Bounds that
//! contradict each other, or a newest page that does not lead down to what was read before,
//! mean the history changed under the read (a reorganization): the address is read again
//! from the start.
//!
//! A time pins the largest height whose header time is at or before it (see
//! [`EsploraNode::block_at_time`]).

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use futures::future::BoxFuture;

use super::errors::esplora_error;
use super::{AddressStats, AddressTx, EsploraClient};
use crate::amount::Amount;
use crate::balance::Balance;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::pin::{At, BlockSnapshot};
use crate::query::{Backend, Network, Owner, Query};
use crate::source::{Pin, Read, Source};
use crate::timesearch::{last_at_or_before, BlockCache, Point};

/// Confirmations a block needs to count as final here: the tip and five below it.
pub const FINALITY_DEPTH: u64 = 5;
/// Transactions per page of `/address/:a/txs/chain`, Esplora's fixed page size.
pub const PAGE_SIZE: usize = 25;
/// Most rounds of "what is new at the top, then the totals" after the first read of an
/// address. A round ends the read unless something reached the address within about one
/// request of it; a new block every ten minutes rarely does, so one or two rounds almost
/// always do.
const MAX_ROUNDS: usize = 32;
/// How many times an address whose history changed under the read (a reorganization) is
/// read again from the start.
const MAX_RESTARTS: usize = 3;
/// Transactions that may reach an address between two requests, over what its totals
/// count, before a read that pages further is given up and started again (a block holds a
/// few thousand transactions, rarely that many for one address).
const ARRIVAL_SLACK: u64 = 2_500;
/// How many blocks past a guess a search step asks for: `GET /blocks/:start_height` lists
/// ten blocks down from its start, so starting a little above the guess brings the blocks on
/// both sides of it.
const LIST_AHEAD: u64 = 4;
/// Blocks below the last one whose median time past is at or before an instant that can
/// still be the last one whose header time is (see [`EsploraNode::block_at_time`]).
const HEADER_TIME_REACH: u64 = 5;

/// One Esplora server per Bitcoin network.
pub(crate) struct EsploraSource {
    nodes: BTreeMap<Network, EsploraNode>,
}

/// An Esplora server and what time searches learned of its blocks.
pub(crate) struct EsploraNode {
    client: EsploraClient,
    /// Height -> median time past, and the block's hash and header time.
    blocks: BlockCache<BlockData>,
}

/// What a time search keeps of a block besides its median time past (the search key): its
/// hash and its header time.
type BlockData = ([u8; 32], u64);

impl EsploraSource {
    pub(crate) fn new(nodes: BTreeMap<Network, EsploraClient>) -> Self {
        EsploraSource {
            nodes: nodes
                .into_iter()
                .map(|(n, client)| {
                    let node = EsploraNode {
                        client,
                        blocks: BlockCache::default(),
                    };
                    (n, node)
                })
                .collect(),
        }
    }

    /// The Bitcoin networks this source serves.
    pub(crate) fn networks(&self) -> Vec<Network> {
        self.nodes.keys().copied().collect()
    }

    fn node(&self, network: Network) -> Result<&EsploraNode, Error> {
        self.nodes.get(&network).ok_or_else(|| {
            esplora_error(
                ErrorKind::Unsupported,
                format!(
                    "{network}: no Esplora endpoint is configured; give one with \
                     ClientBuilder::endpoint (CLI: --endpoint {network}=URL)"
                ),
            )
        })
    }
}

impl EsploraNode {
    /// The block at `height`: its hash and header time.
    async fn block_at(&self, height: u64) -> Result<BlockSnapshot, Error> {
        let hash = self.client.block_hash_at(height).await?;
        let block = self.client.block(&hash).await?;
        Ok(BlockSnapshot::new(
            block.height,
            block.hash,
            UNIX_EPOCH + Duration::from_secs(block.timestamp),
        ))
    }

    /// The pin for `at`.
    async fn pin(&self, network: Network, at: &At) -> Result<BlockSnapshot, Error> {
        match at {
            At::Snapshot(given) => match given.get(network) {
                Some(entry) => match (entry.block, &entry.block_hash, entry.block_time) {
                    (Some(number), Some(hash), Some(time)) => {
                        // Snapshots written before hashes lost their `0x` still read.
                        let mut b = BlockSnapshot::new(number, plain_hash(hash), time);
                        b.at = entry.at;
                        b.at_tip = entry.at_tip;
                        b.finalized = entry.finalized;
                        Ok(b)
                    }
                    _ => Err(esplora_error(
                        ErrorKind::InvalidInput,
                        format!(
                            "the snapshot's entry for {network} has no block, block_hash and \
                             block_time"
                        ),
                    )),
                },
                None => self.latest().await,
            },
            At::Blocks(chosen) => match chosen.get(&network) {
                Some(&height) => self.block_at(height).await,
                None => self.latest().await,
            },
            At::Finalized => {
                let tip = self.client.tip_height().await?;
                let mut b = self.block_at(tip.saturating_sub(FINALITY_DEPTH)).await?;
                b.finalized = true;
                Ok(b)
            }
            At::Time(t) => self.block_at_time(network, *t).await,
            _ => self.latest().await,
        }
    }

    async fn latest(&self) -> Result<BlockSnapshot, Error> {
        let tip = self.client.tip_height().await?;
        self.block_at(tip).await
    }

    /// The pin for instant `t`: the largest height whose header time is at or before `t`,
    /// as on the other chains (their last block at or before `t`).
    ///
    /// Header times may go backwards from one block to the next, but consensus keeps each
    /// above the median time past of the eleven blocks before it (Esplora's `mediantime` of
    /// the parent), and that median never decreases. So, with M the last block whose median
    /// time past is at or before `t`: every block from M + 2 on has a header time after `t`
    /// (above the median of M + 1, which is after `t`), and at least six of the eleven blocks
    /// ending with M have header times at or before `t` (the median of M is), the newest of
    /// them M - 5 or later. The search runs on the median time past, then looks at the
    /// header times of M - 5 to M + 1. Every step reads ten blocks in one request
    /// (`GET /blocks/:start_height`), so those seven usually come with the last step: a pin
    /// costs one request for the newest blocks, one for the genesis block (the first time),
    /// and one per step of the search.
    async fn block_at_time(
        &self,
        network: Network,
        t: std::time::SystemTime,
    ) -> Result<BlockSnapshot, Error> {
        let when = crate::time::format_rfc3339(t);
        let target = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::invalid_input("at", &when, "before 1970-01-01T00:00:00Z"))?
            .as_secs();
        let newest = self.client.blocks(None).await?;
        self.remember(&newest)?;
        let tip = match newest.first() {
            Some(b) => self.point(b.height, b.height).await?,
            None => {
                return Err(esplora_error(
                    ErrorKind::Decode,
                    "Esplora newest blocks: the answer lists no block",
                ))
            }
        };
        if tip.data.1 <= target {
            let mut b = Self::snapshot_of(tip);
            b.at = Some(t);
            b.at_tip = true;
            return Ok(b);
        }
        let last_by_median = if tip.time <= target {
            tip
        } else {
            let genesis = self.point(0, 0).await?;
            // The genesis block's median time past is its header time, and every later
            // block's header time is above it.
            if genesis.time > target {
                return Err(esplora_error(
                    ErrorKind::InvalidInput,
                    format!("{when} is before {network}'s first block"),
                ));
            }
            // Each step reads the blocks on both sides of its guess.
            last_at_or_before(target, genesis, tip, &self.blocks, |h| {
                self.point(h, h.saturating_add(LIST_AHEAD).min(tip.height))
            })
            .await?
        };
        let m = last_by_median.height;
        let top = m.saturating_add(1).min(tip.height);
        let mut height = top;
        loop {
            // One list from `top` holds every block that can be the answer.
            let p = self.point(height, top).await?;
            if p.data.1 <= target {
                let mut b = Self::snapshot_of(p);
                b.at = Some(t);
                return Ok(b);
            }
            if height == 0 || height.saturating_add(HEADER_TIME_REACH) <= m {
                break;
            }
            height -= 1;
        }
        Err(esplora_error(
            ErrorKind::Decode,
            format!(
                "{network}: no block from height {} to {top} has a header time at or before \
                 {when}, yet block {m}'s median time past is: the server's block times \
                 contradict each other",
                m.saturating_sub(HEADER_TIME_REACH)
            ),
        ))
    }

    /// A block's height, median time past, hash and header time, from the cache or the
    /// server. A miss reads the ten blocks from `start` (at or above `height`) down, and
    /// keeps them all.
    async fn point(&self, height: u64, start: u64) -> Result<Point<BlockData>, Error> {
        if let Some(p) = self.blocks.get(height) {
            return Ok(p);
        }
        self.remember(&self.client.blocks(Some(start.max(height))).await?)?;
        if let Some(p) = self.blocks.get(height) {
            return Ok(p);
        }
        // A server that lists fewer blocks than Esplora's ten: ask from the height itself.
        self.remember(&self.client.blocks(Some(height)).await?)?;
        self.blocks.get(height).ok_or_else(|| {
            esplora_error(
                ErrorKind::Decode,
                format!("Esplora blocks from height {height} down: block {height} is not listed"),
            )
        })
    }

    /// Keeps what a search needs of `blocks`.
    fn remember(&self, blocks: &[super::Block]) -> Result<(), Error> {
        for b in blocks {
            self.blocks.insert(Point {
                height: b.height,
                time: b.median_time,
                data: (hash_bytes(&b.hash)?, b.timestamp),
            });
        }
        Ok(())
    }

    /// The pin for a block the search found: no request, the point has all it needs.
    fn snapshot_of(p: Point<BlockData>) -> BlockSnapshot {
        let (hash, timestamp) = p.data;
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        BlockSnapshot::new(p.height, hex, UNIX_EPOCH + Duration::from_secs(timestamp))
    }

    /// The confirmed balance of `address` at height `h`, exact while the chain grows (see
    /// the module documentation).
    async fn balance_at(&self, address: &str, h: u64) -> Result<Amount, Error> {
        for _ in 0..=MAX_RESTARTS {
            let first = self.client.address_stats(address).await?;
            let Some(mut known) = self.above(address, h, pages_for(first.tx_count)).await? else {
                continue;
            };
            if known.is_empty() {
                // Nothing above H when the pages were read, so nothing above H when the
                // totals (read earlier) were: they are the balance at H.
                return total(address, &first).map(Amount::from);
            }
            let mut below = Below::default();
            let mut before = first;
            for round in 0..=MAX_ROUNDS {
                let after = self.client.address_stats(address).await?;
                if !below.narrow(&before, &after, known.len()) {
                    break;
                }
                if below.exact_with(&after, known.len()) {
                    let above: i128 = known.iter().map(|t| t.net).sum();
                    let at_h = i128::from(total(address, &after)?) - above;
                    return u64::try_from(at_h).map(Amount::from).map_err(|_| {
                        esplora_error(
                            ErrorKind::Decode,
                            format!(
                                "{address}: the history above height {h} does not add up to \
                                 the totals ({at_h} satoshis)"
                            ),
                        )
                    });
                }
                if round == MAX_ROUNDS {
                    return Err(esplora_error(
                        ErrorKind::Unavailable,
                        format!(
                            "{address}: transactions kept reaching it while it was read \
                             ({MAX_ROUNDS} rounds); try again"
                        ),
                    ));
                }
                // At most this many can have arrived by the time of `after`: B is at least
                // `below.lo`.
                let arrived = after
                    .tx_count
                    .saturating_sub(below.lo.saturating_add(known.len() as u64));
                match self.arrived(address, h, &known, pages_for(arrived)).await? {
                    Some(mut new) => {
                        new.append(&mut known);
                        known = new;
                    }
                    None => break,
                }
                before = after;
            }
            // The history changed under the read: read the address again from the start.
        }
        Err(esplora_error(
            ErrorKind::Unavailable,
            format!("{address}: its history kept changing while it was read; try again"),
        ))
    }

    /// The confirmed transactions of `address` above `h`, newest first: its history read page
    /// by page from the newest until a transaction at or below `h`. `None` past `max_pages`
    /// pages (more than the totals count: the history changed, or the server pages without
    /// end).
    async fn above(
        &self,
        address: &str,
        h: u64,
        max_pages: usize,
    ) -> Result<Option<Vec<AddressTx>>, Error> {
        let mut out = Vec::new();
        let mut last_seen: Option<String> = None;
        for _ in 0..max_pages {
            let page = self
                .client
                .address_txs_chain(address, last_seen.as_deref())
                .await?;
            let full = page.len() >= PAGE_SIZE;
            let next = page.last().map(|t| t.txid.clone());
            for tx in page {
                match tx.height {
                    Some(height) if height > h => out.push(tx),
                    Some(_) => return Ok(Some(out)),
                    // Listed as confirmed history without a height: skipped, as the
                    // mempool is.
                    None => {}
                }
            }
            match next {
                Some(txid) if full => last_seen = Some(txid),
                _ => return Ok(Some(out)),
            }
        }
        Ok(None)
    }

    /// The transactions of `address` above `h` that arrived on top of `known` (its
    /// transactions above `h`, newest first, as read before), newest first: its history read
    /// from the newest page down to the newest of `known`. `None` when the history does not
    /// lead down to `known` as it was read (a reorganization changed it), or not within
    /// `max_pages` pages.
    async fn arrived(
        &self,
        address: &str,
        h: u64,
        known: &[AddressTx],
        max_pages: usize,
    ) -> Result<Option<Vec<AddressTx>>, Error> {
        let Some(top) = known.first() else {
            return Ok(None);
        };
        let mut new = Vec::new();
        let mut last_seen: Option<String> = None;
        for _ in 0..max_pages {
            let page = self
                .client
                .address_txs_chain(address, last_seen.as_deref())
                .await?;
            let full = page.len() >= PAGE_SIZE;
            let mut rest = page.iter().filter(|t| t.height.is_some());
            for tx in rest.by_ref() {
                if tx.txid == top.txid {
                    // The rest of the page must be what was read below it.
                    let same = tx.height == top.height
                        && follows(rest, known.get(1..).unwrap_or_default(), h);
                    return Ok(same.then_some(new));
                }
                if tx.height.is_some_and(|height| height <= h) {
                    return Ok(None);
                }
                new.push(tx.clone());
            }
            match page.last() {
                Some(last) if full => last_seen = Some(last.txid.clone()),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// How many pages a paging loop reads for `transactions` transactions before it gives up:
/// enough for them, for [`ARRIVAL_SLACK`] more arriving meanwhile, and for the page that
/// shows where they end. A server that pages without end would otherwise keep it forever.
fn pages_for(transactions: u64) -> usize {
    let txs = transactions.saturating_add(ARRIVAL_SLACK);
    usize::try_from(txs / PAGE_SIZE as u64 + 2).unwrap_or(usize::MAX)
}

/// Whether `listed` (the rest of a page, newest first) is `known` (read before, newest
/// first, all above `h`) for as long as both go: the same transactions above `h`, in the
/// same order, at the same heights, and nothing else above `h`.
fn follows<'a>(listed: impl Iterator<Item = &'a AddressTx>, known: &[AddressTx], h: u64) -> bool {
    let mut known = known.iter();
    for tx in listed {
        let above = tx.height.is_some_and(|height| height > h);
        match known.next() {
            Some(k) if above => {
                if k.txid != tx.txid || k.height != tx.height {
                    return false;
                }
            }
            // Something known is missing where the page reached H already.
            Some(_) => return false,
            // The page goes on below what is known: it must be at or below H.
            None => return !above,
        }
    }
    true
}

/// The confirmed balance the totals say, funded minus spent.
fn total(address: &str, stats: &AddressStats) -> Result<u64, Error> {
    stats.balance().ok_or_else(|| {
        esplora_error(
            ErrorKind::Decode,
            format!("{address}: the server says more was spent than received"),
        )
    })
}

/// What the totals' transaction counts say of B, the number of an address's confirmed
/// transactions at or below H: B does not change while the chain grows (new transactions
/// come at the top), and a history read between two reads of the totals, `read`
/// transactions above H when its newest page was read, puts B between `before.tx_count -
/// read` and `after.tx_count - read`.
#[derive(Clone, Copy, Debug)]
struct Below {
    lo: u64,
    hi: u64,
}

impl Default for Below {
    fn default() -> Self {
        Below {
            lo: 0,
            hi: u64::MAX,
        }
    }
}

impl Below {
    /// Narrows the bounds with a read of `read` transactions above H between the totals
    /// `before` and `after`. `false` when the totals and the reads cannot all be true of one
    /// growing history: the counts went down, the sums moved without the count, or the
    /// bounds no longer meet.
    fn narrow(&mut self, before: &AddressStats, after: &AddressStats, read: usize) -> bool {
        let read = read as u64;
        if after.tx_count < before.tx_count
            || (after.tx_count == before.tx_count && after != before)
            || after.tx_count < read
        {
            return false;
        }
        self.lo = self.lo.max(before.tx_count.saturating_sub(read));
        self.hi = self.hi.min(after.tx_count - read);
        self.lo <= self.hi
    }

    /// Whether B is known and `after` counts exactly B plus the `read` transactions above H:
    /// then `after` and those transactions describe one state of the address.
    fn exact_with(&self, after: &AddressStats, read: usize) -> bool {
        self.lo == self.hi && after.tx_count.checked_sub(read as u64) == Some(self.lo)
    }
}

/// A Bitcoin block hash as Bitcoin software writes it: 64 hex digits without `0x`, lower
/// case (snapshots written with `0x` still read).
pub(crate) fn plain_hash(hash: &str) -> String {
    let bare = hash
        .strip_prefix("0x")
        .or_else(|| hash.strip_prefix("0X"))
        .unwrap_or(hash);
    bare.to_ascii_lowercase()
}

fn hash_bytes(hex: &str) -> Result<[u8; 32], Error> {
    let bad = || esplora_error(ErrorKind::Decode, format!("{hex:?} is not a block hash"));
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

impl Source for EsploraSource {
    /// A Bitcoin address holds BTC and nothing else: the list is whole.
    fn discover_holdings<'a>(
        &'a self,
        _owner: &'a Query,
        _pin: &'a Pin,
        _scan: crate::holdings::Scan,
    ) -> BoxFuture<'a, Result<crate::holdings::Found, Error>> {
        Box::pin(async {
            Ok(crate::holdings::Found {
                tokens: vec![crate::query::Token::Native],
                sources: vec!["native"],
                complete: true,
                ..Default::default()
            })
        })
    }

    fn backend(&self) -> Backend {
        Backend::Esplora
    }

    fn max_group(&self) -> usize {
        1
    }

    fn pin<'a>(&'a self, network: Network, at: &'a At) -> BoxFuture<'a, Result<Pin, Error>> {
        Box::pin(async move { self.node(network)?.pin(network, at).await.map(Pin::Block) })
    }

    fn read<'a>(&'a self, queries: &'a [Query], pin: Option<&'a Pin>) -> BoxFuture<'a, Read> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(queries.len());
            for query in queries {
                results.push(self.read_one(query, pin).await);
            }
            Read { results, pin: None }
        })
    }

    fn still_pinned<'a>(
        &'a self,
        network: Network,
        block: &'a BlockSnapshot,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let node = self.node(network)?;
            let now = node.client.block_hash_at(block.number).await?;
            Ok(now == plain_hash(&block.hash))
        })
    }
}

impl EsploraSource {
    async fn read_one(&self, query: &Query, pin: Option<&Pin>) -> Result<Balance, Error> {
        let Some(Pin::Block(block)) = pin else {
            return Err(esplora_error(
                ErrorKind::Unsupported,
                format!("an Esplora server reads at a height, not at {pin:?}"),
            ));
        };
        let Owner::Bitcoin(address) = query.owner() else {
            return Err(esplora_error(
                ErrorKind::InvalidInput,
                format!("{query} is not a Bitcoin query"),
            ));
        };
        let node = self.node(query.network())?;
        let amount = node.balance_at(address.as_str(), block.number).await?;
        Ok(Balance::at_block(amount, block.number))
    }
}

impl Client {
    /// The Esplora client serving `network`, if one is configured.
    pub fn esplora(&self, network: Network) -> Option<&EsploraClient> {
        self.sources
            .find::<EsploraSource>()?
            .nodes
            .get(&network)
            .map(|n| &n.client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8, height: Option<u64>) -> AddressTx {
        AddressTx {
            txid: format!("{n:064x}"),
            height,
            net: i128::from(n),
        }
    }

    fn stats(tx_count: u64, funded: u64) -> AddressStats {
        AddressStats {
            funded_txo_sum: funded,
            spent_txo_sum: 0,
            tx_count,
        }
    }

    /// An address with 40 transactions at or below H, receiving while it is read.
    #[test]
    fn the_counts_pin_the_transactions_below_h() {
        // A first read sees 5 above H while the totals go from 44 to 47: B is 39 to 42.
        let mut b = Below::default();
        assert!(b.narrow(&stats(44, 1), &stats(47, 2), 5));
        assert_eq!((b.lo, b.hi), (39, 42));
        assert!(!b.exact_with(&stats(47, 2), 5));
        // The newest page between the totals 47 and 49: 8 above H, B between 39 and 41.
        assert!(b.narrow(&stats(47, 2), &stats(49, 3), 8));
        assert_eq!((b.lo, b.hi), (39, 41));
        // Between 49 and 49 (nothing came): B = 49 - 9 = 40, and the totals count it.
        assert!(b.narrow(&stats(49, 3), &stats(49, 3), 9));
        assert_eq!((b.lo, b.hi), (40, 40));
        assert!(b.exact_with(&stats(49, 3), 9));
        // Bounds that meet without the last totals counting exactly B plus what is read.
        let mut b = Below::default();
        assert!(b.narrow(&stats(10, 1), &stats(12, 2), 2)); // 8..=10
        assert!(b.narrow(&stats(12, 2), &stats(13, 3), 5)); // 8..=8 (7..=8)
        assert!(!b.exact_with(&stats(14, 4), 5));
        assert!(b.exact_with(&stats(13, 3), 5));
    }

    #[test]
    fn counts_that_cannot_be_true_of_a_growing_history_are_refused() {
        // Fewer transactions than before, the sums moved without the count, fewer in all
        // than above H, and bounds that no longer meet.
        assert!(!Below::default().narrow(&stats(10, 1), &stats(9, 1), 2));
        assert!(!Below::default().narrow(&stats(10, 1), &stats(10, 2), 2));
        assert!(!Below::default().narrow(&stats(1, 1), &stats(2, 2), 3));
        let mut b = Below::default();
        assert!(b.narrow(&stats(10, 1), &stats(10, 1), 4)); // 6
        assert!(!b.narrow(&stats(10, 1), &stats(11, 2), 6)); // 4..=5
    }

    #[test]
    fn a_page_follows_what_was_read_below_its_newest_known() {
        let known = [tx(3, Some(30)), tx(2, Some(20)), tx(1, Some(11))];
        let h = 10;
        let page = |txs: &[AddressTx]| txs.to_vec();
        // The same transactions, then one at or below H: as read.
        let same = page(&[tx(2, Some(20)), tx(1, Some(11)), tx(0, Some(9))]);
        assert!(follows(same.iter(), &known[1..], h));
        // A page that ends before the known ones do: as far as it goes, as read.
        assert!(follows(same[..1].iter(), &known[1..], h));
        // One missing, one in another block, one more above H, H reached too early.
        let missing = page(&[tx(1, Some(11)), tx(0, Some(9))]);
        assert!(!follows(missing.iter(), &known[1..], h));
        let moved = page(&[tx(2, Some(21)), tx(1, Some(11))]);
        assert!(!follows(moved.iter(), &known[1..], h));
        let extra = page(&[tx(2, Some(20)), tx(1, Some(11)), tx(7, Some(12))]);
        assert!(!follows(extra.iter(), &known[1..], h));
        let early = page(&[tx(2, Some(20)), tx(0, Some(9))]);
        assert!(!follows(early.iter(), &known[1..], h));
    }

    #[test]
    fn plain_hashes() {
        let h = "00000000000000000002a7c4c1e48d76c5a37902165a270156b7a8d72728a054";
        assert_eq!(plain_hash(h), h);
        assert_eq!(plain_hash(&format!("0x{h}")), h);
        assert_eq!(plain_hash(&format!("0X{}", h.to_uppercase())), h);
    }
}
