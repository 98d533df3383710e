/**
 * The contract between the TypeScript layer and the native addon (`crates/node-binding`).
 *
 * Requests and responses are JSON strings shaped like Chroma's HTTP API v2 bodies (snake_case), so the
 * embedded and the HTTP transports share one request builder; `query`, the hot path, passes its options as
 * plain values and returns columns instead. Embeddings never travel as JSON: they cross
 * as one flat Float32Array plus a dimension. Every method runs on a worker thread and returns a Promise.
 *
 * Native errors are plain `Error`s whose message starts with a bracketed code, e.g.
 * `[NotFound] Collection [x] does not exist`. Codes: InvalidArgument, NotFound, AlreadyExists,
 * PermissionDenied, Corrupted, Closed, Internal. `errors.ts` is the one place that maps them to classes.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import { napi, version as PACKAGE_VERSION } from "../../package.json";

/** `{id, name, configuration_json, metadata, dimension, tenant, database, log_position, version}` as JSON. */
export type CollectionModelJson = string;

export interface NativeGetResult {
  /** `{ids: string[], documents: (string|null)[]|null, uris: ..|null, metadatas: (object|null)[]|null, include: string[]}` */
  json: string;
  /** Row-major, `ids.length * dimension` floats, present when "embeddings" was included. */
  embeddings: Float32Array | null;
  dimension: number;
}

/**
 * A query's results as flat columns, query after query: the first `counts[0]` entries of each column belong to
 * the first query embedding, the next `counts[1]` to the second, and so on. Columns not included are absent.
 */
export interface NativeQueryResult {
  ids: string[];
  /** Results per query embedding. */
  counts: number[];
  documents?: (string | null)[];
  uris?: (string | null)[];
  /** JSON array of `object | null`, one per result. */
  metadatas?: string;
  /** All result embeddings of all queries, row-major, in result order. */
  embeddings?: Float32Array;
  /** All distances of all queries, in result order. */
  distances?: Float32Array;
  dimension: number;
}

/** Bits of the `include` argument of {@link NativeEngine.query} (the engine's `Include::from_bits`). */
export const INCLUDE_BITS = { documents: 1, embeddings: 2, metadatas: 4, distances: 8, uris: 16 } as const;

export interface NativeEngine {
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  heartbeat(): string;
  createTenant(name: string): Promise<void>;
  /** Resolves with the tenant name, rejects NotFound. */
  getTenant(name: string): Promise<string>;
  /** Tenant names as a JSON array, ordered by name. `limit` null = no limit. */
  listTenants(limit: number | null, offset: number): Promise<string>;
  createDatabase(tenant: string, name: string): Promise<void>;
  /** `{id, name, tenant}` as JSON. */
  getDatabase(tenant: string, name: string): Promise<string>;
  /** `[{id, name, tenant}]` as JSON, ordered by name. `limit` null = no limit. */
  listDatabases(tenant: string, limit: number | null, offset: number): Promise<string>;
  deleteDatabase(tenant: string, name: string): Promise<void>;

  /** request: `{name, metadata?, configuration?, get_or_create}`. */
  createCollection(tenant: string, database: string, requestJson: string): Promise<CollectionModelJson>;
  getCollection(tenant: string, database: string, name: string): Promise<CollectionModelJson>;
  getCollectionById(collectionId: string): Promise<CollectionModelJson>;
  /** JSON array of collection models, ordered by id. */
  listCollections(tenant: string, database: string, limit: number | null, offset: number): Promise<string>;
  countCollections(tenant: string, database: string): Promise<number>;
  deleteCollection(tenant: string, database: string, name: string): Promise<void>;
  /** request: `{new_name?, new_metadata?, new_configuration?}`; resolves with the updated model. */
  modifyCollection(collectionId: string, requestJson: string): Promise<CollectionModelJson>;

  /**
   * request: `{ids, documents?, uris?, metadatas?}`; embeddings: `ids.length * dimension` floats or null
   * (null only for update, where embeddings stay unchanged).
   */
  add(collectionId: string, requestJson: string, embeddings: Float32Array | null, dimension: number): Promise<void>;
  upsert(collectionId: string, requestJson: string, embeddings: Float32Array | null, dimension: number): Promise<void>;
  update(collectionId: string, requestJson: string, embeddings: Float32Array | null, dimension: number): Promise<void>;
  /** request: `{ids?, where?, where_document?, limit?}`; resolves with the deleted count. */
  delete(collectionId: string, requestJson: string): Promise<number>;
  count(collectionId: string): Promise<number>;
  /** request: `{ids?, where?, where_document?, limit?, offset?, include}`. */
  get(collectionId: string, requestJson: string): Promise<NativeGetResult>;
  /**
   * filter: `{ids?, where?, where_document?}` as JSON, or null for none; include: {@link INCLUDE_BITS} or-ed;
   * queries: `n * dimension` floats. Query options cross as plain values, not JSON: this is the hot path.
   */
  query(
    collectionId: string,
    filterJson: string | null,
    nResults: number,
    include: number,
    queries: Float32Array,
    dimension: number,
  ): Promise<NativeQueryResult>;

  /** Drops everything and recreates the default tenant and database. The caller checks allowReset. */
  reset(): Promise<void>;
  /** Flushes and releases files; idempotent. Later calls reject with code Closed. */
  close(): Promise<void>;
}

export interface NativeBinding {
  NativeEngine: {
    /** `path` null = in memory. The TS layer shares one engine per path (client-registry.ts); the engine
     * itself refuses a second open of a path that is already open in this process. */
    open(path: string | null): Promise<NativeEngine>;
  };
  /** Version of the engine crate. */
  engineVersion(): string;
}

let binding: NativeBinding | undefined;

/**
 * Loads the compiled addon once, on first use.
 *
 * Where it looks, first hit wins:
 * 1. `CHROMALITE_NATIVE_PATH`, when set: that `.node` file and nothing else;
 * 2. `native/chromalite.<platform>.node` next to the package's `dist/`: a source build (`npm run build:native`);
 * 3. the platform package `chromalite-<platform>` (e.g. `chromalite-linux-x64-gnu`), installed by npm from the
 *    main package's `optionalDependencies`; its version must equal this package's version.
 * When nothing loads, throws one Error naming platform, arch, libc, every path/package tried and why it failed.
 */
export function loadNative(): NativeBinding {
  if (!binding) {
    binding = resolveNative();
  }
  return binding;
}

const BINARY_NAME: string = napi.binaryName;
const PACKAGE_NAME = "chromalite";

interface Attempt {
  what: string;
  error: string;
}

interface Libc {
  family: "glibc" | "musl" | "unknown";
  detail: string;
}

function resolveNative(): NativeBinding {
  const require = createRequire(import.meta.url);
  const attempts: Attempt[] = [];
  const errors: unknown[] = [];
  const libc = detectLibc();

  const override = process.env.CHROMALITE_NATIVE_PATH;
  if (override) {
    try {
      return require(override) as NativeBinding;
    } catch (error) {
      attempts.push({ what: `CHROMALITE_NATIVE_PATH=${override}`, error: describe(error) });
      errors.push(error);
    }
  } else {
    const nativeDir = fileURLToPath(new URL("../native/", import.meta.url));
    for (const abi of platformAbis(libc)) {
      const local = `${nativeDir}${BINARY_NAME}.${abi}.node`;
      if (existsSync(local)) {
        try {
          return require(local) as NativeBinding;
        } catch (error) {
          attempts.push({ what: `source build ${local}`, error: describe(error) });
          errors.push(error);
        }
      } else {
        attempts.push({ what: `source build ${local}`, error: "not found" });
      }

      const pkg = `${PACKAGE_NAME}-${abi}`;
      let pkgJson: string;
      try {
        pkgJson = require.resolve(`${pkg}/package.json`);
      } catch (error) {
        attempts.push({ what: `package ${pkg}@${PACKAGE_VERSION}`, error: `not installed (${describe(error)})` });
        errors.push(error);
        continue;
      }
      try {
        const installed = (JSON.parse(readFileSync(pkgJson, "utf8")) as { version?: string }).version;
        if (installed !== PACKAGE_VERSION) {
          throw new Error(
            `version mismatch: ${pkg}@${installed} is installed but chromalite@${PACKAGE_VERSION} needs exactly ${PACKAGE_VERSION}; reinstall chromalite`,
          );
        }
        return require(pkg) as NativeBinding;
      } catch (error) {
        attempts.push({ what: `package ${pkg} (${pkgJson})`, error: describe(error) });
        errors.push(error);
      }
    }
  }

  throw new Error(failureMessage(detectLibc(true), attempts), { cause: errors[errors.length - 1] });
}

/** The napi-rs platform names (`platformArchABI`) this process can load, most likely first. */
function platformAbis(libc: Libc): string[] {
  const { platform, arch } = process;
  switch (platform) {
    case "linux": {
      const [gnu, musl] = arch === "arm" ? ["gnueabihf", "musleabihf"] : ["gnu", "musl"];
      if (libc.family === "musl") return [`linux-${arch}-${musl}`];
      if (libc.family === "glibc") return [`linux-${arch}-${gnu}`];
      return [`linux-${arch}-${gnu}`, `linux-${arch}-${musl}`];
    }
    case "darwin":
      return [`darwin-${arch}`, "darwin-universal"];
    case "win32":
      return [`win32-${arch}-msvc`];
    default:
      return [`${platform}-${arch}`];
  }
}

/**
 * glibc or musl: from /usr/bin/ldd (cheap), else from Node's diagnostic report (a few ms). `withVersion`
 * (failure message only) also asks the report for the glibc version. Not Linux: "unknown", unused.
 */
function detectLibc(withVersion = false): Libc {
  if (process.platform !== "linux") return { family: "unknown", detail: "n/a" };
  let musl: boolean | undefined;
  try {
    const ldd = readFileSync("/usr/bin/ldd", "latin1");
    if (ldd.includes("musl")) musl = true;
    else if (ldd.includes("GNU C Library") || ldd.includes("GLIBC")) musl = false;
  } catch {
    // no ldd: ask the report
  }
  let glibcVersion: string | undefined;
  if (musl === undefined || (musl === false && withVersion)) {
    try {
      const report = process.report as unknown as { excludeNetwork?: boolean; getReport(): unknown };
      report.excludeNetwork = true;
      const { header, sharedObjects } = report.getReport() as {
        header?: { glibcVersionRuntime?: string };
        sharedObjects?: string[];
      };
      glibcVersion = header?.glibcVersionRuntime;
      if (musl === undefined) {
        if (glibcVersion) musl = false;
        else if (sharedObjects?.some((f) => f.includes("libc.musl-") || f.includes("ld-musl-"))) musl = true;
      }
    } catch {
      // report unavailable
    }
  }
  if (musl === true) return { family: "musl", detail: "musl" };
  if (musl === false) return { family: "glibc", detail: glibcVersion ? `glibc ${glibcVersion}` : "glibc" };
  return { family: "unknown", detail: "unknown (neither glibc nor musl detected)" };
}

/** The napi-rs platform name of a Rust target triple, e.g. x86_64-unknown-linux-gnu -> linux-x64-gnu. */
function tripleToAbi(triple: string): string {
  const [cpu, , sys, abi] = triple.split("-");
  const arch = ({ x86_64: "x64", aarch64: "arm64", i686: "ia32", armv7: "arm" } as Record<string, string>)[cpu ?? ""] ?? cpu;
  if (triple.includes("apple-darwin")) return `darwin-${arch}`;
  if (triple.includes("windows")) return `win32-${arch}-${abi ?? "msvc"}`;
  return `${sys}-${arch}${abi ? `-${abi}` : ""}`;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Drop Node's "Require stack:" tail: the attempt already says what was required from where.
  return message.split("\nRequire stack:")[0]!.trim().replace(/\s*\n\s*/g, " ");
}

function failureMessage(libc: Libc, attempts: Attempt[]): string {
  const { platform, arch } = process;
  const supported = (napi.targets as string[]).map(tripleToAbi);
  const wanted = platformAbis(libc).map((abi) => `${PACKAGE_NAME}-${abi}`);
  const prebuilt = platformAbis(libc).some((abi) => supported.includes(abi));
  const lines = [
    `chromalite: cannot load its native addon (${BINARY_NAME}.*.node).`,
    `  platform: ${platform}, arch: ${arch}, libc: ${libc.detail}, node: ${process.version} (N-API ${process.versions.napi ?? "?"})`,
    `  expected platform package: ${wanted.map((name) => `${name}@${PACKAGE_VERSION}`).join(" or ")}`,
    `  tried:`,
    ...attempts.map((attempt, i) => `    ${i + 1}. ${attempt.what}: ${attempt.error}`),
    `  prebuilt platforms: ${supported.join(", ")}`,
    process.env.CHROMALITE_NATIVE_PATH
      ? `  fix: CHROMALITE_NATIVE_PATH is set, so nothing else was tried: point it at a compiled ${BINARY_NAME}.*.node, or unset it`
      : prebuilt
      ? `  fix: the prebuilt binary is installed with chromalite as an optional dependency: reinstall without --omit=optional / --no-optional, and do not copy node_modules between OSes, CPUs or libcs (npm install chromalite@${PACKAGE_VERSION})`
      : `  fix: there is no prebuilt binary for ${platform}-${arch}${platform === "linux" ? ` (${libc.detail})` : ""}; build from source with a Rust toolchain (git clone, then npm install), or point CHROMALITE_NATIVE_PATH at a compiled ${BINARY_NAME}.node`,
  ];
  return lines.join("\n");
}
