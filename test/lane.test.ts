/**
 * Record reads and writes awaited one at a time run on the lane: one worker thread, bound at each call to
 * the CPU the calling JS thread is on (crates/node-binding/src/lane.rs).
 * These tests pin down what makes that safe for the host process: the JS thread's own CPU mask is never
 * narrowed (also when calls overlap, fail, or come from worker threads), results are the same as through
 * the libuv pool, calls in flight at once still spread over the pool (a call awaited alone hands the JS
 * thread's CPU to the lane; task.rs), and `CHROMALITE_LANE=0` turns the lane off.
 *
 * Masks are read from /proc (Linux). Where the process may use only one CPU there is nothing to narrow,
 * and the tests that look at the lane thread's mask are skipped.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";
import { EphemeralClient, type Collection } from "../dist/index.js";
import { hashEmbed, seededRandom, uniqueName } from "./helpers.js";

const DIM = 32;
const COUNT = 3_000;
const STATUS = "/proc/thread-self/status";
const linux = existsSync(STATUS);

/** The calling thread's allowed CPUs, e.g. "0-1". */
function allowedCpus(): string {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(STATUS, "utf8"))?.[1] ?? "";
}

/** Number of CPUs in a list such as "0-3,6". */
function cpuCount(list: string): number {
  return list.split(",").reduce((n, part) => {
    const [a, b] = part.split("-").map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
}

/** The lane thread's allowed CPUs and voluntary context switches (one or more per call it runs), if it exists. */
function laneThread(): { cpus: string; switches: number } | undefined {
  for (const tid of readdirSync("/proc/self/task")) {
    if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() !== "chromalite-lane") continue;
    const status = readFileSync(`/proc/self/task/${tid}/status`, "utf8");
    return {
      cpus: /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? "",
      switches: Number(/\nvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1]),
    };
  }
  return undefined;
}

/** The mask this (main) thread had before any read. */
const ORIGINAL = linux ? allowedCpus() : "";
const multiCpu = linux && cpuCount(ORIGINAL) > 1;

/**
 * The masks the calling thread has while `read` is pending. Sampled across microtask turns only: the native
 * call is made within them, and a promise can only settle in a later event-loop turn, so the samples fall
 * between the call and its settlement.
 */
async function masksWhilePending(read: () => Promise<unknown>): Promise<string[]> {
  const seen = new Set<string>();
  const pending = read();
  for (let i = 0; i < 50; i++) {
    await null;
    seen.add(allowedCpus());
  }
  await pending;
  return [...seen];
}

describe("the lane (record reads and writes awaited one at a time)", () => {
  let collection: Collection;
  let queries: number[][];

  beforeAll(async () => {
    const random = seededRandom(31);
    const vector = () => Array.from({ length: DIM }, () => random() * 2 - 1);
    collection = await EphemeralClient().createCollection({ name: uniqueName("lane"), embeddingFunction: null });
    await collection.add({
      ids: Array.from({ length: COUNT }, (_, i) => `id${i}`),
      embeddings: Array.from({ length: COUNT }, vector),
      metadatas: Array.from({ length: COUNT }, (_, i) => ({ bucket: i % 10 })),
    });
    queries = Array.from({ length: 40 }, vector);
  });

  it.skipIf(!multiCpu)("binds the lane thread to one CPU and never narrows the JS thread's mask", async () => {
    for (const read of [
      () => collection.query({ queryEmbeddings: [queries[0]], nResults: 5 }),
      () => collection.count(),
      () => collection.get({ ids: ["id1", "id2"] }),
      () => collection.upsert({ ids: ["extra"], embeddings: [queries[1]] }),
      () => collection.update({ ids: ["extra"], metadatas: [{ bucket: 99 }] }),
      () => collection.delete({ ids: ["extra"] }),
    ]) {
      const during = await masksWhilePending(read);
      expect(during, `while pending: ${during.join(" / ")}`).toEqual([ORIGINAL]);
      expect(allowedCpus()).toBe(ORIGINAL);
    }
    const lane = laneThread();
    expect(lane).toBeDefined();
    expect(cpuCount(lane!.cpus), lane!.cpus).toBe(1);
  });

  it.skipIf(!linux)("overlapping reads give the results of reads awaited one by one, and the mask stays the thread's own", async () => {
    const before = ORIGINAL;
    const sequential = [];
    for (const q of queries) sequential.push(await collection.query({ queryEmbeddings: [q], nResults: 7, where: { bucket: { $lt: 5 } } }));
    // All in flight at once: the first takes the lane, the rest the pool; claims overlap their settlements.
    const overlapped = await Promise.all(queries.map((q) => collection.query({ queryEmbeddings: [q], nResults: 7, where: { bucket: { $lt: 5 } } })));
    expect(overlapped).toEqual(sequential);
    // Staggered: a new read starts while the previous one's promise has not settled yet.
    const staggered = [];
    let previous: Promise<unknown> = Promise.resolve();
    for (const q of queries) {
      const next = collection.query({ queryEmbeddings: [q], nResults: 7, where: { bucket: { $lt: 5 } } });
      await previous;
      staggered.push(next);
      previous = next;
    }
    expect(await Promise.all(staggered)).toEqual(sequential);
    expect(allowedCpus()).toBe(before);
  });

  it.skipIf(!linux)("a failing call rejects with the usual typed error and leaves the mask alone", async () => {
    const before = ORIGINAL;
    for (let i = 0; i < 3; i++) {
      await expect(collection.query({ queryEmbeddings: [[1, 2, 3]], nResults: 1 })).rejects.toMatchObject({
        name: "ChromaValueError",
      });
      expect(allowedCpus()).toBe(before);
      await expect(collection.add({ ids: ["short"], embeddings: [[1, 2, 3]] })).rejects.toMatchObject({
        name: "ChromaValueError",
      });
      expect(allowedCpus()).toBe(before);
    }
    expect(await collection.count()).toBe(COUNT);
  });

  it.skipIf(!linux)("reads from worker threads and the main thread at once: each thread keeps its own mask", async () => {
    const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      const { readFileSync } = require("node:fs");
      const { EphemeralClient } = require(workerData.dist);
      const cpus = () => /Cpus_allowed_list:\\s*(\\S+)/.exec(readFileSync("/proc/thread-self/status", "utf8"))[1];
      (async () => {
        const before = cpus();
        const c = await EphemeralClient().createCollection({ name: "in-worker", embeddingFunction: null });
        await c.add({ ids: ["a", "b", "c"], embeddings: [[0, 0], [1, 1], [5, 5]] });
        const found = [];
        const during = new Set();
        for (let i = 0; i < 200; i++) {
          const p = c.query({ queryEmbeddings: [[0.9, 1.2]], nResults: 1, include: [] });
          for (let t = 0; t < 50; t++) {
            await null;
            during.add(cpus());
          }
          found.push((await p).ids[0][0]);
        }
        parentPort.postMessage({ before, after: cpus(), found: [...new Set(found)], during: [...during] });
      })().catch((e) => parentPort.postMessage({ error: String(e) }));
    `;
    type Report = { before: string; after: string; found: string[]; during: string[]; error?: string };
    const run = () =>
      new Promise<Report>((resolve, reject) => {
        const worker = new Worker(source, { eval: true, workerData: { dist } });
        worker.once("message", (m) => void worker.terminate().then(() => resolve(m)));
        worker.once("error", reject);
      });
    const check = (r: Report) => {
      expect(r.error).toBeUndefined();
      expect(r.found).toEqual(["b"]);
      expect(r.after).toBe(r.before);
    };
    // Alone: the worker's reads take the lane; its own mask never narrows.
    const alone = await run();
    check(alone);
    expect(alone.during).toEqual([alone.before]);
    // Two workers and the main thread at once, contending for the lane.
    const mainReads = (async () => {
      for (let i = 0; i < 200; i++) await collection.query({ queryEmbeddings: [queries[i % queries.length]], nResults: 3 });
    })();
    const [first, second] = await Promise.all([run(), run(), mainReads]);
    check(first);
    check(second);
    expect(allowedCpus()).toBe(ORIGINAL);
  });

  it.skipIf(!linux)("an embedding function runs with the JS thread's own mask even while a lane call is pending", async () => {
    const seen: string[] = [];
    const probe = {
      name: "mask-probe",
      generate: async (texts: string[]) => {
        seen.push(allowedCpus());
        return texts.map((t) => hashEmbed(t));
      },
      getConfig: () => ({}),
    };
    const texts = await EphemeralClient().createCollection({ name: uniqueName("lane-embed"), embeddingFunction: probe });
    await texts.add({ ids: ["t1", "t2"], documents: ["first text", "second text"] });
    for (let i = 0; i < 5; i++) {
      // A read left pending on the lane: after these microtask turns its call has been made.
      const pending = collection.get({ include: ["embeddings"] });
      for (let t = 0; t < 50; t++) await null;
      const found = await texts.query({ queryTexts: ["first text"], nResults: 1, include: [] });
      expect(found.ids).toEqual([["t1"]]);
      await pending;
    }
    expect(seen.length).toBe(6);
    expect(new Set(seen)).toEqual(new Set([ORIGINAL]));
    expect(allowedCpus()).toBe(ORIGINAL);
  });

  it.skipIf(!multiCpu)("threads started while calls run on the lane keep the process's mask (only the lane thread is narrowed)", () => {
    // A fresh process, so that the parallel insert below is the first parallel work: the engine's worker
    // pool must not be started from the (narrowed) lane thread.
    const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
    const script = `
      const { readFileSync, readdirSync } = require("node:fs");
      const { EphemeralClient } = require(${JSON.stringify(dist)});
      const field = (text) => /Cpus_allowed_list:\\s*(\\S+)/.exec(text)[1];
      (async () => {
        const original = field(readFileSync("/proc/thread-self/status", "utf8"));
        const c = await EphemeralClient().createCollection({ name: "pool-check", embeddingFunction: null });
        await c.add({ ids: ["a"], embeddings: [[1, 2, 3, 4]] });
        await c.query({ queryEmbeddings: [[1, 2, 3, 4]], nResults: 1 });
        const n = 5000;
        await c.add({
          ids: Array.from({ length: n }, (_, i) => "v" + i),
          embeddings: Array.from({ length: n }, (_, i) => [Math.sin(i), Math.cos(i), i % 7, i % 13]),
        });
        const threads = readdirSync("/proc/self/task").map((tid) => ({
          name: readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim(),
          cpus: field(readFileSync("/proc/self/task/" + tid + "/status", "utf8")),
        }));
        process.stdout.write(JSON.stringify({ original, threads }));
      })();
    `;
    const { original, threads } = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as {
      original: string;
      threads: { name: string; cpus: string }[];
    };
    expect(threads.some((t) => t.name.startsWith("chromalite-pool")), JSON.stringify(threads)).toBe(true);
    const narrowed = threads.filter((t) => t.cpus !== original);
    expect(narrowed.map((t) => t.name)).toEqual(["chromalite-lane"]);
  });

  it.skipIf(!multiCpu)("a worker terminated while its call runs on the lane does not leave the lane busy", async () => {
    const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      const { EphemeralClient } = require(workerData.dist);
      (async () => {
        const c = await EphemeralClient().createCollection({ name: "doomed", embeddingFunction: null });
        const n = 5000;
        await c.add({ ids: Array.from({ length: n }, (_, i) => "v" + i), embeddings: Array.from({ length: n }, (_, i) => [i, i % 7, i % 11, 1]) });
        // Calls left pending when the worker is terminated.
        for (let i = 0; i < 8; i++) void c.get({ include: ["embeddings", "metadatas", "documents"] }).catch(() => {});
        parentPort.postMessage("pending");
      })();
    `;
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(source, { eval: true, workerData: { dist } });
      await new Promise<void>((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      });
      await worker.terminate();
    }
    // The lane runs this thread's calls awaited one at a time again (it parks once per call it runs), once
    // the workers' calls it may still be running are done; were it left busy, every call would go to the pool.
    const before = laneThread()!.switches;
    for (let i = 0; i < 500 && laneThread()!.switches - before < 50; i++) {
      await collection.query({ queryEmbeddings: [queries[i % queries.length]], nResults: 3 });
    }
    expect(laneThread()!.switches - before).toBeGreaterThanOrEqual(50);
    expect(await collection.count()).toBe(COUNT);
    expect(allowedCpus()).toBe(ORIGINAL);
  });

  it.skipIf(!linux)("calls awaited one at a time run on the lane; calls in flight at once spread over the pool", () => {
    // A fresh process, so that its threads' CPU time (from /proc, in clock ticks) is this workload's. A call
    // made while none other is pending hands the JS thread's CPU to the lane; one made while others are
    // pending must not, or the JS thread would issue each call only once the lane is done with the last
    // and every call would run on the lane.
    const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
    const script = `
      const { readFileSync, readdirSync } = require("node:fs");
      const { EphemeralClient } = require(${JSON.stringify(dist)});
      const ticks = (path) => {
        const stat = readFileSync(path, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[11]) + Number(fields[12]);
      };
      // CPU ticks of the lane thread, and of every thread but the lane, this JS thread and the engine's pool.
      const sample = () => {
        let lane = 0, engine = 0;
        for (const tid of readdirSync("/proc/self/task")) {
          const name = readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim();
          if (name === "chromalite-lane") lane += ticks("/proc/self/task/" + tid + "/stat");
          else if (name.startsWith("chromalite-pool")) engine += ticks("/proc/self/task/" + tid + "/stat");
        }
        return { lane, rest: ticks("/proc/self/stat") - engine - lane - ticks("/proc/thread-self/stat") };
      };
      const since = (a) => { const b = sample(); return { lane: b.lane - a.lane, rest: b.rest - a.rest }; };
      (async () => {
        const dim = 32, n = 20000, calls = 8000;
        let seed = 7;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
        const c = await EphemeralClient().createCollection({ name: "spread", embeddingFunction: null });
        for (let i = 0; i < n; i += 5000) {
          const embeddings = Array.from({ length: 5000 }, () => Array.from({ length: dim }, random));
          await c.add({ ids: embeddings.map((_, j) => "v" + (i + j)), embeddings });
        }
        const queries = Array.from({ length: 64 }, () => Array.from({ length: dim }, random));
        const query = (i) => c.query({ queryEmbeddings: [queries[i % 64]], nResults: 20, include: [] });
        let start = sample();
        for (let i = 0; i < calls; i++) await query(i);
        const oneAtATime = since(start);
        start = sample();
        let next = 0;
        await Promise.all(Array.from({ length: 8 }, async () => { while (next < calls) await query(next++); }));
        const inFlight = since(start);
        process.stdout.write(JSON.stringify({ oneAtATime, inFlight }));
      })();
    `;
    const { oneAtATime, inFlight } = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" })) as {
      oneAtATime: { lane: number; rest: number };
      inFlight: { lane: number; rest: number };
    };
    const shown = JSON.stringify({ oneAtATime, inFlight });
    expect(oneAtATime.lane, shown).toBeGreaterThan(oneAtATime.rest);
    expect(inFlight.rest, shown).toBeGreaterThan(inFlight.lane);
  });

  it.skipIf(!linux)("CHROMALITE_LANE=0 turns the lane off: calls run on the pool", () => {
    const dist = fileURLToPath(new URL("../dist/index.cjs", import.meta.url));
    const script = `
      const { readFileSync, readdirSync } = require("node:fs");
      const { EphemeralClient } = require(${JSON.stringify(dist)});
      (async () => {
        const c = await EphemeralClient().createCollection({ name: "lane-off", embeddingFunction: null });
        await c.add({ ids: ["a"], embeddings: [[1, 2]] });
        for (let i = 0; i < 20; i++) await c.query({ queryEmbeddings: [[1, 2]], nResults: 1 });
        const names = readdirSync("/proc/self/task").map((tid) => readFileSync("/proc/self/task/" + tid + "/comm", "utf8").trim());
        process.stdout.write(JSON.stringify(names));
      })();
    `;
    const threads = (env: Record<string, string>) =>
      JSON.parse(execFileSync(process.execPath, ["-e", script], { env: { ...process.env, ...env }, encoding: "utf8" })) as string[];
    expect(threads({ CHROMALITE_LANE: "0" })).not.toContain("chromalite-lane");
    // And the same script with the lane on starts it, so the check above can fail.
    expect(threads({ CHROMALITE_LANE: "1" })).toContain("chromalite-lane");
  });
});
