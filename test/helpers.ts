/**
 * Shared helpers of the JS test suites: unique names, temp dirs, a deterministic test embedding function,
 * exact distance functions (the spec's reference formulas) and an error-shape assertion.
 *
 * Nothing here imports the package under test, so the conformance suite can run against any client whose
 * error classes are handed in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

let nameCounter = 0;
const runTag = Math.random().toString(36).slice(2, 8);

/** A collection / database / tenant name that no other test (or earlier run on a shared server) uses. */
export function uniqueName(prefix = "col"): string {
  nameCounter += 1;
  return `${prefix}-${runTag}-${nameCounter}-${Math.random().toString(36).slice(2, 7)}`;
}

const tempDirs: string[] = [];

/** A fresh empty directory under the OS temp dir; removed by `removeTempDirs()`. */
export function makeTempDir(prefix = "chromalite-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory handed out by `makeTempDir` so far (call from afterAll). */
export function removeTempDirs(): void {
  while (tempDirs.length > 0) {
    const dir = tempDirs.pop()!;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** FNV-1a over UTF-16 code units, salted: a cheap deterministic hash for the test embedding function. */
function fnv1a(text: string, salt: number): number {
  let hash = 0x811c9dc5 ^ salt;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export const HASH_EMBED_DIM = 8;

/** Deterministic, never-zero embedding of a text: same text, same vector; different texts, different vectors. */
export function hashEmbed(text: string, dim = HASH_EMBED_DIM): number[] {
  const vector: number[] = [];
  for (let d = 0; d < dim; d++) {
    vector.push(((fnv1a(text, d * 7919) % 2000) - 1000) / 1000 + (d === 0 ? 0.0005 : 0));
  }
  return vector;
}

/** The tiny custom embedding function of the brief, in the shape of chromadb's `EmbeddingFunction`. */
export function testEmbeddingFunction() {
  return {
    name: "test-hash",
    generate: async (texts: string[]) => texts.map((t) => hashEmbed(t)),
    getConfig: () => ({}),
  };
}

/** Rounds like a float32 store does. */
export const f32 = (values: readonly number[]): number[] => values.map((v) => Math.fround(v));

export function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Chroma `l2`: squared euclidean distance, no sqrt. */
export function l2Squared(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

/** Chroma `cosine`: 1 - a·b / (|a||b|). */
export function cosineDistance(a: readonly number[], b: readonly number[]): number {
  return 1 - dot(a, b) / (Math.sqrt(dot(a, a)) * Math.sqrt(dot(b, b)) + 1e-30);
}

/** Chroma `ip`: 1 - a·b. */
export function ipDistance(a: readonly number[], b: readonly number[]): number {
  return 1 - dot(a, b);
}

export type Space = "l2" | "cosine" | "ip";

export function distance(space: Space, a: readonly number[], b: readonly number[]): number {
  if (space === "l2") return l2Squared(f32(a), f32(b));
  if (space === "cosine") return cosineDistance(f32(a), f32(b));
  return ipDistance(f32(a), f32(b));
}

/**
 * The size of the terms a float32 kernel sums to get the distance: rounding error is relative to this, not to the
 * (possibly cancelling) result. l2: the result itself (a sum of squares); cosine: 1 (unit vectors); ip: Σ|aᵢbᵢ|.
 */
export function distanceMagnitude(space: Space, a: readonly number[], b: readonly number[]): number {
  if (space === "l2") return l2Squared(f32(a), f32(b));
  if (space === "cosine") return 1;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(Math.fround(a[i]) * Math.fround(b[i]));
  return sum;
}

/** The spec's distance tolerance, 1e-6 · 10^floor(log10(dim)) (at least 1e-5), scaled by the kernel's term magnitude. */
export function distanceTolerance(dim: number, magnitude: number): number {
  return Math.max(1e-6 * 10 ** Math.floor(Math.log10(dim)), 1e-5) * Math.max(1, Math.abs(magnitude));
}

/** Asserts two vectors are equal within a relative tolerance (float32 storage, cosine rescaling). */
export function expectVectorClose(actual: readonly number[] | null | undefined, expected: readonly number[], rel = 1e-5): void {
  expect(actual, "vector missing").toBeTruthy();
  expect(actual!.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tolerance = rel * Math.max(1, Math.abs(expected[i]));
    if (Math.abs(actual![i] - expected[i]) > tolerance) {
      throw new Error(`vector differs at ${i}: got ${actual![i]}, expected ${expected[i]} (±${tolerance})\n got ${JSON.stringify(actual)}\n exp ${JSON.stringify(expected)}`);
    }
  }
}

/** One accepted error shape: the class (checked with instanceof) and the `name` its instances carry. */
export interface ErrorSpec {
  cls: abstract new (...args: any[]) => Error;
  name: string;
}

/**
 * Awaits `action`, expects it to reject (or throw synchronously) with an instance of one of `specs`
 * whose `name` matches that spec, and, when `message` is given and `checkMessage` is on, whose message
 * matches it. Returns the error for further checks.
 */
export async function expectRejects(
  action: Promise<unknown> | (() => unknown),
  specs: ErrorSpec | ErrorSpec[],
  message?: RegExp | string,
  checkMessage = true,
): Promise<Error> {
  const list = Array.isArray(specs) ? specs : [specs];
  let caught: unknown = undefined;
  let threw = false;
  try {
    if (typeof action === "function") await action();
    else await action;
  } catch (error) {
    threw = true;
    caught = error;
  }
  if (!threw) {
    throw new Error(`expected a rejection with ${list.map((s) => s.name).join(" | ")}${message ? ` matching ${String(message)}` : ""}, but it resolved`);
  }
  const error = caught as Error;
  const match = list.find((spec) => error instanceof spec.cls);
  if (!match) {
    throw new Error(
      `expected ${list.map((s) => s.name).join(" | ")}, got ${(error as any)?.constructor?.name ?? typeof error} ` +
        `name=${(error as any)?.name} message=${JSON.stringify((error as any)?.message)}`,
    );
  }
  expect(error.name, `error.name of ${JSON.stringify(error.message)}`).toBe(match.name);
  if (message !== undefined && checkMessage) {
    if (typeof message === "string") expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
  }
  return error;
}

/** Sorted copy, for comparing id sets. */
export const sorted = (values: Iterable<string>): string[] => [...values].sort();

/** A seeded PRNG (mulberry32) for tests that need random data without fast-check. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Number of fast-check runs: a moderate default for CI, scaled by CHROMALITE_FUZZ_RUNS. */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.CHROMALITE_FUZZ_RUNS;
  if (!raw) return defaultRuns;
  const parsed = Number.parseInt(raw, 10);
  return Number.isFinite(parsed) && parsed > 0 ? parsed : defaultRuns;
}

/** Seed of the property tests: CHROMALITE_FUZZ_SEED when set, else a fixed one so CI is reproducible. */
export function fuzzSeed(defaultSeed: number): number {
  const raw = process.env.CHROMALITE_FUZZ_SEED;
  if (!raw) return defaultSeed;
  const parsed = Number.parseInt(raw, 10);
  return Number.isFinite(parsed) ? parsed : defaultSeed;
}
