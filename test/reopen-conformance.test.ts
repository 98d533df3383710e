/**
 * A persistence round trip over the whole conformance suite: the suite runs unchanged against a PersistentClient
 * wrapper (test/reopening-client.ts) that closes the engine and opens it again on the same path before every
 * record read (get, query, count, peek), so everything the suite checks must also hold for what was written to disk.
 * It runs twice: reopening before record reads only, then also before the client's and admin's reads (collections by
 * name / id, lists, counts, tenants, databases). Every reopen also proves the engine was really closed
 * (expectEngineClosed).
 *
 * Options follow the embedded PersistentClient run of embedded.test.ts, through the wrapper:
 * - makeAdminClient: an admin client on the same path, closed and reopened with the others (a real AdminClient
 *   left open would hold the engine open);
 * - makeClientFor: a reopening client on the same path bound to the tenant and database;
 * - makeResettableClient: a reopening client on a fresh directory with allowReset.
 * So no case of the suite is dropped.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ChromaClosedError, PersistentClient, Settings } from "../dist/index.js";
import { conformanceSuite } from "./conformance.js";
import { expectRejects, makeTempDir, removeTempDirs, uniqueName } from "./helpers.js";
import { ReopeningSite } from "./reopening-client.js";

afterAll(() => {
  removeTempDirs();
});

const closedSpec = { cls: ChromaClosedError, name: "ChromaClosedError" };

describe("the reopening wrapper itself", () => {
  it("a read closes the engine (no client holds the path any more) and reads back what was written", async () => {
    const site = new ReopeningSite(makeTempDir("chromalite-reopen-"));
    const client = site.client();
    const other = site.client();
    try {
      const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
      await col.add({ ids: ["a", "b"], embeddings: [[1, 2], [3, 4]], metadatas: [{ k: 1 }, null], documents: ["x", null] });
      await other.heartbeat(); // a second client holding the same engine: it must be closed by the reopen too
      let probed = 0;
      site.onClosed = async () => {
        // Settings different from those of the wrappers: accepted only when no client holds the path, i.e. the
        // engine of the wrappers is closed (ChromaValueError "... with different settings" otherwise).
        const probe = PersistentClient({ path: site.path, settings: new Settings({ allowReset: !new Settings().allowReset }) });
        try {
          expect(typeof (await probe.heartbeat())).toBe("number");
        } finally {
          await probe.close();
        }
        probed++;
      };
      const before = client.real();
      expect(await col.count()).toBe(2);
      expect(client.real()).not.toBe(before); // the read ran on a new PersistentClient
      const got = await col.get({ include: ["embeddings", "metadatas", "documents"] });
      expect(got.ids).toEqual(["a", "b"]);
      expect(got.metadatas).toEqual([{ k: 1 }, null]);
      expect(got.documents).toEqual(["x", null]);
      expect(probed).toBe(2);
      expect(site.stats.reopens).toBe(2);
      site.onClosed = undefined;
      // The other client reopens lazily and still works.
      expect(await other.countCollections()).toBe(1);
    } finally {
      site.onClosed = undefined;
      await client.close();
      await other.close();
    }
  });

  it("a closed wrapper behaves like a closed client: no hidden reopen, ChromaClosedError everywhere", async () => {
    const site = new ReopeningSite(makeTempDir("chromalite-reopen-"));
    const client = site.client();
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[1]] });
    expect(await col.count()).toBe(1);
    const reopens = site.stats.reopens;
    await client.close();
    await client.close();
    await expectRejects(client.heartbeat(), closedSpec, "The client has been closed");
    await expectRejects(client.listCollections(), closedSpec);
    await expectRejects(col.count(), closedSpec);
    await expectRejects(col.query({ queryEmbeddings: [[1]], nResults: 1 }), closedSpec);
    await expectRejects(col.add({ ids: ["b"], embeddings: [[2]] }), closedSpec);
    expect(site.stats.reopens).toBe(reopens);
  });
});

/**
 * Proves, at a reopen, that the engine of the path is closed: a client with different settings is accepted only
 * when no client holds the path (ChromaValueError "... with different settings" otherwise), and it can open the
 * engine on the directory itself.
 */
async function expectEngineClosed(path: string): Promise<void> {
  const probe = PersistentClient({ path, settings: new Settings({ allowReset: !new Settings().allowReset }) });
  try {
    await probe.heartbeat();
  } finally {
    await probe.close();
  }
}

/** Registers the suite through reopening clients; returns the accessor of its main directory's site (stats). */
function reopeningSuite(label: string, clientReads: boolean): () => ReopeningSite {
  let mainSite: ReopeningSite | undefined;
  const site = () => {
    if (!mainSite) {
      mainSite = new ReopeningSite(makeTempDir("chromalite-reopen-"), undefined, { clientReads });
      const path = mainSite.path;
      mainSite.onClosed = () => expectEngineClosed(path);
    }
    return mainSite;
  };
  conformanceSuite(label, () => site().client(), {
    embedded: true,
    makeAdminClient: () => site().admin(),
    makeClientFor: (tenant, database) => site().client({ tenant, database }),
    makeResettableClient: () =>
      new ReopeningSite(makeTempDir("chromalite-reopen-"), new Settings({ allowReset: true }), { clientReads }).client(),
  });
  return site;
}

// As the brief has it: reopen before every record read (get, query, count, peek).
const recordReads = reopeningSuite("PersistentClient, closed and reopened before every record read", false);
// Stricter: also before the client's reads (collections by name / id, lists, counts) and the admin's reads
// (tenants, databases), so collection names, metadata and configuration come from disk as well.
const allReads = reopeningSuite("PersistentClient, closed and reopened before every read, client reads included", true);

describe("the reopen round trips really happened", () => {
  it("the suite's reads went through reopens of a closed engine", () => {
    const records = recordReads().stats;
    const all = allReads().stats;
    console.log(`reopen stats: record reads ${JSON.stringify(records)}; all reads ${JSON.stringify(all)}`);
    // Hundreds of reads in the suite: each one closed the engine (checked at each reopen by expectEngineClosed),
    // opened it again and fetched its collection again by name.
    expect(records.reopens).toBeGreaterThan(200);
    expect(records.refetches).toBeGreaterThan(200);
    expect(all.reopens).toBeGreaterThan(records.reopens);
  });
});
