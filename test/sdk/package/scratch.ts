/**
 * A scratch project outside the repository that installs the packed SDK as a dapp would, offline.
 *
 * `npm install --offline` cannot resolve `viem@2.x` by itself: it needs the registry's package
 * metadata, which `npm ci` does not keep in the cache (only the tarballs). So the scratch project
 * gets a lock file: the SDK's tarball (`file:`), and the repository's own lock entries for every
 * package the SDK and the scratch code need (the closure of their dependencies, at the same paths,
 * versions and integrity). `npm ci --offline` then installs exactly those from npm's cache — the
 * tarballs that installed this repository — without touching the network.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(__dirname, "..", "..", "..");

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [flag: string]: unknown;
}

/** Runs a command, failing with its output when it fails; returns its standard output. */
export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
  }
}

/** The path at which a package at `from` finds `name`, Node's way (nearest `node_modules` first). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let base = from; ;) {
    const candidate = `${base === "" ? "" : `${base}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === "") return undefined;
    const at = base.lastIndexOf("/node_modules/");
    base = at < 0 ? "" : base.slice(0, at);
  }
}

/** The lock entries of `roots` and of everything they depend on, from the repository's lock. */
function lockClosure(roots: readonly string[]): Record<string, LockEntry> {
  const packages = (
    JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    }
  ).packages;
  const closure: Record<string, LockEntry> = {};
  const visit = (path: string) => {
    if (closure[path] !== undefined) return;
    // Here a dev or peer package of the repository; in the scratch project, one of its own.
    const { dev, devOptional, peer, ...entry } = packages[path];
    void [dev, devOptional, peer];
    closure[path] = entry;
    const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional);
    const needed = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !optionalPeers.some(([n]) => n === name)),
    ];
    for (const name of needed) {
      const found = resolveIn(packages, path, name);
      if (found !== undefined) visit(found);
      else if (entry.optionalDependencies?.[name] === undefined)
        throw new Error(`${path} needs ${name}: not in the lock`);
    }
  };
  for (const root of roots) visit(`node_modules/${root}`);
  return closure;
}

export interface Scratch {
  dir: string;
  tarball: string;
  /** The files of the tarball, as `npm pack` listed them. */
  packedFiles: string[];
}

/**
 * Packs the SDK (its `prepack` builds dist/), and installs the tarball with `dependencies` (names
 * of packages this repository has installed) into a new directory in the OS's temp directory.
 */
export function packAndInstall(dependencies: readonly string[]): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "crossbook-sdk-scratch-"));
  // The build's output comes first (prepack), then npm's JSON report.
  const output = run("npm", ["pack", "--json", "--pack-destination", dir], join(ROOT, "sdk"));
  const packed = JSON.parse(output.slice(output.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  const tarball = packed[0].filename;
  if (!readdirSync(dir).includes(tarball)) throw new Error(`npm pack wrote no ${tarball} in ${dir}`);

  const sdkManifest = JSON.parse(readFileSync(join(ROOT, "sdk", "package.json"), "utf8")) as LockEntry & {
    name: string;
  };
  const closure = lockClosure([...Object.keys(sdkManifest.dependencies ?? {}), ...dependencies]);
  const rootDeps: Record<string, string> = { "@crossbook/sdk": `file:${tarball}` };
  for (const name of dependencies) rootDeps[name] = closure[`node_modules/${name}`].version!;
  const integrity = `sha512-${createHash("sha512")
    .update(readFileSync(join(dir, tarball)))
    .digest("base64")}`;
  const lock = {
    name: "scratch",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "scratch", dependencies: rootDeps },
      "node_modules/@crossbook/sdk": {
        version: sdkManifest.version,
        resolved: `file:${tarball}`,
        integrity,
        license: sdkManifest.license,
        dependencies: sdkManifest.dependencies,
        peerDependencies: sdkManifest.peerDependencies,
        peerDependenciesMeta: sdkManifest.peerDependenciesMeta,
      },
      ...closure,
    },
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scratch", private: true, dependencies: rootDeps }));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2));
  run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], dir);
  return { dir, tarball, packedFiles: packed[0].files.map((f) => f.path).sort() };
}
