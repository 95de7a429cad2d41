// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title TestERC721
/// @notice ERC-721 test collection. Anyone may mint or burn: test token only.
contract TestERC721 is ERC721 {
    constructor() ERC721("Tokbal Test NFT", "TBNFT") {}

    /// @notice Mints token `id` to `to` (no receiver check, so any address works).
    ///         Reverts if `id` already exists.
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @notice Burns token `id`, whoever owns it. Reverts if `id` does not exist.
    function burn(uint256 id) external {
        _burn(id);
    }
}
