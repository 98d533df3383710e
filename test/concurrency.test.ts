/**
 * Heavy concurrency never corrupts data (issue "Hostile input and heavy concurrency never take the process down or
 * corrupt data"): hundreds of promises in flight on one client, a seeded random mix of add / upsert / update /
 * delete / get / query / count / peek / modify, on two or three collections at once, and, in separate tests,
 * `deleteCollection()` and `client.close()` fired in the middle.
 *
 * Every promise must settle (resolve, or reject with a ChromaError) within a time limit. Every write carries a
 * unique version: its records' metadata, document and embedding are all derived from (collection, id, version),
 * so each returned record says which write produced it. The engine applies writes one at a time, so:
 *  - the final state must be the result of the RESOLVED writes in SOME serial order. Per id: absent only if some
 *    resolved delete touched it or nothing created it; present only with the record of a resolved write that can
 *    be last (an upsert; an update if something created the record; an add if the id could be absent before it);
 *    never a torn record (fields from different writes), never a record of a rejected write;
 *  - every read returns records of writes issued before the read settled, never a record overwritten or deleted
 *    by a write that completed before the read was issued (no stale reads), never an id that was deleted before
 *    the read was issued and that no add / upsert could have re-created since, and never a record of another
 *    collection (each collection has its own id prefix);
 *  - collection metadata and name end as set by one of the resolved modify calls;
 *  - a persistent engine reopened afterwards holds exactly the final state (resolved writes are durable).
 *
 * Seeded with CHROMALITE_FUZZ_SEED (default fixed); CHROMALITE_CONCURRENCY_OPS sets the number of operations per
 * run (default 600). A failing run prints its seed and the violating operations.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  ChromaClosedError,
  ChromaError,
  ChromaNotFoundError,
  EphemeralClient,
  PersistentClient,
  type ChromaClient,
  type Collection,
} from "../dist/index.js";
import { fuzzSeed, makeTempDir, removeTempDirs, seededRandom, uniqueName } from "./helpers.js";

const DIM = 6;
const OPS = Number(process.env.CHROMALITE_CONCURRENCY_OPS) || 600;
const SEED = fuzzSeed(20_251_125);
/** All operations of a run must settle within this. */
const SETTLE_TIMEOUT_MS = 60_000;
const ALL_FIELDS = ["embeddings", "documents", "metadatas"] as any;

afterAll(() => removeTempDirs());

// =================================================================================================================
// Records derived from (collection, id, version)
// =================================================================================================================

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Multiples of 1/64 in [-2, 2]: exact in float32. */
function vectorFor(coll: string, id: string, v: number): number[] {
  let h = hash(`${coll}|${id}|${v}`);
  return Array.from({ length: DIM }, () => {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    return ((h % 257) - 128) / 64;
  });
}
const documentFor = (coll: string, id: string, v: number) => `${coll}:${id}@${v}`;
const metadataFor = (coll: string, id: string, v: number) => ({ v, id, coll, parity: v % 2 });

function sameVector(a: readonly number[] | undefined, b: readonly number[]): boolean {
  return !!a && a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameMetadata(a: unknown, b: Record<string, unknown>): boolean {
  if (typeof a !== "object" || a === null) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => (a as any)[k] === b[k]);
}

function l2(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum;
}

// =================================================================================================================
// Operations and their timing (a logical clock: ticks at issue and at settlement, in JS order)
// =================================================================================================================

const WRITE_KINDS = new Set(["add", "upsert", "update", "delete", "deleteWhere"]);
const CREATORS = new Set(["add", "upsert"]);
const WRITERS = new Set(["add", "upsert", "update"]);
const OVERWRITERS = new Set(["upsert", "update", "delete", "deleteWhere"]);
const DELETERS = new Set(["delete", "deleteWhere"]);

type Kind =
  | "add" | "upsert" | "update" | "delete" | "deleteWhere" | "get" | "query" | "count" | "peek" | "modifyMeta" | "rename"
  | "deleteCollection" | "close";

interface Op {
  seq: number;
  kind: Kind;
  coll: string;
  via: number;
  v: number;
  ids: string[];
  args?: any;
  issued: number;
  settled: number;
  status: "pending" | "resolved" | "rejected";
  value?: any;
  error?: unknown;
  done: Promise<void>;
}

interface Coll {
  key: string;
  prefix: string;
  pool: string[];
  /** The collection object per client (index = `via`). */
  handles: Collection[];
  initialName: string;
  initialMetadata: Record<string, unknown>;
  id: string;
}

class Run {
  clock = 0;
  ops: Op[] = [];
  nextVersion = 1;
  readonly writes = new Map<number, Op>();
  /** Write ops per `${coll}|${id}`. */
  readonly byId = new Map<string, Op[]>();

  constructor(readonly seed: number) {}

  tick(): number {
    return ++this.clock;
  }

  fire(partial: Pick<Op, "kind" | "coll" | "via" | "ids"> & { args?: any }, perform: () => Promise<unknown>): Op {
    const op = { ...partial, seq: this.ops.length, v: this.nextVersion++, issued: 0, settled: 0, status: "pending" } as Op;
    if (WRITE_KINDS.has(op.kind)) {
      this.writes.set(op.v, op);
      for (const id of op.ids) {
        const key = `${op.coll}|${id}`;
        if (!this.byId.has(key)) this.byId.set(key, []);
        this.byId.get(key)!.push(op);
      }
    }
    op.issued = this.tick();
    let started: Promise<unknown>;
    try {
      started = perform();
    } catch (error) {
      started = Promise.reject(error);
    }
    op.done = started.then(
      (value) => {
        op.settled = this.tick();
        op.status = "resolved";
        op.value = value;
      },
      (error) => {
        op.settled = this.tick();
        op.status = "rejected";
        op.error = error;
      },
    );
    this.ops.push(op);
    return op;
  }

  /** Waits for every operation; fails (listing them) if some do not settle in time. */
  async settle(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(this.ops.map((op) => op.done)).then(() => false),
      new Promise<boolean>((done) => {
        timer = setTimeout(() => done(true), SETTLE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    const pending = this.ops.filter((op) => op.status === "pending");
    expect(
      pending.map(describeOp),
      `seed ${this.seed}: ${pending.length} operations did not settle within ${SETTLE_TIMEOUT_MS} ms`,
    ).toEqual([]);
    expect(timedOut).toBe(false);
  }

  writesOn(coll: string, id: string): Op[] {
    return this.byId.get(`${coll}|${id}`) ?? [];
  }
}

function describeOp(op: Op): string {
  const error = op.error instanceof Error ? ` ${op.error.constructor.name}: ${op.error.message}` : op.error !== undefined ? ` ${String(op.error)}` : "";
  return `#${op.seq} ${op.kind}(${op.coll}${op.ids.length ? ` ${op.ids.join(",")}` : ""}) v${op.v} via client ${op.via} [issued ${op.issued}, settled ${op.settled}] ${op.status}${error}`;
}

function sample<T>(random: () => number, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
  return out;
}

const randomVector = (random: () => number) => Array.from({ length: DIM }, () => Math.round((random() * 4 - 2) * 64) / 64);

const MIX: [Kind, number][] = [
  ["add", 14], ["upsert", 14], ["update", 12], ["delete", 7], ["deleteWhere", 4], ["get", 12], ["query", 14],
  ["count", 5], ["peek", 3], ["modifyMeta", 3], ["rename", 2],
];

function pickKind(random: () => number, renames: boolean): Kind {
  const mix = renames ? MIX : MIX.filter(([k]) => k !== "rename");
  const total = mix.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [kind, weight] of mix) {
    r -= weight;
    if (r < 0) return kind;
  }
  return mix[0][0];
}

/** Issues one random operation on `coll` through client `via`. */
function fireRandom(run: Run, random: () => number, coll: Coll, via: number, renames: boolean): Op {
  const kind = pickKind(random, renames);
  const col = coll.handles[via];
  const c = coll.key;
  switch (kind) {
    case "add":
    case "upsert":
    case "update": {
      const ids = sample(random, coll.pool, 1 + Math.floor(random() * 4));
      const v = run.nextVersion;
      const args = {
        ids,
        embeddings: ids.map((id) => vectorFor(c, id, v)),
        metadatas: ids.map((id) => metadataFor(c, id, v)),
        documents: ids.map((id) => documentFor(c, id, v)),
      };
      return run.fire({ kind, coll: c, via, ids }, () => (col as any)[kind](args));
    }
    case "delete": {
      const ids = sample(random, coll.pool, 1 + Math.floor(random() * 3));
      return run.fire({ kind, coll: c, via, ids }, () => col.delete({ ids }));
    }
    case "deleteWhere": {
      const ids = sample(random, coll.pool, 1 + Math.floor(random() * 3));
      return run.fire({ kind, coll: c, via, ids }, () => col.delete({ where: { id: { $in: ids } } }));
    }
    case "get": {
      const r = random();
      const args =
        r < 0.4
          ? { include: ALL_FIELDS }
          : r < 0.7
            ? { ids: sample(random, coll.pool, 1 + Math.floor(random() * 5)), include: ALL_FIELDS }
            : { where: { parity: random() < 0.5 ? 0 : 1 }, include: ALL_FIELDS };
      return run.fire({ kind, coll: c, via, ids: [], args }, () => col.get(args));
    }
    case "query": {
      const args: any = {
        queryEmbeddings: Array.from({ length: 1 + Math.floor(random() * 2) }, () => randomVector(random)),
        nResults: 1 + Math.floor(random() * 8),
        include: [...ALL_FIELDS, "distances"],
      };
      if (random() < 0.3) args.where = { parity: random() < 0.5 ? 0 : 1 };
      return run.fire({ kind, coll: c, via, ids: [], args }, () => col.query(args));
    }
    case "count":
      return run.fire({ kind, coll: c, via, ids: [] }, () => col.count());
    case "peek": {
      const args = { limit: 1 + Math.floor(random() * 10) };
      return run.fire({ kind, coll: c, via, ids: [], args }, () => col.peek(args));
    }
    case "modifyMeta": {
      const v = run.nextVersion;
      return run.fire({ kind, coll: c, via, ids: [], args: { metadata: { mv: v } } }, () => col.modify({ metadata: { mv: v } }));
    }
    default: {
      const v = run.nextVersion;
      const name = `${coll.initialName}-r${v}`;
      return run.fire({ kind: "rename", coll: c, via, ids: [], args: { name } }, () => col.modify({ name }));
    }
  }
}

/** Issues `count` random operations, pacing them so that some overlap heavily and some complete in between. */
async function fireMix(
  run: Run,
  random: () => number,
  colls: Coll[],
  count: number,
  options: { renames: boolean; clients: number; interrupt?: { at: number; fire: () => Op } },
): Promise<void> {
  for (let i = 0; i < count; i++) {
    if (options.interrupt && i === options.interrupt.at) options.interrupt.fire();
    const coll = colls[Math.floor(random() * colls.length)];
    fireRandom(run, random, coll, Math.floor(random() * options.clients), options.renames);
    const r = random();
    if (r < 0.55) continue;
    if (r < 0.8) await Promise.resolve();
    else if (r < 0.95) await new Promise((done) => setImmediate(done));
    else await new Promise((done) => setTimeout(done, 1));
  }
}

/** Pre-populates a collection with one recorded add per batch (so the checker knows those records). */
async function populate(run: Run, coll: Coll, ids: string[]): Promise<void> {
  for (let start = 0; start < ids.length; start += 1000) {
    const batch = ids.slice(start, start + 1000);
    const v = run.nextVersion;
    const op = run.fire({ kind: "add", coll: coll.key, via: 0, ids: batch }, () =>
      coll.handles[0].add({
        ids: batch,
        embeddings: batch.map((id) => vectorFor(coll.key, id, v)),
        metadatas: batch.map((id) => metadataFor(coll.key, id, v)),
        documents: batch.map((id) => documentFor(coll.key, id, v)),
      }),
    );
    await op.done;
    expect(op.status, describeOp(op)).toBe("resolved");
  }
}

async function makeColl(clients: ChromaClient[], key: string, poolSize: number): Promise<Coll> {
  const name = uniqueName(`cc-${key.toLowerCase()}`);
  const initialMetadata = { initial: key };
  const created = await clients[0].createCollection({ name, metadata: initialMetadata, embeddingFunction: null });
  const handles = [created];
  for (const client of clients.slice(1)) handles.push(await client.getCollection({ name }));
  const prefix = `${key.toLowerCase()}-`;
  return { key, prefix, pool: Array.from({ length: poolSize }, (_, i) => `${prefix}${i}`), handles, initialName: name, initialMetadata, id: created.id };
}

// =================================================================================================================
// Checks
// =================================================================================================================

/** One record returned by a read: from a resolved write of this collection issued before the read settled, not torn, not stale. */
function checkReturnedRecord(run: Run, read: Op, coll: Coll, id: string, document: unknown, metadata: any, embedding: number[] | undefined, out: string[]): void {
  const where = `${describeOp(read)} returned ${id}`;
  if (!id.startsWith(coll.prefix)) {
    out.push(`${where}: an id of another collection`);
    return;
  }
  if (!metadata || metadata.coll !== coll.key || metadata.id !== id) {
    out.push(`${where} with metadata ${JSON.stringify(metadata)}: not this record's`);
    return;
  }
  const v = metadata.v;
  const write = run.writes.get(v);
  if (!write || write.coll !== coll.key || !write.ids.includes(id) || !WRITERS.has(write.kind)) {
    out.push(`${where} at version ${v}, which no add / upsert / update of it wrote`);
    return;
  }
  if (!sameMetadata(metadata, metadataFor(coll.key, id, v))) out.push(`${where}: torn metadata ${JSON.stringify(metadata)}`);
  if (document !== undefined && document !== documentFor(coll.key, id, v)) out.push(`${where}: torn record, document ${JSON.stringify(document)} with metadata of v${v}`);
  if (embedding !== undefined && !sameVector(embedding, vectorFor(coll.key, id, v))) out.push(`${where}: torn record, embedding is not that of v${v}`);
  if (write.issued > read.settled) out.push(`${where}: from ${describeOp(write)}, issued after the read settled`);
  if (write.status !== "resolved") out.push(`${where}: from ${describeOp(write)}, which was rejected`);
  for (const other of run.writesOn(coll.key, id)) {
    if (other === write || other.status !== "resolved") continue;
    // Stale read: `other` certainly ran after `write` and completed before the read started.
    if (OVERWRITERS.has(other.kind) && write.settled < other.issued && other.settled < read.issued) {
      out.push(`${where} at v${v}: stale, ${describeOp(other)} replaced it before the read was issued`);
    }
    // Deleted before the read was issued, and no add / upsert could have re-created it in between.
    if (DELETERS.has(other.kind) && other.settled < read.issued) {
      const recreated = run
        .writesOn(coll.key, id)
        .some((a) => CREATORS.has(a.kind) && a.status === "resolved" && a.settled > other.issued && a.issued < read.settled);
      if (!recreated) out.push(`${where}: deleted by ${describeOp(other)} before the read was issued and never re-added`);
    }
  }
}

function checkRead(run: Run, op: Op, coll: Coll, out: string[]): void {
  if (op.status !== "resolved") return;
  const value = op.value;
  switch (op.kind) {
    case "count":
      if (!Number.isInteger(value) || value < 0 || value > coll.pool.length) out.push(`${describeOp(op)}: count ${value}`);
      return;
    case "get":
    case "peek": {
      if (new Set(value.ids).size !== value.ids.length) out.push(`${describeOp(op)}: duplicate ids`);
      if (op.kind === "peek" && value.ids.length > op.args.limit) out.push(`${describeOp(op)}: ${value.ids.length} records for limit ${op.args.limit}`);
      value.ids.forEach((id: string, i: number) => {
        if (op.args?.ids && !op.args.ids.includes(id)) out.push(`${describeOp(op)}: returned ${id}, which was not asked for`);
        if (op.args?.where && value.metadatas[i]?.parity !== op.args.where.parity) out.push(`${describeOp(op)}: ${id} does not match the filter`);
        checkReturnedRecord(run, op, coll, id, value.documents[i], value.metadatas[i], value.embeddings?.[i], out);
      });
      return;
    }
    case "query": {
      if (value.ids.length !== op.args.queryEmbeddings.length) out.push(`${describeOp(op)}: ${value.ids.length} result lists`);
      value.ids.forEach((ids: string[], q: number) => {
        if (ids.length > op.args.nResults) out.push(`${describeOp(op)}: ${ids.length} results for nResults ${op.args.nResults}`);
        if (new Set(ids).size !== ids.length) out.push(`${describeOp(op)}: duplicate ids`);
        const distances: number[] = value.distances[q];
        ids.forEach((id, j) => {
          const metadata = value.metadatas[q][j];
          if (op.args.where && metadata?.parity !== op.args.where.parity) out.push(`${describeOp(op)}: ${id} does not match the filter`);
          checkReturnedRecord(run, op, coll, id, value.documents[q][j], metadata, value.embeddings[q][j], out);
          const expected = l2(op.args.queryEmbeddings[q], value.embeddings[q][j]);
          if (Math.abs(distances[j] - expected) > 1e-4 * Math.max(1, expected)) out.push(`${describeOp(op)}: distance of ${id} is ${distances[j]}, expected ${expected}`);
          if (j > 0 && distances[j] < distances[j - 1] - 1e-6) out.push(`${describeOp(op)}: distances not ascending`);
        });
      });
      return;
    }
  }
}

/** Per id: the final record is what some serial order of the resolved writes leaves. */
async function checkFinalState(run: Run, coll: Coll, col: Collection, out: string[]): Promise<string> {
  const all = await col.get({ include: ALL_FIELDS });
  const count = await col.count();
  if (count !== all.ids.length) out.push(`${coll.key}: count() ${count} but get() returned ${all.ids.length}`);
  const present = new Map<string, number>();
  all.ids.forEach((id, i) => present.set(id, i));
  for (const id of all.ids) if (!coll.pool.includes(id)) out.push(`${coll.key}: final state holds ${id}, which no write of this collection touched`);
  for (const id of coll.pool) {
    const resolved = run.writesOn(coll.key, id).filter((op) => op.status === "resolved");
    const adds = resolved.filter((op) => op.kind === "add");
    const upserts = resolved.filter((op) => op.kind === "upsert");
    const creators = adds.length + upserts.length;
    const deletes = resolved.filter((op) => DELETERS.has(op.kind));
    const index = present.get(id);
    const history = () => run.writesOn(coll.key, id).map(describeOp).join("\n      ");
    if (index === undefined) {
      if (deletes.length === 0 && creators > 0) out.push(`${coll.key}: ${id} is absent, but resolved writes created it and none deleted it:\n      ${history()}`);
      continue;
    }
    const metadata: any = all.metadatas[index];
    const v = metadata?.v;
    const last = resolved.find((op) => op.v === v && WRITERS.has(op.kind));
    if (!last) {
      out.push(`${coll.key}: ${id} holds version ${v}, which is not a resolved add / upsert / update of it:\n      ${history()}`);
      continue;
    }
    if (!sameMetadata(metadata, metadataFor(coll.key, id, v)) || all.documents[index] !== documentFor(coll.key, id, v) || !sameVector(all.embeddings[index], vectorFor(coll.key, id, v))) {
      out.push(`${coll.key}: ${id} is torn: ${JSON.stringify({ metadata, document: all.documents[index], embedding: all.embeddings[index] })}`);
    }
    const possible =
      last.kind === "upsert" ||
      (last.kind === "update" && creators > 0) ||
      (last.kind === "add" && (deletes.length > 0 || upserts.length === 0));
    if (!possible) out.push(`${coll.key}: ${id} ends as written by ${describeOp(last)}, which cannot be last in any serial order:\n      ${history()}`);
  }
  return JSON.stringify(
    all.ids
      .map((id, i) => [id, all.documents[i], all.metadatas[i], all.embeddings[i]] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}

/** The collection's name and metadata are those of one of the resolved modify calls (or the initial ones). */
async function checkCollectionModel(run: Run, coll: Coll, client: ChromaClient, out: string[]): Promise<void> {
  const model = await client.getCollectionById(coll.id);
  const metadataOps = run.ops.filter((op) => op.coll === coll.key && op.kind === "modifyMeta" && op.status === "resolved");
  const allowedMetadata = metadataOps.length === 0 ? [coll.initialMetadata] : metadataOps.map((op) => op.args.metadata);
  if (!allowedMetadata.some((m) => sameMetadata(model.metadata, m))) {
    out.push(`${coll.key}: final metadata ${JSON.stringify(model.metadata)} is none of ${JSON.stringify(allowedMetadata)}`);
  }
  const renames = run.ops.filter((op) => op.coll === coll.key && op.kind === "rename" && op.status === "resolved");
  const allowedNames = renames.length === 0 ? [coll.initialName] : renames.map((op) => op.args.name);
  if (!allowedNames.includes(model.name)) out.push(`${coll.key}: final name ${model.name} is none of ${allowedNames.join(", ")}`);
}

function checkRejections(run: Run, out: string[], allowed: (op: Op) => boolean): void {
  for (const op of run.ops) {
    if (op.status !== "rejected") continue;
    if (!(op.error instanceof ChromaError) || !(op.error as Error).message) out.push(`${describeOp(op)}: rejected with something other than a ChromaError`);
    else if (!allowed(op)) out.push(`${describeOp(op)}: rejected, but nothing in this run should make it fail`);
  }
}

function report(run: Run, violations: string[]): void {
  const shown = violations.slice(0, 25);
  if (violations.length > shown.length) shown.push(`... and ${violations.length - shown.length} more`);
  expect(shown, `seed ${run.seed}: ${violations.length} violations in ${run.ops.length} operations`).toEqual([]);
}

function resolvedWrites(run: Run): number {
  return run.ops.filter((op) => WRITE_KINDS.has(op.kind) && op.status === "resolved").length;
}

// =================================================================================================================
// Tests
// =================================================================================================================

describe.each(["ephemeral", "persistent"] as const)("concurrent operations on one %s client", (kind) => {
  it(`${OPS} mixed operations in flight on three collections: all settle, reads are consistent, the final state is serialisable`, async () => {
    for (const seed of [SEED, SEED + 1]) {
      const path = kind === "persistent" ? makeTempDir() : undefined;
      const client = path ? PersistentClient({ path }) : EphemeralClient();
      const run = new Run(seed);
      const random = seededRandom(seed);
      try {
        const x = await makeColl([client], "X", 30);
        const y = await makeColl([client], "Y", 30);
        const z = await makeColl([client], "Z", 2600); // large enough for the HNSW graph
        await populate(run, z, z.pool.slice(0, 2300));
        await fireMix(run, random, [x, y, z], OPS, { renames: true, clients: 1 });
        await run.settle();

        const violations: string[] = [];
        checkRejections(run, violations, () => false);
        const colls = [x, y, z];
        for (const op of run.ops) checkRead(run, op, colls.find((c) => c.key === op.coll)!, violations);
        const finals: string[] = [];
        for (const coll of colls) {
          finals.push(await checkFinalState(run, coll, coll.handles[0], violations));
          await checkCollectionModel(run, coll, client, violations);
        }
        if (path) {
          // Durability: a reopened engine holds exactly the state the resolved writes left.
          await client.close();
          const reopened = PersistentClient({ path });
          try {
            for (const [i, coll] of colls.entries()) {
              const col = await reopened.getCollectionById(coll.id);
              const again = await checkFinalState(run, coll, col, violations);
              if (again !== finals[i]) violations.push(`${coll.key}: the reopened collection differs from the state before closing`);
            }
          } finally {
            await reopened.close();
          }
        }
        report(run, violations);
        expect(resolvedWrites(run), "the mix should have resolved writes").toBeGreaterThan(OPS / 4);
      } finally {
        await client.close();
      }
    }
  }, 120_000);

  it("deleteCollection() fired while operations are in flight: operations issued after it fail with ChromaNotFoundError, nothing leaks into a new collection of the same name", async () => {
    const path = kind === "persistent" ? makeTempDir() : undefined;
    const client = path ? PersistentClient({ path }) : EphemeralClient();
    const run = new Run(SEED + 10);
    const random = seededRandom(SEED + 10);
    try {
      const doomed = await makeColl([client], "D", 30);
      const kept = await makeColl([client], "K", 30);
      await populate(run, doomed, doomed.pool.slice(0, 20));
      let deletion: Op | undefined;
      await fireMix(run, random, [doomed, kept], OPS, {
        renames: false,
        clients: 1,
        interrupt: {
          at: Math.floor(OPS / 2),
          fire: () => (deletion = run.fire({ kind: "deleteCollection", coll: "D", via: 0, ids: [] }, () => client.deleteCollection({ name: doomed.initialName }))),
        },
      });
      // A few more on D once the deletion has completed, whatever the machine's speed.
      await deletion!.done;
      for (let i = 0; i < 8; i++) fireRandom(run, random, doomed, 0, false);
      await run.settle();

      const violations: string[] = [];
      expect(deletion!.status, describeOp(deletion!)).toBe("resolved");
      // In flight when the deletion ran: any ChromaError; issued after it completed: ChromaNotFoundError (below).
      checkRejections(run, violations, (op) => op.coll === "D" && (op.issued < deletion!.settled || op.error instanceof ChromaNotFoundError));
      for (const op of run.ops) {
        if (op.coll === "D" && op !== deletion && op.issued > deletion!.settled && !(op.error instanceof ChromaNotFoundError)) {
          violations.push(`${describeOp(op)}: issued after the collection was deleted, yet not rejected with ChromaNotFoundError`);
        }
        if (op.coll === "K" && op.status !== "resolved") violations.push(`${describeOp(op)}: an operation on the other collection failed`);
        if (op !== deletion) checkRead(run, op, op.coll === "D" ? doomed : kept, violations);
      }
      const keptState = await checkFinalState(run, kept, kept.handles[0], violations);
      await checkCollectionModel(run, kept, client, violations);
      report(run, violations);
      expect(run.ops.some((op) => op.coll === "D" && op.status === "resolved" && op !== deletion), "some operations on D should have run before the deletion").toBe(true);
      expect(run.ops.some((op) => op.coll === "D" && op.status === "rejected"), "some operations on D should have been refused after it").toBe(true);

      await expect(client.getCollection({ name: doomed.initialName })).rejects.toBeInstanceOf(ChromaNotFoundError);
      await expect(client.getCollectionById(doomed.id)).rejects.toBeInstanceOf(ChromaNotFoundError);
      // A new collection under the same name starts empty: nothing of the old one (or of its late writes) leaks in.
      const reborn = await client.createCollection({ name: doomed.initialName, embeddingFunction: null });
      expect(reborn.id).not.toBe(doomed.id);
      expect(await reborn.count()).toBe(0);
      expect((await reborn.get()).ids).toEqual([]);
      expect(await doomed.handles[0].count().catch((e) => e)).toBeInstanceOf(ChromaNotFoundError);
      await reborn.add({ ids: ["fresh"], embeddings: [vectorFor("D", "fresh", 0)] });
      expect((await reborn.get()).ids).toEqual(["fresh"]);
      if (path) {
        await client.close();
        const reopened = PersistentClient({ path });
        try {
          const again = await reopened.getCollection({ name: doomed.initialName });
          expect(again.id).toBe(reborn.id);
          expect((await again.get()).ids).toEqual(["fresh"]);
          const keptAgain = await checkFinalState(run, kept, await reopened.getCollectionById(kept.id), violations);
          expect(keptAgain).toBe(keptState);
          report(run, violations);
        } finally {
          await reopened.close();
        }
      }
    } finally {
      await client.close();
    }
  }, 120_000);
});

describe("client.close() fired while operations are in flight", () => {
  it("persistent, the only client: operations issued after close() fail with ChromaClosedError; the reopened data is what the resolved writes left", async () => {
    const path = makeTempDir();
    const client = PersistentClient({ path });
    const run = new Run(SEED + 20);
    const random = seededRandom(SEED + 20);
    const x = await makeColl([client], "X", 30);
    const y = await makeColl([client], "Y", 30);
    let closing: Op | undefined;
    await fireMix(run, random, [x, y], OPS, {
      renames: true,
      clients: 1,
      interrupt: { at: Math.floor(OPS / 2), fire: () => (closing = run.fire({ kind: "close", coll: "-", via: 0, ids: [] }, () => client.close())) },
    });
    await run.settle();

    const violations: string[] = [];
    expect(closing!.status, describeOp(closing!)).toBe("resolved");
    // In flight when close() was called: any ChromaError; issued after it: ChromaClosedError (below).
    checkRejections(run, violations, (op) => op.issued < closing!.issued || op.error instanceof ChromaClosedError);
    for (const op of run.ops) {
      if (op === closing) continue;
      if (op.issued > closing!.issued && !(op.status === "rejected" && op.error instanceof ChromaClosedError)) {
        violations.push(`${describeOp(op)}: issued after close(), yet not rejected with ChromaClosedError`);
      }
      checkRead(run, op, op.coll === "X" ? x : y, violations);
    }
    expect(run.ops.filter((op) => op.status === "resolved").length, "operations before close() should have run").toBeGreaterThan(OPS / 10);

    const reopened = PersistentClient({ path });
    try {
      for (const coll of [x, y]) {
        await checkFinalState(run, coll, await reopened.getCollectionById(coll.id), violations);
        await checkCollectionModel(run, coll, reopened, violations);
      }
      report(run, violations);
    } finally {
      await reopened.close();
    }
  }, 120_000);

  it("ephemeral, the only client: the in-flight operations settle, later ones fail with ChromaClosedError, and a new client starts empty", async () => {
    const client = EphemeralClient();
    const run = new Run(SEED + 30);
    const random = seededRandom(SEED + 30);
    const x = await makeColl([client], "X", 30);
    const y = await makeColl([client], "Y", 30);
    let closing: Op | undefined;
    await fireMix(run, random, [x, y], OPS, {
      renames: true,
      clients: 1,
      interrupt: { at: Math.floor(OPS / 2), fire: () => (closing = run.fire({ kind: "close", coll: "-", via: 0, ids: [] }, () => client.close())) },
    });
    await run.settle();

    const violations: string[] = [];
    expect(closing!.status, describeOp(closing!)).toBe("resolved");
    // In flight when close() was called: any ChromaError; issued after it: ChromaClosedError (below).
    checkRejections(run, violations, (op) => op.issued < closing!.issued || op.error instanceof ChromaClosedError);
    for (const op of run.ops) {
      if (op === closing) continue;
      if (op.issued > closing!.issued && !(op.status === "rejected" && op.error instanceof ChromaClosedError)) {
        violations.push(`${describeOp(op)}: issued after close(), yet not rejected with ChromaClosedError`);
      }
      checkRead(run, op, op.coll === "X" ? x : y, violations);
    }
    report(run, violations);

    // The in-memory system went away with its last client: a new one is empty and works.
    const fresh = EphemeralClient();
    try {
      expect(await fresh.countCollections()).toBe(0);
      const col = await fresh.createCollection({ name: x.initialName, embeddingFunction: null });
      await col.add({ ids: ["a"], embeddings: [vectorFor("X", "a", 0)] });
      expect((await col.get()).ids).toEqual(["a"]);
    } finally {
      await fresh.close();
    }
  }, 120_000);

  it("two clients on one path: closing one mid-flight does not disturb the other; the final state is serialisable", async () => {
    const path = makeTempDir();
    const first = PersistentClient({ path });
    const second = PersistentClient({ path });
    const run = new Run(SEED + 40);
    const random = seededRandom(SEED + 40);
    const x = await makeColl([first, second], "X", 30);
    const y = await makeColl([first, second], "Y", 30);
    let closing: Op | undefined;
    await fireMix(run, random, [x, y], OPS, {
      renames: true,
      clients: 2,
      interrupt: { at: Math.floor(OPS / 2), fire: () => (closing = run.fire({ kind: "close", coll: "-", via: 0, ids: [] }, () => first.close())) },
    });
    await run.settle();

    const violations: string[] = [];
    expect(closing!.status, describeOp(closing!)).toBe("resolved");
    checkRejections(run, violations, (op) => op.via === 0 && (op.issued < closing!.issued || op.error instanceof ChromaClosedError));
    for (const op of run.ops) {
      if (op === closing) continue;
      if (op.via === 0 && op.issued > closing!.issued && !(op.status === "rejected" && op.error instanceof ChromaClosedError)) {
        violations.push(`${describeOp(op)}: issued on the closed client, yet not rejected with ChromaClosedError`);
      }
      if (op.via === 1 && op.status !== "resolved") violations.push(`${describeOp(op)}: failed on the client that stayed open`);
      checkRead(run, op, op.coll === "X" ? x : y, violations);
    }
    const finals: string[] = [];
    for (const coll of [x, y]) {
      finals.push(await checkFinalState(run, coll, coll.handles[1], violations));
      await checkCollectionModel(run, coll, second, violations);
    }
    await second.close();
    const reopened = PersistentClient({ path });
    try {
      for (const [i, coll] of [x, y].entries()) {
        const again = await checkFinalState(run, coll, await reopened.getCollectionById(coll.id), violations);
        if (again !== finals[i]) violations.push(`${coll.key}: the reopened collection differs from the state before closing`);
      }
      report(run, violations);
    } finally {
      await reopened.close();
    }
  }, 120_000);
});
