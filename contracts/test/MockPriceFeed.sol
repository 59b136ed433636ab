// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @notice A Chainlink-style feed whose answer and update time anyone can set, for tests and local chains.
contract MockPriceFeed is AggregatorV3Interface {
    // solhint-disable-next-line immutable-vars-naming
    uint8 public immutable override decimals;
    int256 public answer;
    uint256 public updatedAt;
    uint80 public roundId;
    bool public reverting;

    error FeedReverting();

    constructor(uint8 decimals_, int256 answer_) {
        decimals = decimals_;
        setAnswer(answer_);
    }

    /// @notice Publishes `answer_` as of now.
    function setAnswer(int256 answer_) public {
        setAnswerAt(answer_, block.timestamp);
    }

    /// @notice Publishes `answer_` as of `updatedAt_` (to make it stale, or from the future).
    function setAnswerAt(int256 answer_, uint256 updatedAt_) public {
        answer = answer_;
        updatedAt = updatedAt_;
        ++roundId;
    }

    /// @notice Makes `latestRoundData` revert (or stop reverting).
    function setReverting(bool reverting_) external {
        reverting = reverting_;
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        if (reverting) revert FeedReverting();
        return (roundId, answer, updatedAt, updatedAt, roundId);
    }
}
