/**
 * `ChromaApi` over Chroma's HTTP API v2 (a `chroma run` server or Chroma Cloud). One instance per client: HTTP
 * clients share nothing, as in Chroma. Routes and bodies are those of §10 of the spec; the pre-flight check is
 * fetched once and says whether writes may carry base64 embeddings and how large a batch may be.
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
} from "../api.js";
import { ChromaError, ChromaServerError, ChromaValueError } from "../errors.js";
import type { Settings } from "../settings.js";
import type { Database, UserIdentity } from "../types.js";
import { VERSION } from "../version.js";
import { authHeaders } from "./auth.js";
import { roundToFloat32, toBase64Rows, toNumberRows } from "./embeddings.js";
import { HttpResponseError } from "./status-errors.js";
import { HttpTransport, type RequestSpec, type TransportOptions } from "./transport.js";
import { resolveServerUrl } from "./url.js";

/** The server's `GET /pre-flight-checks` answer. */
interface PreflightChecks {
  max_batch_size: number;
  supports_base64_encoding?: boolean;
}

/**
 * A name or id as one URL path segment.
 * @throws ChromaValueError for a string that is not valid Unicode (a lone surrogate), which no URL can carry.
 */
function segment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch (error) {
    throw new ChromaValueError(`${JSON.stringify(value)} is not valid Unicode text and cannot be sent to a server`, error);
  }
}

/** The HTTP transport of one client. */
export class HttpApi implements ChromaApi {
  private readonly transport: HttpTransport;
  private preflight: Promise<PreflightChecks> | undefined;

  /**
   * Resolves the URL and headers now, so invalid settings fail in the constructor; sends nothing.
   * @throws ChromaValueError for an invalid host or auth settings.
   */
  constructor(settings: Settings, options: TransportOptions = {}) {
    const headers = {
      "User-Agent": `chromalite/${VERSION} (Node.js ${process.version})`,
      ...(settings.chromaServerHeaders ?? {}),
      ...authHeaders(settings),
    };
    this.transport = new HttpTransport(resolveServerUrl(settings), headers, options);
  }

  /** The API root requests go to, e.g. `http://localhost:8000/api/v2`. */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  private send<T>(spec: RequestSpec): Promise<T> {
    return this.transport.request<T>(spec);
  }

  private collectionPath(collection: CollectionRef, action = ""): string {
    const { tenant, database, id } = collection;
    return `/tenants/${segment(tenant)}/databases/${segment(database)}/collections/${segment(id)}${action}`;
  }

  private collectionsPath(tenant: string, database: string): string {
    return `/tenants/${segment(tenant)}/databases/${segment(database)}/collections`;
  }

  private preflightChecks(): Promise<PreflightChecks> {
    if (!this.preflight) {
      const fetching = this.send<PreflightChecks>({ method: "GET", path: "/pre-flight-checks" });
      this.preflight = fetching;
      fetching.catch(() => {
        if (this.preflight === fetching) this.preflight = undefined;
      });
    }
    return this.preflight;
  }

  /** Embeddings as the server takes them: base64 rows when it says it can decode them. */
  private async wireEmbeddings(matrix: EmbeddingMatrix): Promise<string[] | number[][]> {
    const { supports_base64_encoding } = await this.preflightChecks();
    return supports_base64_encoding ? toBase64Rows(matrix) : toNumberRows(matrix);
  }

  async heartbeat(): Promise<number> {
    const body = await this.send<Record<string, number>>({ method: "GET", path: "/heartbeat" });
    const beat = body?.["nanosecond heartbeat"];
    if (typeof beat !== "number") {
      throw new ChromaServerError(`Unexpected heartbeat answer from ${this.baseUrl}: ${JSON.stringify(body)}`);
    }
    return beat;
  }

  version(): Promise<string> {
    return this.send<string>({ method: "GET", path: "/version" });
  }

  async maxBatchSize(): Promise<number> {
    return (await this.preflightChecks()).max_batch_size;
  }

  userIdentity(): Promise<UserIdentity> {
    return this.send<UserIdentity>({ method: "GET", path: "/auth/identity" });
  }

  async reset(): Promise<void> {
    await this.send({ method: "POST", path: "/reset" });
  }

  async close(): Promise<void> {
    this.transport.close();
  }

  async createTenant(name: string): Promise<void> {
    await this.send({ method: "POST", path: "/tenants", body: { name } });
  }

  async getTenant(name: string): Promise<string> {
    const tenant = await this.send<{ name: string }>({ method: "GET", path: `/tenants/${segment(name)}` });
    return tenant.name;
  }

  async listTenants(limit: number | undefined, offset: number): Promise<string[]> {
    try {
      const tenants = await this.send<({ name: string } | string)[]>({
        method: "GET",
        path: "/tenants",
        query: { limit, offset },
      });
      return tenants.map((tenant) => (typeof tenant === "string" ? tenant : tenant.name));
    } catch (error) {
      // Chroma 1.x servers have no route for listing tenants: GET /tenants answers 405 (or 404 behind a proxy).
      if (error instanceof ChromaError && error.cause instanceof HttpResponseError && [404, 405].includes(error.cause.status)) {
        throw new ChromaServerError(
          `Listing tenants is not supported by the Chroma server at ${this.baseUrl} ` +
            `(GET /tenants answered HTTP ${error.cause.status}); use getTenant({ name }) to check for one tenant`,
          error,
        );
      }
      throw error;
    }
  }

  async createDatabase(tenant: string, name: string): Promise<void> {
    await this.send({ method: "POST", path: `/tenants/${segment(tenant)}/databases`, body: { name } });
  }

  getDatabase(tenant: string, name: string): Promise<Database> {
    return this.send<Database>({ method: "GET", path: `/tenants/${segment(tenant)}/databases/${segment(name)}` });
  }

  listDatabases(tenant: string, limit: number | undefined, offset: number): Promise<Database[]> {
    return this.send<Database[]>({
      method: "GET",
      path: `/tenants/${segment(tenant)}/databases`,
      query: { limit, offset },
    });
  }

  async deleteDatabase(tenant: string, name: string): Promise<void> {
    await this.send({ method: "DELETE", path: `/tenants/${segment(tenant)}/databases/${segment(name)}` });
  }

  createCollection(tenant: string, database: string, request: CreateCollectionRequest): Promise<CollectionModel> {
    return this.send<CollectionModel>({ method: "POST", path: this.collectionsPath(tenant, database), body: request });
  }

  getCollection(tenant: string, database: string, name: string): Promise<CollectionModel> {
    return this.send<CollectionModel>({ method: "GET", path: `${this.collectionsPath(tenant, database)}/${segment(name)}` });
  }

  getCollectionById(tenant: string, database: string, id: string): Promise<CollectionModel> {
    return this.send<CollectionModel>({
      method: "GET",
      path: `${this.collectionsPath(tenant, database)}/by-id/${segment(id)}`,
    });
  }

  listCollections(tenant: string, database: string, limit: number | undefined, offset: number): Promise<CollectionModel[]> {
    return this.send<CollectionModel[]>({
      method: "GET",
      path: this.collectionsPath(tenant, database),
      query: { limit, offset },
    });
  }

  countCollections(tenant: string, database: string): Promise<number> {
    return this.send<number>({
      method: "GET",
      path: `/tenants/${segment(tenant)}/databases/${segment(database)}/collections_count`,
    });
  }

  async deleteCollection(tenant: string, database: string, name: string): Promise<void> {
    await this.send({ method: "DELETE", path: `${this.collectionsPath(tenant, database)}/${segment(name)}` });
  }

  async modifyCollection(collection: CollectionRef, request: ModifyCollectionRequest): Promise<CollectionModel> {
    await this.send({ method: "PUT", path: this.collectionPath(collection), body: request });
    // The server answers `{}`; the caller needs the collection as it is now.
    return this.getCollectionById(collection.tenant, collection.database, collection.id);
  }

  forkCollection(collection: CollectionRef, newName: string): Promise<CollectionModel> {
    return this.send<CollectionModel>({
      method: "POST",
      path: this.collectionPath(collection, "/fork"),
      body: { new_name: newName },
    });
  }

  async forkCount(collection: CollectionRef): Promise<number> {
    const body = await this.send<{ count: number }>({ method: "GET", path: this.collectionPath(collection, "/fork_count") });
    return body.count;
  }

  async add(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void> {
    const body = { ...request, embeddings: await this.wireEmbeddings(embeddings) };
    await this.send({ method: "POST", path: this.collectionPath(collection, "/add"), body });
  }

  async upsert(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix): Promise<void> {
    const body = { ...request, embeddings: await this.wireEmbeddings(embeddings) };
    await this.send({ method: "POST", path: this.collectionPath(collection, "/upsert"), body });
  }

  async update(collection: CollectionRef, request: RecordsRequest, embeddings: EmbeddingMatrix | null): Promise<void> {
    const body = embeddings ? { ...request, embeddings: await this.wireEmbeddings(embeddings) } : request;
    await this.send({ method: "POST", path: this.collectionPath(collection, "/update"), body });
  }

  async delete(collection: CollectionRef, request: DeleteRequest): Promise<number> {
    const body = await this.send<{ deleted: number } | null>({
      method: "POST",
      path: this.collectionPath(collection, "/delete"),
      body: request,
    });
    return body?.deleted ?? 0;
  }

  count(collection: CollectionRef): Promise<number> {
    return this.send<number>({ method: "GET", path: this.collectionPath(collection, "/count") });
  }

  async get(collection: CollectionRef, request: GetRequest): Promise<GetResponse> {
    const response = await this.send<GetResponse>({ method: "POST", path: this.collectionPath(collection, "/get"), body: request });
    roundToFloat32(response.embeddings);
    return response;
  }

  async query(collection: CollectionRef, request: QueryRequest, queries: EmbeddingMatrix): Promise<QueryResponse> {
    const response = await this.send<QueryResponse>({
      method: "POST",
      path: this.collectionPath(collection, "/query"),
      body: { ...request, query_embeddings: toNumberRows(queries) },
    });
    roundToFloat32(response.embeddings);
    roundToFloat32(response.distances);
    return response;
  }
}
