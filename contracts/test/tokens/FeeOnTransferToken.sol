// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token that burns a fee (1% unless changed) of every transfer, so the recipient gets less than sent.
contract FeeOnTransferToken is ERC20 {
    /// @notice The share of each transfer that is burnt, in basis points, rounded down.
    uint16 public feeBps = 100;

    error FeeAboveWhole(uint16 feeBps);

    constructor() ERC20("Fee On Transfer Token", "FOT") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the burnt share of each transfer, in basis points (at most 10 000).
    function setFeeBps(uint16 newFeeBps) external {
        if (newFeeBps > 10_000) revert FeeAboveWhole(newFeeBps);
        feeBps = newFeeBps;
    }

    /// @notice The fee burnt on a transfer of `amount`.
    function feeOn(uint256 amount) public view returns (uint256) {
        return (amount * feeBps) / 10_000;
    }

    /// @dev Transfers (not mints or burns) deliver `value - fee` and burn the fee from the sender.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = feeOn(value);
        super._update(from, to, value - fee);
        super._update(from, address(0), fee);
    }
}
