/**
 * The one place where a Chroma server's error responses become chromalite's error classes. The classes are those
 * the embedded client throws for the same Chroma error code (§9 of the spec: 400 InvalidArgument →
 * `ChromaValueError`, 404 → `ChromaNotFoundError`, 409 → `ChromaUniqueError`, 403 → `ChromaForbiddenError`, 501 →
 * `ChromaValueError` like the embedded engine's "not implemented for Local Chroma"), so code
 * written against either client catches the same errors. The message is the server's own (`{"error", "message"}`
 * body), not a generic text, so it says what went wrong.
 */
import {
  ChromaBackoffError,
  ChromaError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaQuotaExceededError,
  ChromaRateLimitError,
  ChromaServerError,
  ChromaUnauthorizedError,
  ChromaUniqueError,
  ChromaValueError,
} from "../errors.js";

/** What went wrong on the wire; the `cause` of every error mapped from a response. */
export class HttpResponseError extends Error {
  constructor(
    /** HTTP status. */
    public readonly status: number,
    /** `METHOD url` of the request. */
    public readonly request: string,
    /** The server's error name (`error` field of the body), if any. */
    public readonly errorName: string | undefined,
    /** The server's `chroma-trace-id` header, if any. */
    public readonly traceId: string | undefined,
  ) {
    super(`HTTP ${status} from ${request}${errorName ? ` (${errorName})` : ""}`);
    this.name = "HttpResponseError";
  }
}

/** The `{"error", "message"}` body of a Chroma error response, as far as it is there. */
export interface ErrorBody {
  error?: string;
  message?: string;
}

/** Parses an error body leniently: JSON with `error` / `message`, else the raw text as the message. */
export function parseErrorBody(text: string): ErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) {
      const { error, message } = parsed as Record<string, unknown>;
      return {
        error: typeof error === "string" ? error : undefined,
        message: typeof message === "string" ? message : undefined,
      };
    }
  } catch {
    // Not JSON: a proxy's HTML page or plain text.
  }
  const trimmed = text.trim();
  return { message: trimmed === "" ? undefined : trimmed.slice(0, 500) };
}

/** Maps a non-2xx response to its error class, keeping the server's message. */
export function errorFromResponse(status: number, body: ErrorBody, cause: HttpResponseError): ChromaError {
  const message = body.message;
  switch (status) {
    case 400:
      return new ChromaValueError(message ?? "Bad request", cause);
    case 401:
      return new ChromaUnauthorizedError(message ?? "Unauthorized", cause);
    case 403:
      return new ChromaForbiddenError(message ?? "You do not have permission to access the requested resource.", cause);
    case 404:
      return new ChromaNotFoundError(message ?? "The requested resource could not be found", cause);
    case 409:
      return new ChromaUniqueError(message ?? "The resource already exists", cause);
    case 422:
      if (message && /^(Quota exceeded|Billing limit exceeded)/.test(message)) {
        return new ChromaQuotaExceededError(message, cause);
      }
      // axum's answer to a body it cannot deserialize: an argument of the wrong shape.
      return new ChromaValueError(message ?? "Unprocessable request", cause);
    case 501:
      // Unimplemented: what the server does not offer (fork on a local server). The embedded engine refuses the
      // same operations with ChromaValueError, so code catching one catches the other.
      return new ChromaValueError(message ?? "Not implemented by this Chroma server", cause);
    case 429:
      return body.error === "Backoff"
        ? new ChromaBackoffError(message ?? "Backoff", cause)
        : new ChromaRateLimitError(message ?? "Rate limit exceeded", cause);
    default:
      return new ChromaServerError(message ?? `The Chroma server answered ${cause.request} with HTTP ${status}`, cause);
  }
}
