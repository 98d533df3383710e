#!/usr/bin/env bash
# Proof that `npm install chromalite` needs no Rust toolchain: packs the tarballs with scripts/pack.mjs
# (main package + this machine's platform package, from the existing dist/ and native/; nothing is
# rebuilt), installs them offline, with an empty npm cache, into an empty folder with cargo/rustc removed
# from PATH, then runs an ESM and a CommonJS script that add, query, close and reopen a PersistentClient.
# Ends with "install-test: N passed, N failed"; exits non-zero on any failure. Needs bash, node, npm.
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/chromalite-install-test-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "install-test: ok   - $1"; }
fail() { failed=$((failed + 1)); echo "install-test: FAIL - $1"; }
finish() {
  echo "install-test: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# 1. Pack (toolchain still on PATH, but packing only copies files and runs `npm pack --ignore-scripts`).
if node scripts/pack.mjs --out "$work/packs"; then pass "pack: tarballs built"; else fail "pack: scripts/pack.mjs failed"; finish; fi
manifest="$work/packs/pack-manifest.json"
field() { node -e 'const p = require(process.argv[1]).find((p) => p.kind === process.argv[2]); const v = p[process.argv[3]]; console.log(Array.isArray(v) ? v.join(" ") : v)' "$manifest" "$@"; }
tarballs=()
while IFS= read -r line; do tarballs+=("$line"); done < <(node -e 'for (const p of require(process.argv[1])) console.log(p.tarball)' "$manifest")
platform_pkg=$(field platform name)
echo "install-test: sizes: chromalite $(field main size) bytes packed / $(field main unpackedSize) unpacked;" \
  "$platform_pkg $(field platform size) bytes packed / $(field platform unpackedSize) unpacked"

# 2. The main package ships only compiled JS, types, README, LICENSE (no Rust, tests, benchmarks, binaries).
bad=$(node -e 'const m = require(process.argv[1]).find((p) => p.kind === "main");
  console.log(m.files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/index\.(js|cjs|d\.ts|d\.cts))$/.test(f)).join(" "))' "$manifest")
if [ -z "$bad" ]; then pass "main package contents: $(field main files)"; else fail "main package ships: $bad"; fi

# 3. A PATH without the Rust toolchain (every directory holding cargo, rustc or rustup is dropped).
clean_path=""
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [ -n "$dir" ] || continue
  for tool in cargo rustc rustup cargo.exe rustc.exe rustup.exe; do [ -e "$dir/$tool" ] && continue 2; done
  clean_path="${clean_path:+$clean_path:}$dir"
done
run_clean() { env -u CARGO_HOME -u RUSTUP_HOME -u CARGO -u RUSTC PATH="$clean_path" "$@"; }
if run_clean bash -c '! command -v cargo && ! command -v rustc' >/dev/null; then pass "no cargo/rustc on the install PATH"
else fail "cargo or rustc still on the stripped PATH: $(run_clean bash -c 'command -v cargo rustc')"; fi
if ! run_clean bash -c 'command -v node && command -v npm' >/dev/null; then
  fail "node/npm not found once the Rust directories are dropped from PATH"; finish
fi

# 4. npm install --offline of the tarballs into an empty folder (its own package.json), empty npm cache.
app="$work/app"
mkdir -p "$app"
printf '{ "name": "chromalite-install-test", "version": "1.0.0", "private": true }\n' >"$app/package.json"
if (cd "$app" && run_clean npm install --offline --cache "$work/npm-cache" --no-audit --no-fund --loglevel=error "${tarballs[@]}") >"$work/install.log" 2>&1; then
  pass "npm install --offline of ${#tarballs[@]} tarballs"
else
  cat "$work/install.log"; fail "npm install --offline"; finish
fi
if [ -e "$app/node_modules/$platform_pkg/package.json" ] && [ ! -e "$app/node_modules/chromalite/native" ]; then
  pass "installed layout: node_modules/chromalite (no native/) + node_modules/$platform_pkg"
else
  fail "installed layout: $(ls "$app/node_modules" | tr '\n' ' ')"
fi
deps=$(node -e 'const p = require(process.argv[1]); const o = p.optionalDependencies || {};
  console.log(Object.keys(p.dependencies || {}).length, Object.keys(o).length, Object.values(o).filter((v) => v !== p.version).length)' \
  "$app/node_modules/chromalite/package.json")
ntargets=$(node -p 'require("./package.json").napi.targets.length')
if [ "$deps" = "0 $ntargets 0" ]; then pass "installed chromalite: no runtime dependencies, $ntargets optionalDependencies pinned to its version"
else fail "installed chromalite dependencies (runtime, optional, not exact) = $deps, expected 0 $ntargets 0"; fi

# 5. The same scenario from ESM and CommonJS.
body='
const checks = [];
const check = (ok, what) => { if (!ok) throw new Error("check failed: " + what); checks.push(what); };
const dir = mkdtempSync(join(tmpdir(), "chromalite-install-db-"));
try {
  let client = PersistentClient({ path: dir });
  let col = await client.getOrCreateCollection({ name: "docs", embeddingFunction: null });
  await col.add({
    ids: ["a", "b", "c"],
    embeddings: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    documents: ["about cats", "about dogs", "about birds"],
    metadatas: [{ kind: "pet" }, { kind: "pet" }, { kind: "wild" }],
  });
  let res = await col.query({ queryEmbeddings: [[0.9, 0.1, 0]], nResults: 2, where: { kind: "pet" } });
  check(JSON.stringify(res.ids) === JSON.stringify([["a", "b"]]), "query before close returns [[a, b]], got " + JSON.stringify(res.ids));
  await client.close();

  client = PersistentClient({ path: dir });
  col = await client.getCollection({ name: "docs", embeddingFunction: null });
  check((await col.count()) === 3, "count after reopen is 3");
  res = await col.query({ queryEmbeddings: [[0, 0.2, 0.9]], nResults: 1 });
  check(res.ids[0][0] === "c" && res.documents[0][0] === "about birds", "query after reopen returns c / about birds");
  await client.close();

  if (process.platform === "linux") {
    const maps = readFileSync("/proc/self/maps", "utf8");
    check(maps.includes("/node_modules/" + PLATFORM_PKG + "/"), "addon mapped from node_modules/" + PLATFORM_PKG);
  }
  console.log(MODE + ": " + checks.length + " checks ok (chromalite " + getVersion() + ")");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
'
{
  echo 'import { PersistentClient, getVersion } from "chromalite";'
  echo 'import { mkdtempSync, readFileSync, rmSync } from "node:fs";'
  echo 'import { tmpdir } from "node:os";'
  echo 'import { join } from "node:path";'
  echo "const MODE = \"esm\", PLATFORM_PKG = \"$platform_pkg\";"
  echo "$body"
} >"$app/test.mjs"
{
  echo 'const { PersistentClient, getVersion } = require("chromalite");'
  echo 'const { mkdtempSync, readFileSync, rmSync } = require("node:fs");'
  echo 'const { tmpdir } = require("node:os");'
  echo 'const { join } = require("node:path");'
  echo "const MODE = \"cjs\", PLATFORM_PKG = \"$platform_pkg\";"
  echo "(async () => {"
  echo "$body"
  echo "})().catch((error) => { console.error(error); process.exit(1); });"
} >"$app/test.cjs"
for script in test.mjs test.cjs; do
  if (cd "$app" && run_clean node "$script"); then pass "$script: PersistentClient add, query, close, reopen, query"
  else fail "$script: PersistentClient add, query, close, reopen, query"; fi
done

# 6. Without the platform package, the loader says what it looked for and why it failed.
mv "$app/node_modules/$platform_pkg" "$work/moved-platform-pkg"
msg=$(cd "$app" && run_clean node -e 'require("chromalite").engineVersion()' 2>&1)
mv "$work/moved-platform-pkg" "$app/node_modules/$platform_pkg"
missing=""
for needle in "platform: $(node -p process.platform)" "arch: $(node -p process.arch)" "libc: " "tried:" \
  "package $platform_pkg" "not installed" "chromalite.$(field platform abi).node"; do
  case "$msg" in *"$needle"*) ;; *) missing="$missing [$needle]" ;; esac
done
if [ -z "$missing" ]; then pass "platform package missing: loader error names platform, arch, libc and what it tried"
else echo "$msg"; fail "loader error lacks:$missing"; fi

finish
