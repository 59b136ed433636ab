import { expect } from "chai";
import { allOf, isPending } from "../../../keeper/src/risk/fact";

describe("keeper risk: facts known now or pending (allOf)", function () {
  it("gives known facts back at once, as they are", function () {
    const facts = [1, "two", 3n] as const;
    expect(allOf(facts)).to.equal(facts);
  });

  it("with one fact pending, resolves to every value in its place once it comes", async function () {
    let settle: (value: string) => void = () => {};
    const pending = new Promise<string>((resolve) => (settle = resolve));
    const all = allOf([1, pending, 3n] as const);
    expect(isPending(all)).to.equal(true);
    settle("two");
    expect(await all).to.deep.equal([1, "two", 3n]);
  });

  it("with one fact pending, rejects as it does", async function () {
    const all = allOf([1, Promise.reject(new Error("no node")), 3n] as const);
    const error = await Promise.resolve(all).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("no node");
  });

  it("with several pending, resolves to every value in its place", async function () {
    const all = allOf([Promise.resolve(1), "two", Promise.resolve(3n)] as const);
    expect(await all).to.deep.equal([1, "two", 3n]);
  });
});
