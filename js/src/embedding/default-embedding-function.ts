/**
 * Chroma's default embedding function (all-MiniLM-L6-v2 on ONNX, 384 dimensions). Collections created without an
 * `embeddingFunction` record it as `{"type":"known","name":"default","config":{}}`, as Chroma does, so data stays
 * interchangeable with Chroma. The model itself is not bundled in this build yet: `generate` says so.
 */
import { ChromaValueError } from "../errors.js";
import type { EmbeddingFunction, EmbeddingFunctionSpace } from "../types.js";

/** Chroma's default embedding function. Its name is `"default"` and its configuration `{}`. */
export class DefaultEmbeddingFunction implements EmbeddingFunction {
  /** The name recorded in collection configurations. */
  public readonly name = "default";

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

  /**
   * Not available yet in this build.
   * @throws ChromaValueError always, explaining how to proceed.
   */
  async generate(_texts: string[]): Promise<number[][]> {
    throw new ChromaValueError(
      "The default embedding function (all-MiniLM-L6-v2, ONNX) is not bundled in this build of chromalite yet. " +
        "Pass `embeddings` (or `queryEmbeddings`) explicitly, or give the collection an `embeddingFunction` of your own.",
    );
  }
}
