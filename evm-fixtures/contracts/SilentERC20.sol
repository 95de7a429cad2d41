// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SilentERC20
/// @notice ERC-20 shaped test token (18 decimals, name "Tokbal Silent Token", symbol
///         "TBSIL") whose balances can change without any event, as a rebasing token's do:
///         `setBalanceSilently` writes a balance and keeps `totalSupply` the sum of every
///         balance, and emits nothing. `mint` and `move` emit `Transfer` as usual. Anyone may
///         call anything: test token only.
contract SilentERC20 {
    /// @notice The token's name.
    string public constant name = "Tokbal Silent Token";
    /// @notice The token's symbol.
    string public constant symbol = "TBSIL";
    /// @notice 18 decimal places.
    uint8 public constant decimals = 18;
    /// @notice The sum of every balance, silent changes included.
    uint256 public totalSupply;

    mapping(address => uint256) private balances;

    /// @notice The standard ERC-20 event.
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice Base units held by `owner`.
    function balanceOf(address owner) external view returns (uint256) {
        return balances[owner];
    }

    /// @notice Mints `amount` base units to `to`, with a `Transfer` from the zero address.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balances[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Moves `amount` from `from` to `to`, with a `Transfer`. Reverts when `from`
    ///         has fewer.
    function move(address from, address to, uint256 amount) external {
        require(balances[from] >= amount, "tokbal: balance too low");
        balances[from] -= amount;
        balances[to] += amount;
        emit Transfer(from, to, amount);
    }

    /// @notice Sets `owner`'s balance to `amount` and `totalSupply` to match, emitting
    ///         nothing: a list of holders built from events cannot see it.
    function setBalanceSilently(address owner, uint256 amount) external {
        totalSupply = totalSupply - balances[owner] + amount;
        balances[owner] = amount;
    }
}
