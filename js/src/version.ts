/** Version strings: chromalite's own (the npm package) and the native engine's. */
import { version } from "../../package.json";
import { fromNativeError } from "./errors.js";
import { loadNative } from "./native.js";

/** The chromalite package version, e.g. `"0.1.0"`. */
export const VERSION: string = version;

/** The chromalite package version, e.g. `"0.1.0"`. Also what `client.version()` / `client.getVersion()` return. */
export function getVersion(): string {
  return VERSION;
}

/**
 * The version of the native engine crate the addon was built from.
 * @throws ChromaServerError if the native addon cannot be loaded.
 */
export function engineVersion(): string {
  try {
    return loadNative().engineVersion();
  } catch (error) {
    throw fromNativeError(error);
  }
}
