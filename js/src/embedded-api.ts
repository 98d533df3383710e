/**
 * `ChromaApi` over the native engine, in process. The engine opens lazily on the first call (so constructors stay
 * synchronous and cheap); a failed open is retried on the next call. Requests go down as JSON (query, the hot path:
 * its filters only), embeddings as one flat `Float32Array`; query results come back as flat columns and result
 * embeddings as one flat array, reshaped here into per-query lists and per-record arrays.
 */
import type {
  ChromaApi,
  CollectionModel,
  CollectionRef,
  CreateCollectionRequest,
  DeleteRequest,
  EmbeddingMatrix,
  GetRequest,
  GetResponse,
  ModifyCollectionRequest,
  QueryRequest,
  QueryResponse,
  RecordsRequest,
} from "./api.js";
import {
  CLOSED_MESSAGE,
  ChromaClosedError,
  ChromaNotFoundError,
  ChromaValueError,
  fromNativeError,
} from "./errors.js";
import { INCLUDE_BITS, type NativeEngine } from "./native.js";
import { DEFAULT_DATABASE, DEFAULT_TENANT } from "./settings.js";
import type { Database, Metadata, UserIdentity } from "./types.js";
import { MAX_BATCH_SIZE } from "./validation.js";
import { VERSION } from "./version.js";

function encode(request: object): string {
  try {
    return JSON.stringify(request);
  } catch (error) {
    throw new ChromaValueError(`The request cannot be encoded as JSON: ${(error as Error).message}`, error);
  }
}

/** Rows `start .. start + count` of a row-major matrix, as plain number arrays. */
function toRows(flat: Float32Array, dimension: number, start: number, count: number): number[][] {
  const rows: number[][] = new Array(count);
  for (let row = 0; row < count; row++) {
    const offset = (start + row) * dimension;
    rows[row] = Array.from(flat.subarray(offset, offset + dimension));
  }
  return rows;
}

/** Floats converted between two turns of the event loop by `toRowsYielding` (a few milliseconds' work). */
const FLOATS_PER_TURN = 1 << 18;

/**
 * `toRows` of a whole matrix, giving the event loop a turn after every `FLOATS_PER_TURN` floats: turning
 * a large result (a `get` of 20k × 256 embeddings, a query of many embeddings with many results each) into
 * arrays takes long enough to stall timers.
 */
async function toRowsYielding(flat: Float32Array, dimension: number, count: number): Promise<number[][]> {
  const perTurn = Math.max(1, Math.floor(FLOATS_PER_TURN / Math.max(1, dimension)));
  if (count <= perTurn) return toRows(flat, dimension, 0, count);
  const rows: number[][] = [];
  for (let start = 0; start < count; start += perTurn) {
    if (start > 0) await new Promise((resolve) => setImmediate(resolve));
    // One push per row: spreading a slice of up to 2^18 rows into one call overflows the stack.
    for (const row of toRows(flat, dimension, start, Math.min(perTurn, count - start))) rows.push(row);
  }
  return rows;
}

/** Splits values laid out query after query into one list per query, `sizes[q]` values each. */
function splitByQuery<T>(sizes: number[], take: (start: number, count: number) => T[]): T[][] {
  let start = 0;
  return sizes.map((count) => {
    const part = take(start, count);
    start += count;
    return part;
  });
}

/** A JSON array of values laid out query after query, split into one list per query. */
function splitJsonByQuery<T>(sizes: number[], json: string): T[][] {
  const all = JSON.parse(json) as T[];
  return sizes.length === 1 ? [all] : splitByQuery(sizes, (start, count) => all.slice(start, start + count));
}

/** The include names as the bits of `NativeEngine.query`. */
function includeBits(include: readonly string[]): number {
  let bits = 0;
  for (const name of include) {
    if (!Object.hasOwn(INCLUDE_BITS, name)) throw new ChromaValueError(`Invalid include value: ${name}`);
    bits |= INCLUDE_BITS[name as keyof typeof INCLUDE_BITS];
  }
  return bits;
}

/** The embedded transport: one instance per opened engine (per path, or the in-memory one). */
export class EmbeddedApi implements ChromaApi {
  private engine: Promise<NativeEngine> | undefined;
  private closed = false;

  /** @param openEngine - Opens the native engine; called on first use, and again after a failed open. */
  constructor(private readonly openEngine: () => Promise<NativeEngine>) {}

  private connect(): Promise<NativeEngine> {
    if (!this.engine) {
      const opening = Promise.resolve().then(this.openEngine);
      this.engine = opening;
      opening.catch(() => {
        if (this.engine === opening) this.engine = undefined;
      });
    }
    return this.engine;
  }

  /** Runs one engine call; every failure leaves as a Chroma error. */
  private async run<T>(operation: (engine: NativeEngine) => T | Promise<T>): Promise<T> {
    if (this.closed) throw new ChromaClosedError(CLOSED_MESSAGE);
    try {
      return await operation(await this.connect());
    } catch (error) {
      throw fromNativeError(error);
    }
  }

  heartbeat(): Promise<number> {
    return this.run((engine) => Number(engine.heartbeat()));
  }

  async version(): Promise<string> {
    return VERSION;
  }

  async maxBatchSize(): Promise<number> {
    return MAX_BATCH_SIZE;
  }

  async userIdentity(): Promise<UserIdentity> {
    return { user_id: "", tenant: DEFAULT_TENANT, databases: [DEFAULT_DATABASE] };
  }

  reset(): Promise<void> {
    return this.run((engine) => engine.reset());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opening = this.engine;
    this.engine = undefined;
    const engine = await opening?.catch(() => undefined);
    try {
      await engine?.close();
    } catch (error) {
      throw fromNativeError(error);
    }
  }

  createTenant(name: string): Promise<void> {
    return this.run((engine) => engine.createTenant(name));
  }

  getTenant(name: string): Promise<string> {
    return this.run((engine) => engine.getTenant(name));
  }

  listTenants(limit: number | undefined, offset: number): Promise<string[]> {
    return this.run(async (engine) => JSON.parse(await engine.listTenants(limit ?? null, offset)) as string[]);
  }

  createDatabase(tenant: string, name: string): Promise<void> {
    return this.run((engine) => engine.createDatabase(tenant, name));
  }

  getDatabase(tenant: string, name: string): Promise<Database> {
    return this.run(async (engine) => JSON.parse(await engine.getDatabase(tenant, name)) as Database);
  }

  listDatabases(tenant: string, limit: number | undefined, offset: number): Promise<Database[]> {
    return this.run(async (engine) => JSON.parse(await engine.listDatabases(tenant, limit ?? null, offset)) as Database[]);
  }

  deleteDatabase(tenant: string, name: string): Promise<void> {
    return this.run((engine) => engine.deleteDatabase(tenant, name));
  }

  createCollection(tenant: string, database: string, request: CreateCollectionRequest): Promise<CollectionModel> {
    return this.run(
      async (engine) => JSON.parse(await engine.createCollection(tenant, database, encode(request))) as CollectionModel,
    );
  }

  getCollection(tenant: string, database: string, name: string): Promise<CollectionModel> {
    return this.run(async (engine) => JSON.parse(await engine.getCollection(tenant, database, name)) as CollectionModel);
  }

  getCollectionById(tenant: string, database: string, id: string): Promise<CollectionModel> {
    return this.run(async (engine) => {
      const model = JSON.parse(await engine.getCollectionById(id)) as CollectionModel;
      // The engine looks ids up globally; a Chroma server answers only within the client's tenant and database.
      if (model.tenant !== tenant || model.database !== database) {
        throw new ChromaNotFoundError(`Collection [${id}] does not exist`);
      }
      return model;
    });
  }

  listCollections(tenant: string, database: string, limit: number | undefined, offset: number): Promise<CollectionModel[]> {
    return this.run(
      async (engine) =>
        JSON.parse(await engine.listCollections(tenant, database, limit ?? null, offset)) as CollectionModel[],
    );
  }

  countCollections(tenant: string, database: string): Promise<number> {
    return this.run((engine) => engine.countCollections(tenant, database));
  }

  deleteCollection(tenant: string, database: string, name: string): Promise<void> {
    return this.run((engine) => engine.deleteCollection(tenant, database, name));
  }

  modifyCollection(collection: CollectionRef, request: ModifyCollectionRequest): Promise<CollectionModel> {
    return this.run(
      async (engine) => JSON.parse(await engine.modifyCollection(collection.id, encode(request))) as CollectionModel,
    );
  }

  async forkCollection(): Promise<CollectionModel> {
    throw new ChromaValueError("Collection forking is not implemented for Local Chroma");
  }

  async forkCount(): Promise<number> {
    throw new ChromaValueError("Fork count is not implemented for Local Chroma");
  }

  add(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void> {
    return this.run((engine) => engine.add(collection.id, encode(request), embeddings.data, embeddings.dimension));
  }

  upsert(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void> {
    return this.run((engine) => engine.upsert(collection.id, encode(request), embeddings.data, embeddings.dimension));
  }

  update(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix | null): Promise<void> {
    return this.run((engine) =>
      engine.update(collection.id, encode(request), embeddings?.data ?? null, embeddings?.dimension ?? 0),
    );
  }

  delete(collection: CollectionRef, request: DeleteRequest): Promise<number> {
    return this.run((engine) => engine.delete(collection.id, encode(request)));
  }

  count(collection: CollectionRef): Promise<number> {
    return this.run((engine) => engine.count(collection.id));
  }

  get(collection: CollectionRef, request: GetRequest): Promise<GetResponse> {
    return this.run(async (engine) => {
      const result = await engine.get(collection.id, encode(request));
      const body = JSON.parse(result.json) as Omit<GetResponse, "embeddings">;
      const embeddings = result.embeddings && (await toRowsYielding(result.embeddings, result.dimension, body.ids.length));
      return { ...body, embeddings };
    });
  }

  query(collection: CollectionRef, request: QueryRequest, queries: EmbeddingMatrix): Promise<QueryResponse> {
    return this.run(async (engine) => {
      const { ids, where, where_document: whereDocument } = request;
      const filter = ids == null && where == null && whereDocument == null ? null : encode({ ids, where, where_document: whereDocument });
      const result = await engine.query(
        collection.id,
        filter,
        request.n_results,
        includeBits(request.include),
        queries.data,
        queries.dimension,
      );
      const { counts, embeddings, distances, dimension, documents, uris, metadatas } = result;
      const rows = embeddings && (await toRowsYielding(embeddings, dimension, result.ids.length));
      return {
        ids: splitByQuery(counts, (start, count) => result.ids.slice(start, start + count)),
        documents: documents ? splitByQuery(counts, (start, count) => documents.slice(start, start + count)) : null,
        uris: uris ? splitByQuery(counts, (start, count) => uris.slice(start, start + count)) : null,
        metadatas: metadatas === undefined ? null : splitJsonByQuery<Metadata | null>(counts, metadatas),
        embeddings: rows ? splitByQuery(counts, (start, count) => rows.slice(start, start + count)) : null,
        distances: distances ? splitByQuery(counts, (start, count) => Array.from(distances.subarray(start, start + count))) : null,
        include: request.include,
      };
    });
  }
}
