// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vault} from "../../libraries/Vault.sol";

/// @notice Exposes `Vault` on its own storage, for its unit tests.
contract VaultHarness {
    using Vault for Vault.State;

    Vault.State private _vault;

    function balanceOf(address account, address token) external view returns (uint256) {
        return _vault.balances[account][token];
    }

    function request(address account, address token) external view returns (uint256, uint40) {
        return _vault.request(account, token);
    }

    function deposit(address token, uint256 amount) external returns (uint256) {
        return _vault.deposit(msg.sender, token, amount);
    }

    function requestWithdrawal(address token, uint256 amount, uint256 effectiveAt) external returns (uint40) {
        return _vault.requestWithdrawal(msg.sender, token, amount, effectiveAt);
    }

    function withdraw(address token, uint256 amount) external {
        _vault.withdraw(msg.sender, token, amount, block.timestamp);
    }

    function credit(address account, address token, uint256 amount) external {
        _vault.credit(account, token, amount);
    }

    /// @notice A swap and, with `undo`, its exact inverse right after it.
    function swap(
        address base,
        address quote,
        address buyer,
        address seller,
        uint256 baseAtoms,
        uint256 buyerPays,
        uint256 sellerGets,
        bool undo
    ) external returns (Vault.Shortfall short) {
        short = _vault.swap(base, quote, buyer, seller, baseAtoms, buyerPays, sellerGets);
        if (undo && short == Vault.Shortfall.None) {
            _vault.unswap(base, quote, buyer, seller, baseAtoms, buyerPays, sellerGets);
        }
    }
}
