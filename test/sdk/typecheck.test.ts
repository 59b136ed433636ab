/**
 * Compile-time checks, with the TypeScript compiler API:
 * - test/sdk/types.typetest.ts (misuse of the SDK that must not compile) under the project's
 *   tsconfig: any diagnostic fails, an unused `@ts-expect-error` included;
 * - every `@example` of the SDK's JSDoc and every TypeScript block of sdk/README.md, each compiled
 *   as a module of its own that imports "@crossbook/sdk", the way a dapp would (bundler module
 *   resolution, DOM and Node types): examples that no longer compile fail the test.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { markdownExamples } from "./examples";

const ROOT = join(__dirname, "..", "..");
const SDK = join(ROOT, "sdk", "src");

function format(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => {
    const where =
      d.file && d.start !== undefined
        ? `${relative(ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: `
        : "";
    return where + ts.flattenDiagnosticMessageText(d.messageText, "\n");
  });
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

/** Each `@example` block of a source file's JSDoc comments, as code. */
function jsdocExamples(file: string): { name: string; code: string }[] {
  const examples: { name: string; code: string }[] = [];
  for (const comment of readFileSync(file, "utf8").match(/\/\*\*[\s\S]*?\*\//g) ?? []) {
    const lines = comment.split("\n").map((line) => line.replace(/^\s*\*( |$)/, ""));
    const start = lines.findIndex((line) => line.trim() === "@example");
    if (start < 0) continue;
    const body: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (/^@\w+/.test(line.trim()) || line.trim() === "*/") break;
      body.push(line);
    }
    examples.push({ name: `${relative(ROOT, file)} example ${examples.length + 1}`, code: body.join("\n") });
  }
  return examples;
}

/** The SDK's public functions (the functions index.ts exports) that have no `@example`. */
function functionsWithoutExample(): string[] {
  const index = readFileSync(join(SDK, "index.ts"), "utf8");
  const missing: string[] = [];
  for (const [, names, from] of index.matchAll(/export \{([^}]*)\} from "([^"]+)"/g)) {
    const file = join(SDK, `${from}.ts`);
    const text = readFileSync(file, "utf8");
    for (const name of names.split(",").map((n) => n.trim())) {
      if (name === "" || name.startsWith("type ")) continue;
      const declaration = new RegExp(
        `(/\\*\\*(?:(?!\\*/)[\\s\\S])*\\*/\\s*)?export (?:async )?function ${name}\\b`,
      ).exec(text);
      if (declaration !== null && !declaration[1]?.includes("@example"))
        missing.push(`${relative(ROOT, file)}: ${name}`);
    }
  }
  return missing;
}

/** The diagnostics of `files` alone (not of everything they import), and the program's global ones. */
function diagnosticsOf(program: ts.Program, files: readonly string[]): readonly ts.Diagnostic[] {
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((file) => {
      const source = program.getSourceFile(file);
      if (source === undefined) return [];
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    }),
  ];
}

describe("sdk: type checks", function () {
  this.timeout(120_000);

  it("misuse in test/sdk/types.typetest.ts does not compile, exactly where marked", function () {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(ROOT, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => expect.fail(format([d]).join("\n")),
      },
    )!;
    const file = join(__dirname, "types.typetest.ts");
    const program = ts.createProgram([file], { ...config.options, noEmit: true });
    expect(format(diagnosticsOf(program, [file]))).to.deep.equal([]);
  });

  it("every public function of the SDK has an @example", function () {
    expect(functionsWithoutExample()).to.deep.equal([]);
  });

  it("every @example and every README TypeScript block compiles against the SDK", function () {
    const examples = [...sourceFiles(SDK).flatMap(jsdocExamples), ...markdownExamples(join(ROOT, "sdk", "README.md"))];
    expect(examples.length).to.be.greaterThan(30);
    const virtual = new Map<string, string>();
    examples.forEach(({ code }, i) => virtual.set(join(ROOT, "test", "sdk", `__example_${i}.ts`), code));
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
      types: ["node"],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      baseUrl: ROOT,
      paths: { "@crossbook/sdk": ["sdk/src/index.ts"] },
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
    host.readFile = (name) => virtual.get(name) ?? readFile.call(host, name);
    host.getSourceFile = (name, language, ...rest) => {
      const text = virtual.get(name);
      return text === undefined
        ? getSourceFile.call(host, name, language, ...rest)
        : ts.createSourceFile(name, text, language);
    };
    const program = ts.createProgram([...virtual.keys()], options, host);
    const names = new Map([...virtual.keys()].map((file, i) => [file, examples[i].name]));
    const problems = diagnosticsOf(program, [...virtual.keys()]).map((d) => {
      const [text] = format([d]);
      const name = d.file ? names.get(d.file.fileName) : undefined;
      return name === undefined ? text : `${name}: ${text.replace(/^[^:]*:\d+: /, "")}`;
    });
    expect(problems).to.deep.equal([]);
  });
});
