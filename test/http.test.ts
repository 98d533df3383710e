/**
 * The HTTP transport against a real Chroma server (`chroma run`, chromadb 1.5.x from PyPI; see
 * scripts/chroma-server.sh): the conformance suite through HttpClient, unchanged, plus AsyncHttpClient,
 * CloudClient (identity resolution), AdminClient and Client({settings}) on the same server.
 *
 * The server comes from CHROMA_SERVER_URL (e.g. http://127.0.0.1:8765, started with reset allowed); without it the
 * suites that need it are skipped. The transport cases at the end need no Chroma server: they run against a loopback
 * HTTP server started in this file, which records the requests the client sends and answers what a local Chroma
 * server cannot show (a Cloud identity scoped to another tenant, the X-Chroma-Token header a server would check,
 * 5xx and 429 answers, a server that never answers).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AdminClient,
  AsyncHttpClient,
  ChromaClient,
  ChromaClosedError,
  ChromaConnectionError,
  ChromaForbiddenError,
  ChromaNotFoundError,
  ChromaRateLimitError,
  ChromaServerError,
  ChromaTimeoutError,
  ChromaUnauthorizedError,
  ChromaUniqueError,
  ChromaValueError,
  Client,
  CloudClient,
  HttpClient,
  Settings,
} from "../dist/index.js";
import { conformanceSuite } from "./conformance.js";
import { expectRejects, uniqueName } from "./helpers.js";
import { chromaLikeAnswer, closedPort, LoopbackServer, type LoopbackHandler } from "./loopback-server.js";

const serverUrl = process.env.CHROMA_SERVER_URL;
const NO_SERVER = "CHROMA_SERVER_URL is not set; start a server with `scripts/chroma-server.sh start`";
const server = new URL(serverUrl ?? "http://127.0.0.1:1");
const host = server.hostname;
const port = Number(server.port || 80);

const spec = <T extends abstract new (...args: any[]) => Error>(cls: T, name: string) => ({ cls, name });
const valueError = spec(ChromaValueError, "ChromaValueError");
const notFoundError = spec(ChromaNotFoundError, "ChromaNotFoundError");
const authError = spec(ChromaUnauthorizedError, "ChromaAuthError");
const serverError = spec(ChromaServerError, "ChromaServerError");
const connectionError = spec(ChromaConnectionError, "ChromaConnectionError");
const closedError = spec(ChromaClosedError, "ChromaClosedError");

/** Clients opened by a test, closed after it even when it fails. */
const opened: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(client: T): T {
  opened.push(client);
  return client;
}
afterEach(async () => {
  while (opened.length > 0) await opened.pop()!.close();
});

/** Runs `body` with environment variables set (or removed, for `undefined`), restoring them afterwards. */
async function withEnv(values: Record<string, string | undefined>, body: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(values);
  try {
    await body();
  } finally {
    apply(saved);
  }
}

if (!serverUrl) {
  describe.skip(`real Chroma server suites: ${NO_SERVER}`, () => {
    it.skip("conformance, AsyncHttpClient, CloudClient, AdminClient against a real server", () => {});
  });
}

// ================================================================================================
// Against the real server
// ================================================================================================

describe.skipIf(!serverUrl)(`HttpClient against a real Chroma server (${serverUrl})`, () => {
  conformanceSuite("HttpClient", () => HttpClient({ host, port }), {
    chromaServer: true,
    makeAdminClient: () => AdminClient({ host, port }),
    makeClientFor: (tenant, database) => HttpClient({ host, port, tenant, database }),
    makeResettableClient: () => HttpClient({ host, port, settings: new Settings({ allowReset: true }) }),
  });
});

describe.skipIf(!serverUrl)("HTTP clients on a real Chroma server", () => {
  it("AsyncHttpClient resolves connected: the server's version, heartbeat and limits", async () => {
    const client = track(await AsyncHttpClient({ host, port }));
    // The Rust frontend reports its crate version ("1.0.0" from chromadb 1.5.9), not the Python package's.
    expect(await client.version()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await client.getMaxBatchSize()).toBe(5461);
    expect(await client.getUserIdentity()).toEqual({ user_id: "", tenant: "default_tenant", databases: ["default_database"] });
  });

  it("fork and forkCount, unsupported by a local server, fail with ChromaValueError as in the embedded client", async () => {
    const client = track(HttpClient({ host, port }));
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    await expectRejects(col.fork({ name: uniqueName() }), valueError, /forking is unsupported for local chroma/);
    await expectRejects(col.forkCount(), valueError, /unsupported for local chroma/);
    await client.deleteCollection({ name: col.name });
  });

  it("AsyncHttpClient rejects for a missing tenant, with Chroma's message", async () => {
    const tenant = uniqueName("no-tenant");
    await expectRejects(AsyncHttpClient({ host, port, tenant }), valueError, `Could not connect to tenant ${tenant}. Are you sure it exists?`);
  });

  it("a host given as a full URL, and the official client's `new ChromaClient({ host, port })`, reach the server", async () => {
    const byUrl = track(HttpClient({ host: `http://${host}:${port}` }));
    const official = track(new ChromaClient({ host, port }));
    const name = uniqueName();
    await byUrl.createCollection({ name, embeddingFunction: null });
    expect((await official.getCollection({ name })).name).toBe(name);
    await official.deleteCollection({ name });
  });

  it("Client({ settings }) talks HTTP for the FastAPI impl, and for settings naming a server host", async () => {
    const viaImpl = track(
      Client({ settings: { chromaApiImpl: "chromadb.api.fastapi.FastAPI", chromaServerHost: host, chromaServerHttpPort: port } }),
    );
    const viaHost = track(Client({ settings: { chromaServerHost: host, chromaServerHttpPort: port } }));
    const name = uniqueName();
    const col = await viaImpl.createCollection({ name, embeddingFunction: null });
    await col.add({ ids: ["a"], embeddings: [[0.1, 0.2]] });
    const seen = await viaHost.getCollection({ name });
    expect(await seen.count()).toBe(1);
    expect((await seen.get({ include: ["embeddings"] })).embeddings[0]).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    await viaHost.deleteCollection({ name });
  });

  it("writes above the server's max_batch_size are refused with Chroma's message, before anything is sent", async () => {
    const client = track(HttpClient({ host, port }));
    const col = await client.createCollection({ name: uniqueName(), embeddingFunction: null });
    const ids = Array.from({ length: 5462 }, (_, i) => `id${i}`);
    await expectRejects(
      col.add({ ids, embeddings: ids.map(() => [1, 2]) }),
      valueError,
      "Batch size of 5462 is greater than max batch size of 5461",
    );
    expect(await col.count()).toBe(0);
  });

  it("CloudClient resolves the tenant and database from /auth/identity (the local server does not check the key)", async () => {
    await withEnv({ CHROMA_API_KEY: undefined, CHROMA_TENANT: undefined, CHROMA_DATABASE: undefined }, async () => {
      const client = track(CloudClient({ apiKey: "local-key", cloudHost: host, cloudPort: port, enableSsl: false }));
      const name = uniqueName();
      const col = await client.createCollection({ name, embeddingFunction: null });
      expect([client.tenant, client.database]).toEqual(["default_tenant", "default_database"]);
      expect([col.tenant, col.database]).toEqual(["default_tenant", "default_database"]);
      await client.deleteCollection({ name });
    });
  });

  it("CloudClient with a tenant the identity does not grant fails with Chroma's auth error", async () => {
    const client = track(
      CloudClient({ apiKey: "local-key", tenant: "someone-else", cloudHost: host, cloudPort: port, enableSsl: false }),
    );
    await expectRejects(
      client.listCollections(),
      authError,
      "Tenant someone-else does not match default_tenant from the server. Are you sure the tenant is correct?",
    );
  });

  it("AdminClient({ settings }) naming the server manages its tenants and databases", async () => {
    const admin = track(AdminClient({ settings: { chromaServerHost: host, chromaServerHttpPort: port } }));
    const tenant = uniqueName("tenant");
    await admin.createTenant({ name: tenant });
    expect(await admin.getTenant({ name: tenant })).toBe(tenant);
    await admin.createDatabase({ name: "first-db", tenant });
    await admin.createDatabase({ name: "second-db", tenant });
    expect((await admin.listDatabases({ tenant })).map((d) => d.name)).toEqual(["first-db", "second-db"]);
    expect((await admin.getDatabase({ name: "first-db", tenant })).tenant).toBe(tenant);
    await admin.deleteDatabase({ name: "first-db", tenant });
    await expectRejects(admin.getDatabase({ name: "first-db", tenant }), notFoundError, "Database [first-db] not found");
    await expectRejects(admin.createTenant({ name: tenant }), spec(ChromaUniqueError, "ChromaUniqueError"), `Tenant [${tenant}] already exists`);
  });

  it("AdminClient.listTenants on a server without that route fails clearly", async () => {
    const admin = track(AdminClient({ host, port }));
    await expectRejects(admin.listTenants(), serverError, /Listing tenants is not supported by the Chroma server/);
  });

  it("reset() is refused client-side unless the client's settings allow it, even when the server would", async () => {
    const client = track(HttpClient({ host, port }));
    await expectRejects(client.reset(), spec(ChromaForbiddenError, "ChromaForbiddenError"), /Resetting is not allowed/);
  });
});

// ================================================================================================
// Client construction (no server needed)
// ================================================================================================

describe("HTTP client construction", () => {
  it("HttpClient refuses settings naming another host or port, with Chroma's messages", () => {
    expect(() => HttpClient({ host: "a-host", settings: { chromaServerHost: "b-host" } })).toThrow(
      "Chroma server host provided in settings[b-host] is different to the one provided in HttpClient: [a-host]",
    );
    expect(() => HttpClient({ port: 8001, settings: { chromaServerHttpPort: 8002 } })).toThrow(
      "Chroma server http port provided in settings[8002] is different to the one provided in HttpClient: [8001]",
    );
  });

  it("a tenant that is not valid Unicode fails with ChromaValueError, never a raw URIError", async () => {
    const client = track(HttpClient({ host: "127.0.0.1", port: await closedPort(), tenant: "x\ud83dy" }));
    await expectRejects(client.listCollections(), valueError, /not valid Unicode/);
  });

  it("a host that is a URL without an http(s) scheme is refused", () => {
    expect(() => HttpClient({ host: "localhost/chroma" })).toThrow(/Invalid URL/);
    expect(() => HttpClient({ host: "ftp://localhost" })).toThrow("Invalid URL. Unrecognized protocol - ftp.");
  });

  it("CloudClient needs an API key, from the argument or CHROMA_API_KEY; defaults to Chroma Cloud over SSL", async () => {
    await withEnv({ CHROMA_API_KEY: undefined }, async () => {
      expect(() => CloudClient()).toThrow(
        "Missing API key. Please provide it to the CloudClient constructor or set your CHROMA_API_KEY environment variable",
      );
    });
    await withEnv({ CHROMA_API_KEY: "env-key" }, async () => {
      const client = track(CloudClient());
      expect(client.settings.chromaServerHost).toBe("api.trychroma.com");
      expect(client.settings.chromaServerHttpPort).toBe(443);
      expect(client.settings.chromaServerSslEnabled).toBe(true);
      expect(client.settings.chromaClientAuthCredentials).toBe("env-key");
    });
  });
});

// ================================================================================================
// The transport against a loopback server (no Chroma server needed)
// ================================================================================================

describe("HTTP transport against a loopback server", () => {
  let loopback: LoopbackServer;
  /** What the loopback answers; each test replaces it (default: a Chroma-like server). */
  let handler: LoopbackHandler = chromaLikeAnswer;
  beforeAll(async () => {
    loopback = await LoopbackServer.start((request) => handler(request));
  });
  afterAll(async () => {
    await loopback.close();
  });
  afterEach(() => {
    handler = chromaLikeAnswer;
    loopback.requests.length = 0;
  });
  const loopbackClient = (extra: Record<string, unknown> = {}) =>
    track(HttpClient({ host: "127.0.0.1", port: loopback.port, ...extra }));

  it("CloudClient sends the API key as X-Chroma-Token on every request and scopes itself from the identity", async () => {
    handler = (request) =>
      request.url.endsWith("/auth/identity")
        ? { json: { user_id: "u1", tenant: "acme", databases: ["prod"] } }
        : chromaLikeAnswer(request);
    await withEnv({ CHROMA_TENANT: undefined, CHROMA_DATABASE: undefined }, async () => {
      const client = track(CloudClient({ apiKey: "ck-secret", cloudHost: "127.0.0.1", cloudPort: loopback.port, enableSsl: false }));
      expect(await client.countCollections()).toBe(0);
      expect([client.tenant, client.database]).toEqual(["acme", "prod"]);
    });
    expect(loopback.requests[0].url).toBe("/api/v2/auth/identity");
    expect(loopback.requests.map((r) => r.url)).toContain("/api/v2/tenants/acme/databases/prod/collections_count");
    for (const request of loopback.requests) expect(request.headers["x-chroma-token"]).toBe("ck-secret");
  });

  it("CloudClient takes CHROMA_TENANT / CHROMA_DATABASE when the identity spans several", async () => {
    handler = (request) =>
      request.url.endsWith("/auth/identity")
        ? { json: { user_id: "u1", tenant: "*", databases: ["*"] } }
        : chromaLikeAnswer(request);
    await withEnv({ CHROMA_TENANT: "env-tenant", CHROMA_DATABASE: "env-db" }, async () => {
      const client = track(CloudClient({ apiKey: "k", cloudHost: "127.0.0.1", cloudPort: loopback.port, enableSsl: false }));
      await client.countCollections();
      expect([client.tenant, client.database]).toEqual(["env-tenant", "env-db"]);
    });
  });

  it("CloudClient fails with Chroma's messages when the identity cannot scope it", async () => {
    let identity: unknown = { user_id: "u", tenant: "*", databases: ["db"] };
    handler = (request) => (request.url.endsWith("/auth/identity") ? { json: identity } : chromaLikeAnswer(request));
    await withEnv({ CHROMA_TENANT: undefined, CHROMA_DATABASE: undefined }, async () => {
      const cloud = () => track(CloudClient({ apiKey: "k", cloudHost: "127.0.0.1", cloudPort: loopback.port, enableSsl: false }));
      await expectRejects(cloud().listCollections(), authError, "Could not determine a tenant from the current authentication method. Please provide a tenant.");
      identity = { user_id: "u", tenant: "acme", databases: ["a", "b"] };
      await expectRejects(cloud().listCollections(), valueError, "Your API key is scoped to more than 1 DB. Please provide a DB name to the CloudClient constructor");
      identity = { user_id: "u", tenant: "acme", databases: [] };
      await expectRejects(cloud().listCollections(), authError, "Your API key does not have access to any DBs for tenant acme");
    });
  });

  it("HttpClient sends its headers and settings' token auth as Authorization: Bearer", async () => {
    const client = loopbackClient({
      headers: { "x-team": "search" },
      settings: {
        chromaClientAuthProvider: "chromadb.auth.token_authn.TokenAuthClientProvider",
        chromaClientAuthCredentials: "tok",
      },
    });
    await client.heartbeat();
    for (const request of loopback.requests) {
      expect(request.headers["x-team"]).toBe("search");
      expect(request.headers.authorization).toBe("Bearer tok");
    }
  });

  describe("embeddings on the wire", () => {
    const collectionModel = {
      id: "11111111-1111-1111-1111-111111111111",
      name: "wire",
      configuration_json: {},
      metadata: null,
      dimension: null,
      tenant: "default_tenant",
      database: "default_database",
      log_position: 0,
      version: 0,
    };
    const serverWith = (preflight: object) =>
      (request: { method: string; url: string }) => {
        if (request.url.endsWith("/pre-flight-checks")) return { json: preflight };
        if (request.url.endsWith("/collections") && request.method === "POST") return { json: collectionModel };
        if (request.url.endsWith("/add")) return { status: 201, json: {} };
        return chromaLikeAnswer(request as any);
      };

    it("are sent base64-packed little-endian float32 when the server supports it", async () => {
      handler = serverWith({ max_batch_size: 10, supports_base64_encoding: true });
      const col = await loopbackClient().createCollection({ name: "wire", embeddingFunction: null });
      await col.add({ ids: ["a", "b"], embeddings: [[0.1, -2], [3.5, 1e-3]] });
      const [add] = loopback.requestsTo("/add");
      const sent = (add.body as { embeddings: string[] }).embeddings;
      const decoded = sent.map((text) => {
        const bytes = Buffer.from(text, "base64");
        return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
      });
      expect(decoded).toEqual([[Math.fround(0.1), -2], [3.5, Math.fround(1e-3)]]);
    });

    it("are sent as number arrays when it does not", async () => {
      handler = serverWith({ max_batch_size: 10, supports_base64_encoding: false });
      const col = await loopbackClient().createCollection({ name: "wire", embeddingFunction: null });
      await col.add({ ids: ["a"], embeddings: [[0.5, 2]] });
      expect((loopback.requestsTo("/add")[0].body as { embeddings: unknown }).embeddings).toEqual([[0.5, 2]]);
    });

    it("a batch above the server's max_batch_size is refused without sending it", async () => {
      handler = serverWith({ max_batch_size: 2, supports_base64_encoding: true });
      const col = await loopbackClient().createCollection({ name: "wire", embeddingFunction: null });
      await expectRejects(
        col.add({ ids: ["a", "b", "c"], embeddings: [[1], [2], [3]] }),
        valueError,
        "Batch size of 3 is greater than max batch size of 2",
      );
      expect(loopback.requestsTo("/add")).toEqual([]);
    });
  });

  describe("failures", () => {
    it("a 5xx answer is a ChromaServerError with the server's message; a POST is never retried", async () => {
      handler = (request) =>
        request.method === "POST"
          ? { status: 500, json: { error: "InternalError", message: "disk on fire" } }
          : chromaLikeAnswer(request);
      const client = loopbackClient();
      await expectRejects(client.createCollection({ name: "x-col", embeddingFunction: null }), serverError, "disk on fire");
      expect(loopback.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    });

    it("a GET answered 503 is retried a bounded number of times, then fails with ChromaServerError", async () => {
      handler = (request) => (request.url.endsWith("/heartbeat") ? { status: 503, text: "overloaded" } : chromaLikeAnswer(request));
      const client = loopbackClient();
      await expectRejects(client.heartbeat(), serverError, "overloaded");
      expect(loopback.requestsTo("/heartbeat")).toHaveLength(3);
    });

    it("a GET that fails once and then succeeds is transparent", async () => {
      let failures = 1;
      handler = (request) =>
        request.url.endsWith("/heartbeat") && failures-- > 0 ? { status: 502, text: "bad gateway" } : chromaLikeAnswer(request);
      expect(typeof (await loopbackClient().heartbeat())).toBe("number");
      expect(loopback.requestsTo("/heartbeat")).toHaveLength(2);
    });

    it("status codes map to Chroma's error classes", async () => {
      let status = 401;
      handler = (request) =>
        request.url.endsWith("/collections_count") ? { status, json: { error: "E", message: `status ${status}` } } : chromaLikeAnswer(request);
      const client = loopbackClient();
      await expectRejects(client.countCollections(), authError, "status 401");
      status = 403;
      await expectRejects(client.countCollections(), spec(ChromaForbiddenError, "ChromaForbiddenError"), "status 403");
      status = 409;
      await expectRejects(client.countCollections(), spec(ChromaUniqueError, "ChromaUniqueError"), "status 409");
      status = 429;
      await expectRejects(client.countCollections(), spec(ChromaRateLimitError, "ChromaRateLimitError"), "status 429");
      status = 400;
      await expectRejects(client.countCollections(), valueError, "status 400");
    });

    it("an answer that is not JSON is a ChromaServerError, never a raw SyntaxError", async () => {
      handler = (request) => (request.url.endsWith("/collections_count") ? { text: "<html>proxy</html>" } : chromaLikeAnswer(request));
      await expectRejects(loopbackClient().countCollections(), serverError, /not JSON/);
    });

    it("a server that never answers gives ChromaTimeoutError, a ChromaConnectionError", async () => {
      handler = (request) => (request.url.endsWith("/collections_count") ? "hang" : chromaLikeAnswer(request));
      const client = loopbackClient({ timeoutMs: 200 });
      const error = await expectRejects(client.countCollections(), spec(ChromaTimeoutError, "ChromaTimeoutError"), /no answer within 200 ms/);
      expect(error).toBeInstanceOf(ChromaConnectionError);
    });

    it("closing the client fails its requests in flight with ChromaClosedError", async () => {
      handler = (request) => (request.url.endsWith("/collections_count") ? "hang" : chromaLikeAnswer(request));
      const client = loopbackClient();
      await client.heartbeat();
      const inFlight = client.countCollections();
      while (loopback.requestsTo("/collections_count").length === 0) await new Promise((r) => setTimeout(r, 10));
      await client.close();
      await expectRejects(inFlight, closedError, /closed/);
    });

    it("no server listening gives ChromaConnectionError; AsyncHttpClient rejects with it", async () => {
      const port = await closedPort();
      await expectRejects(track(HttpClient({ host: "127.0.0.1", port })).heartbeat(), connectionError, /Could not connect to a Chroma server at http:\/\/127\.0\.0\.1/);
      await expectRejects(AsyncHttpClient({ host: "127.0.0.1", port }), connectionError, /ECONNREFUSED/);
    });
  });
});
