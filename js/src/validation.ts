/**
 * Client-side validation, with the official JS client's messages where it has one (Chroma's otherwise).
 * Every function takes `unknown` and throws `ChromaValueError` for anything it cannot accept, so hostile input
 * (wrong types, null, NaN, huge or cyclic values) never surfaces as a raw `TypeError` or `RangeError`.
 *
 * User-supplied objects are read inside {@link readArguments} (or {@link safely}): a getter or proxy trap that
 * throws while an argument is read becomes a `ChromaValueError` ("Could not read ...") with the original as cause.
 */
import type { EmbeddingMatrix } from "./api.js";
import { ChromaError, ChromaValueError, describeThrown } from "./errors.js";
import type { EmbeddingFunction, EmbeddingFunctionSpace, Include, Metadata, Where, WhereDocument } from "./types.js";

/** Largest count the engine accepts; larger limits, offsets and `nResults` mean "all" and are clamped. */
const U32_MAX = 4_294_967_295;

// -----------------------------------------------------------------------------------------------------------------
// Size limits. Each is checked before a list is walked or copied, so that a huge input (e.g. a sparse
// `new Array(2 ** 31)`, which costs nothing to make but billions of steps to walk) or a filter sharing sub-filters
// (a DAG whose tree is exponentially large) is refused at once, instead of blocking the JS thread or exhausting
// memory:
// - MAX_BATCH_SIZE: records in one add / upsert / update (the length of `ids`, and so of every other list). Chroma's
//   local limit, also what Chroma servers report; the backend's own `getMaxBatchSize()` is checked after.
// - MAX_LIST_LENGTH: ids of get / query / delete, query embeddings and texts, `include`, names in getCollections.
// - MAX_VALUE_LIST_LENGTH: items of a metadata list value, of a `$in` / `$nin` operand, of a settings list.
// - MAX_FILTER_DEPTH / MAX_FILTER_NODES: nesting and size of one `where` / `whereDocument` filter; the size counts
//   every clause reached, so a sub-filter shared n times counts n times (JSON would repeat it n times too).
// - MAX_EMBEDDING_DIMENSION: values per embedding (far above any model's; the embedded engine allows 65,536).
// -----------------------------------------------------------------------------------------------------------------

/** Chroma's local batch limit: SQLite's default MAX_VARIABLE_NUMBER (32766) / 6. */
export const MAX_BATCH_SIZE = 5461;
/** Items in a request list that is not a write batch (ids of get / query / delete, query embeddings, ...). */
export const MAX_LIST_LENGTH = 1_000_000;
/** Items in a list value: a metadata list, a `$in` / `$nin` operand, a list setting. */
export const MAX_VALUE_LIST_LENGTH = 100_000;
/** Filters nested deeper than this are rejected (this also stops cyclic filters). */
const MAX_FILTER_DEPTH = 64;
/** Clauses (operator expressions, counted along every path) in one filter. */
export const MAX_FILTER_NODES = 10_000;
/** Values in one embedding. */
export const MAX_EMBEDDING_DIMENSION = 1_048_576;

const INCLUDE_VALUES: readonly Include[] = ["distances", "documents", "embeddings", "metadatas", "uris"];

const WHERE_OPERATORS = ["$gt", "$gte", "$lt", "$lte", "$ne", "$eq", "$in", "$nin", "$contains", "$not_contains"];
const RANGE_OPERATORS = new Set(["$gt", "$gte", "$lt", "$lte"]);
/** Document operators, allowed in `whereDocument` and on the `#document` key of `where`. */
const DOCUMENT_OPERATORS = ["$contains", "$not_contains", "$regex", "$not_regex"];

type PlainObject = Record<string, unknown>;

/** Longest rendering {@link show} produces. */
const SHOW_LIMIT = 200;
const SHOW_FULL = Symbol("show limit reached");

/**
 * A short, never-throwing rendering of any value for error messages: JSON-like, cut after 200 characters. The walk
 * stops as soon as the limit is reached, so huge, sparse, deeply shared or cyclic values cost no more than small ones.
 */
export function show(value: unknown): string {
  if (typeof value === "string") return value.length > SHOW_LIMIT ? `${value.slice(0, SHOW_LIMIT)}...` : value;
  let out = "";
  const emit = (text: string) => {
    out += text;
    if (out.length > SHOW_LIMIT) throw SHOW_FULL;
  };
  const path = new Set<object>();
  const walk = (item: unknown, depth: number): void => {
    if (typeof item === "string") return emit(JSON.stringify(item.length > SHOW_LIMIT ? item.slice(0, SHOW_LIMIT) : item));
    if (typeof item === "bigint") return emit(`${item}n`);
    if (typeof item === "symbol") return emit(item.toString());
    if (typeof item === "function") return emit("function");
    if (typeof item !== "object" || item === null) return emit(String(item));
    if (path.has(item)) return emit("[Circular]");
    if (depth >= 8) return emit(Array.isArray(item) ? "[...]" : "{...}");
    if (ArrayBuffer.isView(item)) return emit(Object.prototype.toString.call(item));
    path.add(item);
    if (Array.isArray(item)) {
      emit("[");
      for (let index = 0; index < item.length; index++) {
        if (index > 0) emit(",");
        walk(item[index], depth + 1);
      }
      emit("]");
    } else {
      emit("{");
      let first = true;
      for (const key of Object.keys(item)) {
        emit(`${first ? "" : ","}${JSON.stringify(key)}:`);
        first = false;
        walk((item as PlainObject)[key], depth + 1);
      }
      emit("}");
    }
    path.delete(item);
  };
  try {
    walk(value, 0);
    return out;
  } catch (error) {
    if (error === SHOW_FULL) return `${out.slice(0, SHOW_LIMIT)}...`;
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "an unreadable value";
    }
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

/**
 * Runs `read`, which reads user-supplied values: anything but a `ChromaError` that it throws (from a getter, a proxy
 * trap, a `toString`, ...) becomes a `ChromaValueError` saying what could not be read, with the original as cause.
 */
export function safely<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ChromaError) throw error;
    throw new ChromaValueError(`Could not read ${what}: ${describeThrown(error)}`, error);
  }
}

/** A method's options object; `undefined` and `null` mean none given. */
export function readOptions(value: unknown, what: string): PlainObject {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new ChromaValueError(`Expected ${what} to be an object, but got ${typeName(value)}`);
  }
  return value;
}

/**
 * The argument-reading step of a public method: `read` gets the options object ({@link readOptions}) and returns
 * what the method needs, all of it read and validated under {@link safely}.
 */
export function readArguments<T>(value: unknown, what: string, read: (options: PlainObject) => T): T {
  return safely(what, () => read(readOptions(value, what)));
}

/** Throws unless `list` has at most `max` items: checked before a user list is walked or copied. */
export function checkLength(list: ArrayLike<unknown>, field: string, max: number): void {
  if (list.length > max) {
    throw new ChromaValueError(`Expected '${field}' to have at most ${max} items, but got ${list.length}`);
  }
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

/** A non-empty list of non-empty, unique string ids (a copy); longer lists than MAX_LIST_LENGTH are refused unread. */
export function validateIds(value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new ChromaValueError(`Expected 'ids' to be an array, but got ${typeName(value)}`);
  }
  if (value.length === 0) {
    throw new ChromaValueError("Expected 'ids' to be a non-empty list");
  }
  checkLength(value, "ids", MAX_LIST_LENGTH);
  const ids: string[] = new Array(value.length);
  const nonStrings: number[] = [];
  let nonStringCount = 0;
  for (let index = 0; index < value.length; index++) {
    const id: unknown = value[index];
    if (typeof id === "string") {
      ids[index] = id;
    } else if (nonStringCount++ < 10) {
      nonStrings.push(index);
    }
  }
  if (nonStringCount > 0) {
    const shown = nonStringCount <= 10 ? nonStrings.join(", ") : `${nonStrings.join(", ")}, ... (${nonStringCount} in all)`;
    throw new ChromaValueError(`Found non-string IDs at ${shown}`);
  }
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
    throw new ChromaValueError(`Expected IDs to be unique, but found duplicates of ${show(shown)}`);
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
  checkLength(value, field, MAX_LIST_LENGTH);
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
  if (dimension > MAX_EMBEDDING_DIMENSION) {
    throw new ChromaValueError(
      `Expected each embedding to have at most ${MAX_EMBEDDING_DIMENSION} values, but got ${dimension}`,
    );
  }
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

/** A copy of a list whose items are all literals (holes are not), or `undefined`. Bounded by the caller. */
function literalList(list: unknown[]): (string | number | boolean)[] | undefined {
  const items: (string | number | boolean)[] = new Array(list.length);
  for (let index = 0; index < list.length; index++) {
    const item: unknown = list[index];
    if (!isLiteral(item)) return undefined;
    items[index] = item;
  }
  return items;
}

/** A metadata value (lists copied). */
function checkMetadataValue(key: string, value: unknown): unknown {
  if (value === null || value === undefined || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new ChromaValueError(`Expected metadata value for key '${key}' to be a finite number, but got ${value}`);
    }
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ChromaValueError(`Expected metadata list value for key '${key}' to be non-empty`);
    }
    if (value.length > MAX_VALUE_LIST_LENGTH) {
      throw new ChromaValueError(
        `Expected metadata list value for key '${key}' to have at most ${MAX_VALUE_LIST_LENGTH} items, but got ${value.length}`,
      );
    }
    const items = literalList(value);
    if (items === undefined) {
      throw new ChromaValueError(
        `Expected metadata list value for key '${key}' to contain only strings, numbers, or booleans`,
      );
    }
    if (!items.every((item) => typeof item === typeof items[0])) {
      throw new ChromaValueError(`Expected metadata list value for key '${key}' to contain only the same type`);
    }
    return items;
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
  // A copy (own data properties, so a `__proto__` key stays a key): later steps never read the user's object again.
  return Object.fromEntries(entries.map(([key, item]) => [key, checkMetadataValue(key, item)])) as Metadata;
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
  // A write larger than a batch is refused before its ids are read; the other lists must have as many items as
  // ids, and their lengths are compared before any of them is walked.
  if (Array.isArray(options.ids)) validateBatchSize(options.ids.length, MAX_BATCH_SIZE);
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
  checkLength(value, "queryTexts", MAX_LIST_LENGTH);
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
    if (operand.length > MAX_VALUE_LIST_LENGTH) {
      throw new ChromaValueError(
        `Expected operand of ${operator} to have at most ${MAX_VALUE_LIST_LENGTH} items, but got ${operand.length}`,
      );
    }
    const items = literalList(operand);
    if (items === undefined || items.length === 0 || !items.every((item) => typeof item === typeof items[0])) {
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

/** The walk of one filter: how many clauses it has reached so far (see {@link MAX_FILTER_NODES}). */
interface FilterBudget {
  nodes: number;
}

/** Counts one clause at `depth`; throws when the filter is too deep or too large. */
function enterClause(budget: FilterBudget, depth: number, field: string): void {
  if (depth > MAX_FILTER_DEPTH) {
    throw new ChromaValueError(`Expected '${field}' to be nested at most ${MAX_FILTER_DEPTH} levels deep`);
  }
  if (++budget.nodes > MAX_FILTER_NODES) {
    throw new ChromaValueError(`Filter is too large: more than ${MAX_FILTER_NODES} clauses`);
  }
}

/** The clauses of a `$and` / `$or`, checked against the budget before any is read. */
function checkClauseCount(clauses: unknown[], budget: FilterBudget): void {
  if (budget.nodes + clauses.length > MAX_FILTER_NODES) {
    throw new ChromaValueError(`Filter is too large: more than ${MAX_FILTER_NODES} clauses`);
  }
}

function checkWhere(where: unknown, depth: number, budget: FilterBudget): void {
  enterClause(budget, depth, "where");
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
    checkClauseCount(value, budget);
    for (let index = 0; index < value.length; index++) checkWhere(value[index], depth + 1, budget);
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
  checkWhere(value, 0, { nodes: 0 });
  return value as Where;
}

function checkWhereDocument(whereDocument: unknown, depth: number, budget: FilterBudget): void {
  enterClause(budget, depth, "whereDocument");
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
    checkClauseCount(operand, budget);
    for (let index = 0; index < operand.length; index++) checkWhereDocument(operand[index], depth + 1, budget);
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
  checkWhereDocument(value, 0, { nodes: 0 });
  return value as WhereDocument;
}

/** The fields to return; `undefined` / `null` = `fallback`. `distances` only when `allowDistances`. */
export function validateInclude(value: unknown, fallback: Include[], allowDistances: boolean): Include[] {
  if (value === undefined || value === null) return [...fallback];
  if (!Array.isArray(value)) {
    throw new ChromaValueError("Expected 'include' to be a non-empty array");
  }
  checkLength(value, "include", MAX_LIST_LENGTH);
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
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
  return Array.from(value as Include[]);
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

/** Optional members of an embedding function: each must be a function when present. */
const EMBEDDING_FUNCTION_METHODS = [
  "generateForQueries",
  "defaultSpace",
  "supportedSpaces",
  "getConfig",
  "validateConfig",
  "validateConfigUpdate",
] as const;

const SPACES: readonly EmbeddingFunctionSpace[] = ["cosine", "l2", "ip"];

/**
 * An embedding function argument: `undefined` = not given, `null` = explicitly none. Checked once, here: an object
 * with a `generate()` method, whose optional methods are functions (or absent) and whose `name` is a string (or
 * absent). Its methods are then called through {@link callEmbeddingFunction}.
 */
export function validateEmbeddingFunction(value: unknown, name: string): EmbeddingFunction | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== "object" || typeof (value as EmbeddingFunction).generate !== "function") {
    throw new ChromaValueError(
      `Expected '${name}' to be an embedding function with a generate() method, but got ${typeName(value)}`,
    );
  }
  const members = value as Record<string, unknown>;
  for (const method of EMBEDDING_FUNCTION_METHODS) {
    const member = members[method];
    if (member !== undefined && member !== null && typeof member !== "function") {
      throw new ChromaValueError(`Expected '${name}.${method}' to be a function, but got ${typeName(member)}`);
    }
  }
  const efName = members.name;
  if (efName !== undefined && efName !== null && typeof efName !== "string") {
    throw new ChromaValueError(`Expected '${name}.name' to be a string, but got ${typeName(efName)}`);
  }
  return value as EmbeddingFunction;
}

/** The `name` of a validated embedding function (`undefined` when it has none). */
export function embeddingFunctionName(embeddingFunction: EmbeddingFunction): string | undefined {
  return safely("the embedding function's name", () => {
    const name: unknown = embeddingFunction.name;
    return typeof name === "string" ? name : undefined;
  });
}

/** Whether a validated embedding function has the optional method `method`. */
export function hasEmbeddingFunctionMethod(
  embeddingFunction: EmbeddingFunction,
  method: (typeof EMBEDDING_FUNCTION_METHODS)[number],
): boolean {
  return safely("the embedding function", () => typeof embeddingFunction[method] === "function");
}

/**
 * Calls a method of a user's embedding function and checks what it returns with `check` (which throws
 * `ChromaValueError` for a wrong type). Sync or async alike; a method that is absent resolves with `undefined`.
 * Anything the method throws or rejects with, other than a `ChromaError`, becomes a `ChromaValueError` with it as cause.
 */
export async function callEmbeddingFunction<T>(
  embeddingFunction: EmbeddingFunction,
  method: "generate" | (typeof EMBEDDING_FUNCTION_METHODS)[number],
  args: unknown[],
  check: (result: unknown) => T,
): Promise<T | undefined> {
  const what = `${method}() of the embedding function`;
  let result: unknown;
  try {
    const member: unknown = (embeddingFunction as unknown as Record<string, unknown>)[method];
    if (member === undefined || member === null) return undefined;
    if (typeof member !== "function") {
      throw new ChromaValueError(`Expected ${method} of the embedding function to be a function, but got ${typeName(member)}`);
    }
    result = await member.apply(embeddingFunction, args);
  } catch (error) {
    if (error instanceof ChromaError) throw error;
    throw new ChromaValueError(`${what} failed: ${describeThrown(error)}`, error);
  }
  return safely(`the result of ${what}`, () => check(result));
}

/** Checks for {@link callEmbeddingFunction}. */
export const embeddingFunctionResults = {
  /** Embeddings: one per text, packed. */
  embeddings: (count: number) => (result: unknown): EmbeddingMatrix => {
    if (!Array.isArray(result) || result.length !== count) {
      throw new ChromaValueError("Embedding function returned unexpected number of embeddings.");
    }
    return packEmbeddings(result, "embeddings");
  },
  /** A distance space. */
  space: (result: unknown): EmbeddingFunctionSpace => {
    if (!SPACES.includes(result as EmbeddingFunctionSpace)) {
      throw new ChromaValueError(`Expected defaultSpace() to return one of ${SPACES.join(", ")}, but got ${show(result)}`);
    }
    return result as EmbeddingFunctionSpace;
  },
  /** A configuration object (a plain, JSON-able record). */
  config: (result: unknown): Record<string, unknown> => {
    if (!isRecord(result)) {
      throw new ChromaValueError(`Expected getConfig() to return an object, but got ${show(result)}`);
    }
    return result;
  },
  /** Anything (what validateConfig and validateConfigUpdate return is ignored). */
  ignored: (): void => undefined,
};

/** A plain object: `{...}` or `Object.create(null)`, not an array, class instance or promise. */
function isRecord(value: unknown): value is PlainObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
