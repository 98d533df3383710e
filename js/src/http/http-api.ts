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
import { rowCount, roundToFloat32, toBase64Rows, toNumberRows } from "./embeddings.js";
import {
  expectCollection,
  expectCount,
  expectDatabase,
  expectGetResponse,
  expectList,
  expectObject,
  expectQueryResponse,
  expectString,
  expectTenantName,
  expectUserIdentity,
  unexpected,
} from "./responses.js";
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

  /** Sends a request; the answer is `unknown` until a checker of responses.ts gives it its shape. */
  private send(spec: RequestSpec): Promise<unknown> {
    return this.transport.request<unknown>(spec);
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
      const fetching = this.send({ method: "GET", path: "/pre-flight-checks" }).then((body): PreflightChecks => {
        const checks = expectObject(body, "the pre-flight checks");
        const { max_batch_size, supports_base64_encoding } = checks;
        if (
          typeof max_batch_size !== "number" ||
          !Number.isSafeInteger(max_batch_size) ||
          max_batch_size < 1 ||
          (supports_base64_encoding !== undefined && typeof supports_base64_encoding !== "boolean")
        ) {
          throw unexpected("expected the pre-flight checks (max_batch_size, supports_base64_encoding)", body);
        }
        return { max_batch_size, supports_base64_encoding };
      });
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
    const body = expectObject(await this.send({ method: "GET", path: "/heartbeat" }), "a heartbeat");
    const beat = body["nanosecond heartbeat"];
    if (typeof beat !== "number" || !Number.isFinite(beat)) {
      throw unexpected("expected a heartbeat ({ \"nanosecond heartbeat\": number })", body);
    }
    return beat;
  }

  async version(): Promise<string> {
    return expectString(await this.send({ method: "GET", path: "/version" }), "a version");
  }

  async maxBatchSize(): Promise<number> {
    return (await this.preflightChecks()).max_batch_size;
  }

  async userIdentity(): Promise<UserIdentity> {
    return expectUserIdentity(await this.send({ method: "GET", path: "/auth/identity" }));
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
    const tenant = await this.send({ method: "GET", path: `/tenants/${segment(name)}` });
    if (typeof tenant === "string") throw unexpected("expected a tenant ({ name })", tenant);
    return expectTenantName(tenant);
  }

  async listTenants(limit: number | undefined, offset: number): Promise<string[]> {
    try {
      const tenants = await this.send({ method: "GET", path: "/tenants", query: { limit, offset } });
      return expectList(tenants, "tenants", expectTenantName);
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

  async getDatabase(tenant: string, name: string): Promise<Database> {
    return expectDatabase(
      await this.send({ method: "GET", path: `/tenants/${segment(tenant)}/databases/${segment(name)}` }),
    );
  }

  async listDatabases(tenant: string, limit: number | undefined, offset: number): Promise<Database[]> {
    const databases = await this.send({
      method: "GET",
      path: `/tenants/${segment(tenant)}/databases`,
      query: { limit, offset },
    });
    return expectList(databases, "databases", expectDatabase);
  }

  async deleteDatabase(tenant: string, name: string): Promise<void> {
    await this.send({ method: "DELETE", path: `/tenants/${segment(tenant)}/databases/${segment(name)}` });
  }

  async createCollection(tenant: string, database: string, request: CreateCollectionRequest): Promise<CollectionModel> {
    return expectCollection(
      await this.send({ method: "POST", path: this.collectionsPath(tenant, database), body: request }),
    );
  }

  async getCollection(tenant: string, database: string, name: string): Promise<CollectionModel> {
    return expectCollection(
      await this.send({ method: "GET", path: `${this.collectionsPath(tenant, database)}/${segment(name)}` }),
    );
  }

  async getCollectionById(tenant: string, database: string, id: string): Promise<CollectionModel> {
    return expectCollection(
      await this.send({ method: "GET", path: `${this.collectionsPath(tenant, database)}/by-id/${segment(id)}` }),
    );
  }

  async listCollections(
    tenant: string,
    database: string,
    limit: number | undefined,
    offset: number,
  ): Promise<CollectionModel[]> {
    const models = await this.send({ method: "GET", path: this.collectionsPath(tenant, database), query: { limit, offset } });
    return expectList(models, "collections", expectCollection);
  }

  async countCollections(tenant: string, database: string): Promise<number> {
    const count = await this.send({
      method: "GET",
      path: `/tenants/${segment(tenant)}/databases/${segment(database)}/collections_count`,
    });
    return expectCount(count, "a collection count");
  }

  async deleteCollection(tenant: string, database: string, name: string): Promise<void> {
    await this.send({ method: "DELETE", path: `${this.collectionsPath(tenant, database)}/${segment(name)}` });
  }

  async modifyCollection(collection: CollectionRef, request: ModifyCollectionRequest): Promise<CollectionModel> {
    await this.send({ method: "PUT", path: this.collectionPath(collection), body: request });
    // The server answers `{}`; the caller needs the collection as it is now.
    return this.getCollectionById(collection.tenant, collection.database, collection.id);
  }

  async forkCollection(collection: CollectionRef, newName: string): Promise<CollectionModel> {
    return expectCollection(
      await this.send({ method: "POST", path: this.collectionPath(collection, "/fork"), body: { new_name: newName } }),
    );
  }

  async forkCount(collection: CollectionRef): Promise<number> {
    const body = expectObject(
      await this.send({ method: "GET", path: this.collectionPath(collection, "/fork_count") }),
      "a fork count ({ count })",
    );
    return expectCount(body.count, "a fork count");
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
    const body = await this.send({ method: "POST", path: this.collectionPath(collection, "/delete"), body: request });
    // Older servers answer with an empty body or `{}`; newer ones with the deleted count.
    if (body === null) return 0;
    const deleted = expectObject(body, "a delete result").deleted;
    return deleted === undefined || deleted === null ? 0 : expectCount(deleted, "a deleted count");
  }

  async count(collection: CollectionRef): Promise<number> {
    return expectCount(await this.send({ method: "GET", path: this.collectionPath(collection, "/count") }), "a count");
  }

  async get(collection: CollectionRef, request: GetRequest): Promise<GetResponse> {
    const response = expectGetResponse(
      await this.send({ method: "POST", path: this.collectionPath(collection, "/get"), body: request }),
    );
    roundToFloat32(response.embeddings);
    return response;
  }

  async query(collection: CollectionRef, request: QueryRequest, queries: EmbeddingMatrix): Promise<QueryResponse> {
    const body = await this.send({
      method: "POST",
      path: this.collectionPath(collection, "/query"),
      body: { ...request, query_embeddings: toNumberRows(queries) },
    });
    const response = expectQueryResponse(body, rowCount(queries));
    roundToFloat32(response.embeddings);
    roundToFloat32(response.distances);
    return response;
  }
}
