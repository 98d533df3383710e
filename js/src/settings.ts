/**
 * Chroma's `Settings` (`chromadb/config.py`) with camelCase names. Each value comes from, in order: the object
 * given to the constructor (camelCase or snake_case keys), the environment variable named like the snake_case
 * field (case-insensitive, e.g. `ALLOW_RESET`), and Chroma's default. Strings are parsed like pydantic does.
 */
import { ChromaValueError } from "./errors.js";
import { MAX_VALUE_LIST_LENGTH, safely, show } from "./validation.js";

/** The tenant clients use when none is given. */
export const DEFAULT_TENANT = "default_tenant";
/** The database clients use when none is given. */
export const DEFAULT_DATABASE = "default_database";

/** The default `chromaApiImpl`: Chroma's Rust engine in process, which is what chromalite embeds. */
export const RUST_API_IMPL = "chromadb.api.rust.RustBindingsAPI";

/** Every Chroma setting. Values that Chroma leaves unset (`None`) are `null`. */
export interface SettingsValues {
  /** Free-form deployment name. Default `""`. */
  environment: string;
  /** Which client implementation to build. Default `"chromadb.api.rust.RustBindingsAPI"` (embedded); `"chromadb.api.segment.SegmentAPI"` is also local; `"chromadb.api.fastapi.FastAPI"` / `"chromadb.api.async_fastapi.AsyncFastAPI"` mean HTTP. */
  chromaApiImpl: string;
  /** WAL topic tenant. Default `"default"`. */
  tenantId: string;
  /** WAL topic namespace. Default `"default"`. */
  topicNamespace: string;
  /** Host of the Chroma server (HTTP clients). Default `null`. */
  chromaServerHost: string | null;
  /** Extra headers sent to the Chroma server (HTTP clients). Default `null`. */
  chromaServerHeaders: Record<string, string> | null;
  /** Port of the Chroma server (HTTP clients). Default `null`. */
  chromaServerHttpPort: number | null;
  /** Whether to use HTTPS (HTTP clients). Default `false`. */
  chromaServerSslEnabled: boolean | null;
  /** TLS verification: a boolean or a CA bundle path (HTTP clients). Default `null`. */
  chromaServerSslVerify: boolean | string | null;
  /** API path prefix. Default `"/api/v2"`. */
  chromaServerApiDefaultPath: "/api/v1" | "/api/v2";
  /** CORS origins a server allows. Default `[]`. */
  chromaServerCorsAllowOrigins: string[];
  /** HTTP keep-alive in seconds. Default `40`. */
  chromaHttpKeepaliveSecs: number;
  /** Maximum HTTP connections. Default `null`. */
  chromaHttpMaxConnections: number | null;
  /** Maximum idle HTTP connections. Default `null`. */
  chromaHttpMaxKeepaliveConnections: number | null;
  /** Whether data is stored on disk in `persistDirectory`. Default `false`. */
  isPersistent: boolean;
  /** Where persistent data lives. Default `"./chroma"`. */
  persistDirectory: string;
  /** Whether `client.reset()` may wipe everything. Default `false`. */
  allowReset: boolean;
  /** Chroma's telemetry switch. chromalite sends no telemetry whatever its value. Default `true`. */
  anonymizedTelemetry: boolean;
  /** Client auth provider class (HTTP clients). Default `null`. */
  chromaClientAuthProvider: string | null;
  /** Client auth credentials (HTTP clients). Default `null`. */
  chromaClientAuthCredentials: string | null;
  /** Header carrying the auth token; `null` means `Authorization`. Default `null`. */
  chromaAuthTokenTransportHeader: string | null;
  /** Let the auth identity choose the tenant and database. Default `false`. */
  chromaOverwriteSingletonTenantDatabaseAccessFromAuth: boolean;
  /** Migration mode. Default `"apply"`. */
  migrations: "none" | "validate" | "apply";
  /** Hash of applied migrations. Default `"md5"`. */
  migrationsHashAlgorithm: "md5" | "sha256";
  /** Segment cache memory limit in bytes; 0 = none. Default `0`. */
  chromaMemoryLimitBytes: number;
  /** Segment cache policy (only `"LRU"` exists). Default `null`. */
  chromaSegmentCachePolicy: string | null;
  /** Server worker threads. Default `40`. */
  chromaServerThreadPoolSize: number;
  /** Legacy (Chroma < 0.4). Any value other than `null` is rejected with Chroma's migration message. */
  chromaDbImpl: string | null;
}

/**
 * What `new Settings(...)` and `configure(...)` accept: any subset of the settings, with camelCase or snake_case
 * keys. A string is parsed as the environment variable would be (`"true"`, `"8000"`, JSON for objects and lists).
 */
export type SettingsInit = { [K in keyof SettingsValues]?: SettingsValues[K] | string } & Record<string, unknown>;

/** Chroma's `LEGACY_ERROR`, given for configurations from before Chroma 0.4. */
export const LEGACY_ERROR = `\u001b[91mYou are using a deprecated configuration of Chroma.

\u001b[94mIf you do not have data you wish to migrate, you only need to change how you construct
your Chroma client. Please see the "New Clients" section of https://docs.trychroma.com/deployment/migration.
________________________________________________________________________________________________

If you do have data you wish to migrate, we have a migration tool you can use in order to
migrate your data to the new Chroma architecture.
Please \`pip install chroma-migrate\` and run \`chroma-migrate\` to migrate your data and then
change how you construct your Chroma client.

See https://docs.trychroma.com/deployment/migration for more information or join our discord at https://discord.gg/8g5FESbj for help!\u001b[0m`;

const LEGACY_VALUES = new Set([
  "duckdb",
  "duckdb+parquet",
  "clickhouse",
  "local",
  "rest",
  "chromadb.db.duckdb.DuckDB",
  "chromadb.db.duckdb.PersistentDuckDB",
  "chromadb.db.clickhouse.Clickhouse",
  "chromadb.api.local.LocalAPI",
]);

/** Turns a raw value (a typed value or an environment string) into the field's type, or `undefined` if invalid. */
type Parser<T> = (raw: unknown) => T | undefined;

const TRUE_WORDS = new Set(["1", "on", "t", "true", "y", "yes"]);
const FALSE_WORDS = new Set(["0", "off", "f", "false", "n", "no"]);

const text: Parser<string> = (raw) => (typeof raw === "string" ? raw : undefined);

const bool: Parser<boolean> = (raw) => {
  if (typeof raw === "boolean") return raw;
  if (raw === 0 || raw === 1) return raw === 1;
  if (typeof raw !== "string") return undefined;
  const word = raw.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : undefined;
};

const integer: Parser<number> = (raw) => {
  const value = typeof raw === "string" && /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : raw;
  return typeof value === "number" && Number.isSafeInteger(value) ? value : undefined;
};

const float: Parser<number> = (raw) => {
  const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
};

/** Complex fields come from the environment as JSON, as pydantic reads them. */
function json(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

const headers: Parser<Record<string, string>> = (raw) => {
  const value = json(raw);
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value);
  return entries.every(([, v]) => typeof v === "string") ? Object.fromEntries(entries) : undefined;
};

/** A list of strings (a copy), of at most MAX_VALUE_LIST_LENGTH items: bounded before it is walked. */
const stringList: Parser<string[]> = (raw) => {
  const value = json(raw);
  if (!Array.isArray(value) || value.length > MAX_VALUE_LIST_LENGTH) return undefined;
  const list: string[] = new Array(value.length);
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    if (typeof item !== "string") return undefined;
    list[index] = item;
  }
  return list;
};

function oneOf<T extends string>(...choices: T[]): Parser<T> {
  return (raw) => (choices.includes(raw as T) ? (raw as T) : undefined);
}

/** `null` (or an empty environment string) means unset; anything else goes to `parse`. */
function nullable<T>(parse: Parser<T>): Parser<T | null> {
  return (raw) => (raw === null || raw === "" ? null : parse(raw));
}

interface Field<T> {
  parse: Parser<T>;
  fallback: T;
}

function field<T>(parse: Parser<T>, fallback: T): Field<T> {
  return { parse, fallback };
}

const FIELDS: { [K in keyof SettingsValues]: Field<SettingsValues[K]> } = {
  environment: field(text, ""),
  chromaApiImpl: field(text, RUST_API_IMPL),
  tenantId: field(text, "default"),
  topicNamespace: field(text, "default"),
  chromaServerHost: field(nullable(text), null),
  chromaServerHeaders: field(nullable(headers), null),
  chromaServerHttpPort: field(nullable(integer), null),
  chromaServerSslEnabled: field(nullable(bool), false),
  chromaServerSslVerify: field(
    nullable((raw) => bool(raw) ?? text(raw)),
    null,
  ),
  chromaServerApiDefaultPath: field(oneOf("/api/v1", "/api/v2"), "/api/v2"),
  chromaServerCorsAllowOrigins: field(stringList, []),
  chromaHttpKeepaliveSecs: field(float, 40),
  chromaHttpMaxConnections: field(nullable(integer), null),
  chromaHttpMaxKeepaliveConnections: field(nullable(integer), null),
  isPersistent: field(bool, false),
  persistDirectory: field(text, "./chroma"),
  allowReset: field(bool, false),
  anonymizedTelemetry: field(bool, true),
  chromaClientAuthProvider: field(nullable(text), null),
  chromaClientAuthCredentials: field(nullable(text), null),
  chromaAuthTokenTransportHeader: field(nullable(text), null),
  chromaOverwriteSingletonTenantDatabaseAccessFromAuth: field(bool, false),
  migrations: field(oneOf("none", "validate", "apply"), "apply"),
  migrationsHashAlgorithm: field(oneOf("md5", "sha256"), "md5"),
  chromaMemoryLimitBytes: field(integer, 0),
  chromaSegmentCachePolicy: field(nullable(text), null),
  chromaServerThreadPoolSize: field(integer, 40),
  chromaDbImpl: field(nullable(text), null),
};

type FieldName = keyof SettingsValues;

const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** `allowReset` → `allow_reset`: Chroma's field name, also the environment variable (upper-cased). */
function snakeCase(name: FieldName): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Matches `allowReset`, `allow_reset` and `ALLOW_RESET` alike. */
function looseKey(key: string): string {
  return key.replace(/_/g, "").toLowerCase();
}

const FIELD_BY_LOOSE_KEY = new Map(FIELD_NAMES.map((name) => [looseKey(name), name]));
const FIELD_BY_SNAKE_CASE = new Map(FIELD_NAMES.map((name) => [snakeCase(name), name]));

function parseField<K extends FieldName>(name: K, raw: unknown, source: string): SettingsValues[K] {
  const value = FIELDS[name].parse(raw);
  if (value === undefined) {
    throw new ChromaValueError(`Invalid value for setting ${snakeCase(name)} (from ${source}): ${show(raw)}`);
  }
  return value;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every((key) => Object.hasOwn(b, key) && sameValue(a[key as keyof typeof a], b[key as keyof typeof b]))
  );
}

// Declaration merging gives the class one typed, documented property per setting without repeating the list.
export interface Settings extends Readonly<SettingsValues> {}

/** Chroma settings. Fields are read-only; derive a changed copy with `new Settings({ ...settings.toJSON(), ... })`. */
export class Settings {
  /**
   * @param init - Settings to set explicitly; the rest come from the environment, then from Chroma's defaults.
   *   Unknown keys are ignored, as in Chroma.
   * @throws ChromaValueError for a value of the wrong type or a legacy (pre-0.4) configuration.
   */
  constructor(init: SettingsInit = {}) {
    const values = safely("settings", () => {
      if (typeof init !== "object" || init === null || Array.isArray(init)) {
        throw new ChromaValueError(`Expected settings to be an object, but got ${show(init)}`);
      }
      const given = new Map<FieldName, unknown>();
      for (const [key, raw] of Object.entries(init)) {
        const name = FIELD_BY_LOOSE_KEY.get(looseKey(key));
        if (name !== undefined && raw !== undefined) {
          given.set(name, parseField(name, raw, key));
        }
      }
      return given;
    });
    for (const [key, raw] of Object.entries(process.env)) {
      const name = FIELD_BY_SNAKE_CASE.get(key.toLowerCase());
      if (name !== undefined && raw !== undefined && !values.has(name)) {
        values.set(name, parseField(name, raw, `environment variable ${key}`));
      }
    }
    for (const name of FIELD_NAMES) {
      const value = values.has(name) ? values.get(name) : structuredClone(FIELDS[name].fallback);
      if (value !== null && (name === "chromaDbImpl" || (typeof value === "string" && LEGACY_VALUES.has(value)))) {
        throw new ChromaValueError(LEGACY_ERROR);
      }
      Object.defineProperty(this, name, { value, enumerable: true, writable: false });
    }
  }

  /** Whether every setting is equal: clients sharing one engine must agree on all of them. */
  equals(other: Settings): boolean {
    return safely("the settings to compare", () => other instanceof Settings)
      ? FIELD_NAMES.every((name) => sameValue(this[name], other[name]))
      : false;
  }

  /** A plain copy of every setting, e.g. to derive changed settings or to log them. */
  toJSON(): SettingsValues {
    return Object.fromEntries(FIELD_NAMES.map((name) => [name, this[name]])) as unknown as SettingsValues;
  }
}

/** Accepts a `Settings` instance or a plain init object, as client constructors do. */
export function toSettings(value: Settings | SettingsInit | undefined): Settings {
  return value instanceof Settings ? value : new Settings(value);
}

let globalSettings: Settings | undefined;

/** Replaces the global settings (those `Client()` uses by default) with `new Settings(init)`. */
export function configure(init: SettingsInit = {}): void {
  globalSettings = new Settings(init);
}

/** The global settings: those last given to `configure()`, else the environment and Chroma's defaults. */
export function getSettings(): Settings {
  globalSettings ??= new Settings();
  return globalSettings;
}
