/**
 * Durability of PersistentClient ("a PersistentClient that never loses an acknowledged write"):
 *
 * 1. Crash test: writer child processes (test/fixtures/crash-writer.mjs) run seeded random add / upsert /
 *    update / delete batches and are killed with SIGKILL at a random moment; after each kill the directory is
 *    reopened here and must hold exactly the acknowledged writes, plus at most the one in-flight batch applied
 *    wholly. CHROMALITE_CRASH_KILLS scales the number of kills (default 50), CHROMALITE_CRASH_SEED picks the seed.
 * 2. Two processes: a directory held by another process is refused with a typed error naming the path; a
 *    killed holder leaves no stale lock (test/fixtures/holder.mjs, test/fixtures/probe.mjs).
 * 3. In-process sharing of one directory by several clients.
 * 4. Refusal of a newer format version and of a file that is not a database (edited with python3's sqlite3).
 * 5. Every method rejects with ChromaClosedError after close().
 * 6. deleteCollection frees the data, on disk too.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  ChromaClosedError,
  ChromaCorruptedError,
  ChromaError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  PersistentClient,
} from "../dist/index.js";
import { expectRejects, makeTempDir, removeTempDirs, seededRandom } from "./helpers.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const CRASH_WRITER = join(FIXTURES, "crash-writer.mjs");
const HOLDER = join(FIXTURES, "holder.mjs");
const PROBE = join(FIXTURES, "probe.mjs");
const DB_FILE = "chromalite.sqlite3";
const LOCK_FILE = "chromalite.lock";

const closedSpec = { cls: ChromaClosedError, name: "ChromaClosedError" };
const forbiddenSpec = { cls: ChromaForbiddenError, name: "ChromaForbiddenError" };
const corruptedSpec = { cls: ChromaCorruptedError, name: "ChromaCorruptedError" };
const notFoundSpec = { cls: ChromaNotFoundError, name: "ChromaNotFoundError" };
const IN_USE = "in use by another process";

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const parsed = Number.parseInt(raw, 10);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}

// ------------------------------------------------------------------------------------------------ bookkeeping

/** Clients opened by a test, closed after it even when it fails. */
const openClients: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(client: T): T {
  openClients.push(client);
  return client;
}

/** Child processes started by a test, killed after it if still running. */
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  while (openClients.length > 0) await openClients.pop()!.close();
});

afterAll(() => {
  removeTempDirs();
});

/** A child node process speaking the fixtures' protocol: one JSON object per stdout line. */
class ChildRun {
  readonly child: ChildProcess;
  /** Complete lines so far (a line cut short by a kill is not included). */
  readonly lines: any[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buffer = "";
  private listeners: (() => void)[] = [];
  private done = false;

  constructor(script: string, args: string[], onLine?: (line: any, run: ChildRun) => void) {
    this.child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    children.add(this.child);
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      this.buffer += chunk;
      const parts = this.buffer.split("\n");
      this.buffer = parts.pop()!;
      for (const part of parts) {
        if (part.trim() === "") continue;
        const line = JSON.parse(part);
        this.lines.push(line);
        onLine?.(line, this);
      }
      this.notify();
    });
    // "close": the process has exited and its stdout is drained, so every line it wrote has been seen.
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code, signal) => {
        this.done = true;
        this.notify();
        resolve({ code, signal });
      }),
    );
  }

  private notify(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }

  /** The first line matching `predicate`; rejects if the child ends without printing one. */
  waitFor(predicate: (line: any) => boolean, what: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(predicate);
        if (found) return resolve(found);
        if (this.done) {
          return reject(new Error(`child ended (${this.child.exitCode ?? this.child.signalCode}) before ${what}; ` +
            `stdout: ${JSON.stringify(this.lines)}; stderr: ${this.stderr}`));
        }
        this.listeners.push(check);
      };
      check();
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

/** Runs SQL on a database file with python3's stdlib sqlite3 (Node 20 has no node:sqlite); returns the rows. */
function sqlite(file: string, sql: string, params: unknown[] = []): unknown[][] {
  const script = [
    "import json, sqlite3, sys",
    "c = sqlite3.connect(sys.argv[1])",
    "rows = c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()",
    "c.commit()",
    "c.close()",
    "print(json.dumps(rows))",
  ].join("\n");
  const out = execFileSync("python3", ["-c", script, file, sql, JSON.stringify(params)], { encoding: "utf8" });
  return JSON.parse(out);
}

// ================================================================================================ 1. crash test

type MetaValue = string | number | boolean;
type Meta = Record<string, MetaValue>;
type UpdateMeta = Record<string, MetaValue | null>;
interface StoredRecord {
  embedding: number[];
  document: string | null;
  metadata: Meta | null;
}
/** id → record; the Map's order is the collection's insertion (row) order. */
type State = Map<string, StoredRecord>;
interface WriteOp {
  kind: "add" | "upsert" | "update";
  ids: string[];
  embeddings?: number[][];
  documents?: (string | null)[];
  metadatas?: (UpdateMeta | null)[];
}
type Op = WriteOp | { kind: "delete"; ids?: string[]; where?: { g: number } } | { kind: "create" };

const f32 = (vector: number[]) => vector.map((v) => Math.fround(v));

/** Metadata of a new record: `null` values dropped; empty = none. */
function insertMetadata(update: UpdateMeta | null | undefined): Meta | null {
  if (!update) return null;
  const out: Meta = {};
  for (const [key, value] of Object.entries(update)) if (value !== null) out[key] = value;
  return Object.keys(out).length > 0 ? out : null;
}

/** Chroma's merge: keys replaced one by one, `null` deletes a key; empty afterwards = none. */
function mergeMetadata(existing: Meta | null, update: UpdateMeta): Meta | null {
  const out: Meta = { ...(existing ?? {}) };
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The reference model: applies one acknowledged op to a state (in place). */
function applyOp(state: State, op: Op): void {
  if (op.kind === "create") return;
  if (op.kind === "delete") {
    if (op.ids) for (const id of op.ids) state.delete(id);
    if (op.where) {
      for (const [id, record] of [...state]) if (record.metadata?.g === op.where.g) state.delete(id);
    }
    return;
  }
  op.ids.forEach((id, i) => {
    const embedding = op.embeddings?.[i];
    const document = op.documents?.[i] ?? null;
    const metadata = op.metadatas?.[i] ?? null;
    const existing = state.get(id);
    if (!existing) {
      if (op.kind === "update") return; // update ignores unknown ids
      state.set(id, { embedding: f32(embedding!), document, metadata: insertMetadata(metadata) });
      return;
    }
    if (op.kind === "add") return; // add skips existing ids
    state.set(id, {
      embedding: embedding ? f32(embedding) : existing.embedding,
      document: document ?? existing.document,
      metadata: metadata ? mergeMetadata(existing.metadata, metadata) : existing.metadata,
    });
  });
}

const cloneState = (state: State): State =>
  new Map([...state].map(([id, r]) => [id, { ...r, metadata: r.metadata && { ...r.metadata } }]));

function sortedMeta(metadata: Meta | null): Meta | null {
  if (!metadata) return null;
  return Object.fromEntries(Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Canonical text of a state's contents, independent of order. */
function contents(state: State): string {
  return JSON.stringify(
    [...state]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([id, r]) => [id, r.embedding, r.document, sortedMeta(r.metadata)]),
  );
}

/** Per-id differences between what was read and what the model expects. */
function describeDiff(actual: State, expected: State): string {
  const lines: string[] = [];
  for (const id of new Set([...expected.keys(), ...actual.keys()])) {
    const a = actual.get(id);
    const e = expected.get(id);
    const show = (r?: StoredRecord) => (r ? JSON.stringify([r.embedding, r.document, sortedMeta(r.metadata)]) : "absent");
    if (show(a) !== show(e)) lines.push(`  ${id}: read ${show(a)}\n  ${" ".repeat(id.length)}  want ${show(e)}`);
  }
  return lines.join("\n") || "  (same contents)";
}

const CRASH_KILLS = envInt("CHROMALITE_CRASH_KILLS", 50);
const CRASH_SEED = envInt("CHROMALITE_CRASH_SEED", 20_250_611);
const KILLS_PER_ROUND = 5;
const OPS_PER_WRITER = 15;
const ID_POOL = 24;
const CRASH_COLLECTION = "crash";

/**
 * When to SIGKILL a writer: `time` ms after spawning it; when it prints `{"ack": n}` (then synchronously, on the next
 * turn of the event loop, or after a few ms); or `delayMs` after it prints `{"start": 0}`, i.e. while it opens the
 * directory (creating the schema on the first run) and creates the collection.
 */
type KillPlan =
  | { mode: "time"; delayMs: number }
  | { mode: "ack"; ack: number; after: "sync" | "immediate" | number }
  | { mode: "opening"; delayMs: number };

function killPlan(rng: () => number, firstOfRound: boolean): KillPlan {
  if (firstOfRound && rng() < 0.7) return { mode: "opening", delayMs: Math.round(rng() * 16) };
  if (rng() < 0.3) return { mode: "time", delayMs: Math.round(rng() * 250) };
  const ack = Math.floor(rng() * (OPS_PER_WRITER + 1));
  const roll = rng();
  return { mode: "ack", ack, after: roll < 0.4 ? "sync" : roll < 0.7 ? "immediate" : Math.round(rng() * 4) };
}

interface KillOutcome {
  acked: Op[];
  inFlight: Op | undefined;
  finished: boolean;
}

/** Runs one writer and SIGKILLs it according to the plan; returns what it acknowledged. */
async function runWriter(dir: string, writerSeed: number, plan: KillPlan): Promise<KillOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const fire = (run: ChildRun) => {
    if (plan.mode !== "ack" || plan.after === "sync") run.kill();
    else if (plan.after === "immediate") setImmediate(() => run.kill());
    else timer = setTimeout(() => run.kill(), plan.after);
  };
  const run = new ChildRun(
    CRASH_WRITER,
    [dir, String(writerSeed), String(OPS_PER_WRITER), String(ID_POOL)],
    (line, self) => {
      if (line.done) self.kill(); // finished before the planned moment: kill it now
      else if (plan.mode === "ack" && line.ack === plan.ack) fire(self);
      else if (plan.mode === "opening" && line.start === 0) timer = setTimeout(() => self.kill(), plan.delayMs);
    },
  );
  if (plan.mode === "time") timer = setTimeout(() => run.kill(), plan.delayMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  const error = run.lines.find((l) => l.error);
  if (error || signal !== "SIGKILL") {
    throw new Error(`writer did not end by SIGKILL (code ${code}, signal ${signal}): ${error?.error ?? ""}\nstderr: ${run.stderr}`);
  }
  const starts = new Map<number, Op>();
  const acks = new Set<number>();
  for (const line of run.lines) {
    if (line.start !== undefined) starts.set(line.start, line.op);
    if (line.ack !== undefined) acks.add(line.ack);
  }
  const numbers = [...starts.keys()].sort((a, b) => a - b);
  const acked: Op[] = [];
  let inFlight: Op | undefined;
  for (const n of numbers) {
    if (acks.has(n)) {
      if (inFlight) throw new Error(`protocol error: op ${n} acknowledged after an unacknowledged one`);
      acked.push(starts.get(n)!);
    } else {
      if (inFlight) throw new Error("protocol error: two ops in flight");
      inFlight = starts.get(n);
    }
  }
  return { acked, inFlight, finished: run.lines.some((l) => l.done) };
}

interface RoundState {
  model: State;
  /** The collection exists durably (its creation was acknowledged, or it was seen after a crash). */
  created: boolean;
}

/** Reopens the directory here and checks it against the model; returns the state it matched. */
async function verifyAfterKill(dir: string, round: RoundState, outcome: KillOutcome): Promise<"acked" | "acked+in-flight"> {
  const acked = cloneState(round.model);
  let createdNow = round.created;
  for (const op of outcome.acked) {
    applyOp(acked, op);
    if (op.kind === "create") createdNow = true;
  }
  const candidates: { label: "acked" | "acked+in-flight"; state: State }[] = [{ label: "acked", state: acked }];
  if (outcome.inFlight && outcome.inFlight.kind !== "create") {
    const withInFlight = cloneState(acked);
    applyOp(withInFlight, outcome.inFlight);
    candidates.push({ label: "acked+in-flight", state: withInFlight });
  }

  const client = PersistentClient({ path: dir });
  try {
    let collection;
    try {
      collection = await client.getCollection({ name: CRASH_COLLECTION });
    } catch (error) {
      if (error instanceof ChromaNotFoundError && !createdNow) {
        // Killed before the collection was created durably: nothing else can have been written.
        expect(acked.size, "records acknowledged in a collection that does not exist").toBe(0);
        return "acked";
      }
      throw error;
    }
    round.created = true;

    const got = await collection.get({ include: ["embeddings", "documents", "metadatas"] as any });
    const actual: State = new Map();
    got.ids.forEach((id: string, i: number) => {
      expect(actual.has(id), `id ${id} returned twice`).toBe(false);
      actual.set(id, {
        embedding: Array.from(got.embeddings[i] as ArrayLike<number>),
        document: got.documents[i] ?? null,
        metadata: (got.metadatas[i] as Meta | null) ?? null,
      });
    });
    const match = candidates.find((c) => contents(c.state) === contents(actual));
    if (!match) {
      const inFlight = outcome.inFlight ? JSON.stringify(outcome.inFlight) : "none";
      throw new Error(
        `state after the kill is neither the acknowledged state nor it plus the whole in-flight op ` +
          `(${outcome.acked.length} ops acknowledged by this writer, in-flight: ${inFlight})\n` +
          `read vs acknowledged:\n${describeDiff(actual, acked)}` +
          (candidates[1] ? `\nread vs acknowledged + in-flight:\n${describeDiff(actual, candidates[1].state)}` : ""),
      );
    }
    // Records come back in insertion order, as before the crash.
    expect([...actual.keys()], "get() order after reopen").toEqual([...match.state.keys()]);

    // count / get / query agree.
    expect(await collection.count()).toBe(got.ids.length);
    if (actual.size > 0) {
      const ids = [...actual.keys()];
      const result = await collection.query({
        queryEmbeddings: ids.map((id) => actual.get(id)!.embedding),
        nResults: 1,
        include: ["distances"] as any,
      });
      ids.forEach((id, i) => {
        expect(result.ids[i], `nearest record to ${id}'s own embedding`).toEqual([id]);
        expect(result.distances[i][0], `distance of ${id} to its own embedding`).toBeLessThan(1e-6);
      });
      const everything = await collection.query({ queryEmbeddings: [[1, 0, 0, 0, 0, 0, 0, 0]], nResults: ids.length });
      expect([...everything.ids[0]].sort(), "an unfiltered query over every record").toEqual([...ids].sort());
    }
    round.model = match.state;
    return match.label;
  } finally {
    await client.close();
  }
}

describe("crash safety: SIGKILL never loses an acknowledged write", () => {
  it(
    `${CRASH_KILLS} kills of writer processes (CHROMALITE_CRASH_KILLS), seed ${CRASH_SEED} (CHROMALITE_CRASH_SEED)`,
    async () => {
      const stats = { kills: 0, inFlight: 0, inFlightApplied: 0, finished: 0, acknowledged: 0 };
      // After a failed check the round's directory is in an unknown state: the round goes on in a fresh one, so
      // every planned kill runs and one run reports every distinct failure.
      const failures: string[] = [];
      const rounds = Math.ceil(CRASH_KILLS / KILLS_PER_ROUND);
      for (let r = 0; r < rounds; r++) {
        let dir = makeTempDir("chromalite-crash-");
        let round: RoundState = { model: new Map(), created: false };
        const killsThisRound = Math.min(KILLS_PER_ROUND, CRASH_KILLS - r * KILLS_PER_ROUND);
        for (let k = 0; k < killsThisRound; k++) {
          const killSeed = (CRASH_SEED + r * 7919 + k * 104_729) >>> 0;
          const rng = seededRandom(killSeed);
          const writerSeed = Math.floor(rng() * 2 ** 32);
          const plan = killPlan(rng, k === 0);
          let outcome: KillOutcome | undefined;
          try {
            outcome = await runWriter(dir, writerSeed, plan);
            stats.kills++;
            const label = await verifyAfterKill(dir, round, outcome);
            stats.acknowledged += outcome.acked.length;
            if (outcome.inFlight) stats.inFlight++;
            if (label === "acked+in-flight") stats.inFlightApplied++;
            if (outcome.finished) stats.finished++;
          } catch (error) {
            const context =
              `CHROMALITE_CRASH_SEED=${CRASH_SEED}, round ${r}, kill ${k} ` +
              `(kill seed ${killSeed}, writer seed ${writerSeed}, plan ${JSON.stringify(plan)}, ` +
              `${outcome ? outcome.acked.length : "?"} calls acknowledged by this writer, ` +
              `in flight: ${outcome?.inFlight ? JSON.stringify(outcome.inFlight) : "none"})`;
            const message = `${context}\n${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
            console.error(`crash test failure: ${message}`);
            failures.push(message);
            rmSync(dir, { recursive: true, force: true });
            dir = makeTempDir("chromalite-crash-");
            round = { model: new Map(), created: false };
          }
        }
        rmSync(dir, { recursive: true, force: true });
      }
      console.log(
        `crash test: ${stats.kills} kills, ${stats.acknowledged} acknowledged calls checked, ` +
          `${stats.inFlight} kills with a call in flight (${stats.inFlightApplied} of them found applied), ` +
          `${stats.finished} writers finished before the kill, ${failures.length} failures; seed ${CRASH_SEED}`,
      );
      expect(failures, `crash test failures (seed ${CRASH_SEED}):\n${failures.join("\n\n")}`).toEqual([]);
      expect(stats.kills).toBe(CRASH_KILLS);
    },
    Math.max(60_000, CRASH_KILLS * 3_000),
  );
});

// ================================================================================================ 2. two processes

describe("one writer process per directory", () => {
  async function expectHeldData(client: ReturnType<typeof PersistentClient>) {
    const collection = await client.getCollection({ name: "held" });
    const got = await collection.get({ include: ["embeddings", "documents", "metadatas"] as any });
    expect(got.ids).toEqual(["h1", "h2", "h3"]);
    expect(got.documents).toEqual(["one", "two", "three"]);
    expect(got.metadatas).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(got.embeddings.map((e: ArrayLike<number>) => Array.from(e))).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    const result = await collection.query({ queryEmbeddings: [[0, 1, 0]], nResults: 1 });
    expect(result.ids).toEqual([["h2"]]);
  }

  it("a directory held by another process is refused on first use, naming the path; a SIGKILLed holder leaves no stale lock", async () => {
    const dir = makeTempDir();
    const holder = new ChildRun(HOLDER, [dir]);
    await holder.waitFor((l) => l.ready, "ready");

    const client = track(PersistentClient({ path: dir }));
    const error = await expectRejects(client.listCollections(), forbiddenSpec, IN_USE);
    expect(error).toBeInstanceOf(ChromaError);
    expect(error.message).toContain(realpathSync(dir));
    // Every later call is refused too (writes included) while the holder lives: nothing half-opened is cached.
    await expectRejects(client.createCollection({ name: "intruder", embeddingFunction: null }), forbiddenSpec, IN_USE);
    await expectRejects(client.heartbeat(), forbiddenSpec, IN_USE);
    const second = track(PersistentClient({ path: dir }));
    await expectRejects(second.countCollections(), forbiddenSpec, IN_USE);

    holder.kill();
    expect((await holder.exited).signal).toBe("SIGKILL");
    expect(existsSync(join(dir, LOCK_FILE)), "the holder's lock file is left behind").toBe(true);

    // The same client, retried, now opens the directory and sees the holder's acknowledged write.
    await expectHeldData(client);
    expect((await client.listCollections()).map((c: any) => c.name)).toEqual(["held"]);
    expect(await second.countCollections()).toBe(1);
  });

  it("after the holder closes and exits normally, the directory opens with its data", async () => {
    const dir = makeTempDir();
    const holder = new ChildRun(HOLDER, [dir]);
    await holder.waitFor((l) => l.ready, "ready");
    const refused = track(PersistentClient({ path: dir }));
    await expectRejects(refused.heartbeat(), forbiddenSpec, IN_USE);
    await refused.close();

    holder.child.stdin!.write("close\n");
    await holder.waitFor((l) => l.closed, "closed");
    expect((await holder.exited).code).toBe(0);

    const client = track(PersistentClient({ path: dir }));
    await expectHeldData(client);
  });

  it("while this process holds a directory, another process is refused; after close it opens", async () => {
    const dir = makeTempDir();
    const client = track(PersistentClient({ path: dir }));
    await (await client.createCollection({ name: "mine", embeddingFunction: null })).add({ ids: ["m"], embeddings: [[1, 2]] });

    const refused = new ChildRun(PROBE, [dir]);
    const answer = await refused.waitFor((l) => "ok" in l, "a probe answer");
    expect((await refused.exited).code).toBe(0);
    expect(answer.ok, JSON.stringify(answer)).toBe(false);
    expect(answer.chromaError).toBe(true);
    expect(answer.name).toBe("ChromaForbiddenError");
    expect(answer.message).toContain(IN_USE);
    expect(answer.message).toContain(realpathSync(dir));

    await client.close();
    const admitted = new ChildRun(PROBE, [dir]);
    const second = await admitted.waitFor((l) => "ok" in l, "a probe answer");
    expect((await admitted.exited).code).toBe(0);
    expect(second).toEqual({ ok: true, collections: ["mine"] });
  });
});

// ================================================================================================ 3. in-process sharing

describe("several clients on one directory in one process", () => {
  it("share data; closing one leaves the other working; the lock is held until the last closes; then it reopens", async () => {
    const dir = makeTempDir();
    const a = track(PersistentClient({ path: dir }));
    const b = track(PersistentClient({ path: `${dir}/` })); // same directory, spelled differently
    const colA = await a.createCollection({ name: "shared", embeddingFunction: null });
    await colA.add({ ids: ["a1", "a2"], embeddings: [[1, 0], [0, 1]], documents: ["a one", "a two"] });
    const colB = await b.getCollection({ name: "shared" });
    expect(colB.id).toBe(colA.id);
    expect(await colB.count()).toBe(2);
    await colB.upsert({ ids: ["b1"], embeddings: [[1, 1]], metadatas: [{ from: "b" }] });
    expect((await colA.get()).ids).toEqual(["a1", "a2", "b1"]);

    // Another process is refused while either client is open.
    const probe = async () => {
      const run = new ChildRun(PROBE, [dir]);
      const answer = await run.waitFor((l) => "ok" in l, "a probe answer");
      await run.exited;
      return answer;
    };
    expect((await probe()).ok).toBe(false);

    await a.close();
    await a.close(); // twice is fine
    await expectRejects(colA.count(), closedSpec);
    await expectRejects(a.listCollections(), closedSpec);
    // b and its collection keep working, reads and writes.
    await colB.add({ ids: ["b2"], embeddings: [[-1, 0]], documents: ["b two"] });
    expect(await colB.count()).toBe(4);
    expect((await colB.query({ queryEmbeddings: [[-1, 0.1]], nResults: 1 })).ids).toEqual([["b2"]]);
    expect((await (await b.getCollection({ name: "shared" })).get({ ids: ["a2"] })).documents).toEqual(["a two"]);
    const stillRefused = await probe();
    expect(stillRefused.ok, "the lock must be held while one client is open").toBe(false);
    expect(stillRefused.message).toContain(IN_USE);

    await b.close();
    expect(await probe()).toEqual({ ok: true, collections: ["shared"] });

    const c = track(PersistentClient({ path: dir }));
    const got = await (await c.getCollection({ name: "shared" })).get({ include: ["documents", "metadatas", "embeddings"] as any });
    expect(got.ids).toEqual(["a1", "a2", "b1", "b2"]);
    expect(got.documents).toEqual(["a one", "a two", null, "b two"]);
    expect(got.metadatas).toEqual([null, null, { from: "b" }, null]);
    expect(got.embeddings.map((e: ArrayLike<number>) => Array.from(e))).toEqual([[1, 0], [0, 1], [1, 1], [-1, 0]]);
  });
});

// ================================================================================================ 4. format checks

describe("files chromalite cannot read are refused with a typed error", () => {
  async function createSample(dir: string): Promise<string> {
    const client = PersistentClient({ path: dir });
    const collection = await client.createCollection({ name: "sample", embeddingFunction: null });
    await collection.add({ ids: ["s1", "s2"], embeddings: [[1, 2, 3], [4, 5, 6]], documents: ["one", "two"] });
    await client.close();
    return join(dir, DB_FILE);
  }

  it("a database written by a newer format version is refused (\"newer\"), and left untouched", async () => {
    const dir = makeTempDir();
    const file = await createSample(dir);
    expect(sqlite(file, "SELECT value FROM format WHERE key='version'")).toEqual([[1]]);
    sqlite(file, "UPDATE format SET value=999 WHERE key='version'");

    const client = track(PersistentClient({ path: dir }));
    const error = await expectRejects(client.listCollections(), corruptedSpec, "newer");
    expect(error).toBeInstanceOf(ChromaError);
    expect(error.message).toContain(realpathSync(dir));
    // A retry gives the same answer (the failed open left no "in use" mark behind).
    await expectRejects(client.getCollection({ name: "sample" }), corruptedSpec, "newer");
    await client.close();
    expect(sqlite(file, "SELECT value FROM format WHERE key='version'")).toEqual([[999]]);

    // Back to version 1, everything is still there.
    sqlite(file, "UPDATE format SET value=1 WHERE key='version'");
    const again = track(PersistentClient({ path: dir }));
    const got = await (await again.getCollection({ name: "sample" })).get();
    expect(got.ids).toEqual(["s1", "s2"]);
    expect(got.documents).toEqual(["one", "two"]);
  });

  it("a database without a format version is refused as corrupted", async () => {
    const dir = makeTempDir();
    const file = await createSample(dir);
    sqlite(file, "DELETE FROM format");
    const client = track(PersistentClient({ path: dir }));
    await expectRejects(client.countCollections(), corruptedSpec, "format version");
    await client.close();
    expect(sqlite(file, "SELECT count(*) FROM format")).toEqual([[0]]);
  });

  it("a file that is not a database is refused with a ChromaError, not a crash, and not overwritten", async () => {
    for (const variant of ["new directory", "over a real database"] as const) {
      const dir = makeTempDir();
      if (variant === "over a real database") await createSample(dir);
      for (const extra of ["-wal", "-shm"]) rmSync(join(dir, DB_FILE + extra), { force: true });
      const rng = seededRandom(7);
      const garbage = Buffer.concat([
        Buffer.from("this is not a database, just some bytes\n"),
        Buffer.from(Array.from({ length: 8192 }, () => Math.floor(rng() * 256))),
      ]);
      writeFileSync(join(dir, DB_FILE), garbage);

      const client = track(PersistentClient({ path: dir }));
      for (const attempt of [() => client.listCollections(), () => client.createCollection({ name: "new", embeddingFunction: null })]) {
        let caught: unknown;
        await attempt().then(
          () => undefined,
          (error: unknown) => (caught = error),
        );
        expect(caught, `${variant}: the call must reject`).toBeInstanceOf(ChromaError);
        expect((caught as Error).message, variant).not.toContain(IN_USE);
        expect((caught as Error).message.length).toBeGreaterThan(0);
      }
      await client.close();
      expect(readFileSync(join(dir, DB_FILE)).equals(garbage), `${variant}: the file was modified`).toBe(true);
    }
    // The process is fine: another directory opens and works.
    const healthy = track(PersistentClient({ path: makeTempDir() }));
    expect(await healthy.countCollections()).toBe(0);
  });
});

// ================================================================================================ 5. use after close

describe("use after close", () => {
  const CLOSED = "The client has been closed";

  async function expectEverythingClosed(client: any, collection: any): Promise<void> {
    const clientCalls: [string, () => Promise<unknown>][] = [
      ["heartbeat", () => client.heartbeat()],
      ["version", () => client.version()],
      ["getVersion", () => client.getVersion()],
      ["getMaxBatchSize", () => client.getMaxBatchSize()],
      ["getUserIdentity", () => client.getUserIdentity()],
      ["reset", () => client.reset()],
      ["listCollections", () => client.listCollections()],
      ["countCollections", () => client.countCollections()],
      ["createCollection", () => client.createCollection({ name: "another", embeddingFunction: null })],
      ["getOrCreateCollection", () => client.getOrCreateCollection({ name: "after", embeddingFunction: null })],
      ["getCollection", () => client.getCollection({ name: "after" })],
      ["getCollections", () => client.getCollections(["after"])],
      ["getCollectionById", () => client.getCollectionById(collection.id)],
      ["deleteCollection", () => client.deleteCollection({ name: "after" })],
    ];
    const collectionCalls: [string, () => Promise<unknown>][] = [
      ["count", () => collection.count()],
      ["add", () => collection.add({ ids: ["z"], embeddings: [[9, 9]] })],
      ["upsert", () => collection.upsert({ ids: ["z"], embeddings: [[9, 9]] })],
      ["update", () => collection.update({ ids: ["x"], embeddings: [[9, 9]] })],
      ["get", () => collection.get()],
      ["peek", () => collection.peek()],
      ["query", () => collection.query({ queryEmbeddings: [[1, 1]], nResults: 1 })],
      ["delete", () => collection.delete({ ids: ["x"] })],
      ["modify", () => collection.modify({ metadata: { changed: true } })],
      ["fork", () => collection.fork({ name: "forked" })],
      ["forkCount", () => collection.forkCount()],
    ];
    for (const [name, call] of [...clientCalls, ...collectionCalls]) {
      try {
        await expectRejects(call, closedSpec, CLOSED);
      } catch (error) {
        if (error instanceof Error) error.message = `${name}() after close: ${error.message}`;
        throw error;
      }
    }
  }

  it("every client and collection method rejects with ChromaClosedError; close() twice is fine", async () => {
    const dir = makeTempDir();
    const client = PersistentClient({ path: dir });
    const collection = await client.createCollection({ name: "after", embeddingFunction: null });
    await collection.add({ ids: ["x"], embeddings: [[1, 1]] });
    await client.close();
    await expect(client.close()).resolves.toBeUndefined();
    await expectEverythingClosed(client, collection);
    await expect(client.close()).resolves.toBeUndefined();
    // Nothing was written by the refused calls.
    const reader = track(PersistentClient({ path: dir }));
    expect((await reader.listCollections()).map((c: any) => c.name)).toEqual(["after"]);
    const got = await (await reader.getCollection({ name: "after" })).get({ include: ["embeddings", "metadatas"] as any });
    expect(got.ids).toEqual(["x"]);
    expect(Array.from(got.embeddings[0] as ArrayLike<number>)).toEqual([1, 1]);
    expect(got.metadatas).toEqual([null]);
  });

  it("a closed client's calls reject even while another client keeps the directory open", async () => {
    const dir = makeTempDir();
    const keeper = track(PersistentClient({ path: dir }));
    const client = PersistentClient({ path: dir });
    const collection = await client.createCollection({ name: "after", embeddingFunction: null });
    await collection.add({ ids: ["x"], embeddings: [[1, 1]] });
    await client.close();
    await expectEverythingClosed(client, collection);
    await client.close();
    const kept = await keeper.getCollection({ name: "after" });
    expect(await kept.count()).toBe(1);
    expect(kept.metadata ?? null).toBeNull();
  });
});

// ================================================================================================ 6. deleteCollection

describe("deleteCollection frees the data", () => {
  it("a deleted collection is gone after reopen, on disk too; a new one with its name starts empty", async () => {
    const dir = makeTempDir();
    const file = join(dir, DB_FILE);
    const ids = ["d1", "d2", "d3", "d4", "d5"];
    const embeddings = ids.map((_, i) => [i, 1, -i]);

    const first = PersistentClient({ path: dir });
    const doomed = await first.createCollection({ name: "doomed", embeddingFunction: null });
    await doomed.add({ ids, embeddings, documents: ids.map((id) => `doc ${id}`), metadatas: ids.map((_, i) => ({ i })) });
    const kept = await first.createCollection({ name: "kept", embeddingFunction: null });
    await kept.add({ ids: ["k1"], embeddings: [[7, 7, 7]], documents: ["kept doc"] });
    await first.close();

    const second = PersistentClient({ path: dir });
    expect(await (await second.getCollection({ name: "doomed" })).count()).toBe(5);
    await second.deleteCollection({ name: "doomed" });
    expect((await second.listCollections()).map((c: any) => c.name)).toEqual(["kept"]);
    await second.close();

    // The rows are gone from the file, not just hidden.
    expect(sqlite(file, "SELECT count(*) FROM records WHERE collection_id = ?", [doomed.id])).toEqual([[0]]);
    expect(sqlite(file, "SELECT count(*) FROM collections WHERE name = 'doomed'")).toEqual([[0]]);
    expect(sqlite(file, "SELECT count(*) FROM records WHERE collection_id = ?", [kept.id])).toEqual([[1]]);

    const third = PersistentClient({ path: dir });
    await expectRejects(third.getCollection({ name: "doomed" }), notFoundSpec);
    await expectRejects(third.getCollectionById(doomed.id), notFoundSpec);
    expect((await third.listCollections()).map((c: any) => c.name)).toEqual(["kept"]);
    expect(await third.countCollections()).toBe(1);
    const reborn = await third.createCollection({ name: "doomed", embeddingFunction: null });
    expect(reborn.id).not.toBe(doomed.id);
    expect((await reborn.get()).ids).toEqual([]);
    expect(await reborn.count()).toBe(0);
    expect((await reborn.get({ ids: ["d1", "d2"] })).ids).toEqual([]);
    // A different dimension is accepted: nothing of the old collection's dimension survives.
    await reborn.add({ ids: ["d1"], embeddings: [[0.5, 0.5]], documents: ["new d1"] });
    const keptAgain = await third.getCollection({ name: "kept" });
    expect((await keptAgain.get()).documents).toEqual(["kept doc"]);
    await third.close();

    const fourth = track(PersistentClient({ path: dir }));
    const got = await (await fourth.getCollection({ name: "doomed" })).get({ include: ["documents", "metadatas", "embeddings"] as any });
    expect(got.ids).toEqual(["d1"]);
    expect(got.documents).toEqual(["new d1"]);
    expect(got.metadatas).toEqual([null]);
    expect(Array.from(got.embeddings[0] as ArrayLike<number>)).toEqual([0.5, 0.5]);
    expect(await (await fourth.getCollection({ name: "kept" })).count()).toBe(1);
  });

  it("deleting in the session that wrote the records, then reopening, shows the collection absent", async () => {
    const dir = makeTempDir();
    const client = PersistentClient({ path: dir });
    const collection = await client.createCollection({ name: "brief", embeddingFunction: null });
    await collection.add({ ids: ["a", "b"], embeddings: [[1], [2]] });
    expect(await collection.count()).toBe(2);
    await client.deleteCollection({ name: "brief" });
    await expectRejects(collection.count(), notFoundSpec);
    await client.close();

    const reader = track(PersistentClient({ path: dir }));
    await expectRejects(reader.getCollection({ name: "brief" }), notFoundSpec);
    expect(await reader.countCollections()).toBe(0);
    const fresh = await reader.getOrCreateCollection({ name: "brief", embeddingFunction: null });
    expect((await fresh.get()).ids).toEqual([]);
    expect(sqlite(join(dir, DB_FILE), "SELECT count(*) FROM records")).toEqual([[0]]);
  });
});
