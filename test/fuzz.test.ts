/**
 * Hostile input never takes the process down or corrupts data (issue "Hostile input and heavy concurrency never
 * take the process down or corrupt data"): every exported function, constructor and method, called with arbitrary
 * values, either resolves or throws / rejects with an instance of the package's `ChromaError` with a non-empty
 * message. Never a raw TypeError / RangeError, never a process crash, never a hang. On top of that, a write that
 * rejects leaves its collection exactly as it was, and one that resolves has its documented effect (ids present,
 * count adjusted); after all the fuzzing the fixture collections are consistent and still work.
 *
 * Hostile values: wrong types, undefined / null, huge and empty arrays, NaN / ±Infinity / -0, numbers beyond int64,
 * BigInt, very long strings, lone surrogates (invalid UTF-16), deeply nested and cyclic filters, `__proto__` /
 * `constructor` keys, null-prototype objects, typed arrays of every kind, sparse arrays, functions, symbols, ...
 *
 * Two kinds of groups:
 *  - In process: one fast-check property per part of the API, every call behind a per-call timeout. Seeded
 *    (CHROMALITE_FUZZ_SEED; fast-check prints the seed and the shrunk counterexample on failure); each property runs
 *    CHROMALITE_FUZZ_RUNS cases when set, as in the other property suites. The defaults total 13,600 cases.
 *    Embedding-function objects with wrong-typed members, and objects whose getters (or proxy traps) throw, have
 *    their own properties, so a failure there does not hide what the others check.
 *  - Sandboxed, in a child process: the inputs whose failure mode cannot be observed in process, because it is an
 *    abort (Rust allocation failure, V8 fatal error) or a synchronous hang of the JS thread that no timer can
 *    interrupt: extreme counts (nResults, limit, offset, HNSW parameters), sparse arrays of length 2^31 and more,
 *    and filters whose in-memory DAG unfolds into an exponentially large tree. The parent kills a child that makes
 *    no progress for a while, records the case as a hang or a crash, and restarts after it.
 *
 * Hermetic: `globalThis.fetch` is replaced for the whole file by a stub, so HTTP clients (HttpClient,
 * AsyncHttpClient, CloudClient, AdminClient with a host, settings naming a server) and the default embedding
 * function's model download never touch the network; CHROMALITE_MODEL_CACHE points into the temp dir. By default the
 * stub answers 404; one property scripts it as a hostile server (malformed JSON, wrong shapes, error statuses,
 * refused connections, no answer) and checks the same outcome property for every HTTP client call.
 *
 * Set CHROMALITE_FUZZ_TRACE=1 to log every in-process call before it runs (to find the input of an in-process crash).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AdminClient,
  AsyncHttpClient,
  ChromaAdminClient,
  ChromaClient,
  ChromaClosedError,
  ChromaError,
  Client,
  CloudClient,
  Collection,
  configure,
  DefaultEmbeddingFunction,
  EphemeralClient,
  engineVersion,
  GetResult,
  getSettings,
  getVersion,
  HttpClient,
  PersistentClient,
  QueryResult,
  RustClient,
  Settings,
  type SettingsInit,
} from "../dist/index.js";
import { fuzzRuns, fuzzSeed, makeTempDir, removeTempDirs, testEmbeddingFunction, uniqueName } from "./helpers.js";

/** A call that has not settled after this long is a hang. */
const CALL_TIMEOUT_MS = 5_000;
const TRACE = process.env.CHROMALITE_FUZZ_TRACE === "1";
/** CHROMALITE_FUZZ_STATS=1 prints, per call label, how many calls resolved and how many were rejected. */
const STATS = process.env.CHROMALITE_FUZZ_STATS === "1" ? new Map<string, { resolved: number; rejected: number }>() : undefined;

// =================================================================================================================
// Outcome of one call
// =================================================================================================================

type Outcome = { kind: "resolved"; value: unknown } | { kind: "threw"; error: unknown } | { kind: "hang" };
const HANG = Symbol("hang");

/** Runs `fn` (sync throws count as rejections) with a timeout; never rejects. */
async function outcomeOf(fn: () => unknown): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const call = Promise.resolve().then(fn);
  call.catch(() => undefined); // a late rejection after a timeout must not become an unhandled rejection
  const timeout = new Promise<typeof HANG>((done) => {
    timer = setTimeout(() => done(HANG), CALL_TIMEOUT_MS);
  });
  try {
    const value = await Promise.race([call, timeout]);
    return value === HANG ? { kind: "hang" } : { kind: "resolved", value };
  } catch (error) {
    return { kind: "threw", error };
  } finally {
    clearTimeout(timer);
  }
}

function describeError(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.constructor?.name ?? "Error"} (name=${error.name}): ${error.message}`;
    return `non-Error ${typeof error}: ${String(error)}`;
  } catch {
    return "an unprintable value";
  }
}

function describeValue(value: unknown): string {
  try {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) return String(value);
    return `${(value as object).constructor?.name ?? "null-prototype object"}`;
  } catch {
    return "an unprintable value";
  }
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: ChromaError };

/**
 * The property of every call: it resolves, or fails with a ChromaError with a non-empty message, within the
 * timeout. Throws a descriptive Error (which fast-check reports with the counterexample) otherwise.
 */
async function attempt<T>(label: string, fn: () => T | Promise<T>): Promise<Attempt<T>> {
  if (TRACE) console.error(`[fuzz] ${label}`);
  const outcome = await outcomeOf(fn);
  if (STATS && outcome.kind !== "hang") {
    const entry = STATS.get(label) ?? { resolved: 0, rejected: 0 };
    entry[outcome.kind === "resolved" ? "resolved" : "rejected"] += 1;
    STATS.set(label, entry);
  }
  if (outcome.kind === "hang") throw new Error(`${label}: did not settle within ${CALL_TIMEOUT_MS} ms`);
  if (outcome.kind === "threw") {
    const error = outcome.error;
    if (!(error instanceof ChromaError)) {
      throw new Error(`${label}: threw ${describeError(error)}, which is not a ChromaError`);
    }
    if (typeof error.message !== "string" || error.message.length === 0) {
      throw new Error(`${label}: threw ${error.constructor.name} with an empty message`);
    }
    if (typeof error.name !== "string" || error.name.length === 0) {
      throw new Error(`${label}: threw ${error.constructor.name} with an empty name`);
    }
    return { ok: false, error };
  }
  return { ok: true, value: outcome.value as T };
}

/** Like {@link attempt}, but the call must resolve. */
async function mustResolve<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const result = await attempt(label, fn);
  if (!result.ok) throw new Error(`${label}: rejected with ${describeError(result.error)}`);
  return result.value;
}

function check(condition: unknown, message: string): void {
  if (!condition) throw new Error(message);
}

// =================================================================================================================
// Markers replaced by real values just before a call (temp paths, fixture ids): generated values stay printable
// =================================================================================================================

let tmpRoot = "";

class TmpPath {
  constructor(readonly sub: string) {}
  [fc.toStringMethod](): string {
    return `TmpPath(${JSON.stringify(this.sub)})`;
  }
}

class FixtureRef {
  constructor(readonly what: "A.id" | "A.name" | "F.id" | "F.name" | "unknown-uuid") {}
  [fc.toStringMethod](): string {
    return `FixtureRef(${this.what})`;
  }
}

/** A deep copy of plain objects and arrays (holes, null prototypes, own `__proto__` keys and cycles preserved), with markers replaced. */
function materialize(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (value instanceof TmpPath) return join(tmpRoot, value.sub.replace(/[^a-zA-Z0-9]/g, "_").slice(0, 40) || "p");
  if (value instanceof FixtureRef) return fixtureValue(value.what);
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (Object.hasOwn(value, fc.toStringMethod)) return value; // deep / cyclic generated values: no markers inside
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    seen.set(value, out);
    for (const key of Object.keys(value)) (out as any)[key] = materialize((value as any)[key], seen);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // typed arrays, dates, class instances: as they are
  const out = Object.create(proto);
  seen.set(value, out);
  for (const key of Object.keys(value)) {
    Object.defineProperty(out, key, {
      value: materialize((value as any)[key], seen),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Whether a client with these settings may open its engine: in memory, or persistent under the fuzz temp dir. */
function safeToOpen(settings: Settings): boolean {
  if (!settings.isPersistent) return true;
  return resolve(String(settings.persistDirectory)).startsWith(tmpRoot + sep);
}

// =================================================================================================================
// A stub for fetch: no test here reaches the network. Default answer: 404 (not retried, so calls fail fast).
// =================================================================================================================

type Reply =
  | { kind: "valid" }
  | { kind: "json"; body: string }
  | { kind: "status"; status: number; body: string }
  | { kind: "refused" }
  | { kind: "hang" };

const DEFAULT_REPLY: Reply = { kind: "status", status: 404, body: '{"error":"NotFoundError","message":"no server here (fuzz stub)"}' };
/** Replies for the next requests (the last one repeats); undefined = the default reply. */
let script: Reply[] | undefined;
let stubbedRequests = 0;
const realFetch = globalThis.fetch;

const STUB_ID = "5f1c9d1e-0000-4000-8000-000000000001";
function stubModel(name: unknown): Record<string, unknown> {
  return {
    id: STUB_ID,
    name: typeof name === "string" ? name : "abc",
    configuration_json: { hnsw: { space: "l2", ef_construction: 100, ef_search: 100, max_neighbors: 16 }, embedding_function: null },
    metadata: null,
    dimension: 3,
    tenant: "default_tenant",
    database: "default_database",
    log_position: 0,
    version: 0,
  };
}

/** A plausible answer of a Chroma v2 server for the route, so that scripted cases get past the first request. */
function validAnswer(method: string, path: string, body: string | undefined): unknown {
  const route = path.replace(/^.*?\/api\/v[12]/, "");
  let request: any = {};
  try {
    request = body ? JSON.parse(body) : {};
  } catch {
    request = {};
  }
  const last = decodeURIComponent(route.split("/").pop() ?? "");
  const include: string[] = Array.isArray(request.include) ? request.include : ["documents", "metadatas"];
  const db = { id: "00000000-0000-0000-0000-000000000000", name: "default_database", tenant: "default_tenant" };
  if (route === "/heartbeat") return { "nanosecond heartbeat": 1_700_000_000_000_000_000 };
  if (route === "/version") return "1.0.0";
  if (route === "/pre-flight-checks") return { max_batch_size: 100, supports_base64_encoding: true };
  if (route === "/auth/identity") return { user_id: "fuzz", tenant: "default_tenant", databases: ["default_database"] };
  if (route === "/reset") return true;
  if (route === "/tenants") return method === "GET" ? [{ name: "default_tenant" }] : {};
  if (/^\/tenants\/[^/]+$/.test(route)) return { name: last };
  if (/\/databases$/.test(route)) return method === "GET" ? [db] : {};
  if (/\/databases\/[^/]+$/.test(route)) return method === "GET" ? { ...db, name: last } : {};
  if (/\/collections_count$/.test(route)) return 1;
  if (/\/collections$/.test(route)) return method === "GET" ? [stubModel("abc")] : stubModel(request.name);
  if (/\/count$/.test(route)) return 2;
  if (/\/fork_count$/.test(route)) return { count: 0 };
  if (/\/(add|upsert|update)$/.test(route)) return {};
  if (/\/delete$/.test(route)) return { deleted: 1 };
  if (/\/get$/.test(route)) {
    return {
      ids: ["a", "b"],
      documents: include.includes("documents") ? ["x", null] : null,
      metadatas: include.includes("metadatas") ? [{ k: 1 }, null] : null,
      embeddings: include.includes("embeddings") ? [[1, 2, 3], [4, 5, 6]] : null,
      uris: include.includes("uris") ? [null, "u"] : null,
      include,
    };
  }
  if (/\/query$/.test(route)) {
    const queries = Math.max(1, Array.isArray(request.query_embeddings) ? request.query_embeddings.length : 1);
    const per = <T>(value: T) => Array.from({ length: queries }, () => value);
    return {
      ids: per(["a"]),
      distances: include.includes("distances") ? per([0.5]) : null,
      documents: include.includes("documents") ? per(["x"]) : null,
      metadatas: include.includes("metadatas") ? per([{ k: 1 }]) : null,
      embeddings: include.includes("embeddings") ? per([[1, 2, 3]]) : null,
      uris: include.includes("uris") ? per([null]) : null,
      include,
    };
  }
  if (/\/by-id\/[^/]+$/.test(route) || /\/collections\/[^/]+$/.test(route)) return method === "DELETE" ? {} : stubModel(last);
  return {};
}

function stubFetch(input: unknown, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  stubbedRequests += 1;
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : String((input as Request)?.url ?? input);
  const reply = script ? (script.length > 1 ? script.shift()! : script[0]) : DEFAULT_REPLY;
  const json = (status: number, text: string) => new Response(text, { status, headers: { "content-type": "application/json" } });
  switch (reply.kind) {
    case "refused": {
      const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
      return Promise.reject(new TypeError("fetch failed", { cause }));
    }
    case "hang":
      return new Promise((_, reject) => {
        const signal = init.signal;
        const abort = () => reject(signal?.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError"));
        if (signal?.aborted) abort();
        else signal?.addEventListener("abort", abort, { once: true });
      });
    case "valid": {
      let path = url;
      try {
        path = new URL(url).pathname;
      } catch {
        // not a URL: route on the raw text
      }
      const body = typeof init.body === "string" ? init.body : undefined;
      return Promise.resolve(json(200, JSON.stringify(validAnswer(init.method ?? "GET", path, body))));
    }
    case "json":
      return Promise.resolve(json(200, reply.body));
    default:
      return Promise.resolve(json(reply.status, reply.body));
  }
}

// =================================================================================================================
// Hostile values
// =================================================================================================================

const SPECIAL_NUMBERS: number[] = [
  0, -0, 1, -1, 0.5, -1.5, 3, 8, NaN, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE,
  Number.EPSILON, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER - 2, 2 ** 31 - 1,
  2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 63, -(2 ** 63), 2 ** 64, 1e21, 1e300, -1e300, 3.4028234663852886e38, 3.5e38,
  -3.5e38, 1e-45, 1e-320,
];
/** nResults reaches an allocation sized by it; counts above this go to the sandboxed group instead. */
const IN_PROCESS_NRESULTS_MAX = 1_000_000;

const LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "a\ud800", "\udc00a", "\udc00\ud800", "x\ud83dy", "\ud800\ud800"];
const NAMED_STRINGS = [
  "", " ", "\u0000", "\n", "__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "then",
  "$and", "$or", "$in", "$nin", "$eq", "$ne", "$gt", "$contains", "$regex", "#document", "#metadata", "chroma:document",
  "hnsw:space", "hnsw:M", "default_tenant", "NaN", "-0", "Infinity", "1e400", "null", "undefined", "true", "🙂",
  "\u202e\u202d", "é", "e\u0301", "ab", "abc", "fz.col-1", "a..b", "-abc", "../../etc", "%s%n%x", "\\", '"', "'",
  "'; DROP TABLE collections; --", "\ufeff", "\uffff", "\u{10ffff}", "id1", "id2",
];

const hostileStringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NAMED_STRINGS, ...LONE_SURROGATES) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.integer({ min: 0x20, max: 0x7e })), { minLength: 1, maxLength: 8 })
      .map((units) => String.fromCharCode(...units)),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(3, 63, 64, 512, 513, 4096, 4097, 70_000), fc.constantFrom("a", "é", "🙂", "\ud800", "x\u0000"))
      .map(([count, unit]) => unit.repeat(count)),
  },
);

const TYPED_KINDS = [
  "Float64Array", "Float32Array", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint32Array",
  "BigInt64Array", "BigUint64Array", "DataView",
] as const;
type TypedKind = (typeof TYPED_KINDS)[number];

function makeTyped(kind: TypedKind, raw: readonly unknown[]): unknown {
  const numbers = raw.map((x) => (typeof x === "number" ? x : 0));
  if (kind === "BigInt64Array" || kind === "BigUint64Array") {
    const bigints = numbers.map((x) => BigInt.asIntN(64, BigInt(Number.isFinite(x) ? Math.trunc(x) % 2 ** 52 : 0)));
    return kind === "BigInt64Array" ? BigInt64Array.from(bigints) : BigUint64Array.from(bigints.map((b) => BigInt.asUintN(64, b)));
  }
  if (kind === "DataView") return new DataView(Float32Array.from(numbers).buffer);
  return (globalThis as any)[kind].from(numbers);
}

const typedArrayArb = fc
  .tuple(fc.constantFrom(...TYPED_KINDS), fc.array(fc.oneof(fc.double(), fc.integer({ min: -300, max: 300 })), { maxLength: 9 }))
  .map(([kind, values]) => makeTyped(kind, values));

class Exotic {
  field = ["ids"];
}

/** Objects of every kind that are not plain data. Made fresh for every case. */
const exoticArb = fc
  .constantFrom<[string, () => unknown]>(
    ["symbol", () => Symbol("hostile")],
    ["function", () => function named() {}],
    ["arrow", () => () => 1],
    ["class", () => class Foo {}],
    ["async function", () => async () => undefined],
    ["invalid date", () => new Date(NaN)],
    ["date", () => new Date(0)],
    ["map", () => new Map([["ids", ["a"]]])],
    ["set", () => new Set(["a"])],
    ["regexp", () => /ids/g],
    ["error", () => new Error("not a value")],
    ["boxed string", () => new String("abc")],
    ["boxed number", () => new Number(5)],
    ["boxed boolean", () => new Boolean(false)],
    ["null prototype", () => Object.create(null)],
    ["inherited keys", () => Object.create({ ids: ["inherited"], name: "inherited", limit: 1 })],
    ["promise", () => Promise.resolve(["a"])],
    ["array buffer", () => new ArrayBuffer(8)],
    ["weak map", () => new WeakMap()],
    ["frozen", () => Object.freeze({ frozen: true })],
    ["class instance", () => new Exotic()],
    ["arguments", function (this: unknown) {
      return (function () {
        // eslint-disable-next-line prefer-rest-params
        return arguments;
      })();
    }],
  )
  .map(([, make]) => make());

const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false),
  fc.constantFrom(...SPECIAL_NUMBERS),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  hostileStringArb,
  exoticArb,
  typedArrayArb,
);

/** Keys the API reads, plus keys that are dangerous on plain objects. "generate" is left to the embedding-function group. */
const KEY_POOL = [
  "ids", "embeddings", "metadatas", "documents", "uris", "where", "whereDocument", "include", "limit", "offset",
  "nResults", "queryEmbeddings", "queryTexts", "name", "metadata", "configuration", "embeddingFunction", "settings",
  "tenant", "database", "path", "host", "port", "ssl", "headers", "apiKey", "id", "hnsw", "spann", "space",
  "ef_search", "allowReset", "isPersistent", "persistDirectory", "__proto__", "constructor", "prototype", "toString",
  "valueOf", "hasOwnProperty", "then", "$and", "$or", "$in", "$contains", "#document", "", "k",
];
const keyArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEY_POOL) }, { weight: 1, arbitrary: hostileStringArb });

/** An object from entries, with own data properties (so `__proto__` is a real key), sometimes without a prototype. */
function objectFrom(entries: readonly (readonly [string, unknown])[], nullPrototype = false): Record<string, unknown> {
  const out = nullPrototype ? Object.create(null) : {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function objectArb(keys: fc.Arbitrary<string>, values: fc.Arbitrary<unknown>, maxKeys = 4): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.array(fc.tuple(keys, values), { maxLength: maxKeys }), fc.nat(9))
    .map(([entries, p]) => objectFrom(entries, p === 0));
}

/** Sparse arrays (length up to 100k in process; the sandboxed group goes to 2^32 - 1). */
function sparseArb(values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> {
  return fc
    .tuple(fc.constantFrom(1, 2, 7, 1000, 100_000), fc.array(fc.tuple(fc.nat(), values), { maxLength: 3 }))
    .map(([length, sets]) => {
      const out = new Array(length);
      for (const [index, value] of sets) out[index % length] = value;
      return out;
    });
}

function bigDenseArb(values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> {
  return fc.tuple(fc.constantFrom(5461, 5462, 20_000), values).map(([length, value]) => new Array(length).fill(value));
}

function cyclicArb(values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(values, fc.constantFrom("object", "array", "and", "or-fanout", "document")).map(([inner, shape]) => {
    switch (shape) {
      case "object": {
        const node: Record<string, unknown> = { inner };
        node.self = node;
        return labelled(node, `cyclic(object, ${fc.stringify(inner)})`);
      }
      case "array": {
        const node: unknown[] = [inner];
        node.push(node);
        return labelled(node, `cyclic(array, ${fc.stringify(inner)})`);
      }
      case "and": {
        const node: Record<string, unknown[]> = { $and: [inner] };
        node.$and.push(node);
        return labelled(node, `cyclic($and, ${fc.stringify(inner)})`);
      }
      case "or-fanout": {
        const node: Record<string, unknown[]> = { $or: [] };
        node.$or.push(node, node, inner);
        return labelled(node, `cyclic($or fan-out, ${fc.stringify(inner)})`);
      }
      default: {
        const node: Record<string, unknown[]> = { $and: [{ $contains: "a" }] };
        node.$and.push(node);
        return labelled(node, "cyclic(whereDocument $and)");
      }
    }
  });
}

/** Gives a generated value a short rendering in fast-check reports (deep or cyclic values overflow its printer). */
function labelled<T extends object>(value: T, text: string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => text, enumerable: false, configurable: true });
  return value;
}

/** Linear (not shared) nesting up to 2000 levels. */
function deepArb(values: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(values, fc.integer({ min: 2, max: 2000 }), fc.constantFrom("object", "array", "and", "document"))
    .map(([inner, depth, shape]) => {
      let node: unknown = inner;
      for (let i = 0; i < depth; i++) {
        if (shape === "object") node = { a: node };
        else if (shape === "array") node = [node];
        else if (shape === "and") node = { $and: [node, { k: 1 }] };
        else node = { $or: [node, { $contains: "a" }] };
      }
      return labelled(node as object, `deep(${shape}, ${depth}, ${fc.stringify(inner)})`);
    });
}

const { hostile: hostileArb } = fc.letrec<{ hostile: unknown }>((tie) => ({
  hostile: fc.oneof(
    { maxDepth: 2, depthIdentifier: "hostile" },
    { weight: 10, arbitrary: leafArb },
    { weight: 2, arbitrary: fc.array(tie("hostile"), { maxLength: 4 }) },
    { weight: 2, arbitrary: objectArb(keyArb, tie("hostile")) },
    { weight: 1, arbitrary: sparseArb(tie("hostile")) },
    { weight: 1, arbitrary: bigDenseArb(leafArb) },
    { weight: 1, arbitrary: cyclicArb(tie("hostile")) },
    { weight: 1, arbitrary: deepArb(leafArb) },
  ),
}));
const hostileNonNumberArb = hostileArb.filter((value) => typeof value !== "number");

/** Mostly `valid`, sometimes anything. */
function orHostile<T>(valid: fc.Arbitrary<T>, validWeight = 6): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: validWeight, arbitrary: valid }, { weight: 1, arbitrary: hostileArb });
}

/** Absent (undefined), or a value. */
function maybe<T>(arb: fc.Arbitrary<T>, freq = 2): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq });
}

// =================================================================================================================
// Structured arguments: valid shapes with hostile parts, so calls get past the first check
// =================================================================================================================

const ID_POOL = Array.from({ length: 24 }, (_, i) => `id${i}`);
const idArb = fc.oneof(
  { weight: 60, arbitrary: fc.constantFrom(...ID_POOL) },
  { weight: 2, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: fc.constantFrom("x".repeat(4096), "é".repeat(2049), "🙂".repeat(1024)) },
  { weight: 1, arbitrary: leafArb },
);
const idsArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 40, arbitrary: fc.array(idArb, { minLength: 1, maxLength: 6 }) },
  { weight: 3, arbitrary: fc.constant([]) },
  // The batch-size limit (5461) and one past it: rare, as every accepted bulk write grows the collection's graph.
  { weight: 1, arbitrary: fc.constantFrom(5461, 5462).map((n) => Array.from({ length: n }, (_, i) => `bulk${i}`)) },
  { weight: 6, arbitrary: hostileArb },
);

const componentArb = fc.oneof(
  { weight: 250, arbitrary: fc.integer({ min: -1000, max: 1000 }).map((n) => n / 100) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: leafArb },
);

function embeddingRowArb(dim: number): fc.Arbitrary<unknown> {
  const plain = fc.array(componentArb, { minLength: dim, maxLength: dim });
  return fc.oneof(
    { weight: 60, arbitrary: plain },
    {
      weight: 3,
      arbitrary: fc
        .tuple(plain, fc.constantFrom<TypedKind>("Float32Array", "Float64Array", "Int8Array", "Uint8Array", "Int16Array", "BigInt64Array", "DataView"))
        .map(([row, kind]) => makeTyped(kind, row)),
    },
    { weight: 1, arbitrary: fc.array(componentArb, { maxLength: dim + 2 }) },
    { weight: 1, arbitrary: fc.constantFrom(65_536, 65_537).map((n) => new Float32Array(n).fill(0.5)) },
    { weight: 1, arbitrary: sparseArb(componentArb) },
    { weight: 1, arbitrary: hostileArb },
  );
}

const META_KEYS = ["k", "s", "b", "l", "f"];
const metaKeyArb = fc.oneof(
  { weight: 60, arbitrary: fc.constantFrom(...META_KEYS) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "__proto__", "constructor", "", "#document", "#metadata", "$and", "$in", "chroma:document", "chroma:uri",
      "hnsw:space", "toString", "x".repeat(1000), "key with spaces", "ключ",
    ),
  },
  { weight: 1, arbitrary: hostileStringArb },
);
const metaScalarArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -100, max: 100 }) },
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
  { weight: 8, arbitrary: fc.constantFrom("red", "green", "blue", "", "Ünïcode ✓") },
  { weight: 6, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 1, arbitrary: hostileStringArb },
);
const metaValueArb = fc.oneof(
  { weight: 40, arbitrary: metaScalarArb },
  { weight: 2, arbitrary: fc.constant(null) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }),
      fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 4 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 3 }),
      fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 3 }),
    ),
  },
  { weight: 2, arbitrary: fc.array(metaScalarArb, { maxLength: 4 }) },
  { weight: 1, arbitrary: sparseArb(metaScalarArb) },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 2, arbitrary: hostileArb },
);
const recordMetadataArb = fc.oneof(
  { weight: 30, arbitrary: objectArb(metaKeyArb, metaValueArb) },
  { weight: 3, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: hostileArb },
);
const documentArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom("alpha beta", "gamma", "delta epsilon", "", "Zeta ü") },
  { weight: 3, arbitrary: hostileStringArb },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: hostileArb },
);
const uriArb = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom("file:///tmp/x", "s3://bucket/key", "", "data:,x") },
  { weight: 2, arbitrary: hostileStringArb },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: hostileArb },
);

/** Per-record columns for `ids`: usually one entry per id, sometimes the wrong length or not an array. */
function columnArb(ids: unknown, item: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const n = Array.isArray(ids) ? ids.length : 2;
  const matched = n <= 16 ? fc.array(item, { minLength: n, maxLength: n }) : item.map((value) => new Array(n).fill(value));
  return fc.oneof(
    { weight: 40, arbitrary: matched },
    { weight: 1, arbitrary: fc.array(item, { maxLength: 4 }) },
    { weight: 1, arbitrary: hostileArb },
  );
}

function recordsArb(dim: number): fc.Arbitrary<unknown> {
  const structured = idsArb.chain((ids) =>
    fc.record({
      ids: fc.constant(ids),
      embeddings: maybe(columnArb(ids, embeddingRowArb(dim)), 5),
      metadatas: maybe(columnArb(ids, recordMetadataArb)),
      documents: maybe(columnArb(ids, documentArb)),
      uris: maybe(columnArb(ids, uriArb), 1),
    }),
  );
  return orHostile(structured, 30);
}

const WHERE_OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains", "$not_contains"];
const whereOperatorArb = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...WHERE_OPERATORS) },
  { weight: 2, arbitrary: fc.constantFrom("$regex", "$not_regex", "$and", "$or", "$exists", "$foo", "", "eq", "__proto__") },
  { weight: 1, arbitrary: hostileStringArb },
);
const regexArb = fc.constantFrom(
  "(a+)+$", "^(a|a)*$", "a{1000}{1000}", "(((", "[", "\\", "(?i)ALPHA", "^$", ".*", "\\p{L}+", "(?<x>a)\\k<x>", "(?=a)",
  "\ud800", "x{4294967295}", "a{0,100000}", "[\\u{d800}]", "",
);
const whereOperandArb = fc.oneof(
  { weight: 18, arbitrary: metaScalarArb },
  { weight: 9, arbitrary: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 4 }) },
  { weight: 2, arbitrary: fc.array(metaScalarArb, { maxLength: 4 }) },
  { weight: 1, arbitrary: sparseArb(metaScalarArb) },
  { weight: 1, arbitrary: regexArb },
  { weight: 2, arbitrary: hostileArb },
);
const whereFieldArb = fc
  .tuple(
    fc.oneof({ weight: 20, arbitrary: fc.constantFrom(...META_KEYS) }, { weight: 1, arbitrary: fc.constant("#document") }, { weight: 2, arbitrary: metaKeyArb }),
    fc.oneof(
      { weight: 8, arbitrary: metaScalarArb },
      { weight: 12, arbitrary: fc.tuple(whereOperatorArb, whereOperandArb).map(([op, operand]) => objectFrom([[op, operand]])) },
      { weight: 1, arbitrary: objectArb(whereOperatorArb, whereOperandArb, 3) },
      { weight: 1, arbitrary: hostileArb },
    ),
  )
  .map(([key, value]) => objectFrom([[key, value]]));

const { where: whereArb } = fc.letrec<{ where: unknown }>((tie) => ({
  where: fc.oneof(
    { maxDepth: 3, depthIdentifier: "where" },
    { weight: 24, arbitrary: whereFieldArb },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom("$and", "$or"), fc.array(tie("where"), { maxLength: 4 }))
        .map(([op, items]) => objectFrom([[op, items]])),
    },
    { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, tie("where")), { minLength: 2, maxLength: 3 }).map((e) => objectFrom(e)) },
    { weight: 1, arbitrary: fc.constantFrom({}, null, undefined) },
    { weight: 1, arbitrary: cyclicArb(tie("where")) },
    { weight: 1, arbitrary: deepArb(whereFieldArb) },
    { weight: 1, arbitrary: hostileArb },
  ),
}));

const DOCUMENT_OPERATORS = ["$contains", "$not_contains", "$regex", "$not_regex"];
const docOperandArb = fc.oneof(
  { weight: 18, arbitrary: fc.constantFrom("alpha", "beta", "", "a", "ü", "%", "_") },
  { weight: 3, arbitrary: regexArb },
  { weight: 1, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: hostileArb },
);
const { doc: whereDocumentArb } = fc.letrec<{ doc: unknown }>((tie) => ({
  doc: fc.oneof(
    { maxDepth: 3, depthIdentifier: "whereDocument" },
    {
      weight: 24,
      arbitrary: fc
        .tuple(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...DOCUMENT_OPERATORS) }, { weight: 1, arbitrary: whereOperatorArb }), docOperandArb)
        .map(([op, operand]) => objectFrom([[op, operand]])),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom("$and", "$or"), fc.array(tie("doc"), { maxLength: 4 }))
        .map(([op, items]) => objectFrom([[op, items]])),
    },
    { weight: 1, arbitrary: fc.constantFrom({}, null, undefined) },
    { weight: 1, arbitrary: cyclicArb(tie("doc")) },
    { weight: 1, arbitrary: deepArb(fc.constant({ $contains: "a" })) },
    { weight: 1, arbitrary: hostileArb },
  ),
}));

const INCLUDES = ["distances", "documents", "embeddings", "metadatas", "uris"];
const includeArb = fc.oneof(
  { weight: 12, arbitrary: fc.subarray(INCLUDES) },
  { weight: 6, arbitrary: fc.subarray(INCLUDES.slice(1)) },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constantFrom(...INCLUDES), fc.constantFrom("data", "ids", "Documents", ""), leafArb), { maxLength: 6 }) },
  { weight: 1, arbitrary: hostileArb },
);
const countArb = fc.oneof(
  { weight: 16, arbitrary: fc.nat(40) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("5", 5n, [5], {}, null, undefined) },
  { weight: 1, arbitrary: hostileArb },
);
const nResultsArb = fc.oneof(
  { weight: 16, arbitrary: fc.integer({ min: -3, max: 40 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(...SPECIAL_NUMBERS.filter((n) => !(Number.isInteger(n) && n > IN_PROCESS_NRESULTS_MAX)), IN_PROCESS_NRESULTS_MAX),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("5", 5n, [5], null, undefined) },
  { weight: 1, arbitrary: hostileNonNumberArb },
);

function queryEmbeddingsArb(dim: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 60, arbitrary: fc.array(embeddingRowArb(dim), { minLength: 1, maxLength: 3 }) },
    { weight: 3, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.constantFrom(5461, 5462).map((n) => new Array(n).fill(new Array(dim).fill(0.25))) },
    { weight: 3, arbitrary: hostileArb },
  );
}
const queryTextsArb = fc.oneof(
  { weight: 12, arbitrary: fc.array(documentArb, { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: hostileArb },
);

function getArgsArb(): fc.Arbitrary<unknown> {
  return orHostile(
    fc.record({
      ids: maybe(idsArb, 4),
      where: maybe(whereArb),
      whereDocument: maybe(whereDocumentArb, 3),
      limit: maybe(countArb, 3),
      offset: maybe(countArb, 3),
      include: maybe(includeArb),
    }),
    30,
  );
}

function queryArgsArb(dim: number): fc.Arbitrary<unknown> {
  return orHostile(
    fc.record({
      queryEmbeddings: maybe(queryEmbeddingsArb(dim), 6),
      queryTexts: maybe(queryTextsArb, 1),
      ids: maybe(idsArb, 5),
      where: maybe(whereArb),
      whereDocument: maybe(whereDocumentArb, 3),
      nResults: maybe(nResultsArb, 3),
      include: maybe(includeArb),
    }),
    30,
  );
}

const deleteArgsArb = orHostile(
  fc.record({
    ids: maybe(idsArb, 1),
    where: maybe(whereArb, 1),
    whereDocument: maybe(whereDocumentArb, 3),
    limit: maybe(countArb, 3),
  }),
  10,
);

const nameArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "abc", "fz-x1", "fz.y_2", "fz-x3", "a".repeat(512), "a".repeat(513), "ab", "-abc", "abc-", "a..b", "ABC",
      "192.168.1.1", "fz-x1 ", "fz\u00e9x",
    ),
  },
  { weight: 3, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: hostileArb },
);

const COLLECTION_META_KEYS = [
  "hnsw:space", "hnsw:M", "hnsw:search_ef", "hnsw:construction_ef", "hnsw:num_threads", "hnsw:resize_factor",
  "hnsw:batch_size", "hnsw:sync_threshold", "hnsw:unknown", "topic", "owner",
];
const collectionMetadataArb = fc.oneof(
  { weight: 6, arbitrary: objectArb(fc.oneof(fc.constantFrom(...COLLECTION_META_KEYS), metaKeyArb), fc.oneof(metaValueArb, fc.constantFrom("l2", "cosine", "ip", "bogus"))) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: hostileArb },
);

const HNSW_KEYS = ["space", "ef_search", "ef_construction", "max_neighbors", "num_threads", "resize_factor", "sync_threshold", "batch_size", "unknown_field"];
const hnswValueArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -5, max: 300 }) },
  { weight: 2, arbitrary: fc.constantFrom("l2", "cosine", "ip", "bogus", "") },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 1, arbitrary: hostileArb },
);
const hnswArb = orHostile(objectArb(fc.constantFrom(...HNSW_KEYS), hnswValueArb), 5);

/** Embedding functions that are well-formed (a shared deterministic one), absent, null, or not functions at all. */
const efLiteArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, null) },
  { weight: 1, arbitrary: fc.constant(null).map(() => testEmbeddingFunction()) },
  { weight: 2, arbitrary: hostileArb },
);

const configurationArb = orHostile(
  fc.record({
    hnsw: maybe(hnswArb),
    spann: maybe(hostileArb, 4),
    embeddingFunction: maybe(efLiteArb, 3),
  }),
  6,
);

const createArgsArb = orHostile(
  fc.record({
    name: nameArb,
    metadata: maybe(collectionMetadataArb),
    configuration: maybe(configurationArb),
    embeddingFunction: maybe(efLiteArb, 1),
    schema: maybe(hostileArb, 8),
  }),
  8,
);

const SETTINGS_KEYS = [
  "allowReset", "allow_reset", "ALLOW_RESET", "isPersistent", "is_persistent", "persistDirectory", "persist_directory",
  "chromaApiImpl", "chroma_api_impl", "chromaServerHost", "chromaServerHttpPort", "chromaServerHeaders",
  "chromaServerCorsAllowOrigins", "chromaServerSslVerify", "chromaServerApiDefaultPath", "anonymizedTelemetry",
  "migrations", "chromaMemoryLimitBytes", "chromaDbImpl", "chromaHttpKeepaliveSecs", "environment", "tenantId",
  "unknownSetting", "__proto__", "constructor",
];
const settingsValueArb = fc.oneof(
  { weight: 3, arbitrary: fc.boolean() },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "true", "false", "yes", "0", "1", "maybe", "", "8000", "-1", "1e3", '["a"]', '{"a":"b"}', "{", "[1]",
      "chromadb.api.rust.RustBindingsAPI", "chromadb.api.segment.SegmentAPI", "chromadb.api.fastapi.FastAPI",
      "duckdb", "local", "/api/v1", "apply", "none",
    ),
  },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom("a", "b").map((sub) => new TmpPath(sub)) },
  { weight: 1, arbitrary: fc.array(hostileStringArb, { maxLength: 3 }) },
  { weight: 1, arbitrary: objectArb(hostileStringArb, hostileStringArb) },
  { weight: 2, arbitrary: hostileArb },
);
const settingsInitArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: objectArb(fc.constantFrom(...SETTINGS_KEYS), settingsValueArb) },
  { weight: 1, arbitrary: fc.constant(null).map(() => new Settings()) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("a", "b").map((sub) => objectFrom([["isPersistent", true], ["persistDirectory", new TmpPath(sub)]])),
  },
  { weight: 1, arbitrary: hostileArb },
);

const tenantArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, "default_tenant", "fz_tenant", "fz-tenant-2", "ab") },
  { weight: 2, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: hostileArb },
);
const databaseArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, "fz_db", "fz-db-2", "ab") },
  { weight: 2, arbitrary: hostileStringArb },
  { weight: 1, arbitrary: hostileArb },
);
const clientOptionsArb = orHostile(
  fc.record({ settings: maybe(settingsInitArb), tenant: maybe(tenantArb, 3), database: maybe(databaseArb, 3) }),
  6,
);
const pathArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom("a", "b", "c").map((sub) => new TmpPath(sub)) }, { weight: 1, arbitrary: hostileArb });
const persistentOptionsArb = orHostile(
  fc.record({ path: pathArb, settings: maybe(settingsInitArb), tenant: maybe(tenantArb, 4), database: maybe(databaseArb, 4) }),
  6,
);
const httpOptionsArb = orHostile(
  fc.record({
    host: maybe(orHostile(fc.constantFrom("localhost", "example.invalid", ""))),
    port: maybe(orHostile(fc.constantFrom(8000, 0, 65536, -1, 8000.5))),
    ssl: maybe(orHostile(fc.boolean())),
    headers: maybe(orHostile(objectArb(hostileStringArb, hostileStringArb))),
    settings: maybe(settingsInitArb),
    tenant: maybe(tenantArb),
    database: maybe(databaseArb),
  }),
  4,
);
const cloudOptionsArb = orHostile(
  fc.record({
    apiKey: maybe(orHostile(fc.constantFrom("ck-123", ""))),
    cloudHost: maybe(hostileArb),
    cloudPort: maybe(hostileArb),
    enableSsl: maybe(hostileArb),
    tenant: maybe(tenantArb),
    database: maybe(databaseArb),
  }),
  4,
);
const adminOptionsArb = orHostile(
  fc.record({
    settings: maybe(settingsInitArb),
    host: maybe(hostileArb, 4),
    port: maybe(hostileArb, 4),
    ssl: maybe(hostileArb, 6),
    headers: maybe(hostileArb, 6),
  }),
  6,
);

// =================================================================================================================
// Fixtures (one shared EphemeralClient; EphemeralClients share one in-memory system, so names are unique)
// =================================================================================================================

type Target = "A" | "E" | "Cos";
const DIMS: Record<Target, number> = { A: 3, E: 8, Cos: 3 };

let shared: ChromaClient;
let fixtures: Record<Target, Collection>;
let colM: Collection; // modify / delete target
let colF: Collection; // embedding-function target
let initialSettings: Settings;

/** Puts back global settings saved with getSettings(). */
function restoreSettings(saved: Settings): void {
  configure({ ...saved.toJSON() } as unknown as SettingsInit);
}
let mCounter = 0;

function fixtureValue(what: FixtureRef["what"]): string {
  switch (what) {
    case "A.id":
      return fixtures.A.id;
    case "A.name":
      return fixtures.A.name;
    case "F.id":
      return colF.id;
    case "F.name":
      return colF.name;
    default:
      return "00000000-0000-4000-8000-000000000000";
  }
}

function seedRecords(target: Target, count: number) {
  const dim = DIMS[target];
  const ids = Array.from({ length: count }, (_, i) => `id${i}`);
  return {
    ids,
    embeddings: ids.map((_, i) => Array.from({ length: dim }, (_, d) => ((i * 7 + d * 3) % 11) / 10 + 0.05)),
    metadatas: ids.map((_, i) => ({ k: i, s: `s${i % 3}`, b: i % 2 === 0, l: [i, i + 1] })),
    documents: ids.map((_, i) => `alpha beta ${i}`),
  };
}

/** colM exists (recreated under a new name if the fuzzing deleted it) and has records to delete. */
async function ensureColM(): Promise<void> {
  try {
    if ((await colM.count()) >= 4) return;
  } catch (error) {
    if (!(error instanceof ChromaError)) throw error;
    colM = await shared.createCollection({ name: `fz-m-${process.pid}-${++mCounter}`, embeddingFunction: null });
  }
  await colM.upsert(seedRecords("A", 12));
}

const savedModelCache = process.env.CHROMALITE_MODEL_CACHE;
beforeAll(async () => {
  tmpRoot = makeTempDir("chromalite-fuzz-");
  globalThis.fetch = stubFetch as typeof fetch;
  process.env.CHROMALITE_MODEL_CACHE = join(tmpRoot, "model-cache");
  initialSettings = getSettings();
  shared = EphemeralClient();
  fixtures = {
    A: await shared.createCollection({ name: uniqueName("fz-a"), embeddingFunction: null }),
    E: await shared.createCollection({ name: uniqueName("fz-e"), embeddingFunction: testEmbeddingFunction() }),
    Cos: await shared.createCollection({ name: uniqueName("fz-cos"), configuration: { hnsw: { space: "cosine" } }, embeddingFunction: null }),
  };
  await fixtures.A.add(seedRecords("A", 20));
  await fixtures.E.add({ ids: ["e0", "e1", "e2"], documents: ["alpha", "beta", "gamma"], metadatas: [{ k: 0 }, { k: 1 }, { k: 2 }] });
  await fixtures.Cos.add(seedRecords("Cos", 10));
  colM = await shared.createCollection({ name: uniqueName("fz-m"), embeddingFunction: null });
  await ensureColM();
  colF = await shared.createCollection({ name: uniqueName("fz-f"), embeddingFunction: testEmbeddingFunction() });
});

afterAll(async () => {
  if (STATS) {
    const lines = [...STATS.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([label, n]) => `${label.padEnd(70)} ${n.resolved} resolved, ${n.rejected} rejected`);
    console.log(lines.join("\n"));
  }
  restoreSettings(initialSettings);
  await shared?.close();
  globalThis.fetch = realFetch;
  if (savedModelCache === undefined) delete process.env.CHROMALITE_MODEL_CACHE;
  else process.env.CHROMALITE_MODEL_CACHE = savedModelCache;
  removeTempDirs();
});

// =================================================================================================================
// Result checks
// =================================================================================================================

function checkGetResult(label: string, value: unknown, dim: number | undefined): void {
  check(value instanceof GetResult, `${label}: resolved with ${describeValue(value)}, not a GetResult`);
  const result = value as GetResult;
  check(Array.isArray(result.ids) && result.ids.every((id) => typeof id === "string"), `${label}: ids are not strings`);
  check(new Set(result.ids).size === result.ids.length, `${label}: duplicate ids ${JSON.stringify(result.ids)}`);
  for (const field of result.include) {
    const column = (result as any)[field];
    check(Array.isArray(column) && column.length === result.ids.length, `${label}: ${field} has ${column?.length} entries for ${result.ids.length} ids`);
  }
  if (result.include.includes("embeddings" as any) && dim !== undefined) {
    for (const embedding of result.embeddings) {
      check(embedding.length === dim && embedding.every((x) => typeof x === "number"), `${label}: an embedding is not ${dim} numbers`);
    }
  }
  check(result.rows().records.length === result.ids.length, `${label}: rows() disagrees with ids`);
}

function checkQueryResult(label: string, value: unknown, queries: number | undefined, nResults: unknown): void {
  check(value instanceof QueryResult, `${label}: resolved with ${describeValue(value)}, not a QueryResult`);
  const result = value as QueryResult;
  check(Array.isArray(result.ids), `${label}: ids is not an array`);
  if (queries !== undefined) check(result.ids.length === queries, `${label}: ${result.ids.length} result lists for ${queries} queries`);
  result.ids.forEach((ids, q) => {
    check(ids.every((id) => typeof id === "string") && new Set(ids).size === ids.length, `${label}: bad ids for query ${q}`);
    if (typeof nResults === "number") check(ids.length <= nResults, `${label}: ${ids.length} results for nResults ${nResults}`);
    for (const field of result.include) {
      const column = (result as any)[field][q];
      check(Array.isArray(column) && column.length === ids.length, `${label}: ${field}[${q}] does not match ids`);
    }
    if (result.include.includes("distances" as any)) {
      check(result.distances[q].every((d) => typeof d === "number"), `${label}: distances are not numbers`);
    }
  });
  check(result.rows().queries.length === result.ids.length, `${label}: rows() disagrees with ids`);
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && [Object.prototype, null].includes(Object.getPrototypeOf(value));

/** The ids of a records argument that a `get` can look up (empty when the argument is not a list of strings). */
function lookupIds(arg: unknown): string[] {
  if (!isPlain(arg) || !Array.isArray(arg.ids) || arg.ids.length > 6000) return [];
  const ids: string[] = [];
  for (let i = 0; i < arg.ids.length; i++) {
    const id = arg.ids[i];
    if (typeof id !== "string") return [];
    ids.push(id);
  }
  return [...new Set(ids)].filter((id) => id !== "" && !/\p{Cs}/u.test(id) && Buffer.byteLength(id) <= 4096); // no lone surrogates
}

interface Snapshot {
  count: number;
  records: Map<string, unknown>;
}

async function snapshot(col: Collection, ids: string[]): Promise<Snapshot> {
  const count = await mustResolve("snapshot count()", () => col.count());
  const records = new Map<string, unknown>();
  for (let start = 0; start < ids.length; start += 1000) {
    const got = await mustResolve("snapshot get()", () =>
      col.get({ ids: ids.slice(start, start + 1000), include: ["embeddings", "documents", "metadatas", "uris"] as any }),
    );
    got.ids.forEach((id, i) =>
      records.set(id, { embedding: got.embeddings[i], document: got.documents[i], metadata: got.metadatas[i], uri: got.uris[i] }),
    );
  }
  return { count, records };
}

function sameRecords(label: string, before: Snapshot, after: Snapshot, ids: Iterable<string>): void {
  for (const id of ids) {
    const a = JSON.stringify(before.records.get(id));
    const b = JSON.stringify(after.records.get(id));
    check(a === b, `${label}: record ${JSON.stringify(id)} changed from ${a} to ${b}`);
  }
}

// =================================================================================================================
// Runners: perform one generated call and check its outcome. `guarded` = the argument may hold throwing accessors,
// so nothing but the outcome is checked (the post-checks would read the argument themselves).
// =================================================================================================================

interface CallSpec {
  method: string;
  target?: Target;
  arg: unknown;
}

/** A client returned by a constructor: use it if that cannot touch anything outside the fuzz temp dir, then close it. */
async function exerciseClient(label: string, client: unknown): Promise<void> {
  check(client instanceof ChromaClient, `${label}: returned ${describeValue(client)}, not a ChromaClient`);
  const c = client as ChromaClient;
  try {
    if (safeToOpen(c.settings)) {
      await attempt(`${label} → heartbeat()`, () => c.heartbeat());
      await attempt(`${label} → listCollections()`, () => c.listCollections());
    }
  } finally {
    await mustResolve(`${label} → close()`, () => c.close());
  }
  const after = await attempt(`${label} → heartbeat() after close`, () => c.heartbeat());
  check(!after.ok && after.error instanceof ChromaClosedError, `${label}: a call after close() did not reject with ChromaClosedError`);
}

async function exerciseAdmin(label: string, admin: unknown): Promise<void> {
  check(admin instanceof ChromaAdminClient, `${label}: returned ${describeValue(admin)}, not a ChromaAdminClient`);
  const a = admin as ChromaAdminClient;
  try {
    if (safeToOpen(a.settings)) await attempt(`${label} → listTenants()`, () => a.listTenants());
  } finally {
    await mustResolve(`${label} → close()`, () => a.close());
  }
}

async function construct(label: string, make: () => unknown, use: (label: string, value: unknown) => Promise<void>): Promise<void> {
  const made = await attempt(label, make);
  if (made.ok) await use(label, made.value);
}

async function runModule(spec: CallSpec, guarded: boolean): Promise<void> {
  const arg = guarded ? spec.arg : materialize(spec.arg);
  const a = arg as any;
  switch (spec.method) {
    case "EphemeralClient":
      return construct("EphemeralClient(arg)", () => EphemeralClient(a), exerciseClient);
    case "PersistentClient":
      return construct("PersistentClient(arg)", () => PersistentClient(a), exerciseClient);
    case "RustClient":
      return construct("RustClient(arg)", () => RustClient(a), exerciseClient);
    case "Client":
      return construct("Client(arg)", () => Client(a), exerciseClient);
    case "new ChromaClient":
      return construct("new ChromaClient(arg)", () => new ChromaClient(a), exerciseClient);
    case "HttpClient":
      return construct("HttpClient(arg)", () => HttpClient(a), exerciseClient);
    case "AsyncHttpClient":
      return construct("AsyncHttpClient(arg)", () => AsyncHttpClient(a), exerciseClient);
    case "CloudClient":
      return construct("CloudClient(arg)", () => CloudClient(a), exerciseClient);
    case "AdminClient":
      return construct("AdminClient(arg)", () => AdminClient(a), exerciseAdmin);
    case "new ChromaAdminClient":
      return construct("new ChromaAdminClient(arg)", () => new ChromaAdminClient(a), exerciseAdmin);
    case "new Settings": {
      const made = await attempt("new Settings(arg)", () => new Settings(a));
      if (!made.ok) return;
      const settings = made.value;
      check(settings instanceof Settings, "new Settings(arg) returned something else");
      const json = await mustResolve("settings.toJSON()", () => settings.toJSON());
      const again = await mustResolve("new Settings(settings.toJSON())", () => new Settings({ ...json } as unknown as SettingsInit));
      check(again.equals(settings), "new Settings(settings.toJSON()) is not equal to settings");
      await attempt("settings.equals(arg)", () => settings.equals(a));
      return;
    }
    case "configure": {
      const saved = getSettings();
      try {
        const configured = await attempt("configure(arg)", () => configure(a));
        if (!configured.ok) check(getSettings().equals(saved), "a rejected configure() changed the global settings");
        await mustResolve("getSettings()", () => getSettings());
        await construct("Client() after configure", () => Client(), exerciseClient);
        await construct("AdminClient() after configure", () => AdminClient(), exerciseAdmin);
      } finally {
        restoreSettings(saved);
      }
      check(getSettings().equals(saved), "the global settings were not restored");
      return;
    }
    case "getSettings":
      await mustResolve("getSettings(arg)", () => (getSettings as any)(a));
      return;
    case "getVersion": {
      const version = await mustResolve("getVersion(arg)", () => (getVersion as any)(a));
      check(typeof version === "string" && version.length > 0, "getVersion() is not a non-empty string");
      return;
    }
    case "engineVersion":
      await attempt("engineVersion(arg)", () => (engineVersion as any)(a));
      return;
    case "DefaultEmbeddingFunction": {
      // arg = [constructor options, texts]; the model download goes to the fetch stub (404), the cache to the temp dir.
      // The pair is the harness's, not an argument of the API: when an injected accessor sits on the pair itself
      // (guarded runs), reading it throws here, before any call of the package, and there is nothing to call.
      let options: unknown;
      let texts: unknown;
      try {
        [options, texts] = Array.isArray(a) ? a : [undefined, a];
      } catch (error) {
        if (guarded) return;
        throw error;
      }
      const made = await attempt("new DefaultEmbeddingFunction(options)", () => new (DefaultEmbeddingFunction as any)(options));
      if (!made.ok) return;
      const ef = made.value as DefaultEmbeddingFunction;
      await attempt("DefaultEmbeddingFunction.generate(texts)", () => ef.generate(texts as string[]));
      if (typeof (ef as any).ensureModel === "function") await attempt("DefaultEmbeddingFunction.ensureModel()", () => (ef as any).ensureModel());
      await mustResolve("DefaultEmbeddingFunction.getConfig()", () => ef.getConfig());
      await mustResolve("DefaultEmbeddingFunction.defaultSpace()", () => ef.defaultSpace());
      await mustResolve("DefaultEmbeddingFunction.supportedSpaces()", () => ef.supportedSpaces());
      return;
    }
    default:
      throw new Error(`unknown module method ${spec.method}`);
  }
}

async function runClientMethod(spec: CallSpec, guarded: boolean): Promise<void> {
  const arg = guarded ? spec.arg : materialize(spec.arg);
  const a = arg as any;
  const client = EphemeralClient();
  const label = `client.${spec.method}(arg)`;
  try {
    switch (spec.method) {
      case "heartbeat": {
        const r = await attempt(label, () => (client.heartbeat as any)(a));
        if (r.ok) check(typeof r.value === "number" && r.value > 0, `${label}: ${String(r.value)} is not a positive number`);
        return;
      }
      case "version":
      case "getVersion":
      case "getMaxBatchSize":
      case "getUserIdentity":
      case "countCollections":
        await attempt(label, () => (client as any)[spec.method](a));
        return;
      case "reset":
        if (!shared.settings.allowReset) await attempt(label, () => (client.reset as any)(a));
        return;
      case "listCollections": {
        const r = await attempt(label, () => client.listCollections(a));
        if (r.ok) check(Array.isArray(r.value) && r.value.every((c) => c instanceof Collection), `${label}: not a list of Collections`);
        return;
      }
      case "createCollection":
      case "getOrCreateCollection":
      case "getCollection":
      case "getCollectionById": {
        const r = await attempt(label, () => (client as any)[spec.method](a));
        if (r.ok) {
          check(r.value instanceof Collection, `${label}: resolved with ${describeValue(r.value)}`);
          await attempt(`${label} → count()`, () => (r.value as Collection).count());
        }
        return;
      }
      case "getCollections": {
        const r = await attempt(label, () => client.getCollections(a));
        if (r.ok) check(Array.isArray(r.value) && r.value.every((c) => c instanceof Collection), `${label}: not a list of Collections`);
        return;
      }
      case "deleteCollection":
        await attempt(label, () => client.deleteCollection(a));
        return;
      case "close": {
        await mustResolve(label, () => (client.close as any)(a));
        const after = await attempt("heartbeat() after close(arg)", () => client.heartbeat());
        check(!after.ok && after.error instanceof ChromaClosedError, "a call after close(arg) did not reject with ChromaClosedError");
        return;
      }
      case "asyncDispose":
        await mustResolve("client[Symbol.asyncDispose](arg)", () => (client as any)[Symbol.asyncDispose](a));
        return;
      default:
        throw new Error(`unknown client method ${spec.method}`);
    }
  } finally {
    await client.close();
  }
}

async function runAdminMethod(spec: CallSpec, guarded: boolean): Promise<void> {
  const arg = guarded ? spec.arg : materialize(spec.arg);
  const a = arg as any;
  // Never the default database: deleting it would take the fixtures with it (these names are not generated anyway).
  if (!guarded && isPlain(a) && a.name === "default_database") return;
  const admin = AdminClient();
  const label = `admin.${spec.method}(arg)`;
  try {
    const r = await attempt(label, () => (admin as any)[spec.method](a));
    if (r.ok && (spec.method === "listTenants" || spec.method === "listDatabases")) {
      check(Array.isArray(r.value), `${label}: resolved with ${describeValue(r.value)}, not a list`);
    }
  } finally {
    await admin.close();
  }
}

async function runWrite(spec: CallSpec, guarded: boolean): Promise<void> {
  const target = spec.target!;
  const col = fixtures[target];
  const label = `${target}.${spec.method}(arg)`;
  if (guarded) {
    await attempt(label, () => (col as any)[spec.method](spec.arg));
    return;
  }
  const arg = materialize(spec.arg);
  const ids = lookupIds(arg);
  const before = await snapshot(col, ids);
  const result = await attempt(label, () => (col as any)[spec.method](arg));
  const after = await snapshot(col, ids);
  if (!result.ok) {
    check(after.count === before.count, `${label} rejected (${result.error.message}) but the count went from ${before.count} to ${after.count}`);
    sameRecords(`${label} rejected (${result.error.message})`, before, after, ids);
    return;
  }
  const added = ids.filter((id) => !before.records.has(id));
  if (spec.method === "update") {
    check(after.count === before.count, `${label}: update changed the count from ${before.count} to ${after.count}`);
    for (const id of added) check(!after.records.has(id), `${label}: update created ${JSON.stringify(id)}`);
    return;
  }
  for (const id of ids) check(after.records.has(id), `${label}: resolved but ${JSON.stringify(id)} is not in the collection`);
  check(after.count === before.count + added.length, `${label}: count went from ${before.count} to ${after.count} with ${added.length} new ids`);
  if (spec.method === "add") sameRecords(`${label}: add changed an existing record`, before, after, [...before.records.keys()]);
}

async function runRead(spec: CallSpec, guarded: boolean): Promise<void> {
  const target = spec.target!;
  const col = fixtures[target];
  const arg = guarded ? spec.arg : materialize(spec.arg);
  const a = arg as any;
  const label = `${target}.${spec.method}(arg)`;
  const result = await attempt(label, () => (col as any)[spec.method](a));
  if (!result.ok || guarded) return;
  switch (spec.method) {
    case "get":
    case "peek":
      checkGetResult(label, result.value, DIMS[target]);
      if (spec.method === "peek") check((result.value as GetResult).ids.length <= (isPlain(a) && typeof a.limit === "number" ? a.limit : 10), `${label}: too many records`);
      return;
    case "query": {
      const queries = isPlain(a) ? (Array.isArray(a.queryEmbeddings) ? a.queryEmbeddings.length : Array.isArray(a.queryTexts) ? a.queryTexts.length : undefined) : undefined;
      checkQueryResult(label, result.value, queries, isPlain(a) ? (a.nResults ?? 10) : undefined);
      return;
    }
    case "count":
      check(Number.isInteger(result.value) && (result.value as number) >= 0, `${label}: ${String(result.value)} is not a count`);
      return;
    default:
      throw new Error(`unknown read ${spec.method}`);
  }
}

async function collectionModel(id: string): Promise<string> {
  const model = await mustResolve("getCollectionById(colM)", () => shared.getCollectionById(id));
  return JSON.stringify({ name: model.name, metadata: model.metadata ?? null, configuration: model.configuration });
}

async function runMaintenance(spec: CallSpec, guarded: boolean): Promise<void> {
  await ensureColM();
  const col = colM;
  const label = `M.${spec.method}(arg)`;
  if (guarded) {
    await attempt(label, () => (col as any)[spec.method](spec.arg));
    return;
  }
  const arg = materialize(spec.arg);
  const a = arg as any;
  switch (spec.method) {
    case "delete": {
      const ids = lookupIds(arg);
      const before = await snapshot(col, ids);
      const result = await attempt(label, () => col.delete(a));
      const after = await snapshot(col, ids);
      if (!result.ok) {
        check(after.count === before.count, `${label} rejected (${result.error.message}) but the count changed`);
        sameRecords(`${label} rejected`, before, after, ids);
        return;
      }
      const deleted = (result.value as any)?.deleted;
      check(Number.isInteger(deleted) && deleted >= 0, `${label}: resolved with ${JSON.stringify(result.value)}`);
      check(after.count <= before.count, `${label}: the count grew`);
      const idsOnly = isPlain(a) && Array.isArray(a.ids) && a.where == null && a.whereDocument == null;
      if (idsOnly) for (const id of ids) check(!after.records.has(id), `${label}: ${JSON.stringify(id)} is still there`);
      return;
    }
    case "modify": {
      const before = await collectionModel(col.id);
      const result = await attempt(label, () => col.modify(a));
      const after = await collectionModel(col.id);
      if (!result.ok) {
        check(after === before, `${label} rejected (${result.error.message}) but the collection changed: ${before} → ${after}`);
        return;
      }
      if (isPlain(a) && typeof a.name === "string") {
        check(col.name === a.name && JSON.parse(after).name === a.name, `${label}: resolved but the name is not ${JSON.stringify(a.name)}`);
      }
      return;
    }
    case "fork":
    case "forkCount":
      await attempt(label, () => (col as any)[spec.method](a));
      return;
    default:
      throw new Error(`unknown maintenance method ${spec.method}`);
  }
}

// =================================================================================================================
// Call arbitraries, one per group
// =================================================================================================================

const call = (method: string, arg: fc.Arbitrary<unknown>, target?: Target): fc.Arbitrary<CallSpec> =>
  arg.map((value) => (target === undefined ? { method, arg: value } : { method, target, arg: value }));

const moduleCallArb = fc.oneof(
  call("EphemeralClient", clientOptionsArb),
  call("PersistentClient", persistentOptionsArb),
  call("RustClient", orHostile(fc.record({ path: maybe(pathArb), settings: maybe(settingsInitArb), tenant: maybe(tenantArb, 4) }), 6)),
  call("Client", clientOptionsArb),
  call("new ChromaClient", orHostile(fc.record({ settings: maybe(settingsInitArb), tenant: maybe(tenantArb), database: maybe(databaseArb), host: maybe(hostileArb, 6), path: maybe(hostileArb, 6) }), 6)),
  call("HttpClient", httpOptionsArb),
  call("AsyncHttpClient", httpOptionsArb),
  call("CloudClient", cloudOptionsArb),
  call("AdminClient", adminOptionsArb),
  call("new ChromaAdminClient", orHostile(fc.record({ settings: maybe(settingsInitArb) }), 6)),
  call("new Settings", settingsInitArb),
  call("configure", settingsInitArb),
  call("getSettings", hostileArb),
  call("getVersion", hostileArb),
  call("engineVersion", hostileArb),
);

const defaultEmbeddingCallArb = fc.oneof(
  call(
    "DefaultEmbeddingFunction",
    fc.tuple(
      orHostile(
        fc.record({
          // Never a string of our own making: the cache folder is created on disk.
          cacheDirectory: maybe(fc.oneof(fc.constantFrom("m1", "m2").map((sub) => new TmpPath(sub)), hostileNonNumberArb.filter((v) => typeof v !== "string")), 1),
          modelUrl: maybe(fc.oneof(fc.constant("http://127.0.0.1:9/onnx.tar.gz"), hostileArb), 1),
          modelSha256: maybe(orHostile(fc.constantFrom("00", "ABCDEF")), 2),
          batchSize: maybe(orHostile(fc.constantFrom(1, 32, 0, -1, 0.5, 2 ** 40)), 2),
          intraOpNumThreads: maybe(orHostile(fc.constantFrom(1, 0, -1, 1e9)), 2),
          // Download attempts back off exponentially; a huge count is a (valid) request to retry for a long time.
          downloadAttempts: maybe(fc.oneof(fc.constantFrom(1, 2, 0, -1, NaN, 0.5), hostileNonNumberArb), 1),
        }),
        4,
      ),
      fc.oneof(queryTextsArb, hostileArb),
    ),
  ),
);

const fixtureRefArb = fc.constantFrom<FixtureRef["what"]>("A.id", "A.name", "unknown-uuid").map((what) => new FixtureRef(what));
const clientCallArb = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom("heartbeat", "version", "getVersion", "getMaxBatchSize", "getUserIdentity", "countCollections", "reset", "close", "asyncDispose").chain((m) => call(m, hostileArb)) },
  { weight: 2, arbitrary: call("listCollections", orHostile(fc.record({ limit: maybe(countArb), offset: maybe(countArb) }), 6)) },
  { weight: 4, arbitrary: call("createCollection", createArgsArb) },
  { weight: 3, arbitrary: call("getOrCreateCollection", createArgsArb) },
  { weight: 2, arbitrary: call("getCollection", orHostile(fc.record({ name: fc.oneof(nameArb, fixtureRefArb), embeddingFunction: maybe(efLiteArb) }), 6)) },
  { weight: 1, arbitrary: call("getCollections", orHostile(fc.array(fc.oneof(nameArb, fc.record({ name: nameArb })), { maxLength: 4 }), 4)) },
  { weight: 2, arbitrary: call("getCollectionById", fc.oneof(fixtureRefArb, hostileStringArb, fc.record({ id: fc.oneof(fixtureRefArb, hostileArb), embeddingFunction: maybe(efLiteArb) }), hostileArb)) },
  { weight: 2, arbitrary: call("deleteCollection", orHostile(fc.record({ name: nameArb }), 6)) },
);

const adminNameArgs = orHostile(fc.record({ name: fc.oneof(nameArb, tenantArb), tenant: maybe(tenantArb, 2) }), 6);
const adminCallArb = fc.oneof(
  call("createTenant", adminNameArgs),
  call("getTenant", adminNameArgs),
  call("listTenants", orHostile(fc.record({ limit: maybe(countArb), offset: maybe(countArb) }), 6)),
  call("createDatabase", adminNameArgs),
  call("getDatabase", adminNameArgs),
  call("deleteDatabase", adminNameArgs),
  call("listDatabases", orHostile(fc.record({ tenant: maybe(tenantArb), limit: maybe(countArb), offset: maybe(countArb) }), 6)),
  call("close", hostileArb),
);

const targetArb = fc.constantFrom<Target>("A", "A", "E", "Cos");
const writeCallArb = fc
  .tuple(fc.constantFrom("add", "upsert", "update"), targetArb)
  .chain(([method, target]) => call(method, recordsArb(DIMS[target]), target));

const readCallArb = fc.oneof(
  { weight: 4, arbitrary: targetArb.chain((t) => call("get", getArgsArb(), t)) },
  { weight: 5, arbitrary: targetArb.chain((t) => call("query", queryArgsArb(DIMS[t]), t)) },
  { weight: 1, arbitrary: targetArb.chain((t) => call("peek", orHostile(fc.record({ limit: maybe(countArb, 1) }), 4), t)) },
  { weight: 1, arbitrary: targetArb.chain((t) => call("count", orHostile(fc.record({ readLevel: maybe(hostileArb) }), 2), t)) },
);

const modifyArgsArb = orHostile(
  fc.record({
    name: maybe(nameArb, 2),
    metadata: maybe(collectionMetadataArb, 1),
    configuration: maybe(orHostile(fc.record({ hnsw: maybe(hnswArb, 1), spann: maybe(hostileArb, 4), embeddingFunction: maybe(efLiteArb, 4) }), 6), 2),
  }),
  8,
);
const maintenanceCallArb = fc.oneof(
  { weight: 6, arbitrary: call("delete", deleteArgsArb) },
  { weight: 4, arbitrary: call("modify", modifyArgsArb) },
  { weight: 1, arbitrary: call("fork", orHostile(fc.record({ name: nameArb }), 3)) },
  { weight: 1, arbitrary: call("forkCount", hostileArb) },
);

type Group = "module" | "client" | "admin" | "write" | "read" | "maintenance";
const RUNNERS: Record<Group, (spec: CallSpec, guarded: boolean) => Promise<void>> = {
  module: runModule,
  client: runClientMethod,
  admin: runAdminMethod,
  write: runWrite,
  read: runRead,
  maintenance: runMaintenance,
};

/** Runs of each property (CHROMALITE_FUZZ_RUNS overrides each, as in the other property suites) and its time limit. */
function plan(defaultRuns: number, msPerRun = 15): { numRuns: number; timeout: number } {
  const numRuns = fuzzRuns(defaultRuns);
  return { numRuns, timeout: Math.max(90_000, numRuns * msPerRun) };
}

async function consistent(col: Collection, label: string): Promise<void> {
  const all = await mustResolve(`${label}.get()`, () => col.get());
  expect(await col.count(), `${label}: count() disagrees with get()`).toBe(all.ids.length);
}

// =================================================================================================================
// In-process properties
// =================================================================================================================

describe("hostile input: every call resolves or fails with a ChromaError", () => {
  const moduleRuns = plan(1500, 20);
  it(`module functions and constructors (${moduleRuns.numRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(moduleCallArb, (spec) => runModule(spec, false)),
      { seed: fuzzSeed(0x5eed01), numRuns: moduleRuns.numRuns },
    );
    expect(getSettings().equals(initialSettings)).toBe(true);
  }, moduleRuns.timeout);

  const embeddingRuns = plan(300, 30);
  it(`new DefaultEmbeddingFunction(options): generate / ensureModel with hostile options and texts (${embeddingRuns.numRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(defaultEmbeddingCallArb, (spec) => runModule(spec, false)),
      { seed: fuzzSeed(0x5eed0c), numRuns: embeddingRuns.numRuns },
    );
  }, embeddingRuns.timeout);

  const clientRuns = plan(1500);
  it(`client and admin-client methods (${clientRuns.numRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 3, arbitrary: clientCallArb.map((spec) => ({ group: "client" as const, spec })) },
          { weight: 1, arbitrary: adminCallArb.map((spec) => ({ group: "admin" as const, spec })) },
        ),
        ({ group, spec }) => RUNNERS[group](spec, false),
      ),
      { seed: fuzzSeed(0x5eed02), numRuns: clientRuns.numRuns },
    );
    expect(await shared.heartbeat()).toBeGreaterThan(0);
  }, clientRuns.timeout);

  const writeRuns = plan(2500);
  it(`add / upsert / update: rejected writes change nothing, resolved ones have their effect (${writeRuns.numRuns} cases)`, async () => {
    await fc.assert(fc.asyncProperty(writeCallArb, (spec) => runWrite(spec, false)), {
      seed: fuzzSeed(0x5eed03),
      numRuns: writeRuns.numRuns,
    });
    for (const [key, col] of Object.entries(fixtures)) await consistent(col, key);
  }, writeRuns.timeout);

  const readRuns = plan(3000);
  it(`get / query / peek / count return well-formed results (${readRuns.numRuns} cases)`, async () => {
    await fc.assert(fc.asyncProperty(readCallArb, (spec) => runRead(spec, false)), {
      seed: fuzzSeed(0x5eed04),
      numRuns: readRuns.numRuns,
    });
    for (const [key, col] of Object.entries(fixtures)) await consistent(col, key);
  }, readRuns.timeout);

  const maintenanceRuns = plan(1500);
  it(`delete / modify / fork: a rejected call changes nothing (${maintenanceRuns.numRuns} cases)`, async () => {
    await fc.assert(fc.asyncProperty(maintenanceCallArb, (spec) => runMaintenance(spec, false)), {
      seed: fuzzSeed(0x5eed05),
      numRuns: maintenanceRuns.numRuns,
    });
    await consistent(colM, "M");
  }, maintenanceRuns.timeout);

  // ---------------------------------------------------------------------------------------------------------------
  // HTTP clients against a hostile server: the fetch stub answers each request from a script (plausible answers,
  // malformed or wrongly shaped JSON, error statuses, refused connections, no answer within the client's timeout).
  // ---------------------------------------------------------------------------------------------------------------
  const jsonTextArb = fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null") },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        "", "{", "null", "[]", "{}", '"x"', "5", "-1", "1e999", "true", '{"ids":null}', '{"ids":[1,2]}', '{"ids":"a"}',
        '{"ids":[["a"]],"distances":null}', '{"ids":[["a"]],"distances":[[]]}', '{"ids":["a"],"embeddings":"AAAA"}',
        '{"ids":["a"],"embeddings":[[1,2]],"include":["embeddings"]}', '{"nanosecond heartbeat":"x"}', '{"deleted":"x"}',
        '{"max_batch_size":-1}', '{"max_batch_size":"a","supports_base64_encoding":"yes"}', '{"name":5}',
        '{"id":5,"name":null,"configuration_json":"x"}', '{"id":"x","name":"abc","configuration_json":{"embedding_function":{"type":"known","name":"nope","config":5}}}',
        '[{"id":null}]', '{"user_id":1,"tenant":null,"databases":"x"}', '{"error":"InvalidArgumentError","message":5}',
        '{"error":null}', '<html>Bad gateway</html>', "\u0000", '{"__proto__":{"polluted":true}}',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(20_000, 200_000).map((n) => JSON.stringify({ ids: Array.from({ length: n }, (_, i) => `i${i}`) })) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 3000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)) },
  );
  const replyArb: fc.Arbitrary<Reply> = fc.oneof(
    { weight: 10, arbitrary: fc.constant({ kind: "valid" } as Reply) },
    { weight: 4, arbitrary: jsonTextArb.map((body) => ({ kind: "json", body }) as Reply) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 501), jsonTextArb)
        .map(([status, body]) => ({ kind: "status", status, body }) as Reply),
    },
    { weight: 1, arbitrary: fc.constantFrom(502, 503).map((status) => ({ kind: "status", status, body: "{}" }) as Reply) },
    { weight: 1, arbitrary: fc.constantFrom<Reply>({ kind: "refused" }, { kind: "hang" }) },
  );
  const HTTP_OPTIONS = { host: "127.0.0.1", port: 9, timeoutMs: 250 };
  const httpCaseArb = fc.record({
    script: fc.array(replyArb, { minLength: 1, maxLength: 8 }),
    client: fc.constantFrom("HttpClient", "AsyncHttpClient", "CloudClient", "new ChromaClient"),
    call: fc.oneof(
      { weight: 3, arbitrary: clientCallArb.filter((spec) => spec.method !== "close" && spec.method !== "asyncDispose") },
      { weight: 2, arbitrary: adminCallArb.map((spec) => ({ ...spec, method: `admin:${spec.method}` })) },
      { weight: 4, arbitrary: writeCallArb.map((spec) => ({ ...spec, method: `collection:${spec.method}` })) },
      { weight: 4, arbitrary: readCallArb.map((spec) => ({ ...spec, method: `collection:${spec.method}` })) },
      { weight: 2, arbitrary: maintenanceCallArb.map((spec) => ({ ...spec, method: `collection:${spec.method}` })) },
      { weight: 3, arbitrary: fc.constantFrom<CallSpec>(
        { method: "collection:add", arg: { ids: ["a"], embeddings: [[1, 2, 3]], documents: ["x"] } },
        { method: "collection:get", arg: { include: ["embeddings", "documents", "metadatas", "uris"] } },
        { method: "collection:query", arg: { queryEmbeddings: [[1, 2, 3]], nResults: 2, include: ["distances", "embeddings", "metadatas"] } },
        { method: "collection:count", arg: undefined },
        { method: "collection:delete", arg: { ids: ["a"] } },
        { method: "collection:modify", arg: { name: "renamed", metadata: { k: 1 } } },
      ) },
    ),
  });

  function makeHttpClient(kind: string): unknown {
    switch (kind) {
      case "HttpClient":
        return HttpClient(HTTP_OPTIONS as any);
      case "AsyncHttpClient":
        return AsyncHttpClient(HTTP_OPTIONS as any);
      case "CloudClient":
        return CloudClient({ apiKey: "ck-fuzz", cloudHost: "127.0.0.1", cloudPort: 9, enableSsl: false, timeoutMs: 250 } as any);
      default:
        return new ChromaClient({ settings: { chromaApiImpl: "chromadb.api.fastapi.FastAPI", chromaServerHost: "127.0.0.1", chromaServerHttpPort: 9 }, timeoutMs: 250 } as any);
    }
  }

  const httpRuns = plan(1000, 60);
  it(`HTTP clients against a scripted hostile server (${httpRuns.numRuns} cases)`, async () => {
    try {
      await fc.assert(
        fc.asyncProperty(httpCaseArb, async ({ script: replies, client: kind, call: spec }) => {
          script = [...replies];
          const made = await attempt(`${kind}(...)`, () => makeHttpClient(kind));
          if (!made.ok) return;
          const client = made.value as ChromaClient;
          check(client instanceof ChromaClient, `${kind}(...) resolved with ${describeValue(client)}`);
          try {
            const arg = materialize(spec.arg);
            const [scope, method] = spec.method.includes(":") ? spec.method.split(":") : ["client", spec.method];
            if (scope === "client") {
              const r = await attempt(`http client.${method}(arg)`, () => (client as any)[method](arg));
              if (r.ok && (method === "listCollections" || method === "getCollections")) {
                check(Array.isArray(r.value), `http client.${method}: resolved with ${describeValue(r.value)}`);
              }
            } else if (scope === "admin") {
              const admin = await attempt("AdminClient({ host })", () => AdminClient({ ...HTTP_OPTIONS } as any));
              if (admin.ok) {
                try {
                  await attempt(`http admin.${method}(arg)`, () => (admin.value as any)[method](arg));
                } finally {
                  await mustResolve("http admin.close()", () => (admin.value as ChromaAdminClient).close());
                }
              }
            } else {
              const col = await attempt("http client.getCollection({ name })", () => client.getCollection({ name: "abc" }));
              if (col.ok) {
                const r = await attempt(`http collection.${method}(arg)`, () => (col.value as any)[method](arg));
                if (r.ok && method === "get") check(r.value instanceof GetResult, `http collection.get: resolved with ${describeValue(r.value)}`);
                if (r.ok && method === "query") check(r.value instanceof QueryResult, `http collection.query: resolved with ${describeValue(r.value)}`);
              }
            }
          } finally {
            await mustResolve(`${kind} close()`, () => client.close());
          }
        }),
        { seed: fuzzSeed(0x5eed0b), numRuns: httpRuns.numRuns },
      );
      expect(stubbedRequests, "the HTTP clients should have sent requests (to the stub)").toBeGreaterThan(httpRuns.numRuns / 2);
    } finally {
      script = undefined;
    }
  }, httpRuns.timeout);

  // ---------------------------------------------------------------------------------------------------------------
  // Embedding-function objects: the methods are called by the package, so wrong-typed members are its input too.
  // The functions here never throw and never hang (what they return is hostile); throwing is the next group's.
  // ---------------------------------------------------------------------------------------------------------------
  const memberArb = (values: fc.Arbitrary<unknown>) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: values.map((v) => () => v) },
      { weight: 1, arbitrary: values.map((v) => async () => v) },
      { weight: 2, arbitrary: hostileNonNumberArb.filter((v) => typeof v !== "function") },
      { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_NUMBERS) },
    );
  const goodGenerate = (dim: number) => (texts: string[]) => texts.map((t) => Array.from({ length: dim }, (_, d) => ((t.length + d) % 7) / 7 + 0.1));
  const efArb = fc.record(
    {
      generate: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(3, 8).map((dim) => goodGenerate(dim)) },
        { weight: 2, arbitrary: hostileArb.map((v) => () => v) },
        { weight: 1, arbitrary: hostileArb.map((v) => async () => v) },
        { weight: 1, arbitrary: hostileArb },
      ),
      name: fc.oneof(fc.constantFrom("test-hash", "default", "other-ef"), hostileArb),
      getConfig: memberArb(hostileArb),
      defaultSpace: memberArb(fc.oneof(fc.constantFrom("cosine", "l2", "ip", "bogus"), hostileArb)),
      supportedSpaces: memberArb(fc.oneof(fc.constant(["cosine", "l2", "ip"]), hostileArb)),
      validateConfig: memberArb(hostileArb),
      validateConfigUpdate: memberArb(hostileArb),
      generateForQueries: memberArb(hostileArb),
    },
    { requiredKeys: ["generate"] },
  );
  const efCallArb = fc.record({
    how: fc.constantFrom("createCollection", "getOrCreateCollection", "configuration", "getCollection", "getCollectionById", "modify"),
    ef: efArb,
    docs: fc.array(documentArb, { minLength: 1, maxLength: 3 }),
  });

  async function useEmbeddingFunction(label: string, col: Collection, docs: unknown[]): Promise<void> {
    const ids = docs.map((_, i) => `ef-${i}`);
    await attempt(`${label} → add({ ids, documents })`, () => col.add({ ids, documents: docs as string[] }));
    await attempt(`${label} → upsert({ ids, documents })`, () => col.upsert({ ids, documents: docs as string[] }));
    await attempt(`${label} → update({ ids, documents })`, () => col.update({ ids, documents: docs as string[] }));
    await attempt(`${label} → query({ queryTexts })`, () => col.query({ queryTexts: docs as string[], nResults: 2 }));
  }

  const efRuns = plan(800);
  it(`embedding-function objects with wrong-typed or hostile members (${efRuns.numRuns} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(efCallArb, async ({ how, ef, docs }) => {
        const e = ef as any;
        switch (how) {
          case "createCollection":
          case "getOrCreateCollection":
          case "configuration": {
            const name = uniqueName("fz-ef");
            const args = how === "configuration" ? { name, configuration: { embeddingFunction: e } } : { name, embeddingFunction: e };
            const method = how === "getOrCreateCollection" ? "getOrCreateCollection" : "createCollection";
            const made = await attempt(`client.${method}({ name, ${how === "configuration" ? "configuration: { embeddingFunction }" : "embeddingFunction"} })`, () => (shared as any)[method](args));
            if (!made.ok) return;
            try {
              await useEmbeddingFunction(how, made.value as Collection, docs);
            } finally {
              await shared.deleteCollection({ name });
            }
            return;
          }
          case "getCollection":
          case "getCollectionById": {
            const got = await attempt(`client.${how}({ ..., embeddingFunction })`, () =>
              how === "getCollection" ? shared.getCollection({ name: colF.name, embeddingFunction: e }) : shared.getCollectionById({ id: colF.id, embeddingFunction: e }),
            );
            if (got.ok) await useEmbeddingFunction(how, got.value as Collection, docs);
            return;
          }
          default: {
            const col = await shared.getCollection({ name: colF.name });
            const modified = await attempt("collection.modify({ configuration: { embeddingFunction } })", () => col.modify({ configuration: { embeddingFunction: e } }));
            if (modified.ok) await useEmbeddingFunction("modify", col, docs);
            return;
          }
        }
      }),
      { seed: fuzzSeed(0x5eed06), numRuns: efRuns.numRuns },
    );
  }, efRuns.timeout);

  // ---------------------------------------------------------------------------------------------------------------
  // Throwing accessors: a getter, or a proxy trap, somewhere in the argument throws.
  // ---------------------------------------------------------------------------------------------------------------
  const THROWN = ["TypeError", "RangeError", "Error", "string", "undefined"] as const;
  const PROXY_TRAPS = ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf"] as const;
  const injectionArb = fc.record({
    pick: fc.nat(),
    mode: fc.constantFrom("getter-existing", "getter-new", "proxy"),
    key: fc.constantFrom(...KEY_POOL.filter((k) => k !== "__proto__"), "0", "k"),
    thrown: fc.constantFrom(...THROWN),
    traps: fc.subarray([...PROXY_TRAPS], { minLength: 1 }),
  });
  type Injection = typeof injectionArb extends fc.Arbitrary<infer T> ? T : never;

  function makeThrown(kind: (typeof THROWN)[number]): unknown {
    switch (kind) {
      case "TypeError":
        return new TypeError("hostile accessor");
      case "RangeError":
        return new RangeError("hostile accessor");
      case "Error":
        return new Error("hostile accessor");
      case "string":
        return "hostile accessor";
      default:
        return undefined;
    }
  }

  /** The argument (a fresh copy) with one throwing accessor planted in it. */
  function inject(arg: unknown, injection: Injection): unknown {
    const root = { value: materialize(arg) };
    const containers: { holder: any; key: string | number; node: object }[] = [];
    const seen = new Set<object>();
    const walk = (holder: any, key: string | number) => {
      const node = holder[key];
      if (typeof node !== "object" || node === null || seen.has(node) || Object.hasOwn(node, fc.toStringMethod)) return;
      const proto = Object.getPrototypeOf(node);
      if (!Array.isArray(node) && proto !== Object.prototype && proto !== null) return;
      seen.add(node);
      containers.push({ holder, key, node });
      if (containers.length > 200) return;
      for (const k of Object.keys(node)) walk(node, k);
    };
    walk(root, "value");
    if (containers.length === 0) {
      root.value = {};
      containers.push({ holder: root, key: "value", node: root.value as object });
    }
    const chosen = containers[injection.pick % containers.length];
    const fail = () => {
      throw makeThrown(injection.thrown);
    };
    if (injection.mode === "proxy") {
      const handler: ProxyHandler<object> = {};
      for (const trap of injection.traps) (handler as any)[trap] = fail;
      chosen.holder[chosen.key] = new Proxy(chosen.node, handler);
    } else {
      const keys = Object.keys(chosen.node);
      const key = injection.mode === "getter-existing" && keys.length > 0 ? keys[injection.pick % keys.length] : injection.key;
      Object.defineProperty(chosen.node, key, { get: fail, enumerable: true, configurable: true });
    }
    return root.value;
  }

  const anyCallArb = fc.oneof(
    moduleCallArb.map((spec) => ({ group: "module" as Group, spec })),
    defaultEmbeddingCallArb.map((spec) => ({ group: "module" as Group, spec })),
    clientCallArb.map((spec) => ({ group: "client" as Group, spec })),
    adminCallArb.filter((spec) => spec.method !== "deleteDatabase").map((spec) => ({ group: "admin" as Group, spec })),
    writeCallArb.map((spec) => ({ group: "write" as Group, spec })),
    readCallArb.map((spec) => ({ group: "read" as Group, spec })),
    maintenanceCallArb.map((spec) => ({ group: "maintenance" as Group, spec })),
  );

  const accessorRuns = plan(1500);
  it(`arguments whose getters or proxy traps throw (${accessorRuns.numRuns} cases)`, async () => {
    const saved = getSettings();
    try {
      await fc.assert(
        fc.asyncProperty(anyCallArb, injectionArb, ({ group, spec }, injection) =>
          RUNNERS[group]({ ...spec, arg: inject(spec.arg, injection) }, true),
        ),
        { seed: fuzzSeed(0x5eed07), numRuns: accessorRuns.numRuns },
      );
    } finally {
      restoreSettings(saved);
    }
  }, accessorRuns.timeout);

  it("after the fuzzing, every fixture collection is consistent and still works", async () => {
    expect(getSettings().equals(initialSettings), "the global settings were not restored").toBe(true);
    expect(await shared.heartbeat()).toBeGreaterThan(0);
    for (const [key, col] of Object.entries(fixtures) as [Target, Collection][]) {
      const dim = DIMS[key];
      const all = await col.get({ include: ["embeddings", "documents", "metadatas"] as any });
      expect(await col.count(), `${key}: count() vs get()`).toBe(all.ids.length);
      expect(new Set(all.ids).size, `${key}: duplicate ids`).toBe(all.ids.length);
      for (const embedding of all.embeddings) {
        expect(embedding).toHaveLength(dim);
        expect(embedding.every((x) => Number.isFinite(x)), `${key}: a stored embedding is not finite`).toBe(true);
      }
      const id = uniqueName("post");
      const embedding = Array.from({ length: dim }, (_, d) => 0.125 * (d + 1));
      await col.add({ ids: [id], embeddings: [embedding], documents: ["post fuzz"], metadatas: [{ post: true }] });
      const got = await col.get({ ids: [id], include: ["embeddings", "documents", "metadatas"] as any });
      expect(got.ids).toEqual([id]);
      expect(got.embeddings[0]).toEqual(embedding);
      expect(got.documents[0]).toBe("post fuzz");
      expect(got.metadatas[0]).toEqual({ post: true });
      expect(await col.count()).toBe(all.ids.length + 1);
      const nearest = await col.query({ queryEmbeddings: [embedding], nResults: 1, where: { post: true } });
      expect(nearest.ids).toEqual([[id]]);
      expect(await col.delete({ ids: [id] })).toEqual({ deleted: 1 });
      expect(await col.count()).toBe(all.ids.length);
    }
  });
});

// =================================================================================================================
// Sandboxed groups: a child process runs the cases; a crash or a stuck JS thread is recorded, not suffered
// =================================================================================================================

const DIST_URL = new URL("../dist/index.js", import.meta.url).href;
/** A case that takes longer is a hang: a correct implementation answers these in milliseconds. */
const SANDBOX_CASE_TIMEOUT_MS = Number(process.env.CHROMALITE_SANDBOX_TIMEOUT_MS) || 3_000;
/** A group stops after this many failures (each hang costs the case timeout); CHROMALITE_SANDBOX_MAX_FAILURES overrides. */
const sandboxMaxFailures = (fallback: number): number => Number(process.env.CHROMALITE_SANDBOX_MAX_FAILURES) || fallback;
const SANDBOX_SETUP_TIMEOUT_MS = 60_000;

/** The child: runs cases[start..] in order, printing "S i" before and "R i status detail" after each. */
const CHILD_SOURCE = String.raw`
import { readFileSync } from "node:fs";
const [distUrl, casesPath, startText] = process.argv.slice(1);
const c = await import(distUrl);
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const start = Number(startText);
const say = (line) => process.stdout.write(line + "\n");
const num = (text) => Number(text);
let counter = 0;
const fresh = (prefix) => prefix + "-" + process.pid + "-" + ++counter;
function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}
async function populate(col, n, dim, seed) {
  const random = lcg(seed);
  for (let offset = 0; offset < n; offset += 1000) {
    const ids = [], embeddings = [], metadatas = [], documents = [];
    for (let i = offset; i < Math.min(n, offset + 1000); i++) {
      ids.push("r" + i);
      embeddings.push(Array.from({ length: dim }, () => random() * 2 - 1));
      metadatas.push({ k: i });
      documents.push("doc " + i);
    }
    await col.add({ ids, embeddings, metadatas, documents });
  }
}
const client = c.EphemeralClient();
const admin = c.AdminClient();
const colA = await client.createCollection({ name: fresh("sbx-a"), embeddingFunction: null });
await populate(colA, 5, 3, 1);
const colG = cases.slice(start).some((d) => d.col === "G")
  ? await client.createCollection({ name: fresh("sbx-g"), embeddingFunction: null })
  : null;
if (colG) await populate(colG, 2100, 4, 2);
const cols = { A: colA, G: colG };
const vec = (key) => (key === "G" ? [0.1, 0.2, 0.3, 0.4] : [0.1, 0.2, 0.3]);
const tolerate = (e) => {
  if (!(e instanceof c.ChromaError)) throw e;
};
function sparse(d, value) {
  const a = new Array(num(d.length));
  if (d.fill === "first") a[0] = value;
  if (d.fill === "last") a[a.length - 1] = value;
  return a;
}
function dag(d, leaf) {
  let node = leaf;
  for (let i = 0; i < d.depth; i++) node = { [d.op]: new Array(d.width).fill(node) };
  return node;
}
const numeric = {
  "query": (d) => cols[d.col].query({ queryEmbeddings: [vec(d.col)], nResults: num(d.n) }),
  "query-where": (d) => cols[d.col].query({ queryEmbeddings: [vec(d.col)], nResults: num(d.n), where: { k: { $gte: 0 } } }),
  "query-ids": (d) => cols[d.col].query({ queryEmbeddings: [vec(d.col)], nResults: num(d.n), ids: ["r0", "r1", "r2"] }),
  "get": (d) => cols[d.col].get({ limit: num(d.limit), offset: num(d.offset) }),
  "peek": (d) => cols[d.col].peek({ limit: num(d.limit) }),
  "delete-where": (d) => colA.delete({ where: { k: { $lt: -1 } }, limit: num(d.limit) }),
  "listCollections": (d) => client.listCollections({ limit: num(d.limit), offset: num(d.offset) }),
  "listTenants": (d) => admin.listTenants({ limit: num(d.limit), offset: num(d.offset) }),
  "listDatabases": (d) => admin.listDatabases({ limit: num(d.limit), offset: num(d.offset) }),
  "modify-ef-search": async (d) => {
    try {
      await colG.modify({ configuration: { hnsw: { ef_search: num(d.n) } } });
    } catch (e) {
      return tolerate(e);
    }
    try {
      await colG.query({ queryEmbeddings: [vec("G")], nResults: 5 });
    } finally {
      await colG.modify({ configuration: { hnsw: { ef_search: 100 } } });
    }
  },
  "create-hnsw": async (d) => {
    let col;
    try {
      col = await client.createCollection({ name: fresh("sbx-h"), configuration: { hnsw: { [d.param]: num(d.n) } }, embeddingFunction: null });
    } catch (e) {
      return tolerate(e);
    }
    try {
      await populate(col, 2100, 4, 3);
      await col.query({ queryEmbeddings: [vec("G")], nResults: 3 });
    } finally {
      await client.deleteCollection({ name: col.name });
    }
  },
};
const sparseTargets = {
  "get.ids": (d) => colA.get({ ids: sparse(d, "r0") }),
  "delete.ids": (d) => colA.delete({ ids: sparse(d, "nope") }),
  "add.ids": (d) => colA.add({ ids: sparse(d, "zz"), embeddings: [[1, 2, 3]] }),
  "upsert.ids": (d) => colA.upsert({ ids: sparse(d, "zz"), embeddings: [[1, 2, 3]] }),
  "update.ids": (d) => colA.update({ ids: sparse(d, "zz"), documents: ["x"] }),
  "query.ids": (d) => colA.query({ queryEmbeddings: [[1, 2, 3]], ids: sparse(d, "r0") }),
  "add.embeddings": (d) => colA.add({ ids: ["zz"], embeddings: sparse(d, [1, 2, 3]) }),
  "add.embedding-row": (d) => colA.add({ ids: ["zz"], embeddings: [sparse(d, 1)] }),
  "add.metadatas": (d) => colA.add({ ids: ["zz"], embeddings: [[1, 2, 3]], metadatas: sparse(d, { k: 1 }) }),
  "add.documents": (d) => colA.add({ ids: ["zz"], embeddings: [[1, 2, 3]], documents: sparse(d, "x") }),
  "add.uris": (d) => colA.add({ ids: ["zz"], embeddings: [[1, 2, 3]], uris: sparse(d, "x") }),
  "add.metadata-list-value": (d) => colA.add({ ids: ["zz"], embeddings: [[1, 2, 3]], metadatas: [{ l: sparse(d, 1) }] }),
  "query.queryEmbeddings": (d) => colA.query({ queryEmbeddings: sparse(d, [1, 2, 3]) }),
  "query.embedding-row": (d) => colA.query({ queryEmbeddings: [sparse(d, 1)] }),
  "query.queryTexts": (d) => colA.query({ queryTexts: sparse(d, "x") }),
  "get.include": (d) => colA.get({ include: sparse(d, "documents") }),
  "query.include": (d) => colA.query({ queryEmbeddings: [[1, 2, 3]], include: sparse(d, "documents") }),
  "where.$in": (d) => colA.get({ where: { k: { $in: sparse(d, 1) } } }),
  "where.$nin": (d) => colA.get({ where: { k: { $nin: sparse(d, 1) } } }),
  "where.$and": (d) => colA.get({ where: { $and: sparse(d, { k: 1 }) } }),
  "where.$or": (d) => colA.get({ where: { $or: sparse(d, { k: 1 }) } }),
  "whereDocument.$and": (d) => colA.get({ whereDocument: { $and: sparse(d, { $contains: "doc" }) } }),
  "whereDocument.$or": (d) => colA.get({ whereDocument: { $or: sparse(d, { $contains: "doc" }) } }),
  "modify.metadata-list-value": (d) => colA.modify({ metadata: { l: sparse(d, 1) } }),
  "createCollection.metadata-list-value": (d) => client.createCollection({ name: fresh("sbx-s"), metadata: { l: sparse(d, 1) } }),
  "client.getCollections": (d) => client.getCollections(sparse(d, "abc")),
  "Settings.chromaServerCorsAllowOrigins": async (d) => new c.Settings({ chromaServerCorsAllowOrigins: sparse(d, "x") }),
  "Settings(array)": async (d) => new c.Settings(sparse(d, 1)),
};
const dagTargets = {
  "get.where": (d) => colA.get({ where: dag(d, { k: { $gte: 0 } }) }),
  "query.where": (d) => colA.query({ queryEmbeddings: [[1, 2, 3]], where: dag(d, { k: { $gte: 0 } }) }),
  "delete.where": (d) => colA.delete({ where: dag(d, { k: { $lt: -1 } }) }),
  "get.where-#document": (d) => colA.get({ where: dag(d, { "#document": { $contains: "doc" } }) }),
  "get.whereDocument": (d) => colA.get({ whereDocument: dag(d, { $contains: "doc" }) }),
  "query.whereDocument": (d) => colA.query({ queryEmbeddings: [[1, 2, 3]], whereDocument: dag(d, { $contains: "doc" }) }),
  "delete.whereDocument": (d) => colA.delete({ whereDocument: dag(d, { $contains: "nothing-matches" }) }),
};
const run = {
  numeric: (d) => numeric[d.method](d),
  sparse: (d) => sparseTargets[d.target](d),
  dag: (d) => dagTargets[d.target](d),
};
say("READY");
for (let i = start; i < cases.length; i++) {
  say("S " + i);
  let status = "ok";
  let detail = "";
  try {
    await run[cases[i].kind](cases[i]);
  } catch (e) {
    const chroma = e instanceof c.ChromaError && typeof e.message === "string" && e.message.length > 0;
    status = chroma ? "chroma" : "raw";
    try {
      detail = ((e && e.constructor && e.constructor.name) || typeof e) + ": " + String(e && e.message !== undefined ? e.message : e);
    } catch {
      detail = "unprintable";
    }
  }
  say("R " + i + " " + status + " " + JSON.stringify(detail.slice(0, 400)));
}
await client.close();
await admin.close();
say("END");
`;

interface SandboxCase {
  kind: "numeric" | "sparse" | "dag";
  timeoutMs?: number;
  [key: string]: unknown;
}
interface SandboxFailure {
  index: number;
  status: string;
  detail: string;
}

/** Runs one child from `start`; resolves with where to continue and the failure that stopped it, if any. */
function runChild(
  casesPath: string,
  cases: SandboxCase[],
  start: number,
  onResult: (index: number, status: string, detail: string) => boolean,
): Promise<{ next: number; failure?: SandboxFailure }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD_SOURCE, "--", DIST_URL, casesPath, String(start)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let current = -1;
    let lastDone = start - 1;
    let hung = false;
    let stopped = false;
    let ended = false;
    let stdout = "";
    let stderr = "";
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        hung = true;
        child.kill("SIGKILL");
      }, ms);
    };
    arm(SANDBOX_SETUP_TIMEOUT_MS);
    const handle = (line: string) => {
      if (line.startsWith("S ")) {
        current = Number(line.slice(2));
        arm(cases[current]?.timeoutMs ?? SANDBOX_CASE_TIMEOUT_MS);
      } else if (line.startsWith("R ")) {
        const match = /^R (\d+) (\w+) (.*)$/.exec(line)!;
        const index = Number(match[1]);
        current = -1;
        lastDone = index;
        arm(SANDBOX_SETUP_TIMEOUT_MS);
        if (!onResult(index, match[2], JSON.parse(match[3]))) {
          stopped = true;
          child.kill("SIGKILL");
        }
      } else if (line === "END") {
        ended = true;
      }
    };
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      let newline: number;
      while ((newline = stdout.indexOf("\n")) >= 0) {
        const line = stdout.slice(0, newline);
        stdout = stdout.slice(newline + 1);
        handle(line);
      }
    });
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-6000);
    });
    child.on("error", (error) => {
      clearTimeout(watchdog);
      fail(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(watchdog);
      if (ended || stopped) return done({ next: cases.length });
      if (current < 0) {
        return fail(new Error(`sandbox child died outside a case (after case ${lastDone}): code ${code}, signal ${signal}\n${stderr}`));
      }
      const detail = hung
        ? `no result within ${cases[current].timeoutMs ?? SANDBOX_CASE_TIMEOUT_MS} ms (the JS thread was blocked or the call never settled)`
        : `the process died: exit code ${code}, signal ${signal}; stderr: ${stderr.trim().split("\n").slice(0, 12).join("\n")}`;
      done({ next: current + 1, failure: { index: current, status: hung ? "hang" : "crash", detail } });
    });
  });
}

/** Runs every case (restarting after a crash or hang) until the end or `maxFailures` failures. */
async function runSandboxed(name: string, cases: SandboxCase[], seed: number, maxFailures: number): Promise<void> {
  const casesPath = join(tmpRoot, `${name}-cases.json`);
  writeFileSync(casesPath, JSON.stringify(cases));
  const failures: SandboxFailure[] = [];
  let start = 0;
  let results = 0;
  while (start < cases.length && failures.length < maxFailures) {
    const { next, failure } = await runChild(casesPath, cases, start, (index, status, detail) => {
      results += 1;
      if (status === "raw") failures.push({ index, status: "raw error", detail });
      return failures.length < maxFailures;
    });
    if (failure) failures.push(failure);
    start = next;
  }
  const report = failures.map(
    (f) => `case #${f.index} ${JSON.stringify(cases[f.index])} → ${f.status}: ${f.detail}`,
  );
  expect(
    report,
    `${name} (seed ${seed}; ${results} of ${cases.length} cases reported${failures.length >= maxFailures ? `, stopped after ${maxFailures} failures` : ""})`,
  ).toEqual([]);
}

const numText = (n: number): string => (Object.is(n, -0) ? "-0" : String(n));
const EXTREME_COUNTS = [
  0, -0, 1, -1, 0.5, 7, 2 ** 16, 2 ** 24, 1e8, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 3e9, 2 ** 53 - 1, 2 ** 53,
  2 ** 63, 2 ** 64, 1e300, Number.MAX_VALUE, Infinity, -Infinity, NaN, Number.MIN_VALUE,
];
const countTextArb = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...EXTREME_COUNTS) },
    { weight: 1, arbitrary: fc.integer({ min: 2 ** 20, max: 2 ** 32 + 16 }) },
    { weight: 1, arbitrary: fc.double() },
  )
  .map(numText);
const numericCaseArb: fc.Arbitrary<SandboxCase> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constantFrom("query", "query-where", "query-ids"), col: fc.constantFrom("A", "G"), n: countTextArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constant("get"), col: fc.constantFrom("A", "G"), limit: countTextArb, offset: countTextArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constant("peek"), col: fc.constantFrom("A", "G"), limit: countTextArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constant("delete-where"), limit: countTextArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constantFrom("listCollections", "listTenants", "listDatabases"), limit: countTextArb, offset: countTextArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("numeric" as const), method: fc.constant("modify-ef-search"), col: fc.constant("G"), n: countTextArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("numeric" as const),
      method: fc.constant("create-hnsw"),
      param: fc.constantFrom("ef_construction", "ef_search", "max_neighbors", "batch_size", "sync_threshold", "num_threads", "resize_factor"),
      n: countTextArb,
      timeoutMs: fc.constant(30_000),
    }),
  },
);

/** One target per code path first, so that the first failures reported are distinct. */
const SPARSE_TARGETS = [
  "get.ids", "where.$in", "add.metadata-list-value", "client.getCollections", "Settings.chromaServerCorsAllowOrigins",
  "delete.ids", "add.ids", "upsert.ids", "update.ids", "query.ids", "add.embeddings", "add.embedding-row",
  "add.metadatas", "add.documents", "add.uris", "query.queryEmbeddings", "query.embedding-row", "query.queryTexts",
  "get.include", "query.include", "where.$nin", "where.$and", "where.$or", "whereDocument.$and", "whereDocument.$or",
  "modify.metadata-list-value", "createCollection.metadata-list-value", "Settings(array)",
];
const DAG_TARGETS = ["get.where", "query.where", "delete.where", "get.where-#document", "get.whereDocument", "query.whereDocument", "delete.whereDocument"];

describe("hostile input that could abort the process or block its JS thread (sandboxed in a child process)", () => {
  const numericSeed = fuzzSeed(0x5eed08);
  it("extreme counts: nResults, limit, offset and HNSW parameters from 0 to 2^64, NaN and ±Infinity", async () => {
    // One case per code path first (exact search, graph search after a huge ef_search, graph construction), then samples.
    const first: SandboxCase[] = [
      { kind: "numeric", method: "query", col: "A", n: String(2 ** 32 - 1) },
      { kind: "numeric", method: "modify-ef-search", col: "G", n: String(2 ** 32 - 1) },
      { kind: "numeric", method: "create-hnsw", param: "ef_construction", n: String(2 ** 32 - 1), timeoutMs: 30_000 },
    ];
    const cases = [...first, ...fc.sample(numericCaseArb, { seed: numericSeed, numRuns: Number(process.env.CHROMALITE_SANDBOX_CASES) || 48 })];
    await runSandboxed("extreme-counts", cases, numericSeed, sandboxMaxFailures(3));
  }, 180_000);

  const sparseSeed = fuzzSeed(0x5eed09);
  it(`sparse arrays of length 2^31 and 2^32 - 1 in every list-valued parameter (${SPARSE_TARGETS.length} targets)`, async () => {
    const shapes = fc.sample(fc.record({ length: fc.constantFrom("4294967295", "2147483648"), fill: fc.constantFrom("none", "first", "last") }), {
      seed: sparseSeed,
      numRuns: SPARSE_TARGETS.length,
    });
    const cases: SandboxCase[] = SPARSE_TARGETS.map((target, i) => ({ kind: "sparse", target, ...shapes[i] }));
    await runSandboxed("huge-sparse-arrays", cases, sparseSeed, sandboxMaxFailures(3));
  }, 180_000);

  const dagSeed = fuzzSeed(0x5eed0a);
  it(`filters that share sub-filters (a DAG whose tree is exponentially large) are refused promptly (${DAG_TARGETS.length} targets)`, async () => {
    const shapes = fc.sample(fc.record({ op: fc.constantFrom("$and", "$or"), depth: fc.constantFrom(24, 32, 48, 63), width: fc.constantFrom(2, 3) }), {
      seed: dagSeed,
      numRuns: DAG_TARGETS.length,
    });
    const cases: SandboxCase[] = DAG_TARGETS.map((target, i) => ({ kind: "dag", target, ...shapes[i] }));
    await runSandboxed("shared-subfilters", cases, dagSeed, sandboxMaxFailures(2));
  }, 180_000);
});
