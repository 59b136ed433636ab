/**
 * The TypeScript snippets of the READMEs, for the tests that compile and run them (test/sdk/typecheck.test.ts
 * against sdk/src, test/sdk/package/package.test.ts against the installed package).
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** Each ```ts block of a Markdown file, named `<file> block <n>`. */
export function markdownExamples(file: string): { name: string; code: string }[] {
  const blocks = [...readFileSync(file, "utf8").matchAll(/```ts\n([\s\S]*?)```/g)];
  return blocks.map((match, i) => ({ name: `${relative(ROOT, file)} block ${i + 1}`, code: match[1] }));
}
