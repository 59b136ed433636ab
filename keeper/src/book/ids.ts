/**
 * The book's index of resting orders by id: an open-addressing hash table (linear probing,
 * deletion by backward shift, no tombstones) of order handles, each slot holding the id's 32-bit
 * hash next to the handle, so that a probe reads one typed array and compares a string only
 * when the hashes match (and then first as the same string, which a cancel usually is).
 *
 * It replaces a `Map<string, number>`, whose lookup of an id it has not seen (every `place`)
 * reads the whole string to hash it, and reads the other keys of its bucket chain to compare
 * hashes. Here an id of more than 32 characters is hashed from its last 16, two a step (the
 * keeper's ids are EIP-712 order hashes, 0x and 64 hex digits, whose last 16 are 64 bits of a
 * digest, which nobody can grind to collide); a shorter id from all of them. Long ids that differ
 * only before their last 16 characters share a hash: still found exactly (the strings are
 * compared), only more slowly. (A pass that also read 8 characters spread over the rest of the
 * id measured slower; the first character read of a new id, which V8 keeps as a rope of the
 * pieces it was built from, flattens it, which no choice of characters avoids.) The hash is keyed with a random seed per
 * book, so that nobody can choose ids that crowd one part of the table; it decides only where
 * an id sits in the table, never what the book outputs.
 */
import { NONE } from "./store";

const INITIAL_SLOTS = 1 << 11;
/** Ids of up to this many characters are hashed whole. */
const HASHED_WHOLE = 32;
/** Of a longer id, the hash reads its last this many characters. */
const HASHED_TAIL = 16;

export class IdIndex {
  /** Two numbers per slot: the id's hash, then its handle + 1 (0: the slot is free). */
  private slots = new Int32Array(INITIAL_SLOTS * 2);
  private mask = INITIAL_SLOTS - 1;
  size = 0;
  private readonly seed = (Math.random() * 0x100000000) | 0;

  /**
   * @param idOf the id of a handle in the table (the caller's array of ids, read when two
   *   hashes match).
   */
  constructor(private readonly idOf: (string | undefined)[]) {}

  /** The hash of `id`, to give to the other methods. */
  hash(id: string): number {
    const n = id.length;
    let h = Math.imul(this.seed ^ n, 0x9e3779b1);
    // Two characters (16 bits each) a step.
    let i = n <= HASHED_WHOLE ? 0 : n - HASHED_TAIL;
    for (; i + 1 < n; i += 2) h = mix(h, id.charCodeAt(i) | (id.charCodeAt(i + 1) << 16));
    if (i < n) h = mix(h, id.charCodeAt(i));
    // Final avalanche (murmur3's fmix32), so that the low bits, which pick the slot, depend on every input bit.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The handle of `id` (whose hash is `hash`), or `NONE`. */
  get(id: string, hash: number): number {
    const { slots, mask, idOf } = this;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const handle = slots[2 * i + 1] - 1;
      if (handle === NONE) return NONE;
      if (slots[2 * i] === hash && idOf[handle] === id) return handle;
    }
  }

  /** Adds `handle` under `hash`; the caller has checked that its id is not in the table. */
  add(hash: number, handle: number): void {
    if (2 * (this.size + 1) > this.mask + 1) this.resize();
    this.place(hash, handle);
    this.size++;
  }

  /** Removes `handle`, which is in the table under `hash`. */
  delete(hash: number, handle: number): void {
    const { slots, mask } = this;
    let i = hash & mask;
    while (slots[2 * i + 1] - 1 !== handle) i = (i + 1) & mask;
    // Backward shift: move up each later entry of the run that may sit at i, so that no probe
    // for it meets a free slot before reaching it.
    for (let j = (i + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j] & mask;
      // `home` lies cyclically outside (i, j]: the entry at j may move to i.
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[2 * i] = slots[2 * j];
        slots[2 * i + 1] = slots[2 * j + 1];
        i = j;
      }
    }
    slots[2 * i] = 0;
    slots[2 * i + 1] = 0;
    this.size--;
  }

  /** Every handle in the table, in no particular order. */
  handles(): number[] {
    const out: number[] = [];
    const slots = this.slots;
    for (let i = 1; i < slots.length; i += 2) if (slots[i] !== 0) out.push(slots[i] - 1);
    return out;
  }

  private place(hash: number, handle: number): void {
    const { slots, mask } = this;
    let i = hash & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = hash;
    slots[2 * i + 1] = handle + 1;
  }

  /** Doubles the table (kept at most half full) and places every entry again. */
  private resize(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    this.mask = old.length - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.place(old[i], old[i + 1] - 1);
  }
}

function mix(h: number, c: number): number {
  h = Math.imul(h ^ c, 0x5bd1e995);
  return h ^ (h >>> 15);
}
