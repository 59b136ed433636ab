/**
 * keeper/API.md's "Signed messages" section is what a client in another language builds its EIP-712
 * hashing from: its type strings, fields and domain must be the ones the SDK (and the keeper) sign
 * and check. Read from the document, so that neither can drift from the other.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeAbiParameters, hashTypedData, keccak256, concat, toHex, type Hex } from "viem";
import {
  EIP712_DOMAIN_TYPEHASH,
  EXCHANGE_DOMAIN_NAME,
  EXCHANGE_DOMAIN_VERSION,
  ORDER_TYPE_STRING,
  domainSeparator,
  hashOrder,
  keeperMessageTypedData,
  keeperMessageTypes,
  orderTypes,
  type Order,
} from "@crossbook/sdk";

const API_MD = readFileSync(join(__dirname, "..", "..", "..", "keeper", "API.md"), "utf8");

/** The lines of the section under `heading`, up to the next heading of the same or a higher level. */
function section(heading: string): string[] {
  const lines = API_MD.split("\n");
  const start = lines.findIndex((l) => l.replace(/^#+\s*/, "") === heading);
  expect(start, `a "${heading}" heading in keeper/API.md`).to.be.greaterThan(-1);
  const level = /^#+/.exec(lines[start])![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+\s/.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** The cells of each row of the markdown tables in `lines` (header and rule rows left out). */
function rows(lines: string[]): string[][] {
  return lines
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
}

const code = (cell: string) => /^`([^`]*)`$/.exec(cell)?.[1];

const SECTION = section("Signed messages (EIP-712)");
/** `message → type string`, as the document writes them. */
const DOCUMENTED = new Map(
  rows(SECTION).flatMap(([message, typeString]) => {
    const name = code(message ?? "");
    const type = code(typeString ?? "");
    return name !== undefined && type?.startsWith(`${name}(`) ? [[name, type] as const] : [];
  }),
);

/** The EIP-712 `encodeType` of a struct with no struct-typed fields, from the SDK's field list. */
function encodeType(name: string, fields: readonly { name: string; type: string }[]): string {
  return `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
}

/** `[type, name]` of each field of a documented type string. */
function fieldsOf(typeString: string): [string, string][] {
  const inner = /^\w+\((.*)\)$/.exec(typeString)![1];
  return inner.split(",").map((f) => f.split(" ") as [string, string]);
}

/**
 * EIP-712 `hashStruct` done by hand from a documented type string, as a client in another language
 * would: the type hash, then each field encoded as one word (a dynamic array as the keccak256 of
 * its elements' words).
 */
function hashStructFromDoc(typeString: string, message: Record<string, unknown>): Hex {
  const words: Hex[] = [keccak256(toHex(typeString))];
  for (const [type, name] of fieldsOf(typeString)) {
    const value = message[name];
    if (type.endsWith("[]")) {
      const item = type.slice(0, -2);
      const items = (value as unknown[]).map((v) => encodeAbiParameters([{ type: item }], [v]));
      words.push(keccak256(items.length === 0 ? "0x" : concat(items)));
    } else {
      words.push(encodeAbiParameters([{ type }], [value]));
    }
  }
  return keccak256(concat(words));
}

const digestFromDoc = (domain: Parameters<typeof domainSeparator>[0], typeString: string, message: object) =>
  keccak256(
    concat(["0x1901", domainSeparator(domain), hashStructFromDoc(typeString, message as Record<string, unknown>)]),
  );

const DOMAIN = { chainId: 31337n, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" } as const;
const MAKER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

describe("keeper/API.md: the signed messages a client must hash", function () {
  it("documents exactly the SDK's signed messages: the order and every keeper message", function () {
    expect([...DOCUMENTED.keys()].sort()).to.deep.equal(["Order", ...Object.keys(keeperMessageTypes)].sort());
  });

  it("gives each message's type string exactly as the SDK encodes it", function () {
    expect(DOCUMENTED.get("Order")).to.equal(encodeType("Order", orderTypes.Order));
    expect(DOCUMENTED.get("Order")).to.equal(ORDER_TYPE_STRING);
    for (const [name, fields] of Object.entries(keeperMessageTypes)) {
      expect(DOCUMENTED.get(name), name).to.equal(encodeType(name, fields));
    }
  });

  it("gives the domain the SDK and the Exchange use", function () {
    const values = new Map(rows(SECTION).map(([field, value]) => [code(field ?? "") ?? field, value]));
    expect(values.get("name")).to.equal(`\`"${EXCHANGE_DOMAIN_NAME}"\``);
    expect(values.get("version")).to.equal(`\`"${EXCHANGE_DOMAIN_VERSION}"\``);
    const domainType = code(values.get("type string") ?? "");
    expect(domainType).to.equal("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    expect(keccak256(toHex(domainType!))).to.equal(EIP712_DOMAIN_TYPEHASH);
  });

  it("lists the unit of every field of every message, and no field that is not signed", function () {
    const documented = rows(SECTION)
      .filter((r) => r.length === 3 && DOCUMENTED.has(code(r[0]) ?? "") && code(r[1]) !== undefined)
      .filter((r) => !r[1].includes("("))
      .map((r) => `${code(r[0])}.${code(r[1])}`)
      .sort();
    const signed = [...DOCUMENTED.entries()].flatMap(([name, type]) => fieldsOf(type).map(([, f]) => `${name}.${f}`));
    expect(documented).to.deep.equal(signed.sort());
    // What the client author had to guess: issuedAt is in milliseconds, expiry in seconds.
    const unit = (field: string) => rows(SECTION).find((r) => `${code(r[0])}.${code(r[1])}` === field)?.[2] ?? "";
    expect(unit("CancelOrders.issuedAt")).to.contain("unix milliseconds");
    expect(unit("CancelAll.issuedAt")).to.contain("unix milliseconds");
    expect(unit("Order.expiry")).to.contain("unix seconds");
  });

  it("lets a client that hashes by hand from the documented strings sign what the keeper checks", function () {
    const order: Order = {
      maker: MAKER,
      marketId: 1n,
      isBuy: true,
      flags: 1n,
      maxFeeBps: 10n,
      expiry: 4_102_444_800n,
      nonce: 7n,
      priceTicks: 183_450n,
      lots: 25n,
    };
    expect(digestFromDoc(DOMAIN, DOCUMENTED.get("Order")!, order)).to.equal(hashOrder({ order, domain: DOMAIN }));
    const messages = {
      CancelOrders: {
        maker: MAKER,
        orderHashes: [hashOrder({ order, domain: DOMAIN }), `0x${"ab".repeat(32)}`],
        issuedAt: 1_764_700_000_123n,
      },
      CancelAll: { maker: MAKER, marketId: 0n, issuedAt: 1_764_700_000_123n },
      FeedLogin: { account: MAKER, challenge: `0x${"cd".repeat(32)}` },
    } as const;
    for (const [primaryType, message] of Object.entries(messages)) {
      const typedData = keeperMessageTypedData({ domain: DOMAIN, primaryType, message } as Parameters<
        typeof keeperMessageTypedData
      >[0]);
      const sdkDigest = hashTypedData(typedData as unknown as Parameters<typeof hashTypedData>[0]);
      expect(digestFromDoc(DOMAIN, DOCUMENTED.get(primaryType)!, message), primaryType).to.equal(sdkDigest);
    }
  });
});
