/** Output dimension of all-MiniLM-L6-v2. */
export declare const DIMENSION: 384;
/** Tokens per text including [CLS] and [SEP], as in Chroma. */
export declare const MAX_TOKENS: 256;
/** Texts per inference batch, as in Chroma. */
export declare const BATCH_SIZE: 32;

/** Options of {@link createEmbedder}. */
export interface EmbedderOptions {
  /** A folder holding `model.onnx` and `tokenizer.json` (the `onnx/` folder of Chroma's archive). */
  modelDirectory: string;
  /** ONNX Runtime intra-op threads; default: one per core. */
  intraOpNumThreads?: number;
  /** Texts per inference batch; default 32. */
  batchSize?: number;
}

/** Embeds texts on a worker thread with Chroma's default pipeline. */
export declare class Embedder {
  /** Embeds `texts`; returns `texts.length * 384` normalised float32 values, row after row. */
  embed(texts: string[]): Promise<Float32Array>;
  /** Stops the worker and releases the model. */
  close(): Promise<void>;
}

/** Starts an embedder; the model loads in the background and load errors surface on `embed`. */
export declare function createEmbedder(options: EmbedderOptions): Embedder;
