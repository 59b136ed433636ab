// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IExchange} from "../interfaces/IExchange.sol";

/// @notice Reads an Exchange's whole observable state in one call, for the stateful property test,
/// which compares it with its model after every step (one call where dozens cost seconds on a busy
/// machine). Every value is what the Exchange's own view returns in the same block.
contract ExchangeLens {
    struct Market {
        bool halted;
        uint16 bandBps;
        uint64 maxLotsPerBlock;
        address feed;
        uint32 feedMaxAgeSeconds;
        uint64 lastPriceTicks;
        uint64 lotsThisBlock;
        bool boundsAvailable;
        uint64 minPriceTicks;
        uint64 maxPriceTicks;
    }

    struct Balance {
        uint256 balance;
        uint256 requested;
        uint40 requestAt;
    }

    struct Trader {
        uint64 minNonce;
        uint64 pendingMinNonce;
        uint40 pendingAt;
        uint40 cancelAfter;
        uint256[7][] windows; // windowLimit in each market, its seven fields
    }

    struct Nonce {
        uint64 filled;
        uint40 pendingCancel;
    }

    struct Snapshot {
        bool paused;
        address feeRecipient;
        uint32 firmnessDelay;
        Market[] markets;
        uint256[] holdings; // each token's balance of the Exchange
        Balance[] balances; // account-major: accounts[i / tokens.length], tokens[i % tokens.length]
        Trader[] traders;
        Nonce[] nonces; // of (makers[i], nonceList[i])
    }

    /// @notice Everything the property test compares.
    function snapshot(
        IExchange exchange,
        uint32[] calldata marketIds,
        address[] calldata tokens,
        address[] calldata accounts,
        address[] calldata traders,
        address[] calldata makers,
        uint64[] calldata nonceList
    ) external view returns (Snapshot memory s) {
        (s.paused, s.feeRecipient, s.firmnessDelay) = (
            exchange.paused(),
            exchange.feeRecipient(),
            exchange.firmnessDelay()
        );
        s.markets = new Market[](marketIds.length);
        for (uint256 i; i < marketIds.length; ++i) s.markets[i] = _market(exchange, marketIds[i]);
        s.holdings = new uint256[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) s.holdings[i] = IERC20(tokens[i]).balanceOf(address(exchange));
        s.balances = new Balance[](accounts.length * tokens.length);
        for (uint256 i; i < s.balances.length; ++i) {
            (address account, address token) = (accounts[i / tokens.length], tokens[i % tokens.length]);
            s.balances[i].balance = exchange.balanceOf(account, token);
            (s.balances[i].requested, s.balances[i].requestAt) = exchange.withdrawalRequest(account, token);
        }
        s.traders = new Trader[](traders.length);
        for (uint256 i; i < traders.length; ++i) s.traders[i] = _trader(exchange, traders[i], marketIds);
        s.nonces = new Nonce[](makers.length);
        for (uint256 i; i < makers.length; ++i) {
            s.nonces[i] = Nonce(
                exchange.filled(makers[i], nonceList[i]),
                exchange.pendingCancel(makers[i], nonceList[i])
            );
        }
    }

    function _market(IExchange exchange, uint32 id) private view returns (Market memory m) {
        (
            m.halted,
            m.bandBps,
            m.maxLotsPerBlock,
            m.feed,
            m.feedMaxAgeSeconds,
            m.lastPriceTicks,
            m.lotsThisBlock
        ) = exchange.riskLimits(id);
        (m.boundsAvailable, m.minPriceTicks, m.maxPriceTicks) = exchange.priceBounds(id);
    }

    function _trader(
        IExchange exchange,
        address trader,
        uint32[] calldata marketIds
    ) private view returns (Trader memory t) {
        t.minNonce = exchange.minNonce(trader);
        (t.pendingMinNonce, t.pendingAt) = exchange.pendingMinNonce(trader);
        t.cancelAfter = exchange.cancelAfter(trader);
        t.windows = new uint256[7][](marketIds.length);
        for (uint256 i; i < marketIds.length; ++i) {
            (uint48 a, uint24 b, uint32 c, uint48 d, uint48 e, uint24 f, uint32 g) = exchange.windowLimit(
                trader,
                marketIds[i]
            );
            t.windows[i] = [uint256(a), b, c, d, e, f, g];
        }
    }
}
