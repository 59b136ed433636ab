/**
 * The SDK runs in a browser as well as in Node: esbuild bundles sdk/src/index.ts for the browser
 * platform, where any import of a Node built-in (`node:crypto`, `fs`, …) fails to resolve; and no
 * SDK source uses Node's globals (`Buffer`, `process`, `require`, `__dirname`), which a bundler lets
 * through but a browser does not have.
 */
import { expect } from "chai";
import { build, type BuildFailure } from "esbuild";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const SDK = join(__dirname, "..", "..", "sdk", "src");

/** Bundles `contents` (resolved from sdk/src) for the browser; the error texts, or [] when it builds. */
async function browserBuildErrors(contents: string): Promise<string[]> {
  try {
    await build({
      stdin: { contents, resolveDir: SDK, sourcefile: "entry.ts", loader: "ts" },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    return [];
  } catch (error) {
    return (error as BuildFailure).errors.map((e) => `${e.location?.file ?? "?"}: ${e.text}`);
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The code of a TypeScript source without its comments and string literals (roughly, but enough here). */
function codeOnly(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
}

describe("sdk: browser bundle", function () {
  this.timeout(60_000);

  it("bundles sdk/src/index.ts for the browser platform with no Node built-in import", async function () {
    expect(await browserBuildErrors(`export * from "./index";`)).to.deep.equal([]);
  });

  it("would fail on a Node built-in import (the check above can fail)", async function () {
    for (const builtin of ["node:crypto", "fs", "node:buffer"]) {
      const errors = await browserBuildErrors(`import "${builtin}";\nexport * from "./index";`);
      expect(errors.join("\n"), builtin).to.match(new RegExp(`Could not resolve "${builtin}"`));
    }
  });

  it("uses none of Node's globals in any SDK source file", function () {
    const offenders = sourceFiles(SDK).flatMap((file) => {
      const found = codeOnly(readFileSync(file, "utf8")).match(
        /\b(Buffer|process|require|__dirname|__filename|global)\b/g,
      );
      return found === null ? [] : [`${relative(SDK, file)}: ${[...new Set(found)].join(", ")}`];
    });
    expect(offenders).to.deep.equal([]);
  });
});
