// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestUSD6
/// @notice ERC-20 test token with 6 decimals, name "USD Test", symbol "USDT6". Anyone may
///         mint: test token only.
contract TestUSD6 is ERC20 {
    constructor() ERC20("USD Test", "USDT6") {}

    /// @notice 6 decimal places, as USDC and USDT have.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints `amount` base units to `to`. Unrestricted: test token only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
