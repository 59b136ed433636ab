/**
 * A real headless Chromium for the browser tests and `npm run bench:app`: the binary that the
 * `@sparticuz/chromium` npm package ships (so `npm ci` is all a fresh clone needs; Playwright's own
 * browser download is unreachable here), driven by `playwright-core`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Chromium from "@sparticuz/chromium";
import { chromium, type Browser } from "playwright-core";

/**
 * Flags of `Chromium.args` that a test must not run with: they switch off the same-origin policy and
 * site isolation (a page that only works without CORS would pass), or force one process (made for
 * AWS Lambda; flaky with several pages).
 */
const DROPPED_FLAGS = new Set([
  "--disable-web-security",
  "--allow-running-insecure-content",
  "--disable-site-isolation-trials",
  "--single-process",
]);

/** A machine with no internet: nothing in the background may try to reach it. */
const CLOSED_NETWORK_FLAGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--no-first-run",
];

export interface LaunchedBrowser {
  readonly browser: Browser;
  /** Closes the browser and removes the binary it was unpacked into. */
  close(): Promise<void>;
}

/**
 * Unpacks the package's Chromium into a temporary directory of this process (the package unpacks
 * into `os.tmpdir()`: a private one keeps two test runs on one machine from racing over a
 * half-written binary) and launches it headless.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  const dir = mkdtempSync(join(tmpdir(), "crossbook-chromium-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", remove);
  const saved = process.env.TMPDIR;
  let executablePath: string;
  try {
    process.env.TMPDIR = dir;
    executablePath = await Chromium.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const args = [...Chromium.args.filter((flag) => !DROPPED_FLAGS.has(flag)), ...CLOSED_NETWORK_FLAGS];
  const browser = await chromium.launch({ executablePath, args, headless: true });
  return {
    browser,
    async close() {
      await browser.close();
      remove();
      process.off("exit", remove);
    },
  };
}
