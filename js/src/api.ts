/**
 * The transport under the client: everything `ChromaClient`, `AdminClient` and `Collection` ask of a Chroma
 * backend. Requests and responses use Chroma's HTTP API v2 body shapes (snake_case), except embeddings, which
 * travel as one flat `Float32Array` so that neither JSON nor per-row arrays sit on the hot path.
 *
 * `EmbeddedApi` implements it over the native engine; an HTTP implementation can be added beside it without
 * touching the client or the collection. Internal: not exported from the package.
 */
import type {
  CollectionConfiguration,
  CollectionMetadata,
  Database,
  EmbeddingFunctionConfiguration,
  HNSWConfiguration,
  Include,
  Metadata,
  SpannConfiguration,
  UpdateHNSWConfiguration,
  UpdateSPANNConfiguration,
  UserIdentity,
  Where,
  WhereDocument,
} from "./types.js";

/** Embeddings packed row-major: `data.length === rows * dimension`. */
export interface EmbeddingMatrix {
  data: Float32Array;
  dimension: number;
}

/** A collection as the backend describes it. */
export interface CollectionModel {
  id: string;
  name: string;
  configuration_json: CollectionConfiguration;
  metadata: CollectionMetadata | null;
  dimension: number | null;
  tenant: string;
  database: string;
  log_position: number;
  version: number;
}

/** Where a collection lives: HTTP routes need all three, the embedded engine only the id. */
export interface CollectionRef {
  tenant: string;
  database: string;
  id: string;
}

/** The `configuration` of a create request. */
export interface ConfigurationRequest {
  hnsw?: HNSWConfiguration;
  spann?: SpannConfiguration;
  embedding_function?: EmbeddingFunctionConfiguration;
}

export interface CreateCollectionRequest {
  name: string;
  metadata?: CollectionMetadata;
  configuration?: ConfigurationRequest;
  get_or_create: boolean;
}

export interface ModifyCollectionRequest {
  new_name?: string;
  new_metadata?: CollectionMetadata;
  new_configuration?: {
    hnsw?: UpdateHNSWConfiguration;
    spann?: UpdateSPANNConfiguration;
    embedding_function?: EmbeddingFunctionConfiguration;
  };
}

/** The columns of add / upsert / update; embeddings go beside it. */
export interface RecordsRequest {
  ids: string[];
  documents?: (string | null)[];
  uris?: (string | null)[];
  metadatas?: (Metadata | null)[];
}

export interface FilterRequest {
  ids?: string[];
  where?: Where;
  where_document?: WhereDocument;
}

export interface GetRequest extends FilterRequest {
  limit?: number;
  offset?: number;
  include: Include[];
}

export interface QueryRequest extends FilterRequest {
  n_results: number;
  include: Include[];
}

export interface DeleteRequest extends FilterRequest {
  limit?: number;
}

/** Fields not included are `null`; included ones are aligned with `ids`. */
export interface GetResponse {
  ids: string[];
  embeddings: number[][] | null;
  documents: (string | null)[] | null;
  uris: (string | null)[] | null;
  metadatas: (Metadata | null)[] | null;
  include: Include[];
}

/** As {@link GetResponse}, with one inner list per query, nearest first. */
export interface QueryResponse {
  ids: string[][];
  embeddings: number[][][] | null;
  documents: (string | null)[][] | null;
  uris: (string | null)[][] | null;
  metadatas: (Metadata | null)[][] | null;
  distances: number[][] | null;
  include: Include[];
}

/** A Chroma backend. Every failure rejects with a `ChromaError` subclass. */
export interface ChromaApi {
  /** Nanoseconds since the epoch. */
  heartbeat(): Promise<number>;
  /** The backend's version string. */
  version(): Promise<string>;
  /** Largest number of records one write may carry. */
  maxBatchSize(): Promise<number>;
  /** The caller's identity (tenant and databases it may use). */
  userIdentity(): Promise<UserIdentity>;
  /** Drops everything and recreates the default tenant and database. The caller checks `allowReset`. */
  reset(): Promise<void>;
  /** Releases the backend; idempotent. */
  close(): Promise<void>;

  createTenant(name: string): Promise<void>;
  /** Resolves with the tenant's name. */
  getTenant(name: string): Promise<string>;
  /** Tenant names ordered by name. */
  listTenants(limit: number | undefined, offset: number): Promise<string[]>;
  createDatabase(tenant: string, name: string): Promise<void>;
  getDatabase(tenant: string, name: string): Promise<Database>;
  listDatabases(tenant: string, limit: number | undefined, offset: number): Promise<Database[]>;
  deleteDatabase(tenant: string, name: string): Promise<void>;

  createCollection(tenant: string, database: string, request: CreateCollectionRequest): Promise<CollectionModel>;
  getCollection(tenant: string, database: string, name: string): Promise<CollectionModel>;
  getCollectionById(tenant: string, database: string, id: string): Promise<CollectionModel>;
  listCollections(tenant: string, database: string, limit: number | undefined, offset: number): Promise<CollectionModel[]>;
  countCollections(tenant: string, database: string): Promise<number>;
  deleteCollection(tenant: string, database: string, name: string): Promise<void>;
  /** Resolves with the collection as it is after the change. */
  modifyCollection(collection: CollectionRef, request: ModifyCollectionRequest): Promise<CollectionModel>;
  forkCollection(collection: CollectionRef, newName: string): Promise<CollectionModel>;
  forkCount(collection: CollectionRef): Promise<number>;

  /** `embeddings` has one row per id. */
  add(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void>;
  upsert(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void>;
  /** `embeddings` null leaves the stored embeddings unchanged. */
  update(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix | null): Promise<void>;
  /** Resolves with the deleted count. */
  delete(collection: CollectionRef, request: DeleteRequest): Promise<number>;
  count(collection: CollectionRef): Promise<number>;
  get(collection: CollectionRef, request: GetRequest): Promise<GetResponse>;
  /** `queries` has one row per query. */
  query(collection: CollectionRef, request: QueryRequest, queries: EmbeddingMatrix): Promise<QueryResponse>;
}
