/**
 * The admin client: tenants and databases, with the official client's methods. Locally it shares the backend of the
 * clients on the same path, so tenants and databases it creates are what those clients see; with settings naming a
 * Chroma server it manages that server over HTTP.
 */
import "./dispose-polyfill.js";
import { acquireSystem, type SystemLease } from "./client-registry.js";
import { DEFAULT_TENANT, getSettings, toSettings, type Settings, type SettingsInit } from "./settings.js";
import { guardMethods } from "./errors.js";
import type { Database } from "./types.js";
import { readArguments, requireString, optionalString, validateCount } from "./validation.js";

/** Options of the admin client. */
export interface AdminClientOptions {
  /** What to run; default: the global settings (see `configure()`). */
  settings?: Settings | SettingsInit;
  /** HTTP only: milliseconds one request attempt may take. Default 60 000. */
  timeoutMs?: number;
}

/** Manages tenants and databases. Create one with `AdminClient({ settings })`. */
export class ChromaAdminClient implements AsyncDisposable {
  /** The settings this client was created with. */
  public readonly settings: Settings;
  private readonly lease: SystemLease;

  /** @throws ChromaValueError for invalid settings, or settings that differ from another client's on the same path. */
  constructor(options: AdminClientOptions = {}) {
    const given = readArguments(options, "admin client options", (given) => ({
      settings: given.settings === undefined ? getSettings() : toSettings(given.settings as SettingsInit),
      timeoutMs: validateCount(given.timeoutMs, "timeoutMs"),
    }));
    this.settings = given.settings;
    this.lease = acquireSystem(this.settings, { timeoutMs: given.timeoutMs });
  }

  /**
   * Creates a tenant (name of at least 3 characters).
   * @throws ChromaUniqueError if it exists.
   */
  async createTenant(args: { name: string }): Promise<void> {
    const name = readArguments(args, "createTenant arguments", (options) => requireString(options.name, "name"));
    await this.lease.api().createTenant(name);
  }

  /**
   * The tenant's name, if it exists.
   * @throws ChromaNotFoundError if it does not.
   */
  async getTenant(args: { name: string }): Promise<string> {
    const name = readArguments(args, "getTenant arguments", (options) => requireString(options.name, "name"));
    return this.lease.api().getTenant(name);
  }

  /**
   * Tenant names ordered by name, paged with `limit` (default: all) and `offset` (default 0).
   * @throws ChromaServerError from a Chroma server that cannot list tenants (Chroma 1.x servers cannot).
   */
  async listTenants(args: { limit?: number; offset?: number } = {}): Promise<string[]> {
    const { limit, offset } = readArguments(args, "listTenants arguments", (options) => ({
      limit: validateCount(options.limit, "limit"),
      offset: validateCount(options.offset, "offset") ?? 0,
    }));
    return this.lease.api().listTenants(limit, offset);
  }

  /**
   * Creates a database in a tenant (default tenant if omitted).
   * @throws ChromaUniqueError if the tenant already has one with that name.
   */
  async createDatabase(args: { name: string; tenant?: string }): Promise<void> {
    const { name, tenant } = databaseArgs(args, "createDatabase");
    await this.lease.api().createDatabase(tenant, name);
  }

  /**
   * A database: `{id, name, tenant}`.
   * @throws ChromaNotFoundError if it does not exist.
   */
  async getDatabase(args: { name: string; tenant?: string }): Promise<Database> {
    const { name, tenant } = databaseArgs(args, "getDatabase");
    return this.lease.api().getDatabase(tenant, name);
  }

  /**
   * Deletes a database and all its collections.
   * @throws ChromaNotFoundError if it does not exist.
   */
  async deleteDatabase(args: { name: string; tenant?: string }): Promise<void> {
    const { name, tenant } = databaseArgs(args, "deleteDatabase");
    await this.lease.api().deleteDatabase(tenant, name);
  }

  /** A tenant's databases ordered by name, paged with `limit` (default 100) and `offset` (default 0). */
  async listDatabases(args: { tenant?: string; limit?: number; offset?: number } = {}): Promise<Database[]> {
    const { tenant, limit, offset } = readArguments(args, "listDatabases arguments", (options) => ({
      tenant: optionalString(options.tenant, "tenant") ?? DEFAULT_TENANT,
      limit: validateCount(options.limit, "limit") ?? 100,
      offset: validateCount(options.offset, "offset") ?? 0,
    }));
    return this.lease.api().listDatabases(tenant, limit, offset);
  }

  /** Releases this client (idempotent). The last client on a path closes its engine. */
  async close(): Promise<void> {
    await this.lease.release();
  }

  /** `await using admin = AdminClient(...)` closes the client at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// The safety net: whatever escapes a method is a ChromaError (see guardMethods).
guardMethods(ChromaAdminClient);

function databaseArgs(args: unknown, method: string): { name: string; tenant: string } {
  return readArguments(args, `${method} arguments`, (options) => ({
    name: requireString(options.name, "name"),
    tenant: optionalString(options.tenant, "tenant") ?? DEFAULT_TENANT,
  }));
}
