/**
 * Turns the configuration and embedding function a user gives into what a collection records, and back:
 * which embedding function a collection obtained from the backend uses. Follows the official client, with
 * Python Chroma's embedding-function conflict rules and messages.
 */
import type { CollectionModel, ConfigurationRequest, ModifyCollectionRequest } from "./api.js";
import { DefaultEmbeddingFunction } from "./embedding/default-embedding-function.js";
import { ChromaValueError } from "./errors.js";
import type {
  CollectionMetadata,
  EmbeddingFunction,
  EmbeddingFunctionConfiguration,
  HNSWConfiguration,
  SpannConfiguration,
} from "./types.js";
import { readOptions, validateEmbeddingFunction } from "./validation.js";

/** What a collection created without an embedding function records, as Chroma does. */
const DEFAULT_EMBEDDING_FUNCTION_CONFIGURATION: EmbeddingFunctionConfiguration = {
  type: "known",
  name: "default",
  config: {},
};

/** Names under which Chroma records its default embedding function. */
const DEFAULT_EMBEDDING_FUNCTION_NAMES = new Set(["default", "onnx_mini_lm_l6_v2"]);

/** Functions with a `name` and `getConfig()` are recorded as known; others as legacy (not rebuildable). */
function serializeEmbeddingFunction(embeddingFunction: EmbeddingFunction): EmbeddingFunctionConfiguration {
  if (typeof embeddingFunction.name !== "string" || typeof embeddingFunction.getConfig !== "function") {
    return { type: "legacy" };
  }
  const config = embeddingFunction.getConfig();
  embeddingFunction.validateConfig?.(config);
  return { type: "known", name: embeddingFunction.name, config };
}

function checkFields(configuration: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(configuration)) {
    if (!allowed.includes(key)) {
      throw new ChromaValueError(`Invalid configuration: unknown field \`${key}\``);
    }
  }
}

/** A copy of an optional sub-object of a configuration (`undefined` when absent). */
function section<T>(value: unknown, message: string): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw new ChromaValueError(message);
  return { ...value } as T;
}

/**
 * The `configuration` of a create request and the embedding function the new collection uses.
 * Without any embedding function the default one is recorded; `embeddingFunction: null` records none.
 */
export function buildCreateConfiguration(options: {
  configuration: unknown;
  embeddingFunction: EmbeddingFunction | null | undefined;
  metadata: CollectionMetadata | undefined;
}): { configuration: ConfigurationRequest; embeddingFunction: EmbeddingFunction | undefined } {
  const given = readOptions(options.configuration, "configuration");
  checkFields(given, ["hnsw", "spann", "embeddingFunction"]);
  const hnsw = section<HNSWConfiguration>(given.hnsw, "Invalid HNSW config provided in CreateCollectionConfiguration");
  const spann = section<SpannConfiguration>(given.spann, "Invalid SPANN config provided in CreateCollectionConfiguration");
  if (hnsw && spann) {
    throw new ChromaValueError("Cannot specify both HNSW and SPANN configurations");
  }
  const argument = options.embeddingFunction;
  const configured = validateEmbeddingFunction(given.embeddingFunction, "configuration.embeddingFunction") ?? undefined;
  if (argument && configured && argument.name !== "default" && argument.name !== configured.name) {
    throw new ChromaValueError(
      `Multiple embedding functions provided. Please provide only one. Embedding function conflict: ${argument.name} vs ${configured.name}`,
    );
  }
  const embeddingFunction = argument ?? configured;
  const space = embeddingFunction?.supportedSpaces ? embeddingFunction.defaultSpace?.() : undefined;
  const configuration: ConfigurationRequest = { hnsw, spann };
  if (space !== undefined) {
    const legacyIndexKeys = Object.keys(options.metadata ?? {}).some((key) => key.startsWith("hnsw:"));
    if (hnsw) hnsw.space ??= space;
    else if (spann) spann.space ??= space;
    else if (!legacyIndexKeys) configuration.hnsw = { space };
  }
  if (embeddingFunction) {
    configuration.embedding_function = serializeEmbeddingFunction(embeddingFunction);
  } else if (argument !== null) {
    configuration.embedding_function = DEFAULT_EMBEDDING_FUNCTION_CONFIGURATION;
  }
  return { configuration, embeddingFunction };
}

/** The `new_configuration` of a modify request, and the collection's new embedding function if one is given. */
export function buildUpdateConfiguration(
  value: unknown,
  current: EmbeddingFunction | undefined,
): { configuration?: ModifyCollectionRequest["new_configuration"]; embeddingFunction?: EmbeddingFunction } {
  if (value === undefined || value === null) return {};
  const given = readOptions(value, "configuration");
  checkFields(given, ["hnsw", "spann", "embeddingFunction"]);
  const embeddingFunction = validateEmbeddingFunction(given.embeddingFunction, "configuration.embeddingFunction") ?? undefined;
  if (embeddingFunction?.getConfig && current?.validateConfigUpdate) {
    current.validateConfigUpdate(embeddingFunction.getConfig());
  }
  return {
    configuration: {
      hnsw: section(given.hnsw, "Invalid HNSW config provided in UpdateCollectionConfiguration"),
      spann: section(given.spann, "Invalid SPANN config provided in UpdateCollectionConfiguration"),
      embedding_function: embeddingFunction && serializeEmbeddingFunction(embeddingFunction),
    },
    embeddingFunction,
  };
}

/**
 * The embedding function of a collection read from the backend: the one given (after Chroma's conflict check
 * against the recorded one), else the default one if that is what the collection records, else none.
 */
export function embeddingFunctionFor(
  model: CollectionModel,
  given: EmbeddingFunction | undefined,
): EmbeddingFunction | undefined {
  const recorded = model.configuration_json?.embedding_function;
  const recordedName = recorded?.type === "known" ? recorded.name : undefined;
  if (given) {
    const name = given.name;
    if (recordedName !== undefined && typeof name === "string" && name !== "default" && name !== recordedName) {
      throw new ChromaValueError(
        "An embedding function already exists in the collection configuration, and a new one is provided. " +
          "If this is intentional, please embed documents separately. " +
          `Embedding function conflict: new: ${name} vs persisted: ${recordedName}`,
      );
    }
    return given;
  }
  return recordedName !== undefined && DEFAULT_EMBEDDING_FUNCTION_NAMES.has(recordedName)
    ? new DefaultEmbeddingFunction()
    : undefined;
}
