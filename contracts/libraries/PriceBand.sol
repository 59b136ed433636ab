// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title Exact price-band bounds in ticks
/// @notice A reference price is a rational number of ticks, `value * num / den`, and a fill price
/// `p` (whole ticks) is in a band of `bandBps` around it when
/// `ref * (1 - bandBps/10^4) <= p <= ref * (1 + bandBps/10^4)`. Since `p` is a whole number, that is
/// exactly `ceil(lower) <= p <= floor(upper)`, computed here once with 512-bit intermediates, so
/// nothing rounds the wrong way.
library PriceBand {
    uint256 internal constant BPS = 10_000;

    /// @notice The whole-tick bounds of the band, `low <= high`, or `low > high` when no uint64
    /// price can be in it.
    /// @dev Callers keep `num < 2^216`, `den < 2^216` and `bandBps <= BPS`, so `num * (BPS + bandBps)`
    /// and `den * BPS` cannot overflow.
    function bounds(
        uint256 value,
        uint256 num,
        uint256 den,
        uint256 bandBps
    ) internal pure returns (uint64 low, uint64 high) {
        uint256 lower = _scaled(value, num * (BPS - bandBps), den * BPS, Math.Rounding.Ceil);
        uint256 upper = _scaled(value, num * (BPS + bandBps), den * BPS, Math.Rounding.Floor);
        if (lower > type(uint64).max) return (1, 0); // the whole band lies above every price
        low = uint64(lower);
        high = upper > type(uint64).max ? type(uint64).max : uint64(upper);
    }

    /// @dev `x * y / d` rounded as asked, or `type(uint256).max` when it does not fit in 256 bits.
    function _scaled(uint256 x, uint256 y, uint256 d, Math.Rounding rounding) private pure returns (uint256) {
        (uint256 high, ) = Math.mul512(x, y);
        if (high >= d) return type(uint256).max;
        return Math.mulDiv(x, y, d, rounding);
    }
}
