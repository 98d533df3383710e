/**
 * @chromalite/default-embed: the inference half of chromalite's default embedding function (all-MiniLM-L6-v2,
 * Chroma's pipeline) on ONNX Runtime. chromalite imports it on demand; fetching and caching the model is done
 * by chromalite itself, which passes the extracted model folder here.
 */
import { Worker } from "node:worker_threads";
import { DIMENSION, MAX_TOKENS } from "./pipeline.js";

export { DIMENSION, MAX_TOKENS };
/** Texts per inference batch, as in Chroma. */
export const BATCH_SIZE = 32;

/**
 * Embeds texts on a worker thread. Create one with {@link createEmbedder}; it keeps the model loaded until
 * `close()`, and does not keep the process alive while idle.
 */
export class Embedder {
  /**
   * @param {string} modelDirectory
   * @param {{ intraOpNumThreads?: number, batchSize?: number }} options
   */
  constructor(modelDirectory, options) {
    this.batchSize = options.batchSize ?? BATCH_SIZE;
    this.worker = new Worker(new URL("./worker.js", import.meta.url), {
      workerData: { modelDirectory, options: { intraOpNumThreads: options.intraOpNumThreads } },
    });
    this.worker.unref();
    /** @type {Map<number, { resolve: (value: Float32Array) => void, reject: (reason: Error) => void }>} */
    this.pending = new Map();
    this.nextId = 0;
    /** @type {Error | undefined} */
    this.failure = undefined;
    this.worker.on("message", (/** @type {any} */ message) => {
      const request = this.pending.get(message.id);
      if (!request) return;
      this.settled(message.id);
      if (message.error) {
        const error = new Error(message.error.message);
        error.name = message.error.name;
        request.reject(error);
      } else {
        request.resolve(message.embeddings);
      }
    });
    const failAll = (/** @type {Error} */ error) => {
      this.failure = error;
      for (const [id, request] of this.pending) {
        this.settled(id);
        request.reject(error);
      }
    };
    this.worker.on("error", failAll);
    this.worker.on("exit", (code) => failAll(new Error(`the embedding worker exited (code ${code})`)));
  }

  /** @param {number} id */
  settled(id) {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  /**
   * Embeds `texts` in batches of `batchSize`. Texts are grouped by length first (each batch is padded to its
   * longest text, so similar lengths waste less work); a text's vector does not depend on its batch.
   * @param {string[]} texts
   * @returns {Promise<Float32Array>} `texts.length * 384` normalised values, row after row, in input order
   */
  async embed(texts) {
    if (this.failure) throw this.failure;
    const order = texts.map((_, index) => index).sort((a, b) => texts[a].length - texts[b].length);
    const batches = [];
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      batches.push(this.request(indices.map((index) => texts[index])).then((result) => ({ indices, result })));
    }
    const output = new Float32Array(texts.length * DIMENSION);
    for (const { indices, result } of await Promise.all(batches)) {
      indices.forEach((index, row) => output.set(result.subarray(row * DIMENSION, (row + 1) * DIMENSION), index * DIMENSION));
    }
    return output;
  }

  /**
   * @param {string[]} texts
   * @returns {Promise<Float32Array>}
   */
  request(texts) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, texts });
    });
  }

  /** Stops the worker and releases the model. */
  async close() {
    this.failure ??= new Error("the embedder is closed");
    await this.worker.terminate();
  }
}

/**
 * Starts an embedder for the model in `modelDirectory` (a folder with `model.onnx` and `tokenizer.json`, like
 * the `onnx/` folder of Chroma's archive). The model loads in the background; errors surface on `embed`.
 * @param {{ modelDirectory: string, intraOpNumThreads?: number, batchSize?: number }} options
 * @returns {Embedder}
 */
export function createEmbedder(options) {
  return new Embedder(options.modelDirectory, options);
}
