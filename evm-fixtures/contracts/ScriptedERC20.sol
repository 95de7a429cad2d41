// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ScriptedERC20
/// @notice ERC-20 test token (18 decimals, name "Tokbal Scripted Token", symbol "TBS") whose
///         whole history one sender can script: anyone may mint, burn anyone's tokens and
///         move tokens between any two addresses, each with the standard `Transfer` event
///         (from the zero address for a mint, to it for a burn). Test token only.
contract ScriptedERC20 is ERC20 {
    constructor() ERC20("Tokbal Scripted Token", "TBS") {}

    /// @notice Mints `amount` base units to `to`.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Mints `amounts[i]` to `to[i]` for each i: one `Transfer` event each, all in
    ///         one transaction. Reverts when the lengths differ.
    function mintMany(address[] calldata to, uint256[] calldata amounts) external {
        require(to.length == amounts.length, "tokbal: lengths differ");
        for (uint256 i = 0; i < to.length; i++) {
            _mint(to[i], amounts[i]);
        }
    }

    /// @notice Burns `amount` of `from`'s base units. Reverts when `from` has fewer.
    function burn(address from, uint256 amount) external {
        _burn(from, amount);
    }

    /// @notice Moves `amount` from `from` to `to` (`from` may be `to`), as `transferFrom`
    ///         would without the allowance. Reverts when `from` has fewer.
    function move(address from, address to, uint256 amount) external {
        _transfer(from, to, amount);
    }
}
