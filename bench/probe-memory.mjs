// Resident memory per vector after inserting through the public API, measured as bench/lib/worker.mjs
// does (RSS delta of this fresh process, after GC, from just before the client opens to just after the
// last batch), plus the split between V8 (heap, external, array buffers) and everything else (the addon's
// native memory). Batches of 5,000 like the benchmark. Also times the insert.
// Usage: node --expose-gc bench/probe-memory.mjs [dataset=clustered-128-100000x128-q1000] [batch=5000]
// The dataset name is a file stem in bench/.cache (`<stem>.base.f32`, dimension from the name).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setImmediate as tick } from "node:timers/promises";

import { CACHE_DIR } from "./lib/data.mjs";

const [stem = "clustered-128-100000x128-q1000", batchArg = "5000"] = process.argv.slice(2);
const BATCH = Number(batchArg);
const dim = Number(stem.match(/-(\d+)x(\d+)/)[2]);
const bytes = readFileSync(join(CACHE_DIR, `${stem}.base.f32`));
const base = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
const n = base.length / dim;
// Ideal: raw float32 vectors plus HNSW layer-0 links (count + 2M ids), e.g. 644 B at 128-d with M = 16.
const M = 16;
const ideal = dim * 4 + (1 + 2 * M) * 4;

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await tick();
  }
};
const snapshot = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};

const { EphemeralClient } = await import("../dist/index.js");
await settle();
const before = snapshot();
const client = EphemeralClient();
const collection = await client.createCollection({
  name: "probe",
  embeddingFunction: null,
  configuration: { hnsw: { space: "l2", max_neighbors: M, ef_construction: 100, ef_search: 100 } },
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < n; i += BATCH) {
  const end = Math.min(n, i + BATCH);
  const ids = [];
  const embeddings = [];
  for (let j = i; j < end; j++) {
    ids.push(String(j));
    embeddings.push(base.subarray(j * dim, (j + 1) * dim));
  }
  await collection.add({ ids, embeddings });
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await settle();
const after = snapshot();
const per = (key) => (after[key] - before[key]) / n;
const v8 = per("heapUsed") + per("external");
const result = {
  dataset: stem,
  n,
  dim,
  batch: BATCH,
  insertPerSecond: Math.round(n / seconds),
  // CPU time (all threads) per inserted vector: less sensitive than wall time to other load on the machine.
  insertCpuUs: +((cpu.user + cpu.system) / n).toFixed(1),
  rssPerVector: Math.round(per("rss")),
  ratioToIdeal: +(per("rss") / ideal).toFixed(3),
  ideal: Math.round(ideal),
  heapTotalPerVector: Math.round(per("heapTotal")),
  heapUsedPerVector: Math.round(per("heapUsed")),
  externalPerVector: Math.round(per("external")),
  arrayBuffersPerVector: Math.round(per("arrayBuffers")),
  // external includes arrayBuffers; heapUsed + external is what V8 accounts for.
  nativePerVector: Math.round(per("rss") - v8),
  tunables: process.env.GLIBC_TUNABLES ?? "",
};
console.log(`RESULT ${JSON.stringify(result)}`);
// Keeps the dataset alive to the end: freed earlier, it would hide its size from the RSS delta.
if (base[0] === 12345.678) console.log("");
await client.close?.();
