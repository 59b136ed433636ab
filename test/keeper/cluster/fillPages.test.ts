/**
 * A gateway's pages of an account's fills over several shards (keeper/src/cluster/fillPages.ts),
 * against shards simulated as the keeper pages its own fills: by id, newest first, below `before`,
 * `next` when the page is full.
 */
import { expect } from "chai";
import type { KeeperFillJson } from "@crossbook/sdk/keeper-wire";
import {
  formatFillsCursor,
  mergeFillPages,
  parseFillsCursor,
  shardsToAsk,
  type ShardFillsPage,
} from "../../../keeper/src/cluster/fillPages";
import { gatewayFillsQuery, parse } from "../../../keeper/src/api/schemas";

type Shards = Map<string, KeeperFillJson[]>; // each shard's fills, by id ascending

function fill(id: number, at: number, marketId: string): KeeperFillJson {
  return { fillId: id, at, marketId } as KeeperFillJson;
}

/** What a keeper answers for `?limit&before` (keeper/src/api/fills.ts `page`). */
function shardPage(shards: Shards, shard: string, limit: number, before?: number): ShardFillsPage {
  const below = (shards.get(shard) ?? []).filter((f) => before === undefined || f.fillId < before).reverse();
  const fills = below.slice(0, limit);
  return { shard, fills, ...(fills.length === limit ? { next: String(fills[fills.length - 1]!.fillId) } : {}) };
}

/** Walks every page as a gateway serves them; `between` runs after each page. */
function walk(shards: Shards, limit: number, between: (page: number) => void = () => {}): KeeperFillJson[] {
  const seen: KeeperFillJson[] = [];
  let before: string | undefined;
  for (let page = 0; page < 1000; page++) {
    if (before !== undefined) parse(gatewayFillsQuery, { before }, "query"); // the cursor is one the route takes
    const cursor = parseFillsCursor(before, [...shards.keys()]);
    const pages = shardsToAsk([...shards.keys()], cursor).map((a) => shardPage(shards, a.shard, limit, a.before));
    const answer = mergeFillPages(pages, limit, cursor);
    expect(answer.fills.length).to.be.at.most(limit);
    seen.push(...answer.fills);
    between(page);
    if (answer.next === undefined) return seen;
    before = answer.next;
  }
  throw new Error("the walk never ended");
}

const key = (f: KeeperFillJson) => `${f.marketId}/${f.fillId}`;

describe("gateway fills pages: one cursor over every shard's fill ids", () => {
  // Fill ids collide between shards (each numbers from 1); times interleave, with ties.
  const shards = (): Shards =>
    new Map([
      ["a", [fill(1, 100, "1"), fill(2, 130, "1"), fill(3, 130, "1"), fill(4, 160, "1"), fill(5, 200, "1")]],
      ["b", [fill(1, 110, "2"), fill(2, 130, "2"), fill(3, 190, "2")]],
      ["c", []],
    ]);

  it("walks every fill once, newest first, whatever the page size", () => {
    const expected = ["1/5", "2/3", "1/4", "1/3", "1/2", "2/2", "2/1", "1/1"];
    for (const limit of [1, 2, 3, 5, 8, 100]) {
      expect(walk(shards(), limit).map(key), `limit ${limit}`).to.deep.equal(expected);
    }
  });

  it("keeps fills matched during the walk out of it (they are newer than its first page)", () => {
    for (const limit of [1, 2, 3]) {
      const live = shards();
      const seen = walk(live, limit, (page) => {
        if (page !== 0) return;
        live.get("a")!.push(fill(6, 300, "1"));
        live.get("b")!.push(fill(4, 300, "2"));
        live.get("c")!.push(fill(1, 300, "3"));
      });
      expect(seen.map(key), `limit ${limit}`).to.not.include.members(["1/6", "2/4", "3/1"]);
      expect(new Set(seen.map(key)).size).to.equal(seen.length);
      expect(seen.length).to.equal(8);
    }
  });

  it("says a shard is done (0) and asks it no more", () => {
    const cursor = parseFillsCursor("a.4-b.0", ["a", "b", "c"]);
    expect(shardsToAsk(["a", "b", "c"], cursor)).to.deep.equal([{ shard: "a", before: 4 }, { shard: "c" }]);
    expect(
      formatFillsCursor(
        new Map([
          ["b", 0],
          ["a", 4],
        ]),
      ),
    ).to.equal("a.4-b.0");
    expect(mergeFillPages([{ shard: "a", fills: [] }], 10, new Map([["b", 0]]))).to.deep.equal({ fills: [] });
  });

  it("ends a walk whose cursor names a shard the cluster no longer has", () => {
    const cursor = parseFillsCursor("a.0-b.0-gone.7", ["a", "b"]);
    expect([...cursor.keys()]).to.deep.equal(["a", "b"]);
    expect(mergeFillPages([], 10, cursor)).to.deep.equal({ fills: [] }); // no `next`: done
  });

  it("refuses a cursor that is not one", () => {
    for (const before of ["7", "a.-1", "A.3", "a.3,b.4", "a.03", `${"a".repeat(33)}.1`]) {
      expect(() => parse(gatewayFillsQuery, { before }, "query"), before).to.throw(/next cursor of a gateway's page/);
    }
  });
});
