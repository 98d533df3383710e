// One engine on one dataset, in a fresh process (so its RSS delta is clean). Prints `RESULT <json>`.
// Usage: node --expose-gc bench/lib/worker.mjs <task> <json options>
// Tasks: chromalite | chromalite-disk | chromalite-filter | hnswlib | usearch | brute | server
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setImmediate as tick } from "node:timers/promises";

import { K, SELECTIVITIES, bucketOf, loadDataset, recall } from "./data.mjs";

const require = createRequire(import.meta.url);
const [task, optionsJson] = process.argv.slice(2);
const opt = JSON.parse(optionsJson);
const ds = await loadDataset(opt.spec);
const { dim } = ds;
const n = ds.base.length / dim;
const Q = ds.queries.length / dim;
const row = (i) => ds.base.subarray(i * dim, (i + 1) * dim);
const query = (q) => ds.queries.subarray(q * dim, (q + 1) * dim);
const M = 16;
const EF_CONSTRUCTION = 100;
const BATCH = 5000;
const out = { task, dataset: ds.name, n, dim, queries: Q };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await tick();
  }
};
const rss = () => process.memoryUsage().rss;

/**
 * Runs `fn` in this worker's turn. bench/run.mjs runs the engines' workers side by side and grants one turn
 * at a time over IPC, first come first served, so that the engines' timed passes alternate and share the
 * machine's changing load alike. Without a parent channel (run by hand) `fn` runs at once.
 */
async function turn(fn) {
  if (!process.send) return fn();
  const granted = new Promise((resolve) => process.once("message", resolve));
  process.channel.ref();
  process.send("acquire");
  await granted;
  process.channel.unref();
  try {
    return await fn();
  } finally {
    process.send("release");
  }
}
process.channel?.unref();

/** Event-loop lag monitor: worst delay of a 2 ms interval timer beyond its period. */
function lagMonitor() {
  const period = 2;
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - period);
    last = now;
  }, period);
  return {
    stop() {
      clearInterval(timer);
      const now = performance.now();
      return Math.max(worst, now - last - period);
    },
  };
}

const TURN_QUERIES = 100;
const WARM_QUERIES = 10;

/**
 * Sweeps ef_search: per ef, `passes` passes over all queries one at a time; QPS = median over passes,
 * p50/p99 from the median pass, recall from the first pass. `search(q)` returns indices (maybe a Promise).
 */
async function sweep(efs, setEf, search, passes, isAsync) {
  const points = [];
  for (const ef of efs) {
    const runs = [];
    let found;
    let worstLag = 0;
    for (let p = 0; p < passes; p++) {
      const lat = new Float64Array(Q);
      const res = new Array(Q);
      let seconds = 0;
      let cpuUs = 0;
      // A pass is timed in turns of TURN_QUERIES queries, each after WARM_QUERIES untimed ones (the next
      // turn's), since another engine's turn may have run in between.
      for (let from = 0; from < Q; from += TURN_QUERIES) {
        await turn(async () => {
          if (p === 0 && from === 0) await setEf(ef);
          const to = Math.min(Q, from + TURN_QUERIES);
          for (let w = 0; w < Math.min(WARM_QUERIES, Q); w++) await search((to + w) % Q);
          const lag = lagMonitor();
          const cpu0 = process.cpuUsage();
          const t0 = performance.now();
          for (let q = from; q < to; q++) {
            const t = performance.now();
            res[q] = isAsync ? await search(q) : search(q);
            lat[q] = performance.now() - t;
          }
          seconds += (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          cpuUs += cpu.user + cpu.system;
          worstLag = Math.max(worstLag, lag.stop());
        });
        if (!isAsync) await tick();
      }
      if (!found) found = res;
      runs.push({ qps: Q / seconds, cpuUs: cpuUs / Q, lat: Array.from(lat).sort((a, b) => a - b) });
    }
    const qpsMedian = median(runs.map((r) => r.qps));
    const mid = runs.reduce((a, b) => (Math.abs(b.qps - qpsMedian) < Math.abs(a.qps - qpsMedian) ? b : a));
    points.push({
      ef,
      recall: recall(found, ds.gt[0]),
      qps: qpsMedian,
      qpsAll: runs.map((r) => Math.round(r.qps)),
      // CPU time (all threads of the process) per query: less sensitive to other load on a shared machine.
      cpuUs: median(runs.map((r) => r.cpuUs)),
      p50: pct(mid.lat, 0.5),
      p99: pct(mid.lat, 0.99),
      worstLagMs: worstLag,
    });
    process.stderr.write(`  ${task} ef=${ef} recall=${points.at(-1).recall.toFixed(4)} qps=${Math.round(qpsMedian)}\n`);
  }
  return points;
}
const ef95 = (points) => (points.find((p) => p.recall >= 0.95) ?? points.at(-1)).ef;

function dirSize(path) {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    total += e.isDirectory() ? dirSize(p) : statSync(p).size;
  }
  return total;
}

/** Runs `fn` `passes` times and returns the median of its QPS results. */
async function medianQps(passes, fn) {
  const xs = [];
  for (let p = 0; p < passes; p++) xs.push(await fn());
  return { qps: median(xs), qpsAll: xs.map(Math.round) };
}

const toIndices = (result) => result.ids[0].map(Number);
const HNSW_CONFIG = { space: "l2", max_neighbors: M, ef_construction: EF_CONSTRUCTION };

async function chromaliteAdd(collection, withMetadata) {
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const end = Math.min(n, i + BATCH);
    const ids = [];
    const embeddings = [];
    const metadatas = withMetadata ? [] : undefined;
    for (let j = i; j < end; j++) {
      ids.push(String(j));
      embeddings.push(row(j));
      metadatas?.push({ bucket: bucketOf(j) });
    }
    await collection.add({ ids, embeddings, metadatas });
  }
  return (performance.now() - t0) / 1000;
}

async function chromaliteBatch(collection, ef) {
  await collection.modify({ configuration: { hnsw: { ef_search: ef } } });
  const all = Array.from({ length: Q }, (_, q) => query(q));
  const result = {};
  // (a) all queries in one call (many queryEmbeddings)
  let lag = lagMonitor();
  result.oneCall = await medianQps(opt.passes, async () => {
    const t = performance.now();
    await collection.query({ queryEmbeddings: all, nResults: K, include: [] });
    return Q / ((performance.now() - t) / 1000);
  });
  result.oneCall.worstLagMs = lag.stop();
  // (b) two calls in flight, half of the queries each
  lag = lagMonitor();
  result.twoCalls = await medianQps(opt.passes, async () => {
    const t = performance.now();
    const h = Math.ceil(Q / 2);
    await Promise.all([all.slice(0, h), all.slice(h)].map((qs) => collection.query({ queryEmbeddings: qs, nResults: K, include: [] })));
    return Q / ((performance.now() - t) / 1000);
  });
  result.twoCalls.worstLagMs = lag.stop();
  // (c) 8 single-query calls in flight
  lag = lagMonitor();
  result.inFlight8 = await medianQps(opt.passes, async () => {
    const t = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < Q) {
          const q = next++;
          await collection.query({ queryEmbeddings: [all[q]], nResults: K, include: [] });
        }
      }),
    );
    return Q / ((performance.now() - t) / 1000);
  });
  result.inFlight8.worstLagMs = lag.stop();
  return result;
}

async function chromalite() {
  const { EphemeralClient } = await import("../../dist/index.js");
  const client = EphemeralClient();
  const collection = await turn(async () => {
    await settle();
    const rss0 = rss();
    const collection = await client.createCollection({
      name: "bench",
      embeddingFunction: null,
      configuration: { hnsw: { ...HNSW_CONFIG, ef_search: 100 } },
    });
    const lag = lagMonitor();
    out.buildSeconds = await chromaliteAdd(collection, false);
    out.buildLagMs = lag.stop();
    out.insertPerSecond = n / out.buildSeconds;
    await settle();
    out.rssDelta = rss() - rss0;
    return collection;
  });
  out.sweep = await sweep(
    opt.efs,
    (ef) => collection.modify({ configuration: { hnsw: { ef_search: ef } } }),
    async (q) => toIndices(await collection.query({ queryEmbeddings: [query(q)], nResults: K, include: [] })),
    opt.passes,
    true,
  );
  out.ef95 = ef95(out.sweep);
  out.batch = await turn(() => chromaliteBatch(collection, out.ef95));
  await client.close?.();
}

async function chromaliteDisk() {
  const { PersistentClient } = await import("../../dist/index.js");
  const path = mkdtempSync(join(tmpdir(), "chromalite-bench-"));
  try {
    let client = PersistentClient({ path });
    const collection = await client.createCollection({
      name: "bench",
      embeddingFunction: null,
      configuration: { hnsw: { ...HNSW_CONFIG, ef_search: 100 } },
    });
    out.buildSeconds = await chromaliteAdd(collection, false);
    out.insertPerSecond = n / out.buildSeconds;
    await client.close();
    out.diskBytes = dirSize(path);
    const t0 = performance.now();
    client = PersistentClient({ path });
    const reopened = await client.getCollection({ name: "bench", embeddingFunction: null });
    out.reopenOpenMs = performance.now() - t0;
    await reopened.query({ queryEmbeddings: [query(0)], nResults: K, include: [] });
    out.reopenMs = performance.now() - t0;
    out.reopenCount = await reopened.count();
    await client.close();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}

async function chromaliteFilter() {
  const { EphemeralClient } = await import("../../dist/index.js");
  const client = EphemeralClient();
  const ef = 100;
  const collection = await client.createCollection({
    name: "bench",
    embeddingFunction: null,
    configuration: { hnsw: { ...HNSW_CONFIG, ef_search: ef } },
  });
  out.buildWithMetadataSeconds = await chromaliteAdd(collection, true);
  out.ef = ef;
  const variants = [null, ...SELECTIVITIES];
  const FQ = Math.min(Q, opt.filterQueries ?? 500);
  // Five passes: the 1 % versus unfiltered ratio is a target, and the machine is noisy.
  const passes = 5;
  out.filterQueries = FQ;
  const wheres = variants.map((s) => (s === null ? undefined : { bucket: { $lt: s } }));
  const run = async (where) => {
    for (let q = 0; q < 50; q++) await collection.query({ queryEmbeddings: [query(q)], nResults: K, where, include: [] }); // warm-up
    const found = [];
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    for (let q = 0; q < FQ; q++) found.push(toIndices(await collection.query({ queryEmbeddings: [query(q)], nResults: K, where, include: [] })));
    const cpu = process.cpuUsage(cpu0);
    return { qps: FQ / ((performance.now() - t) / 1000), cpuUs: (cpu.user + cpu.system) / FQ, found };
  };
  // Pass p of every selectivity before pass p + 1 of any: the ratios to the unfiltered query compare passes
  // run close together in time.
  const runs = variants.map(() => []);
  for (let p = 0; p < passes; p++) {
    for (const v of variants.keys()) runs[v].push(await run(wheres[v]));
  }
  out.filtered = variants.map((s, v) => ({
    selectivity: s,
    cpuUs: median(runs[v].map((r) => r.cpuUs)),
    recall: recall(runs[v][0].found, ds.gt[v]),
    qps: median(runs[v].map((r) => r.qps)),
    qpsAll: runs[v].map((r) => Math.round(r.qps)),
    // rows scanned per query when the exact path is taken (allowed ≤ 20,000 rows)
    scanBytes: s !== null && (n * s) / 100 <= 20000 ? ((n * s) / 100) * dim * 4 : null,
  }));
  for (const f of out.filtered) process.stderr.write(`  filter ${f.selectivity ?? "none"}% recall=${f.recall.toFixed(4)} qps=${Math.round(f.qps)}\n`);
  await client.close?.();
}

async function hnswlib() {
  const { HierarchicalNSW } = require("hnswlib-node");
  const index = new HierarchicalNSW("l2", dim);
  await turn(async () => {
    await settle();
    const rss0 = rss();
    index.initIndex(n, M, EF_CONSTRUCTION, 100);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) index.addPoint(Array.from(row(i)), i);
    out.buildSeconds = (performance.now() - t0) / 1000;
    out.buildThreads = 1;
    out.insertPerSecond = n / out.buildSeconds;
    await settle();
    out.rssDelta = rss() - rss0;
  });
  const search = (q) => index.searchKnn(Array.from(query(q)), K).neighbors;
  out.sweep = await sweep(opt.efs, (ef) => index.setEf(ef), search, opt.passes, false);
  out.ef95 = ef95(out.sweep);
  await turn(() => hnswlibFilteredAndDisk(index));
}

async function hnswlibFilteredAndDisk(index) {
  const { HierarchicalNSW } = require("hnswlib-node");
  // Filtered via hnswlib's filter callback (a JS call per visited node), at ef 100.
  index.setEf(100);
  out.filtered = [];
  for (const [v, s] of [null, ...SELECTIVITIES].entries()) {
    const filter = s === null ? undefined : (label) => bucketOf(label) < s;
    const FQ = Math.min(Q, opt.filterQueries ?? 500);
    const t = performance.now();
    const found = [];
    for (let q = 0; q < FQ; q++) found.push(index.searchKnn(Array.from(query(q)), K, filter).neighbors);
    out.filtered.push({ selectivity: s, recall: recall(found, ds.gt[v]), qps: FQ / ((performance.now() - t) / 1000) });
  }
  const path = join(mkdtempSync(join(tmpdir(), "hnswlib-bench-")), "index.bin");
  try {
    await index.writeIndex(path);
    out.diskBytes = statSync(path).size;
    const t1 = performance.now();
    const again = new HierarchicalNSW("l2", dim);
    await again.readIndex(path);
    again.searchKnn(Array.from(query(0)), K);
    out.reopenMs = performance.now() - t1;
  } finally {
    rmSync(join(path, ".."), { recursive: true, force: true });
  }
}

async function usearch() {
  const { Index } = require("usearch");
  const threads = opt.usearchThreads ?? 2;
  const make = (ef) =>
    new Index({ dimensions: dim, metric: "l2sq", connectivity: M, expansion_add: EF_CONSTRUCTION, expansion_search: ef });
  let index = make(opt.efs[0]);
  const dir = mkdtempSync(join(tmpdir(), "usearch-bench-"));
  const path = join(dir, "index.usearch");
  try {
    await turn(async () => {
      await settle();
      const rss0 = rss();
      const keys = BigUint64Array.from({ length: n }, (_, i) => BigInt(i));
      const lag = lagMonitor();
      const t0 = performance.now();
      index.add(keys, ds.base, threads);
      out.buildSeconds = (performance.now() - t0) / 1000;
      out.buildLagMs = lag.stop();
      out.buildThreads = threads;
      out.insertPerSecond = n / out.buildSeconds;
      await settle();
      out.rssDelta = rss() - rss0;
      index.save(path);
      out.diskBytes = statSync(path).size;
      const t1 = performance.now();
      const again = make(100);
      again.load(path);
      again.search(query(0).slice(), K, 1);
      out.reopenMs = performance.now() - t1;
    });
    // ef is fixed at construction: one loaded copy per ef.
    const search = (q) => Array.from(index.search(query(q), K, 1).keys, Number);
    out.sweep = await sweep(
      opt.efs,
      (ef) => {
        index = make(ef);
        index.load(path);
      },
      search,
      opt.passes,
      false,
    );
    out.ef95 = ef95(out.sweep);
    await turn(async () => {
      index = make(out.ef95);
      index.load(path);
      const all = ds.queries.slice();
      const batchLag = lagMonitor();
      out.batch = await medianQps(opt.passes, async () => {
        const t = performance.now();
        index.search(all, K, 2);
        await tick();
        return Q / ((performance.now() - t) / 1000);
      });
      out.batch.worstLagMs = batchLag.stop();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function brute() {
  const { exactSearch } = require("usearch");
  // JS scan: a few queries.
  const jsQueries = Math.min(opt.quick ? 10 : 30, Q);
  let t = performance.now();
  for (let q = 0; q < jsQueries; q++) {
    const qv = query(q);
    let best = Infinity;
    for (let i = 0; i < n; i++) {
      let d = 0;
      const o = i * dim;
      for (let j = 0; j < dim; j++) {
        const x = ds.base[o + j] - qv[j];
        d += x * x;
      }
      if (d < best) best = d;
    }
  }
  out.jsQps = jsQueries / ((performance.now() - t) / 1000);
  // C SIMD scan (usearch exactSearch; copies because it ignores byteOffset), one query per call and batched.
  const base = ds.base.slice();
  const cQueries = Math.min(opt.quick ? 50 : 100, Q);
  const passes = Math.min(opt.passes, 3);
  const single = [];
  for (let q = 0; q < cQueries; q++) single.push(query(q).slice());
  for (const threads of [1, 2]) {
    const r = await medianQps(passes, () => {
      const t0 = performance.now();
      const found = [];
      for (const qv of single) found.push(Array.from(exactSearch(base, qv, dim, K, "l2sq", threads).keys, Number));
      out.exactRecall = recall(found, ds.gt[0]);
      return cQueries / ((performance.now() - t0) / 1000);
    });
    out[`usearchExactSingle${threads}t`] = r;
  }
  const batch = ds.queries.slice(0, cQueries * dim);
  for (const threads of [1, 2]) {
    out[`usearchExactBatch${threads}t`] = await medianQps(passes, () => {
      const t0 = performance.now();
      exactSearch(base, batch, dim, K, "l2sq", threads);
      return cQueries / ((performance.now() - t0) / 1000);
    });
  }
  out.bytesPerQuery = n * dim * 4;
}

async function server() {
  const { ChromaClient } = await import("chromadb");
  const url = new URL(opt.serverUrl);
  const client = new ChromaClient({ host: url.hostname, port: Number(url.port), ssl: url.protocol === "https:" });
  const name = `bench-${ds.name}-${Date.now()}`;
  const collection = await client.createCollection({
    name,
    embeddingFunction: null,
    configuration: { hnsw: { ...HNSW_CONFIG, ef_search: 100 } },
  });
  try {
    const t0 = performance.now();
    const batch = 1000;
    for (let i = 0; i < n; i += batch) {
      const end = Math.min(n, i + batch);
      const ids = [];
      const embeddings = [];
      for (let j = i; j < end; j++) {
        ids.push(String(j));
        embeddings.push(Array.from(row(j)));
      }
      await collection.add({ ids, embeddings });
    }
    out.buildSeconds = (performance.now() - t0) / 1000;
    out.insertPerSecond = n / out.buildSeconds;
    const subset = Math.min(Q, opt.serverQueries);
    const gt = ds.gt[0].subarray(0, subset * K);
    out.sweep = [];
    for (const ef of opt.serverEfs) {
      try {
        await collection.modify({ configuration: { hnsw: { ef_search: ef } } });
      } catch (e) {
        out.modifyError = String(e.message ?? e);
        if (ef !== 100) continue;
      }
      for (let q = 0; q < 20; q++) await collection.query({ queryEmbeddings: [Array.from(query(q))], nResults: K, include: [] });
      const lat = [];
      const found = [];
      const t = performance.now();
      for (let q = 0; q < subset; q++) {
        const s = performance.now();
        found.push(toIndices(await collection.query({ queryEmbeddings: [Array.from(query(q))], nResults: K, include: [] })));
        lat.push(performance.now() - s);
      }
      const qps = subset / ((performance.now() - t) / 1000);
      lat.sort((a, b) => a - b);
      out.sweep.push({ ef, recall: recall(found, gt), qps, p50: pct(lat, 0.5), p99: pct(lat, 0.99) });
      process.stderr.write(`  server ef=${ef} recall=${out.sweep.at(-1).recall.toFixed(4)} qps=${Math.round(qps)}\n`);
    }
    out.ef95 = ef95(out.sweep);
    out.serverQueries = subset;
  } finally {
    await client.deleteCollection({ name }).catch(() => {});
  }
}

const tasks = {
  chromalite,
  "chromalite-disk": chromaliteDisk,
  "chromalite-filter": chromaliteFilter,
  hnswlib,
  usearch,
  brute,
  server,
};
await tasks[task]();
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
