//! The EVM source: balances on Ethereum and every EVM chain from a JSON-RPC node.
//!
//! Reads go through Multicall3's `aggregate3` (K calls in one `eth_call`, each allowed to fail
//! on its own; native balances through its `getEthBalance`), every one at the network's pinned
//! block, named by hash (EIP-1898) so that a load balancer cannot mix two blocks. Where
//! Multicall3 has no code at that block, the same reads go as JSON-RPC batches of `eth_call`
//! and `eth_getBalance`, matched by `id`, smaller batches when a provider refuses a size. The
//! endpoint's chain id is checked once before anything is read from it.
//!
//! The contracts' ABI (`abi.rs`, with `sol!`) is the specification the encoders and decoders
//! are generated from; `specs/evm.json` is the slice of the execution-apis JSON-RPC
//! description tokbal relies on.

mod abi;
mod backend;
mod calls;
mod early;
mod holders;
mod holdings;
mod log_answer;
mod log_reader;
mod logs;
mod rpc;
mod source;
mod url;

use alloy_primitives::{address, Address};

pub use self::backend::{BlockRef, EvmBackend, EvmConfig};
pub(crate) use self::source::EvmSource;
pub use self::url::RpcUrl;

/// Where Multicall3 lives on Ethereum (since block 14,353,601) and most EVM chains.
pub const MULTICALL3_ADDRESS: &str = "0xcA11bde05977b3631167028862bE2a173976CA11";
pub(crate) const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// Calls per `eth_call` to Multicall3 by default (configurable; the gas cap bounds it).
pub const DEFAULT_CALLS_PER_REQUEST: usize = 100;
/// Calls per JSON-RPC batch, where Multicall3 is absent, by default (Polygon's Bor and many
/// providers refuse more); smaller batches are sent when a provider refuses a size.
pub const DEFAULT_BATCH_SIZE: usize = 100;
/// The gas limit sent with every `eth_call`: 2^24, the most EIP-7825 lets a transaction use.
pub const CALL_GAS_LIMIT: u64 = 1 << 24;
/// The gas a metadata call (`decimals`, `symbol`, `name`) may use when it is sent on its own
/// (where Multicall3 is absent, or to ask again one that failed inside it): a real token
/// answers in a few thousand, a name of tens of kilobytes in storage fits, and a contract
/// that loops or answers megabytes stops here.
pub const METADATA_GAS_LIMIT: u64 = 5_000_000;
/// Requests per second sent to a chain's default public endpoint: those answer without a
/// key and throttle by address, so tokbal stays well under their limits.
pub const ANONYMOUS_PUBLIC_RATE_LIMIT: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multicall3_constants_agree() {
        assert_eq!(
            MULTICALL3.to_checksum(None),
            MULTICALL3_ADDRESS,
            "one address, written twice for const use"
        );
    }
}
