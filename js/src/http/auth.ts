/**
 * The authentication headers an HTTP client sends, from Chroma's client auth settings:
 * token auth (`Authorization: Bearer <token>`, or `X-Chroma-Token: <token>` when that is the transport header)
 * and basic auth (`Authorization: Basic <base64(user:password)>`).
 */
import { ChromaValueError } from "../errors.js";
import type { Settings } from "../settings.js";

/** Chroma's token auth provider; `CloudClient` uses it with the `X-Chroma-Token` header. */
export const TOKEN_AUTH_PROVIDER = "chromadb.auth.token_authn.TokenAuthClientProvider";
/** Chroma's basic auth provider. */
export const BASIC_AUTH_PROVIDER = "chromadb.auth.basic_authn.BasicAuthClientProvider";
/** The header Chroma Cloud reads the API key from. */
export const CHROMA_TOKEN_HEADER = "X-Chroma-Token";

const TOKEN_HEADERS = new Map([
  ["authorization", "Authorization"],
  ["x-chroma-token", CHROMA_TOKEN_HEADER],
]);

function requireCredentials(settings: Settings): string {
  const credentials = settings.chromaClientAuthCredentials;
  if (!credentials) {
    throw new ChromaValueError("Missing required config value 'chroma_client_auth_credentials'");
  }
  return credentials;
}

/**
 * Headers carrying the credentials the settings name; empty without an auth provider.
 * @throws ChromaValueError for an unknown provider or token header, or missing credentials.
 */
export function authHeaders(settings: Settings): Record<string, string> {
  const provider = settings.chromaClientAuthProvider;
  if (provider === null) return {};
  if (provider === TOKEN_AUTH_PROVIDER) {
    const token = requireCredentials(settings);
    const requested = settings.chromaAuthTokenTransportHeader ?? "Authorization";
    const header = TOKEN_HEADERS.get(requested.toLowerCase());
    if (header === undefined) {
      throw new ChromaValueError(
        `Invalid auth header: ${requested}. Must be one of ${[...TOKEN_HEADERS.values()].join(", ")}`,
      );
    }
    return { [header]: header === "Authorization" ? `Bearer ${token}` : token };
  }
  if (provider === BASIC_AUTH_PROVIDER) {
    const credentials = requireCredentials(settings);
    return { Authorization: `Basic ${Buffer.from(credentials, "utf8").toString("base64")}` };
  }
  throw new ChromaValueError(
    `Unsupported chroma_client_auth_provider: ${provider}. chromalite supports ${TOKEN_AUTH_PROVIDER} and ${BASIC_AUTH_PROVIDER}`,
  );
}
