/**
 * The client constructors of Python Chroma (`chromadb.EphemeralClient(...)`, ...), as synchronous functions
 * taking one options object (`AsyncHttpClient` returns a promise). They only check arguments and register the
 * client: the engine opens, or the first request goes to the server, on the first call, and errors from opening it
 * (a locked or damaged directory, a server that does not answer) surface there.
 */
import { ChromaAdminClient } from "./admin-client.js";
import { ChromaClient, type ChromaClientOptions } from "./client.js";
import { ASYNC_FASTAPI_IMPL, FASTAPI_IMPL, usesHttp } from "./client-registry.js";
import { ChromaValueError } from "./errors.js";
import { CHROMA_TOKEN_HEADER, TOKEN_AUTH_PROVIDER } from "./http/auth.js";
import { DEFAULT_HOST, DEFAULT_PORT } from "./http/url.js";
import {
  getSettings,
  RUST_API_IMPL,
  Settings,
  toSettings,
  type SettingsInit,
  type SettingsValues,
} from "./settings.js";
import { optionalBoolean, optionalString, readArguments, readOptions, requireString, show, validateCount } from "./validation.js";

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
  /** Headers sent with every request. Default: the settings' `chromaServerHeaders`. */
  headers?: Record<string, string>;
  /** Milliseconds one request attempt may take before it fails with `ChromaTimeoutError`. Default 60 000. */
  timeoutMs?: number;
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
  /** Milliseconds one request attempt may take before it fails with `ChromaTimeoutError`. Default 60 000. */
  timeoutMs?: number;
}

/** Options of {@link AdminClient}. `host` / `port` / `ssl` / `headers` (official client) mean HTTP. */
export interface AdminClientConstructorOptions {
  /**
   * What to manage; default: the global settings (see `configure()`). Local settings manage the embedded engine;
   * settings naming a server (`chromaServerHost`, or an HTTP `chromaApiImpl`) manage that server.
   */
  settings?: Settings | SettingsInit;
  /** Server host (HTTP). Default `"localhost"` when `port`, `ssl` or `headers` is given. */
  host?: string;
  /** Server port (HTTP). Default 8000. */
  port?: number;
  /** Use HTTPS (HTTP). Default false. */
  ssl?: boolean;
  /** Request headers (HTTP). */
  headers?: Record<string, string>;
  /** HTTP only: milliseconds one request attempt may take. Default 60 000. */
  timeoutMs?: number;
}

/** The settings given (or fresh ones), with some values replaced. */
function settingsWith(given: unknown, overrides: Partial<SettingsValues>): Settings {
  const base = given === undefined ? new Settings() : toSettings(given as SettingsInit);
  return new Settings({ ...base.toJSON(), ...overrides });
}

/** The options of a local client: the given settings with `overrides`, tenant and database. */
function localOptions(given: Record<string, unknown>, overrides: Partial<SettingsValues>): ChromaClientOptions {
  return {
    settings: settingsWith(given.settings, overrides),
    tenant: optionalString(given.tenant, "tenant"),
    database: optionalString(given.database, "database"),
  };
}

/**
 * Settings that name a server host mean HTTP when given to `Client()` / `AdminClient()`, as they do in Chroma's
 * server-backed setups; the local constructors ignore the host.
 */
function selectTransport(settings: Settings): Settings {
  if (usesHttp(settings) || settings.chromaServerHost === null) return settings;
  return new Settings({ ...settings.toJSON(), chromaApiImpl: FASTAPI_IMPL });
}

/** An in-memory client; its data is lost when the last client on it closes. Ephemeral clients share one engine. */
export function EphemeralClient(options: LocalClientOptions = {}): ChromaClient {
  return new ChromaClient(
    readArguments(options, "EphemeralClient options", (given) => localOptions(given, { isPersistent: false })),
  );
}

/** A client storing its data in `path` (default `"./chroma"`). Clients on one path share one engine. */
export function PersistentClient(options: PersistentClientOptions = {}): ChromaClient {
  const clientOptions = readArguments(options, "PersistentClient options", (given) => {
    const path = given.path === undefined ? "./chroma" : requireString(given.path, "path");
    return localOptions(given, { isPersistent: true, persistDirectory: path });
  });
  return new ChromaClient(clientOptions);
}

/** Chroma's Rust-bindings client: persistent when `path` is given, in memory otherwise. */
export function RustClient(options: RustClientOptions = {}): ChromaClient {
  const clientOptions = readArguments(options, "RustClient options", (given) => {
    const path = optionalString(given.path, "path");
    return localOptions(
      given,
      path === undefined
        ? { chromaApiImpl: RUST_API_IMPL, isPersistent: false }
        : { chromaApiImpl: RUST_API_IMPL, isPersistent: true, persistDirectory: path },
    );
  });
  return new ChromaClient(clientOptions);
}

/** The client the settings describe (default: the global settings): persistent when `isPersistent`. */
export function Client(options: LocalClientOptions = {}): ChromaClient {
  const clientOptions = readArguments(options, "Client options", (given) => {
    const settings = given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit);
    return {
      settings: selectTransport(settings),
      tenant: optionalString(given.tenant, "tenant"),
      database: optionalString(given.database, "database"),
    };
  });
  return new ChromaClient(clientOptions);
}

/**
 * The settings of an HTTP client: Chroma's `HttpClient` rule (settings naming another host or port are an error),
 * then host, port, ssl and headers applied.
 */
function httpSettings(given: Record<string, unknown>, apiImpl: string, what: string): Settings {
  const host = optionalString(given.host, "host") ?? DEFAULT_HOST;
  const port = given.port ?? DEFAULT_PORT;
  if (typeof port !== "number" || !Number.isInteger(port)) {
    throw new ChromaValueError(`Expected 'port' to be an integer, but got ${show(port)}`);
  }
  const ssl = optionalBoolean(given.ssl, "ssl") ?? false;
  const headers = given.headers === undefined ? undefined : readOptions(given.headers, "headers");
  const settings = given.settings === undefined ? new Settings() : toSettings(given.settings as SettingsInit);
  if (settings.chromaServerHost !== null && settings.chromaServerHost !== host) {
    throw new ChromaValueError(
      `Chroma server host provided in settings[${settings.chromaServerHost}] is different to the one provided in ${what}: [${host}]`,
    );
  }
  if (settings.chromaServerHttpPort !== null && settings.chromaServerHttpPort !== port) {
    throw new ChromaValueError(
      `Chroma server http port provided in settings[${settings.chromaServerHttpPort}] is different to the one provided in ${what}: [${port}]`,
    );
  }
  return new Settings({
    ...settings.toJSON(),
    chromaApiImpl: apiImpl,
    chromaServerHost: host,
    chromaServerHttpPort: port,
    chromaServerSslEnabled: ssl,
    chromaServerHeaders: (headers as Record<string, string> | undefined) ?? settings.chromaServerHeaders,
  });
}

function httpClient(options: unknown, apiImpl: string, what: string): ChromaClient {
  const clientOptions = readArguments(options, `${what} options`, (given) => ({
    settings: httpSettings(given, apiImpl, "HttpClient"),
    tenant: optionalString(given.tenant, "tenant"),
    database: optionalString(given.database, "database"),
    timeoutMs: validateCount(given.timeoutMs, "timeoutMs"),
  }));
  return new ChromaClient(clientOptions);
}

/**
 * A client of a Chroma server (`chroma run`) at `host:port` (default `localhost:8000`); `host` may also be a full
 * URL. Nothing is sent until the first call, which checks the tenant and database.
 * @throws ChromaValueError for invalid options, or settings naming a different host or port (Chroma's message).
 */
export function HttpClient(options: HttpClientOptions = {}): ChromaClient {
  return httpClient(options, FASTAPI_IMPL, "HttpClient");
}

/**
 * As {@link HttpClient}, connected: resolves once the server answered and the tenant and database were checked.
 * @returns A promise that rejects with the error of the first call (`ChromaConnectionError` when no server
 *   answers), or ChromaValueError for invalid options.
 */
export async function AsyncHttpClient(options: HttpClientOptions = {}): Promise<ChromaClient> {
  const client = httpClient(options, ASYNC_FASTAPI_IMPL, "AsyncHttpClient");
  try {
    await client.heartbeat();
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}

/**
 * A client of Chroma Cloud (or any server at `cloudHost:cloudPort`), authenticated with an API key sent as
 * `X-Chroma-Token`. The tenant and database come from the options, else `CHROMA_TENANT` / `CHROMA_DATABASE`, else
 * from the key's identity (`GET /api/v2/auth/identity`) on the first call.
 * @throws ChromaValueError without an API key (argument or `CHROMA_API_KEY`), or for invalid options.
 */
export function CloudClient(options: CloudClientOptions = {}): ChromaClient {
  const clientOptions = readArguments(options, "CloudClient options", cloudOptions);
  return new ChromaClient(clientOptions);
}

/** The client options of {@link CloudClient}. */
function cloudOptions(given: Record<string, unknown>): ChromaClientOptions {
  const apiKey = optionalString(given.apiKey, "apiKey") || process.env.CHROMA_API_KEY;
  if (!apiKey) {
    throw new ChromaValueError(
      "Missing API key. Please provide it to the CloudClient constructor or set your CHROMA_API_KEY environment variable",
    );
  }
  const port = given.cloudPort ?? 443;
  if (typeof port !== "number" || !Number.isInteger(port)) {
    throw new ChromaValueError(`Expected 'cloudPort' to be an integer, but got ${show(port)}`);
  }
  const base = given.settings === undefined ? new Settings() : toSettings(given.settings as SettingsInit);
  const settings = new Settings({
    ...base.toJSON(),
    chromaApiImpl: FASTAPI_IMPL,
    chromaServerHost: optionalString(given.cloudHost, "cloudHost") ?? "api.trychroma.com",
    chromaServerHttpPort: port,
    chromaServerSslEnabled: optionalBoolean(given.enableSsl, "enableSsl") ?? true,
    chromaClientAuthProvider: TOKEN_AUTH_PROVIDER,
    chromaClientAuthCredentials: apiKey,
    chromaAuthTokenTransportHeader: CHROMA_TOKEN_HEADER,
    chromaOverwriteSingletonTenantDatabaseAccessFromAuth: true,
  });
  return {
    settings,
    tenant: optionalString(given.tenant, "tenant") || process.env.CHROMA_TENANT || undefined,
    database: optionalString(given.database, "database") || process.env.CHROMA_DATABASE || undefined,
    timeoutMs: validateCount(given.timeoutMs, "timeoutMs"),
  };
}

/** The type of what {@link CloudClient} returns, for code typed against the official client. */
export type CloudClient = ChromaClient;

/**
 * Manages tenants and databases of the engine or server the settings describe (default: the global settings), or
 * of the server at `host` / `port` (official client options).
 * @throws ChromaValueError for invalid options.
 */
export function AdminClient(options: AdminClientConstructorOptions = {}): ChromaAdminClient {
  const adminOptions = readArguments(options, "AdminClient options", (given) => {
    const timeoutMs = validateCount(given.timeoutMs, "timeoutMs");
    if (["host", "port", "ssl", "headers"].some((key) => given[key] !== undefined)) {
      return { settings: httpSettings(given, FASTAPI_IMPL, "AdminClient"), timeoutMs };
    }
    const settings = given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit);
    return { settings: selectTransport(settings), timeoutMs };
  });
  return new ChromaAdminClient(adminOptions);
}

/** The type of what {@link AdminClient} returns, for code typed against the official client. */
export type AdminClient = ChromaAdminClient;
