// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestERC20
/// @notice ERC-20 test token (18 decimals). Anyone may mint any amount, so tests
///         can set balances of any size up to the uint256 total-supply limit.
contract TestERC20 is ERC20 {
    constructor() ERC20("Tokbal Test Token", "TBT") {}

    /// @notice Mints `amount` tokens to `to`. Unrestricted: test token only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
