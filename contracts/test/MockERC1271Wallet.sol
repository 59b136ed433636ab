// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

import {IExchange} from "../interfaces/IExchange.sol";

/// @notice A contract wallet for tests: approves digests signed by its owner EOA (ERC-1271), and can be
/// switched to answer `isValidSignature` in every hostile way a trader could choose.
contract MockERC1271Wallet is IERC1271 {
    using SafeERC20 for IERC20;

    /// @notice How `isValidSignature` answers.
    enum Mode {
        Approve, // the magic value when the owner signed the digest, else 0xffffffff
        Reject, // always 0xffffffff
        Revert, // always reverts
        BurnGas, // loops until it runs out of gas
        ShortData, // returns the 4 magic bytes alone, not an ABI-encoded word
        Garbage, // returns one word: the magic value with dirty low-order bits
        HugeData // returns `HUGE_RETURN_BYTES` bytes of zeros
    }

    /// @notice The size of the answer in `HugeData` mode.
    uint256 public constant HUGE_RETURN_BYTES = 100_000;

    /// @notice The EOA whose signatures the wallet approves and who controls it.
    // solhint-disable-next-line immutable-vars-naming
    address public immutable owner;
    /// @notice The current answering mode.
    Mode public mode;

    /// @notice Thrown when someone other than the owner calls an owner-only function.
    error NotOwner();
    /// @notice Thrown by `isValidSignature` in `Revert` mode.
    error WalletRefuses();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Switches how `isValidSignature` answers.
    function setMode(Mode newMode) external onlyOwner {
        mode = newMode;
    }

    /// @notice Approves `amount` of `token` to `exchange` and deposits it.
    function deposit(IExchange exchange, IERC20 token, uint256 amount) external onlyOwner {
        token.forceApprove(address(exchange), amount);
        exchange.deposit(address(token), amount);
    }

    /// @notice Withdraws `amount` of `token` from `exchange` into this wallet.
    function withdraw(IExchange exchange, IERC20 token, uint256 amount) external onlyOwner {
        exchange.withdraw(address(token), amount);
    }

    /// @notice Cancels this wallet's orders with these nonces on `exchange`.
    function cancel(IExchange exchange, uint64[] calldata nonces) external onlyOwner {
        exchange.cancel(nonces);
    }

    /// @notice Calls `target` with `data` as this wallet (any other Exchange call: limits, requests).
    function execute(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        return Address.functionCall(target, data);
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        Mode m = mode;
        if (m == Mode.Approve) {
            (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
            return
                err == ECDSA.RecoverError.NoError && signer == owner
                    ? this.isValidSignature.selector
                    : bytes4(0xffffffff);
        }
        if (m == Mode.Reject) return 0xffffffff;
        if (m == Mode.Revert) revert WalletRefuses();
        if (m == Mode.BurnGas) {
            assembly ("memory-safe") {
                // solhint-disable-next-line no-empty-blocks
                for {} 1 {} {}
            }
        }
        bytes32 magic = bytes32(this.isValidSignature.selector);
        if (m == Mode.ShortData) {
            assembly ("memory-safe") {
                mstore(0, magic)
                return(0, 4)
            }
        }
        if (m == Mode.Garbage) {
            assembly ("memory-safe") {
                mstore(0, or(magic, 1))
                return(0, 32)
            }
        }
        // HugeData: a large answer of zeros, to make a careless caller pay for copying it.
        assembly {
            return(0x80, HUGE_RETURN_BYTES)
        }
    }
}
