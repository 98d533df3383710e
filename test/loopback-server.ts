/**
 * A loopback HTTP server for the transport tests: it records every request the client sends and answers with
 * whatever the test's handler returns, or never answers (to provoke timeouts). Stands in for behaviour a local
 * Chroma server cannot show: Chroma Cloud's identity scoping, 5xx answers, overload, silence.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/api/v2/heartbeat`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or `undefined` without one. */
  body: unknown;
}

/** A handler's answer: a status and a JSON body, or `"hang"` to never answer. */
export type LoopbackAnswer = { status?: number; json?: unknown; text?: string } | "hang";

export type LoopbackHandler = (request: RecordedRequest) => LoopbackAnswer;

/** The answers of a Chroma server with the default tenant and database, for requests a test does not care about. */
export function chromaLikeAnswer(request: RecordedRequest): LoopbackAnswer {
  const path = request.url.split("?")[0];
  if (path.endsWith("/heartbeat")) return { json: { "nanosecond heartbeat": Date.now() * 1e6 } };
  if (path.endsWith("/pre-flight-checks")) return { json: { max_batch_size: 100, supports_base64_encoding: true } };
  if (path.endsWith("/auth/identity")) return { json: { user_id: "u", tenant: "default_tenant", databases: ["default_database"] } };
  const tenant = /^\/api\/v2\/tenants\/([^/]+)$/.exec(path);
  if (tenant) return { json: { name: decodeURIComponent(tenant[1]), resource_name: null } };
  const database = /^\/api\/v2\/tenants\/([^/]+)\/databases\/([^/]+)$/.exec(path);
  if (database) {
    return { json: { id: "00000000-0000-0000-0000-000000000000", name: decodeURIComponent(database[2]), tenant: decodeURIComponent(database[1]) } };
  }
  if (path.endsWith("/collections") && request.method === "GET") return { json: [] };
  if (path.endsWith("/collections_count")) return { json: 0 };
  return { status: 404, json: { error: "NotFoundError", message: `no route for ${request.method} ${path}` } };
}

/** A running loopback server; `close()` it in afterAll / finally. */
export class LoopbackServer {
  readonly requests: RecordedRequest[] = [];
  private readonly pending = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>` */
    readonly url: string,
    readonly port: number,
  ) {}

  /** Starts a server on a free loopback port; `handler` answers every request. */
  static async start(handler: LoopbackHandler): Promise<LoopbackServer> {
    let self: LoopbackServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const recorded: RecordedRequest = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: raw === "" ? undefined : JSON.parse(raw),
        };
        self!.requests.push(recorded);
        const answer = handler(recorded);
        if (answer === "hang") {
          self!.pending.add(res);
          return;
        }
        const payload = answer.text ?? JSON.stringify(answer.json ?? {});
        res.writeHead(answer.status ?? 200, { "content-type": answer.text ? "text/plain" : "application/json" });
        res.end(payload);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    self = new LoopbackServer(server, `http://127.0.0.1:${port}`, port);
    return self;
  }

  /** Requests whose path (without query) ends with `suffix`. */
  requestsTo(suffix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.url.split("?")[0].endsWith(suffix));
  }

  async close(): Promise<void> {
    for (const res of this.pending) res.destroy();
    this.pending.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
