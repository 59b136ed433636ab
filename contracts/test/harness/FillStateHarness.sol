// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FillState} from "../../libraries/FillState.sol";

/// @notice Exposes `FillState` on its own storage, for its unit tests.
contract FillStateHarness {
    using FillState for mapping(uint256 => FillState.Word);
    using FillState for FillState.Word;

    mapping(uint256 => FillState.Word) private _words;

    function filledAt(address maker, uint64 nonce, uint256 time) external view returns (uint64, bool) {
        return _words.wordOf(maker, nonce).filledAt(nonce, time);
    }

    function filledView(address maker, uint64 nonce, uint256 time) external view returns (uint64) {
        return _words.wordOf(maker, nonce).filledView(nonce, time);
    }

    function pendingCancel(address maker, uint64 nonce, uint256 time) external view returns (uint40) {
        return _words.wordOf(maker, nonce).pendingCancel(nonce, time);
    }

    function lanes(address maker, uint64 nonce) external view returns (uint256) {
        return _words.wordOf(maker, nonce).lanes;
    }

    function addFilled(address maker, uint64 nonce, uint64 lots) external {
        _words.wordOf(maker, nonce).addFilled(nonce, lots);
    }

    function subFilled(address maker, uint64 nonce, uint64 lots) external {
        _words.wordOf(maker, nonce).subFilled(nonce, lots);
    }

    function kill(address maker, uint64 nonce) external returns (bool) {
        return _words.wordOf(maker, nonce).kill(nonce);
    }

    function requestCancel(address maker, uint64 nonce, uint256 effectiveAt, uint256 time) external returns (uint256) {
        return _words.wordOf(maker, nonce).requestCancel(nonce, effectiveAt, time);
    }
}
