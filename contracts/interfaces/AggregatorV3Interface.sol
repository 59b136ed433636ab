// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The read side of a Chainlink-style price feed, as the Exchange uses it.
// solhint-disable-next-line interface-starts-with-i
interface AggregatorV3Interface {
    /// @notice How many decimals `answer` has.
    function decimals() external view returns (uint8);

    /// @notice The latest answer and when it was updated.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
