/**
 * The contract between the TypeScript layer and the native addon (`crates/node-binding`).
 *
 * Requests and responses are JSON strings shaped like Chroma's HTTP API v2 bodies (snake_case), so the
 * embedded and the HTTP transports share one request builder. Embeddings never travel as JSON: they cross
 * as one flat Float32Array plus a dimension. Every method runs on a worker thread and returns a Promise.
 *
 * Native errors are plain `Error`s whose message starts with a bracketed code, e.g.
 * `[NotFound] Collection [x] does not exist`. Codes: InvalidArgument, NotFound, AlreadyExists,
 * PermissionDenied, Corrupted, Closed, Internal. `errors.ts` is the one place that maps them to classes.
 */
import { createRequire } from "node:module";

/** `{id, name, configuration_json, metadata, dimension, tenant, database, log_position, version}` as JSON. */
export type CollectionModelJson = string;

export interface NativeGetResult {
  /** `{ids: string[], documents: (string|null)[]|null, uris: ..|null, metadatas: (object|null)[]|null, include: string[]}` */
  json: string;
  /** Row-major, `ids.length * dimension` floats, present when "embeddings" was included. */
  embeddings: Float32Array | null;
  dimension: number;
}

export interface NativeQueryResult {
  /** Same keys as the get JSON but each value is a list per query embedding. */
  json: string;
  /** All result embeddings of all queries, row-major, in result order; present when included. */
  embeddings: Float32Array | null;
  /** All distances of all queries, in result order; present when "distances" was included. */
  distances: Float32Array | null;
  dimension: number;
}

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
  /** request: `{ids?, where?, where_document?, n_results, include}`; queries: `n * dimension` floats. */
  query(collectionId: string, requestJson: string, queries: Float32Array, dimension: number): Promise<NativeQueryResult>;

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

/** Loads the compiled addon once, on first use. */
export function loadNative(): NativeBinding {
  if (!binding) {
    const require = createRequire(import.meta.url);
    binding = require("../native/index.cjs") as NativeBinding;
  }
  return binding;
}
