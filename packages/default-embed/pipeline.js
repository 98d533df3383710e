/**
 * Chroma's default embedding pipeline for one batch: tokenize, run all-MiniLM-L6-v2, mean-pool over the
 * attention mask, L2-normalise. Same steps and numbers as Chroma's `ONNXMiniLM_L6_V2._forward`, except that a
 * batch is padded to its longest text instead of to 256 tokens: padded positions are masked out of attention
 * and pooling, so the result is the same up to float rounding (about 1e-7) and much faster for short texts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { WordPieceTokenizer } from "./tokenizer.js";

/** Tokens per text including [CLS] and [SEP], as in Chroma. */
export const MAX_TOKENS = 256;
/** Output dimension of all-MiniLM-L6-v2. */
export const DIMENSION = 384;

/**
 * Loads the tokenizer and the ONNX session from a folder holding `tokenizer.json` and `model.onnx`.
 * @param {string} modelDirectory
 * @param {{ intraOpNumThreads?: number }} [options]
 */
export async function loadPipeline(modelDirectory, options = {}) {
  const ort = await import("onnxruntime-node");
  const tokenizer = new WordPieceTokenizer(
    JSON.parse(readFileSync(path.join(modelDirectory, "tokenizer.json"), "utf8")),
    MAX_TOKENS,
  );
  /** @type {import("onnxruntime-node").InferenceSession.SessionOptions} */
  const sessionOptions = { graphOptimizationLevel: "all", logSeverityLevel: 3 };
  if (options.intraOpNumThreads) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  const session = await ort.InferenceSession.create(path.join(modelDirectory, "model.onnx"), sessionOptions);
  return new EmbeddingPipeline(ort, tokenizer, session);
}

/** A loaded tokenizer and model. `embed` handles one batch; callers split into batches of 32. */
export class EmbeddingPipeline {
  /**
   * @param {typeof import("onnxruntime-node")} ort
   * @param {WordPieceTokenizer} tokenizer
   * @param {import("onnxruntime-node").InferenceSession} session
   */
  constructor(ort, tokenizer, session) {
    this.ort = ort;
    this.tokenizer = tokenizer;
    this.session = session;
  }

  /**
   * Embeds one batch of texts.
   * @param {string[]} texts
   * @returns {Promise<Float32Array>} `texts.length * 384` values, row after row
   */
  async embed(texts) {
    const { Tensor } = this.ort;
    if (texts.length === 0) return new Float32Array(0);
    const encoded = texts.map((text) => this.tokenizer.encode(text));
    const batch = texts.length;
    const length = Math.max(...encoded.map((ids) => ids.length));
    const inputIds = new BigInt64Array(batch * length);
    const attentionMask = new BigInt64Array(batch * length);
    encoded.forEach((ids, row) => {
      for (let i = 0; i < ids.length; i += 1) {
        inputIds[row * length + i] = BigInt(ids[i]);
        attentionMask[row * length + i] = 1n;
      }
    });
    const shape = [batch, length];
    const outputs = await this.session.run({
      input_ids: new Tensor("int64", inputIds, shape),
      attention_mask: new Tensor("int64", attentionMask, shape),
      token_type_ids: new Tensor("int64", new BigInt64Array(batch * length), shape),
    });
    const hidden = /** @type {Float32Array} */ (outputs[this.session.outputNames[0]].data);
    const result = new Float32Array(batch * DIMENSION);
    const sum = new Float64Array(DIMENSION);
    for (let row = 0; row < batch; row += 1) {
      sum.fill(0);
      const tokens = encoded[row].length;
      for (let token = 0; token < tokens; token += 1) {
        const offset = (row * length + token) * DIMENSION;
        for (let d = 0; d < DIMENSION; d += 1) sum[d] += hidden[offset + d];
      }
      // Mean over the attention mask (divisor clamped at 1e-9), then L2 normalisation (a zero norm becomes
      // 1e-12), in float64 as numpy does in Chroma's pipeline, stored as float32.
      const count = Math.max(tokens, 1e-9);
      let squares = 0;
      for (let d = 0; d < DIMENSION; d += 1) {
        sum[d] /= count;
        squares += sum[d] * sum[d];
      }
      const norm = Math.sqrt(squares) || 1e-12;
      for (let d = 0; d < DIMENSION; d += 1) result[row * DIMENSION + d] = sum[d] / norm;
    }
    return result;
  }

  /** Releases the ONNX session. */
  async release() {
    await this.session.release();
  }
}
