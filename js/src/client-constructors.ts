/**
 * The client constructors of Python Chroma (`chromadb.EphemeralClient(...)`, ...), as synchronous functions
 * taking one options object. They only check arguments and register the client: the engine opens on the first
 * call, and errors from opening it (a locked or damaged directory) surface there.
 *
 * The HTTP and Cloud constructors check their arguments like Chroma, then report that HTTP is not available yet.
 */
import { ChromaAdminClient } from "./admin-client.js";
import { ChromaClient } from "./client.js";
import { httpUnavailable } from "./client-registry.js";
import { ChromaValueError } from "./errors.js";
import {
  getSettings,
  RUST_API_IMPL,
  Settings,
  toSettings,
  type SettingsInit,
  type SettingsValues,
} from "./settings.js";
import { optionalBoolean, optionalString, readOptions, requireString, show } from "./validation.js";

/** Options shared by the local constructors. */
export interface LocalClientOptions {
  /** Settings to start from; default: fresh `Settings()` (environment and Chroma's defaults). */
  settings?: Settings | SettingsInit;
  /** Tenant for every call. Default `"default_tenant"`. */
  tenant?: string;
  /** Database for every call. Default `"default_database"`. */
  database?: string;
}

/** Options of {@link PersistentClient}. */
export interface PersistentClientOptions extends LocalClientOptions {
  /** Directory holding the data. Default `"./chroma"`. */
  path?: string;
}

/** Options of {@link RustClient}: persistent at `path`, in memory without one. */
export interface RustClientOptions extends LocalClientOptions {
  /** Directory holding the data; absent = in memory. */
  path?: string | null;
}

/** Options of {@link HttpClient} and {@link AsyncHttpClient}. */
export interface HttpClientOptions extends LocalClientOptions {
  /** Server host. Default `"localhost"`. */
  host?: string;
  /** Server port. Default 8000. */
  port?: number;
  /** Use HTTPS. Default false. */
  ssl?: boolean;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/** Options of {@link CloudClient}. */
export interface CloudClientOptions extends LocalClientOptions {
  /** API key; default: the `CHROMA_API_KEY` environment variable. */
  apiKey?: string;
  /** Chroma Cloud host. Default `"api.trychroma.com"`. */
  cloudHost?: string;
  /** Chroma Cloud port. Default 443. */
  cloudPort?: number;
  /** Use HTTPS. Default true. */
  enableSsl?: boolean;
}

/** Options of {@link AdminClient}. `host` / `port` / `ssl` / `headers` (official client) mean HTTP. */
export interface AdminClientConstructorOptions {
  /** What to manage; default: the global settings (see `configure()`). Local settings manage the embedded engine. */
  settings?: Settings | SettingsInit;
  /** Server host (HTTP; not available yet). */
  host?: string;
  /** Server port (HTTP; not available yet). */
  port?: number;
  /** Use HTTPS (HTTP; not available yet). */
  ssl?: boolean;
  /** Request headers (HTTP; not available yet). */
  headers?: Record<string, string>;
}

/** The settings given (or fresh ones), with some values replaced. */
function settingsWith(given: unknown, overrides: Partial<SettingsValues>): Settings {
  const base = given === undefined ? new Settings() : toSettings(given as SettingsInit);
  return new Settings({ ...base.toJSON(), ...overrides });
}

function localClient(given: Record<string, unknown>, overrides: Partial<SettingsValues>): ChromaClient {
  return new ChromaClient({
    settings: settingsWith(given.settings, overrides),
    tenant: optionalString(given.tenant, "tenant"),
    database: optionalString(given.database, "database"),
  });
}

/** Settings that name a server host mean HTTP when given to `Client()` / `AdminClient()`. */
function requireLocal(settings: Settings, what: string): Settings {
  if (settings.chromaServerHost !== null) {
    throw httpUnavailable(`${what} with chroma_server_host set`);
  }
  return settings;
}

/** An in-memory client; its data is lost when the last client on it closes. Ephemeral clients share one engine. */
export function EphemeralClient(options: LocalClientOptions = {}): ChromaClient {
  return localClient(readOptions(options, "EphemeralClient options"), { isPersistent: false });
}

/** A client storing its data in `path` (default `"./chroma"`). Clients on one path share one engine. */
export function PersistentClient(options: PersistentClientOptions = {}): ChromaClient {
  const given = readOptions(options, "PersistentClient options");
  const path = given.path === undefined ? "./chroma" : requireString(given.path, "path");
  return localClient(given, { isPersistent: true, persistDirectory: path });
}

/** Chroma's Rust-bindings client: persistent when `path` is given, in memory otherwise. */
export function RustClient(options: RustClientOptions = {}): ChromaClient {
  const given = readOptions(options, "RustClient options");
  const path = optionalString(given.path, "path");
  return localClient(
    given,
    path === undefined
      ? { chromaApiImpl: RUST_API_IMPL, isPersistent: false }
      : { chromaApiImpl: RUST_API_IMPL, isPersistent: true, persistDirectory: path },
  );
}

/** The client the settings describe (default: the global settings): persistent when `isPersistent`. */
export function Client(options: LocalClientOptions = {}): ChromaClient {
  const given = readOptions(options, "Client options");
  const settings = given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit);
  return new ChromaClient({
    settings: requireLocal(settings, "Client()"),
    tenant: optionalString(given.tenant, "tenant"),
    database: optionalString(given.database, "database"),
  });
}

function checkHttpOptions(options: unknown, what: string): never {
  const given = readOptions(options, `${what} options`);
  const host = optionalString(given.host, "host") ?? "localhost";
  const port = given.port ?? 8000;
  if (typeof port !== "number" || !Number.isInteger(port)) {
    throw new ChromaValueError(`Expected 'port' to be an integer, but got ${show(port)}`);
  }
  optionalBoolean(given.ssl, "ssl");
  readOptions(given.headers, "headers");
  const settings = given.settings === undefined ? new Settings() : toSettings(given.settings as SettingsInit);
  if (settings.chromaServerHost !== null && settings.chromaServerHost !== host) {
    throw new ChromaValueError(
      `Chroma server host provided in settings[${settings.chromaServerHost}] is different to the one provided in HttpClient: [${host}]`,
    );
  }
  if (settings.chromaServerHttpPort !== null && settings.chromaServerHttpPort !== port) {
    throw new ChromaValueError(
      `Chroma server http port provided in settings[${settings.chromaServerHttpPort}] is different to the one provided in HttpClient: [${port}]`,
    );
  }
  throw httpUnavailable(`${what}()`);
}

/**
 * A client for a Chroma server. Not available yet.
 * @throws ChromaValueError always: for conflicting arguments as Chroma does, otherwise because HTTP is unavailable.
 */
export function HttpClient(options: HttpClientOptions = {}): ChromaClient {
  return checkHttpOptions(options, "HttpClient");
}

/**
 * The async client for a Chroma server. Not available yet.
 * @returns A promise that rejects with ChromaValueError, for conflicting arguments or because HTTP is unavailable.
 */
export async function AsyncHttpClient(options: HttpClientOptions = {}): Promise<ChromaClient> {
  return checkHttpOptions(options, "AsyncHttpClient");
}

/**
 * A client for Chroma Cloud. Not available yet.
 * @throws ChromaValueError always: without an API key as Chroma does, otherwise because HTTP is unavailable.
 */
export function CloudClient(options: CloudClientOptions = {}): ChromaClient {
  const given = readOptions(options, "CloudClient options");
  const apiKey = optionalString(given.apiKey, "apiKey") || process.env.CHROMA_API_KEY;
  if (!apiKey) {
    throw new ChromaValueError(
      "Missing API key. Please provide it to the CloudClient constructor or set your CHROMA_API_KEY environment variable",
    );
  }
  throw httpUnavailable("CloudClient()");
}

/** The type of what {@link CloudClient} would return, for code typed against the official client. */
export type CloudClient = ChromaClient;

/** Manages tenants and databases of the engine the settings describe (default: the global settings). */
export function AdminClient(options: AdminClientConstructorOptions = {}): ChromaAdminClient {
  const given = readOptions(options, "AdminClient options");
  const httpOption = ["host", "port", "ssl", "headers"].find((key) => given[key] !== undefined);
  if (httpOption !== undefined) {
    throw httpUnavailable(`AdminClient({ ${httpOption} })`);
  }
  const settings = given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit);
  return new ChromaAdminClient({ settings: requireLocal(settings, "AdminClient()") });
}

/** The type of what {@link AdminClient} returns, for code typed against the official client. */
export type AdminClient = ChromaAdminClient;
