// A quick benchmark of chromalite against a plain JavaScript brute-force scan, measured in one run:
// insert throughput (in memory and persistent), single-query latency, QPS and recall@10 versus exact.
// Usage: node bench/smoke.mjs [count=20000] [dimension=128] [queries=500]
// The full benchmark against hnswlib-node, usearch and the Chroma server is a separate, larger job.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { EphemeralClient, PersistentClient } from "../dist/index.js";

const [count = 20000, dimension = 128, queryCount = 500] = process.argv.slice(2).map(Number);
const k = 10;

/** Seeded Gaussian-mixture vectors: 50 clusters, unit spread. */
function clustered(n, seed) {
  let state = seed >>> 0 || 1;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const centres = Array.from({ length: 50 }, () => Array.from({ length: dimension }, () => gaussian() * 4));
  return Array.from({ length: n }, () => {
    const c = centres[Math.floor(uniform() * centres.length)];
    return c.map((x) => x + gaussian());
  });
}

function bruteForce(data, query) {
  const scored = data.map((v, i) => {
    let d = 0;
    for (let j = 0; j < v.length; j++) d += (v[j] - query[j]) ** 2;
    return [d, i];
  });
  scored.sort((a, b) => a[0] - b[0]);
  return scored.slice(0, k).map(([, i]) => i);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function load(client, data) {
  const collection = await client.createCollection({ name: `bench-${Date.now()}`, embeddingFunction: null });
  const start = performance.now();
  for (let i = 0; i < data.length; i += 5000) {
    const batch = data.slice(i, i + 5000);
    await collection.add({ ids: batch.map((_, j) => String(i + j)), embeddings: batch });
  }
  return { collection, seconds: (performance.now() - start) / 1000 };
}

// Queries come from the same mixture as the data (drawn together, then split).
const all = clustered(count + queryCount, 1);
const data = all.slice(0, count);
const queries = all.slice(count);
console.log(`data: ${count} x ${dimension} clustered, ${queryCount} queries, k=${k}`);

const memory = EphemeralClient();
const { collection, seconds: memorySeconds } = await load(memory, data);
const dir = mkdtempSync(join(tmpdir(), "chromalite-bench-"));
const persistent = PersistentClient({ path: dir });
const { seconds: diskSeconds } = await load(persistent, data);
await persistent.close();
rmSync(dir, { recursive: true, force: true });

const latencies = [];
let hits = 0;
const truth = queries.map((q) => bruteForce(data, q));
for (let q = 0; q < queries.length; q++) {
  const start = performance.now();
  const result = await collection.query({ queryEmbeddings: [queries[q]], nResults: k, include: [] });
  latencies.push(performance.now() - start);
  const expected = new Set(truth[q].map(String));
  hits += result.ids[0].filter((id) => expected.has(id)).length;
}
latencies.sort((a, b) => a - b);
const chromaliteQps = 1000 / (latencies.reduce((a, b) => a + b, 0) / latencies.length);

const bruteStart = performance.now();
const bruteQueries = Math.min(50, queries.length);
for (let q = 0; q < bruteQueries; q++) bruteForce(data, queries[q]);
const bruteQps = bruteQueries / ((performance.now() - bruteStart) / 1000);

const rows = [
  ["insert, in memory (vectors/s)", Math.round(count / memorySeconds)],
  ["insert, persistent (vectors/s)", Math.round(count / diskSeconds)],
  ["query p50 (ms)", percentile(latencies, 0.5).toFixed(3)],
  ["query p99 (ms)", percentile(latencies, 0.99).toFixed(3)],
  ["query QPS, one at a time", Math.round(chromaliteQps)],
  ["recall@10 vs exact", (hits / (queries.length * k)).toFixed(4)],
  ["brute force in JS (QPS)", bruteQps.toFixed(1)],
  ["ratio chromalite / JS brute force", (chromaliteQps / bruteQps).toFixed(1)],
];
for (const [label, value] of rows) console.log(`${label.padEnd(36)} ${value}`);
await memory.close();
