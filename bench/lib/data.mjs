// Datasets for the benchmark: fashion-mnist (Debian's dataset-fashion-mnist) and seeded clustered vectors,
// with exact top-k ground truth (unfiltered and at 1 %, 10 %, 50 % metadata selectivity) computed once by
// a brute-force scan on worker threads and cached in bench/.cache/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const CACHE_DIR = join(BENCH_DIR, ".cache");
export const K = 10;
/** Filter selectivities (percent): a record's `bucket` metadata is `i % 100`, the filter is `bucket < s`. */
export const SELECTIVITIES = [1, 10, 50];
export const bucketOf = (i) => i % 100;

const FASHION_DIR = "/usr/share/datasets/fashion-mnist";

/** mulberry32: a small seeded generator, uniform in (0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/**
 * Gaussian mixture: `clusters` centres drawn N(0, spread²), each cluster with its own scale in [0.5, 1.5],
 * points = centre + scale · N(0, 1). Base and queries are drawn together from the same mixture, then split.
 */
function clustered(n, q, dim, seed, clusters = 100, spread = 2) {
  const uniform = rng(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const centres = new Float32Array(clusters * dim).map(() => gaussian() * spread);
  const scales = Array.from({ length: clusters }, () => 0.5 + uniform());
  const all = new Float32Array((n + q) * dim);
  for (let i = 0; i < n + q; i++) {
    const c = Math.floor(uniform() * clusters);
    for (let j = 0; j < dim; j++) all[i * dim + j] = centres[c * dim + j] + scales[c] * gaussian();
  }
  return { base: all.slice(0, n * dim), queries: all.slice(n * dim) };
}

function idx(file) {
  const bytes = gunzipSync(readFileSync(join(FASHION_DIR, file)));
  const count = bytes.readUInt32BE(4);
  const dim = bytes.readUInt32BE(8) * bytes.readUInt32BE(12);
  return { count, dim, pixels: bytes.subarray(16) };
}

function fashion(n, q) {
  if (!existsSync(FASHION_DIR)) {
    throw new Error(`${FASHION_DIR} missing: apt-get update && apt-get install -y dataset-fashion-mnist`);
  }
  const train = idx("train-images-idx3-ubyte.gz");
  const test = idx("t10k-images-idx3-ubyte.gz");
  const dim = train.dim;
  return {
    base: Float32Array.from(train.pixels.subarray(0, Math.min(n, train.count) * dim)),
    queries: Float32Array.from(test.pixels.subarray(0, q * dim)),
  };
}

/** Dataset specs by mode. */
export function specs(quick) {
  if (quick) {
    return [
      { name: "clustered-128", kind: "clustered", n: 30000, q: 300, dim: 128, seed: 1 },
      { name: "fashion-mnist-784", kind: "fashion", n: 20000, q: 300, dim: 784 },
    ];
  }
  return [
    { name: "fashion-mnist-784", kind: "fashion", n: 60000, q: 1000, dim: 784 },
    { name: "clustered-128", kind: "clustered", n: 100000, q: 1000, dim: 128, seed: 1 },
    { name: "clustered-384", kind: "clustered", n: 100000, q: 1000, dim: 384, seed: 2 },
  ];
}

export const cacheKey = (s) => `${s.name}-${s.n}x${s.dim}-q${s.q}`;

/** Loads (or makes and caches) a dataset with its ground truth. */
export async function loadDataset(spec, log = () => {}) {
  const key = cacheKey(spec);
  const path = (ext) => join(CACHE_DIR, `${key}.${ext}`);
  if (!existsSync(path("gt.i32"))) {
    mkdirSync(CACHE_DIR, { recursive: true });
    log(`preparing ${key} ...`);
    const { base, queries } =
      spec.kind === "fashion" ? fashion(spec.n, spec.q) : clustered(spec.n, spec.q, spec.dim, spec.seed);
    const t = performance.now();
    const gt = await groundTruth(base, queries, spec.dim);
    log(`  exact ground truth (${spec.q} queries, unfiltered + ${SELECTIVITIES.length} filters) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    writeFileSync(path("base.f32"), base);
    writeFileSync(path("queries.f32"), queries);
    writeFileSync(path("gt.i32"), gt);
  }
  const f32 = (ext) => {
    const b = readFileSync(path(ext));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const b = readFileSync(path("gt.i32"));
  const gtAll = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const stride = spec.q * K;
  // gt[0] unfiltered, gt[1 + s] for each selectivity.
  const gt = Array.from({ length: 1 + SELECTIVITIES.length }, (_, v) => gtAll.subarray(v * stride, (v + 1) * stride));
  return { ...spec, base: f32("base.f32"), queries: f32("queries.f32"), gt };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { base, queries, dim, from, to, k, sel } = workerData;
const n = base.length / dim;
const variants = 1 + sel.length;
const out = new Int32Array((to - from) * variants * k);
const dist = new Float32Array(n);
for (let q = from; q < to; q++) {
  const qo = q * dim;
  for (let i = 0; i < n; i++) {
    let d = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) { const x = base[o + j] - queries[qo + j]; d += x * x; }
    dist[i] = d;
  }
  for (let v = 0; v < variants; v++) {
    const limit = v === 0 ? 100 : sel[v - 1];
    // top-k by (distance, index) with a small insertion list
    const bd = [], bi = [];
    for (let i = 0; i < n; i++) {
      if (i % 100 >= limit) continue;
      const d = dist[i];
      if (bd.length === k && d >= bd[k - 1]) continue;
      let p = bd.length === k ? k - 1 : bd.length;
      while (p > 0 && bd[p - 1] > d) { if (p < k) { bd[p] = bd[p - 1]; bi[p] = bi[p - 1]; } p--; }
      bd[p] = d; bi[p] = i;
      if (bd.length > k) { bd.length = k; bi.length = k; }
    }
    for (let r = 0; r < k; r++) out[((q - from) * variants + v) * k + r] = r < bi.length ? bi[r] : -1;
  }
}
parentPort.postMessage(out, [out.buffer]);
`;

/** Exact top-k (float64 accumulation over float32 inputs) for every query, on all cores. */
async function groundTruth(base, queries, dim) {
  const q = queries.length / dim;
  const threads = Math.max(1, Math.min(availableParallelism(), q));
  const per = Math.ceil(q / threads);
  const variants = 1 + SELECTIVITIES.length;
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const from = t * per;
      const to = Math.min(q, from + per);
      return new Promise((resolve, reject) => {
        const w = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { base, queries, dim, from, to, k: K, sel: SELECTIVITIES },
        });
        w.once("message", (out) => resolve({ from, to, out }));
        w.once("error", reject);
      });
    }),
  );
  // Layout: variant-major, then query, then rank.
  const gt = new Int32Array(variants * q * K);
  for (const { from, to, out } of parts) {
    for (let qi = from; qi < to; qi++) {
      for (let v = 0; v < variants; v++) {
        for (let r = 0; r < K; r++) gt[v * q * K + qi * K + r] = out[((qi - from) * variants + v) * K + r];
      }
    }
  }
  return gt;
}

/** recall@k of `found` (array of index arrays) against ground truth variant `gt`. */
export function recall(found, gt) {
  let hits = 0;
  let total = 0;
  for (let q = 0; q < found.length; q++) {
    const truth = new Set();
    for (let r = 0; r < K; r++) if (gt[q * K + r] >= 0) truth.add(gt[q * K + r]);
    total += truth.size;
    for (const i of found[q]) if (truth.has(i)) hits++;
  }
  return total ? hits / total : 1;
}
