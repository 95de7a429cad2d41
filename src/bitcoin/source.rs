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
//! exact, however the chain grew meanwhile; if they moved, the address is read again.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use futures::future::BoxFuture;

use super::errors::esplora_error;
use super::EsploraClient;
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
/// How many times an address whose totals move while it is read is read again (a new block
/// every ten minutes rarely lands inside one read, so a second attempt almost always does).
const READ_ATTEMPTS: usize = 5;

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

/// What a time search keeps of a block besides its median time past (the search key).
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
            format!("0x{}", block.hash),
            UNIX_EPOCH + Duration::from_secs(block.timestamp),
        ))
    }

    /// The pin for `at`.
    async fn pin(&self, network: Network, at: &At) -> Result<BlockSnapshot, Error> {
        match at {
            At::Snapshot(given) => match given.get(network) {
                Some(entry) => match (entry.block, &entry.block_hash, entry.block_time) {
                    (Some(number), Some(hash), Some(time)) => {
                        let mut b = BlockSnapshot::new(number, hash.clone(), time);
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

    /// The last block whose median time past is at or before `t`. Header times may go
    /// backwards from one block to the next; the median of the last eleven never does, so it
    /// orders blocks in time (it trails the header times by about an hour).
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
        let tip_height = self.client.tip_height().await?;
        let tip = self.point(tip_height).await?;
        if target >= tip.time {
            let mut b = Self::snapshot_of(tip);
            b.at = Some(t);
            b.at_tip = true;
            return Ok(b);
        }
        let lo = self.point(0).await?;
        if lo.time > target {
            return Err(esplora_error(
                ErrorKind::InvalidInput,
                format!("{when} is before {network}'s first block"),
            ));
        }
        let hi = Point {
            height: tip.height + 1,
            time: tip.time.saturating_add(1),
            data: ([0; 32], 0),
        };
        let found = last_at_or_before(target, lo, hi, &self.blocks, |h| self.point(h)).await?;
        let mut b = Self::snapshot_of(found);
        b.at = Some(t);
        Ok(b)
    }

    /// A block's height, median time past and hash, from the cache or the server.
    async fn point(&self, height: u64) -> Result<Point<BlockData>, Error> {
        if let Some(p) = self.blocks.get(height) {
            return Ok(p);
        }
        let hash = self.client.block_hash_at(height).await?;
        let block = self.client.block(&hash).await?;
        let p = Point {
            height: block.height,
            time: block.median_time,
            data: (hash_bytes(&block.hash)?, block.timestamp),
        };
        self.blocks.insert(p);
        Ok(p)
    }

    /// The pin for a block the search found: no request, the point has all it needs.
    fn snapshot_of(p: Point<BlockData>) -> BlockSnapshot {
        let (hash, timestamp) = p.data;
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        BlockSnapshot::new(
            p.height,
            format!("0x{hex}"),
            UNIX_EPOCH + Duration::from_secs(timestamp),
        )
    }

    /// The confirmed balance of `address` at height `h`, exact while the chain grows.
    async fn balance_at(&self, address: &str, h: u64) -> Result<Amount, Error> {
        for attempt in 0..READ_ATTEMPTS {
            let before = self.client.address_stats(address).await?;
            let mut above: i128 = 0;
            let mut moved_above = false;
            let mut last_seen: Option<String> = None;
            'pages: loop {
                let page = self
                    .client
                    .address_txs_chain(address, last_seen.as_deref())
                    .await?;
                let full = page.len() >= PAGE_SIZE;
                for tx in &page {
                    match tx.height {
                        Some(height) if height > h => {
                            above += tx.net;
                            moved_above = true;
                        }
                        Some(_) => break 'pages,
                        // Listed as confirmed history without a height: skipped, as the
                        // mempool is.
                        None => {}
                    }
                }
                match page.last() {
                    Some(last) if full => last_seen = Some(last.txid.clone()),
                    _ => break,
                }
            }
            let total = before.balance().ok_or_else(|| {
                esplora_error(
                    ErrorKind::Decode,
                    format!("{address}: the server says more was spent than received"),
                )
            })?;
            if !moved_above {
                // Nothing above H when the pages were read, so nothing above H when the
                // totals (read earlier) were: they are the balance at H.
                return Ok(Amount::from(total));
            }
            let after = self.client.address_stats(address).await?;
            if after == before {
                let at_h = i128::from(total) - above;
                return u64::try_from(at_h).map(Amount::from).map_err(|_| {
                    esplora_error(
                        ErrorKind::Decode,
                        format!(
                            "{address}: the history above height {h} does not add up to the \
                             totals ({at_h} satoshis)"
                        ),
                    )
                });
            }
            // The address moved while it was read: read it again, after a pause that grows.
            tokio::time::sleep(Duration::from_millis(20 * (attempt as u64 + 1))).await;
        }
        Err(esplora_error(
            ErrorKind::Unavailable,
            format!("{address}: its history kept changing while it was read; try again"),
        ))
    }
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
            Ok(format!("0x{now}") == block.hash)
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
