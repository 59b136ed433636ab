// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Exact amounts of a fill
/// @notice Sizes are whole lots and prices whole ticks per lot, so every amount is an exact integer;
/// only the fee rounds, and it rounds down.
library FillMath {
    uint256 internal constant BPS = 10_000;

    /// @notice Base atoms of `lots`.
    function baseAmount(uint64 lots, uint256 lotSize) internal pure returns (uint256) {
        // lots < 2^64 and lotSize < 2^96 (enforced at listing): the product is below 2^160.
        unchecked {
            return uint256(lots) * lotSize;
        }
    }

    /// @notice Quote atoms of `lots` at `priceTicks`.
    function quoteAmount(uint64 lots, uint64 priceTicks, uint256 tickSize) internal pure returns (uint256) {
        // lots, priceTicks < 2^64 and tickSize < 2^96 (enforced at listing): the product is below 2^224.
        unchecked {
            return uint256(lots) * priceTicks * tickSize;
        }
    }

    /// @notice The fee on `quote` atoms at `feeBps`, rounded down.
    function fee(uint256 quote, uint256 feeBps) internal pure returns (uint256) {
        // quote < 2^224 (see quoteAmount) and feeBps < 2^16: the product is below 2^240.
        unchecked {
            return (quote * feeBps) / BPS;
        }
    }
}
