// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title TestERC1155
/// @notice ERC-1155 test multi-token. Anyone may mint: test token only.
contract TestERC1155 is ERC1155 {
    constructor() ERC1155("") {}

    /// @notice Mints `amount` units of token `id` to `to`.
    ///         Minting to a contract requires it to implement IERC1155Receiver.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
