/**
 * Public types, named and shaped as in the official `chromadb` client (v3) so code typed against it compiles.
 * Wire shapes (snake_case) are those of Chroma's HTTP API v2.
 */

/** A scalar metadata value. Numbers with a fraction are floats; integral numbers are stored as ints. */
export type MetadataScalar = string | number | boolean;

/**
 * A metadata value: a scalar, a non-empty list of scalars of one type (Chroma 1.x), or `null`
 * (in `update` / `upsert`, `null` deletes the key).
 */
export type MetadataValue = MetadataScalar | string[] | number[] | boolean[] | null;

/** Metadata of one record. */
export type Metadata = Record<string, MetadataValue>;

/** Metadata of a collection. The legacy `hnsw:*` keys also configure its index when no configuration is given. */
export type CollectionMetadata = Record<string, MetadataValue>;

/** One embedding: an array of numbers or a `Float32Array` (stored as float32 either way). */
export type Embedding = number[] | Float32Array;

/** A literal compared against a metadata value. */
export type LiteralValue = string | number | boolean;

/** A single-operator comparison on one metadata key. */
export type OperatorExpression =
  | { $gt: LiteralValue }
  | { $gte: LiteralValue }
  | { $lt: LiteralValue }
  | { $lte: LiteralValue }
  | { $ne: LiteralValue }
  | { $eq: LiteralValue }
  | { $in: LiteralValue[] }
  | { $nin: LiteralValue[] }
  | { $contains: LiteralValue }
  | { $not_contains: LiteralValue }
  | { $regex: string }
  | { $not_regex: string };

/**
 * A metadata filter: `{key: literal}` (equality), `{key: {$op: operand}}`, or `$and` / `$or` over filters.
 * `$contains` / `$not_contains` on a metadata key test array membership; on `#document` they test substrings.
 */
export type Where = { $and: Where[] } | { $or: Where[] } | { [key: string]: LiteralValue | OperatorExpression };

/** A document filter: case-sensitive substring or regular-expression tests, combined with `$and` / `$or`. */
export type WhereDocument =
  | { $contains: string }
  | { $not_contains: string }
  | { $regex: string }
  | { $not_regex: string }
  | { $and: WhereDocument[] }
  | { $or: WhereDocument[] };

/** A field a read may return. `"distances"` is for `query` only. */
export type Include = "distances" | "documents" | "embeddings" | "metadatas" | "uris";

/** The values of {@link Include}, as an enum. */
export enum IncludeEnum {
  /** Distances to the query (query only). */
  distances = "distances",
  /** Document texts. */
  documents = "documents",
  /** Embeddings. */
  embeddings = "embeddings",
  /** Metadata. */
  metadatas = "metadatas",
  /** URIs. */
  uris = "uris",
}

/** A distance function: squared L2, cosine (1 − cosine similarity) or inner product (1 − a·b). */
export type EmbeddingFunctionSpace = "cosine" | "l2" | "ip";

/** Turns texts into embeddings. Implementations with `name` and `getConfig` are recorded in the collection. */
export interface EmbeddingFunction {
  /** Embeds documents. Must return one embedding per text. */
  generate(texts: string[]): Promise<number[][]>;
  /** Embeds query texts; `generate` is used when absent. */
  generateForQueries?(texts: string[]): Promise<number[][]>;
  /** Identifier recorded in the collection configuration (e.g. `"default"`, `"openai"`). */
  name?: string;
  /** The space collections created with this function use when none is configured. */
  defaultSpace?(): EmbeddingFunctionSpace;
  /** Spaces this function's embeddings are meant for. */
  supportedSpaces?(): EmbeddingFunctionSpace[];
  /** Configuration recorded with `name`, enough to rebuild the function (no secrets). */
  getConfig?(): Record<string, unknown>;
  /** Throws if changing to `newConfig` is not allowed. */
  validateConfigUpdate?(newConfig: Record<string, unknown>): void;
  /** Throws if `config` is not valid. */
  validateConfig?(config: Record<string, unknown>): void;
}

/** How a collection records its embedding function. */
export type EmbeddingFunctionConfiguration =
  | { type: "known"; name: string; config: Record<string, unknown> }
  | { type: "legacy" }
  | { type: "unknown" };

/** HNSW index parameters. `space`, `ef_construction` and `max_neighbors` are fixed at creation. */
export interface HNSWConfiguration {
  /** Distance function. Default `"l2"`. */
  space?: EmbeddingFunctionSpace;
  /** Candidate list size while building. Default 100. */
  ef_construction?: number;
  /** Candidate list size while searching. Default 100. */
  ef_search?: number;
  /** Links per node (M). Default 16. */
  max_neighbors?: number;
  /** Threads used to build. Default: available parallelism. */
  num_threads?: number;
  /** Growth factor when the index is full. Default 1.2. */
  resize_factor?: number;
  /** Writes between index persists. Default 1000, at least 2. */
  sync_threshold?: number;
  /** Write batch size (unused by the Rust engine). Default 100, at least 2. */
  batch_size?: number;
}

/** SPANN parameters (Chroma Cloud). Locally only `space` is kept, as an HNSW index. */
export interface SpannConfiguration {
  /** Distance function. */
  space?: EmbeddingFunctionSpace;
  /** Other SPANN parameters, e.g. `search_nprobe`. */
  [parameter: string]: number | string | undefined;
}

/** A collection's configuration as stored (`configuration_json`). */
export interface CollectionConfiguration {
  /** HNSW parameters. */
  hnsw?: HNSWConfiguration | null;
  /** SPANN parameters (always `null` locally). */
  spann?: SpannConfiguration | null;
  /** The recorded embedding function. */
  embedding_function?: EmbeddingFunctionConfiguration | null;
}

/** The configuration accepted by `createCollection` / `getOrCreateCollection`. */
export interface CreateCollectionConfiguration {
  /** HNSW parameters. */
  hnsw?: HNSWConfiguration;
  /** SPANN parameters; cannot be combined with `hnsw`. */
  spann?: SpannConfiguration;
  /** The embedding function, as an alternative to the `embeddingFunction` option. */
  embeddingFunction?: EmbeddingFunction;
}

/** HNSW parameters that `modify` may change. */
export interface UpdateHNSWConfiguration {
  /** Candidate list size while searching. */
  ef_search?: number;
  /** Threads used to build. */
  num_threads?: number;
  /** Growth factor when the index is full. */
  resize_factor?: number;
  /** Writes between index persists. */
  sync_threshold?: number;
  /** Write batch size. */
  batch_size?: number;
}

/** SPANN parameters that `modify` may change (Chroma Cloud; rejected locally). */
export interface UpdateSPANNConfiguration {
  /** Partitions probed while searching. */
  search_nprobe?: number;
  /** Candidate list size while searching. */
  ef_search?: number;
}

/** The configuration accepted by `collection.modify`. */
export interface UpdateCollectionConfiguration {
  /** HNSW changes. */
  hnsw?: UpdateHNSWConfiguration;
  /** SPANN changes. */
  spann?: UpdateSPANNConfiguration;
  /** A new embedding function for the collection. */
  embeddingFunction?: EmbeddingFunction;
}

/** A database, as returned by the admin client. */
export interface Database {
  /** UUID. */
  id: string;
  /** Name, unique within its tenant. */
  name: string;
  /** Owning tenant. */
  tenant: string;
}

/** What `collection.delete` returns. */
export interface DeleteResult {
  /** With only ids: how many ids were requested; with a filter: how many records matched. */
  deleted: number;
}

/** Who the client is. Locally: the default tenant and database, with an empty user id. */
export interface UserIdentity {
  /** User id (empty locally). */
  user_id: string;
  /** Tenant the identity belongs to. */
  tenant: string;
  /** Databases the identity may use. */
  databases: string[];
}
