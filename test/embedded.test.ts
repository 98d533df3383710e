/**
 * The embedded clients: the conformance suite with EphemeralClient, PersistentClient and RustClient, plus what
 * only makes sense in process: persistence across close and reopen, the one-system-per-path rule, Settings /
 * configure / environment variables, heartbeat, `await using`.
 *
 * Order matters in this file: all ephemeral clients of a process share one system, so every describe block closes
 * the clients it opens (the shared-settings cases rely on no other ephemeral client being open).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  AdminClient,
  ChromaClosedError,
  ChromaError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaServerError,
  ChromaUniqueError,
  ChromaValueError,
  Client,
  configure,
  EphemeralClient,
  getSettings,
  PersistentClient,
  RustClient,
  Settings,
} from "../dist/index.js";
import { conformanceSuite } from "./conformance.js";
import { expectRejects, expectVectorClose, makeTempDir, removeTempDirs, seededRandom, uniqueName } from "./helpers.js";

afterAll(() => {
  removeTempDirs();
});

const closedSpec = { cls: ChromaClosedError, name: "ChromaClosedError" };
const valueSpec = { cls: ChromaValueError, name: "ChromaValueError" };
const forbiddenSpec = { cls: ChromaForbiddenError, name: "ChromaForbiddenError" };
const notFoundSpec = { cls: ChromaNotFoundError, name: "ChromaNotFoundError" };

/** Opens clients and remembers them so each test can close what it opened, even when it fails. */
const opened: any[] = [];
function track<T>(client: T): T {
  opened.push(client);
  return client;
}
afterEach(async () => {
  while (opened.length > 0) {
    const client = opened.pop();
    await client?.close?.();
  }
});

const persistentSettings = (path: string, extra: Record<string, unknown> = {}) =>
  new Settings({ isPersistent: true, persistDirectory: path, ...extra });

// ================================================================================================
// Embedded-only cases first: they need to know which ephemeral clients are open.
// ================================================================================================

describe("shared systems", () => {
  it("two PersistentClients on one path share data, both ways, immediately", async () => {
    const path = makeTempDir();
    const first = track(PersistentClient({ path }));
    const second = track(PersistentClient({ path }));
    const name = uniqueName();
    const col = await first.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1, 2]] });
    const seen = await second.getCollection({ name });
    expect(seen.id).toBe(col.id);
    expect(await seen.count()).toBe(1);
    await seen.add({ ids: ["b"], embeddings: [[3, 4]] });
    expect((await col.get()).ids).toEqual(["a", "b"]);
  });

  it("closing one client leaves the other clients of the system working", async () => {
    const path = makeTempDir();
    const first = track(PersistentClient({ path }));
    const second = track(PersistentClient({ path }));
    const name = uniqueName();
    const col = await first.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1, 2]] });
    await first.close();
    await expectRejects(first.listCollections(), closedSpec, "The client has been closed");
    const again = await second.getCollection({ name });
    expect(await again.count()).toBe(1);
    await again.add({ ids: ["b"], embeddings: [[1, 1]] });
    expect(await again.count()).toBe(2);
  });

  it("a second client on a path with different settings is rejected while the first is open", async () => {
    const path = makeTempDir();
    const first = track(PersistentClient({ path }));
    await first.heartbeat();
    await expectRejects(
      async () => {
        const second = track(PersistentClient({ path, settings: new Settings({ allowReset: true }) }));
        await second.listCollections();
      },
      valueSpec,
      /An instance of Chroma already exists for .* with different settings/,
    );
    // Once the first one is closed (the last client of the system), new settings are accepted.
    await first.close();
    const third = track(PersistentClient({ path, settings: new Settings({ allowReset: true }) }));
    expect(await third.countCollections()).toBe(0);
  });

  it("the different-settings message names the path", async () => {
    const path = makeTempDir();
    track(PersistentClient({ path }));
    const error = await expectRejects(
      async () => {
        const second = track(PersistentClient({ path, settings: new Settings({ anonymizedTelemetry: false }) }));
        await second.countCollections();
      },
      valueSpec,
    );
    expect(error.message).toContain(path);
    expect(error.message).toContain("with different settings");
  });

  it("two EphemeralClients share one in-memory system; it is dropped when the last one closes", async () => {
    const first = track(EphemeralClient());
    const second = track(EphemeralClient());
    const name = uniqueName();
    const col = await first.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1]] });
    expect(await (await second.getCollection({ name })).count()).toBe(1);
    // Different settings while both are open: rejected.
    await expectRejects(
      async () => {
        const third = track(EphemeralClient({ settings: new Settings({ allowReset: true }) }));
        await third.listCollections();
      },
      valueSpec,
      /An instance of Chroma already exists for .*ephemeral.* with different settings/,
    );
    await first.close();
    expect(await (await second.getCollection({ name })).count()).toBe(1);
    await second.close();
    const fresh = track(EphemeralClient({ settings: new Settings({ allowReset: true }) }));
    await expectRejects(fresh.getCollection({ name }), notFoundSpec);
  });

  it("RustClient({path}) and Client({settings}) share the system of PersistentClient on that path", async () => {
    const path = makeTempDir();
    const persistent = track(PersistentClient({ path }));
    const rust = track(RustClient({ path }));
    const generic = track(Client({ settings: persistentSettings(path) }));
    const name = uniqueName();
    const col = await rust.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["r"], embeddings: [[1, 2, 3]] });
    expect(await (await persistent.getCollection({ name })).count()).toBe(1);
    expect(await (await generic.getCollection({ name })).count()).toBe(1);
  });

  it("RustClient() without a path is ephemeral and shares the EphemeralClient system", async () => {
    const rust = track(RustClient());
    const ephemeral = track(EphemeralClient());
    const name = uniqueName();
    await rust.createCollection({ name, embeddingFunction: null });
    expect((await ephemeral.getCollection({ name })).name).toBe(name);
  });

  it("Client() with default settings is ephemeral", async () => {
    const generic = track(Client());
    const ephemeral = track(EphemeralClient());
    const name = uniqueName();
    await generic.createCollection({ name, embeddingFunction: null });
    expect((await ephemeral.getCollection({ name })).name).toBe(name);
  });
});

describe("client basics", () => {
  it("heartbeat is a number of nanoseconds close to Date.now() * 1e6", async () => {
    const client = track(EphemeralClient());
    const beat = await client.heartbeat();
    expect(typeof beat).toBe("number");
    expect(Number.isFinite(beat)).toBe(true);
    expect(Math.abs(beat - Date.now() * 1e6)).toBeLessThan(60_000 * 1e6);
  });

  it("version() and getVersion() agree", async () => {
    const client = track(EphemeralClient());
    const version = await client.version();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await client.getVersion()).toBe(version);
  });

  it("close() is idempotent; every later call rejects with ChromaClosedError", async () => {
    const client = PersistentClient({ path: makeTempDir() });
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await client.close();
    await client.close();
    await expectRejects(client.heartbeat(), closedSpec);
    await expectRejects(client.countCollections(), closedSpec);
    await expectRejects(col.count(), closedSpec);
    const error = await expectRejects(col.get(), closedSpec);
    expect(error).toBeInstanceOf(ChromaError);
  });

  it("await using closes the client at the end of the block", async () => {
    const path = makeTempDir();
    let escaped: any;
    const name = uniqueName();
    {
      await using client = PersistentClient({ path });
      escaped = client;
      const col = await client.createCollection({ name, embeddingFunction: null });
      await col.add({ ids: ["a"], embeddings: [[1]] });
    }
    await expectRejects(escaped.listCollections(), closedSpec);
    // The data is on disk for the next client.
    const reopened = track(PersistentClient({ path }));
    expect(await (await reopened.getCollection({ name })).count()).toBe(1);
  });

  it("Symbol.asyncDispose is the same as close()", async () => {
    const client = PersistentClient({ path: makeTempDir() });
    expect(typeof client[Symbol.asyncDispose]).toBe("function");
    await client[Symbol.asyncDispose]();
    await expectRejects(client.listCollections(), closedSpec);
  });

  it("errors are ChromaError subclasses with Chroma's names", async () => {
    const client = track(PersistentClient({ path: makeTempDir() }));
    const notFound = await expectRejects(client.getCollection({ name: "missing-one" }), notFoundSpec);
    expect(notFound).toBeInstanceOf(ChromaError);
    expect(notFound).toBeInstanceOf(Error);
    const value = await expectRejects(client.createCollection({ name: "x", embeddingFunction: null }), valueSpec);
    expect(value).toBeInstanceOf(ChromaError);
    await client.createCollection({ name: "dup-name", embeddingFunction: null });
    const unique = await expectRejects(client.createCollection({ name: "dup-name", embeddingFunction: null }), {
      cls: ChromaUniqueError,
      name: "ChromaUniqueError",
    });
    expect(unique).toBeInstanceOf(ChromaError);
    const forbidden = await expectRejects(client.reset(), forbiddenSpec);
    expect(forbidden).toBeInstanceOf(ChromaError);
    for (const cls of [ChromaServerError, ChromaClosedError, ChromaValueError, ChromaNotFoundError, ChromaUniqueError, ChromaForbiddenError]) {
      expect(new cls("m")).toBeInstanceOf(ChromaError);
    }
    expect(new ChromaServerError("m").name).toBe("ChromaServerError");
    expect(new ChromaClosedError("m").name).toBe("ChromaClosedError");
  });

  it("PersistentClient creates a missing directory", async () => {
    const path = `${makeTempDir()}/nested/deeper`;
    const client = track(PersistentClient({ path }));
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1]] });
    expect(await col.count()).toBe(1);
  });
});

// ================================================================================================
describe("persistence", () => {
  /** Everything observable about a collection, for before/after comparison. */
  async function snapshot(client: any, name: string, queries: number[][]) {
    const col = await client.getCollection({ name });
    const got = await col.get({ include: ["embeddings", "metadatas", "documents", "uris"] });
    const result = await col.query({ queryEmbeddings: queries, nResults: 8, include: ["distances", "metadatas", "documents", "embeddings"] });
    return {
      id: col.id,
      name: col.name,
      metadata: col.metadata,
      space: col.configuration?.hnsw?.space,
      count: await col.count(),
      ids: got.ids,
      embeddings: got.embeddings.map((e: number[]) => Array.from(e)),
      metadatas: got.metadatas,
      documents: got.documents,
      uris: got.uris,
      queryIds: result.ids,
      queryDistances: result.distances,
      queryMetadatas: result.metadatas,
      queryDocuments: result.documents,
      queryEmbeddings: result.embeddings.map((row: number[][]) => row.map((e) => Array.from(e))),
    };
  }

  function expectSameSnapshot(after: any, before: any) {
    const { queryDistances: distancesAfter, ...restAfter } = after;
    const { queryDistances: distancesBefore, ...restBefore } = before;
    expect(restAfter).toEqual(restBefore);
    distancesAfter.forEach((row: number[], q: number) => row.forEach((d, j) => expect(d).toBeCloseTo(distancesBefore[q][j], 5)));
  }

  it("round trip: everything written is readable and queryable identically after close and reopen", async () => {
    const path = makeTempDir();
    const random = seededRandom(7);
    const dim = 16;
    const vector = () => Array.from({ length: dim }, () => Math.fround(random() * 2 - 1));
    const queries = Array.from({ length: 5 }, vector);
    const names = { l2: uniqueName("p-l2"), cosine: uniqueName("p-cos"), small: uniqueName("p-sync") };

    const writer = PersistentClient({ path });
    const l2 = await writer.createCollection({ name: names.l2, metadata: { kind: "l2", n: 1, f: 0.5, ok: true }, embeddingFunction: null });
    const cosine = await writer.createCollection({ name: names.cosine, configuration: { hnsw: { space: "cosine" } }, embeddingFunction: null });
    // A small sync threshold makes the index persist often, so the reopen sees persisted index files plus a WAL tail.
    const small = await writer.createCollection({ name: names.small, metadata: { "hnsw:sync_threshold": 7, "hnsw:batch_size": 3 }, embeddingFunction: null });
    for (const col of [l2, cosine, small]) {
      const ids = Array.from({ length: 300 }, (_, i) => `id-${i}`);
      await col.add({
        ids,
        embeddings: ids.map(() => vector().map((x) => x * 4)),
        metadatas: ids.map((_, i) => (i % 10 === 0 ? null : { i, even: i % 2 === 0, tag: `t${i % 7}`, arr: [i, i + 1], f: i + 0.25 })),
        documents: ids.map((_, i) => `document ${i} ${i % 3 === 0 ? "fizz" : "plain"}`),
        uris: ids.map((_, i) => `file:///${i}`),
      });
      // A history of mutations: updates, upserts, deletes, re-adds, one record at a time for the small collection.
      await col.update({ ids: ["id-1", "id-2"], metadatas: [{ i: null, extra: "x" }, { even: null }], documents: ["changed one", "changed two"] });
      await col.upsert({ ids: ["id-3", "new-1"], embeddings: [vector(), vector()], metadatas: [{ up: 1 }, { up: 2 }] });
      await col.delete({ ids: ["id-4", "id-5"] });
      await col.delete({ where: { tag: "t6" } });
      await col.add({ ids: ["id-4"], embeddings: [vector()], documents: ["re-added"] });
      for (let i = 0; i < 20; i++) await col.upsert({ ids: [`single-${i % 12}`], embeddings: [vector()], metadatas: [{ round: i }] });
    }
    const before: Record<string, any> = {};
    for (const name of Object.values(names)) before[name] = await snapshot(writer, name, queries);
    const listedBefore = (await writer.listCollections()).map((c: any) => ({ id: c.id, name: c.name, metadata: c.metadata }));
    await writer.close();

    const reader = track(PersistentClient({ path }));
    const listedAfter = (await reader.listCollections()).map((c: any) => ({ id: c.id, name: c.name, metadata: c.metadata }));
    expect(listedAfter).toEqual(listedBefore);
    for (const name of Object.values(names)) expectSameSnapshot(await snapshot(reader, name, queries), before[name]);

    // The dimension survived the reopen, and writing after reopen works and persists too.
    const reopened = await reader.getCollection({ name: names.small });
    await expectRejects(reopened.add({ ids: ["bad"], embeddings: [[1, 2]] }), valueSpec, `Collection expecting embedding with dimension of ${dim}, got 2`);
    await reopened.add({ ids: ["after-reopen"], embeddings: [vector()], metadatas: [{ late: true }] });
    const afterWrite = await snapshot(reader, names.small, queries);
    await reader.close();
    const third = track(PersistentClient({ path }));
    expectSameSnapshot(await snapshot(third, names.small, queries), afterWrite);
    expect((await (await third.getCollection({ name: names.small })).get({ where: { late: true } })).ids).toEqual(["after-reopen"]);
  });

  it("deletes, renames and metadata changes of collections persist", async () => {
    const path = makeTempDir();
    const writer = PersistentClient({ path });
    const keep = await writer.createCollection({ name: uniqueName("keep"), metadata: { v: 1 }, embeddingFunction: null });
    const gone = await writer.createCollection({ name: uniqueName("gone"), embeddingFunction: null });
    await gone.add({ ids: ["a"], embeddings: [[1]] });
    await writer.deleteCollection({ name: gone.name });
    const newName = uniqueName("renamed");
    await keep.modify({ name: newName, metadata: { v: 2 } });
    await writer.close();

    const reader = track(PersistentClient({ path }));
    await expectRejects(reader.getCollection({ name: gone.name }), notFoundSpec);
    const renamed = await reader.getCollection({ name: newName });
    expect(renamed.id).toBe(keep.id);
    expect(renamed.metadata).toEqual({ v: 2 });
    expect(await reader.countCollections()).toBe(1);
  });

  it("tenants and databases persist", async () => {
    const path = makeTempDir();
    const admin = AdminClient({ settings: persistentSettings(path) });
    const tenant = uniqueName("tenant");
    await admin.createTenant({ name: tenant });
    await admin.createDatabase({ name: "db-one", tenant });
    const scoped = PersistentClient({ path, tenant, database: "db-one" });
    const col = await scoped.createCollection({ name: "inside", embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1, 2]] });
    await scoped.close();
    await admin.close?.();

    const admin2 = track(AdminClient({ settings: persistentSettings(path) }));
    const fetched: unknown = await admin2.getTenant({ name: tenant });
    expect(typeof fetched === "string" ? fetched : (fetched as { name: string }).name).toBe(tenant);
    expect((await admin2.listDatabases({ tenant })).map((d: any) => d.name)).toEqual(["db-one"]);
    const scoped2 = track(PersistentClient({ path, tenant, database: "db-one" }));
    expect(await (await scoped2.getCollection({ name: "inside" })).count()).toBe(1);
    const defaultScope = track(PersistentClient({ path }));
    await expectRejects(defaultScope.getCollection({ name: "inside" }), notFoundSpec);
  });

  it("cosine collections return the original, un-normalised vectors after reopen", async () => {
    const path = makeTempDir();
    const writer = PersistentClient({ path });
    const name = uniqueName();
    const col = await writer.createCollection({ name, metadata: { "hnsw:space": "cosine" }, embeddingFunction: null });
    const vectors = [[3, 4, 0], [0, -10, 0.5], [100, 1, 1]];
    await col.add({ ids: ["a", "b", "c"], embeddings: vectors });
    await writer.close();
    const reader = track(PersistentClient({ path }));
    const got = await (await reader.getCollection({ name })).get({ include: ["embeddings"] });
    got.embeddings.forEach((e: number[], i: number) => expectVectorClose(Array.from(e), vectors[i], 1e-5));
    const result = await (await reader.getCollection({ name })).query({ queryEmbeddings: [[6, 8, 0]], nResults: 1, include: ["embeddings", "distances"] });
    expect(result.ids[0][0]).toBe("a");
    expect(result.distances[0][0]).toBeCloseTo(0, 5);
    expectVectorClose(Array.from(result.embeddings[0][0]), vectors[0], 1e-5);
  });

  it("a process killed mid-write loses no acknowledged write (SIGKILL, no close)", async () => {
    const path = makeTempDir();
    const script = join(makeTempDir("chromalite-child-"), "writer.mjs");
    const distUrl = new URL("../dist/index.js", import.meta.url).href;
    writeFileSync(
      script,
      `import { PersistentClient } from ${JSON.stringify(distUrl)};
const client = PersistentClient({ path: process.argv[2] });
const col = await client.getOrCreateCollection({ name: "crash", embeddingFunction: null, metadata: { "hnsw:sync_threshold": 37 } });
for (let b = 0; b < 100000; b++) {
  const ids = Array.from({ length: 50 }, (_, i) => "b" + b + "-" + i);
  await col.add({ ids, embeddings: ids.map((_, i) => [b, i, 1]), metadatas: ids.map(() => ({ b })), documents: ids.map((id) => "doc " + id) });
  process.stdout.write("ack " + b + "\\n");
}
`,
    );
    const child = spawn(process.execPath, [script, path], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    let acked = -1;
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let buffer = "";
      child.stdout.on("data", (chunk) => {
        buffer += chunk;
        const lines = buffer.split("\n");
        buffer = lines.pop()!;
        for (const line of lines) if (line.startsWith("ack ")) acked = Number(line.slice(4));
        if (acked >= 15) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.on("exit", () => (acked >= 15 ? resolve() : reject(new Error(`writer exited early: ${stderr}`))));
    });
    await exited;
    expect(acked).toBeGreaterThanOrEqual(15);

    const reader = track(PersistentClient({ path }));
    const col = await reader.getCollection({ name: "crash" });
    const count = await col.count();
    // Every acknowledged batch is there; the batch in flight is all or nothing.
    expect([(acked + 1) * 50, (acked + 2) * 50]).toContain(count);
    for (const b of [0, Math.floor(acked / 2), acked]) {
      const got = await col.get({ where: { b }, include: ["documents", "embeddings"] });
      expect(got.ids.length).toBe(50);
      expect(got.documents[7]).toBe(`doc b${b}-7`);
      expect(Array.from(got.embeddings[7])).toEqual([b, 7, 1]);
      const result = await col.query({ queryEmbeddings: [[b, 7, 1]], nResults: 1 });
      expect(result.ids[0]).toEqual([`b${b}-7`]);
      expect(result.distances[0][0]).toBeCloseTo(0, 5);
    }
    // The index holds every record after recovery: an unfiltered query over all of them returns them all.
    const all = await col.query({ queryEmbeddings: [[0, 0, 1]], nResults: count });
    expect(new Set(all.ids[0]).size).toBe(count);
  });

  it("reset() with allowReset drops everything, also on disk", async () => {
    const path = makeTempDir();
    const client = PersistentClient({ path, settings: new Settings({ allowReset: true }) });
    const name = uniqueName();
    const col = await client.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1]] });
    await client.reset();
    expect(await client.countCollections()).toBe(0);
    await client.close();
    const reader = track(PersistentClient({ path, settings: new Settings({ allowReset: true }) }));
    expect(await reader.countCollections()).toBe(0);
    await expectRejects(reader.getCollection({ name }), notFoundSpec);
  });
});

// ================================================================================================
describe("settings", () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    configure();
  });

  it("defaults follow Chroma", () => {
    for (const key of Object.keys(process.env)) if (/^(allow_reset|is_persistent|persist_directory|anonymized_telemetry|chroma_)/i.test(key)) delete process.env[key];
    const settings = new Settings();
    expect(settings.allowReset).toBe(false);
    expect(settings.isPersistent).toBe(false);
    expect(settings.persistDirectory).toBe("./chroma");
    expect(settings.anonymizedTelemetry).toBe(true);
    expect(settings.chromaApiImpl).toBe("chromadb.api.rust.RustBindingsAPI");
    expect(settings.chromaServerApiDefaultPath).toBe("/api/v2");
    expect(settings.chromaServerHost).toBeNull();
    expect(settings.migrations).toBe("apply");
  });

  it("camelCase and snake_case keys are both accepted; unknown keys are ignored", () => {
    expect(new Settings({ allowReset: true }).allowReset).toBe(true);
    expect(new Settings({ allow_reset: true }).allowReset).toBe(true);
    expect(new Settings({ persist_directory: "/tmp/x", isPersistent: true }).persistDirectory).toBe("/tmp/x");
    expect(() => new Settings({ noSuchSetting: 1 })).not.toThrow();
  });

  it("environment variables set defaults, case-insensitively; explicit values win", () => {
    process.env.ALLOW_RESET = "TRUE";
    expect(new Settings().allowReset).toBe(true);
    expect(new Settings({ allowReset: false }).allowReset).toBe(false);
    delete process.env.ALLOW_RESET;
    process.env.allow_reset = "1";
    expect(new Settings().allowReset).toBe(true);
    delete process.env.allow_reset;
    process.env.ANONYMIZED_TELEMETRY = "false";
    process.env.PERSIST_DIRECTORY = "/data/chroma";
    process.env.CHROMA_SERVER_HTTP_PORT = "8123";
    const settings = new Settings();
    expect(settings.anonymizedTelemetry).toBe(false);
    expect(settings.persistDirectory).toBe("/data/chroma");
    expect(settings.chromaServerHttpPort).toBe(8123);
  });

  it("invalid values are rejected with ChromaValueError", () => {
    expect(() => new Settings({ allowReset: "perhaps" })).toThrow(ChromaValueError);
    process.env.CHROMA_SERVER_HTTP_PORT = "not-a-port";
    expect(() => new Settings()).toThrow(ChromaValueError);
  });

  it("legacy configurations are rejected with Chroma's migration message", () => {
    expect(() => new Settings({ chromaDbImpl: "duckdb+parquet" })).toThrow(/deprecated configuration of Chroma/);
    expect(() => new Settings({ chromaApiImpl: "local" })).toThrow(ChromaValueError);
  });

  it("configure() replaces the global settings that getSettings() returns", () => {
    configure({ allowReset: true, environment: "test-env" });
    expect(getSettings().allowReset).toBe(true);
    expect(getSettings().environment).toBe("test-env");
    configure({});
    expect(getSettings().allowReset).toBe(false);
    expect(getSettings().environment).toBe("");
  });

  it("ALLOW_RESET=TRUE in the environment lets a client reset", async () => {
    process.env.ALLOW_RESET = "TRUE";
    const client = track(PersistentClient({ path: makeTempDir() }));
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1]] });
    await client.reset();
    expect(await client.countCollections()).toBe(0);
  });

  it("without ALLOW_RESET a client may not reset", async () => {
    delete process.env.ALLOW_RESET;
    delete process.env.allow_reset;
    const client = track(PersistentClient({ path: makeTempDir() }));
    await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await expectRejects(client.reset(), forbiddenSpec, /Reset is disabled by config|Resetting is not allowed/);
    expect(await client.countCollections()).toBe(1);
  });

  it("settings given as a plain object work like a Settings instance", async () => {
    const client = track(PersistentClient({ path: makeTempDir(), settings: { allowReset: true } }));
    await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await client.reset();
    expect(await client.countCollections()).toBe(0);
  });
});

// ================================================================================================
// The conformance suite, once per embedded client kind.
// ================================================================================================

conformanceSuite("EphemeralClient", () => EphemeralClient(), {
  embedded: true,
  makeAdminClient: () => AdminClient({ settings: new Settings() }),
  makeClientFor: (tenant, database) => EphemeralClient({ tenant, database }),
  makeResettableClient: () => PersistentClient({ path: makeTempDir(), settings: new Settings({ allowReset: true }) }),
});

{
  let persistentPath: string | undefined;
  const path = () => (persistentPath ??= makeTempDir());
  conformanceSuite("PersistentClient", () => PersistentClient({ path: path() }), {
    embedded: true,
    makeAdminClient: () => AdminClient({ settings: persistentSettings(path()) }),
    makeClientFor: (tenant, database) => PersistentClient({ path: path(), tenant, database }),
    makeResettableClient: () => PersistentClient({ path: makeTempDir(), settings: new Settings({ allowReset: true }) }),
  });
}

conformanceSuite("RustClient", () => RustClient(), { embedded: true });
