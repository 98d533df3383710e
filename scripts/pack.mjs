#!/usr/bin/env node
// Packs the installable tarballs (`npm pack`): the main package `chromalite` and the per-platform packages
// `chromalite-<platform>` (napi-rs layout: npm/<platform>/package.json, created by `napi create-npm-dirs`).
//
//   node scripts/pack.mjs [--out DIR] [--all]
//
// Default: the main package plus this machine's platform package. --all: every platform in napi.targets
// (the release job, after `npm run artifacts` has put each CI-built .node into npm/<platform>/).
// Never builds anything: it needs dist/ (npm run build:js) and the .node files, from npm/<platform>/ or,
// for this machine, native/ (npm run build:native). Tarballs are packed from a staging copy with
// --ignore-scripts, so the `prepare` source build does not run.
//
// Version wiring: every platform package gets the root package.json version, and the main package's
// optionalDependencies pin each platform package to exactly that version. (They are added here rather than
// committed in package.json: in the repository, unpublished platform packages would put package-lock.json
// out of sync and break `npm ci`.) Writes DIR/pack-manifest.json and prints each tarball with its size.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { parseTriple } from "@napi-rs/cli";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const out = resolve(outIndex >= 0 ? args[outIndex + 1] ?? "" : join(root, "packed"));
const all = args.includes("--all");

const fail = (message) => {
  console.error(`pack: ${message}`);
  process.exit(1);
};
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

const rootPkg = readJson(join(root, "package.json"));
const { name, version } = rootPkg;
const binaryName = rootPkg.napi?.binaryName ?? name;
const targets = (rootPkg.napi?.targets ?? []).map((triple) => parseTriple(triple));
if (targets.length === 0) fail("package.json has no napi.targets");

// This machine's platform, as the loader (js/src/native.ts) computes it.
function hostAbi() {
  const { platform, arch } = process;
  if (platform === "linux") {
    const report = process.report?.getReport?.();
    const musl = !report?.header?.glibcVersionRuntime;
    return `linux-${arch}-${musl ? "musl" : "gnu"}`;
  }
  if (platform === "win32") return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

const wanted = all ? targets : targets.filter((t) => t.platformArchABI === hostAbi());
if (wanted.length === 0) {
  fail(`this machine (${hostAbi()}) is not in napi.targets (${targets.map((t) => t.platformArchABI).join(", ")})`);
}

for (const file of ["dist/index.js", "dist/index.cjs", "dist/index.d.ts", "dist/index.d.cts", "README.md", "LICENSE"]) {
  if (!existsSync(join(root, file))) fail(`${file} is missing (run \`npm run build:js\` first)`);
}
mkdirSync(out, { recursive: true });
const stage = mkdtempSync(join(tmpdir(), "chromalite-pack-"));

/** `npm pack` of a staged directory into `out`; returns npm's JSON report for it. */
function npmPack(dir) {
  const json = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", out], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    shell: process.platform === "win32",
  });
  return JSON.parse(json)[0];
}

const packed = [];
try {
  // Platform packages.
  for (const target of wanted) {
    const abi = target.platformArchABI;
    const npmDir = join(root, "npm", abi);
    const nodeFile = `${binaryName}.${abi}.node`;
    if (!existsSync(join(npmDir, "package.json"))) fail(`npm/${abi}/package.json is missing (run \`npm run create-npm-dirs\`)`);
    const source = [join(npmDir, nodeFile), join(root, "native", nodeFile)].find((path) => existsSync(path));
    if (!source) fail(`${nodeFile} is in neither npm/${abi}/ (npm run artifacts) nor native/ (npm run build:native)`);
    const pkg = readJson(join(npmDir, "package.json"));
    if (pkg.name !== `${name}-${abi}`) fail(`npm/${abi}/package.json is named ${pkg.name}, expected ${name}-${abi}`);
    if (pkg.main !== nodeFile) fail(`npm/${abi}/package.json main is ${pkg.main}, expected ${nodeFile}`);
    pkg.version = version;
    pkg.files = [nodeFile];
    const dir = join(stage, abi);
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
    cpSync(source, join(dir, nodeFile));
    for (const file of ["README.md"]) if (existsSync(join(npmDir, file))) cpSync(join(npmDir, file), join(dir, file));
    cpSync(join(root, "LICENSE"), join(dir, "LICENSE"));
    packed.push({ kind: "platform", abi, source: relative(root, source), ...npmPack(dir) });
  }

  // Main package: compiled JS, types (the loader is bundled in dist/), README, LICENSE.
  const main = { ...rootPkg };
  delete main.scripts;
  delete main.devDependencies;
  delete main.napi;
  main.files = ["dist"];
  main.optionalDependencies = Object.fromEntries(targets.map((t) => [`${name}-${t.platformArchABI}`, version]));
  if (Object.keys(main.dependencies ?? {}).length > 0) {
    console.error(`pack: note: chromalite has runtime dependencies (${Object.keys(main.dependencies).join(", ")}); offline installs need them cached`);
  }
  const dir = join(stage, "main");
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(main, null, 2)}\n`);
  cpSync(join(root, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(root, "README.md"), join(dir, "README.md"));
  cpSync(join(root, "LICENSE"), join(dir, "LICENSE"));
  const mainReport = npmPack(dir);
  const allowed = /^(package\.json|README\.md|LICENSE|dist\/index\.(js|cjs|d\.ts|d\.cts)(\.map)?)$/;
  const unexpected = mainReport.files.map((f) => f.path).filter((path) => !allowed.test(path));
  if (unexpected.length > 0) fail(`the main package would ship unexpected files: ${unexpected.join(", ")}`);
  packed.unshift({ kind: "main", ...mainReport });
} finally {
  rmSync(stage, { recursive: true, force: true });
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const manifest = packed.map((p) => ({
  kind: p.kind,
  name: p.name,
  version: p.version,
  tarball: join(out, p.filename),
  size: p.size,
  unpackedSize: p.unpackedSize,
  files: p.files.map((f) => f.path),
  ...(p.abi ? { abi: p.abi, source: p.source } : {}),
}));
writeFileSync(join(out, "pack-manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
for (const p of manifest) {
  console.log(`${p.tarball}  ${kib(p.size)} packed, ${kib(p.unpackedSize)} unpacked, ${p.files.length} files`);
}
