//! An in-process Aptos full node: the slice of the REST API that tokbal speaks.
//!
//! [`AptosNode`] holds a synthetic ledger (blocks, versions, balance and resource histories,
//! a pruned prefix), the [`Faults`] switches and request counters. The HTTP server that
//! answers for it is started by [`Devnet`](super::Devnet); this module serves, under `/v1`:
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/` | `IndexResponse` (u64 fields as JSON strings, `chain_id` a number) |
//! | `GET /v1/-/healthy[?duration_secs=N]` | `{"message":"aptos-node:ok"}`, or 503 `health_check_failed` when the ledger is more than N seconds behind the wall clock |
//! | `GET /v1/accounts/{address}/balance/{asset_type}[?ledger_version=V]` | a bare JSON integer |
//! | `GET /v1/accounts/{address}/resource/{resource_type}[?ledger_version=V]` | `MoveResource` `{"type", "data"}`; 404 `resource_not_found` when the account holds none at `V` |
//! | `GET /v1/accounts/{address}/resources[?ledger_version=V&start=C&limit=N]` | a page of `MoveResource`s sorted by type, `X-APTOS-CURSOR` set when more remain (pass it as `start`) |
//! | `GET /v1/blocks/by_height/{h}[?with_transactions=bool]` | `Block` |
//! | `GET /v1/blocks/by_version/{v}[?with_transactions=bool]` | `Block` |
//!
//! Every answer carries the `X-APTOS-*` ledger headers that the upstream description
//! declares, describing the (apparent) tip at the moment of answering; every error from the
//! node is an `AptosError` JSON body `{"message", "error_code", "vm_error_code": null}`.
//! Throttled answers (429) are plain text with `Retry-After`, as the Aptos Labs gateway
//! sends them.
//!
//! # Ledger model
//!
//! Blocks are never stored: block `h`'s first version and timestamp are computed from a
//! seeded function, so a chain of 10^8 blocks costs nothing. Versions per block follow a
//! seeded pattern of 64 block sizes that repeats (fixed when the minimum equals the
//! maximum), so finding the block of a version is a division and a binary search over 64
//! entries. Block timestamps are `genesis + h * interval + jitter(h)` with
//! `|jitter| < interval / 2`, hence strictly increasing. Balances are kept as a history of
//! changes per (owner, asset type), and resources as a history per (account, resource type);
//! a read at version `V` sees the last change at or before `V`, and a resource with no
//! change at or before `V` is not there.
//!
//! # Resources and token metadata
//!
//! Token metadata is where the framework keeps it: a coin `T`'s
//! `0x1::coin::CoinInfo<T>` (`name`, `symbol`, `decimals`, `supply`) at the address of `T`
//! ([`AptosNode::set_coin_info`]), a fungible asset's `0x1::fungible_asset::Metadata`
//! (`name`, `symbol`, `decimals`, `icon_uri`, `project_uri`) at its metadata address
//! ([`AptosNode::set_fungible_asset_metadata`]). APT's are there from genesis: `CoinInfo`
//! of [`APT_COIN`] at `0x1` and `Metadata` at `0xa`, `Aptos Coin`, `APT`, 8 decimals. Any
//! other resource can be set with [`AptosNode::set_resource`], and an account holds
//! `0x1::coin::CoinStore<T>` for each coin `T` it has a balance of.

mod address;
mod answer;
mod balances;
mod demo;
mod history;
mod http;
mod layout;
mod ledger;
mod metadata;
mod requests;
mod resources;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::faults::{mix64, Faults};
use crate::seen::Seen;
use balances::BalanceKey;
use history::History;
use layout::Layout;
use requests::Counters;
use resources::AccountResources;

pub use address::{canonical_address, canonical_asset_type};
pub use metadata::{APT_FA_METADATA, FA_METADATA_TYPE};
pub use resources::DEFAULT_RESOURCES_PAGE_SIZE;

pub(crate) use http::router;

/// Chain id the devnet reports unless told otherwise (4, the id of local testnets).
pub const DEFAULT_CHAIN_ID: u8 = 4;
/// Default genesis timestamp: 2026-01-01T00:00:00Z, in microseconds since the Unix epoch.
pub const DEFAULT_GENESIS_TIMESTAMP_US: u64 = 1_767_225_600_000_000;
/// Default mean time between blocks.
pub const DEFAULT_BLOCK_INTERVAL: Duration = Duration::from_millis(250);
/// Default number of blocks on the chain at start (heights 0..=999).
pub const DEFAULT_INITIAL_BLOCKS: u64 = 1_000;
/// Default smallest number of versions in a block.
pub const DEFAULT_MIN_VERSIONS_PER_BLOCK: u64 = 2;
/// Default largest number of versions in a block.
pub const DEFAULT_MAX_VERSIONS_PER_BLOCK: u64 = 5;
/// Default number of blocks per epoch (two hours of 250 ms blocks).
pub const DEFAULT_BLOCKS_PER_EPOCH: u64 = 28_800;
/// Default seed for the block layout, jitter, hashes and fault ratios.
pub const DEFAULT_SEED: u64 = 0x746f_6b62_616c_0001;
/// How many raw request paths [`AptosNode::seen_paths`] keeps (the most recent ones).
pub const SEEN_PATHS_LIMIT: usize = 10_000;
/// Longest path and query [`AptosNode::seen_paths`] keeps for one request, in bytes (longer
/// ones are cut).
pub const SEEN_PATH_MAX_LEN: usize = 8 * 1024;
/// Largest accepted number of versions in one block.
pub const MAX_VERSIONS_PER_BLOCK: u64 = 1_000_000;

/// The Aptos coin's type tag.
pub const APT_COIN: &str = "0x1::aptos_coin::AptosCoin";
/// First demo account (see [`DevnetBuilder::with_demo_data`](super::DevnetBuilder::with_demo_data)).
pub const DEMO_ALICE: &str = "0x8b52c6be1d55f1b6d44d519f8ceb0a8612706e9e06970099914f03f784cd2a3d";
/// Second demo account.
pub const DEMO_BOB: &str = "0x39e104f6c24dc5f3c6b2b3ec1958cb241de9a067637b3dc2369e33d8af8b7161";
/// Fungible-asset metadata address used by the demo data (mainnet's native USDC).
pub const DEMO_USDC_METADATA: &str =
    "0xbae207659db88bea0cbead6da0ed00aac12edcdda169e591cd41c94180b46f3b";

// ---------------------------------------------------------------------------------------
// Configuration and public value types
// ---------------------------------------------------------------------------------------

/// Settings of a synthetic Aptos ledger, filled in by [`DevnetBuilder`](super::DevnetBuilder).
#[derive(Clone, Debug)]
pub(crate) struct AptosConfig {
    pub(crate) chain_id: u8,
    pub(crate) genesis_timestamp_us: u64,
    pub(crate) block_interval_us: u64,
    pub(crate) jitter: bool,
    pub(crate) min_versions_per_block: u64,
    pub(crate) max_versions_per_block: u64,
    pub(crate) seed: u64,
    pub(crate) initial_blocks: u64,
    pub(crate) blocks_per_epoch: u64,
}

impl Default for AptosConfig {
    fn default() -> Self {
        AptosConfig {
            chain_id: DEFAULT_CHAIN_ID,
            genesis_timestamp_us: DEFAULT_GENESIS_TIMESTAMP_US,
            block_interval_us: duration_us(DEFAULT_BLOCK_INTERVAL),
            jitter: true,
            min_versions_per_block: DEFAULT_MIN_VERSIONS_PER_BLOCK,
            max_versions_per_block: DEFAULT_MAX_VERSIONS_PER_BLOCK,
            seed: DEFAULT_SEED,
            initial_blocks: DEFAULT_INITIAL_BLOCKS,
            blocks_per_epoch: DEFAULT_BLOCKS_PER_EPOCH,
        }
    }
}

/// A duration in whole microseconds, saturating at `u64::MAX`.
pub(crate) fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The wall clock in microseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(duration_us)
        .unwrap_or(0)
}

/// One block of the synthetic chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Block height, starting at 0.
    pub height: u64,
    /// Block hash: `0x` and 64 hex digits, derived from the seed and the height.
    pub hash: String,
    /// Block timestamp, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// First ledger version in the block.
    pub first_version: u64,
    /// Last ledger version in the block.
    pub last_version: u64,
}

/// The node's view of its ledger, as reported by `GET /v1/` and the `X-APTOS-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerInfo {
    /// Chain id.
    pub chain_id: u8,
    /// Current epoch.
    pub epoch: u64,
    /// Latest ledger version (the last version of the tip block).
    pub ledger_version: u64,
    /// Oldest ledger version not pruned.
    pub oldest_ledger_version: u64,
    /// Timestamp of the tip block, microseconds since the Unix epoch.
    pub ledger_timestamp_us: u64,
    /// Height of the tip block.
    pub block_height: u64,
    /// Height of the block holding the oldest kept version.
    pub oldest_block_height: u64,
}

/// How many requests the node has received, by kind of route.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Every request, whatever its path or outcome (faults included).
    pub total: u64,
    /// `GET /v1/` requests.
    pub ledger_info: u64,
    /// `GET /v1/-/healthy` requests.
    pub healthy: u64,
    /// `GET /v1/accounts/{address}/balance/{asset_type}` requests.
    pub balance: u64,
    /// `GET /v1/accounts/{address}/resource/{resource_type}` requests.
    pub resource: u64,
    /// `GET /v1/accounts/{address}/resources` requests (one per page).
    pub resources: u64,
    /// `GET /v1/blocks/by_height/..` and `/v1/blocks/by_version/..` requests.
    pub block: u64,
    /// Requests to any other path.
    pub other: u64,
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct LedgerState {
    tip_height: u64,
    oldest_version: u64,
    /// Per (owner, asset): the amount's changes.
    balances: HashMap<BalanceKey, History<u64>>,
    /// Per account: its resources' changes, by type.
    resources: HashMap<[u8; 32], AccountResources>,
    /// Most resources in one page of `GET /v1/accounts/{address}/resources`.
    resources_page_size: u16,
}

#[derive(Debug)]
struct Inner {
    chain_id: u8,
    blocks_per_epoch: u64,
    git_hash: String,
    layout: Layout,
    state: Mutex<LedgerState>,
    faults: Faults,
    counters: Counters,
    seen: Seen<String>,
}

/// Handle to a synthetic Aptos ledger: its blocks, balances, resources (token metadata
/// among them), fault switches and request counters. Cheap to clone (all clones share the
/// same state) and safe to use from any thread while the server answers requests.
///
/// ```
/// use tokbal_devnet::{Devnet, APT_COIN};
///
/// let node = Devnet::builder().initial_blocks(10).versions_per_block(3).build_aptos_node();
/// assert_eq!(node.tip_version(), 29);
/// let v = node.set_balance("0xa", APT_COIN, 500).unwrap();
/// node.advance(2);
/// node.set_balance("0xa", "0x1::aptos_coin::AptosCoin", 700).unwrap();
/// assert_eq!(node.balance("0xA", APT_COIN, Some(v)).unwrap(), 500);
/// assert_eq!(node.balance("0x0a", APT_COIN, None).unwrap(), 700);
/// ```
#[derive(Clone, Debug)]
pub struct AptosNode {
    inner: Arc<Inner>,
}

impl AptosNode {
    pub(crate) fn new(cfg: &AptosConfig, fault_seed: u64) -> AptosNode {
        let node = AptosNode::without_apt(cfg, fault_seed);
        node.seed_apt_metadata();
        node
    }

    fn without_apt(cfg: &AptosConfig, fault_seed: u64) -> AptosNode {
        let layout = Layout::new(cfg);
        let git_hash = format!(
            "{:016x}{:016x}{:08x}",
            mix64(cfg.seed ^ 0x6769),
            mix64(cfg.seed ^ 0x7468),
            mix64(cfg.seed ^ 0x6173) as u32
        );
        AptosNode {
            inner: Arc::new(Inner {
                chain_id: cfg.chain_id,
                blocks_per_epoch: cfg.blocks_per_epoch.max(1),
                git_hash,
                layout,
                state: Mutex::new(LedgerState {
                    tip_height: cfg.initial_blocks.max(1) - 1,
                    oldest_version: 0,
                    balances: HashMap::new(),
                    resources: HashMap::new(),
                    resources_page_size: DEFAULT_RESOURCES_PAGE_SIZE,
                }),
                faults: Faults::new(fault_seed),
                counters: Counters::default(),
                seen: Seen::new(SEEN_PATHS_LIMIT),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The chain id the node reports.
    pub fn chain_id(&self) -> u8 {
        self.inner.chain_id
    }

    /// The latest ledger version (the last version of the tip block).
    pub fn tip_version(&self) -> u64 {
        let h = self.lock().tip_height;
        self.inner.layout.last_version(h)
    }

    /// The height of the tip block.
    pub fn tip_height(&self) -> u64 {
        self.lock().tip_height
    }

    /// The oldest ledger version not pruned (0 until [`AptosNode::prune_before`]).
    pub fn oldest_version(&self) -> u64 {
        self.lock().oldest_version
    }

    /// The height of the block holding the oldest kept version.
    pub fn oldest_block_height(&self) -> u64 {
        let v = self.oldest_version();
        self.inner.layout.block_of(v)
    }

    /// The ledger as the node reports it right now (without any lag fault).
    pub fn ledger_info(&self) -> LedgerInfo {
        self.ledger_info_lagged(0)
    }

    /// The ledger as a replica `lag` versions behind would report it: its tip is the last
    /// whole block ending at or before `tip_version - lag` (never below the oldest kept
    /// block).
    fn ledger_info_lagged(&self, lag: u64) -> LedgerInfo {
        let layout = &self.inner.layout;
        let (tip_height, oldest_version) = {
            let s = self.lock();
            (s.tip_height, s.oldest_version)
        };
        let oldest_block = layout.block_of(oldest_version);
        let mut height = tip_height;
        if lag > 0 {
            let target = layout.last_version(tip_height).saturating_sub(lag);
            let b = layout.block_of(target);
            let h = if layout.last_version(b) <= target {
                b
            } else {
                b.saturating_sub(1)
            };
            height = h.max(oldest_block).min(tip_height);
        }
        LedgerInfo {
            chain_id: self.inner.chain_id,
            epoch: 1 + height / self.inner.blocks_per_epoch,
            ledger_version: layout.last_version(height),
            oldest_ledger_version: oldest_version,
            ledger_timestamp_us: layout.timestamp(height),
            block_height: height,
            oldest_block_height: oldest_block,
        }
    }

    /// Block `h` of the chain's layout. Blocks are computed, not stored, so this answers for
    /// any height, including pruned blocks and blocks past the tip (which will look like
    /// this once [`AptosNode::advance`] reaches them); the HTTP API only serves kept blocks.
    pub fn block_at_height(&self, h: u64) -> BlockInfo {
        self.inner.layout.block(h)
    }

    /// The block holding ledger version `v` (any version, as for
    /// [`AptosNode::block_at_height`]).
    pub fn block_for_version(&self, v: u64) -> BlockInfo {
        let layout = &self.inner.layout;
        layout.block(layout.block_of(v))
    }

    /// The last ledger version (up to the tip) whose block timestamp is at or before
    /// `timestamp_us`, or `None` when that is before genesis.
    pub fn version_at_time(&self, timestamp_us: u64) -> Option<u64> {
        let tip = self.tip_height();
        let layout = &self.inner.layout;
        layout
            .height_at_time(timestamp_us, tip)
            .map(|h| layout.last_version(h))
    }

    /// Moves the tip forward by `blocks` whole blocks; returns the new tip version.
    pub fn advance(&self, blocks: u64) -> u64 {
        let h = {
            let mut s = self.lock();
            s.tip_height = s.tip_height.saturating_add(blocks);
            s.tip_height
        };
        self.inner.layout.last_version(h)
    }

    /// Prunes every version before `version` (clamped to the tip): reads below it answer
    /// 410. May also be used to move the oldest kept version back down.
    pub fn prune_before(&self, version: u64) {
        let tip = self.tip_version();
        self.lock().oldest_version = version.min(tip);
    }

    /// The fault switches, read once per request.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }
}
