/**
 * Chroma's shared-system rule. Local clients are keyed by an identifier: the absolute persist directory when
 * persistent, else `"ephemeral"`. Clients on one identifier share one backend (one native engine), and must have
 * equal settings. Each client holds a lease; the last lease released closes the backend.
 *
 * This is also where settings choose the transport: `chromaApiImpl` FastAPI / AsyncFastAPI means HTTP, and an HTTP
 * client is a system of its own (Chroma keys it by a random uuid), never shared.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { ChromaApi } from "./api.js";
import { EmbeddedApi } from "./embedded-api.js";
import { CLOSED_MESSAGE, ChromaClosedError, ChromaValueError } from "./errors.js";
import { HttpApi } from "./http/http-api.js";
import type { TransportOptions } from "./http/transport.js";
import { loadNative } from "./native.js";
import { Settings } from "./settings.js";

/** Chroma's HTTP client implementation (`HttpClient`). */
export const FASTAPI_IMPL = "chromadb.api.fastapi.FastAPI";
/** Chroma's async HTTP client implementation (`AsyncHttpClient`). */
export const ASYNC_FASTAPI_IMPL = "chromadb.api.async_fastapi.AsyncFastAPI";
const HTTP_API_IMPLS = new Set([FASTAPI_IMPL, ASYNC_FASTAPI_IMPL]);
const LOCAL_API_IMPLS = new Set(["chromadb.api.rust.RustBindingsAPI", "chromadb.api.segment.SegmentAPI"]);

/** Whether the settings describe a client of a Chroma server. */
export function usesHttp(settings: Settings): boolean {
  return HTTP_API_IMPLS.has(settings.chromaApiImpl);
}

interface SharedSystem {
  identifier: string;
  /** The settings of the first client, with the persist directory made absolute. */
  settings: Settings;
  api: ChromaApi;
  leases: number;
}

const systems = new Map<string, SharedSystem>();
/** Backends still closing, by identifier: a new engine on the same path opens only after the old one closed. */
const closing = new Map<string, Promise<void>>();

/** One client's hold on a shared backend. */
export class SystemLease {
  private released = false;

  constructor(private readonly system: SharedSystem) {}

  /**
   * The backend.
   * @throws ChromaClosedError once released.
   */
  api(): ChromaApi {
    if (this.released) throw new ChromaClosedError(CLOSED_MESSAGE);
    return this.system.api;
  }

  /** Gives the lease back (idempotent); the last one closes the backend. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const system = this.system;
    if (--system.leases > 0) return;
    if (systems.get(system.identifier) === system) systems.delete(system.identifier);
    const closed = system.api.close();
    const settled: Promise<void> = closed
      .catch(() => undefined)
      .finally(() => {
        if (closing.get(system.identifier) === settled) closing.delete(system.identifier);
      });
    closing.set(system.identifier, settled);
    await closed;
  }
}

async function openEngine(identifier: string, path: string | null) {
  await closing.get(identifier);
  return loadNative().NativeEngine.open(path);
}

/**
 * Takes a lease on the backend the settings describe, creating it if no client holds one. Synchronous and
 * cheap: the engine opens (or the first request goes out) on the first call made through it.
 * @param http - Timeout and retries of an HTTP transport; ignored for local settings.
 * @throws ChromaValueError for invalid HTTP settings, or local settings that differ from those of a client on the
 *   same identifier.
 */
export function acquireSystem(settings: Settings, http: TransportOptions = {}): SystemLease {
  if (usesHttp(settings)) {
    return new SystemLease({ identifier: randomUUID(), settings, api: new HttpApi(settings, http), leases: 1 });
  }
  if (!LOCAL_API_IMPLS.has(settings.chromaApiImpl)) {
    throw new ChromaValueError(`Unsupported chroma_api_impl: ${settings.chromaApiImpl}`);
  }
  const identifier = settings.isPersistent ? resolve(settings.persistDirectory) : "ephemeral";
  const normalized = settings.isPersistent
    ? new Settings({ ...settings.toJSON(), persistDirectory: identifier })
    : settings;
  let system = systems.get(identifier);
  if (system && !system.settings.equals(normalized)) {
    throw new ChromaValueError(`An instance of Chroma already exists for ${identifier} with different settings`);
  }
  if (!system) {
    const path = settings.isPersistent ? identifier : null;
    system = { identifier, settings: normalized, api: new EmbeddedApi(() => openEngine(identifier, path)), leases: 0 };
    systems.set(identifier, system);
  }
  system.leases++;
  return new SystemLease(system);
}
