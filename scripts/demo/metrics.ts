/**
 * Reading the keeper's `GET /metrics` (Prometheus text format) for the demo's progress lines and
 * summary: the samples by name and labels, counter totals, and a histogram's count, mean and the
 * bucket that holds a quantile.
 */

/** One sample line: `name{label="value",…} 12.5`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of one scrape. */
export class MetricsSnapshot {
  constructor(readonly samples: readonly Sample[]) {}

  /** Parses the Prometheus text format; comment and blank lines are ignored, a malformed line is an error. */
  static parse(text: string): MetricsSnapshot {
    const samples: Sample[] = [];
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
      if (match === null) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
      const labels: Record<string, string> = {};
      const labelText = match[2] ?? "";
      if (!/^\s*(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"\s*(?:,\s*|$))*$/.test(labelText)) {
        throw new Error(`not a Prometheus sample line (labels): ${JSON.stringify(line)}`);
      }
      for (const pair of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      }
      samples.push({ name: match[1], labels, value: parseValue(match[3]) });
    }
    return new MetricsSnapshot(samples);
  }

  /** The sum of every sample named `name` whose labels include `labels` (0 when there is none). */
  total(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }

  /** A histogram's observations (over all its label sets). */
  histogram(name: string): HistogramSummary {
    const count = this.total(`${name}_count`);
    const sum = this.total(`${name}_sum`);
    const byBound = new Map<number, number>();
    for (const s of this.samples) {
      if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
      const bound = parseValue(s.labels.le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
    }
    const buckets = [...byBound.entries()]
      .sort(([a], [b]) => a - b)
      .map(([upperBound, cumulativeCount]) => ({ upperBound, cumulativeCount }));
    return new HistogramSummary(count, sum, buckets);
  }
}

/** A histogram as scraped: cumulative buckets by upper bound (the last one `+Inf`). */
export class HistogramSummary {
  constructor(
    readonly count: number,
    readonly sum: number,
    readonly buckets: readonly { upperBound: number; cumulativeCount: number }[],
  ) {}

  /** The mean observation, or undefined before the first one. */
  get mean(): number | undefined {
    return this.count === 0 ? undefined : this.sum / this.count;
  }
}

/**
 * The bucket that holds a histogram's `q` quantile: `[lower, upper]` (`upper` is Infinity in the
 * `+Inf` bucket), or undefined before the first observation.
 */
export function quantileBucket(h: HistogramSummary, q: number): [number, number] | undefined {
  if (!(q > 0 && q < 1)) throw new RangeError(`a quantile is between 0 and 1, got ${q}`);
  if (h.count === 0) return undefined;
  let lower = 0;
  for (const { upperBound, cumulativeCount } of h.buckets) {
    if (cumulativeCount >= q * h.count) return [lower, upperBound];
    lower = upperBound;
  }
  return [lower, Infinity];
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  const value = Number(text);
  if (Number.isNaN(value) && text !== "NaN") throw new Error(`not a Prometheus value: ${JSON.stringify(text)}`);
  return value;
}

/** Fetches and parses `<keeperUrl>/metrics`. */
export async function scrapeMetrics(keeperUrl: string, signal?: AbortSignal): Promise<MetricsSnapshot> {
  const response = await fetch(`${keeperUrl}/metrics`, { signal: signal ?? AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${keeperUrl}/metrics answered ${response.status}`);
  return MetricsSnapshot.parse(await response.text());
}
