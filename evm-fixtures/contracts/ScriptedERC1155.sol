// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Supply} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Supply.sol";

/// @title ScriptedERC1155
/// @notice ERC-1155 test multi-token (no `totalSupply`) whose whole history one sender can
///         script: anyone may mint, burn and move any holder's units, one id at a time
///         (`TransferSingle`) or several in one call (`TransferBatch` when there are two ids
///         or more, the same id possibly twice; OpenZeppelin emits `TransferSingle` for a
///         batch of one). Transfers to contracts need IERC1155Receiver. Test token only.
contract ScriptedERC1155 is ERC1155 {
    constructor() ERC1155("") {}

    /// @notice Mints `amount` units of `id` to `to`.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    /// @notice Mints `amounts[i]` units of `ids[i]` to `to`, in one event.
    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        _mintBatch(to, ids, amounts, "");
    }

    /// @notice Burns `amount` units of `id` held by `from`.
    function burn(address from, uint256 id, uint256 amount) external {
        _burn(from, id, amount);
    }

    /// @notice Burns `amounts[i]` units of `ids[i]` held by `from`, in one event.
    function burnBatch(address from, uint256[] calldata ids, uint256[] calldata amounts) external {
        _burnBatch(from, ids, amounts);
    }

    /// @notice Moves `amount` units of `id` from `from` to `to`, as `safeTransferFrom` would
    ///         without the approval.
    function move(address from, address to, uint256 id, uint256 amount) external {
        _safeTransferFrom(from, to, id, amount, "");
    }

    /// @notice Moves `amounts[i]` units of `ids[i]` from `from` to `to`, in one event, as
    ///         `safeBatchTransferFrom` would without the approval.
    function moveBatch(address from, address to, uint256[] calldata ids, uint256[] calldata amounts)
        external
    {
        _safeBatchTransferFrom(from, to, ids, amounts, "");
    }
}

/// @title ScriptedERC1155Supply
/// @notice ScriptedERC1155 with OpenZeppelin's ERC1155Supply: `totalSupply(id)` (units of
///         `id` minted minus burned), `totalSupply()` and `exists(id)`. Test token only.
contract ScriptedERC1155Supply is ERC1155Supply {
    constructor() ERC1155("") {}

    /// @notice Mints `amount` units of `id` to `to`.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    /// @notice Mints `amounts[i]` units of `ids[i]` to `to`, in one event.
    function mintBatch(address to, uint256[] calldata ids, uint256[] calldata amounts) external {
        _mintBatch(to, ids, amounts, "");
    }

    /// @notice Burns `amount` units of `id` held by `from`.
    function burn(address from, uint256 id, uint256 amount) external {
        _burn(from, id, amount);
    }

    /// @notice Burns `amounts[i]` units of `ids[i]` held by `from`, in one event.
    function burnBatch(address from, uint256[] calldata ids, uint256[] calldata amounts) external {
        _burnBatch(from, ids, amounts);
    }

    /// @notice Moves `amount` units of `id` from `from` to `to`.
    function move(address from, address to, uint256 id, uint256 amount) external {
        _safeTransferFrom(from, to, id, amount, "");
    }

    /// @notice Moves `amounts[i]` units of `ids[i]` from `from` to `to`, in one event.
    function moveBatch(address from, address to, uint256[] calldata ids, uint256[] calldata amounts)
        external
    {
        _safeBatchTransferFrom(from, to, ids, amounts, "");
    }
}
