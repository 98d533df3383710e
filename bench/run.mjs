#!/usr/bin/env node
// The benchmark of the performance issue: chromalite against hnswlib-node (C++ hnswlib, Chroma's index),
// usearch, the official Chroma server over HTTP (when available) and brute force, on the same data with the
// same parameters (M = 16, ef_construction = 100, l2, k = 10), every engine in a fresh child process.
//
//   node bench/run.mjs            full: fashion-mnist 60k×784, clustered 100k×128 and 100k×384 (≈15–20 min)
//   node bench/run.mjs --quick    clustered 30k×128 + fashion-mnist 20k, 300 queries (< 2 min once cached)
// Options: --only=<dataset name> --no-server --passes=N --no-write
// Chroma server: CHROMA_SERVER_URL=http://127.0.0.1:8000, or a `chroma` executable in CHROMA_BIN or
// bench/.venv/bin/chroma (started on 127.0.0.1 for the run, stopped with SIGINT). See bench/README.md.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { statSync } from "node:fs";
import { join } from "node:path";

import { BENCH_DIR, CACHE_DIR, K, loadDataset, specs } from "./lib/data.mjs";
import { renderMarkdown } from "./lib/report.mjs";

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? true];
  }),
);
const quick = args.has("quick");
const passes = Number(args.get("passes") ?? 3);
const efs = quick ? [10, 20, 40, 80, 160] : [10, 12, 16, 20, 24, 32, 40, 48, 56, 64, 80, 96, 128, 192, 256];
const started = Date.now();
const loadStart = loadavg()[0];
const log = (m) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);

/**
 * Turns for workers that run side by side: one worker at a time holds the turn, the others wait, first come
 * first served (see `turn` in lib/worker.mjs). A worker that exits gives its turn up.
 */
function turnstile() {
  const waiting = [];
  let holder = null;
  const next = () => {
    while (!holder && waiting.length) {
      holder = waiting.shift();
      if (holder.connected) holder.send("granted");
      else holder = null;
    }
  };
  return (child) => {
    child.on("message", (m) => {
      if (m === "acquire") waiting.push(child);
      else if (m === "release" && holder === child) holder = null;
      next();
    });
    child.on("exit", () => {
      if (holder === child) holder = null;
      waiting.splice(0, waiting.length, ...waiting.filter((c) => c !== child));
      next();
    });
  };
}

function runWorker(task, options, admit = turnstile()) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", join(BENCH_DIR, "lib", "worker.mjs"), task, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    admit(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!quick) process.stderr.write(d);
    });
    // Bounded: no worker may run longer than 30 minutes (side by side, a worker waits for the others' turns).
    const timer = setTimeout(() => child.kill("SIGKILL"), 30 * 60 * 1000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
      if (!line) {
        log(`  ${task} failed (exit ${code}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
        resolve({ task, error: stderr.trim().split("\n").slice(-3).join(" ") });
      } else resolve(JSON.parse(line.slice(7)));
    });
  });
}

function memoryBandwidth() {
  try {
    const exe = join(CACHE_DIR, "membw");
    if (!existsSync(exe)) {
      execFileSync("cc", ["-O3", "-march=native", "-ffast-math", "-pthread", join(BENCH_DIR, "lib", "membw.c"), "-o", exe]);
    }
    const lines = execFileSync(exe, { encoding: "utf8" }).trim().split("\n");
    return Object.fromEntries(lines.map((l) => l.split(" ").map(Number)));
  } catch (e) {
    log(`memory bandwidth probe unavailable: ${e.message}`);
    return null;
  }
}

async function startServer() {
  if (args.has("no-server")) return null;
  if (process.env.CHROMA_SERVER_URL) return { url: process.env.CHROMA_SERVER_URL, stop: async () => {} };
  const bin = [process.env.CHROMA_BIN, join(BENCH_DIR, ".venv", "bin", "chroma")].find((p) => p && existsSync(p));
  if (!bin) {
    log("Chroma server: not available (set CHROMA_SERVER_URL or CHROMA_BIN, or see bench/README.md); skipped");
    return null;
  }
  const port = 18000 + Math.floor(Math.random() * 1000);
  const path = mkdtempSync(join(tmpdir(), "chroma-server-"));
  const child = spawn(bin, ["run", "--host", "127.0.0.1", "--port", String(port), "--path", path], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill("SIGINT"); // it hangs on SIGTERM
    await Promise.race([new Promise((r) => child.once("exit", r)), new Promise((r) => setTimeout(r, 10000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(path, { recursive: true, force: true });
  };
  for (let i = 0; i < 60; i++) {
    try {
      const r = await fetch(`${url}/api/v2/heartbeat`);
      if (r.ok) {
        log(`Chroma server started: ${bin} on ${url}`);
        return { url, stop, bin };
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  log("Chroma server did not come up in 30 s; skipped");
  await stop();
  return null;
}

function serverVersion(server) {
  if (!server?.bin) return null;
  try {
    return execFileSync(server.bin.replace(/chroma$/, "python"), ["-c", "import chromadb; print(chromadb.__version__)"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

if (args.has("render-only")) {
  // Re-render RESULTS.md and the plots from the last saved results of this mode.
  const saved = JSON.parse(readFileSync(join(CACHE_DIR, `results-${quick ? "quick" : "full"}.json`), "utf8"));
  writeSection(saved);
  process.exit(0);
}

const selected = specs(quick).filter((s) => !args.has("only") || s.name === args.get("only"));
mkdirSync(CACHE_DIR, { recursive: true });
log(`mode ${quick ? "quick" : "full"}, ${passes} passes per point, ef_search sweep ${efs.join(",")}`);
const bandwidth = memoryBandwidth();
log(`memory read bandwidth: ${bandwidth ? `${bandwidth[1]} GB/s (1 thread), ${bandwidth[2]} GB/s (2 threads)` : "n/a"}`);
const server = await startServer();
const results = [];
try {
  for (const spec of selected) {
    await loadDataset(spec, log); // generate + ground truth once, cached
    const options = { spec, efs, passes, quick, serverUrl: server?.url, serverQueries: quick ? 100 : 300, filterQueries: quick ? 300 : 500, serverEfs: [10, 20, 40, 80, 160] };
    // The three in-process engines run side by side, taking turns (one build or timed pass at a time), so
    // that their QPS ratios compare passes run close together in time; the rest run one after another.
    const sideBySide = ["chromalite", "hnswlib", "usearch"];
    const tasks = ["chromalite-filter", "chromalite-disk", "brute"];
    if (server) tasks.push("server");
    const entry = { spec, runs: {} };
    log(`${spec.name}: ${sideBySide.join(", ")} (side by side, taking turns)`);
    const admit = turnstile();
    const runs = await Promise.all(sideBySide.map((task) => runWorker(task, options, admit)));
    sideBySide.forEach((task, i) => (entry.runs[task] = runs[i]));
    for (const task of tasks) {
      log(`${spec.name}: ${task}`);
      entry.runs[task] = await runWorker(task, options);
    }
    results.push(entry);
    // Partial results survive an interrupted run.
    writeFileSync(join(CACHE_DIR, `results-${quick ? "quick" : "full"}.partial.json`), JSON.stringify(results));
  }
} finally {
  await server?.stop();
}

const cpu = cpus();
const flags = readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
const packageVersion = (p) => {
  try {
    return JSON.parse(readFileSync(join(BENCH_DIR, "node_modules", p, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
};
const machine = {
  cpu: `${cpu.length} × ${cpu[0]?.model}`,
  simd: ["avx512f", "avx2", "fma"].filter((f) => flags.includes(` ${f}`)).join(", "),
  memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  kernel: release(),
  bandwidth,
  load: [loadStart, loadavg()[0]],
  builds: ["native/chromalite.linux-x64-gnu.node", "dist/index.js"].map((f) => {
    try {
      return `${f} ${statSync(join(BENCH_DIR, "..", f)).mtime.toISOString()}`;
    } catch {
      return `${f} missing`;
    }
  }),
  versions: {
    "hnswlib-node": packageVersion("hnswlib-node"),
    usearch: packageVersion("usearch"),
    chromadb: packageVersion("chromadb"),
    server: serverVersion(server) ?? (server ? "external" : null),
  },
};
const report = { mode: quick ? "quick" : "full", command: `node bench/run.mjs${quick ? " --quick" : ""}`, passes, efs, k: K, machine, minutes: (Date.now() - started) / 60000, results };
writeFileSync(join(CACHE_DIR, `results-${report.mode}.json`), JSON.stringify(report, null, 1));
writeSection(report);
log(`done in ${report.minutes.toFixed(1)} min`);

function writeSection(report) {
const markdown = renderMarkdown(report, join(BENCH_DIR, "plots"));
if (!args.has("no-write")) {
  const file = join(BENCH_DIR, "RESULTS.md");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const start = `<!-- bench:${report.mode}:start -->`;
  const end = `<!-- bench:${report.mode}:end -->`;
  const block = `${start}\n${markdown}\n${end}`;
  let next;
  if (text.includes(start)) next = text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => block);
  else {
    // New sections go above the smoke benchmark, full before quick.
    const anchor = text.indexOf("## Smoke benchmark");
    next = anchor >= 0 ? `${text.slice(0, anchor)}${block}\n\n${text.slice(anchor)}` : `${text}\n${block}\n`;
  }
  writeFileSync(file, next);
  log(`wrote bench/RESULTS.md and bench/plots/`);
}
process.stdout.write(markdown + "\n");
}
