/**
 * The embedding worker thread: loads the pipeline once, then answers `{ id, texts }` messages (texts already cut
 * into batches of at most 32) with `{ id, embeddings }` (a transferred Float32Array) or `{ id, error }`.
 * ONNX Runtime's Node binding runs inference synchronously on the calling thread, so it lives here and the
 * application's event loop stays free.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadPipeline } from "./pipeline.js";

if (!parentPort) throw new Error("worker.js must run as a worker thread");
const port = parentPort;
const loading = loadPipeline(workerData.modelDirectory, workerData.options ?? {});
// An unobserved rejection would end the thread; each request reports the load error instead.
loading.catch(() => {});

/** @param {unknown} error */
function describe(error) {
  return { name: error instanceof Error ? error.name : "Error", message: error instanceof Error ? error.message : String(error) };
}

port.on("message", async (/** @type {{ id: number, texts: string[] }} */ request) => {
  try {
    const pipeline = await loading;
    const embeddings = await pipeline.embed(request.texts);
    port.postMessage({ id: request.id, embeddings }, [embeddings.buffer]);
  } catch (error) {
    port.postMessage({ id: request.id, error: describe(error) });
  }
});
