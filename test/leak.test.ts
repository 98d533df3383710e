/**
 * Opening and closing clients and collections thousands of times does not leak (issue "Hostile input and heavy
 * concurrency never take the process down or corrupt data"): resident memory, open file descriptors and threads
 * stay flat. These are resource assertions, not timing assertions.
 *
 *  - File descriptors (entries of /proc/self/fd) must come back to the warm-up level (± a few) and no descriptor
 *    may stay open on a file under the test's temp dirs.
 *  - Threads (entries of /proc/self/task) must not grow after warm-up.
 *  - RSS is compared as the median of several samples (after a forced GC when the runtime allows it) at 25 % and at
 *    100 % of the loop; the growth must stay under max(30 % of the 25 % level, 50 MB).
 *
 * CHROMALITE_LEAK_ITERATIONS sets the iterations of the main loop (default 2000; the other loops scale from it).
 */
import { readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { AdminClient, ChromaError, EphemeralClient, PersistentClient, Settings } from "../dist/index.js";
import { makeTempDir, removeTempDirs, uniqueName } from "./helpers.js";

const ITERATIONS = Number(process.env.CHROMALITE_LEAK_ITERATIONS) || 2000;
const FD_SLACK = 4;
const THREAD_SLACK = 2;
const RSS_SLACK_RATIO = 0.3;
const RSS_SLACK_BYTES = 50 * 1024 * 1024;
const DIM = 16;

afterAll(() => removeTempDirs());

/** `global.gc`, exposed at run time (vitest does not pass --expose-gc); undefined if the runtime refuses. */
const forceGc: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? () => gc() : undefined;
  } catch {
    return undefined;
  }
})();

const tick = () => new Promise((done) => setImmediate(done));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function openFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed between the listing and the readlink (the listing's own descriptor)
    }
  }
  return out;
}

const threadCount = () => readdirSync("/proc/self/task").length;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

interface Sample {
  rss: number;
  fds: number;
  threads: number;
}

/** Median of several measurements, each after a GC (if available) and a few event-loop turns. */
async function measure(samples = 7): Promise<Sample> {
  const rss: number[] = [];
  const fds: number[] = [];
  const threads: number[] = [];
  for (let i = 0; i < samples; i++) {
    forceGc?.();
    await tick();
    await sleep(5);
    rss.push(process.memoryUsage().rss);
    fds.push(openFds().length);
    threads.push(threadCount());
  }
  return { rss: median(rss), fds: median(fds), threads: median(threads) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function vectors(count: number, seed: number): number[][] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: count }, () =>
    Array.from({ length: DIM }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296 - 0.5;
    }),
  );
}

/** Resource levels at each quarter of a loop, checked against the warm-up level. */
class Tracker {
  readonly marks: { at: string; sample: Sample }[] = [];

  constructor(readonly name: string, readonly warm: Sample) {}

  async mark(at: string): Promise<void> {
    this.marks.push({ at, sample: await measure() });
  }

  table(): string {
    const rows = [{ at: "warm-up", sample: this.warm }, ...this.marks];
    return rows.map(({ at, sample }) => `${at.padEnd(8)} rss ${mb(sample.rss)}  fds ${sample.fds}  threads ${sample.threads}`).join("\n");
  }

  /** fds and threads at every mark, RSS between the 25 % mark and the last one. */
  check(tempRoots: string[]): void {
    const detail = `${this.name}${forceGc ? "" : " (no forced GC available)"}\n${this.table()}`;
    console.log(detail);
    for (const { at, sample } of this.marks) {
      expect(sample.fds, `open file descriptors at ${at}: ${detail}`).toBeLessThanOrEqual(this.warm.fds + FD_SLACK);
      expect(sample.threads, `threads at ${at}: ${detail}`).toBeLessThanOrEqual(this.warm.threads + THREAD_SLACK);
    }
    const quarter = this.marks.find((m) => m.at === "25%")!.sample.rss;
    const end = this.marks[this.marks.length - 1].sample.rss;
    const allowed = Math.max(quarter * RSS_SLACK_RATIO, RSS_SLACK_BYTES);
    expect(end - quarter, `RSS growth between 25% and 100% (allowed ${mb(allowed)}): ${detail}`).toBeLessThanOrEqual(allowed);
    const leaked = openFds().filter((target) => tempRoots.some((root) => target.startsWith(root)));
    expect(leaked, `descriptors still open on files of the closed clients: ${detail}`).toEqual([]);
  }
}

/** Runs `body(i)` for i in [0, n), marking resources at 25 / 50 / 75 / 100 %. */
async function loop(tracker: Tracker, n: number, body: (i: number) => Promise<void>): Promise<void> {
  const quarters = new Map([
    [Math.ceil(n / 4) - 1, "25%"],
    [Math.ceil(n / 2) - 1, "50%"],
    [Math.ceil((3 * n) / 4) - 1, "75%"],
    [n - 1, "100%"],
  ]);
  for (let i = 0; i < n; i++) {
    await body(i);
    const at = quarters.get(i);
    if (at) await tracker.mark(at);
  }
}

/** One persistent client on a fresh directory: create, write, read, close, remove the directory. */
async function persistentCycle(root: string, i: number): Promise<void> {
  const path = join(root, `p${i}`);
  const client = PersistentClient({ path });
  try {
    const col = await client.createCollection({ name: `leak-${i}`, embeddingFunction: null });
    const ids = Array.from({ length: 20 }, (_, j) => `r${j}`);
    await col.add({ ids, embeddings: vectors(20, i + 1), documents: ids.map((id) => `doc ${id}`), metadatas: ids.map((_, j) => ({ j })) });
    await col.query({ queryEmbeddings: vectors(2, i + 7), nResults: 5, where: { j: { $gte: 3 } } });
    await col.get({ limit: 5, include: ["embeddings", "documents"] as any });
    if (i % 10 === 0) {
      // Every write is a synced SQLite transaction: the other kinds of writes only now and then.
      await col.upsert({ ids: ["r0"], embeddings: vectors(1, i + 9) });
      await col.delete({ ids: ["r1"] });
      // A second client on the same path shares the engine; an admin client too.
      const second = PersistentClient({ path });
      expect(await (await second.getCollection({ name: `leak-${i}` })).count()).toBe(19);
      const admin = AdminClient({ settings: new Settings({ isPersistent: true, persistDirectory: path }) });
      await admin.createDatabase({ name: `db${i}` });
      await admin.close();
      await second.close();
    }
  } finally {
    await client.close();
  }
  if (i % 20 === 0) {
    // Reopen: the data was persisted and the directory is not locked by the closed engine.
    const again = PersistentClient({ path });
    expect(await (await again.getCollection({ name: `leak-${i}` })).count()).toBe(19);
    await again.close();
  }
  rmSync(path, { recursive: true, force: true });
}

/**
 * One ephemeral client (the only one, so its in-memory engine is created and dropped every time), holding ~150 KB
 * of records: an engine that outlived its client would add up to far more than the RSS slack over the loop.
 */
async function ephemeralCycle(i: number): Promise<void> {
  const client = EphemeralClient();
  try {
    const col = await client.createCollection({ name: `leak-${i}`, embeddingFunction: null });
    const ids = Array.from({ length: 400 }, (_, j) => `r${j}`);
    await col.add({ ids, embeddings: vectors(400, i + 3), documents: ids.map((id) => `doc ${id} `.repeat(20)) });
    await col.query({ queryEmbeddings: vectors(3, i + 5), nResults: 10 });
    await col.get({ include: ["embeddings", "documents"] as any });
    expect(await client.countCollections()).toBe(1);
  } finally {
    await client.close();
  }
}

describe("opening and closing clients and collections does not leak", () => {
  // One persistent client in eight: creating, syncing and closing a SQLite file takes ~10-100 ms on a busy disk,
  // an in-memory engine almost nothing.
  const cycle = (root: string, i: number) => (i % 8 === 0 ? persistentCycle(root, i) : ephemeralCycle(i));
  it(`${ITERATIONS} clients (${Math.ceil(ITERATIONS / 8)} persistent on temp dirs, the rest ephemeral) opened, used and closed: fds back to warm-up level, threads and RSS flat`, async () => {
    const root = makeTempDir("chromalite-leak-");
    // Warm-up: thread pools, SQLite, lazily loaded code and allocator arenas reach their steady state.
    for (let i = 0; i < 80; i++) await cycle(root, -8 * (i + 1) + (i % 8));
    const tracker = new Tracker("client open / close loop", await measure());
    await loop(tracker, ITERATIONS, (i) => cycle(root, i));
    tracker.check([root]);
    expect(readdirSync(root)).toEqual([]);
  }, 600_000);

  it(`${Math.ceil(ITERATIONS / 2)} collections created, filled and deleted on one client: memory and fds flat, nothing left behind`, async () => {
    const root = makeTempDir("chromalite-leak-col-");
    const client = PersistentClient({ path: root });
    const memory = EphemeralClient();
    try {
      // In memory every time, on disk one time in four (synced transactions are slow on a busy disk).
      const cycle = async (i: number) => {
        for (const c of i % 4 === 0 ? [client, memory] : [memory]) {
          const name = uniqueName("leakcol");
          const col = await c.createCollection({ name, metadata: { i }, embeddingFunction: null });
          // ~100 KB per collection: deleted collections that stayed in memory would exceed the RSS slack.
          const ids = Array.from({ length: 300 }, (_, j) => `r${j}`);
          await col.add({ ids, embeddings: vectors(300, i + 11), documents: ids.map((id) => `document ${id} `.repeat(10)), metadatas: ids.map((_, j) => ({ j })) });
          await col.query({ queryEmbeddings: vectors(1, i), nResults: 3 });
          if (i % 2 === 0) await col.modify({ metadata: { i, touched: true } });
          await c.deleteCollection({ name });
        }
      };
      for (let i = 0; i < 30; i++) await cycle(-1 - i);
      const tracker = new Tracker("collection create / delete loop", await measure());
      await loop(tracker, Math.ceil(ITERATIONS / 2), cycle);
      tracker.check([]);
      expect(await client.countCollections()).toBe(0);
      expect(await memory.countCollections()).toBe(0);
    } finally {
      await client.close();
      await memory.close();
    }
  }, 600_000);

  it(`${Math.ceil(ITERATIONS / 20)} failed opens and closes racing in-flight work leave no descriptors or threads behind`, async () => {
    const root = makeTempDir("chromalite-leak-err-");
    const notADirectory = join(root, "file");
    writeFileSync(notADirectory, "not a directory");
    const cycle = async (i: number) => {
      // Opening on a regular file fails; the failure must release whatever the open took.
      const broken = PersistentClient({ path: notADirectory });
      await expect(broken.heartbeat()).rejects.toBeInstanceOf(ChromaError);
      await broken.close();
      // close() while writes and queries are still in flight.
      const path = join(root, `inflight${i}`);
      const client = PersistentClient({ path });
      const col = await client.createCollection({ name: "inflight", embeddingFunction: null });
      const pending = Array.from({ length: 6 }, (_, j) =>
        j % 2 === 0
          ? col.add({ ids: [`a${j}`, `b${j}`], embeddings: vectors(2, i * 10 + j) })
          : col.query({ queryEmbeddings: vectors(1, j), nResults: 2 }),
      );
      const closed = client.close();
      const settled = await Promise.allSettled([...pending, closed]);
      for (const result of settled) {
        if (result.status === "rejected") expect(result.reason).toBeInstanceOf(ChromaError);
      }
      expect(settled[settled.length - 1].status).toBe("fulfilled");
      rmSync(path, { recursive: true, force: true });
    };
    for (let i = 0; i < 10; i++) await cycle(-1 - i);
    const tracker = new Tracker("failed open / close-while-busy loop", await measure());
    await loop(tracker, Math.ceil(ITERATIONS / 20), cycle);
    tracker.check([root]);
  }, 600_000);
});
