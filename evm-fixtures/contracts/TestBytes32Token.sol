// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TestBytes32Token
/// @notice A token shaped like MKR (DSToken): `symbol()` and `name()` return `bytes32`
///         (NUL-padded "MKR" and "Maker"), not `string`; `decimals()` returns a `uint256` 18.
///         Only what the tests read: balances, total supply, minting. Anyone may mint: test
///         token only.
contract TestBytes32Token {
    /// @notice "MKR", left-aligned and NUL-padded.
    bytes32 public symbol = "MKR";
    /// @notice "Maker", left-aligned and NUL-padded.
    bytes32 public name = "Maker";
    /// @notice 18, as a full word.
    uint256 public decimals = 18;
    /// @notice Sum of every balance.
    uint256 public totalSupply;

    mapping(address => uint256) private balances;

    /// @notice Base units held by `owner`.
    function balanceOf(address owner) external view returns (uint256) {
        return balances[owner];
    }

    /// @notice Mints `amount` base units to `to`. Unrestricted: test token only.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balances[to] += amount;
    }
}
