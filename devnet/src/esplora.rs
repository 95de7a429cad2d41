//! An in-process Esplora server: the slice of the HTTP API of blockstream.info,
//! mempool.space and electrs that tokbal reads Bitcoin balances with, in Esplora's exact
//! shapes.
//!
//! [`EsploraNode`] holds a synthetic Bitcoin chain (computed blocks, forks), a ledger of
//! transactions with per-address histories and tracked outputs, a mempool, seeded histories
//! for benchmarks, the [`Faults`] switches and request counters. The HTTP server that answers
//! for it is started by [`Devnet`](super::Devnet) on its own port.
//!
//! # Endpoints
//!
//! Paths are served at `/` and, as on public instances, under `/api`, `/testnet/api`,
//! `/testnet4/api` and `/signet/api`. Only `GET` (and `HEAD`) is answered; the query string
//! is ignored; paths are not percent-decoded (as electrs).
//!
//! | path | answer |
//! |---|---|
//! | `/blocks/tip/height` | the tip height, plain text decimal |
//! | `/blocks/tip/hash` | the tip hash, plain text (64 lower-case hex digits) |
//! | `/block-height/:height` | the hash of the block at `height`, plain text; 404 `Block not found` past the tip |
//! | `/block/:hash` | the block, JSON: `id`, `height`, `version`, `timestamp`, `tx_count`, `size`, `weight`, `merkle_root`, `previousblockhash` (`null` for genesis), `mediantime`, `nonce`, `bits`, `difficulty`; 404 `Block not found` for a hash not on the best chain |
//! | `/block/:hash/status` | `{"in_best_chain": true, "height": h, "next_best": hash or null}`; for any other hash (replaced by a reorg, unknown) `{"in_best_chain": false, "height": null, "next_best": null}` |
//! | `/blocks[/:start_height]` | the [`BLOCKS_PER_LIST`] blocks from `start_height` (or the tip, also when `start_height` does not parse, as electrs) down, JSON array |
//! | `/address/:address` | `{"address", "chain_stats", "mempool_stats"}`, each stats object `funded_txo_count`, `funded_txo_sum`, `spent_txo_count`, `spent_txo_sum`, `tx_count`; zeros for an address never seen |
//! | `/address/:address/txs/chain` | the newest [`TXS_PER_PAGE`] confirmed transactions, newest first |
//! | `/address/:address/txs/chain/:last_seen_txid` | the [`TXS_PER_PAGE`] confirmed transactions after `last_seen_txid`, newest first; `[]` when that txid is not in the history; the first page when it is not 64 hex digits (as electrs) |
//! | `/address/:address/txs/mempool` | the address's unconfirmed transactions, newest first, at most [`MAX_MEMPOOL_TXS`] |
//! | `/address/:address/txs` | the mempool list, then the first confirmed page |
//!
//! A transaction is `{"txid", "version", "locktime", "vin", "vout", "size", "weight",
//! "fee", "status"}`; each `vin` entry `{"txid", "vout", "prevout", "scriptsig",
//! "scriptsig_asm", "witness" (segwit inputs), "is_coinbase", "sequence"}` with `prevout`
//! an output (`null` for a coinbase input, whose `txid` is zeros and `vout` 4294967295);
//! each output `{"scriptpubkey", "scriptpubkey_asm", "scriptpubkey_type",
//! "scriptpubkey_address", "value"}` (types `p2pkh`, `p2sh`, `v0_p2wpkh`, `v0_p2wsh`,
//! `v1_p2tr`, `unknown`); `status` is `{"confirmed": true, "block_height", "block_hash",
//! "block_time"}` or `{"confirmed": false}`.
//!
//! # Errors
//!
//! Every error is plain text (`text/plain`), never JSON:
//!
//! | when | status | body |
//! |---|---|---|
//! | an address that is not one (see below) | 400 | `Invalid Bitcoin address` |
//! | an address of another network | 400 | `Address on invalid network` |
//! | a height that is not a decimal u64 | 400 | `Invalid number` |
//! | a block hash that is not 64 hex digits | 400 | `Invalid hex string` |
//! | a height past the tip, a hash not on the best chain | 404 | `Block not found` |
//! | any other path or method | 404 | `endpoint does not exist "/the/path"` |
//!
//! Addresses are checked loosely: the node's network prefix (`bc1`, `1`, `3` on mainnet;
//! `tb1`, `m`, `n`, `2` on testnet and signet; `bcrt1`, `m`, `n`, `2` on regtest), the
//! alphabet (bech32 all lower or all upper case), the length and a decodable payload
//! (a witness program of 2 to 40 bytes, or 25 base58 bytes with a known version byte).
//! Checksums are not verified: tokbal verifies them before asking. Bech32 addresses are
//! kept in lower case; `/address/:address` echoes the address as written.
//!
//! # Faults
//!
//! The [`Faults`] switches are decided once per HTTP request: latency delays the answer
//! (half of it before the request is handled, half after);
//! throttling answers 429 `Too Many Requests` in plain text **without** `Retry-After`, as
//! public Esplora instances do ([`EsploraNode::set_send_retry_after`] adds it); an injected
//! failure answers its status with its reason phrase in plain text (a 429 as throttling);
//! a drop sends the head and half of the normal body, then cuts the connection; a lag of
//! `n` (in blocks) makes the node answer as a replica `n` blocks behind: its tip is
//! `tip - n`, `/block-height/:h` above it and the hashes of blocks above it are `Block not
//! found`, and transactions confirmed above it are answered as unconfirmed (in the
//! mempool).
//!
//! # Chain model
//!
//! Blocks are never stored. Block `h` is made at `genesis + h * interval` (seconds;
//! default [`DEFAULT_ESPLORA_BLOCK_INTERVAL`]), plus, when asked, a seeded jitter of up to
//! a given bound either way from block 11 on, so that a timestamp may be below its
//! parent's (as on Bitcoin) while staying above the parent's median time;
//! `mediantime` is the median of the timestamps of the 11 blocks ending with the block (of
//! those from genesis for the first ten) and never decreases. [`EsploraNode::mine_at`]
//! places a block at a given second (above the tip's median time, below the tip's own
//! timestamp allowed) and later blocks follow the interval from there. Block hashes are 4
//! zero bytes, then 20 bytes of `keccak256(network ‖ height ‖ generation)`, then the height
//! XOR the first 8 of those bytes; the generation is 0 until [`EsploraNode::reorg`] gives
//! the replaced blocks a new one, and a replaced hash is then no longer on the best chain.
//!
//! # Blocks arriving during a read
//!
//! [`EsploraNode::mine_every_requests`] mines a block before every `n`-th request is
//! answered, and [`EsploraNode::keep_busy`] has each of those blocks pay an address (all but
//! every `k`-th block, by height): an address that receives something in most blocks while
//! a client pages its history, driven by requests rather than time, so that such a read
//! plays out the same way on every run.
//!
//! # Transactions
//!
//! Every transaction spends outputs: an output of an address the node tracks (a transfer
//! spends its address's outputs oldest first, with change back to it, and an output is
//! never spent twice), a made-up output of the faucet ([`EsploraNode::faucet_address`],
//! whose own history is not kept: it answers zeros), or nothing for a coinbase. The `pay`,
//! `transfer`, `add_tx` and `pay_coinbase` methods confirm in the block after the tip
//! (visible once it is mined); their `_at` variants in any block, past ones included; the
//! `_mempool` variants leave the transaction unconfirmed until
//! [`EsploraNode::confirm_mempool`]. A transaction in a block not yet mined (or above a
//! lagging replica's tip) is answered as unconfirmed: in `mempool_stats` and
//! `/txs/mempool`, with status `{"confirmed": false}`, until the block is mined. Within a
//! block, transactions are ordered coinbase first, then seeded,
//! then in the order they were made. Transfers pay a fee of [`TRANSFER_FEE_SATS`]; txids
//! are made up (`keccak256` of a sequence number) and never change.
//!
//! Seeded histories ([`EsploraNode::seed_addresses`]) are computed when read, so a million
//! addresses cost nothing until asked for, and kept once read (up to 250,000 transactions,
//! then computed afresh), as is each transaction's JSON but for its status: seeded address `i` ([`seed_address`]) has a
//! seeded number of transactions at seeded heights, each a payment from the faucet or a
//! spend of its oldest output to the faucet with change back. Payments to a seeded address
//! join its history; its seeded outputs cannot be spent by the methods here.

mod address;
mod arrivals;
mod chain;
mod demo;
mod http;
mod ledger;
mod transactions;

use crate::seen::Seen;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::faults::Faults;
use super::InvalidInput;
use address::{hex, parse, BtcAddress};
use arrivals::Arrivals;
use chain::Chain;
use ledger::Ledger;

pub(crate) use http::router;

/// Default time between blocks (Bitcoin's target).
pub const DEFAULT_ESPLORA_BLOCK_INTERVAL: Duration = Duration::from_secs(600);
/// Default number of blocks at start (0..=999: almost a week of 10-minute blocks from the
/// genesis, enough to hold every instant of the demo data).
pub const DEFAULT_ESPLORA_INITIAL_BLOCKS: u64 = 1_000;
/// Confirmed transactions per page of `/address/:address/txs/chain` (Esplora's).
pub const TXS_PER_PAGE: usize = 25;
/// Most transactions `/address/:address/txs/mempool` answers (Esplora's).
pub const MAX_MEMPOOL_TXS: usize = 50;
/// Blocks per `/blocks` answer (Esplora's).
pub const BLOCKS_PER_LIST: u64 = 10;
/// The fee of a transfer and of a payment from the faucet, in satoshis.
pub const TRANSFER_FEE_SATS: u64 = 1_000;
/// Most transactions a seeded address may have.
pub const MAX_SEEDED_TXS_PER_ADDRESS: u32 = 1_000;
/// How many paths [`EsploraNode::seen_paths`] keeps (the most recent ones).
pub const SEEN_PATHS_LIMIT: usize = 10_000;
/// The other party of the demo address's transfers (BIP-173's P2WPKH example).
pub const DEMO_BTC_COUNTERPARTY: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
/// The faucet on mainnet (P2WPKH with the program `tokbal-faucet-devnet`).
pub const ESPLORA_FAUCET_ADDRESS: &str = "bc1qw3hkkcnpdskkvct4vdjhgttyv4mxuet5ht240v";

// ---------------------------------------------------------------------------------------
// Configuration and public value types
// ---------------------------------------------------------------------------------------

/// The Bitcoin network an [`EsploraNode`] serves; it only decides which addresses it
/// accepts (and the `bits` its blocks report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EsploraNetwork {
    /// Mainnet: `bc1`, `1` and `3` addresses. The default.
    #[default]
    Mainnet = 0,
    /// Testnet: `tb1`, `m`, `n` and `2` addresses.
    Testnet = 1,
    /// Signet: the same addresses as testnet.
    Signet = 2,
    /// Regtest: `bcrt1`, `m`, `n` and `2` addresses.
    Regtest = 3,
}

impl EsploraNetwork {
    /// The network's name (`mainnet`, `testnet`, `signet`, `regtest`).
    pub fn name(self) -> &'static str {
        match self {
            EsploraNetwork::Mainnet => "mainnet",
            EsploraNetwork::Testnet => "testnet",
            EsploraNetwork::Signet => "signet",
            EsploraNetwork::Regtest => "regtest",
        }
    }
}

/// Settings of a synthetic Bitcoin chain, filled in by [`DevnetBuilder`](super::DevnetBuilder).
#[derive(Clone, Debug)]
pub(crate) struct EsploraConfig {
    pub(crate) network: EsploraNetwork,
    /// Genesis in seconds since the Unix epoch; `None` follows the devnet's genesis.
    pub(crate) genesis_secs: Option<u64>,
    pub(crate) interval_secs: u64,
    pub(crate) jitter_secs: u64,
    pub(crate) initial_blocks: u64,
}

impl Default for EsploraConfig {
    fn default() -> Self {
        EsploraConfig {
            network: EsploraNetwork::Mainnet,
            genesis_secs: None,
            interval_secs: DEFAULT_ESPLORA_BLOCK_INTERVAL.as_secs(),
            jitter_secs: 0,
            initial_blocks: DEFAULT_ESPLORA_INITIAL_BLOCKS,
        }
    }
}

/// One block of the Bitcoin chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsploraBlock {
    /// Height, starting at 0.
    pub height: u64,
    /// Block hash: 64 lower-case hex digits.
    pub hash: String,
    /// The previous block's hash (`None` for genesis).
    pub previous_hash: Option<String>,
    /// Header time, seconds since the Unix epoch (may be below the parent's with jitter).
    pub timestamp: u64,
    /// Median of the timestamps of the 11 blocks ending with this one (never decreasing).
    pub mediantime: u64,
}

/// A transaction the node made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EsploraTxRef {
    /// Its txid: 64 lower-case hex digits.
    pub txid: String,
    /// The block it is confirmed in (maybe not mined yet), or `None` in the mempool.
    pub height: Option<u64>,
}

/// How many requests the Esplora node has received. Every HTTP request counts in `http`
/// and in exactly one of the other fields, whatever its outcome (faults included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EsploraRequestCounts {
    /// HTTP requests, whatever their path or outcome.
    pub http: u64,
    /// `/blocks/tip/height`.
    pub tip_height: u64,
    /// `/blocks/tip/hash`.
    pub tip_hash: u64,
    /// `/block-height/:height` with a valid height.
    pub block_height: u64,
    /// `/block/:hash` with a valid hash.
    pub block: u64,
    /// `/block/:hash/status` with a valid hash.
    pub block_status: u64,
    /// `/blocks[/:start_height]`.
    pub blocks: u64,
    /// `/address/:address` with a valid address.
    pub address: u64,
    /// `/address/:address/txs` and `/address/:address/txs/chain[/:last_seen_txid]` with a
    /// valid address.
    pub address_txs: u64,
    /// `/address/:address/txs/mempool` with a valid address.
    pub mempool: u64,
    /// Known endpoints with a malformed parameter (answered 400).
    pub invalid: u64,
    /// Unknown paths and methods (answered 404 `endpoint does not exist`).
    pub not_found: u64,
}

/// Seeded address `i` on mainnet: a valid bech32 P2WPKH address (BIP-173 checksum
/// included) whose 20-byte program is `tokbal-seed:` followed by `i` as 8 big-endian
/// bytes.
///
/// ```
/// let a = tokbal_devnet::seed_address(0);
/// assert!(a.starts_with("bc1q") && a.len() == 42);
/// assert_ne!(a, tokbal_devnet::seed_address(1));
/// ```
pub fn seed_address(i: u64) -> String {
    address::seed_address_on(EsploraNetwork::Mainnet, i)
}

/// Seeded address `i` on `network` (`bc1q...`, `tb1q...` or `bcrt1q...`).
pub fn seed_address_on(network: EsploraNetwork, i: u64) -> String {
    address::seed_address_on(network, i)
}

/// The faucet on `network` (see [`EsploraNode::faucet_address`]).
pub fn esplora_faucet_address(network: EsploraNetwork) -> String {
    address::faucet_address_on(network)
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

/// The chain and the ledger, behind one lock so that a request reads one consistent view.
#[derive(Debug)]
struct World {
    chain: Chain,
    ledger: Ledger,
}

/// Protocol switches, read once per request.
#[derive(Clone, Copy, Debug, Default)]
struct Knobs {
    send_retry_after: bool,
}

#[derive(Debug, Default)]
struct Counters {
    http: AtomicU64,
    tip_height: AtomicU64,
    tip_hash: AtomicU64,
    block_height: AtomicU64,
    block: AtomicU64,
    block_status: AtomicU64,
    blocks: AtomicU64,
    address: AtomicU64,
    address_txs: AtomicU64,
    mempool: AtomicU64,
    invalid: AtomicU64,
    not_found: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 12] {
        [
            &self.http,
            &self.tip_height,
            &self.tip_hash,
            &self.block_height,
            &self.block,
            &self.block_status,
            &self.blocks,
            &self.address,
            &self.address_txs,
            &self.mempool,
            &self.invalid,
            &self.not_found,
        ]
    }
}

#[derive(Debug)]
struct Inner {
    network: EsploraNetwork,
    world: Mutex<World>,
    knobs: Mutex<Knobs>,
    arrivals: Mutex<Arrivals>,
    faults: Faults,
    counters: Counters,
    seen: Seen<String>,
}

/// Handle to a synthetic Bitcoin chain served as Esplora: its blocks, transactions,
/// mempool, seeded histories, fault switches and request counters. Cheap to clone (all
/// clones share the same state) and safe to use from any thread while the server answers
/// requests.
///
/// ```
/// use tokbal_devnet::Devnet;
///
/// let node = Devnet::builder().esplora_initial_blocks(10).build_esplora_node();
/// assert_eq!(node.tip(), 9);
/// let alice = tokbal_devnet::seed_address(1_000_000);
/// let paid = node.pay(&alice, 50_000).unwrap();
/// assert_eq!(paid.height, Some(10), "confirmed in the next block");
/// assert_eq!(node.balance(&alice, None).unwrap(), 0);
/// node.mine(1);
/// assert_eq!(node.balance(&alice, None).unwrap(), 50_000);
/// ```
#[derive(Clone, Debug)]
pub struct EsploraNode {
    inner: Arc<Inner>,
}

impl EsploraNode {
    pub(crate) fn new(cfg: &EsploraConfig, genesis_secs: u64, seed: u64, fault_seed: u64) -> Self {
        let chain = Chain::new(
            cfg.network,
            cfg.genesis_secs.unwrap_or(genesis_secs),
            cfg.interval_secs,
            cfg.jitter_secs,
            seed,
            cfg.initial_blocks,
        );
        EsploraNode {
            inner: Arc::new(Inner {
                network: cfg.network,
                world: Mutex::new(World {
                    chain,
                    ledger: Ledger::new(cfg.network, address::faucet_address_on(cfg.network)),
                }),
                knobs: Mutex::new(Knobs::default()),
                arrivals: Mutex::new(Arrivals::default()),
                faults: Faults::new(fault_seed),
                counters: Counters::default(),
                seen: Seen::new(SEEN_PATHS_LIMIT),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn knobs(&self) -> Knobs {
        *self.inner.knobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arrivals(&self) -> MutexGuard<'_, Arrivals> {
        self.inner
            .arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Parses an address of the node's network, for the methods below.
    fn address(&self, s: &str) -> Result<BtcAddress, InvalidInput> {
        parse(self.inner.network, s).map_err(|e| {
            InvalidInput(format!(
                "{}: {s:?} (the node serves {})",
                e.message(),
                self.inner.network.name()
            ))
        })
    }

    /// The network the node serves.
    pub fn network(&self) -> EsploraNetwork {
        self.inner.network
    }

    /// The height of the tip block.
    pub fn tip(&self) -> u64 {
        self.lock().chain.tip
    }

    /// The hash of the tip block.
    pub fn tip_hash(&self) -> String {
        let w = self.lock();
        hex(&w.chain.hash(w.chain.tip))
    }

    /// Block `height` on the current fork. Blocks are computed, not stored, so this answers
    /// for any height, including heights past the tip (which will look like this once
    /// mined, unless [`EsploraNode::mine_at`] or [`EsploraNode::reorg`] changes them
    /// first).
    pub fn block(&self, height: u64) -> EsploraBlock {
        let w = self.lock();
        EsploraBlock {
            height,
            hash: hex(&w.chain.hash(height)),
            previous_hash: height.checked_sub(1).map(|p| hex(&w.chain.hash(p))),
            timestamp: w.chain.timestamp(height),
            mediantime: w.chain.mediantime(height),
        }
    }

    /// Mines `blocks` blocks on the schedule; returns the new tip.
    pub fn mine(&self, blocks: u64) -> u64 {
        self.lock().chain.mine(blocks)
    }

    /// Mines one block made at `timestamp` (seconds since the Unix epoch; above the tip's
    /// median time, as Bitcoin requires, and possibly below the tip's own timestamp); later
    /// blocks follow the interval from it, without jitter. Returns the new block's height.
    pub fn mine_at(&self, timestamp: u64) -> Result<u64, InvalidInput> {
        self.lock().chain.mine_at(timestamp).map_err(InvalidInput)
    }

    /// Replaces the last `depth` blocks (never genesis) with blocks of the same heights,
    /// timestamps and transactions but new hashes; the replaced hashes are no longer on the
    /// best chain. Returns the first replaced block, or `None` when nothing was replaced.
    pub fn reorg(&self, depth: u64) -> Option<u64> {
        self.lock().chain.reorg(depth)
    }

    /// Like [`EsploraNode::reorg`], but the transactions confirmed in the replaced blocks,
    /// and those waiting for blocks not yet mined, go back to the mempool (coinbase ones
    /// stay; seeded histories are not affected), so that balances change as in a real
    /// reorganization. Returns the first replaced block, or `None` when nothing was
    /// replaced.
    pub fn reorg_to_mempool(&self, depth: u64) -> Option<u64> {
        let mut w = self.lock();
        let first = w.chain.reorg(depth)?;
        w.ledger.unconfirm_from(first);
        Some(first)
    }

    /// The faucet: the made-up source of payments (and sink of seeded spends), whose own
    /// history is not kept.
    pub fn faucet_address(&self) -> String {
        address::faucet_address_on(self.inner.network)
    }

    /// The fault switches, read once per HTTP request (a lag is in blocks).
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Whether 429 answers carry `Retry-After` ([`Faults::retry_after_secs`]); off by
    /// default, as public Esplora instances send none.
    pub fn set_send_retry_after(&self, on: bool) {
        self.inner
            .knobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send_retry_after = on;
    }

    /// How many requests the node has received.
    pub fn requests(&self) -> EsploraRequestCounts {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EsploraRequestCounts {
            http: get(&c.http),
            tip_height: get(&c.tip_height),
            tip_hash: get(&c.tip_hash),
            block_height: get(&c.block_height),
            block: get(&c.block),
            block_status: get(&c.block_status),
            blocks: get(&c.blocks),
            address: get(&c.address),
            address_txs: get(&c.address_txs),
            mempool: get(&c.mempool),
            invalid: get(&c.invalid),
            not_found: get(&c.not_found),
        }
    }

    /// The paths of the most recent requests, oldest first, at most [`SEEN_PATHS_LIMIT`]
    /// of them, each cut at 1 KiB.
    pub fn seen_paths(&self) -> Vec<String> {
        self.inner.seen.list()
    }

    /// Sets the request counters back to zero and forgets the seen paths.
    pub fn reset_requests(&self) {
        for a in self.inner.counters.all() {
            a.store(0, Ordering::Relaxed);
        }
        self.inner.seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> EsploraNode {
        EsploraNode::new(&EsploraConfig::default(), 1_767_225_600, 1, 2)
    }

    #[test]
    fn constants_are_what_they_say() {
        assert_eq!(
            esplora_faucet_address(EsploraNetwork::Mainnet),
            ESPLORA_FAUCET_ADDRESS
        );
        assert!(address::bech32_checksum_ok(ESPLORA_FAUCET_ADDRESS));
        assert!(address::bech32_checksum_ok(DEMO_BTC_COUNTERPARTY));
        assert!(address::bech32_checksum_ok(crate::DEMO_BTC_ADDRESS));
        assert!(address::bech32_checksum_ok(&seed_address(3)));
    }

    #[test]
    fn transfers_and_add_tx() {
        let n = node();
        let (a, b) = (seed_address(900), seed_address(901));
        n.pay(&a, 10_000).unwrap();
        n.pay(&a, 20_000).unwrap();
        assert!(
            n.transfer(&a, &b, 5_000).is_ok(),
            "same block as the payments"
        );
        n.mine(1);
        assert_eq!(n.balance(&a, None).unwrap(), 30_000 - 5_000 - 1_000);
        assert_eq!(n.balance(&b, None).unwrap(), 5_000);
        let e = n.transfer(&a, &b, 30_000).unwrap_err();
        assert!(e.message().contains("24000 sats spendable"), "{e}");
        // Spend the change (4,000) exactly, to two outputs, fee 500.
        let t = n.add_tx(&[(&a, 4_000)], &[(&b, 3_000), (&a, 500)]).unwrap();
        assert_eq!(t.height, Some(1_001));
        assert!(
            n.add_tx(&[(&a, 4_000)], &[(&b, 1)]).is_err(),
            "spent already"
        );
        assert!(
            n.add_tx(&[(&a, 12_345)], &[(&b, 1)]).is_err(),
            "no such output"
        );
        assert!(n
            .pay("tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", 1)
            .is_err());
        assert!(n.pay(&a, u64::MAX).is_err());
        let faucet = n.faucet_address();
        let f = n.add_mempool_tx(&[(&faucet, 700)], &[(&a, 600)]).unwrap();
        assert_eq!(f.height, None);
        assert_eq!(n.confirm_mempool(), 1_001);
        n.mine(1);
        assert_eq!(n.balance(&a, None).unwrap(), 20_000 + 500 + 600);
        assert_eq!(n.txids(&a, None).unwrap()[0], f.txid, "newest first");
    }
}
