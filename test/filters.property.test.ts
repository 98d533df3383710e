/**
 * Property test of the filters: for random records (metadata drawn from a small key pool with int, float, str,
 * bool and array values, sometimes missing keys, sometimes no metadata; documents sometimes missing) and random
 * valid `where` / `whereDocument` trees, `get({where, whereDocument})` returns exactly the ids that a plain
 * reference evaluator of Chroma's semantics (shared/reference/chroma-semantics.md §5, §12 test_filtering) selects,
 * in insertion order under limit/offset, and `query` with the same filters returns only matching records.
 *
 * Seeded: CHROMALITE_FUZZ_SEED picks the seed, CHROMALITE_FUZZ_RUNS the number of runs; fast-check prints the
 * seed and the shrunk counterexample on failure.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EphemeralClient } from "../dist/index.js";
import { fuzzRuns, fuzzSeed, sorted, uniqueName } from "./helpers.js";

// ------------------------------------------------------------------------------------------------
// Data model
// ------------------------------------------------------------------------------------------------
type Scalar = string | number | boolean;
type MetaValue = Scalar | Scalar[];
type Meta = Record<string, MetaValue>;

interface TestRecord {
  id: string;
  metadata: Meta | null;
  document: string | null;
}

const KEYS = ["a", "b", "c", "d"];
const QUERY_KEYS = [...KEYS, "zz"]; // "zz" is never stored: filters on a missing key
const STRINGS = ["x", "y", "xy", "Y", "yes"];
const WORDS = ["cat", "Cat", "dog", "fish", "catalog", "the", "a", "DOG", "bird", "x_y", "50%"];

// Floats are always non-integral: JS cannot send 2.0 as a float, it would arrive as the int 2.
const intArb = fc.integer({ min: -3, max: 3 });
const floatArb = fc.integer({ min: -6, max: 6 }).map((n) => n / 2 + 0.25);
const strArb = fc.constantFrom(...STRINGS);
const boolArb = fc.boolean();
const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(intArb, floatArb, strArb, boolArb);
const arrayArb: fc.Arbitrary<Scalar[]> = fc.oneof(
  fc.array(intArb, { minLength: 1, maxLength: 3 }),
  fc.array(floatArb, { minLength: 1, maxLength: 3 }),
  fc.array(strArb, { minLength: 1, maxLength: 3 }),
  fc.array(boolArb, { minLength: 1, maxLength: 2 }),
);
const valueArb: fc.Arbitrary<MetaValue> = fc.oneof({ weight: 3, arbitrary: scalarArb }, { weight: 1, arbitrary: arrayArb });

const metadataArb: fc.Arbitrary<Meta | null> = fc.option(
  fc.dictionary(fc.constantFrom(...KEYS), valueArb, { minKeys: 1, maxKeys: 4 }),
  { freq: 5 },
);
const documentArb: fc.Arbitrary<string | null> = fc.option(
  fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 5 }).map((words) => words.join(" ")),
  { freq: 5 },
);

const recordsArb: fc.Arbitrary<TestRecord[]> = fc
  .array(fc.tuple(metadataArb, documentArb), { minLength: 1, maxLength: 40, size: "medium" })
  .map((rows) => rows.map(([metadata, document], i) => ({ id: `r${i}`, metadata, document })));

// ------------------------------------------------------------------------------------------------
// Filters
// ------------------------------------------------------------------------------------------------
type Where = Record<string, any>;
type WhereDocument = Record<string, any>;

const keyArb = fc.constantFrom(...QUERY_KEYS);
const numberArb = fc.oneof(intArb, floatArb);
/** A non-empty list of one type; float lists never contain integral values (they would arrive as ints). */
const listArb: fc.Arbitrary<Scalar[]> = fc.oneof(
  fc.uniqueArray(intArb, { minLength: 1, maxLength: 3 }),
  fc.uniqueArray(floatArb, { minLength: 1, maxLength: 3 }),
  fc.uniqueArray(strArb, { minLength: 1, maxLength: 3 }),
  fc.uniqueArray(boolArb, { minLength: 1, maxLength: 2 }),
);

const leafArb: fc.Arbitrary<Where> = fc.oneof(
  fc.tuple(keyArb, scalarArb).map(([k, v]) => ({ [k]: v })),
  fc.tuple(keyArb, fc.constantFrom("$eq", "$ne"), scalarArb).map(([k, op, v]) => ({ [k]: { [op]: v } })),
  fc.tuple(keyArb, fc.constantFrom("$gt", "$gte", "$lt", "$lte"), numberArb).map(([k, op, v]) => ({ [k]: { [op]: v } })),
  fc.tuple(keyArb, fc.constantFrom("$in", "$nin"), listArb).map(([k, op, v]) => ({ [k]: { [op]: v } })),
  fc.tuple(keyArb, fc.constantFrom("$contains", "$not_contains"), scalarArb).map(([k, op, v]) => ({ [k]: { [op]: v } })),
);

/** `#document` in a where: the document operators, evaluated on the record's document. */
const documentKeyLeafArb: fc.Arbitrary<Where> = fc.oneof(
  fc.tuple(fc.constantFrom("$contains", "$not_contains"), fc.constantFrom(...WORDS, "at", "og")).map(([op, v]) => ({ "#document": { [op]: v } })),
  fc.tuple(fc.constantFrom("$regex", "$not_regex"), fc.constantFrom("^cat", "(?i)dog", "[cd]at", "fish|bird")).map(([op, v]) => ({ "#document": { [op]: v } })),
);

const whereArb: fc.Arbitrary<Where> = fc.letrec<{ where: Where }>((tie) => ({
  where: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: leafArb },
    { weight: 1, arbitrary: documentKeyLeafArb },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("$and", "$or"), fc.array(tie("where"), { minLength: 2, maxLength: 3 }))
        .map(([op, children]) => ({ [op]: children })),
    },
  ),
})).where;

const substringArb = fc.oneof(
  fc.constantFrom(...WORDS),
  fc.constantFrom("at", "og", "ca", "t c", "%", "_", "a"),
);
const regexArb = fc.oneof(
  substringArb.filter((s) => /^[A-Za-z ]+$/.test(s)),
  fc.constantFrom("^cat", "dog$", "(?i)cat", "(?i)dog", "c.t", "^the", "[cd]at", "(?i)^a ", "fish|bird", "\\d+%", "x_y"),
);
const documentLeafArb: fc.Arbitrary<WhereDocument> = fc.oneof(
  substringArb.map((s) => ({ $contains: s })),
  substringArb.map((s) => ({ $not_contains: s })),
  regexArb.map((s) => ({ $regex: s })),
  regexArb.map((s) => ({ $not_regex: s })),
);
const whereDocumentArb: fc.Arbitrary<WhereDocument> = fc.letrec<{ wd: WhereDocument }>((tie) => ({
  wd: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: documentLeafArb },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("$and", "$or"), fc.array(tie("wd"), { minLength: 2, maxLength: 3 }))
        .map(([op, children]) => ({ [op]: children })),
    },
  ),
})).wd;

// ------------------------------------------------------------------------------------------------
// Reference evaluator (§5 "Evaluation")
// ------------------------------------------------------------------------------------------------

/** Equality of two scalars: numbers across int/float, bool and str only within their own type. */
function scalarEquals(a: Scalar, b: Scalar): boolean {
  if (typeof a !== typeof b) return false;
  return a === b;
}

function evalWhere(where: Where, metadata: Meta | null, document: string | null = null): boolean {
  const [key, condition] = Object.entries(where)[0];
  if (key === "$and") return (condition as Where[]).every((w) => evalWhere(w, metadata, document));
  if (key === "$or") return (condition as Where[]).some((w) => evalWhere(w, metadata, document));
  if (key === "#document") return evalWhereDocument(condition as WhereDocument, document);
  const [op, operand] =
    typeof condition === "object" && condition !== null && !Array.isArray(condition)
      ? Object.entries(condition)[0]
      : ["$eq", condition];
  const value: MetaValue | undefined = metadata?.[key];
  const isScalar = value !== undefined && !Array.isArray(value);
  switch (op) {
    case "$eq":
      return isScalar && scalarEquals(value as Scalar, operand as Scalar);
    case "$ne":
      return !(isScalar && scalarEquals(value as Scalar, operand as Scalar));
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte": {
      if (!isScalar || typeof value !== "number") return false;
      const x = operand as number;
      return op === "$gt" ? value > x : op === "$gte" ? value >= x : op === "$lt" ? value < x : value <= x;
    }
    case "$in":
      return isScalar && (operand as Scalar[]).some((o) => scalarEquals(value as Scalar, o));
    case "$nin":
      return !(isScalar && (operand as Scalar[]).some((o) => scalarEquals(value as Scalar, o)));
    case "$contains":
      return Array.isArray(value) && value.some((v) => scalarEquals(v, operand as Scalar));
    case "$not_contains":
      return !(Array.isArray(value) && value.some((v) => scalarEquals(v, operand as Scalar)));
    default:
      throw new Error(`reference evaluator: unknown operator ${op}`);
  }
}

/** Rust-regex patterns used here are JS-compatible except the leading inline flag `(?i)`. */
function toJsRegExp(pattern: string): RegExp {
  return pattern.startsWith("(?i)") ? new RegExp(pattern.slice(4), "i") : new RegExp(pattern);
}

function evalWhereDocument(whereDocument: WhereDocument, document: string | null): boolean {
  const [op, operand] = Object.entries(whereDocument)[0];
  switch (op) {
    case "$and":
      return (operand as WhereDocument[]).every((w) => evalWhereDocument(w, document));
    case "$or":
      return (operand as WhereDocument[]).some((w) => evalWhereDocument(w, document));
    case "$contains":
      return document !== null && document.includes(operand);
    case "$not_contains":
      return document === null || !document.includes(operand);
    case "$regex":
      return document !== null && toJsRegExp(operand).test(document);
    case "$not_regex":
      return document === null || !toJsRegExp(operand).test(document);
    default:
      throw new Error(`reference evaluator: unknown document operator ${op}`);
  }
}

// ------------------------------------------------------------------------------------------------

describe("filters match the reference evaluator", () => {
  let client: any;
  beforeAll(() => {
    client = EphemeralClient();
  });
  afterAll(async () => {
    await client?.close();
  });

  /** Adds the records (documents and no-documents in separate calls) and returns the insertion order. */
  async function load(records: TestRecord[]) {
    const col = await client.createCollection({ name: uniqueName("prop"), embeddingFunction: null });
    const withDocs = records.filter((r) => r.document !== null);
    const withoutDocs = records.filter((r) => r.document === null);
    const embedding = (r: TestRecord) => [Number(r.id.slice(1)), 1];
    if (withDocs.length > 0) {
      await col.add({
        ids: withDocs.map((r) => r.id),
        embeddings: withDocs.map(embedding),
        metadatas: withDocs.map((r) => r.metadata),
        documents: withDocs.map((r) => r.document),
      });
    }
    if (withoutDocs.length > 0) {
      await col.add({ ids: withoutDocs.map((r) => r.id), embeddings: withoutDocs.map(embedding), metadatas: withoutDocs.map((r) => r.metadata) });
    }
    return { col, order: [...withDocs, ...withoutDocs].map((r) => r.id) };
  }

  const filterArb = fc.record(
    {
      where: whereArb,
      whereDocument: whereDocumentArb,
    },
    { requiredKeys: [] },
  );

  it("get(where, whereDocument) returns exactly the reference set", async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, fc.array(filterArb, { minLength: 1, maxLength: 8 }), async (records, filters) => {
        const { col, order } = await load(records);
        try {
          // The metadata and documents round-trip exactly (the filters are evaluated on what was stored).
          const stored = await col.get({ ids: order });
          expect(stored.ids).toEqual(order);
          for (const filter of filters) {
            const expected = records
              .filter((r) => (filter.where ? evalWhere(filter.where, r.metadata, r.document) : true))
              .filter((r) => (filter.whereDocument ? evalWhereDocument(filter.whereDocument, r.document) : true))
              .map((r) => r.id);
            const got = await col.get({ where: filter.where, whereDocument: filter.whereDocument });
            expect(sorted(got.ids), JSON.stringify(filter)).toEqual(sorted(expected));
            expect(new Set(got.ids).size).toBe(got.ids.length);
          }
        } finally {
          await client.deleteCollection({ name: col.name });
        }
      }),
      { seed: fuzzSeed(424242), numRuns: fuzzRuns(150) },
    );
  });

  it("limit/offset on a filtered get slice the reference set in insertion order; query returns only matches", async () => {
    await fc.assert(
      fc.asyncProperty(
        recordsArb,
        filterArb,
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 50 }),
        async (records, filter, limit, offset, nResults) => {
          const { col, order } = await load(records);
          try {
            const matches = new Set(
              records
                .filter((r) => (filter.where ? evalWhere(filter.where, r.metadata, r.document) : true))
                .filter((r) => (filter.whereDocument ? evalWhereDocument(filter.whereDocument, r.document) : true))
                .map((r) => r.id),
            );
            const expectedInOrder = order.filter((id) => matches.has(id));
            const page = await col.get({ where: filter.where, whereDocument: filter.whereDocument, limit, offset });
            expect(page.ids, JSON.stringify(filter)).toEqual(expectedInOrder.slice(offset, offset + limit));

            const result = await col.query({ queryEmbeddings: [[0, 1]], nResults, where: filter.where, whereDocument: filter.whereDocument });
            for (const id of result.ids[0]) expect(matches.has(id), `${id} does not match ${JSON.stringify(filter)}`).toBe(true);
            expect(result.ids[0].length).toBe(Math.min(nResults, matches.size));
            const distances: number[] = result.distances[0];
            for (let j = 1; j < distances.length; j++) expect(distances[j]).toBeGreaterThanOrEqual(distances[j - 1]);
          } finally {
            await client.deleteCollection({ name: col.name });
          }
        },
      ),
      { seed: fuzzSeed(4243), numRuns: fuzzRuns(100) },
    );
  });

  it("the reference evaluator itself encodes the spec's edge cases", () => {
    // Guards the oracle: if these fail, the property above would be checking the wrong thing.
    expect(evalWhere({ k: { $ne: 1 } }, null)).toBe(true);
    expect(evalWhere({ k: { $nin: [1] } }, { other: 1 })).toBe(true);
    expect(evalWhere({ k: "a" }, { k: ["a"] })).toBe(false);
    expect(evalWhere({ k: { $contains: "a" } }, { k: "a" })).toBe(false);
    expect(evalWhere({ k: { $not_contains: "a" } }, { k: "a" })).toBe(true);
    expect(evalWhere({ k: { $gt: 1 } }, { k: 1.25 })).toBe(true);
    expect(evalWhere({ k: 1 }, { k: true })).toBe(false);
    expect(evalWhereDocument({ $not_contains: "x" }, null)).toBe(true);
    expect(evalWhereDocument({ $regex: "(?i)CAT" }, "a cat")).toBe(true);
    expect(evalWhereDocument({ $contains: "Cat" }, "a cat")).toBe(false);
    expect(evalWhere({ "#document": { $not_regex: "x" } }, { k: 1 }, null)).toBe(true);
    expect(evalWhere({ "#document": { $contains: "at" } }, null, "cat")).toBe(true);
  });
});
