/**
 * The collection-API conformance suite, written once as a function of a client factory so that every
 * client kind runs the same cases: the embedded clients (EphemeralClient, PersistentClient, RustClient)
 * and, later, an HTTP client against a real Chroma server.
 *
 * Every expectation comes from shared/reference/chroma-semantics.md (Chroma 1.5 semantics). Where chromalite
 * deliberately differs from Chroma (§14 "defect:" rows) the suite tests chromalite's behaviour and says so.
 *
 * Isolation: clients on one path (or all ephemeral clients of a process) share one system, so every test
 * works on collections with unique names and never depends on what other tests left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChromaClosedError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaServerError,
  ChromaUniqueError,
  ChromaValueError,
} from "../dist/index.js";
import {
  cosineDistance,
  distance,
  distanceMagnitude,
  distanceTolerance,
  dot,
  ErrorSpec,
  expectRejects,
  expectVectorClose,
  f32,
  hashEmbed,
  ipDistance,
  l2Squared,
  seededRandom,
  sorted,
  Space,
  testEmbeddingFunction,
  uniqueName,
} from "./helpers.js";

/** A client as the suite uses it: the chromadb v3 `ChromaClient` surface (kept loose on purpose). */
export type ConformanceClient = any;
export type ConformanceAdminClient = any;

/** Which error classes each Chroma error code must surface as, for the client under test. */
export interface ConformanceErrors {
  /** NotFound (missing collection, tenant, database). */
  notFound: ErrorSpec[];
  /** AlreadyExists (duplicate collection, tenant, database; rename onto an existing name). */
  unique: ErrorSpec[];
  /** InvalidArgument and client-side validation. */
  invalid: ErrorSpec[];
  /** PermissionDenied (reset without allowReset). */
  forbidden: ErrorSpec[];
  /** Internal errors: what a clear typed error must NOT be. */
  server: ErrorSpec[];
  /** Calls on a closed client; omit for clients that have no close(). */
  closed?: ErrorSpec[];
}

export interface ConformanceOptions {
  /** The client runs in-process (enables cases that only make sense locally). */
  embedded?: boolean;
  /** Error classes of the client under test; defaults to chromalite's. */
  errors?: Partial<ConformanceErrors>;
  /** Check error messages too (a transport that replaces server messages by generic ones turns this off). */
  checkMessages?: boolean;
  /** Tenant / database administration, for the isolation cases. */
  makeAdminClient?: () => ConformanceAdminClient | Promise<ConformanceAdminClient>;
  /** A client bound to a tenant and database (same system as `makeClient`). */
  makeClientFor?: (tenant: string, database: string) => ConformanceClient | Promise<ConformanceClient>;
  /** A client of a system of its own whose settings allow reset. */
  makeResettableClient?: () => ConformanceClient | Promise<ConformanceClient>;
  /** Releases a client made by one of the factories (default: `client.close?.()`). */
  closeClient?: (client: ConformanceClient) => Promise<void> | void;
  /** Largest accepted batch (local Chroma: 32766 / 6 = 5461). */
  maxBatchSize?: number;
  /**
   * The backend is a real Chroma server: skip the cases where chromalite deliberately does better than Chroma
   * (§14 "defect:" rows), since Chroma itself fails them.
   */
  chromaServer?: boolean;
}

const chromaliteErrors: ConformanceErrors = {
  notFound: [{ cls: ChromaNotFoundError, name: "ChromaNotFoundError" }],
  unique: [{ cls: ChromaUniqueError, name: "ChromaUniqueError" }],
  invalid: [{ cls: ChromaValueError, name: "ChromaValueError" }],
  forbidden: [{ cls: ChromaForbiddenError, name: "ChromaForbiddenError" }],
  server: [{ cls: ChromaServerError, name: "ChromaServerError" }],
  closed: [{ cls: ChromaClosedError, name: "ChromaClosedError" }],
};

// ------------------------------------------------------------------------------------------------
// Fixture for the filter cases: 8 records covering every value type, arrays, missing keys, missing
// metadata and missing documents. The expected id sets in the cases below follow from §5.
// ------------------------------------------------------------------------------------------------
interface FixtureRecord {
  id: string;
  embedding: number[];
  metadata: Record<string, unknown> | null;
  document: string | null;
}

export const FILTER_FIXTURE: FixtureRecord[] = [
  {
    id: "m1",
    embedding: [1, 0, 0],
    metadata: { i: 1, n: 2, f: 1.5, s: "apple", b: true, tags: ["red", "green"], nums: [1, 2, 3] },
    document: "The cat sat on the mat",
  },
  {
    id: "m2",
    embedding: [0, 1, 0],
    metadata: { i: 2, n: 2.5, f: 2.5, s: "banana", b: false, tags: ["green"], fl: [1.5, 2.5] },
    document: "A dog chased the Cat",
  },
  {
    id: "m3",
    embedding: [0, 0, 1],
    metadata: { i: 3, n: 3, f: 3.25, s: "cherry", b: true, flags: [true] },
    document: "cats and dogs",
  },
  { id: "m4", embedding: [1, 1, 0], metadata: { i: 10, s: "apple", tags: ["blue"] }, document: "100% pure_fun CAT" },
  { id: "m5", embedding: [0, 1, 1], metadata: { f: -1.5, other: "x", tags: "green" }, document: null },
  { id: "m6", embedding: [1, 0, 1], metadata: null, document: "Nothing here" },
  { id: "m7", embedding: [1, 1, 1], metadata: null, document: null },
  { id: "m8", embedding: [2, 0, 0], metadata: { s: "Apple", b: false, i: -5 }, document: "apple pie" },
];
const ALL_FIXTURE_IDS = FILTER_FIXTURE.map((r) => r.id);
const allBut = (...excluded: string[]) => ALL_FIXTURE_IDS.filter((id) => !excluded.includes(id));

/** Adds fixture records: those with documents in one call, those without in another (null documents are not valid input). */
async function addFixture(collection: any, records: FixtureRecord[]): Promise<void> {
  const withDocs = records.filter((r) => r.document !== null);
  const withoutDocs = records.filter((r) => r.document === null);
  if (withDocs.length > 0) {
    await collection.add({
      ids: withDocs.map((r) => r.id),
      embeddings: withDocs.map((r) => r.embedding),
      metadatas: withDocs.map((r) => r.metadata),
      documents: withDocs.map((r) => r.document),
    });
  }
  if (withoutDocs.length > 0) {
    await collection.add({
      ids: withoutDocs.map((r) => r.id),
      embeddings: withoutDocs.map((r) => r.embedding),
      metadatas: withoutDocs.map((r) => r.metadata),
    });
  }
}

/** Registers the whole conformance suite under `describe(label)`. */
export function conformanceSuite(
  label: string,
  makeClient: () => Promise<ConformanceClient> | ConformanceClient,
  options: ConformanceOptions = {},
): void {
  const errors: ConformanceErrors = { ...chromaliteErrors, ...(options.errors ?? {}) };
  const checkMessages = options.checkMessages ?? true;
  const maxBatchSize = options.maxBatchSize ?? 5461;
  const closeClient = options.closeClient ?? ((c: ConformanceClient) => c?.close?.());
  /** A case where chromalite fixes a Chroma defect (§14): skipped against a real Chroma server. */
  const itFixed = options.chromaServer ? it.skip : it;
  /** A case that only makes sense in process. */
  const itEmbedded = options.embedded ? it : it.skip;

  const rejects = (action: Promise<unknown> | (() => unknown), specs: ErrorSpec[], message?: RegExp | string) =>
    expectRejects(action, specs, message, checkMessages);
  const invalid = (action: Promise<unknown> | (() => unknown), message?: RegExp | string) =>
    rejects(action, errors.invalid, message);
  const notFound = (action: Promise<unknown> | (() => unknown), message?: RegExp | string) =>
    rejects(action, errors.notFound, message);

  describe(`conformance: ${label}`, () => {
    let client: ConformanceClient;
    beforeAll(async () => {
      client = await makeClient();
    });
    afterAll(async () => {
      await closeClient(client);
    });

    /** A new collection with no embedding function (tests always pass explicit embeddings). */
    const newCollection = (args: Record<string, unknown> = {}) =>
      client.createCollection({ name: uniqueName(), embeddingFunction: null, ...args });

    // ============================================================================================
    describe("client", () => {
      it("heartbeat is the current time in nanoseconds since the epoch", async () => {
        const before = Date.now();
        const beat = await client.heartbeat();
        const after = Date.now();
        expect(typeof beat).toBe("number");
        // Within a minute of the wall clock: proves the unit is nanoseconds (ms or µs would be 1e3+ off).
        expect(beat / 1e6).toBeGreaterThan(before - 60_000);
        expect(beat / 1e6).toBeLessThan(after + 60_000);
      });

      it("version() is a semantic version string", async () => {
        const version = await client.version();
        expect(typeof version).toBe("string");
        expect(version).toMatch(/^\d+\.\d+\.\d+/);
      });

      it("reset() without allowReset is forbidden", async () => {
        const name = uniqueName("survivor");
        await client.createCollection({ name, embeddingFunction: null });
        await rejects(client.reset(), errors.forbidden, /Reset is disabled by config|Resetting is not allowed/);
        // Nothing was dropped.
        const again = await client.getCollection({ name });
        expect(again.name).toBe(name);
        await client.deleteCollection({ name });
      });

      if (options.makeResettableClient) {
        it("reset() with allowReset drops every collection and keeps the default tenant and database usable", async () => {
          const resettable = await options.makeResettableClient!();
          try {
            const names = [uniqueName("r"), uniqueName("r")];
            for (const name of names) {
              const col = await resettable.createCollection({ name, embeddingFunction: null });
              await col.add({ ids: ["x"], embeddings: [[1, 2]] });
            }
            expect(await resettable.countCollections()).toBeGreaterThanOrEqual(2);
            await resettable.reset();
            expect(await resettable.countCollections()).toBe(0);
            expect(await resettable.listCollections()).toEqual([]);
            await notFound(resettable.getCollection({ name: names[0] }));
            // The default tenant and database exist again: creating and using a collection works.
            const fresh = await resettable.createCollection({ name: names[0], embeddingFunction: null });
            expect(await fresh.count()).toBe(0);
            await fresh.add({ ids: ["y"], embeddings: [[1, 2, 3]] });
            expect(await fresh.count()).toBe(1);
          } finally {
            await closeClient(resettable);
          }
        });
      }

      if (errors.closed) {
        const closed = errors.closed;
        it("close() is idempotent and later calls reject with the closed error; other clients keep working", async () => {
          const other = await makeClient();
          const name = uniqueName("closing");
          const col = await other.createCollection({ name, embeddingFunction: null });
          await col.add({ ids: ["a"], embeddings: [[1, 2]] });
          await other.close();
          await other.close(); // idempotent
          await rejects(other.listCollections(), closed, /closed/i);
          await rejects(other.getCollection({ name }), closed, /closed/i);
          await rejects(other.countCollections(), closed, /closed/i);
          await rejects(other.createCollection({ name: uniqueName(), embeddingFunction: null }), closed, /closed/i);
          await rejects(col.count(), closed, /closed/i);
          await rejects(col.get(), closed, /closed/i);
          await rejects(col.add({ ids: ["b"], embeddings: [[1, 2]] }), closed, /closed/i);
          await rejects(col.query({ queryEmbeddings: [[1, 2]], nResults: 1 }), closed, /closed/i);
          // The suite's own client (same shared system) is unaffected and sees the data.
          const mine = await client.getCollection({ name });
          expect(await mine.count()).toBe(1);
          await client.deleteCollection({ name });
        });
      }
    });

    // ============================================================================================
    describe("collection lifecycle", () => {
      it("createCollection returns id, name and metadata; getCollection returns the same", async () => {
        const name = uniqueName();
        const metadata = { description: "fruit", rank: 3, score: 0.5, active: true };
        const created = await client.createCollection({ name, metadata, embeddingFunction: null });
        expect(created.name).toBe(name);
        expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(created.metadata).toEqual(metadata);
        const fetched = await client.getCollection({ name });
        expect(fetched.id).toBe(created.id);
        expect(fetched.name).toBe(name);
        expect(fetched.metadata).toEqual(metadata);
        expect(await fetched.count()).toBe(0);
      });

      it("a collection created without metadata has no metadata", async () => {
        const col = await newCollection();
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.metadata ?? null).toBeNull();
      });

      it("collection metadata keeps int, float, bool and str distinct", async () => {
        const metadata = { anInt: 7, aFloat: 7.25, aBool: false, aStr: "7", negative: -3, big: 2 ** 40 };
        const col = await newCollection({ metadata });
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.metadata).toEqual(metadata);
        expect(typeof fetched.metadata.aBool).toBe("boolean");
        expect(typeof fetched.metadata.aStr).toBe("string");
        expect(Number.isInteger(fetched.metadata.anInt)).toBe(true);
      });

      it("creating an existing name fails with the unique error", async () => {
        const col = await newCollection();
        await rejects(
          client.createCollection({ name: col.name, embeddingFunction: null }),
          errors.unique,
          `Collection [${col.name}] already exists`,
        );
      });

      it("getCollection of a missing name fails with not found", async () => {
        const name = uniqueName("missing");
        await notFound(client.getCollection({ name }), `Collection [${name}] does not exist`);
      });

      it("getOrCreateCollection creates when missing and otherwise returns the existing collection unchanged", async () => {
        const name = uniqueName();
        const first = await client.getOrCreateCollection({ name, metadata: { v: 1 }, embeddingFunction: null });
        expect(first.metadata).toEqual({ v: 1 });
        await first.add({ ids: ["a"], embeddings: [[1, 2]] });
        const second = await client.getOrCreateCollection({
          name,
          metadata: { v: 2, other: "ignored" },
          configuration: { hnsw: { space: "ip" } },
          embeddingFunction: null,
        });
        expect(second.id).toBe(first.id);
        expect(second.metadata).toEqual({ v: 1 });
        expect(await second.count()).toBe(1);
        const fetched = await client.getCollection({ name });
        expect(fetched.metadata).toEqual({ v: 1 });
        // The ignored configuration did not change the space: l2 distance of [1,2] to [0,0] is 5.
        const result = await fetched.query({ queryEmbeddings: [[0, 0]], nResults: 1 });
        expect(result.distances[0][0]).toBeCloseTo(5, 5);
      });

      it("getOrCreateCollection with metadata {} is rejected", async () => {
        await invalid(client.getOrCreateCollection({ name: uniqueName(), metadata: {}, embeddingFunction: null }), /empty/i);
      });

      it("listCollections is ordered by id, honours limit and offset, and defaults to 100", async () => {
        // Make sure there are more than 100 collections so the default limit shows.
        const made: string[] = [];
        const existing = await client.countCollections();
        const toMake = Math.max(5, 101 - existing);
        for (let i = 0; i < toMake; i++) {
          const col = await newCollection();
          made.push(col.name);
        }
        const total = await client.countCollections();
        expect(total).toBeGreaterThan(100);
        const everything = await client.listCollections({ limit: 100_000 });
        expect(everything.length).toBe(total);
        const ids = everything.map((c: any) => c.id);
        expect(ids).toEqual([...ids].sort());
        const names = new Set(everything.map((c: any) => c.name));
        for (const name of made) expect(names.has(name)).toBe(true);

        const defaults = await client.listCollections();
        expect(defaults.length).toBe(100);
        expect(defaults.map((c: any) => c.id)).toEqual(ids.slice(0, 100));

        for (const [limit, offset] of [
          [1, 0],
          [3, 2],
          [5, 5],
          [2, total - 1],
          [4, total + 3],
        ]) {
          const page = await client.listCollections({ limit, offset });
          expect(page.map((c: any) => c.id)).toEqual(ids.slice(offset, offset + limit));
          expect(page.length).toBe(Math.max(0, Math.min(limit, total - offset)));
        }
        const fromOffset = await client.listCollections({ offset: 3, limit: 100_000 });
        expect(fromOffset.map((c: any) => c.id)).toEqual(ids.slice(3));
        for (const name of made) await client.deleteCollection({ name });
        expect(await client.countCollections()).toBe(total - made.length);
      });

      it("listed collections carry their name and metadata", async () => {
        const col = await newCollection({ metadata: { listed: "yes" } });
        const all = await client.listCollections({ limit: 100_000 });
        const found = all.find((c: any) => c.id === col.id);
        expect(found).toBeTruthy();
        expect(found.name).toBe(col.name);
        expect(found.metadata).toEqual({ listed: "yes" });
      });

      it("countCollections follows creates and deletes", async () => {
        const before = await client.countCollections();
        expect(typeof before).toBe("number");
        const a = await newCollection();
        const b = await newCollection();
        expect(await client.countCollections()).toBe(before + 2);
        await client.deleteCollection({ name: a.name });
        expect(await client.countCollections()).toBe(before + 1);
        await client.deleteCollection({ name: b.name });
        expect(await client.countCollections()).toBe(before);
      });

      it("deleteCollection removes it; later use of the name or the handle fails with not found", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]] });
        await client.deleteCollection({ name: col.name });
        const listed = await client.listCollections({ limit: 100_000 });
        expect(listed.some((c: any) => c.name === col.name)).toBe(false);
        await notFound(client.getCollection({ name: col.name }), `Collection [${col.name}] does not exist`);
        await notFound(client.deleteCollection({ name: col.name }));
        const doesNotExist = /Collection .* does not exist/;
        await notFound(col.count(), doesNotExist);
        await notFound(col.add({ ids: ["c"], embeddings: [[1, 2]] }), doesNotExist);
        await notFound(col.upsert({ ids: ["c"], embeddings: [[1, 2]] }), doesNotExist);
        await notFound(col.update({ ids: ["a"], embeddings: [[1, 2]] }), doesNotExist);
        await notFound(col.get(), doesNotExist);
        await notFound(col.query({ queryEmbeddings: [[1, 2]], nResults: 1 }), doesNotExist);
        await notFound(col.delete({ ids: ["a"] }), doesNotExist);
        await notFound(col.modify({ metadata: { x: 1 } }), doesNotExist);
      });

      it("getCollectionById finds the collection; an unknown id fails with not found", async () => {
        const col = await newCollection({ metadata: { by: "id" } });
        const byId = await client.getCollectionById(col.id);
        expect(byId.name).toBe(col.name);
        expect(byId.metadata).toEqual({ by: "id" });
        const unknown = "00000000-1111-4222-8333-444444444444";
        await notFound(client.getCollectionById(unknown), `Collection [${unknown}] does not exist`);
      });

      it("getCollections returns several collections by name", async () => {
        const a = await newCollection();
        const b = await newCollection();
        const both = await client.getCollections([a.name, b.name]);
        expect(both.map((c: any) => c.id)).toEqual([a.id, b.id]);
        await notFound(client.getCollections([a.name, uniqueName("missing")]));
      });

      it("collections report their tenant and database", async () => {
        const col = await newCollection();
        expect(col.tenant).toBe("default_tenant");
        expect(col.database).toBe("default_database");
      });

      itEmbedded("getMaxBatchSize reports the local batch limit", async () => {
        expect(await client.getMaxBatchSize()).toBe(maxBatchSize);
      });

      it("deleteCollection of a missing name fails with not found", async () => {
        await notFound(client.deleteCollection({ name: uniqueName("never") }));
      });

      it("getCollection / deleteCollection with an invalid name answer not found (only create validates)", async () => {
        await notFound(client.getCollection({ name: "a" }));
        await notFound(client.deleteCollection({ name: "bad name!" }));
      });

      itFixed("a recreated collection starts empty: no records, documents or array metadata leak from the deleted one", async () => {
        const name = uniqueName();
        const first = await client.createCollection({ name, embeddingFunction: null });
        await first.add({
          ids: ["a", "b", "c"],
          embeddings: [[1, 0], [0, 1], [1, 1]],
          metadatas: [{ tags: ["x", "y"], k: 1 }, { tags: ["y"] }, { nums: [1, 2] }],
          documents: ["alpha", "beta", "gamma"],
        });
        await client.deleteCollection({ name });
        const second = await client.createCollection({ name, embeddingFunction: null });
        expect(second.id).not.toBe(first.id);
        expect(await second.count()).toBe(0);
        expect((await second.get()).ids).toEqual([]);
        // Dimension is new too: a different dimension is accepted.
        await second.add({ ids: ["a", "b", "c"], embeddings: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] });
        const got = await second.get({ include: ["metadatas", "documents"] });
        expect(got.ids).toEqual(["a", "b", "c"]);
        expect(got.metadatas).toEqual([null, null, null]);
        expect(got.documents).toEqual([null, null, null]);
        expect((await second.get({ where: { tags: { $contains: "y" } } })).ids).toEqual([]);
        expect((await second.get({ where: { nums: { $contains: 1 } } })).ids).toEqual([]);
        expect((await second.get({ whereDocument: { $contains: "a" } })).ids).toEqual([]);
        // Another collection created after the delete does not inherit anything either.
        const other = await newCollection();
        await other.add({ ids: ["p", "q", "r", "s"], embeddings: [[1], [2], [3], [4]] });
        const otherGot = await other.get();
        expect(otherGot.metadatas).toEqual([null, null, null, null]);
        expect(otherGot.documents).toEqual([null, null, null, null]);
        expect((await other.get({ where: { tags: { $contains: "x" } } })).ids).toEqual([]);
        expect((await other.get({ where: { $or: [{ nums: { $contains: 2 } }, { k: 1 }] } })).ids).toEqual([]);
      });

      it("modify renames: the new name resolves, the old one is gone, the handle shows the new name", async () => {
        const col = await newCollection({ metadata: { keep: "me" } });
        await col.add({ ids: ["a"], embeddings: [[1, 2]] });
        const oldName = col.name;
        const newName = uniqueName("renamed");
        await col.modify({ name: newName });
        expect(col.name).toBe(newName);
        const fetched = await client.getCollection({ name: newName });
        expect(fetched.id).toBe(col.id);
        expect(fetched.metadata).toEqual({ keep: "me" }); // omitted metadata is unchanged
        expect(await fetched.count()).toBe(1);
        await notFound(client.getCollection({ name: oldName }));
        // The old name is free again.
        const reused = await client.createCollection({ name: oldName, embeddingFunction: null });
        expect(reused.id).not.toBe(col.id);
      });

      it("modify replaces metadata wholesale", async () => {
        const col = await newCollection({ metadata: { a: 1, b: "two" } });
        await col.modify({ metadata: { c: true, a: 5.5 } });
        expect(col.metadata).toEqual({ c: true, a: 5.5 });
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.metadata).toEqual({ c: true, a: 5.5 });
        expect(fetched.name).toBe(col.name);
      });

      it("modify with metadata {} is rejected and leaves the metadata unchanged", async () => {
        const col = await newCollection({ metadata: { a: 1 } });
        await invalid(col.modify({ metadata: {} }), /empty/i);
        expect((await client.getCollection({ name: col.name })).metadata).toEqual({ a: 1 });
      });

      itFixed("renaming onto an existing name fails with the unique error (chromalite: not a raw SQLite error)", async () => {
        const a = await newCollection();
        const b = await newCollection();
        await rejects(b.modify({ name: a.name }), errors.unique, a.name);
        // Both are still there under their own names.
        expect((await client.getCollection({ name: a.name })).id).toBe(a.id);
        expect((await client.getCollection({ name: b.name })).id).toBe(b.id);
      });

      it("renaming to an invalid name fails with the name rule message", async () => {
        const col = await newCollection();
        await invalid(col.modify({ name: "x" }), "Expected a name containing 3-512 characters");
        await invalid(col.modify({ name: "a..b" }), "two consecutive periods");
        expect((await client.getCollection({ name: col.name })).id).toBe(col.id);
      });
    });

    // ============================================================================================
    describe("collection name rules", () => {
      const shapeMessage = (name: string) =>
        `Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and ending with a character in [a-zA-Z0-9]. Got: ${name}`;
      const badShapes = ["ab", "a", "-abc", "abc-", "_abc", "abc.", "ab c", "abc!", "a/bc", "ábc", "x".repeat(513), "::1"];
      for (const bad of badShapes) {
        it(`rejects ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…(${bad.length})` : bad)} with the shape message`, async () => {
          await invalid(client.createCollection({ name: bad, embeddingFunction: null }), shapeMessage(bad));
        });
      }

      it("rejects the empty name", async () => {
        await invalid(client.createCollection({ name: "", embeddingFunction: null }));
      });

      it("rejects two consecutive periods", async () => {
        await invalid(
          client.createCollection({ name: "abc..def", embeddingFunction: null }),
          "Expected a name that does not contains two consecutive periods (..). Got abc..def",
        );
      });

      it("rejects IP addresses", async () => {
        for (const ip of ["192.168.0.1", "10.0.0.255"]) {
          await invalid(client.createCollection({ name: ip, embeddingFunction: null }), `Expected a name that is not a valid ip address. Got ${ip}`);
        }
      });

      it("the name errors carry Chroma's validation prefix", async () => {
        await invalid(client.createCollection({ name: "ab", embeddingFunction: null }), /Validation error: name:/);
      });

      it("accepts names at the edges of the rules", async () => {
        const suffix = uniqueName("").replace(/[^a-z0-9]/g, "");
        const names = [
          `a${suffix.slice(0, 1)}b`.slice(0, 3), // exactly 3
          `A.b_c-${suffix}`,
          `9${suffix}9`,
          `${suffix}${"z".repeat(512)}`.slice(0, 512), // exactly 512
          `1.2.3.4.${suffix}`, // dotted but not an IP
        ];
        for (const name of names) {
          let created: any;
          try {
            created = await client.createCollection({ name, embeddingFunction: null });
          } catch (error) {
            // A 3-char name may already exist from an earlier run on a shared server; that is fine.
            if (name.length === 3 && errors.unique.some((s) => error instanceof s.cls)) continue;
            throw error;
          }
          expect(created.name).toBe(name);
          expect((await client.getCollection({ name })).id).toBe(created.id);
          await client.deleteCollection({ name });
        }
      });

      it("names are case-sensitive", async () => {
        const name = `Case${uniqueName("").replace(/[^a-z0-9]/g, "")}`;
        const upper = await client.createCollection({ name, embeddingFunction: null });
        const lower = await client.createCollection({ name: name.toLowerCase(), embeddingFunction: null });
        expect(upper.id).not.toBe(lower.id);
      });
    });

    // ============================================================================================
    describe("collection metadata and configuration", () => {
      it("metadata {} is rejected on create", async () => {
        await invalid(newCollection({ metadata: {} }), /Metadata cannot be empty|Expected metadata to be non-empty/);
      });

      it("metadata keys must not be empty or start with # or $", async () => {
        await invalid(newCollection({ metadata: { "": 1 } }), /Metadata key cannot be empty/);
        await invalid(newCollection({ metadata: { $bad: 1 } }), "Metadata key cannot start with '#' or '$': $bad");
        await invalid(newCollection({ metadata: { "#bad": 1 } }), "Metadata key cannot start with '#' or '$': #bad");
      });

      itFixed("an array value in collection metadata is accepted or rejected cleanly (chromalite: never a crash)", async () => {
        let col: any;
        try {
          col = await newCollection({ metadata: { tags: ["a", "b"], n: 1 } });
        } catch (error) {
          expect(errors.invalid.some((s) => error instanceof s.cls), `unexpected ${String(error)}`).toBe(true);
        }
        if (col) {
          expect((await client.getCollection({ name: col.name })).metadata).toEqual({ tags: ["a", "b"], n: 1 });
        }
        // The client is still healthy.
        expect(typeof (await client.countCollections())).toBe("number");
      });

      it("legacy hnsw:* keys stay in the metadata and set the index configuration", async () => {
        const metadata = { "hnsw:space": "cosine", "hnsw:M": 32, "hnsw:construction_ef": 120, "hnsw:search_ef": 50, other: "x" };
        const col = await newCollection({ metadata });
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.metadata).toEqual(metadata);
        expect(fetched.configuration?.hnsw?.space).toBe("cosine");
        expect(fetched.configuration?.hnsw?.max_neighbors ?? fetched.configuration?.hnsw?.maxNeighbors).toBe(32);
        // Behaviour: cosine distance, not l2.
        await col.add({ ids: ["a"], embeddings: [[3, 0]] });
        const result = await col.query({ queryEmbeddings: [[1, 1]], nResults: 1 });
        expect(result.distances[0][0]).toBeCloseTo(1 - Math.SQRT1_2, 5);
      });

      // Chroma's server words these "Failed to parse hnsw parameters from segment metadata".
      const hnswError = options.chromaServer
        ? /Invalid HNSW parameters|Failed to parse hnsw parameters/
        : /Invalid HNSW parameters/;

      it("an unknown hnsw:* key is an error", async () => {
        await invalid(newCollection({ metadata: { "hnsw:bogus": 1 } }), hnswError);
      });

      it("a legacy hnsw:* key of the wrong type or out of range is an error", async () => {
        await invalid(newCollection({ metadata: { "hnsw:M": "sixteen" } }), hnswError);
        await invalid(newCollection({ metadata: { "hnsw:sync_threshold": 1 } }), hnswError);
        await invalid(newCollection({ metadata: { "hnsw:batch_size": 1 } }), hnswError);
      });

      it("an invalid space is an error, in metadata and in configuration", async () => {
        await invalid(newCollection({ metadata: { "hnsw:space": "manhattan" } }), options.chromaServer ? hnswError : /manhattan/);
        await invalid(newCollection({ configuration: { hnsw: { space: "manhattan" } } }), /manhattan/);
      });

      it("the default space is l2 and the default configuration is reported", async () => {
        const col = await newCollection();
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.configuration?.hnsw?.space ?? "l2").toBe("l2");
        await col.add({ ids: ["a"], embeddings: [[1, 2, 3]] });
        const result = await col.query({ queryEmbeddings: [[0, 0, 0]], nResults: 1 });
        expect(result.distances[0][0]).toBeCloseTo(14, 4);
      });

      for (const space of ["l2", "cosine", "ip"] as Space[]) {
        it(`configuration.hnsw.space = ${space} is stored and used`, async () => {
          const col = await newCollection({ configuration: { hnsw: { space } } });
          expect(col.configuration?.hnsw?.space).toBe(space);
          expect((await client.getCollection({ name: col.name })).configuration?.hnsw?.space).toBe(space);
          const stored = [0.5, -2, 3];
          const query = [1, 1.5, -0.25];
          await col.add({ ids: ["a"], embeddings: [stored] });
          const result = await col.query({ queryEmbeddings: [query], nResults: 1 });
          expect(result.distances[0][0]).toBeCloseTo(distance(space, stored, query), 4);
        });
      }

      it("a spann configuration becomes an HNSW index that keeps only the space", async () => {
        const col = await newCollection({ configuration: { spann: { space: "ip" } } });
        await col.add({ ids: ["a"], embeddings: [[0.5, 2]] });
        const result = await col.query({ queryEmbeddings: [[2, 1]], nResults: 1 });
        expect(result.distances[0][0]).toBeCloseTo(1 - 3, 5);
      });

      it("hnsw and spann together are rejected", async () => {
        await invalid(newCollection({ configuration: { hnsw: { space: "l2" }, spann: { space: "l2" } } }), /hnsw and spann/i);
      });

      it("modify can change ef_search but not the space", async () => {
        const col = await newCollection({ configuration: { hnsw: { space: "ip", ef_search: 10 } } });
        await col.modify({ configuration: { hnsw: { ef_search: 200 } } });
        const fetched = await client.getCollection({ name: col.name });
        expect(fetched.configuration?.hnsw?.ef_search ?? fetched.configuration?.hnsw?.efSearch).toBe(200);
        expect(fetched.configuration?.hnsw?.space).toBe("ip");
        await invalid(col.modify({ configuration: { hnsw: { space: "l2" } } }));
        expect((await client.getCollection({ name: col.name })).configuration?.hnsw?.space).toBe("ip");
      });
    });

    // ============================================================================================
    describe("records: add / get", () => {
      it("round-trips ids, embeddings, metadatas, documents and uris", async () => {
        const col = await newCollection();
        const embeddings = [
          [0.1, 0.2, 0.3],
          [-1.5, 2.25, 1e-3],
          [123456.789, -0.000001, 42],
        ];
        const metadatas = [
          { s: "x", i: 1, f: 1.5, b: true, neg: -7, arr: ["p", "q"] },
          { unicode: "héllo wörld ✓", zero: 0, falsy: false, floats: [0.5, 1.25], ints: [3, 1, 2], bools: [true, false] },
          { big: 2 ** 50, tiny: 1e-10 },
        ];
        const documents = ["first doc", "second — ünïcödé 文档", "third"];
        const uris = ["file:///a", "https://example.com/b", "s3://bucket/c"];
        await col.add({ ids: ["r1", "r2", "r3"], embeddings, metadatas, documents, uris });
        const got = await col.get({ include: ["embeddings", "metadatas", "documents", "uris"] });
        expect(got.ids).toEqual(["r1", "r2", "r3"]);
        expect(got.metadatas).toEqual(metadatas);
        expect(got.documents).toEqual(documents);
        expect(got.uris).toEqual(uris);
        got.embeddings.forEach((e: number[], i: number) => expect(Array.from(e)).toEqual(f32(embeddings[i])));
        expect(sorted(got.include)).toEqual(sorted(["embeddings", "metadatas", "documents", "uris"]));
        // Internal keys (chroma:document, chroma:uri) never leak into metadata.
        for (const m of got.metadatas) for (const key of Object.keys(m ?? {})) expect(key.startsWith("chroma:")).toBe(false);
      });

      it("partial records: missing metadata and documents read back as null", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b", "c"], embeddings: [[1, 1], [2, 2], [3, 3]], metadatas: [{ a: 1 }, null, { a: 3 }] });
        await col.add({ ids: ["d"], embeddings: [[4, 4]], documents: ["dee"] });
        const got = await col.get();
        expect(got.ids).toEqual(["a", "b", "c", "d"]);
        expect(got.metadatas).toEqual([{ a: 1 }, null, { a: 3 }, null]);
        expect(got.documents).toEqual([null, null, null, "dee"]);
      });

      it("a record added with uris but no metadata reads back with metadata {}", async () => {
        const col = await newCollection();
        await col.add({ ids: ["u"], embeddings: [[1, 2]], uris: ["file:///u"] });
        const got = await col.get({ include: ["metadatas", "uris"] });
        expect(got.uris).toEqual(["file:///u"]);
        expect(got.metadatas).toEqual([{}]);
      });

      // Chroma's server truncates a float filter operand when the stored value is an int (2.5 matches 2).
      itFixed("record metadata: ints and floats stay distinct types", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ i: 3, f: 3.5, neg: -2, nf: -0.25 }] });
        const [m] = (await col.get()).metadatas;
        expect(m).toEqual({ i: 3, f: 3.5, neg: -2, nf: -0.25 });
        // Int and float behave differently in filters only through value; both are numbers in JS.
        expect((await col.get({ where: { f: { $gt: 3 } } })).ids).toEqual(["a"]);
        expect((await col.get({ where: { i: { $lt: 3.5 } } })).ids).toEqual(["a"]);
      });

      it("record metadata {} is rejected or read back as null", async () => {
        const col = await newCollection();
        let accepted = true;
        try {
          await col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{}] });
        } catch (error) {
          accepted = false;
          expect(errors.invalid.some((s) => error instanceof s.cls), String(error)).toBe(true);
        }
        if (accepted) expect((await col.get()).metadatas).toEqual([null]);
        else expect(await col.count()).toBe(0);
      });

      it("record metadata keys must not be empty or start with # or $", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ $x: 1 }] }), /cannot start with|Invalid metadata/);
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ "#x": 1 }] }), /cannot start with|Invalid metadata/);
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ "": 1 }] }), /empty|Invalid metadata/);
        expect(await col.count()).toBe(0);
      });

      it("sparse vector metadata values are rejected locally", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ sv: { "#type": "sparse_vector", indices: [1], values: [0.5] } }] }));
        expect(await col.count()).toBe(0);
      });

      it("record metadata arrays must be non-empty and of one type", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ tags: [] }] }), /non-empty|empty/);
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ tags: ["a", 1] }] }), /same type|list|array/i);
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ tags: [true, "x"] }] }), /same type|list|array/i);
        expect(await col.count()).toBe(0);
      });

      it("record metadata values must be scalars or arrays of scalars", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ nested: { x: 1 } }] }));
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ nested: [[1]] }] }));
        expect(await col.count()).toBe(0);
      });

      it("add of existing ids skips them silently and adds the others", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1, 1], [2, 2]], metadatas: [{ v: 1 }, { v: 2 }], documents: ["A", "B"] });
        await col.add({ ids: ["b", "c"], embeddings: [[9, 9], [3, 3]], metadatas: [{ v: 99 }, { v: 3 }], documents: ["B2", "C"] });
        expect(await col.count()).toBe(3);
        const got = await col.get({ include: ["embeddings", "metadatas", "documents"] });
        expect(got.ids).toEqual(["a", "b", "c"]);
        expect(got.metadatas).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
        expect(got.documents).toEqual(["A", "B", "C"]);
        expect(got.embeddings.map((e: number[]) => Array.from(e))).toEqual([[1, 1], [2, 2], [3, 3]]);
      });

      it("get returns records in insertion order, whatever order the ids are requested in", async () => {
        const col = await newCollection();
        await col.add({ ids: ["c", "a", "b"], embeddings: [[3], [1], [2]] });
        await col.add({ ids: ["z", "d"], embeddings: [[26], [4]] });
        expect((await col.get()).ids).toEqual(["c", "a", "b", "z", "d"]);
        expect((await col.get({ ids: ["d", "b", "c"] })).ids).toEqual(["c", "b", "d"]);
        expect((await col.get({ ids: ["z", "a"] })).ids).toEqual(["a", "z"]);
        // Upserting an existing record keeps its place; a deleted-then-re-added record moves to the end.
        await col.upsert({ ids: ["a"], embeddings: [[10]] });
        expect((await col.get()).ids).toEqual(["c", "a", "b", "z", "d"]);
        await col.delete({ ids: ["c"] });
        await col.add({ ids: ["c"], embeddings: [[3]] });
        expect((await col.get()).ids).toEqual(["a", "b", "z", "d", "c"]);
      });

      it("ids are arbitrary non-empty strings, unicode included", async () => {
        const col = await newCollection();
        const ids = ["ü-ñ", "🙂", "with space", "a/b\\c", "'quote\"", "x".repeat(300), "%", "_"];
        await col.add({ ids, embeddings: ids.map((_, i) => [i]) });
        expect((await col.get()).ids).toEqual(ids);
        expect((await col.get({ ids: ["🙂", "%"] })).ids).toEqual(["🙂", "%"]);
        expect((await col.delete({ ids: ["_"] })).deleted).toBe(1);
        expect((await col.get({ ids: ["_", "%"] })).ids).toEqual(["%"]);
      });

      it("concurrent writes to one collection are all applied", async () => {
        const col = await newCollection();
        await Promise.all(
          Array.from({ length: 16 }, (_, batch) =>
            col.add({
              ids: Array.from({ length: 25 }, (_, i) => `b${batch}-${i}`),
              embeddings: Array.from({ length: 25 }, (_, i) => [batch, i]),
              metadatas: Array.from({ length: 25 }, () => ({ batch })),
            }),
          ),
        );
        expect(await col.count()).toBe(400);
        await Promise.all(Array.from({ length: 16 }, (_, batch) => col.update({ ids: [`b${batch}-0`], metadatas: [{ touched: true }] })));
        expect((await col.get({ where: { touched: true } })).ids.length).toBe(16);
        await Promise.all(Array.from({ length: 8 }, (_, batch) => col.delete({ where: { batch } })));
        expect(await col.count()).toBe(200);
        const result = await col.query({ queryEmbeddings: [[15, 24]], nResults: 1 });
        expect(result.ids[0]).toEqual(["b15-24"]);
      });

      it("get of unknown ids returns empty lists, without error", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]] });
        const got = await col.get({ ids: ["nope", "nada"], include: ["embeddings", "metadatas", "documents"] });
        expect(got.ids).toEqual([]);
        expect(got.metadatas).toEqual([]);
        expect(got.documents).toEqual([]);
        expect(got.embeddings.length).toBe(0);
        expect((await col.get({ ids: ["nope", "a"] })).ids).toEqual(["a"]);
      });

      it("get with limit and offset pages in insertion order", async () => {
        const col = await newCollection();
        const ids = Array.from({ length: 12 }, (_, i) => `id${String(i).padStart(2, "0")}`).reverse();
        await col.add({ ids, embeddings: ids.map((_, i) => [i]), metadatas: ids.map((_, i) => ({ even: i % 2 === 0 })) });
        expect((await col.get({ limit: 3 })).ids).toEqual(ids.slice(0, 3));
        expect((await col.get({ limit: 4, offset: 5 })).ids).toEqual(ids.slice(5, 9));
        expect((await col.get({ offset: 10 })).ids).toEqual(ids.slice(10));
        expect((await col.get({ offset: 50 })).ids).toEqual([]);
        expect((await col.get({ limit: 100 })).ids).toEqual(ids);
        // limit / offset apply after filtering.
        const evens = ids.filter((_, i) => i % 2 === 0);
        expect((await col.get({ where: { even: true }, limit: 2, offset: 1 })).ids).toEqual(evens.slice(1, 3));
        expect((await col.get({ ids: [ids[7], ids[1], ids[4]], limit: 2 })).ids).toEqual([ids[1], ids[4]]);
      });

      it("get's default include is documents and metadatas", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1, 2]], metadatas: [{ k: "v" }], documents: ["doc"], uris: ["u://a"] });
        const got = await col.get();
        expect(sorted(got.include)).toEqual(["documents", "metadatas"]);
        expect(got.documents).toEqual(["doc"]);
        expect(got.metadatas).toEqual([{ k: "v" }]);
        expect(got.embeddings ?? []).toEqual([]);
        expect(got.uris ?? []).toEqual([]);
      });

      for (const item of ["embeddings", "metadatas", "documents", "uris"]) {
        it(`get include [${item}] returns only that field`, async () => {
          const col = await newCollection();
          await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]], metadatas: [{ k: 1 }, { k: 2 }], documents: ["da", "db"], uris: ["ua", "ub"] });
          const got = await col.get({ include: [item] });
          expect(got.ids).toEqual(["a", "b"]);
          expect(got.include).toEqual([item]);
          const expected: Record<string, unknown[]> = {
            embeddings: [[1, 2], [3, 4]],
            metadatas: [{ k: 1 }, { k: 2 }],
            documents: ["da", "db"],
            uris: ["ua", "ub"],
          };
          for (const field of Object.keys(expected)) {
            const value = (got as any)[field];
            if (field === item) {
              const normalised = field === "embeddings" ? value.map((e: number[]) => Array.from(e)) : value;
              expect(normalised).toEqual(expected[field]);
            } else {
              expect(value ?? []).toEqual([]);
            }
          }
        });
      }

      it("get with include [] returns ids only", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]], documents: ["d"] });
        const got = await col.get({ include: [] });
        expect(got.ids).toEqual(["a"]);
        expect(got.documents ?? []).toEqual([]);
        expect(got.metadatas ?? []).toEqual([]);
      });

      it("get include 'distances' is rejected", async () => {
        const col = await newCollection();
        await invalid(col.get({ include: ["distances"] }), /distances/);
      });

      it("an unknown include item is rejected", async () => {
        const col = await newCollection();
        await invalid(col.get({ include: ["bogus"] }), /bogus/);
      });

      it("rows() pairs each id with its fields", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]], metadatas: [{ k: 1 }, null], documents: ["da", "db"] });
        const rows = (await col.get({ include: ["documents", "metadatas", "embeddings"] })).rows();
        const records = Array.isArray(rows) ? rows : rows.records;
        expect(records.length).toBe(2);
        expect(records[0].id).toBe("a");
        expect(records[0].document).toBe("da");
        expect(records[0].metadata).toEqual({ k: 1 });
        expect(Array.from(records[0].embedding)).toEqual([1, 2]);
        expect(records[1].id).toBe("b");
        expect(records[1].document).toBe("db");
        expect(records[1].metadata).toBeNull();
      });

      itFixed("peek returns the first records in insertion order; without arguments the first 10", async () => {
        const col = await newCollection();
        const ids = Array.from({ length: 15 }, (_, i) => `p${14 - i}`);
        await col.add({ ids, embeddings: ids.map((_, i) => [i, i]) });
        expect((await col.peek({ limit: 3 })).ids).toEqual(ids.slice(0, 3));
        expect((await col.peek({})).ids).toEqual(ids.slice(0, 10));
        expect((await col.peek()).ids).toEqual(ids.slice(0, 10)); // chromalite: not a TypeError
      });

      it("count is the number of live records", async () => {
        const col = await newCollection();
        expect(await col.count()).toBe(0);
        await col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2], [3]] });
        expect(await col.count()).toBe(3);
        await col.delete({ ids: ["b"] });
        expect(await col.count()).toBe(2);
        await col.upsert({ ids: ["b", "c"], embeddings: [[2], [3]] });
        expect(await col.count()).toBe(3);
      });
    });

    // ============================================================================================
    describe("records: validation", () => {
      it("the first embeddings fix the dimension; later mismatches fail with Chroma's message", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1, 2, 3]] });
        const message = "Collection expecting embedding with dimension of 3, got 4";
        await invalid(col.add({ ids: ["b"], embeddings: [[1, 2, 3, 4]] }), message);
        await invalid(col.upsert({ ids: ["b"], embeddings: [[1, 2, 3, 4]] }), message);
        await invalid(col.update({ ids: ["a"], embeddings: [[1, 2, 3, 4]] }), message);
        await invalid(col.add({ ids: ["b"], embeddings: [[1, 2]] }), "Collection expecting embedding with dimension of 3, got 2");
        await invalid(col.query({ queryEmbeddings: [[1, 2, 3, 4]], nResults: 1 }), message);
        expect(await col.count()).toBe(1);
      });

      it("the dimension is never reset, even when the collection becomes empty", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]] });
        await col.delete({ ids: ["a", "b"] });
        expect(await col.count()).toBe(0);
        await invalid(col.add({ ids: ["c"], embeddings: [[1, 2, 3]] }), "Collection expecting embedding with dimension of 2, got 3");
        await col.add({ ids: ["c"], embeddings: [[5, 6]] });
        expect(await col.count()).toBe(1);
      });

      it("a query before any embedding was stored returns empty lists, whatever its dimension", async () => {
        const col = await newCollection();
        for (const dim of [1, 3, 17]) {
          const result = await col.query({ queryEmbeddings: [new Array(dim).fill(0.5), new Array(dim).fill(1)], nResults: 3, include: ["metadatas", "documents", "distances", "embeddings"] });
          expect(result.ids).toEqual([[], []]);
          expect(result.distances).toEqual([[], []]);
          expect(result.metadatas).toEqual([[], []]);
          expect(result.documents).toEqual([[], []]);
          expect(result.embeddings).toEqual([[], []]);
        }
      });

      it("mixed dimensions inside one batch are rejected", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a", "b"], embeddings: [[1, 2], [1, 2, 3]] }), /dimension/i);
        expect(await col.count()).toBe(0);
      });

      it("NaN and Infinity in embeddings are rejected", async () => {
        const col = await newCollection();
        const message = /NaN|Infinity|finite/;
        await invalid(col.add({ ids: ["a"], embeddings: [[1, NaN]] }), message);
        await invalid(col.add({ ids: ["a"], embeddings: [[Infinity, 1]] }), message);
        await invalid(col.upsert({ ids: ["a"], embeddings: [[-Infinity, 1]] }), message);
        await col.add({ ids: ["ok"], embeddings: [[1, 1]] });
        await invalid(col.update({ ids: ["ok"], embeddings: [[NaN, 1]] }), message);
        expect(await col.count()).toBe(1);
        expect(Array.from((await col.get({ include: ["embeddings"] })).embeddings[0])).toEqual([1, 1]);
      });

      it("an empty embedding is rejected", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], embeddings: [[]] }), /empty|at least 1 dimension/i);
        expect(await col.count()).toBe(0);
      });

      it("duplicate ids in one batch are rejected for add, upsert and update", async () => {
        const col = await newCollection();
        const message = /Expected IDs to be unique.*dup/;
        await invalid(col.add({ ids: ["dup", "x", "dup"], embeddings: [[1], [2], [3]] }), message);
        await invalid(col.upsert({ ids: ["dup", "dup"], embeddings: [[1], [2]] }), message);
        expect(await col.count()).toBe(0);
        await col.add({ ids: ["dup"], embeddings: [[1]] });
        await invalid(col.update({ ids: ["dup", "dup"], embeddings: [[1], [2]] }), message);
      });

      it("an empty ids list is rejected", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: [], embeddings: [] }), /non-empty/i);
        await invalid(col.upsert({ ids: [], embeddings: [] }), /non-empty/i);
        await invalid(col.update({ ids: [] }), /non-empty/i);
      });

      it("an empty id is rejected", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["ok", ""], embeddings: [[1], [2]] }), /Empty ID|at least one character/);
        expect(await col.count()).toBe(0);
      });

      it("fields of unequal lengths are rejected", async () => {
        const col = await newCollection();
        const message = /Unequal lengths|Inconsistent number/;
        await invalid(col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2]] }), message);
        await invalid(col.add({ ids: ["a", "b"], embeddings: [[1], [2]], documents: ["x"] }), message);
        await invalid(col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ a: 1 }, { a: 2 }] }), message);
        await invalid(col.upsert({ ids: ["a", "b"], embeddings: [[1], [2]], uris: ["u"] }), message);
        expect(await col.count()).toBe(0);
      });

      it("add without embeddings or documents is rejected when there is no embedding function", async () => {
        const col = await newCollection();
        await invalid(col.add({ ids: ["a"], documents: ["needs embedding"] }), /embedding function|embeddings/i);
        await invalid(col.add({ ids: ["a"] }));
        expect(await col.count()).toBe(0);
      });

      it(`batches above the max batch size (${maxBatchSize}) are rejected; the max itself is accepted`, async () => {
        const col = await newCollection();
        const over = maxBatchSize + 1;
        const ids = Array.from({ length: over }, (_, i) => `b${i}`);
        const embeddings = ids.map((_, i) => [i % 7, 1]);
        await invalid(col.add({ ids, embeddings }), /batch size/i);
        await invalid(col.upsert({ ids, embeddings }), /batch size/i);
        expect(await col.count()).toBe(0);
        await col.add({ ids: ids.slice(0, maxBatchSize), embeddings: embeddings.slice(0, maxBatchSize) });
        expect(await col.count()).toBe(maxBatchSize);
      });
    });

    // ============================================================================================
    describe("records: update / upsert", () => {
      it("update of a missing id is ignored", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1, 1]], metadatas: [{ v: 1 }] });
        await col.update({ ids: ["ghost"], embeddings: [[5, 5]], metadatas: [{ v: 2 }] });
        expect(await col.count()).toBe(1);
        expect((await col.get({ ids: ["ghost"] })).ids).toEqual([]);
        // Mixed: the existing one is updated, the missing one ignored.
        await col.update({ ids: ["ghost", "a"], metadatas: [{ v: 3 }, { v: 4 }] });
        expect((await col.get()).metadatas).toEqual([{ v: 4 }]);
        expect(await col.count()).toBe(1);
      });

      it("update merges metadata key by key and null deletes a key", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1], [2]], metadatas: [{ x: 1, y: "keep", z: true }, { x: 2 }] });
        await col.update({ ids: ["a", "b"], metadatas: [{ x: 10, z: null, w: [1, 2] }, { x: null }] });
        const got = await col.get();
        expect(got.metadatas).toEqual([{ x: 10, y: "keep", w: [1, 2] }, null]);
        // A key deleted by null no longer matches filters; $ne matches it as missing.
        expect((await col.get({ where: { z: true } })).ids).toEqual([]);
        expect((await col.get({ where: { x: { $ne: 10 } } })).ids).toEqual(["b"]);
      });

      it("update leaves unspecified fields unchanged", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1, 2]], metadatas: [{ m: 1 }], documents: ["old doc"], uris: ["u://old"] });
        await col.update({ ids: ["a"], documents: ["new doc"] });
        let got = await col.get({ include: ["embeddings", "metadatas", "documents", "uris"] });
        expect(got.documents).toEqual(["new doc"]);
        expect(got.metadatas).toEqual([{ m: 1 }]);
        expect(got.uris).toEqual(["u://old"]);
        expect(Array.from(got.embeddings[0])).toEqual([1, 2]);
        await col.update({ ids: ["a"], embeddings: [[3, 4]] });
        await col.update({ ids: ["a"], uris: ["u://new"] });
        got = await col.get({ include: ["embeddings", "metadatas", "documents", "uris"] });
        expect(Array.from(got.embeddings[0])).toEqual([3, 4]);
        expect(got.documents).toEqual(["new doc"]);
        expect(got.uris).toEqual(["u://new"]);
        expect(got.metadatas).toEqual([{ m: 1 }]);
        // The updated embedding is what queries see.
        const result = await col.query({ queryEmbeddings: [[3, 4]], nResults: 1 });
        expect(result.distances[0][0]).toBeCloseTo(0, 5);
      });

      it("an updated document is what whereDocument sees", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]], documents: ["alpha"] });
        await col.update({ ids: ["a"], documents: ["omega"] });
        expect((await col.get({ whereDocument: { $contains: "alpha" } })).ids).toEqual([]);
        expect((await col.get({ whereDocument: { $contains: "omega" } })).ids).toEqual(["a"]);
      });

      it("upsert inserts missing ids and merges into existing ones", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1, 1]], metadatas: [{ x: 1, y: 2 }], documents: ["A"] });
        await col.upsert({
          ids: ["a", "b"],
          embeddings: [[2, 2], [3, 3]],
          metadatas: [{ y: null, z: "new" }, { only: true }],
          documents: ["A2", "B"],
        });
        expect(await col.count()).toBe(2);
        const got = await col.get({ include: ["embeddings", "metadatas", "documents"] });
        expect(got.ids).toEqual(["a", "b"]);
        expect(got.metadatas).toEqual([{ x: 1, z: "new" }, { only: true }]);
        expect(got.documents).toEqual(["A2", "B"]);
        expect(got.embeddings.map((e: number[]) => Array.from(e))).toEqual([[2, 2], [3, 3]]);
      });

      it("upsert without metadata keeps the existing metadata", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]], metadatas: [{ keep: 1 }], documents: ["d"] });
        await col.upsert({ ids: ["a"], embeddings: [[2]] });
        const got = await col.get({ include: ["metadatas", "documents", "embeddings"] });
        expect(got.metadatas).toEqual([{ keep: 1 }]);
        expect(got.documents).toEqual(["d"]);
        expect(Array.from(got.embeddings[0])).toEqual([2]);
      });

      it("add → delete → add of the same ids leaves the re-added records", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1], [2]], metadatas: [{ gen: 1 }, { gen: 1 }] });
        await col.delete({ ids: ["a", "b"] });
        await col.add({ ids: ["a", "b"], embeddings: [[3], [4]], metadatas: [{ gen: 2 }, { gen: 2 }] });
        const got = await col.get({ include: ["metadatas", "embeddings"] });
        expect(got.metadatas).toEqual([{ gen: 2 }, { gen: 2 }]);
        expect(got.embeddings.map((e: number[]) => Array.from(e))).toEqual([[3], [4]]);
        const result = await col.query({ queryEmbeddings: [[1]], nResults: 5 });
        expect(result.ids[0]).toEqual(["a", "b"]);
        expect(result.distances[0][0]).toBeCloseTo(4, 5);
      });
    });

    // ============================================================================================
    describe("records: delete", () => {
      it("delete without ids, where or whereDocument is rejected", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]] });
        await invalid(col.delete({}), /At least one of|must be (provided|specified)/);
        expect(await col.count()).toBe(1);
      });

      it("delete with an empty ids list is rejected", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]] });
        await invalid(col.delete({ ids: [] }), /non-empty|must be specified/i);
        expect(await col.count()).toBe(1);
      });

      it("delete by ids returns the number of ids requested, existing or not", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2], [3]] });
        const result = await col.delete({ ids: ["a", "missing1", "missing2"] });
        expect(result).toEqual({ deleted: 3 });
        expect(await col.count()).toBe(2);
        expect((await col.get()).ids).toEqual(["b", "c"]);
      });

      it("delete on an empty collection succeeds", async () => {
        const col = await newCollection();
        const result = await col.delete({ ids: ["x"] });
        expect(result.deleted).toBeGreaterThanOrEqual(0);
        expect((await col.delete({ where: { a: 1 } })).deleted).toBe(0);
      });

      it("delete by filter returns the number matched; ids and filter intersect", async () => {
        const col = await newCollection();
        await col.add({
          ids: ["a", "b", "c", "d"],
          embeddings: [[1], [2], [3], [4]],
          metadatas: [{ k: 1 }, { k: 2 }, { k: 1 }, { k: 1 }],
          documents: ["red fox", "blue fox", "red dog", "green cat"],
        });
        expect(await col.delete({ where: { k: 1 }, ids: ["a", "b", "zzz"] })).toEqual({ deleted: 1 });
        expect((await col.get()).ids).toEqual(["b", "c", "d"]);
        expect(await col.delete({ whereDocument: { $contains: "fox" } })).toEqual({ deleted: 1 });
        expect((await col.get()).ids).toEqual(["c", "d"]);
        expect(await col.delete({ where: { k: 1 }, whereDocument: { $contains: "cat" } })).toEqual({ deleted: 1 });
        expect((await col.get()).ids).toEqual(["c"]);
        expect(await col.delete({ where: { k: 99 } })).toEqual({ deleted: 0 });
        expect(await col.count()).toBe(1);
      });

      it("delete with limit removes at most limit matches, in insertion order; limit 0 removes nothing", async () => {
        const col = await newCollection();
        const ids = ["e", "d", "c", "b", "a"];
        await col.add({ ids, embeddings: ids.map((_, i) => [i]), metadatas: ids.map(() => ({ k: 1 })) });
        expect(await col.delete({ where: { k: 1 }, limit: 0 })).toEqual({ deleted: 0 });
        expect(await col.count()).toBe(5);
        expect(await col.delete({ where: { k: 1 }, limit: 2 })).toEqual({ deleted: 2 });
        expect((await col.get()).ids).toEqual(["c", "b", "a"]);
        expect(await col.delete({ where: { k: 1 }, limit: 10 })).toEqual({ deleted: 3 });
        expect(await col.count()).toBe(0);
      });

      it("delete with limit but no filter is rejected", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a"], embeddings: [[1]] });
        await invalid(col.delete({ ids: ["a"], limit: 1 }), /limit/);
        await invalid(col.delete({ where: { x: 1 }, limit: -1 }), /limit/);
        expect(await col.count()).toBe(1);
      });

      it("deleted records disappear from get, query, filters and whereDocument", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[0, 0], [5, 5]], metadatas: [{ t: ["x"] }, { t: ["x"] }], documents: ["hello", "hello"] });
        await col.delete({ ids: ["a"] });
        expect((await col.get({ ids: ["a"] })).ids).toEqual([]);
        expect((await col.get({ where: { t: { $contains: "x" } } })).ids).toEqual(["b"]);
        expect((await col.get({ whereDocument: { $contains: "hello" } })).ids).toEqual(["b"]);
        const result = await col.query({ queryEmbeddings: [[0, 0]], nResults: 2 });
        expect(result.ids).toEqual([["b"]]);
      });
    });

    // ============================================================================================
    describe("filters", () => {
      let col: any;
      beforeAll(async () => {
        col = await client.createCollection({ name: uniqueName("filters"), embeddingFunction: null });
        await addFixture(col, FILTER_FIXTURE);
      });

      // Cases named in `serverTruncatesFloats` hit a Chroma server defect: a float operand compared with a
      // stored int is truncated (2.5 matches 2). chromalite compares numbers as numbers.
      const serverTruncatesFloats = new Set([
        "range over mixed key, float bound",
        "$eq float on mixed key",
        "$in floats",
      ]);
      const whereCases: [string, Record<string, unknown>, string[]][] = [
        ["str shorthand eq", { s: "apple" }, ["m1", "m4"]],
        ["$eq str is case-sensitive", { s: { $eq: "Apple" } }, ["m8"]],
        ["$ne str matches missing keys and missing metadata", { s: { $ne: "apple" } }, allBut("m1", "m4")],
        ["$gt int", { i: { $gt: 2 } }, ["m3", "m4"]],
        ["$gte int", { i: { $gte: 2 } }, ["m2", "m3", "m4"]],
        ["$lt int", { i: { $lt: 2 } }, ["m1", "m8"]],
        ["$lte int", { i: { $lte: 2 } }, ["m1", "m2", "m8"]],
        ["$gt float", { f: { $gt: 2 } }, ["m2", "m3"]],
        ["$lte float", { f: { $lte: 1.5 } }, ["m1", "m5"]],
        ["float operand on int values", { i: { $gt: 1.5 } }, ["m2", "m3", "m4"]],
        ["int operand on float values", { f: { $lt: 3 } }, ["m1", "m2", "m5"]],
        ["range over a key holding ints and floats", { n: { $gt: 2 } }, ["m2", "m3"]],
        ["range over mixed key, float bound", { n: { $lt: 2.75 } }, ["m1", "m2"]],
        ["$eq int on mixed key", { n: 3 }, ["m3"]],
        ["$eq float on mixed key", { n: { $eq: 2.5 } }, ["m2"]],
        ["$in ints", { n: { $in: [2, 3] } }, ["m1", "m3"]],
        ["$in floats", { n: { $in: [2.5, 9.5] } }, ["m2"]],
        ["$nin ints: missing keys match", { n: { $nin: [2, 3] } }, allBut("m1", "m3")],
        ["$gt on a missing key matches nothing", { nope: { $gt: 0 } }, []],
        ["$eq on a missing key matches nothing", { nope: 1 }, []],
        ["$ne on a missing key matches everything", { nope: { $ne: 1 } }, ALL_FIXTURE_IDS],
        ["$nin on a missing key matches everything", { nope: { $nin: ["a"] } }, ALL_FIXTURE_IDS],
        ["bool true", { b: true }, ["m1", "m3"]],
        ["bool false", { b: { $eq: false } }, ["m2", "m8"]],
        ["bool $ne", { b: { $ne: true } }, allBut("m1", "m3")],
        ["bool $in", { b: { $in: [true] } }, ["m1", "m3"]],
        ["bool $nin", { b: { $nin: [false] } }, allBut("m2", "m8")],
        ["bool does not equal int", { b: 1 }, []],
        ["int does not equal bool", { i: true }, []],
        ["str does not equal int", { s: 1 }, []],
        ["$in ints", { i: { $in: [1, 10] } }, ["m1", "m4"]],
        ["$nin ints", { i: { $nin: [1, 10] } }, allBut("m1", "m4")],
        ["$in strs", { s: { $in: ["apple", "cherry"] } }, ["m1", "m3", "m4"]],
        ["$nin strs", { s: { $nin: ["apple"] } }, allBut("m1", "m4")],
        ["scalar $eq does not look into arrays", { tags: "green" }, ["m5"]],
        ["scalar $eq does not look into arrays ($eq form)", { tags: { $eq: "red" } }, []],
        ["scalar $in does not look into arrays", { tags: { $in: ["green", "red"] } }, ["m5"]],
        ["$contains str array", { tags: { $contains: "green" } }, ["m1", "m2"]],
        ["$contains int array", { nums: { $contains: 2 } }, ["m1"]],
        ["$contains int array, absent value", { nums: { $contains: 4 } }, []],
        ["$contains float array", { fl: { $contains: 2.5 } }, ["m2"]],
        ["$contains bool array", { flags: { $contains: true } }, ["m3"]],
        ["$contains bool array, absent value", { flags: { $contains: false } }, []],
        ["$contains on a str field matches nothing", { s: { $contains: "apple" } }, []],
        ["$not_contains: missing keys, scalars and no metadata match", { tags: { $not_contains: "green" } }, allBut("m1", "m2")],
        ["$and", { $and: [{ s: "apple" }, { i: { $gt: 5 } }] }, ["m4"]],
        ["$or", { $or: [{ s: "banana" }, { b: true }] }, ["m1", "m2", "m3"]],
        ["nested $and/$or", { $and: [{ $or: [{ i: 1 }, { i: 3 }] }, { tags: { $contains: "red" } }] }, ["m1"]],
        ["$or of $and", { $or: [{ $and: [{ i: { $gte: 2 } }, { i: { $lte: 3 } }] }, { other: "x" }] }, ["m2", "m3", "m5"]],
        ["$and with $ne", { $and: [{ s: { $ne: "apple" } }, { i: { $lt: 5 } }] }, ["m2", "m3", "m8"]],
        ["#document $contains in where", { "#document": { $contains: "cat" } }, ["m1", "m3"]],
        ["#document $not_contains in where", { "#document": { $not_contains: "cat" } }, allBut("m1", "m3")],
        ["#document $regex in where", { "#document": { $regex: "(?i)c(?-i)at" } }, ["m1", "m2", "m3"]],
        ["#document combined with metadata", { $and: [{ "#document": { $contains: "cat" } }, { b: true }, { i: { $gt: 1 } }] }, ["m3"]],
      ];
      for (const [title, where, expected] of whereCases) {
        const test = serverTruncatesFloats.has(title) ? itFixed : it;
        test(`where ${title}: ${JSON.stringify(where)}`, async () => {
          const got = await col.get({ where });
          expect(sorted(got.ids)).toEqual(sorted(expected));
        });
      }

      const documentCases: [string, Record<string, unknown>, string[]][] = [
        ["$contains is case-sensitive (lower)", { $contains: "cat" }, ["m1", "m3"]],
        ["$contains is case-sensitive (capital)", { $contains: "Cat" }, ["m2"]],
        ["$contains upper", { $contains: "CAT" }, ["m4"]],
        ["$contains a multi-word substring", { $contains: "on the m" }, ["m1"]],
        ["$contains % is literal", { $contains: "%" }, ["m4"]],
        ["$contains _ is literal", { $contains: "_" }, ["m4"]],
        ["$contains '' matches every record with a document", { $contains: "" }, ["m1", "m2", "m3", "m4", "m6", "m8"]],
        ["$not_contains matches records without a document", { $not_contains: "cat" }, allBut("m1", "m3")],
        ["$regex", { $regex: "cat" }, ["m1", "m3"]],
        ["$regex (?i)", { $regex: "(?i)cat" }, ["m1", "m2", "m3", "m4"]],
        ["$regex (?i)c(?-i)at", { $regex: "(?i)c(?-i)at" }, ["m1", "m2", "m3"]],
        ["$regex anchors", { $regex: "^cats" }, ["m3"]],
        ["$regex end anchor and class", { $regex: "dog[s]?$" }, ["m3"]],
        ["$regex digits", { $regex: "\\d+%" }, ["m4"]],
        ["$not_regex matches records without a document", { $not_regex: "(?i)cat" }, ["m5", "m6", "m7", "m8"]],
        ["$and", { $and: [{ $contains: "cat" }, { $not_contains: "mat" }] }, ["m3"]],
        ["$or", { $or: [{ $contains: "dog" }, { $contains: "pie" }] }, ["m2", "m3", "m8"]],
        ["nested", { $or: [{ $and: [{ $regex: "^A" }, { $contains: "Cat" }] }, { $contains: "Nothing" }] }, ["m2", "m6"]],
      ];
      for (const [title, whereDocument, expected] of documentCases) {
        it(`whereDocument ${title}: ${JSON.stringify(whereDocument)}`, async () => {
          const got = await col.get({ whereDocument });
          expect(sorted(got.ids)).toEqual(sorted(expected));
        });
      }

      it("where and whereDocument are ANDed", async () => {
        expect(sorted((await col.get({ where: { b: true }, whereDocument: { $contains: "cat" } })).ids)).toEqual(["m1", "m3"]);
        expect(sorted((await col.get({ where: { s: { $ne: "apple" } }, whereDocument: { $regex: "(?i)c(?-i)at" } })).ids)).toEqual(["m2", "m3"]);
        expect((await col.get({ where: { b: false }, whereDocument: { $contains: "cat" } })).ids).toEqual([]);
      });

      it("ids intersect with where and whereDocument", async () => {
        expect(sorted((await col.get({ ids: ["m1", "m2", "m4"], where: { s: "apple" } })).ids)).toEqual(["m1", "m4"]);
        expect((await col.get({ ids: ["m2", "m3"], whereDocument: { $contains: "cat" } })).ids).toEqual(["m3"]);
      });

      it("filtered results come back in insertion order", async () => {
        const insertion = [...FILTER_FIXTURE.filter((r) => r.document !== null), ...FILTER_FIXTURE.filter((r) => r.document === null)].map((r) => r.id);
        const got = (await col.get({ where: { s: { $ne: "banana" } } })).ids;
        expect(got).toEqual(insertion.filter((id) => got.includes(id)));
        expect(got.length).toBe(7);
      });

      // Chroma's server rejects [1, 2.5] but accepts [2.5, 1]; chromalite rejects both.
      itFixed("$in mixing ints and floats is rejected", async () => {
        await invalid(col.get({ where: { n: { $in: [1, 2.5] } } }));
        await invalid(col.get({ where: { n: { $nin: [2.5, 1] } } }));
      });

      it("$in / $nin operands must be non-empty lists of one type", async () => {
        await invalid(col.get({ where: { s: { $in: [] } } }));
        await invalid(col.get({ where: { s: { $in: ["a", 1] } } }));
        await invalid(col.get({ where: { s: { $in: "apple" } } }));
        await invalid(col.get({ where: { s: { $nin: [true, "x"] } } }));
      });

      it("range operators need numeric operands", async () => {
        await invalid(col.get({ where: { s: { $gt: "a" } } }));
        await invalid(col.get({ where: { b: { $lt: true } } }));
      });

      it("malformed where clauses are rejected", async () => {
        await invalid(col.get({ where: { s: "apple", i: 1 } })); // two keys
        await invalid(col.get({ where: { i: { $gt: 1, $lt: 3 } } })); // two operators
        await invalid(col.get({ where: { i: { $between: 1 } } })); // unknown operator
        await invalid(col.get({ where: { $contains: "x" } })); // top-level $contains
        await invalid(col.get({ where: { $nand: [{ i: 1 }, { i: 2 }] } })); // unknown logical operator
        await invalid(col.get({ where: { $and: "x" } })); // $and needs a list
        await invalid(col.get({ where: { $or: [{ i: 1 }] } })); // ... of at least two clauses (JS client rule)
        await invalid(col.get({ where: { s: null } })); // null operand
        await invalid(col.get({ where: { s: { $eq: { nested: 1 } } } }));
        await invalid(col.get({ where: { s: { $regex: "a" } } })); // $regex only on #document
        await invalid(col.query({ queryEmbeddings: [[1, 0, 0]], where: { i: { $gt: 1, $lt: 3 } } }));
        await invalid(col.delete({ where: { $contains: "x" } }));
        expect(await col.count()).toBe(FILTER_FIXTURE.length);
      });

      it("malformed whereDocument clauses are rejected", async () => {
        await invalid(col.get({ whereDocument: { $contains: "a", $regex: "b" } }));
        await invalid(col.get({ whereDocument: { $like: "a" } }));
        await invalid(col.get({ whereDocument: { $contains: 5 } }));
        await invalid(col.get({ whereDocument: { $and: "x" } }));
        await invalid(col.get({ whereDocument: { $or: [{ $contains: "x" }] } }));
        await invalid(col.get({ whereDocument: { $regex: "(" } }), /[Rr]egex/);
        await invalid(col.query({ queryEmbeddings: [[1, 0, 0]], whereDocument: { $regex: "[" } }), /[Rr]egex/);
        expect(await col.count()).toBe(FILTER_FIXTURE.length);
      });
    });

    // ============================================================================================
    describe("query", () => {
      const DIM = 6;
      const COUNT = 40;
      const random = seededRandom(20240611);
      const vectors = Array.from({ length: COUNT }, () => Array.from({ length: DIM }, () => Math.fround((random() * 2 - 1) * 3)));
      const queries = Array.from({ length: 4 }, () => Array.from({ length: DIM }, () => Math.fround(random() * 2 - 1)));
      const ids = vectors.map((_, i) => `v${i}`);
      const metadatas = vectors.map((_, i) => ({ group: i % 3, even: i % 2 === 0, i }));
      const documents = vectors.map((_, i) => `vector number ${i} is ${i % 2 === 0 ? "even" : "odd"}`);

      async function spaceCollection(space: Space) {
        const col = await newCollection({ configuration: { hnsw: { space } } });
        await col.add({ ids, embeddings: vectors, metadatas, documents });
        return col;
      }

      function bruteForce(space: Space, query: number[], allowed: (i: number) => boolean = () => true) {
        return vectors
          .map((v, i) => ({ id: ids[i], index: i, distance: distance(space, v, query) }))
          .filter((r) => allowed(r.index))
          .sort((a, b) => a.distance - b.distance);
      }

      function checkAgainstBruteForce(space: Space, result: any, k: number, allowed?: (i: number) => boolean) {
        let hits = 0;
        let total = 0;
        queries.forEach((query, q) => {
          const expected = bruteForce(space, query, allowed).slice(0, k);
          const gotIds: string[] = result.ids[q];
          const gotDistances: number[] = result.distances[q];
          expect(gotIds.length).toBe(expected.length);
          expect(gotDistances.length).toBe(gotIds.length);
          for (let j = 1; j < gotDistances.length; j++) expect(gotDistances[j]).toBeGreaterThanOrEqual(gotDistances[j - 1]);
          gotIds.forEach((id, j) => {
            const index = ids.indexOf(id);
            expect(index).toBeGreaterThanOrEqual(0);
            if (allowed) expect(allowed(index)).toBe(true);
            const exact = distance(space, vectors[index], query);
            const tolerance = distanceTolerance(DIM, distanceMagnitude(space, vectors[index], query));
            expect(Math.abs(gotDistances[j] - exact), `distance of ${id}: got ${gotDistances[j]}, exact ${exact}`).toBeLessThanOrEqual(tolerance);
          });
          const expectedIds = new Set(expected.map((e) => e.id));
          hits += gotIds.filter((id) => expectedIds.has(id)).length;
          total += expected.length;
        });
        expect(hits / Math.max(1, total)).toBeGreaterThanOrEqual(0.95);
      }

      it("l2: squared euclidean distances, sorted ascending, matching brute force", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: queries, nResults: 7 });
        expect(result.ids.length).toBe(queries.length);
        checkAgainstBruteForce("l2", result, 7);
        // Spot check the formula itself: no sqrt.
        const one = await col.query({ queryEmbeddings: [vectors[5].map((x) => x + 1)], nResults: 1, include: ["distances"] });
        expect(one.ids[0][0]).toBe("v5");
        expect(one.distances[0][0]).toBeCloseTo(l2Squared(vectors[5], vectors[5].map((x) => Math.fround(x + 1))), 3);
        expect(one.distances[0][0]).toBeCloseTo(DIM, 3);
      });

      it("cosine: 1 - cos(a, b), with the un-normalised stored vectors returned", async () => {
        const col = await spaceCollection("cosine");
        const result = await col.query({ queryEmbeddings: queries, nResults: 7, include: ["distances", "embeddings"] });
        checkAgainstBruteForce("cosine", result, 7);
        result.ids.forEach((row: string[], q: number) =>
          row.forEach((id, j) => {
            expectVectorClose(Array.from(result.embeddings[q][j]), vectors[ids.indexOf(id)], 1e-5);
            expect(result.distances[q][j]).toBeCloseTo(cosineDistance(vectors[ids.indexOf(id)], queries[q]), 4);
          }),
        );
        const got = await col.get({ ids: ["v1", "v2"], include: ["embeddings"] });
        expectVectorClose(Array.from(got.embeddings[0]), vectors[1], 1e-5);
        expectVectorClose(Array.from(got.embeddings[1]), vectors[2], 1e-5);
        // A scaled copy of a stored vector is at distance 0.
        const scaled = await col.query({ queryEmbeddings: [vectors[9].map((x) => x * 10)], nResults: 1 });
        expect(scaled.ids[0][0]).toBe("v9");
        expect(scaled.distances[0][0]).toBeCloseTo(0, 4);
      });

      it("ip: 1 - a·b (can be negative)", async () => {
        const col = await spaceCollection("ip");
        const result = await col.query({ queryEmbeddings: queries, nResults: 7 });
        checkAgainstBruteForce("ip", result, 7);
        const nearest = bruteForce("ip", vectors[3])[0];
        expect(nearest.distance).toBeLessThan(0); // the fixture has |v|² > 1, so ip distances go negative
        const top = await col.query({ queryEmbeddings: [vectors[3]], nResults: 1 });
        expect(top.ids[0][0]).toBe(nearest.id);
        expect(Math.abs(top.distances[0][0] - nearest.distance)).toBeLessThanOrEqual(
          distanceTolerance(DIM, distanceMagnitude("ip", vectors[nearest.index], vectors[3])),
        );
        expect(ipDistance(vectors[3], vectors[3])).toBe(1 - dot(vectors[3], vectors[3]));
      });

      it("nResults larger than the count returns every record, without padding", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: [queries[0]], nResults: 1000 });
        expect(result.ids[0].length).toBe(COUNT);
        expect(sorted(result.ids[0])).toEqual(sorted(ids));
        expect(result.ids[0]).toEqual(bruteForce("l2", queries[0]).map((r) => r.id));
      });

      it("nResults defaults to 10", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: [queries[1]] });
        expect(result.ids[0].length).toBe(10);
      });

      it("nResults must be positive", async () => {
        const col = await spaceCollection("l2");
        await invalid(col.query({ queryEmbeddings: [queries[0]], nResults: 0 }), /Number of requested results/);
        await invalid(col.query({ queryEmbeddings: [queries[0]], nResults: -3 }), /Number of requested results/);
      });

      it("query default include is metadatas, documents and distances", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: [queries[0]], nResults: 3 });
        expect(sorted(result.include)).toEqual(["distances", "documents", "metadatas"]);
        result.ids[0].forEach((id: string, j: number) => {
          const index = ids.indexOf(id);
          expect(result.metadatas[0][j]).toEqual(metadatas[index]);
          expect(result.documents[0][j]).toBe(documents[index]);
        });
        expect((result.embeddings ?? []).flat().length).toBe(0);
      });

      it("query include selects fields and returns un-padded per-query lists", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: queries.slice(0, 2), nResults: 4, include: ["embeddings", "uris"] });
        expect(sorted(result.include)).toEqual(["embeddings", "uris"]);
        expect(result.ids.length).toBe(2);
        result.ids.forEach((row: string[], q: number) => {
          expect(row.length).toBe(4);
          row.forEach((id, j) => expect(Array.from(result.embeddings[q][j])).toEqual(vectors[ids.indexOf(id)]));
          expect(result.uris[q]).toEqual([null, null, null, null]);
        });
        expect((result.documents ?? []).flat().length).toBe(0);
        expect((result.distances ?? []).flat().length).toBe(0);
      });

      it("several query embeddings give one list per query, in order", async () => {
        const col = await spaceCollection("l2");
        const together = await col.query({ queryEmbeddings: queries, nResults: 5 });
        for (let q = 0; q < queries.length; q++) {
          const alone = await col.query({ queryEmbeddings: [queries[q]], nResults: 5 });
          expect(together.ids[q]).toEqual(alone.ids[0]);
          together.distances[q].forEach((d: number, j: number) => expect(d).toBeCloseTo(alone.distances[0][j], 5));
        }
      });

      it("ids restrict the search to those ids", async () => {
        const col = await spaceCollection("l2");
        const allowed = ["v3", "v17", "v22", "v30"];
        const result = await col.query({ queryEmbeddings: queries, ids: allowed, nResults: 10 });
        checkAgainstBruteForce("l2", result, 10, (i) => allowed.includes(ids[i]));
        const two = await col.query({ queryEmbeddings: [queries[0]], ids: allowed, nResults: 2 });
        expect(two.ids[0]).toEqual(bruteForce("l2", queries[0], (i) => allowed.includes(ids[i])).slice(0, 2).map((r) => r.id));
      });

      it("where and whereDocument filters are exact", async () => {
        const col = await spaceCollection("l2");
        const where = { group: 1 };
        const whereDocument = { $contains: "odd" };
        const allowed = (i: number) => i % 3 === 1 && i % 2 === 1;
        const filteredCount = ids.filter((_, i) => allowed(i)).length;
        const result = await col.query({ queryEmbeddings: queries, where, whereDocument, nResults: 100 });
        checkAgainstBruteForce("l2", result, 100, allowed);
        for (const row of result.ids) expect(row.length).toBe(filteredCount);
        const few = await col.query({ queryEmbeddings: queries, where: { $and: [{ even: true }, { i: { $lt: 20 } }] }, nResults: 3 });
        checkAgainstBruteForce("l2", few, 3, (i) => i % 2 === 0 && i < 20);
      });

      it("a filter that matches nothing returns empty lists", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: queries.slice(0, 2), where: { group: 99 }, nResults: 5, include: ["distances", "metadatas", "embeddings"] });
        expect(result.ids).toEqual([[], []]);
        expect(result.distances).toEqual([[], []]);
        expect(result.metadatas).toEqual([[], []]);
        expect(result.embeddings).toEqual([[], []]);
      });

      it("ids combined with a filter: unknown ids are ignored", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: [queries[0]], ids: ["v0", "v1", "not-there"], where: { group: 0 }, nResults: 5 });
        expect(result.ids[0]).toEqual(["v0"]);
      });

      itFixed("ids with an unknown id fail with a clear typed error (chromalite: not an internal error)", async () => {
        const col = await spaceCollection("l2");
        const error = await rejects(col.query({ queryEmbeddings: [queries[0]], ids: ["v0", "not-there"], nResults: 5 }), [...errors.notFound, ...errors.invalid]);
        expect(errors.server.some((s) => error instanceof s.cls)).toBe(false);
        if (checkMessages) expect(error.message).toContain("not-there");
      });

      it("query after deletes never returns deleted records", async () => {
        const col = await spaceCollection("l2");
        const deleted = ids.filter((_, i) => i % 4 === 0);
        await col.delete({ ids: deleted });
        const result = await col.query({ queryEmbeddings: queries, nResults: 15 });
        checkAgainstBruteForce("l2", result, 15, (i) => i % 4 !== 0);
      });

      it("query on a collection emptied by deletes returns empty lists", async () => {
        const col = await newCollection();
        await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]] });
        await col.delete({ ids: ["a", "b"] });
        const result = await col.query({ queryEmbeddings: [[1, 2]], nResults: 3 });
        expect(result.ids).toEqual([[]]);
        expect(result.distances).toEqual([[]]);
      });

      it("rows() gives one list of records per query", async () => {
        const col = await spaceCollection("l2");
        const result = await col.query({ queryEmbeddings: queries.slice(0, 2), nResults: 3, include: ["distances", "metadatas", "documents"] });
        const rows = result.rows();
        const perQuery = Array.isArray(rows) ? rows : rows.queries;
        expect(perQuery.length).toBe(2);
        perQuery.forEach((records: any[], q: number) => {
          expect(records.map((r) => r.id)).toEqual(result.ids[q]);
          records.forEach((r, j) => {
            expect(r.distance).toBe(result.distances[q][j]);
            expect(r.metadata).toEqual(metadatas[ids.indexOf(r.id)]);
            expect(r.document).toBe(documents[ids.indexOf(r.id)]);
          });
        });
      });

      it("query NaN embeddings are rejected", async () => {
        const col = await spaceCollection("l2");
        await invalid(col.query({ queryEmbeddings: [[NaN, 0, 0, 0, 0, 0]], nResults: 1 }));
      });
    });

    // ============================================================================================
    describe("embedding function", () => {
      it("documents-only add embeds with the collection's function, and queryTexts finds them", async () => {
        const ef = testEmbeddingFunction();
        const name = uniqueName("ef");
        const col = await client.createCollection({ name, embeddingFunction: ef });
        const docs = ["the first text", "another text entirely", "something else"];
        await col.add({ ids: ["a", "b", "c"], documents: docs });
        const got = await col.get({ include: ["embeddings", "documents"] });
        expect(got.documents).toEqual(docs);
        got.embeddings.forEach((e: number[], i: number) => expect(Array.from(e)).toEqual(f32(hashEmbed(docs[i]))));
        const result = await col.query({ queryTexts: ["another text entirely", "something else"], nResults: 1 });
        expect(result.ids).toEqual([["b"], ["c"]]);
        expect(result.distances[0][0]).toBeCloseTo(0, 5);
        // getCollection with the function keeps working.
        const again = await client.getCollection({ name, embeddingFunction: ef });
        expect((await again.query({ queryTexts: ["the first text"], nResults: 1 })).ids).toEqual([["a"]]);
      });

      it("update and upsert with documents only re-embed them", async () => {
        const col = await client.createCollection({ name: uniqueName("ef"), embeddingFunction: testEmbeddingFunction() });
        await col.add({ ids: ["a"], documents: ["one"] });
        await col.update({ ids: ["a"], documents: ["two"] });
        let got = await col.get({ include: ["embeddings", "documents"] });
        expect(got.documents).toEqual(["two"]);
        expect(Array.from(got.embeddings[0])).toEqual(f32(hashEmbed("two")));
        await col.upsert({ ids: ["a", "b"], documents: ["three", "four"] });
        got = await col.get({ include: ["embeddings", "documents"] });
        expect(got.documents).toEqual(["three", "four"]);
        expect(Array.from(got.embeddings[1])).toEqual(f32(hashEmbed("four")));
        // update of metadata alone does not touch the embedding.
        await col.update({ ids: ["a"], metadatas: [{ m: 1 }] });
        got = await col.get({ include: ["embeddings"] });
        expect(Array.from(got.embeddings[0])).toEqual(f32(hashEmbed("three")));
      });

      it("explicit embeddings win over the function", async () => {
        const col = await client.createCollection({ name: uniqueName("ef"), embeddingFunction: testEmbeddingFunction() });
        const explicit = new Array(8).fill(0.25);
        await col.add({ ids: ["a"], embeddings: [explicit], documents: ["text"] });
        expect(Array.from((await col.get({ include: ["embeddings"] })).embeddings[0])).toEqual(explicit);
      });
    });

    // ============================================================================================
    if (options.makeAdminClient && options.makeClientFor) {
      const makeAdmin = options.makeAdminClient;
      const makeFor = options.makeClientFor;
      describe("tenants and databases", () => {
        let admin: ConformanceAdminClient;
        const opened: ConformanceClient[] = [];
        const clientFor = async (tenant: string, database: string) => {
          const c = await makeFor(tenant, database);
          opened.push(c);
          return c;
        };
        beforeAll(async () => {
          admin = await makeAdmin();
        });
        afterAll(async () => {
          for (const c of opened) await closeClient(c);
          await closeClient(admin);
        });

        const tenantName = (value: unknown) => (typeof value === "string" ? value : (value as any)?.name);

        it("createTenant / getTenant; a duplicate or missing tenant fails", async () => {
          const name = uniqueName("tenant");
          await admin.createTenant({ name });
          expect(tenantName(await admin.getTenant({ name }))).toBe(name);
          await rejects(admin.createTenant({ name }), errors.unique, `Tenant [${name}] already exists`);
          const missing = uniqueName("no-tenant");
          await notFound(admin.getTenant({ name: missing }), `Tenant [${missing}] not found`);
        });

        it("tenant names need at least 3 characters", async () => {
          await invalid(admin.createTenant({ name: "ab" }));
        });

        it("databases: create, get, duplicate, missing, name rules", async () => {
          const tenant = uniqueName("tenant");
          await admin.createTenant({ name: tenant });
          const name = uniqueName("db");
          await admin.createDatabase({ name, tenant });
          const db = await admin.getDatabase({ name, tenant });
          expect(db.name).toBe(name);
          expect(db.tenant).toBe(tenant);
          expect(db.id).toMatch(/^[0-9a-f-]{36}$/);
          await rejects(admin.createDatabase({ name, tenant }), errors.unique, `Database [${name}] already exists`);
          const missing = uniqueName("no-db");
          await notFound(admin.getDatabase({ name: missing, tenant }), `Database [${missing}] not found`);
          // The embedded engine's message, or the server's name rule (spec §2).
          await invalid(admin.createDatabase({ name: "ab", tenant }), /at least 3 characters|containing 3-512 characters/);
          // The same database name in another tenant is a different database.
          const otherTenant = uniqueName("tenant");
          await admin.createTenant({ name: otherTenant });
          await admin.createDatabase({ name, tenant: otherTenant });
          expect((await admin.getDatabase({ name, tenant: otherTenant })).id).not.toBe(db.id);
        });

        it("the default tenant and database exist", async () => {
          expect(tenantName(await admin.getTenant({ name: "default_tenant" }))).toBe("default_tenant");
          const db = await admin.getDatabase({ name: "default_database", tenant: "default_tenant" });
          expect(db.name).toBe("default_database");
        });

        it("listDatabases is ordered by name and honours limit and offset", async () => {
          const tenant = uniqueName("tenant");
          await admin.createTenant({ name: tenant });
          const names = ["delta", "alpha", "charlie", "bravo", "echo"].map((n) => `${n}-db`);
          for (const name of names) await admin.createDatabase({ name, tenant });
          const all = await admin.listDatabases({ tenant });
          const expected = [...names].sort();
          expect(all.map((d: any) => d.name)).toEqual(expected);
          for (const d of all) expect(d.tenant).toBe(tenant);
          expect((await admin.listDatabases({ tenant, limit: 2 })).map((d: any) => d.name)).toEqual(expected.slice(0, 2));
          expect((await admin.listDatabases({ tenant, limit: 2, offset: 3 })).map((d: any) => d.name)).toEqual(expected.slice(3, 5));
          expect((await admin.listDatabases({ tenant, offset: 10 })).map((d: any) => d.name)).toEqual([]);
        });

        it("deleteDatabase removes it and its collections; deleting a missing one fails", async () => {
          const tenant = uniqueName("tenant");
          await admin.createTenant({ name: tenant });
          const database = uniqueName("db");
          await admin.createDatabase({ name: database, tenant });
          const scoped = await clientFor(tenant, database);
          const col = await scoped.createCollection({ name: "doomed", embeddingFunction: null });
          await col.add({ ids: ["a"], embeddings: [[1, 2]] });
          await admin.deleteDatabase({ name: database, tenant });
          await notFound(admin.getDatabase({ name: database, tenant }));
          await notFound(admin.deleteDatabase({ name: database, tenant }), `Database [${database}] not found`);
          expect((await admin.listDatabases({ tenant })).map((d: any) => d.name)).not.toContain(database);
          // Recreated under the same name, it is empty.
          await admin.createDatabase({ name: database, tenant });
          const again = await clientFor(tenant, database);
          expect(await again.countCollections()).toBe(0);
          await notFound(again.getCollection({ name: "doomed" }));
        });

        it("collections are isolated per tenant and database", async () => {
          const tenantA = uniqueName("tenant");
          const tenantB = uniqueName("tenant");
          await admin.createTenant({ name: tenantA });
          await admin.createTenant({ name: tenantB });
          await admin.createDatabase({ name: "shared-name", tenant: tenantA });
          await admin.createDatabase({ name: "other-db", tenant: tenantA });
          await admin.createDatabase({ name: "shared-name", tenant: tenantB });
          const a1 = await clientFor(tenantA, "shared-name");
          const a2 = await clientFor(tenantA, "other-db");
          const b1 = await clientFor(tenantB, "shared-name");
          const colA1 = await a1.createCollection({ name: "same", embeddingFunction: null, metadata: { where: "a1" } });
          const colA2 = await a2.createCollection({ name: "same", embeddingFunction: null, metadata: { where: "a2" } });
          const colB1 = await b1.createCollection({ name: "same", embeddingFunction: null, metadata: { where: "b1" } });
          expect(new Set([colA1.id, colA2.id, colB1.id]).size).toBe(3);
          expect([colA1.tenant, colA1.database]).toEqual([tenantA, "shared-name"]);
          expect([colB1.tenant, colB1.database]).toEqual([tenantB, "shared-name"]);
          await colA1.add({ ids: ["x"], embeddings: [[1, 1]] });
          await colA2.add({ ids: ["x", "y"], embeddings: [[1, 1, 1], [2, 2, 2]] });
          expect(await colA1.count()).toBe(1);
          expect(await colA2.count()).toBe(2);
          expect(await colB1.count()).toBe(0);
          expect((await a1.getCollection({ name: "same" })).metadata).toEqual({ where: "a1" });
          expect((await b1.getCollection({ name: "same" })).metadata).toEqual({ where: "b1" });
          expect(await a1.countCollections()).toBe(1);
          expect((await a2.listCollections()).map((c: any) => c.id)).toEqual([colA2.id]);
          // The default database does not see them.
          const inDefault = (await client.listCollections({ limit: 100_000 })).map((c: any) => c.id);
          for (const id of [colA1.id, colA2.id, colB1.id]) expect(inDefault).not.toContain(id);
          await b1.deleteCollection({ name: "same" });
          expect(await colA1.count()).toBe(1);
          await notFound(b1.getCollection({ name: "same" }));
        });

        it("creating a collection in a missing database fails with Chroma's message", async () => {
          const tenant = uniqueName("tenant");
          await admin.createTenant({ name: tenant });
          const database = uniqueName("no-db");
          // Two spec'd paths: the server's create check (InvalidArgument "Database [d] does not exist") or the
          // client's database lookup on connect, as Python's Client.__init__ does (NotFound "Database [d] not found").
          const escaped = database.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          await rejects(
            (async () => {
              const c = await clientFor(tenant, database);
              await c.createCollection({ name: uniqueName(), embeddingFunction: null });
            })(),
            [...errors.invalid, ...errors.notFound],
            new RegExp(`Database \\[${escaped}\\] (does not exist|not found)`),
          );
        });

        it("a client bound to a missing tenant fails on use", async () => {
          let failed = false;
          try {
            const c = await clientFor(uniqueName("no-tenant"), "default_database");
            await c.listCollections();
          } catch (error) {
            failed = true;
            expect([...errors.notFound, ...errors.invalid].some((s) => error instanceof s.cls), String(error)).toBe(true);
          }
          expect(failed).toBe(true);
        });
      });
    }
  });
}
