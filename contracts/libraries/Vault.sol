// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IExchange} from "../interfaces/IExchange.sol";

/// @title Internal balances: deposits, withdrawal requests and withdrawals, and the exact moves of a fill
/// @notice A withdrawal is asked for first and made once the request is in force: the request
/// reserves nothing (`settle` reads nothing of it), so fills matched before it still settle while it
/// waits, and the balance can leave only after the firmness delay.
library Vault {
    using SafeERC20 for IERC20;

    struct State {
        mapping(address account => mapping(address token => uint256)) balances;
        /// @dev Per account and token: the amount that may leave (216 bits) | when, in unix seconds (40).
        mapping(address account => mapping(address token => uint256)) withdrawals;
    }

    /// @notice Which side of a fill cannot pay for it.
    enum Shortfall {
        None,
        Buyer,
        Seller
    }

    /// @notice Pulls `amount` of `token` from `account` and credits what arrived (fee-on-transfer
    /// tokens deliver less). Returns what was credited.
    function deposit(State storage s, address account, address token, uint256 amount) internal returns (uint256) {
        if (amount == 0) revert IExchange.ZeroAmount();
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(account, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received == 0) revert IExchange.ZeroAmount();
        s.balances[account][token] += received;
        return received;
    }

    /// @notice The withdrawal `account` asked for in `token`: what may leave, and from when.
    function request(State storage s, address account, address token) internal view returns (uint256, uint40) {
        uint256 word = s.withdrawals[account][token];
        return (word >> 40, uint40(word));
    }

    /// @notice Asks that `amount` of `token` may leave from `effectiveAt` on. Asking for no more than
    /// the standing request keeps its time (less can leave, never sooner); 0 drops it.
    function requestWithdrawal(
        State storage s,
        address account,
        address token,
        uint256 amount,
        uint256 effectiveAt
    ) internal returns (uint40) {
        (uint256 requested, uint40 at) = request(s, account, token);
        if (amount == 0) at = 0;
        else if (at == 0 || amount > requested) at = uint40(effectiveAt);
        s.withdrawals[account][token] = (uint256(SafeCast.toUint216(amount)) << 40) | at;
        return at;
    }

    /// @notice Sends `amount` of `token` to `account` out of its balance and a request in force.
    function withdraw(State storage s, address account, address token, uint256 amount, uint256 now_) internal {
        if (amount == 0) revert IExchange.ZeroAmount();
        (uint256 requested, uint40 at) = request(s, account, token);
        if (amount > requested) revert IExchange.WithdrawalExceedsRequest(token, requested, amount);
        if (now_ < at) revert IExchange.WithdrawalNotYetEffective(token, at);
        uint256 available = s.balances[account][token];
        if (amount > available) revert IExchange.InsufficientBalance(token, available, amount);
        // amount <= requested and amount <= available, both checked above.
        unchecked {
            s.withdrawals[account][token] = ((requested - amount) << 40) | at;
            s.balances[account][token] = available - amount;
        }
        IERC20(token).safeTransfer(account, amount);
    }

    /// @notice Adds `amount` to `account`'s balance of `token` (fees, for the fee recipient).
    function credit(State storage s, address account, address token, uint256 amount) internal {
        s.balances[account][token] += amount;
    }

    /// @notice The buyer pays `buyerPays` quote atoms for `baseAtoms` of the seller's base, and the seller
    /// receives `sellerGets` (the difference is the fees). Changes nothing and names the short side
    /// when a balance cannot cover its part.
    function swap(
        State storage s,
        address base,
        address quote,
        address buyer,
        address seller,
        uint256 baseAtoms,
        uint256 buyerPays,
        uint256 sellerGets
    ) internal returns (Shortfall) {
        mapping(address => uint256) storage buyerBalances = s.balances[buyer];
        mapping(address => uint256) storage sellerBalances = s.balances[seller];
        uint256 buyerQuote = buyerBalances[quote];
        if (buyerQuote < buyerPays) return Shortfall.Buyer;
        uint256 sellerBase = sellerBalances[base];
        if (sellerBase < baseAtoms) return Shortfall.Seller;
        // Debits are covered (checked above); sellerGets <= buyerPays. Credits cannot overflow: every
        // balance is backed by tokens the contract holds, whose supply fits in 256 bits.
        unchecked {
            buyerBalances[quote] = buyerQuote - buyerPays;
            sellerBalances[base] = sellerBase - baseAtoms;
            buyerBalances[base] += baseAtoms;
            sellerBalances[quote] += sellerGets;
        }
        return Shortfall.None;
    }

    /// @notice The exact inverse of a successful `swap` with the same arguments.
    function unswap(
        State storage s,
        address base,
        address quote,
        address buyer,
        address seller,
        uint256 baseAtoms,
        uint256 buyerPays,
        uint256 sellerGets
    ) internal {
        // Each amount was moved the other way by the swap being undone, so it is there to take back.
        unchecked {
            s.balances[buyer][quote] += buyerPays;
            s.balances[seller][base] += baseAtoms;
            s.balances[buyer][base] -= baseAtoms;
            s.balances[seller][quote] -= sellerGets;
        }
    }
}
