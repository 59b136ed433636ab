/**
 * Loaded into a process with node's `-r` (`allocationNodeArgs`, scripts/lib/allocation.ts, says
 * what it measures): each SIGUSR2 opens or closes a window of allocation measurement, and each
 * appends one line to `allocationFile(process.pid)`.
 */
import { appendFileSync } from "node:fs";
import { Session } from "node:inspector";
import { performance } from "node:perf_hooks";
import { GCProfiler, getHeapStatistics } from "node:v8";
import { ALLOCATION_SAMPLING_BYTES, allocationFile, type AllocationWindow } from "./allocation";
import { frameName, type CallFrame } from "./profile";

interface SamplingNode {
  callFrame: CallFrame;
  selfSize: number;
  children: SamplingNode[];
}

/** The keeper's and the SDK's own code, not their dependencies. */
const OWN = /\/(keeper|sdk)\/src\//;

/** A sampling profile's bytes by allocating frame and the first own frame above it (itself included). */
function sitesOf(head: SamplingNode): { sites: [string, string, number][]; sampledBytes: number } {
  const bySite = new Map<string, [string, string, number]>();
  let sampledBytes = 0;
  const walk = (node: SamplingNode, own: string) => {
    const here = OWN.test(node.callFrame.url) ? frameName(node.callFrame) : own;
    if (node.selfSize > 0) {
      const frame = frameName(node.callFrame);
      const site = bySite.get(`${frame}\n${here}`) ?? [frame, here, 0];
      site[2] += node.selfSize;
      bySite.set(`${frame}\n${here}`, site);
      sampledBytes += node.selfSize;
    }
    for (const child of node.children) walk(child, here);
  };
  walk(head, "(no own frame)");
  return { sites: [...bySite.values()], sampledBytes };
}

/** This process's window, between SIGUSR2s. */
class AllocationProbe {
  private readonly session = new Session();
  private gc: GCProfiler | undefined;
  private usedAtOpen = 0;
  private openedAt = 0;
  /** A signal that came while the last one was still being answered: taken after it. */
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {
    this.session.connect();
  }

  toggle(): void {
    this.busy = this.busy.then(() => (this.gc === undefined ? this.open() : this.close()));
  }

  private post<T>(method: string, params?: object): Promise<T> {
    return new Promise((ok, ko) =>
      this.session.post(method, params, (error, result) => (error ? ko(error) : ok(result as T))),
    );
  }

  private async open(): Promise<void> {
    await this.post("HeapProfiler.enable");
    await this.post("HeapProfiler.startSampling", {
      samplingInterval: ALLOCATION_SAMPLING_BYTES,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    this.gc = new GCProfiler();
    this.gc.start();
    this.usedAtOpen = getHeapStatistics().used_heap_size;
    this.openedAt = performance.now();
    this.write({ event: "opened" });
  }

  private async close(): Promise<void> {
    const { statistics } = (this.gc as GCProfiler).stop();
    const usedAtClose = getHeapStatistics().used_heap_size;
    const seconds = (performance.now() - this.openedAt) / 1000;
    this.gc = undefined;
    let bytes = 0;
    let usedAfter = this.usedAtOpen;
    let collectionMicros = 0;
    const collections: Record<string, number> = {};
    for (const s of statistics) {
      bytes += s.beforeGC.heapStatistics.usedHeapSize - usedAfter;
      usedAfter = s.afterGC.heapStatistics.usedHeapSize;
      collectionMicros += s.cost;
      collections[s.gcType] = (collections[s.gcType] ?? 0) + 1;
    }
    bytes += usedAtClose - usedAfter;
    const { profile } = await this.post<{ profile: { head: SamplingNode } }>("HeapProfiler.stopSampling");
    this.write({ event: "closed", seconds, bytes, collections, collectionMicros, ...sitesOf(profile.head) });
  }

  private write(window: AllocationWindow): void {
    appendFileSync(this.file, `${JSON.stringify(window)}\n`);
  }
}

const probe = new AllocationProbe(allocationFile(process.pid));
process.on("SIGUSR2", () => probe.toggle());
