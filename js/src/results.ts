/**
 * The result classes of `get` and `query`, shaped as in the official client: column arrays aligned with `ids`,
 * empty arrays for fields that were not included, and a `rows()` helper for record-by-record iteration.
 */
import type { GetResponse, QueryResponse } from "./api.js";
import type { Include, Metadata } from "./types.js";

/** One record of a {@link GetResult}; fields not included are `undefined`. */
export interface GetRowRecord<TMeta extends Metadata = Metadata> {
  id: string;
  document?: string | null;
  embedding?: number[];
  metadata?: TMeta | null;
  uri?: string | null;
}

/** One match of a {@link QueryResult}; fields not included are `undefined`. */
export interface QueryRowRecord<TMeta extends Metadata = Metadata> extends GetRowRecord<TMeta> {
  distance?: number;
}

/** A query result in row form: one list of matches per query. */
export interface QueryRowResult<TMeta extends Metadata = Metadata> {
  include: Include[];
  queries: QueryRowRecord<TMeta>[][];
}

/** Records returned by `get` / `peek`, in insertion order. */
export class GetResult<TMeta extends Metadata = Metadata> {
  /** Record ids. */
  public readonly ids: string[];
  /** Documents (`null` where a record has none); `[]` unless included. */
  public readonly documents: (string | null)[];
  /** Embeddings; `[]` unless included. */
  public readonly embeddings: number[][];
  /** Metadata (`null` where a record has none); `[]` unless included. */
  public readonly metadatas: (TMeta | null)[];
  /** URIs (`null` where a record has none); `[]` unless included. */
  public readonly uris: (string | null)[];
  /** The fields that were requested. */
  public readonly include: Include[];

  constructor(data: {
    ids: string[];
    documents: (string | null)[];
    embeddings: number[][];
    metadatas: (TMeta | null)[];
    uris: (string | null)[];
    include: Include[];
  }) {
    this.ids = data.ids;
    this.documents = data.documents;
    this.embeddings = data.embeddings;
    this.metadatas = data.metadatas;
    this.uris = data.uris;
    this.include = data.include;
  }

  /** The same records as one object per record. */
  public rows(): { include: Include[]; records: GetRowRecord<TMeta>[] } {
    const has = (field: Include) => this.include.includes(field);
    return {
      include: this.include,
      records: this.ids.map((id, index) => ({
        id,
        document: has("documents") ? this.documents[index] : undefined,
        embedding: has("embeddings") ? this.embeddings[index] : undefined,
        metadata: has("metadatas") ? this.metadatas[index] : undefined,
        uri: has("uris") ? this.uris[index] : undefined,
      })),
    };
  }
}

/** Nearest neighbours returned by `query`: one inner list per query, nearest first. */
export class QueryResult<TMeta extends Metadata = Metadata> {
  /** Matched ids per query. */
  public readonly ids: string[][];
  /** Distances per query; `[]` unless included. */
  public readonly distances: number[][];
  /** Documents per query; `[]` unless included. */
  public readonly documents: (string | null)[][];
  /** Embeddings per query; `[]` unless included. */
  public readonly embeddings: number[][][];
  /** Metadata per query; `[]` unless included. */
  public readonly metadatas: (TMeta | null)[][];
  /** URIs per query; `[]` unless included. */
  public readonly uris: (string | null)[][];
  /** The fields that were requested. */
  public readonly include: Include[];

  constructor(data: {
    ids: string[][];
    distances: number[][];
    documents: (string | null)[][];
    embeddings: number[][][];
    metadatas: (TMeta | null)[][];
    uris: (string | null)[][];
    include: Include[];
  }) {
    this.ids = data.ids;
    this.distances = data.distances;
    this.documents = data.documents;
    this.embeddings = data.embeddings;
    this.metadatas = data.metadatas;
    this.uris = data.uris;
    this.include = data.include;
  }

  /** The same matches as one object per match, grouped by query. */
  public rows(): QueryRowResult<TMeta> {
    const has = (field: Include) => this.include.includes(field);
    return {
      include: this.include,
      queries: this.ids.map((ids, query) =>
        ids.map((id, index) => ({
          id,
          document: has("documents") ? this.documents[query][index] : undefined,
          embedding: has("embeddings") ? this.embeddings[query][index] : undefined,
          metadata: has("metadatas") ? this.metadatas[query][index] : undefined,
          uri: has("uris") ? this.uris[query][index] : undefined,
          distance: has("distances") ? this.distances[query][index] : undefined,
        })),
      ),
    };
  }
}

/** Builds a {@link GetResult} from a backend response, with `[]` for fields not included. */
export function toGetResult<TMeta extends Metadata>(response: GetResponse): GetResult<TMeta> {
  return new GetResult<TMeta>({
    ids: response.ids,
    documents: response.documents ?? [],
    embeddings: response.embeddings ?? [],
    metadatas: (response.metadatas ?? []) as (TMeta | null)[],
    uris: response.uris ?? [],
    include: response.include,
  });
}

/** Builds a {@link QueryResult} from a backend response, with `[]` for fields not included. */
export function toQueryResult<TMeta extends Metadata>(response: QueryResponse): QueryResult<TMeta> {
  return new QueryResult<TMeta>({
    ids: response.ids,
    distances: response.distances ?? [],
    documents: response.documents ?? [],
    embeddings: response.embeddings ?? [],
    metadatas: (response.metadatas ?? []) as (TMeta | null)[][],
    uris: response.uris ?? [],
    include: response.include,
  });
}
