/**
 * chromalite: Chroma, the open-source vector database, embedded in Node.js. The API is that of the official
 * `chromadb` client (v3); only how a client is created differs (`EphemeralClient()`, `PersistentClient({ path })`).
 */
import "./dispose-polyfill.js";

export { ChromaAdminClient, type AdminClientOptions } from "./admin-client.js";
export {
  ChromaClient,
  type ChromaClientOptions,
  type CreateCollectionOptions,
  type GetCollectionOptions,
} from "./client.js";
export {
  AdminClient,
  AsyncHttpClient,
  Client,
  CloudClient,
  EphemeralClient,
  HttpClient,
  PersistentClient,
  RustClient,
  type AdminClientConstructorOptions,
  type CloudClientOptions,
  type HttpClientOptions,
  type LocalClientOptions,
  type PersistentClientOptions,
  type RustClientOptions,
} from "./client-constructors.js";
export {
  Collection,
  type DeleteArgs,
  type FilterArgs,
  type GetArgs,
  type QueryArgs,
  type RecordsArgs,
} from "./collection.js";
export {
  DefaultEmbeddingFunction,
  type DefaultEmbeddingFunctionOptions,
} from "./embedding/default-embedding-function.js";
export {
  ChromaBackoffError,
  ChromaClientError,
  ChromaClosedError,
  ChromaConditionalWriteConflictError,
  ChromaConnectionError,
  ChromaCorruptedError,
  ChromaError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaQuotaExceededError,
  ChromaRateLimitError,
  ChromaServerError,
  ChromaStaleReadError,
  ChromaTimeoutError,
  ChromaUnauthorizedError,
  ChromaUniqueError,
  ChromaValueError,
  InvalidArgumentError,
  InvalidCollectionError,
} from "./errors.js";
export {
  GetResult,
  QueryResult,
  type GetRowRecord,
  type QueryRowRecord,
  type QueryRowResult,
} from "./results.js";
export {
  configure,
  DEFAULT_DATABASE,
  DEFAULT_TENANT,
  getSettings,
  LEGACY_ERROR,
  Settings,
  type SettingsInit,
  type SettingsValues,
} from "./settings.js";
export * from "./types.js";
export { engineVersion, getVersion, VERSION } from "./version.js";
