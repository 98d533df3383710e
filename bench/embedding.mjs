#!/usr/bin/env node
/**
 * Default embedding function throughput: chromalite's DefaultEmbeddingFunction (ONNX Runtime on a worker
 * thread, batches padded to their longest text) versus Chroma's Python pipeline (scripts/model/chroma_pipeline.py:
 * the steps of chromadb's ONNXMiniLM_L6_V2, padding every text to 256 tokens) on the same texts and model, in one
 * run. Prints texts per second for each and the ratio.
 *
 * Needs `bash scripts/model/setup.sh` and a built package (`npx tsup`). Usage:
 *   node bench/embedding.mjs [--texts N]      (default 512 texts of 5-60 words, a typical document mix)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fixture = path.join(root, ".model-fixture");
const python = path.join(process.env.CHROMALITE_EMBED_VENV ?? path.join(root, ".venv-embed"), "bin", "python");
const count = Number(process.argv[process.argv.indexOf("--texts") + 1]) || 512;
if (!existsSync(path.join(fixture, "onnx", "model.onnx")) || !existsSync(python)) {
  console.error("Run `bash scripts/model/setup.sh` first (model fixture and Python venv).");
  process.exit(1);
}
process.env.CHROMALITE_DEFAULT_EMBED_MODULE ??= path.join(root, "packages", "default-embed");
const { DefaultEmbeddingFunction } = await import(path.join(root, "dist", "index.js"));

// Deterministic texts: 5 to 60 words drawn from a fixed vocabulary (a seeded linear congruential generator).
const words = ("the of and to in is that for it as was with be by on not this are or from at which but have an they " +
  "vector database embedding chroma query collection document metadata cosine distance neural network transformer " +
  "attention token sentence similarity search retrieval index cluster semantic model café naïve 東京 Ελλάδα").split(" ");
let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const texts = Array.from({ length: count }, () =>
  Array.from({ length: 5 + Math.floor(random() * 56) }, () => words[Math.floor(random() * words.length)]).join(" "),
);

const ef = new DefaultEmbeddingFunction({ cacheDirectory: fixture });
await ef.generate(texts.slice(0, 32)); // load the model
const started = performance.now();
await ef.generate(texts);
const chromaliteSeconds = (performance.now() - started) / 1000;

const work = mkdtempSync(path.join(os.tmpdir(), "chromalite-bench-"));
let pythonResult;
try {
  const textsFile = path.join(work, "texts.json");
  writeFileSync(textsFile, JSON.stringify(texts));
  const run = spawnSync(python, [path.join(root, "scripts/model/chroma_pipeline.py"), "bench", path.join(fixture, "onnx"), textsFile], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`Python pipeline failed: ${run.stderr}`);
  pythonResult = JSON.parse(run.stdout.trim().split("\n").pop());
} finally {
  rmSync(work, { recursive: true, force: true });
}

const chromaliteRate = count / chromaliteSeconds;
console.log(`default embedding function, ${count} texts (5-60 words), all-MiniLM-L6-v2 fp32, ${os.cpus().length} cores`);
console.log(`  chromalite (onnxruntime-node, worker thread, pad to longest): ${chromaliteRate.toFixed(1)} texts/s`);
console.log(`  Chroma Python pipeline (onnxruntime, pad to 256):                  ${pythonResult.texts_per_second.toFixed(1)} texts/s`);
console.log(`  ratio chromalite / Chroma Python: ${(chromaliteRate / pythonResult.texts_per_second).toFixed(2)}x`);
process.exit(0);
