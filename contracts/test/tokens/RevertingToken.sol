// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token that can be switched to revert on every transfer (a paused or blacklisting token).
contract RevertingToken is ERC20 {
    /// @notice While true, `transfer` and `transferFrom` revert.
    bool public reverting;

    /// @notice Thrown by a transfer while the token is switched to revert.
    error TransfersReverting();

    constructor() ERC20("Reverting Token", "REV") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switches transfers to revert (`true`) or back to normal (`false`).
    function setReverting(bool on) external {
        reverting = on;
    }

    /// @dev Every transfer passes here; mints are left alone so tests can still fund accounts.
    function _update(address from, address to, uint256 value) internal override {
        if (reverting && from != address(0)) revert TransfersReverting();
        super._update(from, to, value);
    }
}
