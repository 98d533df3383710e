/**
 * Engine work runs off the JS thread: while a large add, a batch of heavy queries or a get over everything is
 * pending, the event loop keeps ticking. This protects the "every call that does real work returns a Promise
 * and runs on a worker thread" rule; a blocking binding would freeze timers for the whole call.
 *
 * The assertion is on the number of 1 ms interval ticks observed while the promise is pending, relative to the
 * elapsed time (at least one tick per 20 ms on average), never on how long the operation takes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PersistentClient } from "../dist/index.js";
import { makeTempDir, removeTempDirs, seededRandom, uniqueName } from "./helpers.js";

const COUNT = 20_000;
const DIM = 256;
const BATCH = 5_000;

interface Measurement {
  ticksWhilePending: number;
  pendingMs: number;
  rounds: number;
}

/**
 * Runs `work` repeatedly (at least once, until `minMs` of pending time has accumulated, at most `maxRounds`)
 * and counts interval ticks that fire while a call is pending.
 */
async function measure(work: () => Promise<unknown>, minMs = 300, maxRounds = 20): Promise<Measurement> {
  let pending = false;
  let ticksWhilePending = 0;
  const timer = setInterval(() => {
    if (pending) ticksWhilePending += 1;
  }, 1);
  let pendingMs = 0;
  let rounds = 0;
  try {
    do {
      const started = performance.now();
      pending = true;
      try {
        await work();
      } finally {
        pending = false;
      }
      pendingMs += performance.now() - started;
      rounds += 1;
    } while (pendingMs < minMs && rounds < maxRounds);
  } finally {
    clearInterval(timer);
  }
  return { ticksWhilePending, pendingMs, rounds };
}

function expectEventLoopAlive(label: string, m: Measurement): void {
  const required = Math.max(3, Math.floor(m.pendingMs / 20));
  expect(
    m.ticksWhilePending,
    `${label}: ${m.ticksWhilePending} ticks in ${m.pendingMs.toFixed(0)} ms over ${m.rounds} call(s); need ≥ ${required}`,
  ).toBeGreaterThanOrEqual(required);
}

describe("engine work does not block the event loop", () => {
  const random = seededRandom(99);
  const vector = () => Array.from({ length: DIM }, () => random() * 2 - 1);
  let client: any;
  let col: any;

  beforeAll(async () => {
    client = PersistentClient({ path: makeTempDir() });
    col = await client.createCollection({ name: uniqueName("big"), embeddingFunction: null });
  });

  afterAll(async () => {
    await client?.close();
    removeTempDirs();
  });

  it(`adding ${COUNT}×${DIM} vectors in batches of ${BATCH} keeps the loop ticking`, async () => {
    let next = 0;
    const m = await measure(
      async () => {
        if (next >= COUNT) return;
        const ids = Array.from({ length: BATCH }, (_, i) => `v${next + i}`);
        const embeddings = ids.map(vector);
        const metadatas = ids.map((_, i) => ({ bucket: (next + i) % 10 }));
        next += BATCH;
        await col.add({ ids, embeddings, metadatas });
      },
      Number.POSITIVE_INFINITY,
      COUNT / BATCH,
    );
    expect(await col.count()).toBe(COUNT);
    expectEventLoopAlive("add", m);
  });

  it("a batch of heavy queries keeps the loop ticking", async () => {
    const queries = Array.from({ length: 200 }, vector);
    let lastLength = 0;
    const m = await measure(async () => {
      const result = await col.query({ queryEmbeddings: queries, nResults: 50, include: ["distances"] });
      lastLength = result.ids.length;
    });
    expect(lastLength).toBe(queries.length);
    expectEventLoopAlive("query", m);
  });

  it("filtered queries (exact search over a subset) keep the loop ticking", async () => {
    const queries = Array.from({ length: 100 }, vector);
    const m = await measure(async () => {
      const result = await col.query({ queryEmbeddings: queries, nResults: 20, where: { bucket: { $in: [1, 3, 7] } }, include: ["distances", "metadatas"] });
      for (const row of result.metadatas) for (const meta of row) expect([1, 3, 7]).toContain(meta.bucket);
    });
    expectEventLoopAlive("filtered query", m);
  });

  it("a get over everything keeps the loop ticking", async () => {
    let last: any;
    const m = await measure(async () => {
      last = await col.get({ include: ["embeddings", "metadatas"] });
    });
    expect(last.ids).toHaveLength(COUNT);
    // The embeddings are reshaped a slice at a time between turns of the loop: every row in its place.
    expect(last.embeddings).toHaveLength(COUNT);
    for (const at of [0, 1023, 1024, 1025, 9_999, COUNT - 1]) {
      const one = await col.get({ ids: [last.ids[at]], include: ["embeddings"] });
      expect(last.embeddings[at]).toEqual(one.embeddings[0]);
      expect(last.embeddings[at]).toHaveLength(DIM);
    }
    expectEventLoopAlive("get", m);
  });

  it("a query returning many embeddings keeps the loop ticking, every row in its place", async () => {
    const queries = Array.from({ length: 20 }, vector);
    let last: any;
    const m = await measure(async () => {
      last = await col.query({ queryEmbeddings: queries, nResults: 1000, include: ["embeddings", "distances"] });
    });
    expect(last.embeddings).toHaveLength(queries.length);
    // 20 × 1,000 rows of 256 floats: slices of 1,024 rows, so rows on both sides of a boundary are checked.
    for (const [q, at] of [[0, 0], [1, 23], [1, 24], [9, 999], [19, 999]] as const) {
      expect(last.embeddings[q]).toHaveLength(1000);
      const one = await col.get({ ids: [last.ids[q][at]], include: ["embeddings"] });
      expect(last.embeddings[q][at]).toEqual(one.embeddings[0]);
      expect(last.embeddings[q][at]).toHaveLength(DIM);
    }
    expectEventLoopAlive("query with embeddings", m);
  });

  it("timers fire while a single long call is pending (not only between calls)", async () => {
    const queries = Array.from({ length: 400 }, vector);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const started = performance.now();
    try {
      const promise = col.query({ queryEmbeddings: queries, nResults: 100, where: { bucket: { $ne: 4 } }, include: ["distances"] });
      expect(promise).toBeInstanceOf(Promise);
      await promise;
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    // A call this large takes many milliseconds; if it blocked the thread, no tick could fire until it returned.
    expect(ticks, `${ticks} ticks in ${elapsed.toFixed(0)} ms`).toBeGreaterThanOrEqual(Math.max(1, Math.floor(elapsed / 20)));
  });
});
