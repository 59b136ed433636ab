import { expect } from "chai";
import fc from "fast-check";
import { keccak256, toHex } from "viem";
import { sdkReady } from "@crossbook/sdk";
import { keccak256Into, setKeccakFallback, usesWebAssembly } from "@crossbook/sdk/hashing";

function keccakOf(data: Uint8Array): `0x${string}` {
  const out = new Uint8Array(32);
  keccak256Into(data, out, 0);
  return toHex(out);
}

/** Runs `check` with the WebAssembly hasher, then with viem's keccak256. */
function inBothModes(check: (mode: string) => void): void {
  for (const fallback of [false, true]) {
    setKeccakFallback(fallback);
    try {
      expect(usesWebAssembly()).to.equal(!fallback);
      check(fallback ? "viem fallback" : "WebAssembly");
    } finally {
      setKeccakFallback(false);
    }
  }
}

describe("sdk/internal/keccak", function () {
  before(async function () {
    await sdkReady();
  });

  it("runs on WebAssembly under Node once ready", function () {
    expect(usesWebAssembly()).to.equal(true);
  });

  it("equals viem's keccak256 around the 136-byte block boundaries and at an order's lengths, in both modes", function () {
    // 66: 0x1901 ‖ domain separator ‖ struct hash; 320: type hash ‖ nine field words.
    const lengths = [0, 1, 31, 32, 33, 66, 135, 136, 137, 271, 272, 273, 320, 407, 408, 409, 1000, 5000];
    inBothModes((mode) => {
      for (const length of lengths) {
        const data = Uint8Array.from({ length }, (_, i) => (i * 131 + length) & 0xff);
        expect(keccakOf(data), `${mode}, length ${length}`).to.equal(keccak256(data));
      }
    });
  });

  it("equals viem's keccak256 on random inputs, in both modes", function () {
    inBothModes(() => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
          expect(keccakOf(data)).to.equal(keccak256(data));
        }),
        { numRuns: 200 },
      );
    });
  });

  it("writes the digest at the offset given and nowhere else", function () {
    const out = new Uint8Array(70).fill(0xee);
    keccak256Into(new Uint8Array(0), out, 34);
    expect(toHex(out.subarray(34, 66))).to.equal(keccak256(new Uint8Array(0)));
    expect([...out.subarray(0, 34), ...out.subarray(66)].every((b) => b === 0xee)).to.equal(true);
  });

  it("hashes the empty input to the well-known keccak256 of nothing", function () {
    expect(keccakOf(new Uint8Array(0))).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  });
});
