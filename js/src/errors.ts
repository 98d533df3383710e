/**
 * Error classes, named as in the official `chromadb` client so `instanceof` checks and `error.name` comparisons
 * written for it keep working, plus chromalite's own `ChromaClosedError` and `ChromaCorruptedError`.
 *
 * Every class extends {@link ChromaError}, so `catch (e) { if (e instanceof ChromaError) ... }` catches them all.
 * `fromNativeError` is the one place where the native addon's `[Code] message` errors become these classes.
 */

/** Base class of every error chromalite throws on purpose. `name` says which kind it is. */
export class ChromaError extends Error {
  /**
   * @param name - The error's name, e.g. `"ChromaValueError"`.
   * @param message - What went wrong.
   * @param cause - The underlying error, when there is one.
   */
  constructor(
    name: string,
    message: string,
    public override readonly cause?: unknown,
  ) {
    super(message);
    this.name = name;
  }
}

/** The Chroma server could not be reached (HTTP clients only). */
export class ChromaConnectionError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaConnectionError", message, cause);
  }
}

/**
 * A request to the Chroma server got no answer within the client's timeout (HTTP clients only). A subclass of
 * {@link ChromaConnectionError}, so code catching connection failures catches timeouts too.
 */
export class ChromaTimeoutError extends ChromaConnectionError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "ChromaTimeoutError";
  }
}

/** The engine failed while handling a valid request: an internal error, an I/O error or a caught panic. */
export class ChromaServerError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaServerError", message, cause);
  }
}

/** The server rejected the request as malformed (HTTP 400 on a Chroma server). */
export class ChromaClientError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaClientError", message, cause);
  }
}

/** The request lacked valid authentication. Its `name` is `"ChromaAuthError"`, as in the official client. */
export class ChromaUnauthorizedError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaAuthError", message, cause);
  }
}

/** The operation is not allowed, e.g. `reset()` when `allowReset` is off. */
export class ChromaForbiddenError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaForbiddenError", message, cause);
  }
}

/** A tenant, database or collection does not exist. */
export class ChromaNotFoundError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaNotFoundError", message, cause);
  }
}

/** An argument is invalid. Thrown by client-side validation and for the engine's `InvalidArgument` errors. */
export class ChromaValueError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaValueError", message, cause);
  }
}

/** The collection is not valid for the operation (kept for compatibility with the official client). */
export class InvalidCollectionError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("InvalidCollectionError", message, cause);
  }
}

/** An argument was rejected by a Chroma server (kept for compatibility with the official client). */
export class InvalidArgumentError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("InvalidArgumentError", message, cause);
  }
}

/** A tenant, database or collection with that name already exists. */
export class ChromaUniqueError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaUniqueError", message, cause);
  }
}

/** A Chroma Cloud quota was exceeded. */
export class ChromaQuotaExceededError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaQuotaExceededError", message, cause);
  }
}

/** Too many requests were sent to a Chroma server. */
export class ChromaRateLimitError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaRateLimitError", message, cause);
  }
}

/** A conditional write lost a race (Chroma Cloud). Its `name` is `"ConditionalWriteConflictError"`. */
export class ChromaConditionalWriteConflictError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ConditionalWriteConflictError", message, cause);
  }
}

/** A read saw stale data (Chroma Cloud). Its `name` is `"StaleReadError"`. */
export class ChromaStaleReadError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("StaleReadError", message, cause);
  }
}

/** The server asked the client to back off and retry later. Its `name` is `"Backoff"`. */
export class ChromaBackoffError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("Backoff", message, cause);
  }
}

/** The client (or the engine under it) was closed; create a new client to continue. chromalite only. */
export class ChromaClosedError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaClosedError", message, cause);
  }
}

/** Stored data failed an integrity check; the message says what is damaged. chromalite only. */
export class ChromaCorruptedError extends ChromaError {
  constructor(message: string, cause?: unknown) {
    super("ChromaCorruptedError", message, cause);
  }
}

/** The message every call on a closed client rejects with. */
export const CLOSED_MESSAGE = "The client has been closed";

const nativeErrorClasses: Record<string, new (message: string, cause?: unknown) => ChromaError> = {
  InvalidArgument: ChromaValueError,
  NotFound: ChromaNotFoundError,
  AlreadyExists: ChromaUniqueError,
  PermissionDenied: ChromaForbiddenError,
  Corrupted: ChromaCorruptedError,
  Closed: ChromaClosedError,
};

/**
 * Maps an error from the native addon (`[Code] message`) to its Chroma class, with the text after the code as
 * the message and the original error as `cause`. `Internal`, unknown codes and anything without a code (including
 * caught Rust panics, `[Internal] panic: ...`) become {@link ChromaServerError}. Chroma errors pass through unchanged.
 */
export function fromNativeError(error: unknown): ChromaError {
  if (error instanceof ChromaError) {
    return error;
  }
  const text = error instanceof Error ? error.message : String(error);
  const match = /^\[(\w+)\] ?([\s\S]*)$/.exec(text);
  if (!match) {
    return new ChromaServerError(text, error);
  }
  const [, code, message] = match;
  const ErrorClass = Object.hasOwn(nativeErrorClasses, code) ? nativeErrorClasses[code] : ChromaServerError;
  return new ErrorClass(message, error);
}

/** The message of any thrown value, never throwing itself (a thrown value may be a hostile object). */
export function describeThrown(error: unknown): string {
  try {
    const message = error instanceof Error ? error.message : String(error);
    return typeof message === "string" && message.length > 0 ? message : `${typeof error} without a message`;
  } catch {
    return "an unprintable value";
  }
}

/**
 * The safety net of the public API: a `ChromaError` as it is; anything else escaping from inside chromalite is a
 * bug, surfaced as a `ChromaServerError` with the original as `cause` (never a raw `TypeError`).
 */
export function internalError(error: unknown, where: string): ChromaError {
  if (error instanceof ChromaError) return error;
  return new ChromaServerError(`Internal error in chromalite (${where}): ${describeThrown(error)}`, error);
}

/**
 * Applies {@link internalError} to every method of a class (own methods of its prototype, sync or async), so that
 * its public methods throw or reject only with `ChromaError`s. Accessors are left as they are.
 */
export function guardMethods(constructor: { name: string; prototype: object }): void {
  const prototype = constructor.prototype as Record<PropertyKey, unknown>;
  for (const key of [...Object.getOwnPropertyNames(prototype), ...Object.getOwnPropertySymbols(prototype)]) {
    if (key === "constructor") continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    const method = descriptor?.value;
    if (typeof method !== "function") continue;
    const where = `${constructor.name}.${String(typeof key === "symbol" ? key.description : key)}`;
    const guarded = function (this: unknown, ...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = method.apply(this, args);
      } catch (error) {
        throw internalError(error, where);
      }
      return result instanceof Promise
        ? result.catch((error: unknown) => {
            throw internalError(error, where);
          })
        : result;
    };
    Object.defineProperty(guarded, "name", { value: method.name });
    Object.defineProperty(prototype, key, { ...descriptor, value: guarded });
  }
}
