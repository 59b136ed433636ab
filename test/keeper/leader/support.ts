/** What the tests of several keepers on one PostgreSQL share. */
import type { runKeeperInProcess } from "../support";

export type Running = Awaited<ReturnType<typeof runKeeperInProcess>>;

/** Waits until `test` holds (checked every 50 ms); the deadline is generous, never a measure. */
export async function until<T>(what: string, read: () => Promise<T>, test: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (test(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
