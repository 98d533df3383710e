/**
 * `ChromaClient`: the official client's methods (collections, heartbeat, version, reset) over chromalite's
 * transport: the embedded engine, or a Chroma server over HTTP. Construction is synchronous and touches nothing; the
 * engine opens (or the first request goes out), and the tenant and database are resolved and checked, on the first
 * call. After `close()` every call rejects with `ChromaClosedError`.
 */
import "./dispose-polyfill.js";
import type { ChromaApi, CollectionModel } from "./api.js";
import { acquireSystem, FASTAPI_IMPL, type SystemLease } from "./client-registry.js";
import { Collection, type CollectionContext } from "./collection.js";
import { buildCreateConfiguration, embeddingFunctionFor, readCreateConfiguration } from "./collection-configuration.js";
import { ChromaForbiddenError, ChromaNotFoundError, ChromaValueError, guardMethods } from "./errors.js";
import { resolveScope } from "./http/identity.js";
import {
  DEFAULT_DATABASE,
  DEFAULT_TENANT,
  getSettings,
  Settings,
  toSettings,
  type SettingsInit,
} from "./settings.js";
import type {
  CollectionMetadata,
  CreateCollectionConfiguration,
  EmbeddingFunction,
  UserIdentity,
} from "./types.js";
import {
  checkLength,
  MAX_LIST_LENGTH,
  optionalBoolean,
  optionalString,
  readArguments,
  readOptions,
  requireString,
  safely,
  show,
  validateCount,
  validateEmbeddingFunction,
  validateMetadata,
} from "./validation.js";

const RESET_DISABLED =
  "Resetting is not allowed by this configuration (to enable it, set `allow_reset` to `True` in your Settings() " +
  "or include `ALLOW_RESET=TRUE` in your environment variables)";

/** Options of the official client that mean "connect over HTTP". */
const HTTP_OPTIONS = ["host", "port", "ssl", "path", "headers"];
/** Options of the official client that chromalite does not take. */
const UNSUPPORTED_OPTIONS = ["fetchOptions", "auth"];

/**
 * Options of `new ChromaClient(...)`; usually built by `EphemeralClient`, `PersistentClient`, `HttpClient`,
 * `CloudClient` or `Client`.
 */
export interface ChromaClientOptions {
  /** What to run; default: the global settings (see `configure()`). */
  settings?: Settings | SettingsInit;
  /** Tenant for every call. Default `"default_tenant"` (or, with auth-scoped settings, the identity's tenant). */
  tenant?: string;
  /** Database for every call. Default `"default_database"` (or, with auth-scoped settings, the identity's database). */
  database?: string;
  /** Server host, as in the official client: connects over HTTP (with `port`, `ssl`, `headers`). */
  host?: string;
  /** Server port (HTTP). Default 8000. */
  port?: number;
  /** Use HTTPS (HTTP). Default false. */
  ssl?: boolean;
  /** Server URL, the official client's deprecated form of `host` + `port` (HTTP). */
  path?: string;
  /** Headers sent with every request (HTTP). */
  headers?: Record<string, string>;
  /** HTTP only: milliseconds one request attempt may take before it fails with `ChromaTimeoutError`. Default 60 000. */
  timeoutMs?: number;
}

/** The options of `createCollection` and `getOrCreateCollection`. */
export interface CreateCollectionOptions {
  /** 3-512 characters from `[a-zA-Z0-9._-]`, starting and ending with a letter or digit. */
  name: string;
  /** Collection metadata (legacy `hnsw:*` keys also configure the index). */
  metadata?: CollectionMetadata;
  /** Index configuration, and optionally the embedding function. */
  configuration?: CreateCollectionConfiguration;
  /** Embeds documents and query texts. Default: Chroma's default; `null`: none (embeddings only). */
  embeddingFunction?: EmbeddingFunction | null;
  /** Collection schema; not supported by chromalite yet (must be absent). */
  schema?: undefined;
}

/** The options of `getCollection`. */
export interface GetCollectionOptions {
  /** The collection's name. */
  name: string;
  /** Embeds documents and query texts; must match the recorded one unless it is the default. */
  embeddingFunction?: EmbeddingFunction;
}

/** A client: collections in one tenant and database of a Chroma backend. */
export class ChromaClient implements AsyncDisposable {
  /** The settings this client was created with. */
  public readonly settings: Settings;
  private readonly requestedTenant: string | undefined;
  private readonly requestedDatabase: string | undefined;
  private resolvedScope: { tenant: string; database: string } | undefined;
  private readonly lease: SystemLease;
  private ready: Promise<void> | undefined;
  private readonly context: CollectionContext = { connect: () => this.connect() };

  /**
   * @throws ChromaValueError for invalid options, or settings that differ from those of another open client on the
   *   same path.
   */
  constructor(options: ChromaClientOptions = {}) {
    const given = readArguments(options, "client options", (given) => {
      const unsupported = UNSUPPORTED_OPTIONS.find((key) => given[key] !== undefined);
      if (unsupported !== undefined) {
        throw new ChromaValueError(`The '${unsupported}' option of the official client is not supported by chromalite`);
      }
      const settings = given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit);
      return {
        settings: HTTP_OPTIONS.some((key) => given[key] !== undefined) ? withHttpOptions(settings, given) : settings,
        tenant: optionalString(given.tenant, "tenant"),
        database: optionalString(given.database, "database"),
        timeoutMs: validateCount(given.timeoutMs, "timeoutMs"),
      };
    });
    this.settings = given.settings;
    this.requestedTenant = given.tenant;
    this.requestedDatabase = given.database;
    this.lease = acquireSystem(this.settings, { timeoutMs: given.timeoutMs });
  }

  /**
   * The tenant every call uses. With auth-scoped settings (`CloudClient`) it is known after the first call; before
   * that it is the one given, or `"default_tenant"`.
   */
  get tenant(): string {
    return this.resolvedScope?.tenant ?? this.requestedTenant ?? DEFAULT_TENANT;
  }

  /** The database every call uses; resolved like {@link ChromaClient.tenant}. */
  get database(): string {
    return this.resolvedScope?.database ?? this.requestedDatabase ?? DEFAULT_DATABASE;
  }

  /** The backend, once open and with this client's tenant and database checked (first call only). */
  private async connect(): Promise<ChromaApi> {
    const api = this.lease.api();
    this.ready ??= this.checkTenantAndDatabase(api).catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    await this.ready;
    return api;
  }

  private async checkTenantAndDatabase(api: ChromaApi): Promise<void> {
    if (this.settings.chromaOverwriteSingletonTenantDatabaseAccessFromAuth && !this.resolvedScope) {
      this.resolvedScope = resolveScope(await api.userIdentity(), {
        tenant: this.requestedTenant,
        database: this.requestedDatabase,
      });
    }
    try {
      await api.getTenant(this.tenant);
    } catch (error) {
      if (error instanceof ChromaNotFoundError) {
        throw new ChromaValueError(`Could not connect to tenant ${this.tenant}. Are you sure it exists?`, error);
      }
      throw error;
    }
    await api.getDatabase(this.tenant, this.database);
  }

  private toCollection(model: CollectionModel, embeddingFunction: EmbeddingFunction | undefined): Collection {
    return new Collection(this.context, model, embeddingFunctionFor(model, embeddingFunction));
  }

  /** The backend's time in nanoseconds since the epoch (precision beyond 2^53 is lost, as in the official client). */
  async heartbeat(): Promise<number> {
    return (await this.connect()).heartbeat();
  }

  /** The backend's version: chromalite's package version, or the Chroma server's. */
  async version(): Promise<string> {
    return (await this.connect()).version();
  }

  /** Alias of {@link ChromaClient.version}, as Python's `get_version()`. */
  getVersion(): Promise<string> {
    return this.version();
  }

  /** The largest number of records one write may carry. */
  async getMaxBatchSize(): Promise<number> {
    return (await this.connect()).maxBatchSize();
  }

  /** The identity of this client: locally, the default tenant and database; over HTTP, what the server says. */
  async getUserIdentity(): Promise<UserIdentity> {
    return (await this.connect()).userIdentity();
  }

  /**
   * Deletes every tenant, database and collection, then recreates the defaults.
   * @throws ChromaForbiddenError unless the settings have `allowReset`.
   */
  async reset(): Promise<void> {
    const api = await this.connect();
    if (!this.settings.allowReset) {
      throw new ChromaForbiddenError(RESET_DISABLED);
    }
    await api.reset();
    this.ready = undefined;
  }

  /** Collections of the database, ordered by id, paged with `limit` (default 100) and `offset` (default 0). */
  async listCollections(args: { limit?: number; offset?: number } = {}): Promise<Collection[]> {
    const { limit, offset } = readArguments(args, "listCollections arguments", (options) => ({
      limit: validateCount(options.limit, "limit") ?? 100,
      offset: validateCount(options.offset, "offset") ?? 0,
    }));
    const api = await this.connect();
    const models = await api.listCollections(this.tenant, this.database, limit, offset);
    return models.map((model) => this.toCollection(model, undefined));
  }

  /** Number of collections in the database. */
  async countCollections(): Promise<number> {
    const api = await this.connect();
    return api.countCollections(this.tenant, this.database);
  }

  /**
   * Creates a collection.
   * @throws ChromaUniqueError if one with that name exists.
   */
  async createCollection(args: CreateCollectionOptions): Promise<Collection> {
    return this.create(args, false);
  }

  /** Returns the collection with that name, unchanged (metadata and configuration are then ignored), or creates it. */
  async getOrCreateCollection(args: CreateCollectionOptions): Promise<Collection> {
    return this.create(args, true);
  }

  private async create(args: unknown, getOrCreate: boolean): Promise<Collection> {
    const given = readArguments(args, "collection options", (options) => {
      const name = requireString(options.name, "name");
      const metadata = validateMetadata(options.metadata);
      if (options.schema !== undefined && options.schema !== null) {
        throw new ChromaValueError("Collection schemas are not supported by chromalite yet");
      }
      return {
        name,
        metadata,
        configuration: readCreateConfiguration(options.configuration),
        embeddingFunction: validateEmbeddingFunction(options.embeddingFunction, "embeddingFunction"),
      };
    });
    const { name, metadata } = given;
    const { configuration, embeddingFunction } = await buildCreateConfiguration(given);
    const api = await this.connect();
    const model = await api.createCollection(this.tenant, this.database, {
      name,
      metadata,
      configuration,
      get_or_create: getOrCreate,
    });
    return this.toCollection(model, embeddingFunction);
  }

  /**
   * The collection with that name.
   * @throws ChromaNotFoundError if there is none.
   */
  async getCollection(args: GetCollectionOptions): Promise<Collection> {
    const { name, embeddingFunction } = readArguments(args, "getCollection arguments", readGetCollectionOptions);
    const api = await this.connect();
    return this.toCollection(await api.getCollection(this.tenant, this.database, name), embeddingFunction);
  }

  /** Several collections by name (or `{name, embeddingFunction}`). */
  async getCollections(items: (string | GetCollectionOptions)[]): Promise<Collection[]> {
    const wanted = safely("getCollections arguments", () => {
      if (!Array.isArray(items)) {
        throw new ChromaValueError("Expected 'items' to be an array of collection names");
      }
      checkLength(items, "items", MAX_LIST_LENGTH);
      // An index loop: holes of a sparse array are read (as undefined, and refused), not skipped.
      const list: { name: string; embeddingFunction: EmbeddingFunction | undefined }[] = new Array(items.length);
      for (let index = 0; index < items.length; index++) {
        const item: unknown = items[index];
        list[index] =
          typeof item === "string"
            ? { name: item, embeddingFunction: undefined }
            : readGetCollectionOptions(readOptions(item, "getCollections item"));
      }
      return list;
    });
    const api = await this.connect();
    return Promise.all(
      wanted.map(async ({ name, embeddingFunction }) =>
        this.toCollection(await api.getCollection(this.tenant, this.database, name), embeddingFunction),
      ),
    );
  }

  /**
   * The collection with that id, in this client's database.
   * @throws ChromaNotFoundError if there is none.
   */
  async getCollectionById(
    id: string | { id: string; embeddingFunction?: EmbeddingFunction },
  ): Promise<Collection> {
    const { collectionId, embeddingFunction } = readArguments(
      typeof id === "string" ? { id } : id,
      "getCollectionById arguments",
      (options) => ({
        collectionId: requireString(options.id, "id"),
        embeddingFunction: validateEmbeddingFunction(options.embeddingFunction, "embeddingFunction") ?? undefined,
      }),
    );
    const api = await this.connect();
    return this.toCollection(await api.getCollectionById(this.tenant, this.database, collectionId), embeddingFunction);
  }

  /**
   * Deletes a collection and all its records.
   * @throws ChromaNotFoundError if there is none with that name.
   */
  async deleteCollection(args: { name: string }): Promise<void> {
    const name = readArguments(args, "deleteCollection arguments", (options) => requireString(options.name, "name"));
    const api = await this.connect();
    await api.deleteCollection(this.tenant, this.database, name);
  }

  /** Releases this client (idempotent). The last client on a path closes its engine, flushing it to disk. */
  async close(): Promise<void> {
    await this.lease.release();
  }

  /** `await using client = PersistentClient(...)` closes the client at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// The safety net: whatever escapes a method is a ChromaError (see guardMethods).
guardMethods(ChromaClient);

/** The name and embedding function of a getCollection request (read under the caller's `safely`). */
function readGetCollectionOptions(options: Record<string, unknown>): {
  name: string;
  embeddingFunction: EmbeddingFunction | undefined;
} {
  return {
    name: requireString(options.name, "name"),
    embeddingFunction: validateEmbeddingFunction(options.embeddingFunction, "embeddingFunction") ?? undefined,
  };
}

/** The settings with the official client's `host` / `port` / `ssl` / `path` / `headers` options applied (HTTP). */
function withHttpOptions(settings: Settings, given: Record<string, unknown>): Settings {
  const port = given.port;
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port))) {
    throw new ChromaValueError(`Expected 'port' to be an integer, but got ${show(port)}`);
  }
  const host = optionalString(given.host, "host") ?? optionalString(given.path, "path") ?? "localhost";
  const headers = given.headers === undefined ? settings.chromaServerHeaders : readOptions(given.headers, "headers");
  return new Settings({
    ...settings.toJSON(),
    chromaApiImpl: FASTAPI_IMPL,
    chromaServerHost: host,
    chromaServerHttpPort: (port as number | undefined) ?? 8000,
    chromaServerSslEnabled: optionalBoolean(given.ssl, "ssl") ?? false,
    chromaServerHeaders: headers as Record<string, string> | null,
  });
}
