/**
 * Where an HTTP client sends its requests, resolved from the settings as Chroma's `BaseHTTPClient.resolve_url`
 * does: a host starting with `http` is a full URL (its own port, no port appended); any other host becomes
 * `{scheme}://{host}:{port}`. The API path (`/api/v2`) is appended unless the URL already ends with it.
 */
import { ChromaValueError } from "../errors.js";
import type { Settings } from "../settings.js";

/** Chroma's default server port. */
export const DEFAULT_PORT = 8000;
/** The host HTTP clients use when the settings name none. */
export const DEFAULT_HOST = "localhost";

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/**
 * Rejects a host that looks like a URL without an http(s) scheme, with Chroma's messages.
 * @throws ChromaValueError for such a host.
 */
export function validateHost(host: string): void {
  if (!host.includes("/")) return;
  const scheme = SCHEME.exec(host)?.[1];
  if (scheme !== undefined && scheme !== "http" && scheme !== "https") {
    throw new ChromaValueError(`Invalid URL. Unrecognized protocol - ${scheme}.`);
  }
  if (!host.startsWith("http")) {
    throw new ChromaValueError(
      "Invalid URL. Seems that you are trying to pass URL as a host but without specifying the protocol. " +
        "Please add http:// or https:// to the host.",
    );
  }
}

/** `/api/v2` appended to `path` unless it already ends with it; no trailing slash. */
function withApiPath(path: string, apiPath: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.endsWith(apiPath) ? trimmed : `${trimmed}${apiPath}`;
}

/**
 * The base URL of the server's API, e.g. `http://localhost:8000/api/v2`.
 * @throws ChromaValueError for an invalid host.
 */
export function resolveServerUrl(settings: Settings): string {
  const host = settings.chromaServerHost ?? DEFAULT_HOST;
  const port = settings.chromaServerHttpPort ?? DEFAULT_PORT;
  const ssl = settings.chromaServerSslEnabled === true;
  const apiPath = settings.chromaServerApiDefaultPath;
  validateHost(host);
  if (host.startsWith("http")) {
    let url: URL;
    try {
      url = new URL(host);
    } catch (error) {
      throw new ChromaValueError(`Invalid URL: ${host}`, error);
    }
    const scheme = ssl ? "https:" : url.protocol;
    return `${scheme}//${url.host}${withApiPath(url.pathname, apiPath)}`;
  }
  // A bare IPv6 address needs brackets before a port can follow it.
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `${ssl ? "https" : "http"}://${hostPart}:${port}${apiPath}`;
}
