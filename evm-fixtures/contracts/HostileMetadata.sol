// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title HostileMetadata
/// @notice ERC-20 test token whose metadata is whatever a test sets after deployment:
///         `name()` and `symbol()` answer any bytes as an ABI `string` (escape sequences,
///         bidirectional overrides, NULs, invalid UTF-8, tens of kilobytes), and
///         `decimals()` answers a chosen word, reverts, answers nothing or answers one byte.
///         Balances work as in any ERC-20. Anyone may mint or set: test token only.
contract HostileMetadata is ERC20 {
    /// @notice decimals() returns `decimalsValue` as a full 32-byte word (300 included).
    uint8 public constant DECIMALS_WORD = 0;
    /// @notice decimals() reverts with "tokbal: decimals reverted".
    uint8 public constant DECIMALS_REVERT = 1;
    /// @notice decimals() returns no data at all.
    uint8 public constant DECIMALS_EMPTY = 2;
    /// @notice decimals() returns one byte, the low byte of `decimalsValue`.
    uint8 public constant DECIMALS_SHORT = 3;

    bytes private nameBytes = "Hostile Test Token";
    bytes private symbolBytes = "HOST";
    /// @notice How decimals() answers: one of the DECIMALS_* constants.
    uint8 public decimalsMode = DECIMALS_WORD;
    /// @notice The value decimals() answers with in the WORD and SHORT modes.
    uint256 public decimalsValue = 18;

    constructor() ERC20("", "") {}

    /// @notice Mints `amount` base units to `to`. Unrestricted: test token only.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets what name() and symbol() answer: any bytes, UTF-8 or not.
    function setStrings(bytes calldata name_, bytes calldata symbol_) external {
        nameBytes = name_;
        symbolBytes = symbol_;
    }

    /// @notice Sets how decimals() answers: `mode` one of the DECIMALS_* constants (another
    ///         value reverts), `value` the answer of the WORD and SHORT modes.
    function setDecimals(uint8 mode, uint256 value) external {
        require(mode <= DECIMALS_SHORT, "tokbal: unknown decimals mode");
        decimalsMode = mode;
        decimalsValue = value;
    }

    /// @notice The bytes last set, as an ABI string.
    function name() public view override returns (string memory) {
        return string(nameBytes);
    }

    /// @notice The bytes last set, as an ABI string.
    function symbol() public view override returns (string memory) {
        return string(symbolBytes);
    }

    /// @notice Answers as `decimalsMode` says (the declared uint8 is what callers expect;
    ///         the WORD mode answers a whole uint256 word all the same).
    function decimals() public view override returns (uint8) {
        uint8 mode = decimalsMode;
        uint256 value = decimalsValue;
        if (mode == DECIMALS_REVERT) {
            revert("tokbal: decimals reverted");
        }
        assembly {
            switch mode
            case 2 {
                return(0, 0)
            }
            case 3 {
                mstore8(0, and(value, 0xff))
                return(0, 1)
            }
            default {
                mstore(0, value)
                return(0, 32)
            }
        }
    }
}
