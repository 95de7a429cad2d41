// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Reverting
/// @notice Every balance query reverts with the reason string
///         "tokbal: balanceOf reverted" (ABI-encoded as Error(string)).
contract Reverting {
    /// @notice ERC-20 / ERC-721 shaped balance query; always reverts.
    function balanceOf(address) external pure returns (uint256) {
        revert("tokbal: balanceOf reverted");
    }

    /// @notice ERC-1155 shaped balance query; always reverts.
    function balanceOf(address, uint256) external pure returns (uint256) {
        revert("tokbal: balanceOf reverted");
    }
}

/// @title ShortReturn
/// @notice Every balance query succeeds but returns only 4 bytes (0xdeadbeef)
///         instead of a 32-byte uint256, so ABI decoding of the result must fail.
contract ShortReturn {
    /// @notice ERC-20 / ERC-721 shaped balance query; returns 4 bytes.
    function balanceOf(address) external pure returns (uint256) {
        assembly {
            mstore(0, shl(224, 0xdeadbeef))
            return(0, 4)
        }
    }

    /// @notice ERC-1155 shaped balance query; returns 4 bytes.
    function balanceOf(address, uint256) external pure returns (uint256) {
        assembly {
            mstore(0, shl(224, 0xdeadbeef))
            return(0, 4)
        }
    }
}
