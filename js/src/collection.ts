/**
 * A collection: records (id, embedding, document, metadata, uri) with an index for nearest-neighbour search.
 * Methods, options and results are those of the official `chromadb` client's `Collection`.
 */
import type { ChromaApi, CollectionModel, CollectionRef, EmbeddingMatrix, GetRequest, QueryRequest } from "./api.js";
import { buildUpdateConfiguration, embeddingFunctionFor, readUpdateConfiguration } from "./collection-configuration.js";
import { ChromaValueError, guardMethods } from "./errors.js";
import { GetResult, QueryResult, toGetResult, toQueryResult } from "./results.js";
import type {
  CollectionConfiguration,
  CollectionMetadata,
  DeleteResult,
  Embedding,
  EmbeddingFunction,
  Include,
  Metadata,
  UpdateCollectionConfiguration,
  Where,
  WhereDocument,
} from "./types.js";
import {
  callEmbeddingFunction,
  embeddingFunctionResults,
  hasEmbeddingFunctionMethod,
  packEmbeddings,
  readArguments,
  requireString,
  optionalString,
  validateBatchSize,
  validateCount,
  validateIds,
  validateInclude,
  validateMetadata,
  validateNResults,
  validateQueryTexts,
  validateRecordSet,
  validateWhere,
  validateWhereDocument,
} from "./validation.js";

/** How a collection reaches its backend: through its client, which checks that it is open and ready. @internal */
export interface CollectionContext {
  connect(): Promise<ChromaApi>;
}

/** The records of `add`, `upsert` and `update`: one entry per id in every list given. */
export interface RecordsArgs {
  /** Record ids: non-empty, unique strings. */
  ids: string[];
  /** Embeddings; computed from `documents` with the collection's embedding function when absent. */
  embeddings?: Embedding[];
  /** Metadata per record (`null` = none; in update / upsert, a `null` value deletes that key). */
  metadatas?: (Metadata | null)[];
  /** Documents per record (`null` entries only when embeddings are given). */
  documents?: (string | null)[];
  /** URIs per record. */
  uris?: (string | null)[];
}

/** The filters of `get`, `query` and `delete`. */
export interface FilterArgs {
  /** Restrict to these ids. */
  ids?: string[];
  /** Metadata filter. */
  where?: Where;
  /** Document filter. */
  whereDocument?: WhereDocument;
}

/** The arguments of `get`. */
export interface GetArgs extends FilterArgs {
  /** Return at most this many records. */
  limit?: number;
  /** Skip this many records first. */
  offset?: number;
  /** Fields to return. Default `["documents", "metadatas"]`. */
  include?: Include[];
}

/** The arguments of `query`: `queryEmbeddings`, or `queryTexts` to embed with the collection's embedding function. */
export interface QueryArgs extends FilterArgs {
  /** Query vectors, one result list each. */
  queryEmbeddings?: Embedding[];
  /** Query texts, embedded with `generateForQueries` (or `generate`). */
  queryTexts?: string[];
  /** Query URIs (needs a data loader; not supported yet). */
  queryURIs?: string[];
  /** Matches per query. Default 10. */
  nResults?: number;
  /** Fields to return. Default `["metadatas", "documents", "distances"]`. */
  include?: Include[];
}

/** The arguments of `delete`: ids and/or filters (at least one). */
export interface DeleteArgs extends FilterArgs {
  /** Delete at most this many matching records (only with `where` / `whereDocument`). */
  limit?: number;
}

/** A collection of records. Obtain one from a client (`createCollection`, `getCollection`, ...). */
export class Collection {
  /** The collection's UUID. */
  public readonly id: string;
  /** The tenant it belongs to. */
  public readonly tenant: string;
  /** The database it belongs to. */
  public readonly database: string;
  private _name: string;
  private _metadata: CollectionMetadata | undefined;
  private _configuration: CollectionConfiguration;
  private _embeddingFunction: EmbeddingFunction | undefined;

  /** @internal Collections come from a client. */
  constructor(
    private readonly context: CollectionContext,
    model: CollectionModel,
    embeddingFunction: EmbeddingFunction | undefined,
  ) {
    this.id = model.id;
    this.tenant = model.tenant;
    this.database = model.database;
    this._name = model.name;
    this._metadata = model.metadata ?? undefined;
    this._configuration = model.configuration_json;
    this._embeddingFunction = embeddingFunction;
  }

  /** The collection's name. */
  get name(): string {
    return this._name;
  }

  /** The collection's metadata, if any. */
  get metadata(): CollectionMetadata | undefined {
    return this._metadata;
  }

  /** The stored configuration (`configuration_json`: `hnsw`, `spann`, `embedding_function`). */
  get configuration(): CollectionConfiguration {
    return this._configuration;
  }

  /** The function used to embed documents and query texts, if any. */
  get embeddingFunction(): EmbeddingFunction | undefined {
    return this._embeddingFunction;
  }

  private get ref(): CollectionRef {
    return { tenant: this.tenant, database: this.database, id: this.id };
  }

  /** Number of records. `readLevel` is accepted for compatibility; local reads always see every write. */
  async count(options?: { readLevel?: string }): Promise<number> {
    readArguments(options, "count options", () => undefined);
    const api = await this.context.connect();
    return api.count(this.ref);
  }

  /** Adds records. Ids that already exist are skipped silently, as in Chroma. */
  async add(args: RecordsArgs): Promise<void> {
    await this.write("add", args);
  }

  /** Adds new records and updates existing ones (metadata is merged; a `null` value deletes its key). */
  async upsert(args: RecordsArgs): Promise<void> {
    await this.write("upsert", args);
  }

  /**
   * Updates existing records; unknown ids are ignored. When documents change without embeddings, the collection's
   * embedding function recomputes them; in a collection created with `embeddingFunction: null` the stored
   * embeddings stay as they are.
   */
  async update(args: RecordsArgs): Promise<void> {
    await this.write("update", args);
  }

  private async write(kind: "add" | "upsert" | "update", args: unknown): Promise<void> {
    const records = readArguments(args, `${kind} arguments`, (options) => validateRecordSet(options, kind === "update"));
    const api = await this.context.connect();
    validateBatchSize(records.ids.length, await api.maxBatchSize());
    // Documents are embedded when no embeddings come with them, except in an update of a collection that records
    // no embedding function (created with `embeddingFunction: null`): there only the documents change.
    const recordsEmbeddingFunction = this._embeddingFunction || this._configuration.embedding_function;
    const embedDocuments = records.documents && (kind !== "update" || recordsEmbeddingFunction);
    const embeddings =
      records.embeddings ?? (embedDocuments ? await this.embed(records.documents as string[], false) : undefined);
    const request = { ids: records.ids, documents: records.documents, uris: records.uris, metadatas: records.metadatas };
    if (kind === "update") {
      await api.update(this.ref, request, embeddings ?? null);
    } else {
      // validateRecordSet guarantees embeddings or documents outside update, and documents are embedded above.
      await api[kind](this.ref, request, embeddings as EmbeddingMatrix);
    }
  }

  private async embed(texts: string[], isQuery: boolean): Promise<EmbeddingMatrix> {
    const embeddingFunction = this._embeddingFunction;
    if (!embeddingFunction) {
      throw new ChromaValueError(
        `No embedding function found for collection '${this._name}'. Provide embeddings directly, ` +
          "or pass an embeddingFunction when creating or getting the collection.",
      );
    }
    const method = isQuery && hasEmbeddingFunctionMethod(embeddingFunction, "generateForQueries") ? "generateForQueries" : "generate";
    const embeddings = await callEmbeddingFunction(
      embeddingFunction,
      method,
      [texts],
      embeddingFunctionResults.embeddings(texts.length),
    );
    if (embeddings === undefined) {
      throw new ChromaValueError(`The embedding function of collection '${this._name}' has no ${method}() method`);
    }
    return embeddings;
  }

  /** Records matching the filters, in insertion order, paged with `limit` / `offset`. */
  async get<TMeta extends Metadata = Metadata>(args: GetArgs = {}): Promise<GetResult<TMeta>> {
    const request = readArguments(args, "get arguments", (options): GetRequest => ({
      ids: options.ids === undefined || options.ids === null ? undefined : validateIds(options.ids),
      where: validateWhere(options.where),
      where_document: validateWhereDocument(options.whereDocument),
      limit: validateCount(options.limit, "limit"),
      offset: validateCount(options.offset, "offset"),
      include: validateInclude(options.include, ["documents", "metadatas"], false),
    }));
    const api = await this.context.connect();
    return toGetResult<TMeta>(await api.get(this.ref, request));
  }

  /** The first `limit` records (default 10). */
  async peek(args: { limit?: number } = {}): Promise<GetResult> {
    const limit = readArguments(args, "peek arguments", (options) => options.limit ?? 10);
    return this.get({ limit: limit as number });
  }

  /** The `nResults` nearest records to each query, nearest first, among those matching the filters. */
  async query<TMeta extends Metadata = Metadata>(args: QueryArgs): Promise<QueryResult<TMeta>> {
    const { queryEmbeddings, queryTexts, request } = readArguments(args, "query arguments", (options) => {
      const hasEmbeddings = options.queryEmbeddings !== undefined && options.queryEmbeddings !== null;
      if (!hasEmbeddings && (options.queryTexts === undefined || options.queryTexts === null)) {
        throw new ChromaValueError("At least one of 'queryEmbeddings' and 'queryTexts' must be provided");
      }
      const queryEmbeddings = hasEmbeddings ? packEmbeddings(options.queryEmbeddings, "queryEmbeddings") : undefined;
      const queryTexts = hasEmbeddings ? undefined : validateQueryTexts(options.queryTexts);
      const request: QueryRequest = {
        ids: options.ids === undefined || options.ids === null ? undefined : validateIds(options.ids),
        where: validateWhere(options.where),
        where_document: validateWhereDocument(options.whereDocument),
        n_results: validateNResults(options.nResults),
        include: validateInclude(options.include, ["metadatas", "documents", "distances"], true),
      };
      return { queryEmbeddings, queryTexts, request };
    });
    const api = await this.context.connect();
    const queries = queryEmbeddings ?? (await this.embed(queryTexts as string[], true));
    return toQueryResult<TMeta>(await api.query(this.ref, request, queries));
  }

  /** Deletes records by ids and/or filters. With only ids, `deleted` counts the ids requested, as in Chroma. */
  async delete(args: DeleteArgs = {}): Promise<DeleteResult> {
    const { ids, where, whereDocument, limit } = readArguments(args, "delete arguments", (options) => ({
      ids: options.ids === undefined || options.ids === null ? undefined : validateIds(options.ids),
      where: validateWhere(options.where),
      whereDocument: validateWhereDocument(options.whereDocument),
      limit: validateCount(options.limit, "limit"),
    }));
    if (!ids && !where && !whereDocument) {
      throw new ChromaValueError("At least one of ids, where, or whereDocument must be provided");
    }
    if (limit !== undefined && !where && !whereDocument) {
      throw new ChromaValueError("limit can only be specified when a where or whereDocument clause is provided");
    }
    const api = await this.context.connect();
    const deleted = await api.delete(this.ref, { ids, where, where_document: whereDocument, limit });
    return { deleted };
  }

  /**
   * Renames the collection, replaces its metadata wholesale, and/or changes the updatable parts of its
   * configuration. The properties of this object follow on success.
   */
  async modify(args: {
    name?: string;
    metadata?: CollectionMetadata;
    configuration?: UpdateCollectionConfiguration;
  }): Promise<void> {
    const given = readArguments(args, "modify arguments", (options) => ({
      name: optionalString(options.name, "name"),
      metadata: validateMetadata(options.metadata),
      configuration: readUpdateConfiguration(options.configuration),
    }));
    const { name, metadata } = given;
    if (metadata && Object.hasOwn(metadata, "hnsw:space")) {
      throw new ChromaValueError(
        "Changing the distance function of a collection once it is created is not supported currently.",
      );
    }
    const { configuration, embeddingFunction } = await buildUpdateConfiguration(
      given.configuration,
      this._embeddingFunction,
    );
    const api = await this.context.connect();
    const model = await api.modifyCollection(this.ref, {
      new_name: name,
      new_metadata: metadata,
      new_configuration: configuration,
    });
    this._name = model.name;
    this._metadata = model.metadata ?? undefined;
    this._configuration = model.configuration_json;
    this._embeddingFunction = embeddingFunction ?? this._embeddingFunction;
  }

  /** Copies the collection under a new name (Chroma Cloud only; local Chroma rejects it). */
  async fork(args: { name: string }): Promise<Collection> {
    const name = readArguments(args, "fork arguments", (options) => requireString(options.name, "name"));
    const api = await this.context.connect();
    const model = await api.forkCollection(this.ref, name);
    return new Collection(this.context, model, embeddingFunctionFor(model, this._embeddingFunction));
  }

  /** How many forks the collection has (Chroma Cloud only; local Chroma rejects it). */
  async forkCount(): Promise<number> {
    const api = await this.context.connect();
    return api.forkCount(this.ref);
  }
}

// The safety net: whatever escapes a method is a ChromaError (see guardMethods).
guardMethods(Collection);
