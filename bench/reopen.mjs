// Reopen time of a persistent collection: restored from its index snapshot versus rebuilt from the
// stored records (the snapshot removed), each measured to the first query answered, in one run.
// Usage: node bench/reopen.mjs [count=100000] [dimension=384]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { PersistentClient } from "../dist/index.js";

const [count = 100000, dimension = 384] = process.argv.slice(2).map(Number);
const path = mkdtempSync(join(tmpdir(), "chromalite-reopen-"));

let state = 12345;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const vector = () => Array.from({ length: dimension }, random);

async function firstQuery() {
  const start = performance.now();
  const client = PersistentClient({ path });
  const collection = await client.getCollection({ name: "reopen", embeddingFunction: null });
  const result = await collection.query({ queryEmbeddings: [vector()], nResults: 10, include: [] });
  const seconds = (performance.now() - start) / 1000;
  if (result.ids[0].length !== 10) throw new Error("query returned too few results");
  await client.close();
  return seconds;
}

try {
  const client = PersistentClient({ path });
  const collection = await client.createCollection({ name: "reopen", embeddingFunction: null });
  const loadStart = performance.now();
  for (let i = 0; i < count; i += 5000) {
    const n = Math.min(5000, count - i);
    await collection.add({ ids: Array.from({ length: n }, (_, j) => String(i + j)), embeddings: Array.from({ length: n }, vector) });
  }
  const loadSeconds = (performance.now() - loadStart) / 1000;
  await client.close();

  const restored = [];
  for (let pass = 0; pass < 3; pass++) restored.push(await firstQuery());
  const rebuilt = [];
  for (let pass = 0; pass < 2; pass++) {
    rmSync(join(path, "index"), { recursive: true, force: true });
    rebuilt.push(await firstQuery()); // its close writes the snapshot again
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`${count} x ${dimension}, persistent`);
  console.log(`initial load (vectors/s)            ${Math.round(count / loadSeconds)}`);
  console.log(`reopen + first query, snapshot (s)  ${median(restored).toFixed(2)}  (${restored.map((s) => s.toFixed(2)).join(", ")})`);
  console.log(`reopen + first query, rebuild (s)   ${median(rebuilt).toFixed(2)}  (${rebuilt.map((s) => s.toFixed(2)).join(", ")})`);
  console.log(`rebuild / snapshot                  ${(median(rebuilt) / median(restored)).toFixed(1)}x`);
} finally {
  rmSync(path, { recursive: true, force: true });
}
