/**
 * The default embedding model's download and cache (js/src/embedding/model-cache.ts, tar-extract.ts), tested
 * for real against an HTTP server on 127.0.0.1 serving small archives shaped like Chroma's `onnx.tar.gz`.
 *
 * Protects: a good archive lands complete in `<cache>/onnx/`; a checksum mismatch is retried and then rejected
 * with nothing kept; an interrupted transfer is retried, and never leaves a partial archive or folder; a crash
 * mid-download leaves a cache the next process repairs; an archive with a path escaping the cache (or a link)
 * is refused before anything escapes; two processes using the model for the first time at once download it once;
 * offline use fails with a clear ChromaConnectionError; a missing inference package is named in the error.
 * Needs nothing beyond loopback networking, so it always runs.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ChromaConnectionError, ChromaCorruptedError, ChromaValueError, DefaultEmbeddingFunction } from "../dist/index.js";
import { makeTempDir, removeTempDirs } from "./helpers.js";

const DIST = pathToDist();
const MODEL_FILES = ["config.json", "model.onnx", "special_tokens_map.json", "tokenizer_config.json", "tokenizer.json", "vocab.txt"];

function pathToDist(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/index.js");
}

interface TarEntry {
  name: string;
  content?: string;
  /** tar type flag: "0" file (default), "5" folder, "2" symbolic link. */
  type?: string;
  linkName?: string;
}

/** Writes a ustar archive (gzip-compressed) with the given entries. */
function tarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? "");
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, "utf8");
    header.write(entry.type === "5" ? "0000755\0" : "0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(content.length.toString(8).padStart(11, "0") + "\0", 124);
    header.write("00000000000\0", 136);
    header.write("        ", 148);
    header.write(entry.type ?? "0", 156);
    if (entry.linkName) header.write(entry.linkName, 157, 100);
    header.write("ustar\0", 257);
    header.write("00", 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A model archive like Chroma's, with small stand-in files. */
function goodArchive(tag = "good"): Buffer {
  return tarGz([
    { name: "onnx/", type: "5" },
    ...MODEL_FILES.map((name) => ({ name: `onnx/${name}`, content: `${tag}:${name}\n`.repeat(2_000) })),
  ]);
}

type Route = (request: http.IncomingMessage, response: http.ServerResponse, hit: number) => void;

/** The loopback server: each test registers routes; hits are counted per path. */
const routes = new Map<string, Route>();
const hits = new Map<string, number>();
let server: http.Server;
let base: string;

function serve(pathname: string, route: Route): string {
  routes.set(pathname, route);
  hits.set(pathname, 0);
  return `${base}${pathname}`;
}

function sendAll(data: Buffer): Route {
  return (_request, response) => {
    response.writeHead(200, { "content-length": data.length, "content-type": "application/gzip" });
    response.end(data);
  };
}

/** Sends the headers and the first half of `data`, then cuts the connection. */
function sendHalfThenCut(data: Buffer): Route {
  return (_request, response) => {
    response.writeHead(200, { "content-length": data.length });
    response.write(data.subarray(0, data.length >> 1), () => setTimeout(() => response.socket?.destroy(), 20));
  };
}

/** Streams `data` in small chunks with pauses, so that a download stays in progress for a while. */
function sendSlowly(data: Buffer, chunks = 20, pauseMs = 25): Route {
  return (_request, response) => {
    response.writeHead(200, { "content-length": data.length });
    const size = Math.ceil(data.length / chunks);
    let offset = 0;
    const next = () => {
      if (response.destroyed) return;
      if (offset >= data.length) return void response.end();
      response.write(data.subarray(offset, offset + size));
      offset += size;
      setTimeout(next, pauseMs);
    };
    next();
  };
}

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    const route = routes.get(pathname);
    const hit = (hits.get(pathname) ?? 0) + 1;
    hits.set(pathname, hit);
    if (!route) {
      response.writeHead(404).end("not found");
      return;
    }
    route(request, response, hit);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  removeTempDirs();
});

afterEach(() => {
  routes.clear();
  hits.clear();
});

/** Names in the cache folder other than the finished archive and model folder (temporaries, locks). */
function leftovers(cacheDirectory: string): string[] {
  return existsSync(cacheDirectory) ? readdirSync(cacheDirectory).filter((name) => name !== "onnx.tar.gz" && name !== "onnx") : [];
}

function embeddingFunction(url: string, archive: Buffer, cacheDirectory: string): DefaultEmbeddingFunction {
  return new DefaultEmbeddingFunction({ modelUrl: url, modelSha256: sha256(archive), cacheDirectory });
}

describe("default embedding model download", () => {
  it("downloads, verifies and extracts a good archive into <cache>/onnx, then reuses it", async () => {
    const archive = goodArchive();
    const url = serve("/good/onnx.tar.gz", sendAll(archive));
    const cache = path.join(makeTempDir(), "all-MiniLM-L6-v2");
    const ef = embeddingFunction(url, archive, cache);

    const folder = await ef.ensureModel();
    expect(folder).toBe(path.join(cache, "onnx"));
    for (const name of MODEL_FILES) {
      expect(readFileSync(path.join(folder, name), "utf8")).toBe(`good:${name}\n`.repeat(2_000));
    }
    expect(sha256(readFileSync(path.join(cache, "onnx.tar.gz")))).toBe(sha256(archive));
    expect(leftovers(cache)).toEqual([]);

    await ef.ensureModel();
    expect(hits.get("/good/onnx.tar.gz")).toBe(1);
  });

  it("re-extracts from the cached archive when a model file is missing, without downloading", async () => {
    const archive = goodArchive();
    const url = serve("/reextract/onnx.tar.gz", sendAll(archive));
    const cache = makeTempDir();
    const ef = embeddingFunction(url, archive, cache);
    await ef.ensureModel();
    await rm(path.join(cache, "onnx", "vocab.txt"));

    await ef.ensureModel();
    expect(readFileSync(path.join(cache, "onnx", "vocab.txt"), "utf8")).toBe("good:vocab.txt\n".repeat(2_000));
    expect(hits.get("/reextract/onnx.tar.gz")).toBe(1);
  });

  it("replaces a cached archive whose checksum is wrong", async () => {
    const archive = goodArchive();
    const url = serve("/replace/onnx.tar.gz", sendAll(archive));
    const cache = makeTempDir();
    await writeFile(path.join(cache, "onnx.tar.gz"), "not the archive");

    await embeddingFunction(url, archive, cache).ensureModel();
    expect(hits.get("/replace/onnx.tar.gz")).toBe(1);
    expect(sha256(readFileSync(path.join(cache, "onnx.tar.gz")))).toBe(sha256(archive));
  });

  it("retries a checksum mismatch three times, then throws ChromaCorruptedError and keeps nothing", async () => {
    const expected = goodArchive();
    const url = serve("/bad/onnx.tar.gz", sendAll(goodArchive("tampered")));
    const cache = makeTempDir();

    const error = await embeddingFunction(url, expected, cache).ensureModel().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaCorruptedError);
    expect((error as Error).name).toBe("ChromaCorruptedError");
    expect((error as Error).message).toMatch(/does not match the expected SHA-256/);
    expect(hits.get("/bad/onnx.tar.gz")).toBe(3);
    expect(existsSync(path.join(cache, "onnx.tar.gz"))).toBe(false);
    expect(existsSync(path.join(cache, "onnx"))).toBe(false);
    expect(leftovers(cache)).toEqual([]);
  });

  it("retries an interrupted transfer and succeeds when the next one completes", async () => {
    const archive = goodArchive();
    const url = serve("/flaky/onnx.tar.gz", (request, response, hit) =>
      (hit === 1 ? sendHalfThenCut(archive) : sendAll(archive))(request, response, hit),
    );
    const cache = makeTempDir();

    await embeddingFunction(url, archive, cache).ensureModel();
    expect(hits.get("/flaky/onnx.tar.gz")).toBe(2);
    expect(readdirSync(path.join(cache, "onnx")).sort()).toEqual([...MODEL_FILES].sort());
    expect(leftovers(cache)).toEqual([]);
  });

  it("gives up on transfers that are always cut, with ChromaConnectionError and no partial file", async () => {
    const archive = goodArchive();
    const url = serve("/cut/onnx.tar.gz", sendHalfThenCut(archive));
    const cache = makeTempDir();

    const error = await embeddingFunction(url, archive, cache).ensureModel().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaConnectionError);
    expect(hits.get("/cut/onnx.tar.gz")).toBe(3);
    expect(readdirSync(cache)).toEqual([]);
  });

  it("does not retry a 404 and says how to work offline", async () => {
    const cache = makeTempDir();
    const error = await new DefaultEmbeddingFunction({ modelUrl: `${base}/missing/onnx.tar.gz`, cacheDirectory: cache })
      .ensureModel()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaConnectionError);
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect((error as Error).message).toContain("CHROMALITE_ONNX_MODEL_URL");
    expect(hits.get("/missing/onnx.tar.gz")).toBe(1);
  });

  it("fails offline (nothing listening) with a ChromaConnectionError naming the URL and the cache", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const cache = makeTempDir();
    const url = `http://127.0.0.1:${port}/onnx.tar.gz`;

    const error = await new DefaultEmbeddingFunction({ modelUrl: url, cacheDirectory: cache, downloadAttempts: 2 })
      .ensureModel()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaConnectionError);
    expect((error as Error).message).toContain(url);
    expect((error as Error).message).toContain(cache);
    expect(readdirSync(cache)).toEqual([]);
  });

  it.each([
    ["a parent-directory path", [{ name: "onnx/../../escaped.txt", content: "pwned" }]],
    ["an absolute path", [{ name: "/tmp/chromalite-escaped.txt", content: "pwned" }]],
    ["a symbolic link", [{ name: "onnx/link", type: "2", linkName: "/etc/passwd" }]],
  ])("refuses an archive with %s and writes nothing outside the cache", async (_label, evil) => {
    const archive = tarGz([...MODEL_FILES.map((name) => ({ name: `onnx/${name}`, content: name })), ...evil]);
    const url = serve("/evil/onnx.tar.gz", sendAll(archive));
    const parent = makeTempDir();
    const cache = path.join(parent, "a", "b");

    const error = await embeddingFunction(url, archive, cache).ensureModel().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaCorruptedError);
    expect((error as Error).message).toMatch(/unsafe path|link or a special file/);
    expect(existsSync(path.join(parent, "escaped.txt"))).toBe(false);
    expect(existsSync(path.join(parent, "a", "escaped.txt"))).toBe(false);
    expect(existsSync("/tmp/chromalite-escaped.txt")).toBe(false);
    expect(existsSync(path.join(cache, "onnx"))).toBe(false);
    expect(leftovers(cache)).toEqual([]);
  });

  it("refuses an archive that lacks one of the model files", async () => {
    const archive = tarGz(MODEL_FILES.filter((name) => name !== "vocab.txt").map((name) => ({ name: `onnx/${name}`, content: name })));
    const url = serve("/incomplete/onnx.tar.gz", sendAll(archive));
    const cache = makeTempDir();

    const error = await embeddingFunction(url, archive, cache).ensureModel().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaCorruptedError);
    expect((error as Error).message).toContain("onnx/vocab.txt");
    expect(existsSync(path.join(cache, "onnx"))).toBe(false);
  });

  it("rejects a checksum that is not SHA-256 hex with ChromaValueError", async () => {
    const error = await new DefaultEmbeddingFunction({ modelUrl: `${base}/x`, modelSha256: "abc", cacheDirectory: makeTempDir() })
      .ensureModel()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChromaValueError);
  });
});

/** Runs `script` (ES module source) in a child node process; resolves with its exit code and output. */
function runNode(script: string, env: Record<string, string>): { done: Promise<{ code: number | null; output: string }>; kill: () => void } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, ...env } });
  let output = "";
  child.stdout.on("data", (data) => (output += data));
  child.stderr.on("data", (data) => (output += data));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on("close", (code) => resolve({ code, output })));
  return { done, kill: () => child.kill("SIGKILL") };
}

/** A child process that fetches the model through the environment variables, as an application would. */
const FIRST_USE = `
import { DefaultEmbeddingFunction } from ${JSON.stringify(DIST)};
const folder = await new DefaultEmbeddingFunction().ensureModel();
console.log("model at " + folder);
`;

describe("default embedding model download across processes", () => {
  it("downloads once when two processes use the model for the first time together", async () => {
    const archive = goodArchive();
    const url = serve("/shared/onnx.tar.gz", sendSlowly(archive));
    const cache = makeTempDir();
    const env = { CHROMALITE_ONNX_MODEL_URL: url, CHROMALITE_ONNX_MODEL_SHA256: sha256(archive), CHROMALITE_MODEL_CACHE: cache };

    const results = await Promise.all([runNode(FIRST_USE, env).done, runNode(FIRST_USE, env).done]);
    for (const result of results) {
      expect(result.output).toContain(`model at ${path.join(cache, "onnx")}`);
      expect(result.code).toBe(0);
    }
    expect(hits.get("/shared/onnx.tar.gz")).toBe(1);
    expect(readdirSync(path.join(cache, "onnx")).sort()).toEqual([...MODEL_FILES].sort());
    expect(leftovers(cache)).toEqual([]);
  });

  it("recovers after a process is killed mid-download: no broken model, the next use completes it", async () => {
    const archive = goodArchive();
    let stalled: (() => void) | undefined;
    const reachedMiddle = new Promise<void>((resolve) => (stalled = resolve));
    const url = serve("/crash/onnx.tar.gz", (request, response, hit) => {
      if (hit > 1) return sendAll(archive)(request, response, hit);
      // First client: half the archive, then nothing; the test kills that client here.
      response.writeHead(200, { "content-length": archive.length });
      response.write(archive.subarray(0, archive.length >> 1), () => stalled?.());
    });
    const cache = makeTempDir();
    const env = { CHROMALITE_ONNX_MODEL_URL: url, CHROMALITE_ONNX_MODEL_SHA256: sha256(archive), CHROMALITE_MODEL_CACHE: cache };

    const crashing = runNode(FIRST_USE, env);
    await reachedMiddle;
    crashing.kill();
    const crashed = await crashing.done;
    expect(crashed.code).not.toBe(0);
    expect(existsSync(path.join(cache, "onnx"))).toBe(false);
    expect(existsSync(path.join(cache, "onnx.tar.gz"))).toBe(false);

    const next = await runNode(FIRST_USE, env).done;
    expect(next.output).toContain("model at");
    expect(next.code).toBe(0);
    expect(readdirSync(path.join(cache, "onnx")).sort()).toEqual([...MODEL_FILES].sort());
    // The dead process's lock was taken over and released; only its unfinished .part file may remain.
    expect(leftovers(cache).filter((name) => !name.endsWith(".part"))).toEqual([]);
  });
});

describe("default embedding function without the inference package", () => {
  it("names the package to install, with ChromaValueError", async () => {
    const previous = process.env.CHROMALITE_DEFAULT_EMBED_MODULE;
    process.env.CHROMALITE_DEFAULT_EMBED_MODULE = path.join(makeTempDir(), "no-such-package");
    try {
      const error = await new DefaultEmbeddingFunction({ cacheDirectory: makeTempDir() }).generate(["hello"]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChromaValueError);
      expect((error as Error).message).toContain("@chromalite/default-embed");
      expect((error as Error).message).toContain("ONNXRUNTIME_NODE_INSTALL=skip");
    } finally {
      if (previous === undefined) delete process.env.CHROMALITE_DEFAULT_EMBED_MODULE;
      else process.env.CHROMALITE_DEFAULT_EMBED_MODULE = previous;
    }
  });

  it("keeps its recorded name and configuration", () => {
    const ef = new DefaultEmbeddingFunction({ cacheDirectory: "/somewhere", batchSize: 8 });
    expect(ef.name).toBe("default");
    expect(ef.getConfig()).toEqual({});
    expect(ef.defaultSpace()).toBe("cosine");
    expect(() => new DefaultEmbeddingFunction({ batchSize: 0 })).toThrow(ChromaValueError);
  });
});
