/**
 * `npm run bench:bundle`: builds the SDK package (sdk/dist, as `npm pack` would) and reports what a
 * browser app ships when it imports the whole SDK and when it imports only `hashOrder` and
 * `signOrder`: minified and gzipped bytes, viem excluded (scripts/lib/bundle-size.ts). Sizes do not
 * depend on the machine's speed or load: one run is the figure.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { measureBundles } from "./lib/bundle-size";

const ROOT = join(__dirname, "..");

async function main() {
  execFileSync("npm", ["run", "build", "--silent", "-w", "@crossbook/sdk"], { cwd: ROOT, stdio: "ignore" });
  const sizes = await measureBundles(ROOT); // node_modules/@crossbook/sdk → sdk/, its `exports` → dist/
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const whole = sizes["the whole SDK"];
  console.log("app                      minified    gzip   share of the whole (gzip)");
  for (const [app, size] of Object.entries(sizes)) {
    const share = `${((100 * size.gzip) / whole.gzip).toFixed(0)}%`;
    console.log(`${app.padEnd(24)} ${kb(size.minified).padStart(9)} ${kb(size.gzip).padStart(8)}   ${share}`);
  }
  for (const [app, size] of Object.entries(sizes)) {
    const top = size.inputs.slice(0, 5).map(([file, bytes]) => `${file} ${kb(bytes)}`);
    console.log(`\n${app}, largest inputs (minified): ${top.join(", ")}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
