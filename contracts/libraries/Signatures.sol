// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IExchange} from "../interfaces/IExchange.sol";

/// @title Whether an order's signature authorises it: ECDSA for accounts without code, ERC-1271 else
library Signatures {
    /// @notice Gas given to an ERC-1271 wallet's `isValidSignature`, so that no wallet can eat a batch's gas.
    uint256 internal constant ERC1271_GAS_LIMIT = 100_000;
    /// @notice Gas left before a wallet check that guarantees the wallet its whole allowance: the
    /// allowance plus the 1/64 the EVM keeps back, and 10,000 for the cold call and its memory.
    uint256 internal constant WALLET_CHECK_MIN_GAS = (ERC1271_GAS_LIMIT * 64) / 63 + 10_000;

    /// @notice Whether `account`, which the signature does not recover to, is a contract wallet that
    /// approves it (ERC-1271). Reverts `InsufficientGasForWallet` (a keeper mistake) when too little gas
    /// is left to ask it.
    function walletAuthorises(
        address account,
        bytes32 digest,
        bytes calldata signature,
        uint256 orderIndex,
        uint256 fillIndex
    ) internal view returns (bool) {
        if (account.code.length == 0) return false;
        // The wallet must get its whole allowance (a call gets at most 63/64 of what is left), or a
        // keeper could starve it into a "no" and skip a good order.
        if (gasleft() < WALLET_CHECK_MIN_GAS) revert IExchange.InsufficientGasForWallet(fillIndex, orderIndex);
        return walletApproves(account, digest, signature);
    }

    /// @notice The address whose key made the 65-byte `signature` of `digest`, or zero.
    /// @dev Skips OpenZeppelin's `ECDSA.tryRecover` checks, none of which the Exchange needs: a
    /// malleable (high-s) twin of a valid signature authorises the same order, which is keyed by its
    /// maker and nonce, never by its signature; a bad `v` or point makes the precompile return nothing,
    /// and the zero address it then reads never authorises anything.
    function recover(bytes32 digest, bytes calldata signature) internal view returns (address signer) {
        if (signature.length != 65) return address(0);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), byte(0, calldataload(add(signature.offset, 0x40)))) // v
            calldatacopy(add(ptr, 0x40), signature.offset, 0x40) // r, s
            mstore(0, 0) // the precompile writes nothing when it cannot recover
            pop(staticcall(gas(), 0x01, ptr, 0x80, 0, 0x20))
            signer := mload(0)
        }
    }

    /// @notice Asks an ERC-1271 wallet whether it approves `digest`, with a fixed gas allowance and
    /// reading at most 32 bytes of its answer, so that a hostile wallet cannot make the batch run out
    /// of gas. Any failure, revert or malformed answer counts as "no".
    function walletApproves(address wallet, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        bytes memory callData = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bool success;
        bytes32 answer;
        uint256 returned;
        // Assembly instead of a high-level call: it caps the copied answer at one word (a wallet
        // returning megabytes would otherwise charge the batch for copying them).
        assembly ("memory-safe") {
            success := staticcall(ERC1271_GAS_LIMIT, wallet, add(callData, 0x20), mload(callData), 0, 0x20)
            returned := returndatasize()
            answer := mload(0)
        }
        return success && returned >= 32 && answer == bytes32(IERC1271.isValidSignature.selector);
    }
}
