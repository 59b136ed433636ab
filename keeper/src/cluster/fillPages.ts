/**
 * An account's fills through a gateway (`GET /v1/accounts/{a}/fills`), merged from every shard.
 *
 * Each shard numbers its fills itself, so no single fill id says where a page ends in all of them.
 * The gateway's cursor holds one position per shard instead: `<shard>.<fillId>` (the `before` to
 * send that shard next; `0` when the shard has no older fill), joined by `-` in shard-name order,
 * e.g. `a.120-b.0`. A shard absent from the cursor (the first page) is read from its newest fill.
 *
 * A page asks each shard that may have more for `limit` fills below its position, then merges the
 * answers newest first by `at`: a k-way merge that keeps each shard's own order (its fills by id,
 * newest first) and breaks ties of `at` by shard name, so that a page boundary never reorders or
 * repeats a fill. A shard's next position is the id of its last fill on the page (or, when none of
 * its fills made the page, just above its newest one); a shard whose answer was wholly taken and
 * was not full is done. `next` is given while any shard may have more.
 */
import type { KeeperFillJson } from "@crossbook/sdk/keeper-wire";

/** Each shard's position: the fill id to read below, or 0 when it has no older fill. */
export type FillsCursor = ReadonlyMap<string, number>;

/**
 * The positions `text` gives for the cluster's `shards` (a shard the cluster no longer has is
 * dropped: it would keep a walk going forever, every page empty).
 */
export function parseFillsCursor(text: string | undefined, shards: readonly string[]): Map<string, number> {
  const cursor = new Map<string, number>();
  if (text === undefined) return cursor;
  for (const part of text.split("-")) {
    const dot = part.lastIndexOf(".");
    const shard = part.slice(0, dot);
    if (shards.includes(shard)) cursor.set(shard, Number(part.slice(dot + 1)));
  }
  return cursor;
}

export function formatFillsCursor(cursor: FillsCursor): string {
  return [...cursor]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([shard, id]) => `${shard}.${id}`)
    .join("-");
}

/** What `GET /v1/accounts/{a}/fills?limit&before` answered at one shard. */
export interface ShardFillsPage {
  readonly shard: string;
  readonly fills: readonly KeeperFillJson[];
  /** Present when the shard's page was full (it may have older fills). */
  readonly next?: string;
}

/** The shards a page must ask, with the `before` each gets (none: from its newest fill). */
export function shardsToAsk(shards: readonly string[], cursor: FillsCursor): { shard: string; before?: number }[] {
  return shards
    .filter((shard) => cursor.get(shard) !== 0)
    .map((shard) => {
      const before = cursor.get(shard);
      return before === undefined ? { shard } : { shard, before };
    });
}

/** One merged page of at most `limit` fills from the shards' pages, and the cursor after it. */
export function mergeFillPages(
  pages: readonly ShardFillsPage[],
  limit: number,
  cursor: FillsCursor,
): { fills: KeeperFillJson[]; next?: string } {
  const ordered = [...pages].sort((x, y) => (x.shard < y.shard ? -1 : x.shard > y.shard ? 1 : 0));
  const taken = ordered.map(() => 0);
  const fills: KeeperFillJson[] = [];
  while (fills.length < limit) {
    let best = -1;
    for (let i = 0; i < ordered.length; i++) {
      const head = (ordered[i] as ShardFillsPage).fills[taken[i] as number];
      if (head === undefined) continue;
      const current = best < 0 ? undefined : (ordered[best] as ShardFillsPage).fills[taken[best] as number];
      if (current === undefined || head.at > current.at) best = i;
    }
    if (best < 0) break;
    const page = ordered[best] as ShardFillsPage;
    fills.push(page.fills[taken[best] as number] as KeeperFillJson);
    taken[best] = (taken[best] as number) + 1;
  }
  const after = new Map(cursor);
  ordered.forEach((page, i) => {
    const n = taken[i] as number;
    if (n === page.fills.length && page.next === undefined) after.set(page.shard, 0);
    else if (n > 0) after.set(page.shard, (page.fills[n - 1] as KeeperFillJson).fillId);
    // None taken from a shard read from its newest: pinned just above that fill, so that fills
    // it matches later never surface in the middle of this walk (they are newer than its start).
    else if (!after.has(page.shard)) after.set(page.shard, (page.fills[0] as KeeperFillJson).fillId + 1);
  });
  const more = [...after.values()].some((id) => id !== 0);
  return { fills, ...(more ? { next: formatFillsCursor(after) } : {}) };
}
