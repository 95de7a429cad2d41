//! # tokbal: token balances across chains, in one consistent snapshot
//!
//! tokbal reads token balances: Aptos coins and fungible assets from an Aptos full node's
//! REST API (feature `aptos`), native coins and ERC-20, ERC-721 and ERC-1155 tokens on
//! Ethereum and every EVM chain from JSON-RPC nodes (feature `evm`), Bitcoin from an Esplora
//! server (feature `bitcoin`), and, for the customers AWS still serves, Bitcoin and Ethereum
//! through AWS Managed Blockchain Query (feature `amb`). It adds what the raw APIs do not
//! give:
//!
//! - **batching**: any number of mixed [`Query`]s in one call, one result per query, in order;
//!   identical queries are read once;
//! - **pinning**: a whole batch is read at one moment ([`At`]), and the [`Snapshot`] it was
//!   read at is returned with the results;
//! - **one error type**: every failure is an [`Error`] with an [`ErrorKind`], the upstream
//!   code, and whether a retry can help. One bad query never sinks the others.
//!
//! Balances are [`Amount`]s: exact unsigned integers up to 2^256 - 1, never floats. On the
//! same engine: each token's symbol, name and decimals read at the same pin
//! ([`Client::with_metadata`], [`Client::metadata`]); every holder of a token at one block,
//! proven against its supply ([`Client::holders`]); and everything an owner holds, with how
//! sure the list is ([`Client::holdings`]).
//!
//! ```
//! # #[cfg(feature = "aptos")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tokbal::{At, Client, Query};
//!
//! // An in-process Aptos node on 127.0.0.1 stands in for mainnet here.
//! let devnet = tokbal_devnet::Devnet::builder().start().await?;
//! devnet.aptos().set_balance("0xa11ce", "0x1::aptos_coin::AptosCoin", 1_000)?;
//! devnet.aptos().set_balance("0xb0b", "0xfa", 2_000)?; // a fungible asset
//! let client = Client::builder().aptos_url(devnet.aptos_url()).build()?;
//!
//! let queries: Vec<Query> = ["aptos:0xa11ce", "aptos:0xb0b/0xfa", "aptos:0xc0ffee"]
//!     .iter()
//!     .map(|q| q.parse())
//!     .collect::<Result<_, _>>()?;
//! let out = client.balances(&queries, At::Latest).await;
//!
//! let version = out.snapshot.aptos_version(tokbal::Network::AptosMainnet);
//! for (query, result) in queries.iter().zip(&out.results) {
//!     let balance = result.clone()?;
//!     assert_eq!(balance.ledger_version, version); // one snapshot for the whole batch
//!     println!("{query}: {}", balance.amount);
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "aptos"))]
//! # fn main() {}
//! ```
#![warn(missing_docs)]
// With no networked source compiled in, the shared plumbing (transport, retry, URL policy)
// has no caller; it is still built so that every feature set compiles.
#![cfg_attr(
    not(any(feature = "aptos", feature = "evm", feature = "amb")),
    allow(dead_code)
)]

#[cfg(feature = "amb")]
pub mod amb;
pub mod amount;
#[cfg(feature = "aptos")]
pub mod aptos;
mod balance;
mod batch;
#[cfg(feature = "bitcoin")]
pub mod bitcoin;
mod client;
mod endpoint;
pub mod error;
#[cfg(feature = "evm")]
pub mod evm;
pub mod holders;
pub mod holdings;
pub mod metadata;
pub mod pin;
pub mod query;
pub mod report;
pub mod retry;
mod serde_util;
mod source;
pub mod time;
#[cfg(any(feature = "aptos", feature = "evm", feature = "bitcoin"))]
mod timesearch;
pub mod tls;
mod transport;

pub use amount::Amount;
pub use balance::Balance;
pub use batch::{BatchOutput, MetadataOutput};
pub use client::{Client, ClientBuilder, DEFAULT_CONCURRENCY};
pub use error::{Error, ErrorKind};
pub use holders::{Holder, HoldersOptions, HoldersOutput, HoldersSummary};
pub use metadata::{Asset, TokenMetadata};
pub use pin::{At, BlockSnapshot, Snapshot};
pub use query::{Backend, Chain, Network, Query};
pub use transport::{Transport, DEFAULT_TIMEOUT};

/// The `User-Agent` tokbal sends: `tokbal/<version>`.
pub const USER_AGENT: &str = concat!("tokbal/", env!("CARGO_PKG_VERSION"));

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
