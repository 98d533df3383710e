/**
 * Chroma's default embedding function (all-MiniLM-L6-v2 on ONNX, 384 dimensions). Collections created without an
 * `embeddingFunction` record it as `{"type":"known","name":"default","config":{}}`, as Chroma does, so data stays
 * interchangeable with Chroma.
 *
 * Two halves: the model archive is fetched and cached here (model-cache.ts, same URL, checksum and cache folder
 * as Python Chroma); inference runs in the optional package `@chromalite/default-embed` (ONNX Runtime on a
 * worker thread), imported on first use so that installing chromalite stays light.
 */
import { pathToFileURL } from "node:url";
import path from "node:path";
import { ChromaError, ChromaServerError, ChromaValueError, guardMethods } from "../errors.js";
import type { EmbeddingFunction, EmbeddingFunctionSpace } from "../types.js";
import { checkLength, MAX_LIST_LENGTH, readArguments, safely, show } from "../validation.js";
import { DEFAULT_MODEL_SHA256, DEFAULT_MODEL_URL, defaultModelCacheDirectory, ensureModel } from "./model-cache.js";

/** The npm package that runs the model. */
export const DEFAULT_EMBED_PACKAGE = "@chromalite/default-embed";

/** Options of {@link DefaultEmbeddingFunction}. None of them is recorded in collection configurations. */
export interface DefaultEmbeddingFunctionOptions {
  /** Archive URL. Default: env `CHROMALITE_ONNX_MODEL_URL`, else Chroma's archive URL. */
  modelUrl?: string;
  /**
   * Expected SHA-256 of the archive. Default: env `CHROMALITE_ONNX_MODEL_SHA256`, else Chroma's checksum. Only
   * needed with a `modelUrl` serving a different archive.
   */
  modelSha256?: string;
  /**
   * Folder holding `onnx.tar.gz` and the extracted `onnx/`. Default: env `CHROMALITE_MODEL_CACHE`, else
   * `~/.cache/chroma/onnx_models/all-MiniLM-L6-v2` (shared with Python Chroma).
   */
  cacheDirectory?: string;
  /** Texts per inference batch. Default 32, as in Chroma. */
  batchSize?: number;
  /** ONNX Runtime threads. Default: one per core. */
  intraOpNumThreads?: number;
  /** Download attempts. Default 3. */
  downloadAttempts?: number;
}

/** What `@chromalite/default-embed` exports (see packages/default-embed/index.d.ts). */
interface DefaultEmbedModule {
  createEmbedder(options: { modelDirectory: string; intraOpNumThreads?: number; batchSize?: number }): Embedder;
}

interface Embedder {
  embed(texts: string[]): Promise<Float32Array>;
  close(): Promise<void>;
}

const DIMENSION = 384;

/** One embedder (worker thread and loaded model) per model folder and settings, shared by all instances. */
const embedders = new Map<string, Promise<Embedder>>();

/**
 * The module specifier of the inference package: env `CHROMALITE_DEFAULT_EMBED_MODULE` (a package name, or a
 * path to the package's folder or entry file) when set, else `@chromalite/default-embed`.
 */
function inferenceModuleSpecifier(): string {
  const configured = process.env.CHROMALITE_DEFAULT_EMBED_MODULE;
  if (!configured) return DEFAULT_EMBED_PACKAGE;
  if (path.isAbsolute(configured) || configured.startsWith(".")) {
    const resolved = path.resolve(configured);
    return pathToFileURL(path.extname(resolved) ? resolved : path.join(resolved, "index.js")).href;
  }
  return configured;
}

async function loadInferenceModule(): Promise<DefaultEmbedModule> {
  const specifier = inferenceModuleSpecifier();
  try {
    return (await import(specifier)) as DefaultEmbedModule;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new ChromaValueError(
        `Chroma's default embedding function needs the optional package ${DEFAULT_EMBED_PACKAGE} (ONNX Runtime), ` +
          `which could not be loaded from '${specifier}'. Install it with ` +
          `\`ONNXRUNTIME_NODE_INSTALL=skip npm install ${DEFAULT_EMBED_PACKAGE}\` (the variable skips ONNX Runtime's ` +
          "optional GPU download), or pass `embeddings` / `queryEmbeddings`, or give the collection an `embeddingFunction` of your own.",
        error,
      );
    }
    throw new ChromaServerError(`Loading ${DEFAULT_EMBED_PACKAGE} from '${specifier}' failed: ${(error as Error).message}`, error);
  }
}

/**
 * Chroma's default embedding function: all-MiniLM-L6-v2 with Chroma's exact pipeline (WordPiece tokenizer,
 * truncation at 256 tokens, mean pooling, L2 normalisation), 384 dimensions. Its name is `"default"` and its
 * configuration `{}`. The model is downloaded on first use (about 80 MB, SHA-256 checked) into the cache Python
 * Chroma uses; inference runs on a worker thread in the optional package `@chromalite/default-embed`.
 */
export class DefaultEmbeddingFunction implements EmbeddingFunction {
  /** The name recorded in collection configurations. */
  public readonly name = "default";
  private readonly options: DefaultEmbeddingFunctionOptions;

  /** @param options - Where the model comes from and how it runs; defaults match Chroma. */
  constructor(options: DefaultEmbeddingFunctionOptions = {}) {
    this.options = readArguments(options, "DefaultEmbeddingFunction options", readEmbeddingOptions);
  }

  /** The configuration recorded in collection configurations: always `{}`. */
  getConfig(): Record<string, unknown> {
    return {};
  }

  /** The model's embeddings are normalised and meant for cosine distance. */
  defaultSpace(): EmbeddingFunctionSpace {
    return "cosine";
  }

  /** Spaces the model's embeddings work with. */
  supportedSpaces(): EmbeddingFunctionSpace[] {
    return ["cosine", "l2", "ip"];
  }

  /** The folder holding `onnx.tar.gz` and `onnx/` for this instance's settings. */
  get cacheDirectory(): string {
    return path.resolve(this.options.cacheDirectory ?? process.env.CHROMALITE_MODEL_CACHE ?? defaultModelCacheDirectory());
  }

  /**
   * Downloads, verifies and extracts the model when it is not cached yet (also useful ahead of time, e.g. while
   * building a container image) and returns the extracted model folder.
   * @throws ChromaConnectionError when offline or the URL fails; ChromaCorruptedError for a bad archive.
   */
  async ensureModel(): Promise<string> {
    return ensureModel({
      url: this.options.modelUrl ?? process.env.CHROMALITE_ONNX_MODEL_URL ?? DEFAULT_MODEL_URL,
      sha256: (this.options.modelSha256 ?? process.env.CHROMALITE_ONNX_MODEL_SHA256 ?? DEFAULT_MODEL_SHA256).toLowerCase(),
      cacheDirectory: this.cacheDirectory,
      attempts: this.options.downloadAttempts,
    });
  }

  /**
   * Embeds texts: one normalised 384-dimension vector per text, as Chroma computes them.
   * @throws ChromaValueError when `@chromalite/default-embed` is not installed or a text is not a string.
   * @throws ChromaConnectionError / ChromaCorruptedError when the model cannot be fetched.
   * @throws ChromaServerError when inference fails.
   */
  async generate(texts: string[]): Promise<number[][]> {
    texts = safely("the texts to embed", () => {
      if (!Array.isArray(texts)) {
        throw new ChromaValueError("The default embedding function embeds an array of strings.");
      }
      checkLength(texts, "texts", MAX_LIST_LENGTH);
      const copy: string[] = new Array(texts.length);
      for (let index = 0; index < texts.length; index++) {
        const text: unknown = texts[index];
        if (typeof text !== "string") {
          throw new ChromaValueError("The default embedding function embeds an array of strings.");
        }
        copy[index] = text;
      }
      return copy;
    });
    if (texts.length === 0) return [];
    const embedder = await this.embedder();
    let flat: Float32Array;
    try {
      flat = await embedder.embed(texts);
    } catch (error) {
      throw new ChromaServerError(`The default embedding function failed: ${(error as Error).message}`, error);
    }
    const rows: number[][] = new Array(texts.length);
    for (let row = 0; row < texts.length; row += 1) {
      rows[row] = Array.from(flat.subarray(row * DIMENSION, (row + 1) * DIMENSION));
    }
    return rows;
  }

  private async embedder(): Promise<Embedder> {
    const key = JSON.stringify([this.cacheDirectory, this.options.intraOpNumThreads, this.options.batchSize]);
    let embedder = embedders.get(key);
    if (!embedder) {
      embedder = (async () => {
        const module = await loadInferenceModule();
        const modelDirectory = await this.ensureModel();
        return module.createEmbedder({
          modelDirectory,
          intraOpNumThreads: this.options.intraOpNumThreads,
          batchSize: this.options.batchSize,
        });
      })();
      embedders.set(key, embedder);
      // A failed start (offline, package missing) is not cached: the next call tries again.
      embedder.catch(() => embedders.delete(key));
    }
    try {
      return await embedder;
    } catch (error) {
      if (error instanceof ChromaError) throw error;
      throw new ChromaServerError(`The default embedding function could not start: ${(error as Error).message}`, error);
    }
  }
}

// The safety net: whatever escapes a method is a ChromaError (see guardMethods).
guardMethods(DefaultEmbeddingFunction);

/** An optional string option. */
function optionalText(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new ChromaValueError(`Expected '${key}' to be a string, but got ${show(value)}`);
  }
  return value;
}

/** An optional integer option in `[min, max]`. */
function optionalInteger(options: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ChromaValueError(`${key} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/** The constructor's options, type- and range-checked (a copy: the user's object is not read again). */
function readEmbeddingOptions(options: Record<string, unknown>): DefaultEmbeddingFunctionOptions {
  return {
    modelUrl: optionalText(options, "modelUrl"),
    // The format (64 hex digits) is checked when the model is fetched, as a cached model does not need it.
    modelSha256: optionalText(options, "modelSha256"),
    cacheDirectory: optionalText(options, "cacheDirectory"),
    batchSize: optionalInteger(options, "batchSize", 1, Number.MAX_SAFE_INTEGER),
    // 0 lets ONNX Runtime choose (one thread per core).
    intraOpNumThreads: optionalInteger(options, "intraOpNumThreads", 0, 1024),
    downloadAttempts: optionalInteger(options, "downloadAttempts", 1, Number.MAX_SAFE_INTEGER),
  };
}
