/**
 * Client-side validation, with the official JS client's messages where it has one (Chroma's otherwise).
 * Every function takes `unknown` and throws `ChromaValueError` for anything it cannot accept, so hostile input
 * (wrong types, null, NaN, huge or cyclic values) never surfaces as a raw `TypeError` or `RangeError`.
 */
import type { EmbeddingMatrix } from "./api.js";
import { ChromaValueError } from "./errors.js";
import type { EmbeddingFunction, Include, Metadata, Where, WhereDocument } from "./types.js";

/** Largest count the engine accepts; larger limits, offsets and `nResults` mean "all" and are clamped. */
const U32_MAX = 4_294_967_295;

/** Filters nested deeper than this are rejected (this also stops cyclic filters). */
const MAX_FILTER_DEPTH = 64;

const INCLUDE_VALUES: readonly Include[] = ["distances", "documents", "embeddings", "metadatas", "uris"];

const WHERE_OPERATORS = ["$gt", "$gte", "$lt", "$lte", "$ne", "$eq", "$in", "$nin", "$contains", "$not_contains"];
const RANGE_OPERATORS = new Set(["$gt", "$gte", "$lt", "$lte"]);
/** Document operators, allowed in `whereDocument` and on the `#document` key of `where`. */
const DOCUMENT_OPERATORS = ["$contains", "$not_contains", "$regex", "$not_regex"];

type PlainObject = Record<string, unknown>;

/** A short, never-throwing rendering of any value for error messages. */
export function show(value: unknown): string {
  try {
    if (typeof value === "string") return value.length > 200 ? `${value.slice(0, 200)}...` : value;
    if (typeof value === "object" && value !== null) {
      const rendered = JSON.stringify(value) ?? Object.prototype.toString.call(value);
      return rendered.length > 200 ? `${rendered.slice(0, 200)}...` : rendered;
    }
    return typeof value === "function" ? "function" : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** `typeof`, except `null`, `array` and non-finite numbers (`NaN`, `Infinity`) are named as such. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isLiteral(value: unknown): value is string | number | boolean {
  return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
}

/** A method's options object; `undefined` and `null` mean none given. */
export function readOptions(value: unknown, what: string): PlainObject {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new ChromaValueError(`Expected ${what} to be an object, but got ${typeName(value)}`);
  }
  return value;
}

/** A required string argument. */
export function requireString(value: unknown, name: string): string {
  if (typeof value !== "string") {
    throw new ChromaValueError(`Expected '${name}' to be a string, but got ${typeName(value)}`);
  }
  return value;
}

/** An optional string argument (`undefined` / `null` = not given). */
export function optionalString(value: unknown, name: string): string | undefined {
  return value === undefined || value === null ? undefined : requireString(value, name);
}

/** An optional boolean argument. */
export function optionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") {
    throw new ChromaValueError(`Expected '${name}' to be a boolean, but got ${typeName(value)}`);
  }
  return value;
}

/** A non-empty list of non-empty, unique string ids. */
export function validateIds(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new ChromaValueError(`Expected 'ids' to be an array, but got ${typeName(value)}`);
  }
  if (value.length === 0) {
    throw new ChromaValueError("Expected 'ids' to be a non-empty list");
  }
  const nonStrings: number[] = [];
  for (let index = 0; index < value.length; index++) {
    if (typeof value[index] !== "string") nonStrings.push(index);
  }
  if (nonStrings.length > 0) {
    const shown = nonStrings.length <= 10 ? nonStrings.join(", ") : `${nonStrings.slice(0, 10).join(", ")}, ...`;
    throw new ChromaValueError(`Found non-string IDs at ${shown}`);
  }
  const ids = value as string[];
  if (ids.includes("")) {
    throw new ChromaValueError("Empty ID, ID must have at least one character");
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) duplicates.add(id);
    seen.add(id);
  }
  if (duplicates.size > 0) {
    const list = [...duplicates];
    const shown = list.length <= 5 ? list.join(", ") : `${list.slice(0, 5).join(", ")}, ..., ${list.slice(-5).join(", ")}`;
    throw new ChromaValueError(`Expected IDs to be unique, but found duplicates of ${shown}`);
  }
  return ids;
}

/** Rejects writes larger than the backend's batch limit, with Chroma's message. */
export function validateBatchSize(size: number, maxBatchSize: number): void {
  if (size > maxBatchSize) {
    throw new ChromaValueError(`Batch size of ${size} is greater than max batch size of ${maxBatchSize}`);
  }
}

function isEmbeddingRow(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

/**
 * Validates embeddings (`number[][]` or `Float32Array[]`, all of one dimension, finite as float32) and packs
 * them row-major into one `Float32Array`.
 */
export function packEmbeddings(value: unknown, field: string): EmbeddingMatrix {
  if (!Array.isArray(value)) {
    throw new ChromaValueError(`Expected '${field}' to be an array, but got ${typeName(value)}`);
  }
  if (value.length === 0) {
    throw new ChromaValueError(`Expected ${field} to be an array with at least one item`);
  }
  // Index loops, not forEach: holes in sparse arrays must be seen (as undefined), not skipped.
  const rows: unknown[] = value;
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index];
    if (!isEmbeddingRow(row)) {
      throw new ChromaValueError("Expected each embedding to be an array of numbers");
    }
    if (row.length === 0) {
      throw new ChromaValueError(
        `Expected each embedding to be a non-empty array of numbers, but got an empty array at index ${index}`,
      );
    }
  }
  const dimension = (rows[0] as ArrayLike<unknown>).length;
  let data: Float32Array;
  try {
    data = new Float32Array(rows.length * dimension);
  } catch (error) {
    throw new ChromaValueError(`Embeddings are too large: ${rows.length} x ${dimension} values`, error);
  }
  for (let rowIndex = 0; rowIndex < rows.length; rowIndex++) {
    const values = rows[rowIndex] as ArrayLike<unknown>;
    if (values.length !== dimension) {
      throw new ChromaValueError("Inconsistent dimensions in provided embeddings");
    }
    const offset = rowIndex * dimension;
    for (let i = 0; i < dimension; i++) {
      const number = values[i];
      if (typeof number !== "number") {
        throw new ChromaValueError("Expected each embedding to be an array of numbers");
      }
      data[offset + i] = number;
      if (!Number.isFinite(data[offset + i])) {
        throw new ChromaValueError("Embeddings must not contain NaN or Infinity values");
      }
    }
  }
  return { data, dimension };
}

/** Document texts; `null` entries are allowed only when `nullable` (i.e. when embeddings are given). */
function validateDocuments(value: unknown[], field: string, nullable: boolean): (string | null)[] {
  if (value.length === 0) {
    throw new ChromaValueError(`Expected '${field}' to be a non-empty list`);
  }
  return Array.from(value, (document) => {
    if (typeof document === "string") return document;
    if (nullable && (document === null || document === undefined)) return null;
    throw new ChromaValueError(`Expected each document to be a string, but got ${typeName(document)}`);
  });
}

function checkMetadataValue(key: string, value: unknown): void {
  if (value === null || value === undefined || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new ChromaValueError(`Expected metadata value for key '${key}' to be a finite number, but got ${value}`);
    }
    return;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ChromaValueError(`Expected metadata list value for key '${key}' to be non-empty`);
    }
    const items: unknown[] = Array.from(value);
    if (!items.every(isLiteral)) {
      throw new ChromaValueError(
        `Expected metadata list value for key '${key}' to contain only strings, numbers, or booleans`,
      );
    }
    if (!items.every((item) => typeof item === typeof items[0])) {
      throw new ChromaValueError(`Expected metadata list value for key '${key}' to contain only the same type`);
    }
    return;
  }
  throw new ChromaValueError(
    `Expected metadata value for key '${key}' to be a string, number, boolean, array, or null, but got ${typeName(value)}`,
  );
}

/** One metadata object (record or collection); `undefined` / `null` = none. */
export function validateMetadata(value: unknown): Metadata | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    throw new ChromaValueError(`Expected metadata to be an object, but got ${typeName(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    throw new ChromaValueError("Expected metadata to be non-empty");
  }
  for (const [key, item] of entries) checkMetadataValue(key, item);
  return value as Metadata;
}

/** Per-record metadata; `null` entries mean none (or unchanged, in update). */
function validateMetadatas(value: unknown[]): (Metadata | null)[] {
  return Array.from(value, (metadata) => validateMetadata(metadata) ?? null);
}

/** Per-record URIs; `null` entries mean none. */
function validateUris(value: unknown[]): (string | null)[] {
  return Array.from(value, (uri) => {
    if (typeof uri === "string") return uri;
    if (uri === null || uri === undefined) return null;
    throw new ChromaValueError(`Expected each uri to be a string, but got ${typeName(uri)}`);
  });
}

/** The fields of add / upsert / update, validated and with embeddings packed. */
export interface RecordSet {
  ids: string[];
  embeddings?: EmbeddingMatrix;
  documents?: (string | null)[];
  metadatas?: (Metadata | null)[];
  uris?: (string | null)[];
}

const RECORD_FIELDS = ["embeddings", "documents", "metadatas", "uris"] as const;

/**
 * Validates the arguments of add / upsert (`update` false: embeddings or documents required) or update.
 * Documents must all be strings when they are to be embedded (no embeddings given).
 */
export function validateRecordSet(options: PlainObject, update: boolean): RecordSet {
  const ids = validateIds(options.ids);
  const given: Partial<Record<(typeof RECORD_FIELDS)[number], unknown[]>> = {};
  for (const field of RECORD_FIELDS) {
    const value = options[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) {
      throw new ChromaValueError(`Expected '${field}' to be an array, but got ${typeName(value)}`);
    }
    given[field] = value;
  }
  const present = Object.keys(given) as (typeof RECORD_FIELDS)[number][];
  const empty = present.filter((field) => given[field]?.length === 0);
  if (empty.length > 0) {
    throw new ChromaValueError(`Non-empty lists are required for ${empty.join(", ")}`);
  }
  if (present.some((field) => given[field]?.length !== ids.length)) {
    throw new ChromaValueError(`Unequal lengths for fields ids, ${present.join(", ")}`);
  }
  if (!given.embeddings && !given.documents && !update) {
    throw new ChromaValueError("At least one of 'embeddings' and 'documents' must be provided");
  }
  const embeddings = given.embeddings && packEmbeddings(given.embeddings, "embeddings");
  return {
    ids,
    embeddings,
    documents: given.documents && validateDocuments(given.documents, "documents", embeddings !== undefined),
    metadatas: given.metadatas && validateMetadatas(given.metadatas),
    uris: given.uris && validateUris(given.uris),
  };
}

/** The query texts of `query`: a non-empty list of strings. */
export function validateQueryTexts(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new ChromaValueError(`Expected 'queryTexts' to be an array, but got ${typeName(value)}`);
  }
  return validateDocuments(value, "queryTexts", false) as string[];
}

function checkOperand(operator: string, operand: unknown): void {
  if (RANGE_OPERATORS.has(operator)) {
    if (typeof operand !== "number" || !Number.isFinite(operand)) {
      throw new ChromaValueError(`Expected operand value to be a number for ${operator}, but got ${typeName(operand)}`);
    }
  } else if (operator === "$in" || operator === "$nin") {
    if (!Array.isArray(operand)) {
      throw new ChromaValueError(`Expected operand value to be an array for ${operator}, but got ${show(operand)}`);
    }
    const items: unknown[] = Array.from(operand);
    if (items.length === 0 || !items.every(isLiteral) || !items.every((item) => typeof item === typeof items[0])) {
      throw new ChromaValueError(
        "Expected 'where' operand value to be a non-empty list and all values to be of the same type",
      );
    }
  } else if (operator === "$regex" || operator === "$not_regex") {
    if (typeof operand !== "string") {
      throw new ChromaValueError(`Expected operand for ${operator} to be a string, but got ${typeName(operand)}`);
    }
  } else if (!isLiteral(operand)) {
    throw new ChromaValueError("Expected operand value to be a string, number, boolean, or a list of those types");
  }
}

function checkWhere(where: unknown, depth: number): void {
  if (depth > MAX_FILTER_DEPTH) {
    throw new ChromaValueError(`Expected 'where' to be nested at most ${MAX_FILTER_DEPTH} levels deep`);
  }
  if (!isPlainObject(where)) {
    throw new ChromaValueError("Expected where to be a non-empty object");
  }
  const keys = Object.keys(where);
  if (keys.length !== 1) {
    throw new ChromaValueError(`Expected 'where' to have exactly one operator, but got ${keys.length}`);
  }
  const key = keys[0];
  const value = where[key];
  if (key === "$and" || key === "$or") {
    if (!Array.isArray(value) || value.length < 2) {
      throw new ChromaValueError(
        `Expected 'where' value for $and or $or to be a list of 'where' expressions, but got ${show(value)}`,
      );
    }
    for (const clause of value) checkWhere(clause, depth + 1);
    return;
  }
  if (key.startsWith("$")) {
    throw new ChromaValueError(
      `Expected where key to be a metadata field name or a logical operator ($and, $or), got ${key}`,
    );
  }
  if (isLiteral(value)) return;
  if (!isPlainObject(value)) {
    throw new ChromaValueError(
      `Expected 'where' value to be a string, number, boolean, or an operator expression, but got ${show(value)}`,
    );
  }
  const operators = Object.keys(value);
  if (operators.length !== 1) {
    throw new ChromaValueError(`Expected operator expression to have one operator, but got ${show(value)}`);
  }
  const operator = operators[0];
  const allowed = key === "#document" ? DOCUMENT_OPERATORS : WHERE_OPERATORS;
  if (!allowed.includes(operator)) {
    throw new ChromaValueError(`Expected operator to be one of ${allowed.join(", ")}, but got ${operator}`);
  }
  checkOperand(operator, value[operator]);
}

/** A metadata filter; `undefined`, `null` and `{}` mean no filter. */
export function validateWhere(value: unknown): Where | undefined {
  if (value === undefined || value === null || (isPlainObject(value) && Object.keys(value).length === 0)) {
    return undefined;
  }
  checkWhere(value, 0);
  return value as Where;
}

function checkWhereDocument(whereDocument: unknown, depth: number): void {
  if (depth > MAX_FILTER_DEPTH) {
    throw new ChromaValueError(`Expected 'whereDocument' to be nested at most ${MAX_FILTER_DEPTH} levels deep`);
  }
  if (!isPlainObject(whereDocument)) {
    throw new ChromaValueError("Expected 'whereDocument' to be a non-empty object");
  }
  const keys = Object.keys(whereDocument);
  if (keys.length !== 1) {
    throw new ChromaValueError(`Expected 'whereDocument' to have exactly one operator, but got ${keys.length}`);
  }
  const operator = keys[0];
  const operand = whereDocument[operator];
  if (operator === "$and" || operator === "$or") {
    if (!Array.isArray(operand)) {
      throw new ChromaValueError(
        `Expected operand for ${operator} to be a list of 'whereDocument' expressions, but got ${show(operand)}`,
      );
    }
    if (operand.length < 2) {
      throw new ChromaValueError(
        `Expected 'whereDocument' operand for ${operator} to be a list with at least two 'whereDocument' expressions`,
      );
    }
    for (const clause of operand) checkWhereDocument(clause, depth + 1);
    return;
  }
  if (!DOCUMENT_OPERATORS.includes(operator)) {
    throw new ChromaValueError(
      `Expected 'whereDocument' operator to be one of $contains, $not_contains, $regex, $not_regex, $and, or $or, but got ${operator}`,
    );
  }
  if (typeof operand !== "string") {
    throw new ChromaValueError(`Expected operand for ${operator} to be a string, but got ${typeName(operand)}`);
  }
}

/** A document filter; `undefined`, `null` and `{}` mean no filter. */
export function validateWhereDocument(value: unknown): WhereDocument | undefined {
  if (value === undefined || value === null || (isPlainObject(value) && Object.keys(value).length === 0)) {
    return undefined;
  }
  checkWhereDocument(value, 0);
  return value as WhereDocument;
}

/** The fields to return; `undefined` / `null` = `fallback`. `distances` only when `allowDistances`. */
export function validateInclude(value: unknown, fallback: Include[], allowDistances: boolean): Include[] {
  if (value === undefined || value === null) return [...fallback];
  if (!Array.isArray(value)) {
    throw new ChromaValueError("Expected 'include' to be a non-empty array");
  }
  for (const item of value) {
    if (typeof item !== "string") {
      throw new ChromaValueError("Expected 'include' items to be strings");
    }
    if (!INCLUDE_VALUES.includes(item as Include)) {
      throw new ChromaValueError(`Expected 'include' items to be one of ${INCLUDE_VALUES.join(", ")}, but got ${item}`);
    }
    if (item === "distances" && !allowDistances) {
      throw new ChromaValueError(`${item} is not allowed for this operation`);
    }
  }
  return [...value] as Include[];
}

/** `nResults`: a positive integer (default 10), clamped to what the engine accepts. */
export function validateNResults(value: unknown): number {
  if (value === undefined || value === null) return 10;
  if (typeof value !== "number") {
    throw new ChromaValueError(`Expected 'nResults' to be a number, but got ${typeName(value)}`);
  }
  if (!Number.isInteger(value)) {
    throw new ChromaValueError(`Expected 'nResults' to be an integer, but got ${value}`);
  }
  if (value <= 0) {
    throw new ChromaValueError("Number of requested results has to positive");
  }
  return Math.min(value, U32_MAX);
}

/** A `limit` or `offset`: a non-negative integer, clamped to what the engine accepts; `undefined` = not given. */
export function validateCount(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new ChromaValueError(`${name} must be a non-negative integer, got ${show(value)}`);
  }
  return Math.min(value, U32_MAX);
}

/** An embedding function argument: `undefined` = not given, `null` = explicitly none. */
export function validateEmbeddingFunction(value: unknown, name: string): EmbeddingFunction | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== "object" || typeof (value as EmbeddingFunction).generate !== "function") {
    throw new ChromaValueError(
      `Expected '${name}' to be an embedding function with a generate() method, but got ${typeName(value)}`,
    );
  }
  return value as EmbeddingFunction;
}
