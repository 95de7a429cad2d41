// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title HeavyMetadata
/// @notice ERC-20 test token whose metadata calls cost as much as they can: `symbol()`
///         loops until it runs out of gas, and `name()` answers an ABI string of `nameSize`
///         bytes ("AAAA...", 1 MiB unless set). `decimals()` is 18 and balances work as in
///         any ERC-20. Anyone may mint or set: test token only.
contract HeavyMetadata is ERC20 {
    /// @notice The length of the string name() answers, in bytes.
    uint256 public nameSize = 1 << 20;

    constructor() ERC20("", "") {}

    /// @notice Mints `amount` base units to `to`. Unrestricted: test token only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the length of the string name() answers.
    function setNameSize(uint256 size) external {
        nameSize = size;
    }

    /// @notice Never returns: loops until the call runs out of gas.
    function symbol() public pure override returns (string memory) {
        assembly {
            for {} 1 {} {}
        }
        return ""; // never reached
    }

    /// @notice An ABI string of `nameSize` bytes, each "A" (0x41).
    function name() public view override returns (string memory) {
        uint256 size = nameSize;
        assembly {
            let p := mload(0x40)
            mstore(p, 0x20)
            mstore(add(p, 0x20), size)
            let data := add(p, 0x40)
            let end := add(data, size)
            for { let q := data } lt(q, end) { q := add(q, 0x20) } {
                mstore(q, 0x4141414141414141414141414141414141414141414141414141414141414141)
            }
            // ABI padding: the bytes after the string up to the next word are zero.
            mstore(end, 0)
            return(p, add(0x40, mul(div(add(size, 31), 32), 32)))
        }
    }
}
