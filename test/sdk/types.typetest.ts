/**
 * Type tests: misuse of the SDK that must not compile. Each `@ts-expect-error` line is an error the
 * compiler must report; test/sdk/typecheck.test.ts compiles this file and fails on any diagnostic —
 * including an `@ts-expect-error` that no longer catches anything, because the SDK's types loosened.
 *
 * Nothing here runs: mocha loads this file (it is under test/) but only declares a function.
 */
import type { Address, Hex, LocalAccount, PublicClient, WalletClient } from "viem";
import {
  FILL_OR_KILL,
  SkipReason,
  decodeOrderKey,
  deposit,
  fillAmounts,
  formatLots,
  getBalance,
  hashOrder,
  parseLots,
  parsePriceTicks,
  signOrder,
  validateOrder,
  type EthersSignerLike,
  type Fill,
  type MarketUnits,
  type Order,
  type SignedOrder,
  type Trade,
} from "@crossbook/sdk";

declare const maker: Address;
declare const account: LocalAccount;
declare const publicClient: PublicClient;
declare const walletClient: WalletClient;
declare const ethersSigner: EthersSignerLike;
declare const market: MarketUnits;
declare const signature: Hex;

export function typeTests(): void {
  const domain = { chainId: 31337, verifyingContract: maker };
  const order: Order = {
    maker,
    marketId: 1n,
    isBuy: true,
    flags: FILL_OR_KILL,
    maxFeeBps: 10n,
    expiry: 4_102_444_800n,
    nonce: 1n,
    priceTicks: 183_450n,
    lots: 25n,
  };

  // @ts-expect-error a number where a bigint is required
  const withNumber: Order = { ...order, lots: 25 };
  // @ts-expect-error a decimal string where a bigint is required
  const withString: Order = { ...order, priceTicks: "1834.5" };
  // @ts-expect-error every field is required
  const missing: Order = { maker, marketId: 1n, isBuy: true };
  // @ts-expect-error the maker is an address, not any string
  const badMaker: Order = { ...order, maker: "alice" };
  // @ts-expect-error isBuy is a boolean, not a side name
  const badSide: Order = { ...order, isBuy: "buy" };
  // @ts-expect-error fields of a Fill are bigints too
  const fill: Fill = { makerIndex: 0, takerIndex: 1n, lots: 1n };

  hashOrder({ order, domain });
  // @ts-expect-error a domain needs its verifying contract
  hashOrder({ order, domain: { chainId: 1n } });
  // @ts-expect-error a chain id is a number or a bigint, not a string
  hashOrder({ order, domain: { chainId: "1", verifyingContract: maker } });

  void signOrder({ signer: account, order, domain });
  void signOrder({ signer: walletClient, order, domain });
  void signOrder({ signer: ethersSigner, order, domain });
  // @ts-expect-error a private key is not a signer
  void signOrder({ signer: "0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f", order, domain });
  // @ts-expect-error a public client cannot sign
  void signOrder({ signer: publicClient, order, domain });

  const lots: bigint = parseLots({ amount: "0.25", market });
  // @ts-expect-error amounts are decimal strings: a float would round
  parseLots({ amount: 0.25, market });
  // @ts-expect-error prices are decimal strings
  parsePriceTicks({ price: 1834.5, market });
  // @ts-expect-error market lot sizes are bigints
  parseLots({ amount: "1", market: { ...market, lotSize: 100 } });
  // @ts-expect-error parseLots returns a bigint, not a number
  const asNumber: number = parseLots({ amount: "0.25", market });
  // @ts-expect-error formatLots takes a bigint
  formatLots({ lots: 25, market });
  // @ts-expect-error a fee in bps is a bigint
  fillAmounts({ lots, priceTicks: 1n, market, feeBps: 10 });

  // validateOrder takes any object (to check input from JSON), but its report is typed
  const report = validateOrder({ order: { lots: 25 } });
  // @ts-expect-error a problem's field is one of Order's
  const field: "size" = report.problems[0].field;

  void deposit(walletClient, { exchange: maker, token: maker, amount: 1n });
  // @ts-expect-error deposit amounts are bigint atoms
  void deposit(walletClient, { exchange: maker, token: maker, amount: 1 });
  // @ts-expect-error deposit sends a transaction: it needs a wallet client
  void deposit(publicClient, { exchange: maker, token: maker, amount: 1n });
  void getBalance(publicClient, { exchange: maker, account: maker, token: maker });
  // @ts-expect-error getBalance needs the token
  void getBalance(publicClient, { exchange: maker, account: maker });

  const reason: SkipReason = SkipReason.MakerExpired;
  // @ts-expect-error SkipReason names are fixed
  const unknownReason = SkipReason.Whatever;
  const key = decodeOrderKey(signature);
  // @ts-expect-error an order key's nonce is a bigint
  const nonceNumber: number = key.nonce;
  const signed: SignedOrder = { order, signature };
  // @ts-expect-error a signature is hex
  const badSigned: SignedOrder = { order, signature: "signed" };
  // @ts-expect-error a trade's lots are a bigint
  const tradeLots: (trade: Trade) => number = (trade) => trade.lots;

  void [withNumber, withString, missing, badMaker, badSide, fill, asNumber, field, reason, unknownReason];
  void [nonceNumber, signed, badSigned, tradeLots];
}
