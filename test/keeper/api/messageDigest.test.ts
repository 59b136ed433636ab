/**
 * The keeper's own digest of its signed messages (`keeperMessageDigest`, written word by word for
 * speed: every cancel an attacker sends is hashed before it is refused) is viem's `hashTypedData`
 * of the SDK's `keeperMessageTypedData`, for every message type, and refuses what does not fit.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hashTypedData, type Hex } from "viem";
import { keeperMessageTypedData, sdkReady, type ExchangeDomainParameters } from "@crossbook/sdk";
import { keeperMessageDigest, type KeeperMessage } from "../../../keeper/src/api/signatures";

const DOMAIN: ExchangeDomainParameters = {
  chainId: 31337,
  verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
};
const OTHER: ExchangeDomainParameters = { chainId: 1, verifyingContract: "0x00000000000000000000000000000000000c0ffe" };
const word = () => `0x${randomBytes(32).toString("hex")}` as Hex;
const MAKER = "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03";

const viemDigest = (domain: ExchangeDomainParameters, m: KeeperMessage) =>
  hashTypedData(
    keeperMessageTypedData({ domain, ...m } as Parameters<typeof keeperMessageTypedData>[0]) as unknown as Parameters<
      typeof hashTypedData
    >[0],
  );

const MESSAGES: KeeperMessage[] = [
  { primaryType: "CancelOrders", message: { maker: MAKER, orderHashes: [], issuedAt: 1_700_000_000_000n } },
  { primaryType: "CancelOrders", message: { maker: MAKER, orderHashes: [word()], issuedAt: 0n } },
  {
    primaryType: "CancelOrders",
    message: { maker: MAKER, orderHashes: Array.from({ length: 100 }, word), issuedAt: (1n << 64n) - 1n },
  },
  { primaryType: "CancelAll", message: { maker: MAKER, marketId: 0n, issuedAt: 1_700_000_000_123n } },
  { primaryType: "CancelAll", message: { maker: MAKER, marketId: (1n << 32n) - 1n, issuedAt: 5n } },
  { primaryType: "ScheduleCancel", message: { account: MAKER, at: 0n, issuedAt: 1_700_000_000_000n } },
  { primaryType: "ScheduleCancel", message: { account: MAKER, at: 1_700_000_060_000n, issuedAt: 7n } },
  { primaryType: "FeedLogin", message: { account: MAKER, challenge: word() } },
];

describe("keeper: keeperMessageDigest", function () {
  before(() => sdkReady());

  it("is viem's hashTypedData for every message type, under each domain", function () {
    for (const domain of [DOMAIN, OTHER, DOMAIN]) {
      for (const m of MESSAGES) expect(keeperMessageDigest(domain, m), m.primaryType).to.equal(viemDigest(domain, m));
    }
  });

  it("refuses a field that does not fit its type", function () {
    const bad: KeeperMessage[] = [
      { primaryType: "CancelAll", message: { maker: MAKER, marketId: 1n << 32n, issuedAt: 0n } },
      { primaryType: "CancelAll", message: { maker: MAKER, marketId: -1n, issuedAt: 0n } },
      { primaryType: "CancelOrders", message: { maker: MAKER, orderHashes: ["0x12"], issuedAt: 0n } },
      { primaryType: "FeedLogin", message: { account: "0x1234", challenge: word() } },
    ];
    for (const m of bad)
      expect(
        () => keeperMessageDigest(DOMAIN, m),
        JSON.stringify(m, (_k, v) => String(v)),
      ).to.throw(TypeError);
  });
});
