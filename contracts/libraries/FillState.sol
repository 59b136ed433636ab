// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Packed fill state of a maker's nonces
/// @notice Four neighbouring nonces share one storage word, 64 bits each, so a maker who counts its
/// nonces up pays for a fresh slot once every four orders instead of every order.
/// A lane holds the lots filled under that nonce, or `CANCELLED` once the nonce is dead.
library FillState {
    uint64 internal constant CANCELLED = type(uint64).max;

    /// @notice The word that holds the lanes of nonces `4k .. 4k+3`.
    struct Word {
        uint256 lanes;
    }

    /// @notice The word holding `maker`'s `nonce`'s lane: look it up once, then `read` and `write` it.
    /// @dev One flat mapping keyed by `maker << 62 | nonce >> 2` (222 bits, no collisions) costs one
    /// hash per lookup where a mapping of mappings costs two.
    function wordOf(
        mapping(uint256 => Word) storage words,
        address maker,
        uint64 nonce
    ) internal view returns (Word storage) {
        return words[(uint256(uint160(maker)) << 62) | (nonce >> 2)];
    }

    /// @notice Reads `nonce`'s lane of `word`.
    function read(Word storage word, uint64 nonce) internal view returns (uint64) {
        return uint64(word.lanes >> _shift(nonce));
    }

    /// @notice Writes `value` into `nonce`'s lane of `word`, keeping the other three lanes.
    function write(Word storage word, uint64 nonce, uint64 value) internal {
        uint256 shift = _shift(nonce);
        word.lanes = (word.lanes & ~(uint256(type(uint64).max) << shift)) | (uint256(value) << shift);
    }

    function _shift(uint64 nonce) private pure returns (uint256) {
        return uint256(nonce & 3) << 6;
    }
}
