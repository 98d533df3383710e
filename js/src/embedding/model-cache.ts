/**
 * Fetches and caches Chroma's default embedding model exactly where Python Chroma keeps it
 * (`~/.cache/chroma/onnx_models/all-MiniLM-L6-v2/onnx.tar.gz`, extracted to `.../onnx/`), so either can reuse
 * what the other downloaded.
 *
 * Invariants:
 * - `onnx/` only ever appears complete: the archive is extracted into a temporary folder next to it and its
 *   `onnx/` renamed into place, so a crash at any point leaves either no folder or a whole one.
 * - `onnx.tar.gz` only ever holds a verified archive: the download streams into a uniquely named `.part` file,
 *   hashed on the way, and is renamed into place only when its SHA-256 matches.
 * - One process at a time downloads and extracts: a lock folder (`.onnx.lock`, created with an atomic
 *   `mkdir`) guards the work; other processes wait for it and then find the model in place. A lock whose owner
 *   died (same host, process gone) or that has not been refreshed for a while is taken over.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import path from "node:path";
import { ChromaConnectionError, ChromaCorruptedError, ChromaValueError } from "../errors.js";
import { extractTarGz } from "./tar-extract.js";

/** Chroma's archive of all-MiniLM-L6-v2 (fp32 ONNX model and tokenizer files). */
export const DEFAULT_MODEL_URL = "https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz";
/** SHA-256 of {@link DEFAULT_MODEL_URL}'s archive, as checked by Chroma. */
export const DEFAULT_MODEL_SHA256 = "913d7300ceae3b2dbc2c50d1de4baacab4be7b9380491c27fab7418616a16ec3";
/** The files of the extracted `onnx/` folder; a missing one triggers a new extraction, as in Chroma. */
export const MODEL_FILES = [
  "config.json",
  "model.onnx",
  "special_tokens_map.json",
  "tokenizer_config.json",
  "tokenizer.json",
  "vocab.txt",
] as const;

const ARCHIVE_NAME = "onnx.tar.gz";
const EXTRACTED_FOLDER = "onnx";
const LOCK_NAME = ".onnx.lock";

/** The folder Python Chroma uses for the model: `~/.cache/chroma/onnx_models/all-MiniLM-L6-v2`. */
export function defaultModelCacheDirectory(): string {
  return path.join(homedir(), ".cache", "chroma", "onnx_models", "all-MiniLM-L6-v2");
}

/** Where the model comes from and where it goes. */
export interface ModelCacheOptions {
  /** Archive URL (http or https). */
  url: string;
  /** Expected SHA-256 of the archive, lowercase hex. */
  sha256: string;
  /** Folder holding `onnx.tar.gz` and the extracted `onnx/`. */
  cacheDirectory: string;
  /** Download attempts before giving up. Default 3, as in Chroma. */
  attempts?: number;
  /** Delay before the second attempt, doubled for each further one. Default 500 ms. */
  retryDelayMs?: number;
  /** A download that receives nothing for this long is abandoned (and retried). Default 60 s. */
  idleTimeoutMs?: number;
  /** A lock not refreshed for this long is taken over. Default 120 s; the owner refreshes it every few seconds. */
  staleLockMs?: number;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

async function hasAllModelFiles(folder: string): Promise<boolean> {
  for (const name of MODEL_FILES) {
    if (!(await exists(path.join(folder, name)))) return false;
  }
  return true;
}

async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(6).toString("hex")}`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/**
 * Makes sure the extracted model is in `cacheDirectory/onnx/`, downloading and extracting it when a file is
 * missing, and returns that folder.
 * @throws ChromaConnectionError when the archive cannot be downloaded (offline, HTTP error) after all attempts.
 * @throws ChromaCorruptedError when every download fails the SHA-256 check, or the archive is unsafe or incomplete.
 * @throws ChromaValueError for an unusable URL or checksum.
 */
export async function ensureModel(options: ModelCacheOptions): Promise<string> {
  const cacheDirectory = path.resolve(options.cacheDirectory);
  const modelDirectory = path.join(cacheDirectory, EXTRACTED_FOLDER);
  if (await hasAllModelFiles(modelDirectory)) return modelDirectory;
  if (!/^[0-9a-f]{64}$/.test(options.sha256)) {
    throw new ChromaValueError(`The model checksum must be 64 lowercase hex digits (SHA-256), got '${options.sha256}'.`);
  }
  if (!/^https?:\/\//i.test(options.url)) {
    throw new ChromaValueError(`The model URL must be http:// or https://, got '${options.url}'.`);
  }
  await mkdir(cacheDirectory, { recursive: true });
  const lock = await acquireLock(cacheDirectory, modelDirectory, options.staleLockMs ?? 120_000);
  if (!lock) return modelDirectory; // another process finished the work while we waited
  try {
    if (await hasAllModelFiles(modelDirectory)) return modelDirectory;
    const archive = path.join(cacheDirectory, ARCHIVE_NAME);
    if (!(await exists(archive)) || (await fileSha256(archive)) !== options.sha256) {
      await rm(archive, { force: true });
      await downloadArchive(options, archive);
    }
    await extractModel(archive, cacheDirectory, modelDirectory);
    return modelDirectory;
  } finally {
    await lock.release();
  }
}

/** Extracts the archive beside the cache and swaps its complete `onnx/` folder into place. */
async function extractModel(archive: string, cacheDirectory: string, modelDirectory: string): Promise<void> {
  const staging = path.join(cacheDirectory, `.onnx-extract-${uniqueSuffix()}`);
  try {
    await extractTarGz(archive, staging);
    const extracted = path.join(staging, EXTRACTED_FOLDER);
    for (const name of MODEL_FILES) {
      if (!(await exists(path.join(extracted, name)))) {
        throw new ChromaCorruptedError(`The archive ${archive} has no ${EXTRACTED_FOLDER}/${name}; it is not Chroma's model archive.`);
      }
    }
    if (await exists(modelDirectory)) {
      // An incomplete folder (a file was deleted): move it aside, then drop it.
      const old = path.join(cacheDirectory, `.onnx-old-${uniqueSuffix()}`);
      await rename(modelDirectory, old);
      await rm(old, { recursive: true, force: true });
    }
    await rename(extracted, modelDirectory);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Downloads `options.url` into `archive`, verified, retrying failed or mismatching transfers.
 * Chroma retries only checksum mismatches; network errors are retried here too, which only helps.
 */
async function downloadArchive(options: ModelCacheOptions, archive: string): Promise<void> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 500;
  let lastError: unknown;
  let checksumFailures = 0;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (attempt > 1) await sleep(retryDelayMs * 2 ** (attempt - 2));
    try {
      await downloadOnce(options, archive);
      return;
    } catch (error) {
      lastError = error;
      if (error instanceof ChecksumMismatch) checksumFailures += 1;
      if (error instanceof PermanentHttpError) break;
    }
  }
  const where = path.dirname(archive);
  if (lastError instanceof ChecksumMismatch && checksumFailures > 0) {
    throw new ChromaCorruptedError(
      `The default embedding model downloaded from ${options.url} does not match the expected SHA-256 ` +
        `(${options.sha256}) after ${checksumFailures} attempt(s): ${lastError.message}. Corrupted download or malicious file; nothing was kept.`,
    );
  }
  throw new ChromaConnectionError(
    `Could not download the default embedding model (all-MiniLM-L6-v2) from ${options.url}: ${describe(lastError)}. ` +
      `chromalite fetches it once into ${where}; offline, put Chroma's ${ARCHIVE_NAME} (or its extracted ${EXTRACTED_FOLDER}/ ` +
      "folder) there, or set CHROMALITE_ONNX_MODEL_URL to a reachable copy. Alternatively pass embeddings, or an embeddingFunction of your own.",
    lastError,
  );
}

class ChecksumMismatch extends Error {}
class PermanentHttpError extends Error {}

/** One streamed download into a private `.part` file, renamed into place only when complete and verified. */
async function downloadOnce(options: ModelCacheOptions, archive: string): Promise<void> {
  const partial = `${archive}.${uniqueSuffix()}.part`;
  const controller = new AbortController();
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  let idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  const file = await open(partial, "w");
  try {
    const response = await fetch(options.url, { signal: controller.signal, redirect: "follow" });
    if (!response.ok || !response.body) {
      const message = `HTTP ${response.status} ${response.statusText}`.trim();
      await response.body?.cancel().catch(() => undefined);
      // Client errors (a wrong URL) will not fix themselves; server errors and throttling may.
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
        throw new PermanentHttpError(message);
      }
      throw new Error(message);
    }
    const expectedLength = Number(response.headers.get("content-length") ?? NaN);
    const hash = createHash("sha256");
    let received = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      touch();
      hash.update(value);
      received += value.length;
      await file.write(value);
    }
    await file.sync();
    if (Number.isFinite(expectedLength) && received !== expectedLength) {
      throw new Error(`the transfer ended after ${received} of ${expectedLength} bytes`);
    }
    const digest = hash.digest("hex");
    if (digest !== options.sha256) throw new ChecksumMismatch(`got ${digest}`);
    await file.close();
    await rename(partial, archive);
  } finally {
    clearTimeout(idleTimer);
    await file.close().catch(() => undefined);
    await rm(partial, { force: true });
  }
}

interface HeldLock {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
}

/**
 * Takes the cache's lock, waiting while another live process holds it. Returns `undefined` when the model
 * appeared while waiting (nothing left to do).
 */
async function acquireLock(cacheDirectory: string, modelDirectory: string, staleLockMs: number): Promise<HeldLock | undefined> {
  const lockDirectory = path.join(cacheDirectory, LOCK_NAME);
  const ownerFile = path.join(lockDirectory, "owner.json");
  for (let waited = 0; ; waited += 1) {
    try {
      await mkdir(lockDirectory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (await hasAllModelFiles(modelDirectory)) return undefined;
      if (await lockIsStale(lockDirectory, ownerFile, staleLockMs)) {
        // Renaming first means only one waiter removes a given stale lock.
        const stale = path.join(cacheDirectory, `.onnx.lock-stale-${uniqueSuffix()}`);
        await rename(lockDirectory, stale).then(
          () => rm(stale, { recursive: true, force: true }),
          () => undefined,
        );
        continue;
      }
      await sleep(Math.min(50 * 2 ** Math.min(waited, 4), 500));
      continue;
    }
    const owner: LockOwner = { pid: process.pid, host: hostname() };
    await writeFile(ownerFile, JSON.stringify(owner));
    const refresh = setInterval(() => {
      const now = new Date();
      utimes(lockDirectory, now, now).catch(() => undefined);
    }, Math.max(1_000, Math.floor(staleLockMs / 4)));
    refresh.unref();
    return {
      release: async () => {
        clearInterval(refresh);
        await rm(lockDirectory, { recursive: true, force: true });
      },
    };
  }
}

async function lockIsStale(lockDirectory: string, ownerFile: string, staleLockMs: number): Promise<boolean> {
  try {
    const info = await stat(lockDirectory);
    if (Date.now() - info.mtimeMs > staleLockMs) return true;
    const owner = JSON.parse(await readFile(ownerFile, "utf8")) as LockOwner;
    if (owner.host !== hostname()) return false;
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH";
    }
  } catch {
    // The owner file is not written yet (the lock was just taken), or the lock just went away.
    return false;
  }
}

