// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title TestERC1155Named
/// @notice ERC-1155 test multi-token that also has `name()` and `symbol()` (as many
///         deployed collections do, though the standard has neither) and no `decimals()`.
///         Anyone may mint: test token only.
contract TestERC1155Named is ERC1155 {
    /// @notice The collection's name.
    string public name = "Tokbal Test Multi";
    /// @notice The collection's symbol.
    string public symbol = "TBMULTI";

    constructor() ERC1155("") {}

    /// @notice Mints `amount` units of token `id` to `to`.
    ///         Minting to a contract requires it to implement IERC1155Receiver.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
