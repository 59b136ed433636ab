/**
 * `npm run bench:app`: the trading page's two numbers.
 *
 * 1. Bundle size: the production build (`vite build`, minified), every file gzipped at level 9 — what
 *    the first visit loads (index.html and what it references) and everything (the price chart's
 *    lightweight-charts is a chunk loaded after the first render). Target: all of it ≤ 250 KB gzip.
 * 2. Time from navigation to the first book render on loopback: a real hardhat node, keeper and page
 *    server (scripts/app/stack.ts), a book of 2 × BENCH_APP_LEVELS levels, and headless Chromium
 *    loading the page BENCH_APP_LOADS times, each in a fresh browser context (a cold cache: a first
 *    visit); the page marks `crossbook:first-book` when the ladder first renders a book from the feed,
 *    and the mark's time is measured from navigation start. Target: median ≤ 1 s.
 *
 * The machine is shared: it prints `uptime`'s load with the figures, and medians.
 */
import { readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { launchChromium } from "./app/browser";
import { startPageStack } from "./app/stack";

const LOADS = positiveInt("BENCH_APP_LOADS", 9);
const LEVELS = positiveInt("BENCH_APP_LEVELS", 25);
const TARGET = { gzipBytes: 250 * 1024, firstBookMs: 1_000 };
const FIRST_BOOK_MARK = "crossbook:first-book";

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bench:app: ${name} must be a positive whole number, got ${raw}`);
  return n;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");

interface BundleFile {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Loaded by index.html itself (not a chunk imported later). */
  readonly initial: boolean;
}

/** Every file of the build with its size and gzip size; `initial` for what index.html references. */
function measureBundle(distDir: string): BundleFile[] {
  const html = readFileSync(join(distDir, "index.html"), "utf8");
  const referenced = new Set([...html.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]));
  const files = ["index.html", ...readdirSync(join(distDir, "assets")).map((f) => `assets/${f}`)];
  return files.map((name) => {
    const content = readFileSync(join(distDir, name));
    return {
      name,
      bytes: content.length,
      gzipBytes: gzipSync(content, { level: 9 }).length,
      initial: name === "index.html" || referenced.has(name),
    };
  });
}

async function main(): Promise<number> {
  console.log(`bench:app: ${LOADS} cold loads, a book of 2 × ${LEVELS} levels; load average ${load()}`);
  const stack = await startPageStack();
  try {
    const files = measureBundle(stack.distDir);
    const total = files.reduce((sum, f) => sum + f.gzipBytes, 0);
    const initial = files.filter((f) => f.initial).reduce((sum, f) => sum + f.gzipBytes, 0);
    console.log("\nbundle (production build, gzip -9):");
    for (const f of files) {
      console.log(
        `  ${f.name.padEnd(48)} ${kb(f.bytes).padStart(10)} ${kb(f.gzipBytes).padStart(10)} gzip${f.initial ? "" : "  (loaded later)"}`,
      );
    }
    console.log(`  first visit ${kb(initial)} gzip; everything ${kb(total)} gzip (target ≤ ${kb(TARGET.gzipBytes)})`);

    const market = stack.deployment.markets[0];
    for (let i = 1n; i <= BigInt(LEVELS); i++) {
      await stack.place(stack.counterparty, { isBuy: true, priceTicks: market.initialPriceTicks - i * 10n, lots: i });
      await stack.place(stack.counterparty, { isBuy: false, priceTicks: market.initialPriceTicks + i * 10n, lots: i });
    }

    const { browser, close } = await launchChromium();
    const times: { firstBook: number; domContentLoaded: number }[] = [];
    try {
      for (let run = 0; run < LOADS; run++) {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const page = await context.newPage();
        await page.goto(stack.page.url);
        // The snapshot comes whole: the first render of the book shows its levels.
        const book = page.locator('[data-testid="book"][data-state="live"] [data-testid="bid-level"]');
        await book.first().waitFor({ timeout: 60_000 });
        const measured = (await page.evaluate(`(() => ({
          firstBook: performance.getEntriesByName(${JSON.stringify(FIRST_BOOK_MARK)})[0]?.startTime,
          domContentLoaded: performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd,
        }))()`)) as { firstBook: number; domContentLoaded: number };
        times.push(measured);
        await context.close();
      }
    } finally {
      await close();
    }
    const firstBook = times.map((t) => t.firstBook);
    console.log(`\nnavigation → first book render, ${LOADS} cold loads (ms):`);
    console.log(`  ${firstBook.map((t) => t.toFixed(0)).join(", ")}`);
    console.log(
      `  median ${median(firstBook).toFixed(0)} ms (min ${Math.min(...firstBook).toFixed(0)}, max ` +
        `${Math.max(...firstBook).toFixed(0)}); DOMContentLoaded median ` +
        `${median(times.map((t) => t.domContentLoaded)).toFixed(0)} ms (target first book ≤ ${TARGET.firstBookMs} ms)`,
    );
    const ok = total <= TARGET.gzipBytes && median(firstBook) <= TARGET.firstBookMs;
    console.log(`\n${ok ? "both targets met" : "a target was MISSED"}; load average now ${load()}`);
    return 0;
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:app: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
