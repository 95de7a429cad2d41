//! The contract interfaces tokbal calls on EVM chains, declared once with `sol!`: the
//! contracts' ABI is the specification, and the encoders and decoders are generated from it.
//!
//! The devnet's EVM half decodes the same calldata with these same declarations (it includes
//! this file), so the two sides cannot disagree about a selector or a layout.

use alloy_sol_types::sol;

sol! {
    /// Multicall3, deployed at `0xcA11bde05977b3631167028862bE2a173976CA11` on most EVM
    /// chains: many read-only calls in one `eth_call`.
    interface IMulticall3 {
        /// One call of an `aggregate3` batch.
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }

        /// What one call of an `aggregate3` batch returned.
        struct Result {
            bool success;
            bytes returnData;
        }

        /// Runs every call; with `allowFailure` a failed call is reported, not fatal.
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);

        /// The native balance of `addr`.
        function getEthBalance(address addr) external view returns (uint256 balance);

        /// The block being executed.
        function getBlockNumber() external view returns (uint256 blockNumber);
    }

    /// ERC-20 tokens and ERC-721 collections: how many an owner holds.
    interface IBalanceOf {
        /// Tokens (ERC-20) or items (ERC-721) held by `owner`.
        function balanceOf(address owner) external view returns (uint256);
    }

    /// ERC-721: who holds one item.
    interface IERC721 {
        /// The holder of item `tokenId`; reverts when it does not exist.
        function ownerOf(uint256 tokenId) external view returns (address);
    }

    /// ERC-20 metadata (also `name`/`symbol` of ERC-721 and many ERC-1155 contracts). The
    /// return types are declared wide on purpose: `decimals` is read as a word and checked
    /// to fit a `uint8` (a value above 255 is no decimals, never a truncated one), and a
    /// string that does not decode as an ABI `string` is tried as a `bytes32` (MKR, SAI).
    interface ITokenMetadata {
        /// Decimal places of the token's amounts.
        function decimals() external view returns (uint256);
        /// The ticker.
        function symbol() external view returns (string);
        /// The full name.
        function name() external view returns (string);
    }

    /// The events that move tokens, and the supply they are checked against.
    interface ITransfers {
        /// An ERC-20 transfer (three topics) or an ERC-721 one (four: the id is indexed).
        event Transfer(address indexed from, address indexed to, uint256 value);
        /// One ERC-1155 id moved.
        event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
        /// Several ERC-1155 ids moved at once.
        event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
        /// ERC-20 (and ERC-721 Enumerable): how many exist.
        function totalSupply() external view returns (uint256);
    }

    /// ERC-1155 Supply: how many of one id exist.
    interface IERC1155Supply {
        /// Units of `id` in existence.
        function totalSupply(uint256 id) external view returns (uint256);
    }

    /// ERC-1155: how many of one id an owner holds.
    interface IERC1155 {
        /// Units of token `id` held by `account`.
        function balanceOf(address account, uint256 id) external view returns (uint256);
    }
}

/// The standard revert payload `Error(string)` and panic payload `Panic(uint256)`.
pub(crate) use alloy_sol_types::{Panic as RevertPanic, Revert as RevertReason};
