/**
 * Model-based test of the record operations (Chroma's `EmbeddingStateMachine`, semantics §4 and §12): random
 * sequences of add / upsert / update / delete (by ids and by filter) run against a collection and against a plain
 * in-memory model. After every step the collection must agree with the model on count, ids (in insertion order),
 * embeddings, metadatas and documents, and queries must have recall ≥ 0.95 against brute force, with exact
 * distances (within tolerance) sorted ascending.
 *
 * Seeded: CHROMALITE_FUZZ_SEED / CHROMALITE_FUZZ_RUNS; fast-check prints the seed and the shrunk op sequence.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EphemeralClient } from "../dist/index.js";
import { distance, distanceMagnitude, distanceTolerance, expectVectorClose, fuzzRuns, fuzzSeed, seededRandom, Space, uniqueName } from "./helpers.js";

const DIM = 5;
const ID_POOL = Array.from({ length: 14 }, (_, i) => `id${i}`);
const META_KEYS = ["k1", "k2", "k3"];

type Scalar = string | number | boolean;
type Meta = Record<string, Scalar | Scalar[]>;
type UpdateMeta = Record<string, Scalar | Scalar[] | null>;

interface ModelRecord {
  embedding: number[]; // float32-rounded
  metadata: Meta | null;
  document: string | null;
}

/** The model: records by id plus their insertion order (get returns records in insertion order). */
class Model {
  records = new Map<string, ModelRecord>();
  order: string[] = [];

  insert(id: string, record: ModelRecord) {
    this.records.set(id, record);
    this.order.push(id);
  }

  remove(id: string) {
    if (this.records.delete(id)) this.order = this.order.filter((x) => x !== id);
  }

  /** Update / upsert-of-existing semantics: embedding and document replaced if given, metadata merged, null deletes a key. */
  merge(id: string, embedding: number[] | undefined, metadata: UpdateMeta | null | undefined, document: string | undefined) {
    const record = this.records.get(id)!;
    if (embedding) record.embedding = embedding;
    if (document !== undefined) record.document = document;
    if (metadata) {
      const merged: Meta = { ...(record.metadata ?? {}) };
      for (const [key, value] of Object.entries(metadata)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      record.metadata = Object.keys(merged).length > 0 ? merged : null;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Operations
// ------------------------------------------------------------------------------------------------
const component = fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100);
/** Never the zero vector (cosine would be undefined); float32-exact after rounding. */
const embeddingArb = fc
  .array(component, { minLength: DIM, maxLength: DIM })
  .map((v) => (v.every((x) => Math.abs(x) < 0.05) ? [1, ...v.slice(1)] : v))
  .map((v) => v.map((x) => Math.fround(x)));

const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(
  fc.integer({ min: -100, max: 100 }),
  fc.integer({ min: -100, max: 100 }).map((n) => n + 0.5),
  fc.constantFrom("red", "green", "blue", "Ünïcode ✓"),
  fc.boolean(),
);
const metaValueArb = fc.oneof(
  { weight: 4, arbitrary: scalarArb },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }) },
);
const metadataArb: fc.Arbitrary<Meta | null> = fc.option(fc.dictionary(fc.constantFrom(...META_KEYS), metaValueArb, { minKeys: 1, maxKeys: 3 }), { freq: 4 });
const updateMetadataArb: fc.Arbitrary<UpdateMeta | null> = fc.option(
  fc.dictionary(fc.constantFrom(...META_KEYS), fc.oneof({ weight: 3, arbitrary: metaValueArb }, { weight: 1, arbitrary: fc.constant(null) }), {
    minKeys: 1,
    maxKeys: 3,
  }),
  { freq: 4 },
);
const documentArb = fc.constantFrom("alpha beta", "gamma", "delta epsilon", "beta", "Zeta");
const idsArb = fc.uniqueArray(fc.constantFrom(...ID_POOL), { minLength: 1, maxLength: 6 });

type Op =
  | { kind: "add"; ids: string[]; embeddings: number[][]; metadatas?: (Meta | null)[]; documents?: string[] }
  | { kind: "upsert"; ids: string[]; embeddings: number[][]; metadatas?: (UpdateMeta | null)[]; documents?: string[] }
  | { kind: "update"; ids: string[]; embeddings?: number[][]; metadatas?: (UpdateMeta | null)[]; documents?: string[] }
  | { kind: "delete"; ids: string[] }
  | { kind: "deleteWhere"; key: string; value: Scalar };

/** Per-id columns for a batch: each optional column is either absent or given for every id. */
function batchArb<M>(ids: string[], withEmbeddings: boolean | "maybe", metadata: fc.Arbitrary<M>) {
  const n = ids.length;
  const col = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.array(arb, { minLength: n, maxLength: n }), { nil: undefined });
  return fc.record({
    embeddings: withEmbeddings === true ? fc.array(embeddingArb, { minLength: n, maxLength: n }) : col(embeddingArb),
    metadatas: col(metadata),
    documents: col(documentArb),
  });
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: idsArb.chain((ids) => batchArb(ids, true, metadataArb).map((b) => ({ kind: "add" as const, ids, ...b, embeddings: b.embeddings! }))) },
  { weight: 3, arbitrary: idsArb.chain((ids) => batchArb(ids, true, updateMetadataArb).map((b) => ({ kind: "upsert" as const, ids, ...b, embeddings: b.embeddings! }))) },
  { weight: 3, arbitrary: idsArb.chain((ids) => batchArb(ids, "maybe", updateMetadataArb).map((b) => ({ kind: "update" as const, ids, ...b }))) },
  { weight: 2, arbitrary: idsArb.map((ids) => ({ kind: "delete" as const, ids })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteWhere" as const), key: fc.constantFrom(...META_KEYS), value: scalarArb }) },
);

/** Strips undefined columns so the request looks like a user's call. */
function request(op: Exclude<Op, { kind: "delete" | "deleteWhere" }>) {
  const out: Record<string, unknown> = { ids: op.ids };
  if (op.embeddings) out.embeddings = op.embeddings;
  if (op.metadatas) out.metadatas = op.metadatas;
  if (op.documents) out.documents = op.documents;
  return out;
}

/** Scalar equality as the engine compares metadata ($eq): same type and value. */
const scalarEquals = (a: unknown, b: Scalar) => typeof a === typeof b && a === b;

function applyToModel(model: Model, op: Op): number | undefined {
  switch (op.kind) {
    case "add":
      op.ids.forEach((id, i) => {
        if (model.records.has(id)) return; // existing ids are skipped silently
        model.insert(id, {
          embedding: op.embeddings[i],
          metadata: op.metadatas?.[i] ?? null,
          document: op.documents?.[i] ?? null,
        });
      });
      return undefined;
    case "upsert":
      op.ids.forEach((id, i) => {
        if (model.records.has(id)) {
          model.merge(id, op.embeddings[i], op.metadatas?.[i], op.documents?.[i]);
        } else {
          // A new record from an upsert: null-valued keys mean nothing to delete.
          const given = op.metadatas?.[i];
          const metadata = given ? (Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null)) as Meta) : null;
          model.insert(id, {
            embedding: op.embeddings[i],
            metadata: metadata && Object.keys(metadata).length > 0 ? metadata : null,
            document: op.documents?.[i] ?? null,
          });
        }
      });
      return undefined;
    case "update":
      op.ids.forEach((id, i) => {
        if (!model.records.has(id)) return; // missing ids are ignored
        model.merge(id, op.embeddings?.[i], op.metadatas?.[i], op.documents?.[i]);
      });
      return undefined;
    case "delete":
      op.ids.forEach((id) => model.remove(id));
      return op.ids.length; // the count of ids requested
    case "deleteWhere": {
      const matched = [...model.records.entries()].filter(([, r]) => {
        const value = r.metadata?.[op.key];
        return value !== undefined && !Array.isArray(value) && scalarEquals(value, op.value);
      });
      matched.forEach(([id]) => model.remove(id));
      return matched.length;
    }
  }
}

// ------------------------------------------------------------------------------------------------

describe("record operations match an in-memory model", () => {
  let client: any;
  beforeAll(() => {
    client = EphemeralClient();
  });
  afterAll(async () => {
    await client?.close();
  });

  async function checkInvariants(col: any, model: Model, space: Space, queries: number[][], recall: { hits: number; total: number }) {
    expect(await col.count()).toBe(model.records.size);
    const got = await col.get({ include: ["embeddings", "metadatas", "documents"] });
    expect(got.ids).toEqual(model.order);
    model.order.forEach((id, i) => {
      const record = model.records.get(id)!;
      expect(Array.from(got.embeddings[i]), `embedding of ${id}`).toEqual(record.embedding);
      expect(got.metadatas[i], `metadata of ${id}`).toEqual(record.metadata);
      expect(got.documents[i], `document of ${id}`).toEqual(record.document);
    });
    // Filters are answered by the metadata index: after every step they select exactly the model's records.
    for (const key of META_KEYS) {
      const values = model.order.map((id) => model.records.get(id)!.metadata?.[key]).filter((v) => v !== undefined);
      const scalar = values.find((v) => !Array.isArray(v)) as Scalar | undefined;
      const element = (values.find((v) => Array.isArray(v)) as Scalar[] | undefined)?.[0];
      const cases: [object, (v: unknown) => boolean][] = [];
      if (scalar !== undefined) {
        const equal = (v: unknown) => v !== undefined && !Array.isArray(v) && scalarEquals(v as Scalar, scalar);
        cases.push([{ [key]: scalar }, equal], [{ [key]: { $ne: scalar } }, (v) => !equal(v)]);
        if (typeof scalar === "number") cases.push([{ [key]: { $gte: scalar } }, (v) => typeof v === "number" && v >= scalar]);
      }
      if (element !== undefined) {
        const has = (v: unknown) => Array.isArray(v) && v.some((x) => scalarEquals(x, element));
        cases.push([{ [key]: { $contains: element } }, has], [{ [key]: { $not_contains: element } }, (v) => !has(v)]);
      }
      for (const [where, test] of cases) {
        const expected = model.order.filter((id) => test(model.records.get(id)!.metadata?.[key]));
        expect((await col.get({ where, include: [] })).ids, `get where ${JSON.stringify(where)}`).toEqual(expected);
      }
    }
    // get by ids in a scrambled order returns the same records, in insertion order.
    const requested = [...model.order].reverse().concat(["never-added"]);
    expect((await col.get({ ids: requested })).ids).toEqual(model.order);

    if (model.records.size === 0) return;
    const k = Math.min(4, model.records.size);
    const result = await col.query({ queryEmbeddings: queries, nResults: k, include: ["distances", "embeddings", "metadatas", "documents"] });
    queries.forEach((query, q) => {
      const exact = model.order
        .map((id) => ({ id, d: distance(space, model.records.get(id)!.embedding, query) }))
        .sort((a, b) => a.d - b.d);
      const ids: string[] = result.ids[q];
      const distances: number[] = result.distances[q];
      expect(ids.length).toBe(k);
      for (let j = 1; j < distances.length; j++) expect(distances[j]).toBeGreaterThanOrEqual(distances[j - 1] - 1e-6);
      ids.forEach((id, j) => {
        const record = model.records.get(id);
        expect(record, `query returned unknown or deleted id ${id}`).toBeTruthy();
        const d = distance(space, record!.embedding, query);
        const tolerance = distanceTolerance(DIM, distanceMagnitude(space, record!.embedding, query));
        expect(Math.abs(distances[j] - d), `distance of ${id}: got ${distances[j]}, exact ${d}`).toBeLessThanOrEqual(tolerance);
        expectVectorClose(Array.from(result.embeddings[q][j]), record!.embedding, 1e-5);
        expect(result.metadatas[q][j]).toEqual(record!.metadata);
        expect(result.documents[q][j]).toEqual(record!.document);
      });
      // Ties at the k-th distance make several id sets correct: count a hit for any id within the k-th distance.
      const kth = exact[k - 1];
      const slack = distanceTolerance(DIM, distanceMagnitude(space, model.records.get(kth.id)!.embedding, query));
      const acceptable = new Set(exact.filter((e) => e.d <= kth.d + 2 * slack).map((e) => e.id));
      recall.hits += ids.filter((id) => acceptable.has(id)).length;
      recall.total += k;
    });
  }

  it("add / upsert / update / delete sequences agree with the model after every step", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Space>("l2", "cosine", "ip"),
        fc.array(opArb, { minLength: 1, maxLength: 25, size: "medium" }),
        fc.array(embeddingArb, { minLength: 2, maxLength: 2 }),
        async (space, ops, queries) => {
          const col = await client.createCollection({ name: uniqueName("sm"), configuration: { hnsw: { space } }, embeddingFunction: null });
          const model = new Model();
          const recall = { hits: 0, total: 0 };
          try {
            for (const op of ops) {
              const expectedDeleted = applyToModel(model, op);
              switch (op.kind) {
                case "add":
                  await col.add(request(op));
                  break;
                case "upsert":
                  await col.upsert(request(op));
                  break;
                case "update":
                  await col.update(request(op));
                  break;
                case "delete":
                  expect(await col.delete({ ids: op.ids })).toEqual({ deleted: expectedDeleted });
                  break;
                case "deleteWhere":
                  expect(await col.delete({ where: { [op.key]: op.value } })).toEqual({ deleted: expectedDeleted });
                  break;
              }
              await checkInvariants(col, model, space, queries, recall);
            }
            if (recall.total > 0) expect(recall.hits / recall.total).toBeGreaterThanOrEqual(0.95);
          } finally {
            await client.deleteCollection({ name: col.name });
          }
        },
      ),
      { seed: fuzzSeed(1234567), numRuns: fuzzRuns(100) },
    );
  });

  it("a larger collection keeps recall ≥ 0.95 through interleaved deletes and upserts", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Space>("l2", "cosine", "ip"), fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (space, seed) => {
        const next = seededRandom(seed);
        const dim = 24;
        const vector = () => Array.from({ length: dim }, () => Math.fround(next() * 2 - 1));
        const col = await client.createCollection({ name: uniqueName("smbig"), configuration: { hnsw: { space } }, embeddingFunction: null });
        const stored = new Map<string, number[]>();
        try {
          const ids = Array.from({ length: 1500 }, (_, i) => `p${i}`);
          const vectors = ids.map(vector);
          await col.add({ ids, embeddings: vectors });
          ids.forEach((id, i) => stored.set(id, vectors[i]));
          const toDelete = ids.filter(() => next() < 0.3);
          await col.delete({ ids: toDelete });
          toDelete.forEach((id) => stored.delete(id));
          const upsertIds = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? `p${Math.floor(next() * 1500)}` : `n${i}`));
          const unique = [...new Set(upsertIds)];
          const upsertVectors = unique.map(vector);
          await col.upsert({ ids: unique, embeddings: upsertVectors });
          unique.forEach((id, i) => stored.set(id, upsertVectors[i]));
          expect(await col.count()).toBe(stored.size);

          const queries = Array.from({ length: 20 }, vector);
          const k = 10;
          const result = await col.query({ queryEmbeddings: queries, nResults: k, include: ["distances"] });
          let hits = 0;
          queries.forEach((query, q) => {
            const exact = [...stored.entries()].map(([id, v]) => ({ id, d: distance(space, v, query) })).sort((a, b) => a.d - b.d);
            const truth = new Set(exact.slice(0, k).map((e) => e.id));
            const ids: string[] = result.ids[q];
            expect(ids.length).toBe(k);
            ids.forEach((id, j) => {
              expect(stored.has(id), `deleted id ${id} returned`).toBe(true);
              const d = distance(space, stored.get(id)!, query);
              expect(Math.abs(result.distances[q][j] - d)).toBeLessThanOrEqual(distanceTolerance(dim, distanceMagnitude(space, stored.get(id)!, query)));
              if (j > 0) expect(result.distances[q][j]).toBeGreaterThanOrEqual(result.distances[q][j - 1] - 1e-6);
            });
            hits += ids.filter((id) => truth.has(id)).length;
          });
          expect(hits / (queries.length * k)).toBeGreaterThanOrEqual(0.95);
        } finally {
          await client.deleteCollection({ name: col.name });
        }
      }),
      { seed: fuzzSeed(98765), numRuns: fuzzRuns(8) },
    );
  });
});
