// Where the fixed cost of one chromalite query goes: the addon's async round trip (count), a query through
// the raw native engine (no TypeScript layer), and through the public API, on a 100-record collection
// (exact path, negligible search) and on a graph-sized one. Medians of several passes.
// Usage: node bench/probe-overhead.mjs [n=20000] [dim=128]
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

import { EphemeralClient } from "../dist/index.js";

const require = createRequire(import.meta.url);
const { NativeEngine } = require("../native/index.cjs");
const [n = 20000, dim = 128] = process.argv.slice(2).map(Number);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const vec = (seed) => Float32Array.from({ length: dim }, (_, j) => Math.sin(seed * 7.3 + j));

async function timeIt(label, calls, fn, passes = 7) {
  const us = [];
  for (let p = 0; p < passes; p++) {
    const t = performance.now();
    for (let i = 0; i < calls; i++) await fn(i);
    us.push(((performance.now() - t) * 1000) / calls);
  }
  console.log(`${label.padEnd(64)} ${median(us).toFixed(1)} µs/call`);
  return median(us);
}

for (const size of [100, n]) {
  const client = EphemeralClient();
  const collection = await client.createCollection({ name: `p${size}`, embeddingFunction: null, configuration: { hnsw: { space: "l2", ef_search: 10 } } });
  for (let i = 0; i < size; i += 5000) {
    const m = Math.min(5000, size - i);
    await collection.add({ ids: Array.from({ length: m }, (_, j) => String(i + j)), embeddings: Array.from({ length: m }, (_, j) => vec(i + j)) });
  }
  const q = vec(0.5);
  console.log(`-- collection of ${size} (${size < 2048 ? "exact scan" : "graph, ef_search 10"})`);
  await timeIt("count() (async round trip through the addon)", 2000, () => collection.count());
  await timeIt("query, include [] (public API)", 2000, () => collection.query({ queryEmbeddings: [q], nResults: 10, include: [] }));
  await timeIt("query, default include (metadatas, documents, distances)", 2000, () => collection.query({ queryEmbeddings: [q], nResults: 10 }));
  await client.close?.();
}

// The raw addon, bypassing the TypeScript layer.
const engine = await NativeEngine.open(null);
const model = JSON.parse(await engine.createCollection("default_tenant", "default_database", JSON.stringify({ name: "raw", get_or_create: false, configuration: { hnsw: { space: "l2", ef_search: 10 } } })));
for (let i = 0; i < n; i += 5000) {
  const m = Math.min(5000, n - i);
  const flat = new Float32Array(m * dim);
  for (let j = 0; j < m; j++) flat.set(vec(i + j), j * dim);
  await engine.add(model.id, JSON.stringify({ ids: Array.from({ length: m }, (_, j) => String(i + j)) }), flat, dim);
}
const q = vec(0.5);
console.log(`-- raw NativeEngine, ${n} records (graph, ef_search 10)`);
await timeIt("engine.count (native, no TS)", 2000, () => engine.count(model.id));
// No filter (null), 10 results, include nothing (0): the query options cross as plain values.
await timeIt("engine.query (native, no TS)", 2000, () => engine.query(model.id, null, 10, 0, q, dim));
