// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A token that returns `false` instead of reverting when a transfer fails (short balance or
/// allowance), and that can be switched to fail every transfer that way.
contract ReturnsFalseToken is ERC20 {
    /// @notice While true, every transfer returns false and moves nothing.
    bool public failTransfers;

    constructor() ERC20("Returns False Token", "RFT") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switches every transfer to return false (`true`) or back to normal (`false`).
    function setFailTransfers(bool fail) external {
        failTransfers = fail;
    }

    /// @notice Moves `amount` to `to`, or returns false without reverting when it cannot.
    function transfer(address to, uint256 amount) public override returns (bool) {
        if (failTransfers || balanceOf(msg.sender) < amount) return false;
        return super.transfer(to, amount);
    }

    /// @notice Moves `amount` from `from` to `to`, or returns false without reverting when it cannot.
    function transferFrom(address from, address to, uint256 amount) public override returns (bool) {
        if (failTransfers || balanceOf(from) < amount || allowance(from, msg.sender) < amount) return false;
        return super.transferFrom(from, to, amount);
    }
}
