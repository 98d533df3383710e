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
  UpdateHNSWConfiguration,
  UpdateSPANNConfiguration,
} from "./types.js";
import {
  callEmbeddingFunction,
  embeddingFunctionName,
  embeddingFunctionResults,
  hasEmbeddingFunctionMethod,
  readOptions,
  validateEmbeddingFunction,
} from "./validation.js";

/** What a collection created without an embedding function records, as Chroma does. */
const DEFAULT_EMBEDDING_FUNCTION_CONFIGURATION: EmbeddingFunctionConfiguration = {
  type: "known",
  name: "default",
  config: {},
};

/** Names under which Chroma records its default embedding function. */
const DEFAULT_EMBEDDING_FUNCTION_NAMES = new Set(["default", "onnx_mini_lm_l6_v2"]);

/** Functions with a `name` and `getConfig()` are recorded as known; others as legacy (not rebuildable). */
async function serializeEmbeddingFunction(embeddingFunction: EmbeddingFunction): Promise<EmbeddingFunctionConfiguration> {
  const name = embeddingFunctionName(embeddingFunction);
  const config = await callEmbeddingFunction(embeddingFunction, "getConfig", [], embeddingFunctionResults.config);
  if (name === undefined || config === undefined) {
    return { type: "legacy" };
  }
  await callEmbeddingFunction(embeddingFunction, "validateConfig", [config], embeddingFunctionResults.ignored);
  return { type: "known", name, config };
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

/** The user's `configuration` of a create request, read and checked (synchronously, under the caller's `safely`). */
export interface CreateConfigurationInput {
  hnsw: HNSWConfiguration | undefined;
  spann: SpannConfiguration | undefined;
  embeddingFunction: EmbeddingFunction | undefined;
}

/** Reads the `configuration` argument of createCollection / getOrCreateCollection. */
export function readCreateConfiguration(value: unknown): CreateConfigurationInput {
  const given = readOptions(value, "configuration");
  checkFields(given, ["hnsw", "spann", "embeddingFunction"]);
  const hnsw = section<HNSWConfiguration>(given.hnsw, "Invalid HNSW config provided in CreateCollectionConfiguration");
  const spann = section<SpannConfiguration>(given.spann, "Invalid SPANN config provided in CreateCollectionConfiguration");
  if (hnsw && spann) {
    throw new ChromaValueError("Cannot specify both HNSW and SPANN configurations");
  }
  const embeddingFunction =
    validateEmbeddingFunction(given.embeddingFunction, "configuration.embeddingFunction") ?? undefined;
  return { hnsw, spann, embeddingFunction };
}

/**
 * The `configuration` of a create request and the embedding function the new collection uses.
 * Without any embedding function the default one is recorded; `embeddingFunction: null` records none.
 */
export async function buildCreateConfiguration(options: {
  configuration: CreateConfigurationInput;
  embeddingFunction: EmbeddingFunction | null | undefined;
  metadata: CollectionMetadata | undefined;
}): Promise<{ configuration: ConfigurationRequest; embeddingFunction: EmbeddingFunction | undefined }> {
  const { hnsw, spann, embeddingFunction: configured } = options.configuration;
  const argument = options.embeddingFunction;
  const argumentName = argument ? embeddingFunctionName(argument) : undefined;
  const configuredName = configured ? embeddingFunctionName(configured) : undefined;
  if (argument && configured && argumentName !== "default" && argumentName !== configuredName) {
    throw new ChromaValueError(
      `Multiple embedding functions provided. Please provide only one. Embedding function conflict: ${argumentName} vs ${configuredName}`,
    );
  }
  const embeddingFunction = argument ?? configured;
  const space =
    embeddingFunction && hasEmbeddingFunctionMethod(embeddingFunction, "supportedSpaces")
      ? await callEmbeddingFunction(embeddingFunction, "defaultSpace", [], embeddingFunctionResults.space)
      : undefined;
  const configuration: ConfigurationRequest = { hnsw, spann };
  if (space !== undefined) {
    const legacyIndexKeys = Object.keys(options.metadata ?? {}).some((key) => key.startsWith("hnsw:"));
    if (hnsw) hnsw.space ??= space;
    else if (spann) spann.space ??= space;
    else if (!legacyIndexKeys) configuration.hnsw = { space };
  }
  if (embeddingFunction) {
    configuration.embedding_function = await serializeEmbeddingFunction(embeddingFunction);
  } else if (argument !== null) {
    configuration.embedding_function = DEFAULT_EMBEDDING_FUNCTION_CONFIGURATION;
  }
  return { configuration, embeddingFunction };
}

/** The user's `configuration` of a modify request, read and checked (synchronously, under the caller's `safely`). */
export interface UpdateConfigurationInput {
  hnsw: UpdateHNSWConfiguration | undefined;
  spann: UpdateSPANNConfiguration | undefined;
  embeddingFunction: EmbeddingFunction | undefined;
}

/** Reads the `configuration` argument of modify; `undefined` when none is given. */
export function readUpdateConfiguration(value: unknown): UpdateConfigurationInput | undefined {
  if (value === undefined || value === null) return undefined;
  const given = readOptions(value, "configuration");
  checkFields(given, ["hnsw", "spann", "embeddingFunction"]);
  return {
    hnsw: section(given.hnsw, "Invalid HNSW config provided in UpdateCollectionConfiguration"),
    spann: section(given.spann, "Invalid SPANN config provided in UpdateCollectionConfiguration"),
    embeddingFunction: validateEmbeddingFunction(given.embeddingFunction, "configuration.embeddingFunction") ?? undefined,
  };
}

/** The `new_configuration` of a modify request, and the collection's new embedding function if one is given. */
export async function buildUpdateConfiguration(
  given: UpdateConfigurationInput | undefined,
  current: EmbeddingFunction | undefined,
): Promise<{ configuration?: ModifyCollectionRequest["new_configuration"]; embeddingFunction?: EmbeddingFunction }> {
  if (given === undefined) return {};
  const embeddingFunction = given.embeddingFunction;
  if (embeddingFunction && current && hasEmbeddingFunctionMethod(current, "validateConfigUpdate")) {
    const config = await callEmbeddingFunction(embeddingFunction, "getConfig", [], embeddingFunctionResults.config);
    if (config !== undefined) {
      await callEmbeddingFunction(current, "validateConfigUpdate", [config], embeddingFunctionResults.ignored);
    }
  }
  return {
    configuration: {
      hnsw: given.hnsw,
      spann: given.spann,
      embedding_function: embeddingFunction && (await serializeEmbeddingFunction(embeddingFunction)),
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
    const name = embeddingFunctionName(given);
    if (recordedName !== undefined && name !== undefined && name !== "default" && name !== recordedName) {
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
