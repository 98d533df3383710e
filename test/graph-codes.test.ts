/**
 * Large collections walk their HNSW graph on 8-bit codes of the vectors and re-rank what the walk finds
 * with the exact distances (crates/engine/src/codes.rs); `CHROMALITE_GRAPH_CODES=0` walks the float32
 * vectors instead. Either way a query must return exact distances, nearest first, with high recall:
 * each mode runs in its own process (the variable is read once) and is checked against a brute-force
 * answer computed here, in every space.
 *
 * Filtered queries are exact scans; over 1 MiB of vectors the codes screen them (only vectors whose code
 * cannot rule them out are compared): they must still return exactly the filtered top-k.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { EphemeralClient, type EmbeddingFunctionSpace, type Where } from "../dist/index.js";
import { seededRandom, uniqueName } from "./helpers.js";

const DIM = 24;
const COUNT = 4_000; // above the graph threshold (2,048 live records)
const QUERIES = 25;

/** A Gaussian mixture: 20 centres, points spread around them. */
function makeData(): { vectors: number[][]; queries: number[][] } {
  const random = seededRandom(17);
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: 20 }, () => Array.from({ length: DIM }, () => 3 * gaussian()));
  const point = () => {
    const c = centres[Math.floor(random() * centres.length)];
    return c.map((x) => x + gaussian());
  };
  return { vectors: Array.from({ length: COUNT }, point), queries: Array.from({ length: QUERIES }, point) };
}

const DATA = makeData();
const dir = mkdtempSync(join(tmpdir(), "chromalite-codes-"));
const dataFile = join(dir, "data.json");
writeFileSync(dataFile, JSON.stringify(DATA));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs one process that fills a collection per space and prints every query's ids and distances. */
function run(env: Record<string, string>): Record<string, { ids: string[][]; distances: number[][] }> {
  const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
  const script = `
    const { EphemeralClient } = require(${JSON.stringify(dist)});
    const { vectors, queries } = JSON.parse(require("node:fs").readFileSync(${JSON.stringify(dataFile)}, "utf8"));
    (async () => {
      const client = EphemeralClient();
      const out = {};
      for (const space of ["l2", "cosine", "ip"]) {
        const c = await client.createCollection({ name: "codes-" + space, embeddingFunction: null, configuration: { hnsw: { space, ef_search: 64 } } });
        for (let i = 0; i < vectors.length; i += 1000) {
          const part = vectors.slice(i, i + 1000);
          await c.add({ ids: part.map((_, j) => String(i + j)), embeddings: part });
        }
        // A vector far outside the ranges seen so far: the codes refit, and it must still be found.
        await c.add({ ids: ["far"], embeddings: [Array(${DIM}).fill(50)] });
        const r = await c.query({ queryEmbeddings: [...queries, Array(${DIM}).fill(49)], nResults: 10, include: ["distances"] });
        out[space] = { ids: r.ids, distances: r.distances };
      }
      await client.close();
      process.stdout.write(JSON.stringify(out));
    })();
  `;
  return JSON.parse(
    execFileSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 1 << 26 }),
  );
}

function exactDistance(space: string, a: number[], b: number[]): number {
  let dot = 0;
  let l2 = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    l2 += (a[i] - b[i]) ** 2;
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (space === "l2") return l2;
  if (space === "ip") return 1 - dot;
  return 1 - dot / Math.sqrt(na * nb);
}

describe.each([
  ["codes (default)", {}],
  ["float32 walk (CHROMALITE_GRAPH_CODES=0)", { CHROMALITE_GRAPH_CODES: "0" }],
])("graph queries with %s", (_label, env) => {
  it("return exact distances, nearest first, with high recall in every space", () => {
    const results = run(env);
    const { vectors, queries } = DATA;
    const all = [...vectors, Array(DIM).fill(50)];
    const idOf = (i: number) => (i === vectors.length ? "far" : String(i));
    const queryList = [...queries, Array(DIM).fill(49)];
    for (const space of ["l2", "cosine", "ip"]) {
      const { ids, distances } = results[space];
      let hits = 0;
      queryList.forEach((q, qi) => {
        const truth = all
          .map((v, i) => ({ id: idOf(i), d: exactDistance(space, q, v) }))
          .sort((a, b) => a.d - b.d)
          .slice(0, 10)
          .map((t) => t.id);
        expect(ids[qi]).toHaveLength(10);
        ids[qi].forEach((id, r) => {
          const v = all[id === "far" ? vectors.length : Number(id)];
          const want = exactDistance(space, q, v);
          expect(Math.abs(distances[qi][r] - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
          if (r > 0) expect(distances[qi][r]).toBeGreaterThanOrEqual(distances[qi][r - 1]);
          if (truth.includes(id)) hits++;
        });
      });
      expect(hits / (queryList.length * 10)).toBeGreaterThanOrEqual(0.9);
      // The far vector is the l2 nearest of the last query, and the best by angle and inner product too.
      expect(ids[queryList.length - 1][0]).toBe("far");
    }
  }, 120_000);
});

describe("filtered queries over many vectors (scans screened by the codes)", () => {
  it("return exactly the filtered top 10 in every space", async () => {
    const dim = 64;
    const count = 6_000; // 6,000 × 64 floats: filters matching over 4,096 records cross 1 MiB
    const random = seededRandom(41);
    const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
    const centres = Array.from({ length: 12 }, () => Array.from({ length: dim }, () => 2 * gaussian()));
    const point = () => centres[Math.floor(random() * centres.length)].map((x) => x + gaussian());
    const vectors = Array.from({ length: count }, point);
    // Later additions spread wider than the first ones: some of their values are clamped in the codes.
    vectors.slice(5_000).forEach((v) => v.forEach((x, j) => (v[j] = x * 1.4)));
    const queries = Array.from({ length: 12 }, point);
    const filters: [Where, (i: number) => boolean][] = [
      [{ bucket: { $lt: 9 } }, (i) => i % 10 < 9],
      [{ bucket: { $gte: 0 } }, () => true],
      [{ bucket: { $in: [2, 7] } }, (i) => i % 10 === 2 || i % 10 === 7],
    ];
    const client = EphemeralClient();
    for (const space of ["l2", "cosine", "ip"] as EmbeddingFunctionSpace[]) {
      const c = await client.createCollection({ name: uniqueName(`screen-${space}`), embeddingFunction: null, configuration: { hnsw: { space } } });
      for (let i = 0; i < count; i += 1_000) {
        const part = vectors.slice(i, i + 1_000);
        await c.add({ ids: part.map((_, j) => String(i + j)), embeddings: part, metadatas: part.map((_, j) => ({ bucket: (i + j) % 10 })) });
      }
      for (const [where, allowed] of filters) {
        const r = await c.query({ queryEmbeddings: queries, nResults: 10, where, include: ["distances"] });
        queries.forEach((q, qi) => {
          const ranked = vectors
            .map((v, i) => ({ i, d: exactDistance(space, q, v) }))
            .filter(({ i }) => allowed(i))
            .sort((a, b) => a.d - b.d);
          const [tenth, eleventh] = [ranked[9].d, ranked[10].d];
          // Unless the 10th and 11th are tied within float32 rounding, the set is fixed.
          if (eleventh - tenth > 1e-5 * Math.max(1, Math.abs(tenth))) {
            expect([...r.ids[qi]].sort(), `${space} ${JSON.stringify(where)} query ${qi}`).toEqual(
              ranked.slice(0, 10).map(({ i }) => String(i)).sort(),
            );
          }
          r.ids[qi].forEach((id, rank) => {
            const want = exactDistance(space, q, vectors[Number(id)]);
            expect(Math.abs((r.distances[qi][rank] as number) - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
          });
        });
      }
    }
    await client.close();
  }, 120_000);
});
