/**
 * One HTTP exchange with a Chroma server over Node's global `fetch`: JSON in and out, a timeout per attempt,
 * bounded retries of idempotent GETs, and every failure as a typed Chroma error:
 * - no connection (refused, DNS, reset) → `ChromaConnectionError`; no answer in time → `ChromaTimeoutError`;
 * - an error status → the class `errorFromResponse` maps it to (5xx → `ChromaServerError`);
 * - a request in flight when the client closes → `ChromaClosedError`.
 *
 * Only GETs are retried (after a connection failure, a timeout, or 502 / 503 / 504): a POST that timed out may
 * have been applied, and repeating a write is not always harmless (an `add` of the same ids is skipped, but an
 * `update` racing another writer is not).
 */
import {
  CLOSED_MESSAGE,
  ChromaClosedError,
  ChromaConnectionError,
  ChromaError,
  ChromaServerError,
  ChromaTimeoutError,
  ChromaValueError,
} from "../errors.js";
import { errorFromResponse, HttpResponseError, parseErrorBody } from "./status-errors.js";

/** How the transport behaves; every field has a default. */
export interface TransportOptions {
  /** Milliseconds one attempt may take, body included. Default 60 000. */
  timeoutMs?: number;
  /** Extra attempts of a GET after a transient failure. Default 2. */
  retries?: number;
  /** Milliseconds before the first retry; doubles each time. Default 200. */
  retryDelayMs?: number;
}

/** Default per-attempt timeout: generous, since a query on a large collection can take seconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_RETRIES = 2;
const DEFAULT_RETRY_DELAY_MS = 200;
const RETRYABLE_STATUSES = new Set([502, 503, 504]);
/** `setTimeout` fires at once for delays above this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** One request: a path below the API base URL, an optional query string and JSON body. */
export interface RequestSpec {
  method: HttpMethod;
  /** Already URL-encoded, starting with `/`. */
  path: string;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | undefined>;
  /** Serialized as JSON. */
  body?: unknown;
}

/** Why an attempt failed before any response arrived. */
type AbortReason = "timeout" | "closed";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The errno-style code of a fetch failure (`ECONNREFUSED`, `ENOTFOUND`, ...), found in its cause chain. */
function failureCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = current.cause;
  }
  return undefined;
}

/** Sends requests to one server; one instance per client. */
export class HttpTransport {
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  /**
   * @param baseUrl - The API root, e.g. `http://localhost:8000/api/v2`.
   * @param headers - Sent with every request (auth and user headers).
   * @throws ChromaValueError for a URL or a header that fetch would refuse.
   */
  constructor(
    public readonly baseUrl: string,
    private readonly headers: Record<string, string>,
    options: TransportOptions = {},
  ) {
    try {
      new URL(baseUrl);
    } catch (error) {
      throw new ChromaValueError(`Invalid Chroma server URL: ${baseUrl}`, error);
    }
    try {
      new Headers(headers);
    } catch (error) {
      throw new ChromaValueError(`Invalid request header: ${(error as Error).message}`, error);
    }
    this.timeoutMs = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMER_MS);
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  /** Aborts requests in flight (they reject with `ChromaClosedError`); later requests reject the same way. */
  close(): void {
    this.closed = true;
    for (const controller of this.inFlight) controller.abort("closed" satisfies AbortReason);
    this.inFlight.clear();
  }

  /**
   * Sends the request and resolves with the parsed JSON answer (`null` for an empty body).
   * @throws ChromaError subclasses only (see the module comment).
   */
  async request<T>(spec: RequestSpec): Promise<T> {
    const url = this.url(spec);
    const body = spec.body === undefined ? undefined : encode(spec.body);
    const attempts = spec.method === "GET" ? 1 + this.retries : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.attempt(spec.method, url, body)) as T;
      } catch (error) {
        if (attempt >= attempts || !isTransient(error) || this.closed) throw error;
        await sleep(this.retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  private url(spec: RequestSpec): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const query = params.toString();
    return `${this.baseUrl}${spec.path}${query ? `?${query}` : ""}`;
  }

  private async attempt(method: HttpMethod, url: string, body: string | undefined): Promise<unknown> {
    if (this.closed) throw new ChromaClosedError(CLOSED_MESSAGE);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort("timeout" satisfies AbortReason), this.timeoutMs);
    this.inFlight.add(controller);
    const described = `${method} ${url}`;
    try {
      const headers: Record<string, string> = { ...this.headers };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const response = await fetch(url, { method, headers, body, signal: controller.signal });
      const text = await response.text();
      if (!response.ok) {
        const errorBody = parseErrorBody(text);
        const cause = new HttpResponseError(
          response.status,
          described,
          errorBody.error,
          response.headers.get("chroma-trace-id") ?? undefined,
        );
        throw errorFromResponse(response.status, errorBody, cause);
      }
      return parseJson(text, described);
    } catch (error) {
      if (controller.signal.aborted) {
        if (controller.signal.reason === "closed") throw new ChromaClosedError(CLOSED_MESSAGE, error);
        throw new ChromaTimeoutError(`${described} got no answer within ${this.timeoutMs} ms`, error);
      }
      if (error instanceof ChromaError) throw error;
      const code = failureCode(error);
      throw new ChromaConnectionError(
        `Could not connect to a Chroma server at ${this.baseUrl}. Are you sure it is running?` +
          (code ? ` (${code})` : error instanceof Error ? ` (${error.message})` : ""),
        error,
      );
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
  }
}

function encode(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (error) {
    throw new ChromaValueError(`The request cannot be encoded as JSON: ${(error as Error).message}`, error);
  }
}

function parseJson(text: string, described: string): unknown {
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ChromaServerError(`${described} answered with a body that is not JSON: ${text.slice(0, 200)}`, error);
  }
}

/** Failures worth repeating a GET for: no connection, no answer in time, or a gateway / overload status. */
function isTransient(error: unknown): boolean {
  if (error instanceof ChromaClosedError) return false;
  if (error instanceof ChromaConnectionError) return true;
  return error instanceof ChromaServerError && error.cause instanceof HttpResponseError && RETRYABLE_STATUSES.has(error.cause.status);
}
