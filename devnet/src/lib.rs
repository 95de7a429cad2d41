//! In-process test servers on 127.0.0.1: an Aptos full node (the REST API slice tokbal
//! uses), an EVM node (the JSON-RPC slice: blocks, balances, `eth_call` with Multicall3 and
//! token contracts), an AWS Managed Blockchain Query endpoint (`BatchGetTokenBalance`,
//! restJson1 with SigV4) and an Esplora server (the Bitcoin HTTP API slice: tip, blocks,
//! address statistics and paged histories), each with fault injection and request counters.
//!
//! Used by tokbal's own tests, by `tokbal demo`, and by anyone who wants to test code that
//! talks to an Aptos node, an EVM node, AMB Query or Esplora without a network:
//!
//! ```no_run
//! use tokbal_devnet::{Devnet, APT_COIN};
//!
//! # async fn example() -> std::io::Result<()> {
//! let devnet = Devnet::builder().initial_blocks(100).start().await?;
//! let node = devnet.aptos();
//! node.set_balance("0xa11ce", APT_COIN, 1_000).unwrap();
//! let url = devnet.aptos_url(); // "http://127.0.0.1:PORT/v1"
//! // ... point a client at `url`; flip faults with `node.faults()` ...
//! devnet.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The AMB half answers the real `aws-sdk-managedblockchainquery` pointed at
//! [`Devnet::amb_url`] with the test credentials [`TEST_ACCESS_KEY_ID`] and
//! [`TEST_SECRET_ACCESS_KEY`] in region [`AMB_REGION`]:
//!
//! ```no_run
//! use tokbal_devnet::{Devnet, DEMO_ETH_OWNER, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
//!
//! # async fn example() -> std::io::Result<()> {
//! let devnet = Devnet::builder().start().await?;
//! let amb = devnet.amb();
//! amb.set_balance("ETHEREUM_MAINNET", DEMO_ETH_OWNER, None, Some("eth"), 1_767_225_600, "10")
//!     .unwrap();
//! let url = devnet.amb_url(); // "http://127.0.0.1:PORT"
//! // ... build the SDK with `endpoint_url(url)` and the test credentials ...
//! # Ok(())
//! # }
//! ```
//!
//! The EVM half answers JSON-RPC 2.0 `POST`s (single requests and batches) at
//! [`Devnet::evm_url`]; see the [`evm`] module for its methods, errors and faults:
//!
//! ```no_run
//! use tokbal_devnet::{Devnet, DEMO_ERC20_CONTRACT, DEMO_ETH_OWNER};
//! use ruint::aliases::U256;
//!
//! # async fn example() -> std::io::Result<()> {
//! let devnet = Devnet::builder().evm_chain_id(8453).start().await?;
//! let evm = devnet.evm();
//! evm.set_erc20_balance(DEMO_ERC20_CONTRACT, DEMO_ETH_OWNER, U256::from(10)).unwrap();
//! evm.mine(1); // writes take effect at the next block
//! let url = devnet.evm_url(); // "http://127.0.0.1:PORT"
//! // ... eth_call Multicall3's aggregate3 at `url`, pinned to a block ...
//! # Ok(())
//! # }
//! ```
//!
//! The Esplora half answers the HTTP API of blockstream.info / mempool.space / electrs (the
//! slice tokbal reads Bitcoin with) at [`Devnet::esplora_url`]; see the [`esplora`] module
//! for its endpoints, errors and faults:
//!
//! ```no_run
//! use tokbal_devnet::{seed_address, Devnet};
//!
//! # async fn example() -> std::io::Result<()> {
//! let devnet = Devnet::builder().esplora_initial_blocks(100).start().await?;
//! let btc = devnet.esplora();
//! btc.pay(&seed_address(0), 150_000).unwrap();
//! btc.mine(1); // payments confirm in the next block
//! let url = devnet.esplora_url(); // "http://127.0.0.1:PORT" (also under /api)
//! // ... GET {url}/address/{address} and {url}/address/{address}/txs/chain ...
//! # Ok(())
//! # }
//! ```
//!
//! The servers run on tokio tasks of the runtime that called [`DevnetBuilder::start`] and
//! stop when the [`Devnet`] is dropped or [`Devnet::shutdown`] is awaited. They only ever
//! bind the loopback address.

pub mod amb;
pub mod aptos;
pub mod esplora;
pub mod evm;
pub mod faults;
mod schedule;
mod seen;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use amb::{
    AmbBalance, AmbNode, AmbRequestCounts, SeenCall, SeenItem, AMB_NETWORKS, AMB_REGION,
    AMB_SIGNING_NAME, DEMO_BTC_ADDRESS, DEMO_ERC1155_CONTRACT, DEMO_ERC1155_TOKEN_ID,
    DEMO_ERC20_CONTRACT, DEMO_ERC721_CONTRACT, DEMO_ERC721_TOKEN_ID, DEMO_ETH_OWNER,
    DEMO_ETH_OWNER_2, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY,
};
pub use aptos::{
    canonical_address, canonical_asset_type, AptosNode, BlockInfo, LedgerInfo, RequestCounts,
    APT_COIN, APT_FA_METADATA, DEMO_ALICE, DEMO_BOB, DEMO_USDC_METADATA, FA_METADATA_TYPE,
};
pub use esplora::{
    esplora_faucet_address, seed_address, seed_address_on, EsploraBlock, EsploraNetwork,
    EsploraNode, EsploraRequestCounts, EsploraTxRef, DEMO_BTC_COUNTERPARTY, ESPLORA_FAUCET_ADDRESS,
    TRANSFER_FEE_SATS,
};
pub use evm::{
    seed_erc20_amount, seed_holder_address, seed_native_amount, BatchLimitStyle, EvmBlock, EvmNode,
    EvmRequestCounts, EvmSeenCall, EvmTokenMetadata, LogsErrorStyle, SeededTransferHistory,
    StringEncoding, ThrottleStyle, TokenStandard, DEMO_ERC1155_ID, DEMO_ERC721_ID, EIP7825_GAS_CAP,
    EVM_PANICKING_CONTRACT, EVM_REVERTING_CONTRACT, EVM_SHORT_RETURN_CONTRACT, MULTICALL3_ADDRESS,
    REVERT_REASON, SEED_EVM_TRANSFERS_CONTRACT, SEED_HOLDER_BASE, SHORT_RETURN_DATA, ZERO_ADDRESS,
};
pub use faults::{FaultAction, FaultCounts, FaultDecision, Faults};

use aptos::{duration_us, now_us, AptosConfig};
use esplora::EsploraConfig;
use evm::{duration_ms, EvmConfig};

/// An owner, asset type, network, token id, balance or block that an [`AptosNode`],
/// [`EvmNode`], [`AmbNode`] or [`EsploraNode`] method refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidInput(pub(crate) String);

impl InvalidInput {
    /// What was wrong, in the words the node would use.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// Serves `app` on `listener` until `cancel` fires, then stops gracefully.
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    cancel: CancellationToken,
) -> io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
}

/// How long [`Devnet::shutdown`] waits for in-flight answers before aborting the server.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Mixed into the fault seed of the AMB half, so that its ratios differ from the Aptos
/// half's.
const AMB_FAULT_SEED_SALT: u64 = 0x0a3b_0a3b_0a3b_0a3b;

/// Mixed into the fault seed of the EVM half, so that its ratios differ from the others'.
const EVM_FAULT_SEED_SALT: u64 = 0x0e7a_0e7a_0e7a_0e7a;

/// Mixed into the fault seed of the Esplora half, so that its ratios differ from the
/// others'.
const ESPLORA_FAULT_SEED_SALT: u64 = 0xb17c_b17c_b17c_b17c;

/// Smallest auto-advance period accepted.
const MIN_AUTO_ADVANCE: Duration = Duration::from_millis(1);

/// Where the genesis timestamp comes from.
#[derive(Clone, Copy, Debug)]
enum Genesis {
    /// A fixed timestamp in microseconds since the Unix epoch.
    Fixed(u64),
    /// Chosen when the node is built so that the initial tip is at the wall clock.
    Now,
}

/// Settings for a [`Devnet`]; obtained from [`Devnet::builder`].
///
/// Defaults: any free ports, genesis at 2026-01-01T00:00:00Z, no balances, no faults, no
/// auto-advance; for Aptos, chain id 4, 1,000 blocks, 250 ms between blocks with seeded
/// jitter, 2 to 5 versions per block; for the EVM node, chain id 1, 2,000 blocks 12 s
/// apart, Multicall3 from block 0, `finalized` 64 and `safe` 32 blocks below the tip; for
/// the Esplora node, mainnet, 1,000 blocks 600 s apart without jitter.
#[derive(Clone, Debug)]
pub struct DevnetBuilder {
    port: u16,
    amb_port: u16,
    evm_port: u16,
    esplora_port: u16,
    aptos: AptosConfig,
    evm: EvmConfig,
    esplora: EsploraConfig,
    genesis: Genesis,
    demo_data: bool,
    auto_advance: Option<Duration>,
    fault_seed: Option<u64>,
}

impl Default for DevnetBuilder {
    fn default() -> Self {
        DevnetBuilder {
            port: 0,
            amb_port: 0,
            evm_port: 0,
            esplora_port: 0,
            aptos: AptosConfig::default(),
            evm: EvmConfig::default(),
            esplora: EsploraConfig::default(),
            genesis: Genesis::Fixed(aptos::DEFAULT_GENESIS_TIMESTAMP_US),
            demo_data: false,
            auto_advance: None,
            fault_seed: None,
        }
    }
}

impl DevnetBuilder {
    /// The port the Aptos node listens on (on 127.0.0.1); 0, the default, picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The port the AMB endpoint listens on (on 127.0.0.1); 0, the default, picks a free one.
    pub fn amb_port(mut self, port: u16) -> Self {
        self.amb_port = port;
        self
    }

    /// The port the EVM node listens on (on 127.0.0.1); 0, the default, picks a free one.
    pub fn evm_port(mut self, port: u16) -> Self {
        self.evm_port = port;
        self
    }

    /// The port the Esplora server listens on (on 127.0.0.1); 0, the default, picks a free
    /// one.
    pub fn esplora_port(mut self, port: u16) -> Self {
        self.esplora_port = port;
        self
    }

    /// The chain id the Aptos node reports (default 4).
    pub fn chain_id(mut self, chain_id: u8) -> Self {
        self.aptos.chain_id = chain_id;
        self
    }

    /// How many blocks the chain has at start (at least 1; default 1,000). Blocks are
    /// computed, not stored, so 10^8 costs no more than 10.
    pub fn initial_blocks(mut self, blocks: u64) -> Self {
        self.aptos.initial_blocks = blocks.max(1);
        self
    }

    /// Mean time between blocks (default 250 ms; at least 1 µs).
    pub fn block_interval(mut self, interval: Duration) -> Self {
        self.aptos.block_interval_us = duration_us(interval).max(1);
        self
    }

    /// Whether block timestamps get a seeded jitter of less than half the interval
    /// (default on). Without it, block `h` is made at exactly `genesis + h * interval`.
    pub fn block_jitter(mut self, on: bool) -> Self {
        self.aptos.jitter = on;
        self
    }

    /// Every block holds exactly `n` versions (1 to 1,000,000).
    pub fn versions_per_block(self, n: u64) -> Self {
        self.versions_per_block_range(n, n)
    }

    /// Blocks hold between `min` and `max` versions (inclusive, 1 to 1,000,000), in a seeded
    /// pattern (default 2 to 5).
    pub fn versions_per_block_range(mut self, min: u64, max: u64) -> Self {
        let min = min.clamp(1, aptos::MAX_VERSIONS_PER_BLOCK);
        self.aptos.min_versions_per_block = min;
        self.aptos.max_versions_per_block = max.clamp(min, aptos::MAX_VERSIONS_PER_BLOCK);
        self
    }

    /// Seed for block sizes, timestamp jitter, Aptos block hashes, the order of EVM batch
    /// answers and (unless [`DevnetBuilder::fault_seed`] is given) fault ratios.
    pub fn seed(mut self, seed: u64) -> Self {
        self.aptos.seed = seed;
        self
    }

    /// Seed for the fault ratios only.
    pub fn fault_seed(mut self, seed: u64) -> Self {
        self.fault_seed = Some(seed);
        self
    }

    /// Timestamp of block 0, microseconds since the Unix epoch (default 2026-01-01T00:00:00Z),
    /// for the Aptos node and (unless [`DevnetBuilder::evm_genesis_timestamp`] is given) the
    /// EVM node.
    pub fn genesis_timestamp_us(mut self, timestamp_us: u64) -> Self {
        self.genesis = Genesis::Fixed(timestamp_us);
        self
    }

    /// Places genesis so that the initial tip block is made at the wall-clock time the node
    /// is built (useful with [`DevnetBuilder::auto_advance`] for a node that passes
    /// `/-/healthy?duration_secs=N`); the EVM node's too, unless
    /// [`DevnetBuilder::evm_genesis_timestamp`] is given. Not deterministic, unlike the
    /// default.
    pub fn genesis_at_now(mut self) -> Self {
        self.genesis = Genesis::Now;
        self
    }

    /// Blocks per epoch (default 28,800); the epoch reported is `1 + height / this`.
    pub fn blocks_per_epoch(mut self, blocks: u64) -> Self {
        self.aptos.blocks_per_epoch = blocks.max(1);
        self
    }

    /// The chain id the EVM node reports (default 1).
    pub fn evm_chain_id(mut self, chain_id: u64) -> Self {
        self.evm.chain_id = chain_id;
        self
    }

    /// How many blocks the EVM chain has at start (at least 1; default 2,000). Blocks are
    /// computed, not stored, so 3 * 10^8 costs no more than 10.
    pub fn evm_initial_blocks(mut self, blocks: u64) -> Self {
        self.evm.initial_blocks = blocks.max(1);
        self
    }

    /// Time between EVM blocks (default 12 s; at least 1 ms). Below a second, several
    /// blocks share a timestamp (whole seconds), as on L2s.
    pub fn evm_block_interval(mut self, interval: Duration) -> Self {
        self.evm.interval_ms = duration_ms(interval).max(1);
        self
    }

    /// Whether EVM block times get a seeded jitter of less than half the interval (default
    /// off: block `n` is made at exactly `genesis + n * interval`). With it, the spacing is
    /// irregular but block times still increase (by at least 1 ms) and timestamps never
    /// decrease.
    pub fn evm_block_jitter(mut self, on: bool) -> Self {
        self.evm.jitter = on;
        self
    }

    /// Timestamp of EVM block 0, seconds since the Unix epoch (default: the devnet's
    /// genesis, see [`DevnetBuilder::genesis_timestamp_us`]).
    pub fn evm_genesis_timestamp(mut self, timestamp_secs: u64) -> Self {
        self.evm.genesis_ms = Some(timestamp_secs.saturating_mul(1000));
        self
    }

    /// How far below the tip the `finalized` tag is (default 64 blocks).
    pub fn evm_finalized_depth(mut self, blocks: u64) -> Self {
        self.evm.finalized_depth = blocks;
        self
    }

    /// How far below the tip the `safe` tag is (default 32 blocks).
    pub fn evm_safe_depth(mut self, blocks: u64) -> Self {
        self.evm.safe_depth = blocks;
        self
    }

    /// Deploys Multicall3 at [`MULTICALL3_ADDRESS`] from `block` (default: from block 0).
    pub fn evm_multicall3_at(mut self, block: u64) -> Self {
        self.evm.multicall3 = Some(block);
        self
    }

    /// An EVM chain without Multicall3 (calls to its address answer `"0x"`, as calls to any
    /// address without code).
    pub fn evm_without_multicall3(mut self) -> Self {
        self.evm.multicall3 = None;
        self
    }

    /// The Bitcoin network the Esplora node serves (default mainnet); it decides which
    /// addresses are accepted. The demo data is only seeded on mainnet.
    pub fn esplora_network(mut self, network: EsploraNetwork) -> Self {
        self.esplora.network = network;
        self
    }

    /// How many blocks the Bitcoin chain has at start (at least 1; default 1,000). Blocks
    /// are computed, not stored.
    pub fn esplora_initial_blocks(mut self, blocks: u64) -> Self {
        self.esplora.initial_blocks = blocks.max(1);
        self
    }

    /// Time between Bitcoin blocks, in whole seconds (default 600 s; at least 1 s).
    pub fn esplora_block_interval(mut self, interval: Duration) -> Self {
        self.esplora.interval_secs = interval.as_secs().max(1);
        self
    }

    /// A seeded jitter of up to `max` (whole seconds, at most the interval minus 1 s)
    /// either way on Bitcoin block timestamps from block 11 on (default none), so that a
    /// block's timestamp may be below its parent's, as on Bitcoin; median times still
    /// never decrease.
    pub fn esplora_block_jitter(mut self, max: Duration) -> Self {
        self.esplora.jitter_secs = max.as_secs();
        self
    }

    /// Timestamp of Bitcoin block 0, seconds since the Unix epoch (default: the devnet's
    /// genesis, see [`DevnetBuilder::genesis_timestamp_us`]).
    pub fn esplora_genesis_timestamp(mut self, timestamp_secs: u64) -> Self {
        self.esplora.genesis_secs = Some(timestamp_secs);
        self
    }

    /// Adds one block every `period` while the devnet runs (off by default; at least 1 ms).
    pub fn auto_advance(mut self, period: Duration) -> Self {
        self.auto_advance = Some(period.max(MIN_AUTO_ADVANCE));
        self
    }

    /// Seeds a small realistic ledger: APT (`0x1::aptos_coin::AptosCoin`) for
    /// [`DEMO_ALICE`] and [`DEMO_BOB`] changing at several versions, USDC (fungible asset
    /// [`DEMO_USDC_METADATA`]) for both, and a pruned prefix. With `T` the initial tip
    /// version and `at(k) = T / 10 * k`:
    ///
    /// | owner | asset | version | amount |
    /// |---|---|---|---|
    /// | Alice | APT | 0 | 100_000_000_000 |
    /// | Alice | APT | at(3) | 98_765_432_100 |
    /// | Alice | APT | at(6) | 123_456_789_000 |
    /// | Alice | APT | at(9) | 120_000_000_000 |
    /// | Bob | APT | 0 | 2_500_000_000 |
    /// | Bob | APT | at(5) | 4_000_000_000 |
    /// | Bob | APT | at(8) | 3_990_000_000 |
    /// | Alice | USDC | at(2) | 1_500_000_000 |
    /// | Alice | USDC | at(7) | 1_250_000_000 |
    /// | Bob | USDC | at(8) | 42_000_000 |
    ///
    /// Versions before `at(1)` are pruned. USDC's `0x1::fungible_asset::Metadata` is there
    /// from version 0: `USDC`, `USDC`, 6 decimals (APT's metadata is always there).
    ///
    /// It also seeds the AMB endpoint, on `ETHEREUM_MAINNET` and `BITCOIN_MAINNET`, with
    /// `G` = 2026-01-01T00:00:00Z ([`amb::DEMO_AMB_START_SECS`], whatever the Aptos
    /// genesis) and `h` an hour:
    ///
    /// | owner | token | at | balance |
    /// |---|---|---|---|
    /// | [`DEMO_ETH_OWNER`] | ETH | G | 5000000000000000000 |
    /// | [`DEMO_ETH_OWNER`] | ETH | G + 1h | 4200000000000000000 |
    /// | [`DEMO_ETH_OWNER`] | ETH | G + 3h | 12500000000000000000 |
    /// | [`DEMO_ETH_OWNER_2`] | ETH | G + 30 min | 1000000000000000000 |
    /// | [`DEMO_ETH_OWNER_2`] | ETH | G + 2h | 750000000000000000 |
    /// | [`DEMO_ETH_OWNER`] | ERC-20 [`DEMO_ERC20_CONTRACT`] | G + 1.5h | 340282366920938463463374607431768211457 (2^128 + 1) |
    /// | [`DEMO_ETH_OWNER_2`] | ERC-20 [`DEMO_ERC20_CONTRACT`] | G + 4h | 2^256 - 1 |
    /// | [`DEMO_ETH_OWNER_2`] | ERC-721 [`DEMO_ERC721_CONTRACT`] #[`DEMO_ERC721_TOKEN_ID`] | G + 20 min | 1 |
    /// | [`DEMO_ETH_OWNER_2`] | the same ERC-721 token | G + 2h | 0 |
    /// | [`DEMO_ETH_OWNER`] | the same ERC-721 token | G + 2h | 1 |
    /// | [`DEMO_ETH_OWNER_2`] | ERC-1155 [`DEMO_ERC1155_CONTRACT`] #[`DEMO_ERC1155_TOKEN_ID`] | G + 2.5h | 250 |
    /// | [`DEMO_BTC_ADDRESS`] | BTC | G | 150000000 |
    /// | [`DEMO_BTC_ADDRESS`] | BTC | G + 3h | 98765432 |
    ///
    /// And the EVM node with the same Ethereum history, each change at the first block
    /// made at or after its instant (with the default 12 s blocks from G, `G + x` is block
    /// `x / 12 s`, and the demo instant G + 1h45m is block 525), the three contracts
    /// deployed at block 0, the ERC-721 token being [`DEMO_ERC721_ID`] (1337) and the
    /// ERC-1155 token [`DEMO_ERC1155_ID`] (7), plus one EVM-only change (AMB answers 0
    /// for it):
    ///
    /// | owner | token | at | balance |
    /// |---|---|---|---|
    /// | [`DEMO_ETH_OWNER`] | ERC-1155 [`DEMO_ERC1155_CONTRACT`] #7 | G + 1h15m | 12 |
    ///
    /// At the demo instant, [`DEMO_ETH_OWNER`] holds 4.2 ETH, 2^128 + 1 of the ERC-20 and
    /// 12 of the ERC-1155 token; [`DEMO_ETH_OWNER_2`] holds the ERC-721 token.
    ///
    /// The three EVM contracts answer `name()`, `symbol()` and `decimals()` from genesis
    /// (see [`EvmNode::set_token_metadata`]):
    ///
    /// | contract | name | symbol | decimals |
    /// |---|---|---|---|
    /// | ERC-20 [`DEMO_ERC20_CONTRACT`] | `Demo Coffee` | `COFFEE` | 18 |
    /// | ERC-721 [`DEMO_ERC721_CONTRACT`] | `Demo Beef` | `BEEF` | (reverts) |
    /// | ERC-1155 [`DEMO_ERC1155_CONTRACT`] | `Demo Cafe` | `CAFE` | (reverts) |
    ///
    /// The ERC-20's name and symbol are `bytes32` words, as MKR answers them; the others' are
    /// ABI strings.
    ///
    /// And the Esplora node (on mainnet only) with a history of [`DEMO_BTC_ADDRESS`], each
    /// transaction in the first block scheduled at or after its instant (with the default
    /// 600 s blocks from G, `G + x` is block `x / 600 s`), transfers going to
    /// [`DEMO_BTC_COUNTERPARTY`] with a fee of [`TRANSFER_FEE_SATS`] and spending the
    /// oldest outputs:
    ///
    /// | at | block | transaction | balance after |
    /// |---|---|---|---|
    /// | G + 10 min | 1 | receives 100000000 | 100000000 |
    /// | G + 30 min | 3 | receives 60000000 | 160000000 |
    /// | G + 1h | 6 | sends 9999000 | 150000000 |
    /// | G + 3h | 18 | sends 51233568 | 98765432 |
    /// | G + 4h | 24 | receives 1234568 | 100000000 |
    /// | (mempool) | | receives 5000000 | (unconfirmed) |
    ///
    /// At the demo instant G + 1h45m the address holds 150000000 sats, whether the instant
    /// is pinned by timestamp (block 10) or by median time (block 15): nothing changes in
    /// blocks 7 to 17. At G + 3h it holds 98765432, as the AMB half says.
    pub fn with_demo_data(mut self) -> Self {
        self.demo_data = true;
        self
    }

    /// Builds the Aptos ledger without serving it (for code that only needs the model, such
    /// as benchmarks of the block arithmetic).
    pub fn build_aptos_node(&self) -> AptosNode {
        let mut cfg = self.aptos.clone();
        cfg.genesis_timestamp_us = match self.genesis {
            Genesis::Fixed(t) => t,
            Genesis::Now => {
                let span = (cfg.initial_blocks.max(1) - 1).saturating_mul(cfg.block_interval_us);
                now_us().saturating_sub(span)
            }
        };
        let fault_seed = self.fault_seed.unwrap_or(cfg.seed ^ 0xfa17_5eed_0000_0000);
        let node = AptosNode::new(&cfg, fault_seed);
        if self.demo_data {
            node.seed_demo_data();
        }
        node
    }

    /// Builds the AMB ledger without serving it (demo balances included when
    /// [`DevnetBuilder::with_demo_data`] was called).
    pub fn build_amb_node(&self) -> AmbNode {
        let seed = self
            .fault_seed
            .unwrap_or(self.aptos.seed ^ 0xfa17_5eed_0000_0000)
            ^ AMB_FAULT_SEED_SALT;
        let node = AmbNode::new(seed);
        if self.demo_data {
            node.seed_demo_data();
        }
        node
    }

    /// Builds the EVM chain without serving it (demo data included when
    /// [`DevnetBuilder::with_demo_data`] was called).
    pub fn build_evm_node(&self) -> EvmNode {
        let genesis_ms = match self.genesis {
            Genesis::Fixed(us) => us / 1000,
            Genesis::Now => {
                let blocks = self.evm.initial_blocks.max(1) - 1;
                let span = blocks.saturating_mul(self.evm.interval_ms);
                (now_us() / 1000).saturating_sub(span)
            }
        };
        let fault_seed = self
            .fault_seed
            .unwrap_or(self.aptos.seed ^ 0xfa17_5eed_0000_0000)
            ^ EVM_FAULT_SEED_SALT;
        let node = EvmNode::new(&self.evm, genesis_ms, self.aptos.seed, fault_seed);
        if self.demo_data {
            node.seed_demo_data();
        }
        node
    }

    /// Builds the Bitcoin chain without serving it (demo data included when
    /// [`DevnetBuilder::with_demo_data`] was called).
    pub fn build_esplora_node(&self) -> EsploraNode {
        let genesis_secs = match self.genesis {
            Genesis::Fixed(us) => us / 1_000_000,
            Genesis::Now => {
                let blocks = self.esplora.initial_blocks.max(1) - 1;
                let span = blocks.saturating_mul(self.esplora.interval_secs.max(1));
                (now_us() / 1_000_000).saturating_sub(span)
            }
        };
        let fault_seed = self
            .fault_seed
            .unwrap_or(self.aptos.seed ^ 0xfa17_5eed_0000_0000)
            ^ ESPLORA_FAULT_SEED_SALT;
        let node = EsploraNode::new(&self.esplora, genesis_secs, self.aptos.seed, fault_seed);
        if self.demo_data {
            node.seed_demo_data();
        }
        node
    }

    /// Binds 127.0.0.1 (one port for each half) and starts serving. Must be called inside
    /// a tokio runtime.
    pub async fn start(self) -> io::Result<Devnet> {
        let node = self.build_aptos_node();
        let amb = self.build_amb_node();
        let evm = self.build_evm_node();
        let esplora = self.build_esplora_node();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let aptos_addr = listener.local_addr()?;
        let amb_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.amb_port)).await?;
        let amb_addr = amb_listener.local_addr()?;
        let evm_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.evm_port)).await?;
        let evm_addr = evm_listener.local_addr()?;
        let esplora_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.esplora_port)).await?;
        let esplora_addr = esplora_listener.local_addr()?;
        let cancel = CancellationToken::new();
        let mut tasks = Vec::new();

        let (serve_node, serve_cancel) = (node.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            // axum's serve never returns an error; nothing to report if it did.
            let _ = serve(
                listener,
                aptos::router(serve_node, serve_cancel.clone()),
                serve_cancel,
            )
            .await;
        }));
        let (serve_amb, serve_cancel) = (amb.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let _ = serve(
                amb_listener,
                amb::router(serve_amb, serve_cancel.clone()),
                serve_cancel,
            )
            .await;
        }));
        let (serve_evm, serve_cancel) = (evm.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let _ = serve(
                evm_listener,
                evm::router(serve_evm, serve_cancel.clone()),
                serve_cancel,
            )
            .await;
        }));
        let (serve_esplora, serve_cancel) = (esplora.clone(), cancel.clone());
        tasks.push(tokio::spawn(async move {
            let _ = serve(
                esplora_listener,
                esplora::router(serve_esplora, serve_cancel.clone()),
                serve_cancel,
            )
            .await;
        }));

        if let Some(period) = self.auto_advance {
            let (tick_node, tick_cancel) = (node.clone(), cancel.clone());
            tasks.push(tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker.tick().await; // the first tick is immediate
                loop {
                    tokio::select! {
                        _ = tick_cancel.cancelled() => break,
                        _ = ticker.tick() => { tick_node.advance(1); }
                    }
                }
            }));
        }

        Ok(Devnet {
            aptos: node,
            aptos_addr,
            amb,
            amb_addr,
            evm,
            evm_addr,
            esplora,
            esplora_addr,
            cancel,
            tasks,
        })
    }
}

/// Running devnet servers. Dropping it stops them (in the background); await
/// [`Devnet::shutdown`] to stop them and wait until they are gone.
#[derive(Debug)]
pub struct Devnet {
    aptos: AptosNode,
    aptos_addr: SocketAddr,
    amb: AmbNode,
    amb_addr: SocketAddr,
    evm: EvmNode,
    evm_addr: SocketAddr,
    esplora: EsploraNode,
    esplora_addr: SocketAddr,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Devnet {
    /// Settings for a devnet, starting from the defaults.
    pub fn builder() -> DevnetBuilder {
        DevnetBuilder::default()
    }

    /// Starts a devnet with the default settings.
    pub async fn start() -> io::Result<Devnet> {
        DevnetBuilder::default().start().await
    }

    /// Base URL of the Aptos node, `http://127.0.0.1:PORT/v1`.
    pub fn aptos_url(&self) -> String {
        format!("http://{}/v1", self.aptos_addr)
    }

    /// Address the Aptos node listens on.
    pub fn aptos_addr(&self) -> SocketAddr {
        self.aptos_addr
    }

    /// The Aptos ledger, its fault switches and request counters.
    pub fn aptos(&self) -> &AptosNode {
        &self.aptos
    }

    /// Base URL of the AMB Query endpoint, `http://127.0.0.1:PORT` (the SDK's
    /// `endpoint_url`).
    pub fn amb_url(&self) -> String {
        format!("http://{}", self.amb_addr)
    }

    /// Address the AMB Query endpoint listens on.
    pub fn amb_addr(&self) -> SocketAddr {
        self.amb_addr
    }

    /// The AMB ledger, its accepted keys, fault switches and request counters.
    pub fn amb(&self) -> &AmbNode {
        &self.amb
    }

    /// URL of the EVM node's JSON-RPC endpoint, `http://127.0.0.1:PORT` (any path is
    /// answered the same).
    pub fn evm_url(&self) -> String {
        format!("http://{}", self.evm_addr)
    }

    /// Address the EVM node listens on.
    pub fn evm_addr(&self) -> SocketAddr {
        self.evm_addr
    }

    /// The EVM chain, its state, fault switches, protocol knobs and request counters.
    pub fn evm(&self) -> &EvmNode {
        &self.evm
    }

    /// Base URL of the Esplora server, `http://127.0.0.1:PORT` (the same paths are also
    /// served under `/api`).
    pub fn esplora_url(&self) -> String {
        format!("http://{}", self.esplora_addr)
    }

    /// Address the Esplora server listens on.
    pub fn esplora_addr(&self) -> SocketAddr {
        self.esplora_addr
    }

    /// The Bitcoin chain, its ledger, fault switches and request counters.
    pub fn esplora(&self) -> &EsploraNode {
        &self.esplora
    }

    /// Stops the servers and waits (up to a few seconds for in-flight answers) until they
    /// are gone.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
