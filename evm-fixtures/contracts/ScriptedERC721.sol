// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Enumerable} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Enumerable.sol";

/// @title ScriptedERC721
/// @notice ERC-721 test collection (name "Tokbal Scripted NFT", symbol "TBSNFT", no
///         `totalSupply()`) whose whole history one sender can script: anyone may mint,
///         burn any item and move any item from its owner to anyone, each with the standard
///         `Transfer` event. Test collection only.
contract ScriptedERC721 is ERC721 {
    constructor() ERC721("Tokbal Scripted NFT", "TBSNFT") {}

    /// @notice Mints item `id` to `to` (no receiver check). Reverts if `id` exists.
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @notice Burns item `id`, whoever owns it. Reverts if `id` does not exist.
    function burn(uint256 id) external {
        _burn(id);
    }

    /// @notice Moves item `id` from its owner `from` to `to` (`from` may be `to`; no
    ///         receiver check). Reverts when `from` does not own it.
    function move(address from, address to, uint256 id) external {
        _transfer(from, to, id);
    }
}

/// @title ScriptedERC721Enumerable
/// @notice ScriptedERC721 with OpenZeppelin's ERC721Enumerable: `totalSupply()` (items
///         minted minus burned), `tokenByIndex` and `tokenOfOwnerByIndex`. Name "Tokbal
///         Scripted Enumerable NFT", symbol "TBSENFT". Test collection only.
contract ScriptedERC721Enumerable is ERC721Enumerable {
    constructor() ERC721("Tokbal Scripted Enumerable NFT", "TBSENFT") {}

    /// @notice Mints item `id` to `to` (no receiver check). Reverts if `id` exists.
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }

    /// @notice Burns item `id`, whoever owns it. Reverts if `id` does not exist.
    function burn(uint256 id) external {
        _burn(id);
    }

    /// @notice Moves item `id` from its owner `from` to `to` (`from` may be `to`; no
    ///         receiver check). Reverts when `from` does not own it.
    function move(address from, address to, uint256 id) external {
        _transfer(from, to, id);
    }
}
