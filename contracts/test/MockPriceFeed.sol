// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/// @notice A Chainlink-style feed whose answer and update time anyone can set, for tests and local chains.
/// It can also be switched to answer `latestRoundData` in the hostile ways a broken feed could.
contract MockPriceFeed is AggregatorV3Interface {
    /// @notice How `latestRoundData` answers besides reverting.
    enum Hostility {
        None, // the answer, as set
        BurnGas, // loops until it runs out of gas
        HugeData, // returns `HUGE_RETURN_BYTES` bytes of zeros
        ShortData // returns four words instead of five
    }

    /// @notice The size of the answer in `HugeData` mode.
    uint256 public constant HUGE_RETURN_BYTES = 1_000_000;

    // solhint-disable-next-line immutable-vars-naming
    uint8 public immutable override decimals;
    int256 public answer;
    uint256 public updatedAt;
    uint80 public roundId;
    bool public reverting;
    Hostility public hostility;

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

    /// @notice Switches how `latestRoundData` answers.
    function setHostility(Hostility hostility_) external {
        hostility = hostility_;
    }

    function latestRoundData() external view override returns (uint80, int256, uint256, uint256, uint80) {
        if (reverting) revert FeedReverting();
        Hostility h = hostility;
        if (h == Hostility.BurnGas) {
            assembly ("memory-safe") {
                // solhint-disable-next-line no-empty-blocks
                for {} 1 {} {}
            }
        }
        if (h == Hostility.HugeData) {
            assembly {
                return(0x80, HUGE_RETURN_BYTES)
            }
        }
        (uint80 id, int256 a, uint256 at) = (roundId, answer, updatedAt);
        if (h == Hostility.ShortData) {
            assembly ("memory-safe") {
                mstore(0, id)
                mstore(0x20, a)
                mstore(0x40, at)
                mstore(0x60, at)
                return(0, 0x80)
            }
        }
        return (id, a, at, at, id);
    }
}
