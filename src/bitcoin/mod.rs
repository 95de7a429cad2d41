//! The Bitcoin source: blocks, address statistics and address histories from an Esplora
//! HTTP API (Blockstream's electrs, mempool.space's, or any compatible server).
//!
//! The JSON part of the client is generated from `specs/esplora.yaml` (see [`generated`]);
//! [`EsploraClient`] adds the three text/plain calls by hand, checks inputs, limits bodies,
//! retries, and maps every failure to an [`Error`](crate::Error).
//!
//! Pins: the tip (or, for [`At::Finalized`](crate::At::Finalized), the tip minus
//! [`FINALITY_DEPTH`]), a chosen height, or, for [`At::Time`](crate::At::Time), the largest
//! height whose header time is at or before the instant. Header times may go backwards from
//! one block to the next, but each is above the median time past of the eleven blocks before
//! it, which never decreases: the search runs on the median time past, then looks at the
//! header times of the few blocks that can be the answer, ten blocks a request
//! ([`EsploraClient::blocks`]). Block hashes are written as Bitcoin software writes them, 64
//! hex digits without `0x`.

mod errors;
mod esplora;
pub mod generated;
mod hooks;
mod source;

pub use self::esplora::{AddressStats, AddressTx, Block, EsploraClient, MAX_TEXT_BODY};
pub use self::hooks::{MAX_BODY, MAX_ERROR_BODY, MAX_TXS_BODY};
pub(crate) use self::source::EsploraSource;
pub use self::source::{FINALITY_DEPTH, PAGE_SIZE};

#[cfg(test)]
mod tests;

use crate::query::Network;

/// Requests per second sent to a public Esplora instance: they answer 429 without
/// `Retry-After` when pushed, so tokbal stays well under.
pub const PUBLIC_RATE_LIMIT: u32 = 5;

/// The public Esplora instance used for a Bitcoin network when no endpoint is given
/// (Blockstream's for mainnet and testnet, mempool.space's for signet; regtest has none).
pub fn default_url(network: Network) -> Option<&'static str> {
    match network {
        Network::BitcoinMainnet => Some("https://blockstream.info/api"),
        Network::BitcoinTestnet => Some("https://blockstream.info/testnet/api"),
        Network::BitcoinSignet => Some("https://mempool.space/signet/api"),
        _ => None,
    }
}
