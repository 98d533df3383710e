/**
 * Shapes of a Chroma server's answers, checked at the transport boundary: whatever the server sends (a proxy's
 * error page, an older or newer server, a broken one), what reaches the client and the collection has the shape
 * `ChromaApi` promises, or the call fails with `ChromaServerError("Unexpected response from the Chroma server: ...")`.
 * One small checker per kind of answer; each returns its input, typed.
 */
import type { CollectionModel, GetResponse, QueryResponse } from "../api.js";
import { ChromaServerError } from "../errors.js";
import type { Database, Include, UserIdentity } from "../types.js";
import { show } from "../validation.js";

const INCLUDE_VALUES = new Set<string>(["distances", "documents", "embeddings", "metadatas", "uris"]);

type Json = Record<string, unknown>;

/** The error every checker throws. */
export function unexpected(what: string, body: unknown): ChromaServerError {
  return new ChromaServerError(`Unexpected response from the Chroma server: ${what}, got ${show(body)}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === "string";
const isStringOrNull = (value: unknown): boolean => value === null || typeof value === "string";
const isObjectOrNull = (value: unknown): boolean => value === null || isObject(value);
const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

function isListOf(value: unknown, item: (value: unknown) => boolean): value is unknown[] {
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) if (!item(value[index])) return false;
  return true;
}

const isEmbedding = (value: unknown): boolean => isListOf(value, (x) => typeof x === "number");

/** An object answer (`what` names what was expected). */
export function expectObject(body: unknown, what: string): Json {
  if (!isObject(body)) throw unexpected(`expected ${what}`, body);
  return body;
}

/** A non-negative integer answer (a count). */
export function expectCount(body: unknown, what: string): number {
  if (!isCount(body)) throw unexpected(`expected ${what} (a non-negative integer)`, body);
  return body;
}

/** A string answer. */
export function expectString(body: unknown, what: string): string {
  if (!isString(body)) throw unexpected(`expected ${what} (a string)`, body);
  return body;
}

/** A list answer, every item checked with `check`. */
export function expectList<T>(body: unknown, what: string, check: (item: unknown) => T): T[] {
  if (!Array.isArray(body)) throw unexpected(`expected a list of ${what}`, body);
  const items: T[] = new Array(body.length);
  for (let index = 0; index < body.length; index++) items[index] = check(body[index]);
  return items;
}

/** A collection: `id`, `name`, `tenant`, `database` strings, `configuration_json` and `metadata` objects. */
export function expectCollection(body: unknown): CollectionModel {
  const model = expectObject(body, "a collection");
  const configuration = model.configuration_json;
  const embeddingFunction = isObject(configuration) ? configuration.embedding_function : undefined;
  const valid =
    isString(model.id) &&
    isString(model.name) &&
    isString(model.tenant) &&
    isString(model.database) &&
    isObject(configuration) &&
    (model.metadata === undefined || isObjectOrNull(model.metadata)) &&
    (embeddingFunction === undefined ||
      embeddingFunction === null ||
      (isObject(embeddingFunction) &&
        isString(embeddingFunction.type) &&
        (embeddingFunction.type !== "known" || isString(embeddingFunction.name))));
  if (!valid) throw unexpected("expected a collection (id, name, tenant, database, configuration_json)", body);
  return { ...model, metadata: model.metadata ?? null } as unknown as CollectionModel;
}

/** A database: `id`, `name` and `tenant` strings. */
export function expectDatabase(body: unknown): Database {
  const database = expectObject(body, "a database");
  if (!isString(database.id) || !isString(database.name) || !isString(database.tenant)) {
    throw unexpected("expected a database (id, name, tenant)", body);
  }
  return database as unknown as Database;
}

/** A tenant's name, from `{ name }` (or a bare name, as some servers list them). */
export function expectTenantName(body: unknown): string {
  if (isString(body)) return body;
  if (!isObject(body) || !isString(body.name)) throw unexpected("expected a tenant ({ name })", body);
  return body.name;
}

/** The caller's identity: `user_id` and `tenant` strings, `databases` a list of strings. */
export function expectUserIdentity(body: unknown): UserIdentity {
  const identity = expectObject(body, "a user identity");
  if (!isString(identity.user_id) || !isString(identity.tenant) || !isListOf(identity.databases, isString)) {
    throw unexpected("expected a user identity (user_id, tenant, databases)", body);
  }
  return identity as unknown as UserIdentity;
}

/** The `include` list of a get / query answer. */
function expectInclude(body: Json, allowDistances: boolean): Include[] {
  const include = body.include;
  if (!isListOf(include, (item) => isString(item) && INCLUDE_VALUES.has(item) && (allowDistances || item !== "distances"))) {
    throw unexpected("expected 'include' to list the fields returned", include);
  }
  return include as Include[];
}

/** The per-record check of each column of a get / query answer. */
const COLUMN_ITEMS: Record<Exclude<Include, "distances">, (value: unknown) => boolean> = {
  documents: isStringOrNull,
  uris: isStringOrNull,
  metadatas: isObjectOrNull,
  embeddings: isEmbedding,
};

/**
 * A get answer: `ids` strings; each column `null` unless included, and then one valid entry per id. Columns not
 * included are set to `null`.
 */
export function expectGetResponse(body: unknown): GetResponse {
  const response = expectObject(body, "a get result");
  if (!isListOf(response.ids, isString)) throw unexpected("expected 'ids' to be a list of strings", response.ids);
  const count = response.ids.length;
  const include = expectInclude(response, false);
  const checked: Json = { ids: response.ids, include };
  for (const [field, item] of Object.entries(COLUMN_ITEMS)) {
    const column = response[field];
    if (!include.includes(field as Include)) {
      checked[field] = null;
    } else if (!isListOf(column, item) || column.length !== count) {
      throw unexpected(`expected '${field}' to hold one valid entry per id`, column);
    } else {
      checked[field] = column;
    }
  }
  return checked as unknown as GetResponse;
}

/**
 * A query answer: one list of ids per query (`queries` of them); each column `null` unless included, and then one
 * list per query with one valid entry per id. Columns not included are set to `null`.
 */
export function expectQueryResponse(body: unknown, queries: number): QueryResponse {
  const response = expectObject(body, "a query result");
  const ids = response.ids;
  if (!isListOf(ids, (list) => isListOf(list, isString)) || ids.length !== queries) {
    throw unexpected(`expected 'ids' to hold one list of strings for each of the ${queries} queries`, ids);
  }
  const lists = ids as string[][];
  const include = expectInclude(response, true);
  const checked: Json = { ids, include };
  const columns = { ...COLUMN_ITEMS, distances: (value: unknown) => typeof value === "number" };
  for (const [field, item] of Object.entries(columns)) {
    const column = response[field];
    if (!include.includes(field as Include)) {
      checked[field] = null;
      continue;
    }
    const valid =
      Array.isArray(column) &&
      column.length === queries &&
      lists.every((list, query) => isListOf(column[query], item) && (column[query] as unknown[]).length === list.length);
    if (!valid) throw unexpected(`expected '${field}' to hold one valid entry per id of each query`, column);
    checked[field] = column;
  }
  return checked as unknown as QueryResponse;
}
