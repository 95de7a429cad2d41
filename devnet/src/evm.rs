//! An in-process EVM node: the JSON-RPC 2.0 slice tokbal speaks to Ethereum and every EVM
//! chain, over HTTP `POST` (any path), single requests and batches.
//!
//! [`EvmNode`] holds a synthetic chain (computed blocks, forks), state with history (native
//! balances, ERC-20, ERC-721 and ERC-1155 contracts and their supplies, Multicall3), the
//! event logs of token moves, the [`Faults`] switches, a few protocol knobs (provider limits
//! of `eth_getLogs` among them) and request counters. The HTTP server that answers for it is
//! started by [`Devnet`](super::Devnet) on its own port.
//!
//! # Methods
//!
//! | method | params | result |
//! |---|---|---|
//! | `eth_chainId` | none | hex quantity |
//! | `eth_blockNumber` | none | hex quantity (the tip, or a lagging replica's tip) |
//! | `eth_getBlockByNumber` | block number or tag, `full` (bool, required) | block object, or `null` past the tip |
//! | `eth_getBlockByHash` | 32-byte hash, `full` (bool, required) | block object, or `null` for an unknown hash |
//! | `eth_getBalance` | address, block (required) | hex quantity |
//! | `eth_getCode` | address, block (required) | hex data (`"0x"` without code) |
//! | `eth_call` | `{to, data or input, gas?, from?, value?, ...}`, block (optional, default `latest`) | hex data |
//! | `eth_getLogs` | `{address?, topics?, fromBlock?, toBlock?}` or `{address?, topics?, blockHash}` | log objects |
//!
//! A block object has every field of a post-London header (`number`, `hash`,
//! `parentHash`, `timestamp`, `nonce`, `sha3Uncles`, `logsBloom`, `transactionsRoot`,
//! `stateRoot`, `receiptsRoot`, `miner`, `difficulty`, `extraData`, `size`, `gasLimit`,
//! `gasUsed`, `baseFeePerGas`, `mixHash`), with `transactions` and `uncles` always `[]`.
//!
//! A block parameter is a hex quantity (`"0x1b4"`, no leading zeros), a tag (`latest`,
//! `pending` = `latest`, `safe` = tip - [`DEFAULT_SAFE_DEPTH`], `finalized` = tip -
//! [`DEFAULT_FINALIZED_DEPTH`], `earliest` = 0; both depths configurable), a bare 32-byte
//! hash (a 66-character string), or an EIP-1898 object `{"blockHash": "0x..",
//! "requireCanonical": bool}` / `{"blockNumber": "0x.." or tag}`. Every hash the node
//! knows is canonical (hashes replaced by a reorg are unknown), so `requireCanonical`
//! changes nothing. `eth_getBlockByNumber` takes a number or tag only.
//!
//! # `eth_getLogs`
//!
//! The logs are those of token moves ([`EvmNode::transfer_erc20`], [`EvmNode::transfer_erc721`],
//! [`EvmNode::transfer_erc1155`], [`EvmNode::transfer_erc1155_batch`]) and of seeded transfer
//! histories ([`EvmNode::seed_transfer_history`]); balances set with the `set_*` methods
//! change without a log. The filter is read as geth reads it: `address` one address, a list
//! (a log from any of them) or absent/null/`[]` (any); `topics` up to four positions, each
//! null (any), a topic, or a list of topics (any of them; a null among them makes the
//! position any), and a log with fewer topics than the filter has positions never matches;
//! `fromBlock` and `toBlock` a number or a tag (`latest` when absent; `pending` is `latest`),
//! or instead `blockHash`. The answer lists the matching logs in block order, then by
//! `logIndex`, each with `address`, `topics`, `data`, `blockNumber`, `blockHash`,
//! `blockTimestamp`, `transactionHash`, `transactionIndex`, `logIndex` and `removed`
//! (`false`). Every seeded log and every move is a transaction of its own, so
//! `transactionIndex` is `logIndex`; a transaction's hash is mixed from its block's hash and
//! its index (deterministic, new when a reorg replaces the block).
//!
//! Provider limits are off by default: a block-range cap ([`EvmNode::set_logs_max_range`])
//! and a result cap ([`EvmNode::set_logs_max_results`]). A query over one is refused in the
//! [`LogsErrorStyle`] set, with or without a range that works; a query of one block (by
//! number or by hash) is always answered whole. [`EvmNode::throttle_logs_next`] throttles
//! requests that ask for logs.
//!
//! # `eth_call`
//!
//! Contracts are not EVM code but answer their functions from the state at the block read,
//! decoding calldata and encoding answers with the `sol!` declarations of tokbal's
//! `src/evm/abi.rs`:
//!
//! | code at `to` | answers |
//! |---|---|
//! | none | `"0x"` to anything (as a node does for an account without code) |
//! | ERC-20 | `balanceOf(address)`, `totalSupply()`; `name()`, `symbol()`, `decimals()` |
//! | ERC-721 | `balanceOf(address)` (items held; the zero address reverts), `ownerOf(uint256)` (reverts `ERC721: invalid token ID` for an item without holder), `totalSupply()` when the contract has it; `name()`, `symbol()`, `decimals()` |
//! | ERC-1155 | `balanceOf(address,uint256)` (the zero address reverts), `totalSupply(uint256)` when the contract has it; `name()`, `symbol()`, `decimals()` |
//! | Multicall3 at [`MULTICALL3_ADDRESS`] | `aggregate3((address,bool,bytes)[])` (each inner call runs against the same block; a failed call gives `success = false` and its revert data, or makes the whole call revert with `Multicall3: call failed` when its `allowFailure` is false), `getEthBalance(address)` |
//! | [`EVM_REVERTING_CONTRACT`] | reverts every call with `Error("tokbal devnet: reverted")` |
//! | [`EVM_SHORT_RETURN_CONTRACT`] | returns the 4 bytes [`SHORT_RETURN_DATA`] to every call |
//! | [`EVM_PANICKING_CONTRACT`] | reverts every call with `Panic(0x01)` |
//!
//! A token answers `name()`, `symbol()` and `decimals()` with the metadata set for it at the
//! block read ([`EvmNode::set_token_metadata`], [`EvmTokenMetadata`]): the strings as an ABI
//! `string` or, for a token set to [`StringEncoding::Bytes32`], as one NUL-padded `bytes32`
//! word; `decimals` as a whole `uint256` word. A part not set (`None`), or every part of a
//! token without metadata, reverts with empty data, as a contract without the function does.
//!
//! `totalSupply()` answers what the token's mints and burns add up to (moves from and to the
//! zero address, and a seeded history's), or what [`EvmNode::set_total_supply`] set; for an
//! ERC-1155 `totalSupply(id)` the same per id. ERC-20s have the function, ERC-721 and
//! ERC-1155 contracts not unless [`EvmNode::set_total_supply_function`] gives it to them
//! (without it, the call reverts with empty data).
//!
//! Any other selector, or calldata that does not decode (dirty address words included),
//! reverts with empty data. A direct call that reverts is answered with a JSON-RPC error:
//! code 3, message `execution reverted: <reason>` (`<reason>` the `Error(string)` text, or
//! geth's panic text such as `assert(false)`), `data` the revert payload as hex; a revert
//! without data is code -32000 `execution reverted` without `data`, as geth answers.
//!
//! # Errors
//!
//! | when | code | message |
//! |---|---|---|
//! | body is not JSON | -32700 | `parse error` |
//! | not a request object, `jsonrpc` not `"2.0"`, `method` not a string, `id` neither string, number nor null | -32600 | `invalid request` (with the reason) |
//! | empty batch | -32600 | `empty batch` |
//! | batch larger than the limit ([`EvmNode::set_max_batch_size`], default [`DEFAULT_MAX_BATCH_SIZE`]) | -32600 | `batch too large` (rendered per [`BatchLimitStyle`]) |
//! | unknown method | -32601 | `the method <m> does not exist/is not available` |
//! | a parameter missing or malformed, too many | -32602 | `missing value for required argument <i> (<name>)`, `invalid argument <i> (<name>): <why>`, `too many arguments, want at most <n>` |
//! | a block number past the (apparent) tip, for state methods | -32000 | `header not found` |
//! | a block hash the node does not know | -32000 | `block not found` |
//! | state read below [`EvmNode::prune_before`] | 4444 | `missing trie node` |
//! | `eth_call` with `gas` above 2^24 (EIP-7825) | -32000 | `gas limit too high` |
//! | `eth_call` without `to` | -32000 | `contract creation is not supported by the devnet` |
//! | throttled, [`ThrottleStyle::JsonRpc`] | -32005 | `rate limit exceeded` (`data: {"backoff_seconds": N}`) |
//! | throttled, [`ThrottleStyle::ComputeUnits`] | -32005 | `Your app has exceeded its compute units per second capacity. ...` |
//! | `eth_getLogs` over a cap | per [`LogsErrorStyle`] | per [`LogsErrorStyle`] |
//! | `eth_getLogs` with `fromBlock` after `toBlock` | -32000 | `invalid block range params` |
//! | `eth_getLogs` with more than four topic positions | -32000 | `exceed max topics` |
//! | `eth_getLogs` with `blockHash` and `fromBlock`/`toBlock` | -32602 | `invalid argument 0 (filter): cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other` |
//!
//! Every answer echoes its request's `id` as a JSON value (strings and integers exactly;
//! other numbers as the double they parse to). Requests without `id` are notifications and
//! get no answer (a body of notifications only gets an empty 200). Batch answers come in a
//! seeded order that differs from the request order whenever a batch has two or more
//! answers ([`EvmNode::set_shuffle_batches`]), so that clients must match answers by `id`.
//!
//! # HTTP
//!
//! Any path is accepted (providers put keys in the path). Another method than `POST` is
//! answered 405, a `Content-Type` other than `application/json` (or missing) 415, a body
//! over [`MAX_BODY_BYTES`] 413, all in plain text. Every JSON-RPC answer, errors included,
//! is a 200 with `application/json`, except as below.
//!
//! # Faults
//!
//! The [`Faults`] switches are decided once per HTTP request: latency delays the answer
//! (half of it before the request is handled, half after);
//! throttling answers 429 with `Retry-After` and the JSON-RPC error -32005 as the body (or,
//! with [`ThrottleStyle::JsonRpc`] or [`ThrottleStyle::ComputeUnits`], a 200 whose every
//! answer is a -32005 error); [`EvmNode::throttle_logs_next`] throttles the same way the
//! next requests that carry `eth_getLogs`, whatever else they carry; an injected
//! failure answers its status in plain text (a 429 with `Retry-After`); a drop sends the
//! head and half of the normal body, then cuts the connection; a lag of `n` makes the node
//! act as a replica `n` blocks behind: its tip is `tip - n`, blocks above it answer `null`
//! or `header not found`, and their hashes `block not found`.
//!
//! # Chain model
//!
//! Blocks are never stored. Block `n` is made at `genesis + n * interval` (milliseconds),
//! plus a seeded jitter of less than half the interval when asked, its timestamp the whole
//! seconds of that (so sub-second blocks share seconds, as on L2s); [`EvmNode::mine_at`]
//! places a block at a given second and later blocks follow from there. A block's hash is
//! mixed from the chain id, its number and its generation (distinct for every block of a
//! fork), the generation 0 until [`EvmNode::reorg`] gives the replaced blocks a new one. A hash is known to the
//! node when it handed it out (as a `hash` or `parentHash`, or through
//! [`EvmNode::block`]; the last 65,536 are remembered) or when it is the hash of one of the
//! last 256 blocks, and only if it is still the hash of its block.
//!
//! State is kept as histories of changes by block: a read at block `N` sees exactly the
//! changes effective at or before `N`. The `set_*` methods never change a mined block:
//! they take effect at the tip + 1 (visible once it is mined, see [`EvmNode::mine`]); the
//! `set_*_at` methods write at any block, past ones included, for tests that build a
//! history. Seeded holders ([`EvmNode::seed_native_holders`],
//! [`EvmNode::seed_erc20_holders`]) hold their amounts from genesis, computed when read.
//!
//! Token moves take effect at the tip + 1 too: the moves made before the next
//! [`EvmNode::mine`] land in one block, in order, each with its log. A reorg
//! ([`EvmNode::reorg`]) drops the logs of the blocks it replaces and undoes their moves;
//! what the `set_*` methods wrote stays.

mod balances;
mod chain;
mod demo;
mod exec;
mod getlogs;
mod http;
mod json;
mod logs;
mod metadata;
mod moves;
mod raw_text;
mod rpc;
mod seeded;
mod state;

/// The contract interfaces, shared with tokbal's client so the two cannot disagree.
#[path = "../../src/evm/abi.rs"]
mod abi;

use crate::seen::Seen;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use alloy_primitives::{Address, U256};

use super::faults::{mix64, Faults};
use super::InvalidInput;
use chain::Chain;
use getlogs::LogLimits;
use state::{Code, State};

pub(crate) use http::router;

/// Chain id the EVM node reports unless told otherwise (1, Ethereum mainnet).
pub const DEFAULT_EVM_CHAIN_ID: u64 = 1;
/// Default time between EVM blocks (Ethereum's slot).
pub const DEFAULT_EVM_BLOCK_INTERVAL: Duration = Duration::from_secs(12);
/// Default number of EVM blocks at start (0..=1,999: 6 h 40 min of 12 s blocks from the
/// genesis, enough to hold every instant of the demo data).
pub const DEFAULT_EVM_INITIAL_BLOCKS: u64 = 2_000;
/// Default depth of the `finalized` tag below the tip (two epochs of 32 slots).
pub const DEFAULT_FINALIZED_DEPTH: u64 = 64;
/// Default depth of the `safe` tag below the tip.
pub const DEFAULT_SAFE_DEPTH: u64 = 32;
/// Default largest batch the node answers (geth's `BatchRequestLimit`).
pub const DEFAULT_MAX_BATCH_SIZE: usize = 1_000;
/// Largest request body the node reads (geth's); larger ones are answered 413.
pub const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// Largest `gas` an `eth_call` may ask for (EIP-7825's transaction gas cap, 2^24).
pub const EIP7825_GAS_CAP: u64 = 1 << 24;
/// How many calls [`EvmNode::seen_calls`] keeps (the most recent ones).
pub const SEEN_RPC_CALLS_LIMIT: usize = 10_000;
/// Longest `params` text [`EvmNode::seen_calls`] keeps for one call, in bytes.
pub const SEEN_PARAMS_MAX_LEN: usize = 8 * 1024;

/// Multicall3's address on most EVM chains (and on the devnet unless removed).
pub const MULTICALL3_ADDRESS: &str = "0xcA11bde05977b3631167028862bE2a173976CA11";
/// A contract whose every function reverts with `Error(`[`REVERT_REASON`]`)`.
pub const EVM_REVERTING_CONTRACT: &str = "0xbad0bad0bad0bad0bad0bad0bad0bad0bad0bad0";
/// A contract whose every function returns the 4 bytes [`SHORT_RETURN_DATA`] (too short
/// for a `uint256` or an `address`).
pub const EVM_SHORT_RETURN_CONTRACT: &str = "0x5407005407005407005407005407005407005407";
/// A contract whose every function reverts with `Panic(0x01)` (`assert(false)`).
pub const EVM_PANICKING_CONTRACT: &str = "0x9a1c9a1c9a1c9a1c9a1c9a1c9a1c9a1c9a1c9a1c";
/// The zero address: as the sender of a move, a mint; as its receiver, a burn.
pub const ZERO_ADDRESS: &str = "0x0000000000000000000000000000000000000000";
/// The ERC-20 contract the CLI's `tokbal devnet --seed-evm-transfers` seeds a transfer
/// history for ([`EvmNode::seed_transfer_history`]). Clear of the demo contracts, the
/// other seeded ones and the devnet's special ones.
pub const SEED_EVM_TRANSFERS_CONTRACT: &str = "0x5eed7f005eed7f005eed7f005eed7f005eed7f00";
/// The reason [`EVM_REVERTING_CONTRACT`] reverts with.
pub const REVERT_REASON: &str = "tokbal devnet: reverted";
/// What [`EVM_SHORT_RETURN_CONTRACT`] returns.
pub const SHORT_RETURN_DATA: [u8; 4] = [0xde, 0xad, 0xbe, 0xef];

/// First seeded holder's number: holder `i` is the address whose 160-bit big-endian value
/// is `SEED_HOLDER_BASE + i` (the CLI's `--seed-*` base, clear of precompiles and the demo
/// accounts).
pub const SEED_HOLDER_BASE: u64 = 0x1_0000_0000;
/// Seeded native balances are `SEED_NATIVE_AMOUNT_BASE + i` wei.
pub const SEED_NATIVE_AMOUNT_BASE: u64 = 1_000_000;
/// Seeded ERC-20 balances are `SEED_ERC20_AMOUNT_BASE + i` (one token of 18 decimals, plus
/// `i`).
pub const SEED_ERC20_AMOUNT_BASE: u64 = 1_000_000_000_000_000_000;

/// The demo ERC-721 token, 1337 ([`DEMO_ERC721_TOKEN_ID`](super::DEMO_ERC721_TOKEN_ID) as a
/// number).
pub const DEMO_ERC721_ID: U256 = U256::from_limbs([1337, 0, 0, 0]);
/// The demo ERC-1155 token, 7 ([`DEMO_ERC1155_TOKEN_ID`](super::DEMO_ERC1155_TOKEN_ID) as a
/// number).
pub const DEMO_ERC1155_ID: U256 = U256::from_limbs([7, 0, 0, 0]);

/// Mixed into the seed of the batch order.
const SHUFFLE_SALT: u64 = 0x5bff_1e00_ba7c_0000;

// ---------------------------------------------------------------------------------------
// Configuration and public value types
// ---------------------------------------------------------------------------------------

/// Settings of a synthetic EVM chain, filled in by [`DevnetBuilder`](super::DevnetBuilder).
#[derive(Clone, Debug)]
pub(crate) struct EvmConfig {
    pub(crate) chain_id: u64,
    /// Genesis in milliseconds since the Unix epoch; `None` follows the devnet's genesis.
    pub(crate) genesis_ms: Option<u64>,
    pub(crate) interval_ms: u64,
    pub(crate) jitter: bool,
    pub(crate) initial_blocks: u64,
    pub(crate) finalized_depth: u64,
    pub(crate) safe_depth: u64,
    /// Block Multicall3 is deployed at, or `None` for a chain without it.
    pub(crate) multicall3: Option<u64>,
}

impl Default for EvmConfig {
    fn default() -> Self {
        EvmConfig {
            chain_id: DEFAULT_EVM_CHAIN_ID,
            genesis_ms: None,
            interval_ms: duration_ms(DEFAULT_EVM_BLOCK_INTERVAL),
            jitter: false,
            initial_blocks: DEFAULT_EVM_INITIAL_BLOCKS,
            finalized_depth: DEFAULT_FINALIZED_DEPTH,
            safe_depth: DEFAULT_SAFE_DEPTH,
            multicall3: Some(0),
        }
    }
}

/// A duration in whole milliseconds, saturating at `u64::MAX`.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One block of the EVM chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmBlock {
    /// Block number, starting at 0.
    pub number: u64,
    /// Block hash: `0x` and 64 lower-case hex digits.
    pub hash: String,
    /// The previous block's hash (zeros for genesis).
    pub parent_hash: String,
    /// Block timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
}

/// A token standard, for [`EvmNode::deploy_at`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenStandard {
    /// ERC-20: `balanceOf(address)`.
    Erc20,
    /// ERC-721: `balanceOf(address)`, `ownerOf(uint256)`.
    Erc721,
    /// ERC-1155: `balanceOf(address,uint256)`.
    Erc1155,
}

impl TokenStandard {
    fn code(self) -> Code {
        match self {
            TokenStandard::Erc20 => Code::Erc20,
            TokenStandard::Erc721 => Code::Erc721,
            TokenStandard::Erc1155 => Code::Erc1155,
        }
    }
}

/// How a token's `name()` and `symbol()` answers are encoded ([`EvmTokenMetadata`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StringEncoding {
    /// An ABI `string`: offset, length, the bytes padded to whole words, as OpenZeppelin
    /// tokens answer. The default.
    #[default]
    Abi,
    /// One `bytes32` word: the bytes left-aligned and NUL-padded, cut at 32 bytes, as MKR
    /// and SAI answer.
    Bytes32,
}

/// What a token contract answers to `name()`, `symbol()` and `decimals()`
/// ([`EvmNode::set_token_metadata_with`]). The default answers nothing: every function
/// reverts with empty data, as for a contract without them.
///
/// ```
/// use tokbal_devnet::{EvmTokenMetadata, StringEncoding};
/// use ruint::aliases::U256;
///
/// let mkr = EvmTokenMetadata::new(Some("Maker"), Some("MKR"), Some(18)).bytes32();
/// assert_eq!(mkr.encoding, StringEncoding::Bytes32);
/// assert_eq!(mkr.decimals, Some(U256::from(18)));
/// // A decimals() above 255, and a name that is not UTF-8.
/// let odd = EvmTokenMetadata {
///     name: Some(vec![0x4d, 0xff]),
///     decimals: Some(U256::from(300)),
///     ..EvmTokenMetadata::default()
/// };
/// assert_eq!(odd.symbol, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EvmTokenMetadata {
    /// The bytes `name()` answers (any bytes, UTF-8 or not, any length); `None`: it reverts
    /// with empty data.
    pub name: Option<Vec<u8>>,
    /// The bytes `symbol()` answers; `None`: it reverts with empty data.
    pub symbol: Option<Vec<u8>>,
    /// The word `decimals()` answers (a whole `uint256`, so a value above 255 can be
    /// answered); `None`: it reverts with empty data.
    pub decimals: Option<U256>,
    /// How `name()` and `symbol()` are encoded.
    pub encoding: StringEncoding,
}

impl EvmTokenMetadata {
    /// Text name and symbol as ABI strings, decimals as a word; `None` parts revert.
    pub fn new(name: Option<&str>, symbol: Option<&str>, decimals: Option<u8>) -> Self {
        EvmTokenMetadata {
            name: name.map(|s| s.as_bytes().to_vec()),
            symbol: symbol.map(|s| s.as_bytes().to_vec()),
            decimals: decimals.map(U256::from),
            encoding: StringEncoding::Abi,
        }
    }

    /// The same, with `name()` and `symbol()` answered as `bytes32`.
    pub fn bytes32(mut self) -> Self {
        self.encoding = StringEncoding::Bytes32;
        self
    }
}

/// How a throttled request is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThrottleStyle {
    /// HTTP 429 with `Retry-After`, the body a JSON-RPC error -32005 with `id` null (as
    /// most providers' gateways answer). The default.
    #[default]
    Http429,
    /// HTTP 200 in which every request gets the JSON-RPC error -32005 `rate limit
    /// exceeded` with its own `id` and `data: {"backoff_seconds": N}` (as Infura answers).
    JsonRpc,
    /// HTTP 200 in which every request gets the JSON-RPC error -32005 `Your app has
    /// exceeded its compute units per second capacity. ...` with its own `id` and no
    /// `data` (no time to wait is named).
    ComputeUnits,
}

/// How `eth_getLogs` refuses a query over its block-range cap
/// ([`EvmNode::set_logs_max_range`]) or its result cap ([`EvmNode::set_logs_max_results`]),
/// as one provider or another does. `A..B` below is a range that works: from the query's
/// `fromBlock` to the last block within the range cap whose logs, with those before, stay
/// within the result cap (at least `fromBlock`: one block is always answered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LogsErrorStyle {
    /// Infura: -32005 `query returned more than N results. Try with this block range [0xA,
    /// 0xB].` with `data: {"from": "0xA", "limit": N, "to": "0xB"}` (upper-case hex
    /// digits), whichever cap the query is over. `N` is the result cap (10000 when none is
    /// set). The default.
    #[default]
    Infura,
    /// Alchemy: -32602 `Log response size exceeded. You can make eth_getLogs requests with
    /// up to a R block range and no limit on the response size, or you can request any block
    /// range with a cap of N logs in the response. Based on your parameters, this block range
    /// should work: [0xa, 0xb]`, `R` and `N` the caps shortened as Alchemy writes them
    /// (`2K`, `10K`; 2K and 10K when not set).
    Alchemy,
    /// reth: -32602 `query exceeds max results N, retry with the range A-B` (decimal) over
    /// the result cap; -32602 `query exceeds max block range R` (no range suggested) over the
    /// range cap.
    RangeDash,
    /// No suggestion: -32600 `block range is too wide (maximum R)` over the range cap,
    /// -32005 `query exceeds max results N` over the result cap.
    Plain,
    /// -32000 `query timeout exceeded`, whichever cap the query is over.
    Timeout,
}

/// What [`EvmNode::seed_transfer_history`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededTransferHistory {
    /// The ERC-20 contract, `0x` and 40 lower-case hex digits.
    pub contract: String,
    /// The block it is deployed at, which holds its first log.
    pub first_block: u64,
    /// The block of its last log.
    pub last_block: u64,
    /// How many `Transfer` logs it emitted.
    pub logs: u64,
    /// How many holders it has at `last_block` (every address that took part but the
    /// zero address): holders `0..holders`, at [`seed_holder_address`].
    pub holders: u64,
    /// Its `totalSupply()` at `last_block`: the sum of the holders' balances.
    pub total_supply: U256,
}

/// How a batch above the size limit is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchLimitStyle {
    /// HTTP 200 with one error object (not an array), `id` null, code -32600 `batch too
    /// large`. The default.
    #[default]
    SingleError,
    /// HTTP 200 with an array holding one such error, whose `id` is the first request's
    /// (what geth answers).
    GethArray,
    /// HTTP 413 with a plain-text body (what some providers' gateways answer).
    Http413,
}

/// How many requests the EVM node has received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvmRequestCounts {
    /// HTTP requests, whatever their path, body or outcome (faults included).
    pub http: u64,
    /// HTTP requests whose body is a JSON array (a batch), whatever its size.
    pub batches: u64,
    /// Request objects with a string `method`, single or in batches (faulted and refused
    /// ones included); the sum of the per-method counts below (`chain_id` to `get_logs`,
    /// and `unknown_method`).
    pub calls: u64,
    /// `eth_chainId` calls.
    pub chain_id: u64,
    /// `eth_blockNumber` calls.
    pub block_number: u64,
    /// `eth_getBlockByNumber` calls.
    pub get_block_by_number: u64,
    /// `eth_getBlockByHash` calls.
    pub get_block_by_hash: u64,
    /// `eth_getBalance` calls.
    pub get_balance: u64,
    /// `eth_getCode` calls.
    pub get_code: u64,
    /// `eth_call` calls.
    pub call: u64,
    /// `eth_getLogs` calls (refused and throttled ones included).
    pub get_logs: u64,
    /// `eth_getLogs` calls refused for their block range or the number of their results.
    pub get_logs_refused: u64,
    /// Requests carrying `eth_getLogs` throttled by [`EvmNode::throttle_logs_next`].
    pub get_logs_throttled: u64,
    /// Logs returned by `eth_getLogs`, all answers together.
    pub logs_returned: u64,
    /// Calls of any other method.
    pub unknown_method: u64,
    /// Bodies that are not JSON and items that are not request objects.
    pub invalid: u64,
    /// Inner calls Multicall3's `aggregate3` ran (nested ones included).
    pub inner_calls: u64,
}

/// One JSON-RPC call as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmSeenCall {
    /// The method name.
    pub method: String,
    /// The `params` member as compact JSON (`[]` when absent), cut at
    /// [`SEEN_PARAMS_MAX_LEN`] bytes.
    pub params: String,
}

// ---------------------------------------------------------------------------------------
// Addresses, seeded holders
// ---------------------------------------------------------------------------------------

/// Parses an address as the node's setters take it: `0x` and 40 hex digits, any case (no
/// checksum check).
fn parse_address(s: &str) -> Result<Address, InvalidInput> {
    let bad = || {
        InvalidInput(format!(
            "invalid EVM address {s:?}: want 0x and 40 hex digits"
        ))
    };
    let hex = s.strip_prefix("0x").ok_or_else(bad)?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    hex.parse::<Address>().map_err(|_| bad())
}

/// `0x` and 40 lower-case hex digits.
pub(crate) fn address_string(a: &Address) -> String {
    format!("0x{}", hex_string(a.as_slice()))
}

/// Lower-case hex digits of `bytes`, without prefix.
fn hex_string(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode(bytes)
}

/// The address of seeded holder `i`: `SEED_HOLDER_BASE + i` as 40 hex digits (lower case).
///
/// ```
/// assert_eq!(
///     tokbal_devnet::seed_holder_address(5),
///     "0x0000000000000000000000000000000100000005"
/// );
/// ```
pub fn seed_holder_address(i: u64) -> String {
    let value = u128::from(SEED_HOLDER_BASE) + u128::from(i);
    format!("0x{value:040x}")
}

/// Seeded holder `i`'s native balance: `SEED_NATIVE_AMOUNT_BASE + i` wei.
pub fn seed_native_amount(i: u64) -> U256 {
    U256::from(SEED_NATIVE_AMOUNT_BASE) + U256::from(i)
}

/// Seeded holder `i`'s ERC-20 balance: `SEED_ERC20_AMOUNT_BASE + i`.
pub fn seed_erc20_amount(i: u64) -> U256 {
    U256::from(SEED_ERC20_AMOUNT_BASE) + U256::from(i)
}

// ---------------------------------------------------------------------------------------
// The node
// ---------------------------------------------------------------------------------------

/// The chain and its state, behind one read-write lock so that a request reads one
/// consistent view while other requests read too; changes take the write lock.
#[derive(Debug)]
struct Ledger {
    chain: Chain,
    state: State,
    /// Oldest block whose state is kept.
    oldest_state: u64,
}

/// Protocol switches, read once per request.
#[derive(Clone, Copy, Debug)]
struct Knobs {
    throttle_style: ThrottleStyle,
    max_batch: Option<usize>,
    batch_limit_style: BatchLimitStyle,
    shuffle: bool,
    logs: LogLimits,
}

#[derive(Debug, Default)]
struct Counters {
    http: AtomicU64,
    batches: AtomicU64,
    calls: AtomicU64,
    chain_id: AtomicU64,
    block_number: AtomicU64,
    get_block_by_number: AtomicU64,
    get_block_by_hash: AtomicU64,
    get_balance: AtomicU64,
    get_code: AtomicU64,
    call: AtomicU64,
    get_logs: AtomicU64,
    get_logs_refused: AtomicU64,
    get_logs_throttled: AtomicU64,
    logs_returned: AtomicU64,
    unknown_method: AtomicU64,
    invalid: AtomicU64,
    inner_calls: AtomicU64,
}

impl Counters {
    fn all(&self) -> [&AtomicU64; 17] {
        [
            &self.http,
            &self.batches,
            &self.calls,
            &self.chain_id,
            &self.block_number,
            &self.get_block_by_number,
            &self.get_block_by_hash,
            &self.get_balance,
            &self.get_code,
            &self.call,
            &self.get_logs,
            &self.get_logs_refused,
            &self.get_logs_throttled,
            &self.logs_returned,
            &self.unknown_method,
            &self.invalid,
            &self.inner_calls,
        ]
    }

    /// The counter of `method`.
    fn method(&self, method: &str) -> &AtomicU64 {
        match method {
            "eth_chainId" => &self.chain_id,
            "eth_blockNumber" => &self.block_number,
            "eth_getBlockByNumber" => &self.get_block_by_number,
            "eth_getBlockByHash" => &self.get_block_by_hash,
            "eth_getBalance" => &self.get_balance,
            "eth_getCode" => &self.get_code,
            "eth_call" => &self.call,
            "eth_getLogs" => &self.get_logs,
            _ => &self.unknown_method,
        }
    }
}

#[derive(Debug)]
struct Inner {
    finalized_depth: u64,
    safe_depth: u64,
    shuffle_seed: u64,
    ledger: RwLock<Ledger>,
    knobs: Mutex<Knobs>,
    faults: Faults,
    /// Requests carrying `eth_getLogs` still to throttle.
    logs_throttle: AtomicU64,
    counters: Counters,
    seen: Seen<EvmSeenCall>,
    /// Buffers of long answers sent, for later ones.
    spare: Arc<raw_text::Spare>,
}

/// Handle to a synthetic EVM chain: its blocks, state, fault switches, protocol knobs and
/// request counters. Cheap to clone (all clones share the same state) and safe to use from
/// any thread while the server answers requests.
///
/// ```
/// use tokbal_devnet::Devnet;
/// use ruint::aliases::U256;
///
/// let node = Devnet::builder().evm_initial_blocks(10).build_evm_node();
/// assert_eq!(node.tip(), 9);
/// let owner = "0x00000000000000000000000000000000000000aa";
/// let block = node.set_native_balance(owner, U256::from(500)).unwrap();
/// assert_eq!(block, 10, "writes take effect at the tip + 1");
/// assert_eq!(node.native_balance(owner, None).unwrap(), U256::ZERO);
/// node.mine(1);
/// assert_eq!(node.native_balance(owner, None).unwrap(), U256::from(500));
/// assert_eq!(node.native_balance(owner, Some(9)).unwrap(), U256::ZERO);
/// ```
#[derive(Clone, Debug)]
pub struct EvmNode {
    inner: Arc<Inner>,
}

impl EvmNode {
    pub(crate) fn new(cfg: &EvmConfig, genesis_ms: u64, seed: u64, fault_seed: u64) -> EvmNode {
        let chain = Chain::new(
            cfg.chain_id,
            cfg.genesis_ms.unwrap_or(genesis_ms),
            cfg.interval_ms,
            cfg.jitter,
            seed,
            cfg.initial_blocks,
        );
        EvmNode {
            inner: Arc::new(Inner {
                finalized_depth: cfg.finalized_depth,
                safe_depth: cfg.safe_depth,
                shuffle_seed: mix64(seed ^ SHUFFLE_SALT),
                ledger: RwLock::new(Ledger {
                    chain,
                    state: State::new(cfg.multicall3),
                    oldest_state: 0,
                }),
                knobs: Mutex::new(Knobs {
                    throttle_style: ThrottleStyle::default(),
                    max_batch: Some(DEFAULT_MAX_BATCH_SIZE),
                    batch_limit_style: BatchLimitStyle::default(),
                    shuffle: true,
                    logs: LogLimits::default(),
                }),
                faults: Faults::new(fault_seed),
                logs_throttle: AtomicU64::new(0),
                counters: Counters::default(),
                seen: Seen::new(SEEN_RPC_CALLS_LIMIT),
                spare: Arc::default(),
            }),
        }
    }

    /// The ledger, shared with other readers.
    fn read_lock(&self) -> RwLockReadGuard<'_, Ledger> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.inner.ledger.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The ledger, alone, to change it.
    fn write_lock(&self) -> RwLockWriteGuard<'_, Ledger> {
        self.inner.ledger.write().unwrap_or_else(|e| e.into_inner())
    }

    fn knobs_lock(&self) -> MutexGuard<'_, Knobs> {
        self.inner.knobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn knobs(&self) -> Knobs {
        *self.knobs_lock()
    }

    /// The chain id the node reports.
    pub fn chain_id(&self) -> u64 {
        self.read_lock().chain.chain_id
    }

    /// The number of the tip block.
    pub fn tip(&self) -> u64 {
        self.read_lock().chain.tip
    }

    /// The block the `finalized` tag names now (without any lag fault).
    pub fn finalized(&self) -> u64 {
        self.tip().saturating_sub(self.inner.finalized_depth)
    }

    /// The block the `safe` tag names now (without any lag fault).
    pub fn safe(&self) -> u64 {
        self.tip().saturating_sub(self.inner.safe_depth)
    }

    /// Block `n` on the current fork. Blocks are computed, not stored, so this answers for
    /// any number, including blocks past the tip (which will look like this once mined,
    /// unless [`EvmNode::mine_at`] or [`EvmNode::reorg`] changes them first).
    pub fn block(&self, n: u64) -> EvmBlock {
        let l = self.read_lock();
        let (hash, parent) = l.chain.remember_with_parent(n);
        EvmBlock {
            number: n,
            hash: format!("{hash:#x}"),
            parent_hash: format!("{parent:#x}"),
            timestamp: l.chain.timestamp(n),
        }
    }

    /// The last block (up to the tip) whose timestamp is at or before `timestamp` (seconds),
    /// or `None` when that is before genesis.
    pub fn block_at_time(&self, timestamp: u64) -> Option<u64> {
        let l = self.read_lock();
        l.chain.last_at_or_before(timestamp, l.chain.tip)
    }

    /// Mines `blocks` blocks on the schedule; returns the new tip.
    pub fn mine(&self, blocks: u64) -> u64 {
        self.write_lock().chain.mine(blocks)
    }

    /// Mines one block made at `timestamp` (seconds since the Unix epoch, not before the
    /// tip's: equal is allowed, as on chains with sub-second blocks); later blocks follow
    /// the interval from it. Returns the new block's number.
    pub fn mine_at(&self, timestamp: u64) -> Result<u64, InvalidInput> {
        self.write_lock()
            .chain
            .mine_at(timestamp)
            .map_err(InvalidInput)
    }

    /// Replaces the last `depth` blocks (never genesis) with blocks of the same numbers and
    /// timestamps but new hashes; the replaced hashes become unknown to the node. The new
    /// blocks hold no token moves: the event logs of the replaced blocks are dropped and
    /// what their moves ([`EvmNode::transfer_erc20`] and the like) did is undone (balances,
    /// supplies, the contracts they deployed), with the moves not yet mined; what the `set_*` methods wrote stays (use the `set_*_at`
    /// methods to change what the new blocks hold). Returns the first replaced block, or
    /// `None` when nothing was replaced.
    pub fn reorg(&self, depth: u64) -> Option<u64> {
        let mut l = self.write_lock();
        let first = l.chain.reorg(depth)?;
        l.state.drop_from(first);
        Some(first)
    }

    /// Prunes the state of every block before `block` (clamped to the tip): `eth_call`,
    /// `eth_getBalance` and `eth_getCode` there answer 4444 `missing trie node`; headers
    /// stay. May also move the oldest kept block back down.
    pub fn prune_before(&self, block: u64) {
        let mut l = self.write_lock();
        l.oldest_state = block.min(l.chain.tip);
    }

    /// The oldest block whose state is kept (0 until [`EvmNode::prune_before`]).
    pub fn oldest_state_block(&self) -> u64 {
        self.read_lock().oldest_state
    }

    /// Deploys (or removes, with `None`) Multicall3 at [`MULTICALL3_ADDRESS`] from `block`.
    pub fn set_multicall3(&self, block: Option<u64>) {
        self.write_lock().state.set_multicall3(block);
    }

    /// Whether `address` has code at `block` (the tip when `None`).
    pub fn has_code(&self, address: &str, block: Option<u64>) -> Result<bool, InvalidInput> {
        let a = parse_address(address)?;
        let l = self.read_lock();
        Ok(l.state.code_at(&a, block.unwrap_or(l.chain.tip)).is_some())
    }

    /// The fault switches, read once per HTTP request.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// How throttled requests are answered (default [`ThrottleStyle::Http429`]).
    pub fn set_throttle_style(&self, style: ThrottleStyle) {
        self.knobs_lock().throttle_style = style;
    }

    /// The largest batch answered (default [`DEFAULT_MAX_BATCH_SIZE`]; `None`: no limit
    /// but the body size).
    pub fn set_max_batch_size(&self, max: Option<usize>) {
        self.knobs_lock().max_batch = max;
    }

    /// How a batch above the limit is answered (default [`BatchLimitStyle::SingleError`]).
    pub fn set_batch_limit_style(&self, style: BatchLimitStyle) {
        self.knobs_lock().batch_limit_style = style;
    }

    /// Whether batch answers come in a seeded order unlike the requests' (default on) or
    /// in request order.
    pub fn set_shuffle_batches(&self, on: bool) {
        self.knobs_lock().shuffle = on;
    }

    /// How many requests the node has received.
    pub fn requests(&self) -> EvmRequestCounts {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EvmRequestCounts {
            http: get(&c.http),
            batches: get(&c.batches),
            calls: get(&c.calls),
            chain_id: get(&c.chain_id),
            block_number: get(&c.block_number),
            get_block_by_number: get(&c.get_block_by_number),
            get_block_by_hash: get(&c.get_block_by_hash),
            get_balance: get(&c.get_balance),
            get_code: get(&c.get_code),
            call: get(&c.call),
            get_logs: get(&c.get_logs),
            get_logs_refused: get(&c.get_logs_refused),
            get_logs_throttled: get(&c.get_logs_throttled),
            logs_returned: get(&c.logs_returned),
            unknown_method: get(&c.unknown_method),
            invalid: get(&c.invalid),
            inner_calls: get(&c.inner_calls),
        }
    }

    /// The most recent calls (method and params), oldest first, at most
    /// [`SEEN_RPC_CALLS_LIMIT`] of them.
    pub fn seen_calls(&self) -> Vec<EvmSeenCall> {
        self.inner.seen.list()
    }

    /// Sets the request counters back to zero and forgets the seen calls.
    pub fn reset_requests(&self) {
        for a in self.inner.counters.all() {
            a.store(0, Ordering::Relaxed);
        }
        self.inner.seen.clear();
    }

    /// Records one call as received.
    fn record_call(&self, method: &str, params: Option<&serde_json::Value>) {
        let c = &self.inner.counters;
        c.calls.fetch_add(1, Ordering::Relaxed);
        c.method(method).fetch_add(1, Ordering::Relaxed);
        let params = params.map_or_else(
            || "[]".to_owned(),
            |p| compact_json_cut(p, SEEN_PARAMS_MAX_LEN),
        );
        self.inner.seen.push(EvmSeenCall {
            method: method.to_owned(),
            params,
        });
    }
}

/// A writer that keeps the first `limit` bytes and refuses the rest.
struct Capped {
    out: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.out.len();
        if room == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        let n = buf.len().min(room);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as compact JSON, cut at `limit` bytes (on a character boundary) without ever
/// writing the rest: a call's params may be megabytes of calldata.
fn compact_json_cut(value: &serde_json::Value, limit: usize) -> String {
    let mut w = Capped {
        out: Vec::new(),
        limit,
    };
    // Running out of room is the expected way for a long value to end.
    let _ = json::write(&mut w, value);
    match String::from_utf8(w.out) {
        Ok(s) => s,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_cut_without_being_written_whole() {
        let v = serde_json::json!(["é".repeat(10), "x".repeat(100)]);
        assert_eq!(compact_json_cut(&v, 1_000), v.to_string());
        let cut = compact_json_cut(&v, 6);
        assert_eq!(cut, "[\"éé");
        assert!(v.to_string().starts_with(&cut));
        assert_eq!(compact_json_cut(&v, 0), "");
    }

    #[test]
    fn addresses_parse_strictly() {
        let a = parse_address("0xcA11bde05977b3631167028862bE2a173976CA11").unwrap();
        assert_eq!(
            address_string(&a),
            "0xca11bde05977b3631167028862be2a173976ca11"
        );
        for bad in [
            "",
            "0x",
            "ca11bde05977b3631167028862be2a173976ca11",
            "0xca11bde05977b3631167028862be2a173976ca1",
            "0xca11bde05977b3631167028862be2a173976ca111",
            "0xga11bde05977b3631167028862be2a173976ca11",
            "0X ca11bde05977b3631167028862be2a173976ca1",
        ] {
            assert!(parse_address(bad).is_err(), "{bad:?}");
        }
    }
}
