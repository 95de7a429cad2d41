//! An in-process Aptos full node: the slice of the REST API that tokbal speaks.
//!
//! [`AptosNode`] holds a synthetic ledger (blocks, versions, balance histories, a pruned
//! prefix), the [`Faults`] switches and request counters. The HTTP server that answers for
//! it is started by [`Devnet`](super::Devnet); this module serves, under `/v1`:
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/` | `IndexResponse` (u64 fields as JSON strings, `chain_id` a number) |
//! | `GET /v1/-/healthy[?duration_secs=N]` | `{"message":"aptos-node:ok"}`, or 503 `health_check_failed` when the ledger is more than N seconds behind the wall clock |
//! | `GET /v1/accounts/{address}/balance/{asset_type}[?ledger_version=V]` | a bare JSON integer |
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
//! changes per (owner, asset type); a read at version `V` sees the last change at or
//! before `V`.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::seen::Seen;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::faults::{cut_body, mix64, FaultAction, Faults};
use super::InvalidInput;

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

/// Deepest nesting of generic arguments accepted in a type tag.
const MAX_TYPE_DEPTH: usize = 32;
/// Length of the repeating pattern of block sizes.
const PATTERN_LEN: u64 = 64;

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
    /// `GET /v1/blocks/by_height/..` and `/v1/blocks/by_version/..` requests.
    pub block: u64,
    /// Requests to any other path.
    pub other: u64,
}

// ---------------------------------------------------------------------------------------
// Addresses and type tags
// ---------------------------------------------------------------------------------------

/// Parses an account address the way the node does: `0x` followed by 1 to 64 hex digits
/// (short forms are left-padded with zeros; a bare `0x` is address zero), or exactly 64 hex
/// digits without the prefix. Hex digits may be upper or lower case.
fn parse_address(s: &str) -> Option<[u8; 32]> {
    let hex = match s.strip_prefix("0x") {
        Some(rest) if rest.len() <= 64 => rest,
        Some(_) => return None,
        None if s.len() == 64 => s,
        None => return None,
    };
    let mut out = [0u8; 32];
    for (i, b) in hex.bytes().rev().enumerate() {
        let v = (b as char).to_digit(16)? as u8;
        // The last digit is the low nibble of the last byte, the one before it the high one.
        out[31 - i / 2] |= v << ((i % 2) * 4);
    }
    Some(out)
}

/// The standard string form of an address (AIP-40): `0x0`..`0xf` for the special
/// addresses, `0x` and 64 lower-case hex digits for every other one.
fn address_string(addr: &[u8; 32]) -> String {
    if addr[..31].iter().all(|b| *b == 0) && addr[31] < 16 {
        return format!("0x{:x}", addr[31]);
    }
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in addr {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The key balances are stored under: a fungible-asset metadata address, or a coin's
/// type tag in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum AssetKey {
    Fa([u8; 32]),
    Coin(String),
}

impl AssetKey {
    fn canonical(&self) -> String {
        match self {
            AssetKey::Fa(a) => address_string(a),
            AssetKey::Coin(t) => t.clone(),
        }
    }
}

/// Parses an asset type as the node does: an address first, else a Move struct tag.
fn parse_asset_type(s: &str) -> Result<AssetKey, String> {
    if let Some(addr) = parse_address(s) {
        return Ok(AssetKey::Fa(addr));
    }
    let mut p = TagParser {
        s: s.as_bytes(),
        pos: 0,
    };
    let tag = p.struct_tag(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(format!("unexpected text at offset {}", p.pos));
    }
    Ok(AssetKey::Coin(tag))
}

/// The primitive type names a type argument may use.
const PRIMITIVES: &[&str] = &[
    "bool", "u8", "u16", "u32", "u64", "u128", "u256", "i8", "i16", "i32", "i64", "i128", "i256",
    "address", "signer",
];

/// A small recursive-descent parser for Move type tags, producing the canonical form
/// (standard address strings, no spaces except `", "` between type arguments).
struct TagParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl TagParser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(tok.as_bytes()) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(format!("expected `{tok}` at offset {}", self.pos))
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        self.skip_ws();
        let start = self.pos;
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_alphanumeric() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        let word = &self.s[start..self.pos];
        let valid = match word.first() {
            Some(c) if c.is_ascii_alphabetic() => true,
            Some(b'_') => word.len() > 1,
            _ => false,
        };
        if !valid {
            return Err(format!("expected an identifier at offset {start}"));
        }
        Ok(String::from_utf8_lossy(word).into_owned())
    }

    fn address(&mut self) -> Result<[u8; 32], String> {
        self.skip_ws();
        let start = self.pos;
        if !self.s[self.pos..].starts_with(b"0x") {
            return Err(format!("expected an address at offset {start}"));
        }
        let mut end = start + 2;
        while end < self.s.len() && self.s[end].is_ascii_hexdigit() {
            end += 1;
        }
        let text = std::str::from_utf8(&self.s[start..end]).unwrap_or("");
        if end == start + 2 {
            return Err(format!("expected hex digits at offset {end}"));
        }
        let addr = parse_address(text).ok_or_else(|| format!("invalid address {text:?}"))?;
        self.pos = end;
        Ok(addr)
    }

    fn struct_tag(&mut self, depth: usize) -> Result<String, String> {
        let addr = self.address()?;
        self.expect("::")?;
        let module = self.ident()?;
        self.expect("::")?;
        let name = self.ident()?;
        let mut out = format!("{}::{module}::{name}", address_string(&addr));
        if self.eat("<") {
            let args = self.type_args(depth + 1)?;
            out.push('<');
            out.push_str(&args.join(", "));
            out.push('>');
        }
        Ok(out)
    }

    fn type_args(&mut self, depth: usize) -> Result<Vec<String>, String> {
        if depth > MAX_TYPE_DEPTH {
            return Err(format!(
                "type arguments nested deeper than {MAX_TYPE_DEPTH}"
            ));
        }
        let mut args = vec![self.type_tag(depth)?];
        while self.eat(",") {
            args.push(self.type_tag(depth)?);
        }
        self.expect(">")?;
        Ok(args)
    }

    fn type_tag(&mut self, depth: usize) -> Result<String, String> {
        self.skip_ws();
        if self.s[self.pos..].starts_with(b"0x") {
            return self.struct_tag(depth);
        }
        let word = self.ident()?;
        if word == "vector" {
            self.expect("<")?;
            if depth + 1 > MAX_TYPE_DEPTH {
                return Err(format!(
                    "type arguments nested deeper than {MAX_TYPE_DEPTH}"
                ));
            }
            let inner = self.type_tag(depth + 1)?;
            self.expect(">")?;
            return Ok(format!("vector<{inner}>"));
        }
        if PRIMITIVES.contains(&word.as_str()) {
            Ok(word)
        } else {
            Err(format!("unknown type {word:?}"))
        }
    }
}

/// Normalizes an account address: `0x1`, `1`-padded long forms and upper-case hex all give
/// the same string (`0x1`; `0x` and 64 lower-case hex digits for non-special addresses).
pub fn canonical_address(address: &str) -> Result<String, InvalidInput> {
    parse_address(address)
        .map(|a| address_string(&a))
        .ok_or_else(|| InvalidInput(format!("invalid account address {address:?}")))
}

/// Normalizes an asset type (a fungible-asset metadata address, or a Move struct tag such
/// as `0x1::coin::Foo<0x1::a::B, vector<u8>>`): addresses in their standard form, type
/// arguments separated by `", "`, no other whitespace.
pub fn canonical_asset_type(asset_type: &str) -> Result<String, InvalidInput> {
    parse_asset_type(asset_type)
        .map(|k| k.canonical())
        .map_err(|e| InvalidInput(format!("invalid asset type {asset_type:?}: {e}")))
}

// ---------------------------------------------------------------------------------------
// Block layout
// ---------------------------------------------------------------------------------------

/// Where blocks start and when they were made, computed rather than stored.
#[derive(Debug)]
struct Layout {
    genesis_us: u64,
    interval_us: u64,
    jitter: bool,
    seed: u64,
    /// `prefix[i]` = versions in the first `i` blocks of the pattern; `prefix[64]` = total.
    prefix: Vec<u64>,
}

impl Layout {
    fn new(cfg: &AptosConfig) -> Layout {
        let min = cfg.min_versions_per_block.clamp(1, MAX_VERSIONS_PER_BLOCK);
        let max = cfg
            .max_versions_per_block
            .clamp(min, MAX_VERSIONS_PER_BLOCK);
        let span = max - min + 1;
        let mut prefix = Vec::with_capacity(PATTERN_LEN as usize + 1);
        prefix.push(0u64);
        let mut total = 0u64;
        for i in 0..PATTERN_LEN {
            let size = min + mix64(cfg.seed ^ 0x5eed_b10c ^ i.wrapping_mul(0x9E37_79B9)) % span;
            total += size;
            prefix.push(total);
        }
        Layout {
            genesis_us: cfg.genesis_timestamp_us,
            interval_us: cfg.block_interval_us.max(1),
            jitter: cfg.jitter,
            seed: cfg.seed,
            prefix,
        }
    }

    fn pattern_total(&self) -> u64 {
        self.prefix[PATTERN_LEN as usize]
    }

    fn first_version(&self, h: u64) -> u64 {
        (h / PATTERN_LEN)
            .saturating_mul(self.pattern_total())
            .saturating_add(self.prefix[(h % PATTERN_LEN) as usize])
    }

    fn last_version(&self, h: u64) -> u64 {
        self.first_version(h.saturating_add(1)).saturating_sub(1)
    }

    fn block_of(&self, v: u64) -> u64 {
        let total = self.pattern_total();
        let (q, r) = (v / total, v % total);
        // Largest i < 64 with prefix[i] <= r; prefix[0] = 0 so i >= 0.
        let i = self.prefix[..PATTERN_LEN as usize].partition_point(|&x| x <= r) - 1;
        q.saturating_mul(PATTERN_LEN).saturating_add(i as u64)
    }

    fn timestamp(&self, h: u64) -> u64 {
        let base = self
            .genesis_us
            .saturating_add(h.saturating_mul(self.interval_us));
        if !self.jitter || h == 0 || self.interval_us < 3 {
            return base;
        }
        // |jitter| <= (interval - 1) / 2, so consecutive blocks are at least 1 µs apart.
        let amp = (self.interval_us - 1) / 2;
        let r = mix64(self.seed ^ 0x0071_57e2 ^ h.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let offset = r % (2 * amp + 1);
        if offset >= amp {
            base.saturating_add(offset - amp)
        } else {
            base.saturating_sub(amp - offset)
        }
    }

    fn hash(&self, h: u64) -> String {
        let mut s = String::with_capacity(66);
        s.push_str("0x");
        for i in 0..4u64 {
            let word = mix64(self.seed ^ mix64(h) ^ i.wrapping_mul(0xA076_1D64_78BD_642F));
            s.push_str(&format!("{word:016x}"));
        }
        s
    }

    fn block(&self, h: u64) -> BlockInfo {
        BlockInfo {
            height: h,
            hash: self.hash(h),
            timestamp_us: self.timestamp(h),
            first_version: self.first_version(h),
            last_version: self.last_version(h),
        }
    }

    /// The highest block in `0..=max_h` made at or before `t`.
    fn height_at_time(&self, t: u64, max_h: u64) -> Option<u64> {
        if self.timestamp(0) > t {
            return None;
        }
        let (mut lo, mut hi) = (0u64, max_h);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.timestamp(mid) <= t {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

type BalanceKey = ([u8; 32], AssetKey);

#[derive(Debug)]
struct LedgerState {
    tip_height: u64,
    oldest_version: u64,
    /// Per (owner, asset): changes as (version, amount), sorted by version.
    balances: HashMap<BalanceKey, Vec<(u64, u64)>>,
}

#[derive(Debug, Default)]
struct Counters {
    total: AtomicU64,
    ledger_info: AtomicU64,
    healthy: AtomicU64,
    balance: AtomicU64,
    block: AtomicU64,
    other: AtomicU64,
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

/// Handle to a synthetic Aptos ledger: its blocks, balances, fault switches and request
/// counters. Cheap to clone (all clones share the same state) and safe to use from any
/// thread while the server answers requests.
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

    /// Records that `owner` holds `amount` of `asset_type` from the current tip version on;
    /// returns that version. `owner` and `asset_type` are parsed and normalized as the HTTP
    /// API does (`0x1::aptos_coin::AptosCoin`, a fungible-asset metadata address, ...).
    pub fn set_balance(
        &self,
        owner: &str,
        asset_type: &str,
        amount: u64,
    ) -> Result<u64, InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        let mut s = self.lock();
        let version = self.inner.layout.last_version(s.tip_height);
        insert_change(&mut s, key, version, amount);
        Ok(version)
    }

    /// Records that `owner` holds `amount` of `asset_type` from `version` on (replacing a
    /// change already recorded at that version). Versions past the tip are allowed: the
    /// change becomes visible once the tip reaches them.
    pub fn set_balance_at(
        &self,
        owner: &str,
        asset_type: &str,
        version: u64,
        amount: u64,
    ) -> Result<(), InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        insert_change(&mut self.lock(), key, version, amount);
        Ok(())
    }

    /// The balance as the HTTP API would answer it at `version` (the tip when `None`),
    /// without the pruning and tip checks: 0 when nothing was recorded at or before it.
    pub fn balance(
        &self,
        owner: &str,
        asset_type: &str,
        version: Option<u64>,
    ) -> Result<u64, InvalidInput> {
        let key = balance_key(owner, asset_type)?;
        let version = version.unwrap_or_else(|| self.tip_version());
        Ok(self.read_balance(&key, version))
    }

    fn read_balance(&self, key: &BalanceKey, version: u64) -> u64 {
        let s = self.lock();
        s.balances
            .get(key)
            .and_then(|hist| {
                let i = hist.partition_point(|(v, _)| *v <= version);
                i.checked_sub(1).map(|i| hist[i].1)
            })
            .unwrap_or(0)
    }

    /// The fault switches, read once per request.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// How many requests the node has received, by kind.
    pub fn requests(&self) -> RequestCounts {
        let c = &self.inner.counters;
        RequestCounts {
            total: c.total.load(Ordering::Relaxed),
            ledger_info: c.ledger_info.load(Ordering::Relaxed),
            healthy: c.healthy.load(Ordering::Relaxed),
            balance: c.balance.load(Ordering::Relaxed),
            block: c.block.load(Ordering::Relaxed),
            other: c.other.load(Ordering::Relaxed),
        }
    }

    /// The raw path and query (`/v1/...?...`, exactly as received, still percent-encoded)
    /// of the most recent requests, oldest first, at most [`SEEN_PATHS_LIMIT`] of them, each
    /// cut at [`SEEN_PATH_MAX_LEN`] bytes.
    pub fn seen_paths(&self) -> Vec<String> {
        self.inner.seen.list()
    }

    /// Sets the request counters back to zero and forgets the seen paths.
    pub fn reset_requests(&self) {
        let c = &self.inner.counters;
        for a in [
            &c.total,
            &c.ledger_info,
            &c.healthy,
            &c.balance,
            &c.block,
            &c.other,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.inner.seen.clear();
    }

    /// Seeds the demo balances described at
    /// [`DevnetBuilder::with_demo_data`](super::DevnetBuilder::with_demo_data).
    pub(crate) fn seed_demo_data(&self) {
        let tip = self.tip_version();
        let at = |tenths: u64| tip / 10 * tenths;
        let changes: [(&str, &str, u64, u64); 10] = [
            (DEMO_ALICE, APT_COIN, 0, 100_000_000_000),
            (DEMO_ALICE, APT_COIN, at(3), 98_765_432_100),
            (DEMO_ALICE, APT_COIN, at(6), 123_456_789_000),
            (DEMO_ALICE, APT_COIN, at(9), 120_000_000_000),
            (DEMO_BOB, APT_COIN, 0, 2_500_000_000),
            (DEMO_BOB, APT_COIN, at(5), 4_000_000_000),
            (DEMO_BOB, APT_COIN, at(8), 3_990_000_000),
            (DEMO_ALICE, DEMO_USDC_METADATA, at(2), 1_500_000_000),
            (DEMO_ALICE, DEMO_USDC_METADATA, at(7), 1_250_000_000),
            (DEMO_BOB, DEMO_USDC_METADATA, at(8), 42_000_000),
        ];
        for (owner, asset, version, amount) in changes {
            // The constants above are valid by construction.
            let _ = self.set_balance_at(owner, asset, version, amount);
        }
        self.prune_before(at(1));
    }

    fn record(&self, route: &Route<'_>, path: &str, query: Option<&str>) {
        let c = &self.inner.counters;
        c.total.fetch_add(1, Ordering::Relaxed);
        let kind = match route {
            Route::Index => &c.ledger_info,
            Route::Healthy => &c.healthy,
            Route::Balance { .. } => &c.balance,
            Route::BlockByHeight(_) | Route::BlockByVersion(_) => &c.block,
            Route::NotFound => &c.other,
        };
        kind.fetch_add(1, Ordering::Relaxed);
        let mut entry = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        if entry.len() > SEEN_PATH_MAX_LEN {
            // A request target is ASCII, but stay on a char boundary whatever happens.
            let mut cut = SEEN_PATH_MAX_LEN;
            while !entry.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.truncate(cut);
        }
        self.inner.seen.push(entry);
    }
}

fn balance_key(owner: &str, asset_type: &str) -> Result<BalanceKey, InvalidInput> {
    let addr = parse_address(owner)
        .ok_or_else(|| InvalidInput(format!("invalid account address {owner:?}")))?;
    let asset = parse_asset_type(asset_type)
        .map_err(|e| InvalidInput(format!("invalid asset type {asset_type:?}: {e}")))?;
    Ok((addr, asset))
}

fn insert_change(s: &mut LedgerState, key: BalanceKey, version: u64, amount: u64) {
    let hist = s.balances.entry(key).or_default();
    match hist.binary_search_by_key(&version, |(v, _)| *v) {
        Ok(i) => hist[i].1 = amount,
        Err(i) => hist.insert(i, (version, amount)),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// Which operation a raw request path names; the path segments are still percent-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Index,
    Healthy,
    Balance {
        address: &'a str,
        asset_type: &'a str,
    },
    BlockByHeight(&'a str),
    BlockByVersion(&'a str),
    NotFound,
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Route<'a> {
        let rest = if path == "/v1" {
            ""
        } else if let Some(rest) = path.strip_prefix("/v1/") {
            rest
        } else {
            return Route::NotFound;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [""] => Route::Index,
            ["-", "healthy"] => Route::Healthy,
            ["accounts", address, "balance", asset_type] => Route::Balance {
                address,
                asset_type,
            },
            ["blocks", "by_height", h] => Route::BlockByHeight(h),
            ["blocks", "by_version", v] => Route::BlockByVersion(v),
            _ => Route::NotFound,
        }
    }
}

/// Shared by the handler: the node and the server's shutdown signal.
#[derive(Clone)]
struct ServerState {
    node: AptosNode,
    cancel: CancellationToken,
}

/// An answer before the ledger headers are added.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct AptosErrorBody<'a> {
    message: &'a str,
    error_code: &'a str,
    vm_error_code: Option<u64>,
}

#[derive(Serialize)]
struct IndexBody<'a> {
    chain_id: u8,
    epoch: String,
    ledger_version: String,
    oldest_ledger_version: String,
    ledger_timestamp: String,
    node_role: &'a str,
    oldest_block_height: String,
    block_height: String,
    git_hash: &'a str,
}

#[derive(Serialize)]
struct BlockBody {
    block_height: String,
    block_hash: String,
    block_timestamp: String,
    first_version: String,
    last_version: String,
    transactions: Option<Vec<serde_json::Value>>,
}

#[derive(Serialize)]
struct HealthBody<'a> {
    message: &'a str,
}

const JSON: &str = "application/json";

impl Answer {
    fn json<T: Serialize>(status: StatusCode, value: &T) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                status,
                content_type: JSON,
                body,
                retry_after: None,
            },
            Err(e) => Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                &format!("failed to serialize the answer: {e}"),
            ),
        }
    }

    fn error(status: StatusCode, error_code: &str, message: &str) -> Answer {
        let body = AptosErrorBody {
            message,
            error_code,
            vm_error_code: None,
        };
        Answer {
            status,
            content_type: JSON,
            // Serializing two strings and a null cannot fail.
            body: serde_json::to_vec(&body).unwrap_or_default(),
            retry_after: None,
        }
    }

    fn bad_request(error_code: &str, message: &str) -> Answer {
        Answer::error(StatusCode::BAD_REQUEST, error_code, message)
    }

    fn throttled(retry_after_secs: u64) -> Answer {
        Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            content_type: "text/plain; charset=utf-8",
            body: format!(
                "Too Many Requests: per-IP rate limit exceeded for anonymous requests; \
                 retry in {retry_after_secs}s or use an API key"
            )
            .into_bytes(),
            retry_after: Some(retry_after_secs),
        }
    }

    fn injected_failure(status: u16) -> Answer {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (code, message) = match status {
            StatusCode::SERVICE_UNAVAILABLE => (
                "health_check_failed",
                "Service unavailable: the node is not ready to serve requests (injected fault)",
            ),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many requests (injected fault)"),
            s if s.is_client_error() => {
                ("invalid_input", "The request was refused (injected fault)")
            }
            _ => (
                "internal_error",
                "Internal error: failed to read from storage (injected fault)",
            ),
        };
        Answer::error(status, code, message)
    }

    fn into_response(self, info: &LedgerInfo, drop_mid_body: bool) -> Response {
        let body = if drop_mid_body {
            cut_body(self.body)
        } else {
            Body::from(self.body)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        let ledger_headers: [(&'static str, u64); 7] = [
            ("x-aptos-chain-id", u64::from(info.chain_id)),
            ("x-aptos-ledger-version", info.ledger_version),
            ("x-aptos-ledger-oldest-version", info.oldest_ledger_version),
            ("x-aptos-ledger-timestampusec", info.ledger_timestamp_us),
            ("x-aptos-epoch", info.epoch),
            ("x-aptos-block-height", info.block_height),
            ("x-aptos-oldest-block-height", info.oldest_block_height),
        ];
        for (name, value) in ledger_headers {
            h.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
        resp
    }
}

/// Percent-decodes one path segment; `None` when it is not UTF-8 once decoded.
fn decode_segment(raw: &str) -> Option<Cow<'_, str>> {
    percent_decode_str(raw).decode_utf8().ok()
}

/// The first value of query parameter `name` (form-decoded), if present.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let form_decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_decode_str(&s).decode_utf8_lossy().into_owned()
    };
    query?
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| form_decode(k) == name)
        .map(|(_, v)| form_decode(v))
}

/// Parses optional boolean query parameter `with_transactions` as the node does.
fn with_transactions(query: Option<&str>) -> Result<bool, Answer> {
    match query_param(query, "with_transactions") {
        None => Ok(false),
        Some(raw) => raw.parse::<bool>().map_err(|_| {
            Answer::bad_request(
                "web_framework_error",
                "failed to parse parameter `with_transactions`: failed to parse \"boolean\": \
                 provided string was not `true` or `false` (occurred while parsing \
                 \"optional<boolean>\")",
            )
        }),
    }
}

/// Parses a u64 path parameter as the node does.
fn path_u64(name: &str, raw: &str) -> Result<u64, Answer> {
    let text = decode_segment(raw).unwrap_or(Cow::Borrowed(raw));
    text.parse::<u64>().map_err(|e| {
        Answer::bad_request(
            "web_framework_error",
            &format!("failed to parse path `{name}`: failed to parse \"integer(uint64)\": {e}"),
        )
    })
}

impl AptosNode {
    fn answer(
        &self,
        method: &Method,
        route: &Route<'_>,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Answer {
        if *route == Route::NotFound {
            return Answer::error(StatusCode::NOT_FOUND, "web_framework_error", "not found");
        }
        if method != Method::GET && method != Method::HEAD {
            return Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "web_framework_error",
                "method not allowed",
            );
        }
        let result = match *route {
            Route::Index => Ok(self.index(info)),
            Route::Healthy => self.healthy(query, info),
            Route::Balance {
                address,
                asset_type,
            } => self.balance_answer(address, asset_type, query, info),
            Route::BlockByHeight(raw) => self.block_by_height(raw, query, info),
            Route::BlockByVersion(raw) => self.block_by_version(raw, query, info),
            Route::NotFound => Err(Answer::error(
                StatusCode::NOT_FOUND,
                "web_framework_error",
                "not found",
            )),
        };
        result.unwrap_or_else(|a| a)
    }

    fn index(&self, info: &LedgerInfo) -> Answer {
        Answer::json(
            StatusCode::OK,
            &IndexBody {
                chain_id: info.chain_id,
                epoch: info.epoch.to_string(),
                ledger_version: info.ledger_version.to_string(),
                oldest_ledger_version: info.oldest_ledger_version.to_string(),
                ledger_timestamp: info.ledger_timestamp_us.to_string(),
                node_role: "full_node",
                oldest_block_height: info.oldest_block_height.to_string(),
                block_height: info.block_height.to_string(),
                git_hash: &self.inner.git_hash,
            },
        )
    }

    fn healthy(&self, query: Option<&str>, info: &LedgerInfo) -> Result<Answer, Answer> {
        if let Some(raw) = query_param(query, "duration_secs") {
            let secs = raw.parse::<u32>().map_err(|e| {
                Answer::bad_request(
                    "web_framework_error",
                    &format!(
                        "failed to parse parameter `duration_secs`: failed to parse \
                         \"integer(uint32)\": {e} (occurred while parsing \
                         \"optional<integer(uint32)>\")"
                    ),
                )
            })?;
            let threshold = now_us().saturating_sub(u64::from(secs) * 1_000_000);
            if info.ledger_timestamp_us < threshold {
                return Err(Answer::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "health_check_failed",
                    &format!(
                        "The latest ledger info timestamp is {}, which is beyond the allowed \
                         skew ({secs}s).",
                        info.ledger_timestamp_us
                    ),
                ));
            }
        }
        Ok(Answer::json(
            StatusCode::OK,
            &HealthBody {
                message: "aptos-node:ok",
            },
        ))
    }

    fn balance_answer(
        &self,
        raw_address: &str,
        raw_asset: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let address_text = decode_segment(raw_address).unwrap_or(Cow::Borrowed(raw_address));
        let address = parse_address(&address_text).ok_or_else(|| {
            Answer::bad_request(
                "invalid_input",
                &format!(
                    "failed to parse path `address`: failed to parse \"string(Address)\": \
                     invalid account address {address_text:?}"
                ),
            )
        })?;
        let asset_text = decode_segment(raw_asset).unwrap_or(Cow::Borrowed(raw_asset));
        let asset = parse_asset_type(&asset_text).map_err(|e| {
            Answer::bad_request(
                "invalid_input",
                &format!(
                    "failed to parse path `asset_type`: failed to parse \"string(AssetType)\": \
                     invalid asset type {asset_text:?}: {e}"
                ),
            )
        })?;
        let version = match query_param(query, "ledger_version") {
            None => info.ledger_version,
            Some(raw) => raw.parse::<u64>().map_err(|e| {
                Answer::bad_request(
                    "web_framework_error",
                    &format!(
                        "failed to parse parameter `ledger_version`: failed to parse \
                         \"string(U64)\": Parsing u64 string {raw:?} failed, caused by error: \
                         {e} (occurred while parsing \"optional<string(U64)>\")"
                    ),
                )
            })?,
        };
        check_version(version, info)?;
        let amount = self.read_balance(&(address, asset), version);
        Ok(Answer::json(StatusCode::OK, &amount))
    }

    fn block_answer(&self, height: u64, with_txns: bool) -> Answer {
        let b = self.inner.layout.block(height);
        Answer::json(
            StatusCode::OK,
            &BlockBody {
                block_height: b.height.to_string(),
                block_hash: b.hash,
                block_timestamp: b.timestamp_us.to_string(),
                first_version: b.first_version.to_string(),
                last_version: b.last_version.to_string(),
                transactions: with_txns.then(Vec::new),
            },
        )
    }

    fn block_by_height(
        &self,
        raw: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let height = path_u64("block_height", raw)?;
        let with_txns = with_transactions(query)?;
        if height < info.oldest_block_height {
            return Err(Answer::error(
                StatusCode::GONE,
                "block_pruned",
                &format!("Block({height}) has been pruned"),
            ));
        }
        if height > info.block_height {
            return Err(Answer::error(
                StatusCode::NOT_FOUND,
                "block_not_found",
                &format!("Block not found by Block height({height})"),
            ));
        }
        Ok(self.block_answer(height, with_txns))
    }

    fn block_by_version(
        &self,
        raw: &str,
        query: Option<&str>,
        info: &LedgerInfo,
    ) -> Result<Answer, Answer> {
        let version = path_u64("version", raw)?;
        let with_txns = with_transactions(query)?;
        check_version(version, info)?;
        Ok(self.block_answer(self.inner.layout.block_of(version), with_txns))
    }
}

/// 410 below the oldest kept version, 404 past the tip, as the node answers.
fn check_version(version: u64, info: &LedgerInfo) -> Result<(), Answer> {
    if version < info.oldest_ledger_version {
        return Err(Answer::error(
            StatusCode::GONE,
            "version_pruned",
            &format!("Ledger version({version}) has been pruned"),
        ));
    }
    if version > info.ledger_version {
        return Err(Answer::error(
            StatusCode::NOT_FOUND,
            "version_not_found",
            &format!("Ledger version not found by Ledger version({version})"),
        ));
    }
    Ok(())
}

async fn handle(State(st): State<ServerState>, req: Request) -> Response {
    let node = &st.node;
    let path = req.uri().path();
    let query = req.uri().query();
    let route = Route::parse(path);
    node.record(&route, path, query);

    let method = req.method().clone();
    let decision = node.faults().decide();
    let handled = super::faults::delayed(decision.delay, &st.cancel, || {
        // The ledger as it stands at the moment of answering, seen through any lag.
        let info = node.ledger_info_lagged(decision.lag);
        let answer = match decision.action {
            Some(FaultAction::Throttle { retry_after_secs }) => Answer::throttled(retry_after_secs),
            Some(FaultAction::Fail { status }) => Answer::injected_failure(status),
            Some(FaultAction::Drop) | None => node.answer(&method, &route, query, &info),
        };
        (info, answer)
    });
    let Some((info, answer)) = handled.await else {
        let info = node.ledger_info();
        return Answer::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "internal_error",
            "the devnet is shutting down",
        )
        .into_response(&info, false);
    };
    answer.into_response(&info, decision.action == Some(FaultAction::Drop))
}

/// The axum router answering for `node` (every path goes through one handler, which
/// routes on the raw, still percent-encoded path).
pub(crate) fn router(node: AptosNode, cancel: CancellationToken) -> Router {
    Router::new()
        .fallback(handle)
        .with_state(ServerState { node, cancel })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(min: u64, max: u64) -> AptosConfig {
        AptosConfig {
            min_versions_per_block: min,
            max_versions_per_block: max,
            ..AptosConfig::default()
        }
    }

    #[test]
    fn addresses_parse_like_the_node() {
        let one = parse_address("0x1").unwrap();
        assert_eq!(parse_address("0x0001"), Some(one));
        assert_eq!(
            parse_address("0000000000000000000000000000000000000000000000000000000000000001"),
            Some(one)
        );
        assert_eq!(address_string(&one), "0x1");
        assert_eq!(parse_address("0xABC"), parse_address("0xabc"));
        for bad in [
            "",
            "1",
            "01",
            "x1",
            "00x1",
            "0xg",
            "0X1",
            &format!("0x{}", "1".repeat(65)),
        ] {
            assert_eq!(parse_address(bad), None, "{bad:?}");
        }
        assert_eq!(
            address_string(&parse_address("0xabc").unwrap()),
            format!("0x{}abc", "0".repeat(61))
        );
    }

    #[test]
    fn type_tags_normalize() {
        let a = canonical_asset_type("0x1::coin::Foo<0x1::a::B, 0x2::c::D<u8>>").unwrap();
        let b = canonical_asset_type("0x0001::coin::Foo<0x01::a::B,0x2::c::D< u8 >>").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, "0x1::coin::Foo<0x1::a::B, 0x2::c::D<u8>>");
        assert_eq!(
            canonical_asset_type(&format!("0x{}1::aptos_coin::AptosCoin", "0".repeat(63))).unwrap(),
            APT_COIN
        );
        assert!(canonical_asset_type("0x1::coin::Foo<vector<u8>, address>").is_ok());
        for bad in [
            "",
            "coin",
            "0x1::coin",
            "0x1::coin::",
            "0x1::coin::Foo<",
            "0x1::coin::Foo<>",
            "0x1::coin::Foo<u8,>",
            "0x1::coin::Foo>",
            "0x1::1coin::Foo",
            "0x1::coin::Foo<nope>",
            "1::coin::Foo",
        ] {
            assert!(canonical_asset_type(bad).is_err(), "{bad:?}");
        }
        let deep = format!("0x1::a::B{}", "<vector".repeat(500));
        assert!(canonical_asset_type(&deep).is_err());
    }

    #[test]
    fn layout_is_consistent() {
        for (min, max) in [(3, 3), (2, 5), (1, 1), (1, 100)] {
            let l = Layout::new(&cfg(min, max));
            let mut prev_ts = 0;
            for h in 0..300u64 {
                let first = l.first_version(h);
                let last = l.last_version(h);
                assert!(first <= last);
                assert!(last - first < max);
                assert_eq!(l.first_version(h + 1), last + 1);
                assert_eq!(l.block_of(first), h);
                assert_eq!(l.block_of(last), h);
                let ts = l.timestamp(h);
                assert!(h == 0 || ts > prev_ts, "timestamps increase");
                prev_ts = ts;
                assert_eq!(l.height_at_time(ts, 299), Some(h));
            }
            assert_eq!(l.height_at_time(DEFAULT_GENESIS_TIMESTAMP_US - 1, 10), None);
        }
        let fixed = Layout::new(&cfg(3, 3));
        assert_eq!(fixed.first_version(100_000_000), 300_000_000);
        assert_eq!(fixed.block_of(300_000_002), 100_000_000);
        assert_eq!(fixed.block_of(u64::MAX), u64::MAX / 3);
    }

    #[test]
    fn routes() {
        assert_eq!(Route::parse("/v1"), Route::Index);
        assert_eq!(Route::parse("/v1/"), Route::Index);
        assert_eq!(Route::parse("/v1/-/healthy"), Route::Healthy);
        assert_eq!(
            Route::parse("/v1/accounts/0x1/balance/0x1%3A%3Aa%3A%3AB"),
            Route::Balance {
                address: "0x1",
                asset_type: "0x1%3A%3Aa%3A%3AB"
            }
        );
        assert_eq!(
            Route::parse("/v1/blocks/by_height/3"),
            Route::BlockByHeight("3")
        );
        assert_eq!(Route::parse("/v2/"), Route::NotFound);
        assert_eq!(Route::parse("/v1/accounts/0x1"), Route::NotFound);
    }

    #[test]
    fn query_params() {
        assert_eq!(
            query_param(Some("a=1&ledger_version=5"), "ledger_version").as_deref(),
            Some("5")
        );
        assert_eq!(
            query_param(Some("ledger_version"), "ledger_version").as_deref(),
            Some("")
        );
        assert_eq!(query_param(Some("x=%2D1"), "x").as_deref(), Some("-1"));
        assert_eq!(query_param(None, "x"), None);
    }
}
