// Calls awaited one at a time while other processes keep the CPUs busy: the case where handing the JS
// thread's CPU to the lane (crates/node-binding/src/lane.rs) would wait for other processes' time slices.
// For 0, 1 × and 2 × as many busy processes as CPUs, runs `count()` and a query (100k × 128 clustered set,
// ef 56) awaited one at a time through the public API, in a fresh process per setting, with the lane on
// and off (`CHROMALITE_LANE=0`: the libuv pool), and prints the median µs per call over the passes.
// Usage: node bench/probe-contention.mjs [dataset=clustered-128-100000x128-q1000] [passes=3] [busy counts, e.g. 0,2,4]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus as cpuList } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { CACHE_DIR } from "./lib/data.mjs";

const [stem = "clustered-128-100000x128-q1000", passesArg = "3", busyArg] = process.argv.slice(2);

if (process.env.PROBE_CHILD) {
  // One setting, in this fresh process: prints `{ count, query }`, median µs per call.
  const { performance } = await import("node:perf_hooks");
  const dim = Number(stem.match(/-(\d+)x(\d+)/)[2]);
  const load = (suffix) => {
    const bytes = readFileSync(join(CACHE_DIR, `${stem}.${suffix}`));
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  };
  const base = load("base.f32");
  const queries = load("queries.f32");
  const { EphemeralClient } = await import("../dist/index.js");
  const collection = await EphemeralClient().createCollection({
    name: "contention",
    embeddingFunction: null,
    configuration: { hnsw: { space: "l2", max_neighbors: 16, ef_construction: 100, ef_search: 56 } },
  });
  for (let i = 0; i < base.length / dim; i += 5000) {
    const ids = [];
    const embeddings = [];
    for (let j = i; j < Math.min(base.length / dim, i + 5000); j++) {
      ids.push(String(j));
      embeddings.push(base.subarray(j * dim, (j + 1) * dim));
    }
    await collection.add({ ids, embeddings });
  }
  process.send("built");
  await new Promise((resolve) => process.once("message", resolve)); // the busy processes run now
  const calls = 500;
  const time = async (call) => {
    const t = performance.now();
    for (let i = 0; i < calls; i++) await call(i);
    return ((performance.now() - t) * 1000) / calls;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const count = [];
  const query = [];
  for (let p = 0; p < Number(passesArg); p++) {
    count.push(await time(() => collection.count()));
    query.push(await time((i) => collection.query({ queryEmbeddings: [queries.subarray((i % 1000) * dim, (i % 1000 + 1) * dim)], nResults: 10, include: [] })));
  }
  process.send({ count: median(count), query: median(query) });
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const cpus = availableParallelism();

/** Runs one setting: `busy` busy-looping processes while a fresh child measures, lane on or off. */
async function measure(busy, lane) {
  const child = spawn(process.execPath, [self, stem, passesArg], {
    env: { ...process.env, PROBE_CHILD: "1", CHROMALITE_LANE: lane ? "1" : "0" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = () => new Promise((resolve) => child.once("message", resolve));
  await next(); // built
  const loops = Array.from({ length: busy }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  await new Promise((resolve) => setTimeout(resolve, 500));
  child.send("go");
  const result = await next();
  for (const loop of loops) loop.kill("SIGKILL");
  return result;
}

const rows = [];
for (const busy of busyArg ? busyArg.split(",").map(Number) : [0, cpus, 2 * cpus]) {
  const on = await measure(busy, true);
  const off = await measure(busy, false);
  rows.push(`| ${busy} | ${on.count.toFixed(1)} | ${off.count.toFixed(1)} | ${on.query.toFixed(1)} | ${off.query.toFixed(1)} |`);
}
console.log(`${stem}, ${cpus} CPUs (${cpuList()[0]?.model ?? "unknown model"}), median µs per call awaited one at a time over ${passesArg} passes of 500\n`);
console.log("| busy processes | count(), lane | count(), pool | query, lane | query, pool |");
console.log("|---|---|---|---|---|");
for (const row of rows) console.log(row);
