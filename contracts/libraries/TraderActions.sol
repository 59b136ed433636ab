// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IExchange} from "../interfaces/IExchange.sol";
import {Account} from "../types/Account.sol";
import {FillState} from "./FillState.sol";
import {Vault} from "./Vault.sol";

/// @title What a trader does on its own account: deposits and withdrawals, cancels, its nonce floor
/// and cancel-after deadline
/// @notice Deployed on its own and linked into `Exchange`, like `MarketConfig`: these functions run by
/// DELEGATECALL on the Exchange's storage, for `msg.sender`, and keep the Exchange's code under the
/// 24 KiB limit. Every action that could make a matched fill fail takes effect at `effectiveAt`, the
/// end of the Exchange's firmness delay; every check and event is the Exchange's (`IExchange`).
library TraderActions {
    using FillState for mapping(uint256 => FillState.Word);
    using FillState for FillState.Word;
    using Vault for Vault.State;

    /// @notice `IExchange.deposit` (the pause is checked by the Exchange).
    function deposit(Vault.State storage vault, address token, uint256 amount) external {
        uint256 received = vault.deposit(msg.sender, token, amount);
        emit IExchange.Deposited(msg.sender, token, received);
    }

    /// @notice `IExchange.requestWithdraw`.
    function requestWithdraw(Vault.State storage vault, address token, uint256 amount, uint256 effectiveAt) external {
        uint40 at = vault.requestWithdrawal(msg.sender, token, amount, effectiveAt);
        emit IExchange.WithdrawalRequested(msg.sender, token, amount, at);
    }

    /// @notice `IExchange.withdraw`.
    function withdraw(Vault.State storage vault, address token, uint256 amount) external {
        vault.withdraw(msg.sender, token, amount, block.timestamp);
        emit IExchange.Withdrawn(msg.sender, token, amount);
    }

    /// @notice `IExchange.cancel`.
    function cancel(
        mapping(uint256 => FillState.Word) storage words,
        uint64[] calldata nonces,
        uint256 effectiveAt
    ) external {
        if (nonces.length == 0) revert IExchange.NothingToCancel();
        for (uint256 i; i < nonces.length; ++i) {
            uint64 nonce = nonces[i];
            uint256 at = words.wordOf(msg.sender, nonce).requestCancel(nonce, effectiveAt, block.timestamp);
            emit IExchange.OrderCancelled(msg.sender, nonce, uint40(at));
        }
    }

    /// @notice `IExchange.cancelUpTo`.
    function cancelUpTo(
        mapping(address => Account) storage accounts,
        uint64 newMinNonce,
        uint256 effectiveAt
    ) external {
        Account account = accounts[msg.sender];
        (uint64 requested, ) = account.requestedFloor();
        if (newMinNonce <= requested) revert IExchange.NonceFloorNotRaised(requested, newMinNonce);
        uint64 inForce = account.minNonceAt(block.timestamp);
        accounts[msg.sender] = account.withFloor(inForce, newMinNonce, effectiveAt);
        emit IExchange.NonceFloorRaised(msg.sender, inForce, newMinNonce, uint40(effectiveAt));
    }

    /// @notice `IExchange.setCancelAfter`.
    function setCancelAfter(
        mapping(address => Account) storage accounts,
        uint40 deadline,
        uint256 effectiveAt
    ) external {
        Account account = accounts[msg.sender];
        uint40 old = account.cancelAfter();
        uint40 stored = deadline;
        if (deadline != 0 && (old == 0 || deadline < old)) {
            // Earlier than before: until the firmness delay has passed the old deadline still rules
            // (fills matched before this call may settle), so the deadline in force for every time to
            // come is the later of the new one and the earlier of the old one and the delay's last second.
            uint256 firmUntil = effectiveAt - 1;
            uint256 floor = old != 0 && old < firmUntil ? old : firmUntil;
            if (floor > deadline) stored = uint40(floor);
        }
        accounts[msg.sender] = account.withCancelAfter(stored);
        emit IExchange.CancelAfterChanged(msg.sender, old, stored);
    }
}
