/**
 * A PersistentClient look-alike that closes and reopens the engine before every record read, so that a suite run
 * through it checks what is on disk rather than what an open engine holds in memory.
 *
 * - `ReopeningSite`: one directory (and its settings). It knows every wrapper open on the directory (clients made by
 *   `site.client()`, admin clients made by `site.admin()`), because clients on one path share one engine and the
 *   engine only closes when the last of them does. A reopen waits for the calls in flight, closes the real client of
 *   every live wrapper (so the engine really closes, flushing to disk), and lets each wrapper open a new
 *   `PersistentClient({ path, settings })` lazily, on its next call.
 * - `ReopeningClient`: the client surface of `ChromaClient`; every method passes through to the current real client.
 *   Collections it returns are `ReopeningCollection`s.
 * - `ReopeningCollection`: before each read (`get`, `query`, `count`, `peek`) the site reopens, then the collection is
 *   fetched again by its current name (`getCollection({ name, embeddingFunction })`, with the same embedding function
 *   object) and the read runs on that. Writes (`add`, `upsert`, `update`, `delete`, `modify`) run on the current real
 *   collection; when an earlier reopen made it stale they fetch it again the same way first. Its properties (`id`,
 *   `name`, `metadata`, `configuration`, `tenant`, `database`, `embeddingFunction`) are those of the current real
 *   collection, so they follow `modify` (a rename included) and, after a reopen, show what was read back from disk.
 *
 * Errors are never wrapped or replaced: whatever the real client or collection rejects with reaches the caller.
 *
 * Closing: `close()` / `[Symbol.asyncDispose]()` close the wrapper for good. From then on every call goes to the
 * closed real client (or, for collections, the real collection last used), so it rejects with the package's own
 * `ChromaClosedError`; no reopen happens for a closed wrapper. Only the internal reopens are hidden.
 *
 * Two fallbacks keep the wrapper transparent when the name no longer leads to the collection:
 * - the name now belongs to another collection (deleted and recreated): the collection is fetched by id instead
 *   (`getCollectionById`), which also covers a rename made through another handle;
 * - the collection is gone (deleted): the operation runs on a handle bound to the same id on the new client (built
 *   from the package's `Collection` class and the client's collection context, an internal detail), so the caller
 *   gets the engine's own answer for a deleted collection, as the handle would without the reopen.
 */
import {
  AdminClient,
  ChromaNotFoundError,
  Collection,
  PersistentClient,
  Settings,
} from "../dist/index.js";

type RealClient = ReturnType<typeof PersistentClient>;
type RealAdmin = ReturnType<typeof AdminClient>;
type RealCollection = InstanceType<typeof Collection>;
type SettingsArg = ConstructorParameters<typeof Settings>[0] | InstanceType<typeof Settings> | undefined;

/** What a reopen closes: the real client of a live (not closed by the user) wrapper. */
interface SiteMember {
  closeUnderlying(): Promise<void>;
}

/** Counters, for the self-checks and the report. */
export interface ReopenStats {
  /** Reopens of the whole engine (one per record read on an open wrapper). */
  reopens: number;
  /** Collections fetched again after a reopen. */
  refetches: number;
  /** Fetched by id because the name led elsewhere. */
  byId: number;
  /** Bound by id because the collection no longer exists. */
  gone: number;
}

/** One directory and its settings: the engine the wrappers made from it share, reopened as a whole. */
export class ReopeningSite {
  /** Bumped by every reopen; a real collection fetched under an older generation belongs to a closed client. */
  generation = 0;
  readonly stats: ReopenStats = { reopens: 0, refetches: 0, byId: 0, gone: 0 };
  /**
   * Called during each reopen, once every real client on the path is closed and before any reopens (tests use it to
   * prove the engine really is closed then).
   */
  onClosed: (() => Promise<void> | void) | undefined;

  private readonly members = new Set<SiteMember>();
  private inflight = 0;
  private drained: (() => void) | undefined;
  /** Set while a reopen runs: new calls wait for it. */
  private gate: Promise<void> | undefined;
  /** Reopens run one after the other. */
  private chain: Promise<void> = Promise.resolve();

  /**
   * @param options.clientReads - Also reopen before the client's and admin client's reads (getCollection,
   *   getCollections, getCollectionById, listCollections, countCollections; getTenant, listTenants, getDatabase,
   *   listDatabases), so collection names, metadata and configuration, tenants and databases are read from disk too.
   */
  constructor(
    readonly path: string,
    readonly settings?: SettingsArg,
    readonly options: { clientReads?: boolean } = {},
  ) {}

  /** A client on this directory, bound to a tenant and database if given. */
  client(scope: { tenant?: string; database?: string } = {}): ReopeningClient {
    return new ReopeningClient(this, scope);
  }

  /** An admin client on this directory. */
  admin(): ReopeningAdminClient {
    return new ReopeningAdminClient(this);
  }

  /** `PersistentClient({ path, settings, tenant?, database? })`. */
  openClient(scope: { tenant?: string; database?: string }): RealClient {
    const options: Record<string, unknown> = { path: this.path };
    if (this.settings !== undefined) options.settings = this.settings;
    if (scope.tenant !== undefined) options.tenant = scope.tenant;
    if (scope.database !== undefined) options.database = scope.database;
    return PersistentClient(options);
  }

  /** `AdminClient` with the settings `PersistentClient({ path, settings })` uses (same system, equal settings). */
  openAdmin(): RealAdmin {
    const given = this.settings;
    const base = given instanceof Settings ? given : new Settings((given ?? {}) as ConstructorParameters<typeof Settings>[0]);
    return AdminClient({ settings: new Settings({ ...base.toJSON(), isPersistent: true, persistDirectory: this.path }) });
  }

  /** @internal */
  join(member: SiteMember): void {
    this.members.add(member);
  }

  /** @internal */
  leave(member: SiteMember): void {
    this.members.delete(member);
  }

  /** Runs one call; a reopen waits until the calls in flight are done, and calls made during a reopen wait for it. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    while (this.gate) await this.gate;
    this.inflight++;
    try {
      return await call();
    } finally {
      this.inflight--;
      if (this.inflight === 0) this.drained?.();
    }
  }

  /** Closes every real client on the path (so the engine closes) and makes the wrappers open new ones. */
  reopen(): Promise<void> {
    const next = this.chain.then(() => this.reopenNow());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async reopenNow(): Promise<void> {
    let open!: () => void;
    this.gate = new Promise<void>((resolve) => (open = resolve));
    try {
      if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      this.generation++;
      this.stats.reopens++;
      for (const member of [...this.members]) await member.closeUnderlying();
      await this.onClosed?.();
    } finally {
      this.gate = undefined;
      open();
    }
  }
}

/** The client surface of `ChromaClient`, over a real client that is replaced after each reopen. */
export class ReopeningClient implements AsyncDisposable {
  private current: RealClient | undefined;
  /** The real client last opened: after a user close, the closed one every call goes to. */
  private last: RealClient;
  private closedByUser = false;

  constructor(
    readonly site: ReopeningSite,
    private readonly scope: { tenant?: string; database?: string } = {},
  ) {
    this.last = this.current = site.openClient(scope);
    site.join(this);
  }

  /** Whether the suite closed this client. */
  get isClosed(): boolean {
    return this.closedByUser;
  }

  /** The real client to use now: a new one after a reopen; the closed one once the user closed the wrapper. */
  real(): RealClient {
    if (this.closedByUser) return this.last;
    if (!this.current) this.last = this.current = this.site.openClient(this.scope);
    return this.current;
  }

  /** @internal Closes the real client for a reopen. */
  async closeUnderlying(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    await client?.close();
  }

  private pass<T>(call: (client: RealClient) => Promise<T>): Promise<T> {
    return this.site.run(() => call(this.real()));
  }

  /** A client-level read: reopens first when the site says so (and the wrapper is open). */
  private async passRead<T>(call: (client: RealClient) => Promise<T>): Promise<T> {
    if (this.site.options.clientReads && !this.closedByUser) await this.site.reopen();
    return this.pass(call);
  }

  private wrap(collection: RealCollection): ReopeningCollection {
    return new ReopeningCollection(this, collection, this.site.generation);
  }

  get settings() {
    return this.last.settings;
  }
  get tenant(): string {
    return this.last.tenant;
  }
  get database(): string {
    return this.last.database;
  }

  heartbeat(...args: any[]) {
    return this.pass((c) => (c.heartbeat as any)(...args));
  }
  version(...args: any[]) {
    return this.pass((c) => (c.version as any)(...args));
  }
  getVersion(...args: any[]) {
    return this.pass((c) => (c.getVersion as any)(...args));
  }
  getMaxBatchSize(...args: any[]) {
    return this.pass((c) => (c.getMaxBatchSize as any)(...args));
  }
  getUserIdentity(...args: any[]) {
    return this.pass((c) => (c.getUserIdentity as any)(...args));
  }
  reset(...args: any[]) {
    return this.pass((c) => (c.reset as any)(...args));
  }
  countCollections(...args: any[]) {
    return this.passRead((c) => (c.countCollections as any)(...args));
  }
  deleteCollection(...args: any[]) {
    return this.pass((c) => (c.deleteCollection as any)(...args));
  }
  listCollections(...args: any[]): Promise<ReopeningCollection[]> {
    return this.passRead(async (c) => ((await (c.listCollections as any)(...args)) as RealCollection[]).map((col) => this.wrap(col)));
  }
  createCollection(...args: any[]): Promise<ReopeningCollection> {
    return this.pass(async (c) => this.wrap(await (c.createCollection as any)(...args)));
  }
  getOrCreateCollection(...args: any[]): Promise<ReopeningCollection> {
    return this.pass(async (c) => this.wrap(await (c.getOrCreateCollection as any)(...args)));
  }
  getCollection(...args: any[]): Promise<ReopeningCollection> {
    return this.passRead(async (c) => this.wrap(await (c.getCollection as any)(...args)));
  }
  getCollectionById(...args: any[]): Promise<ReopeningCollection> {
    return this.passRead(async (c) => this.wrap(await (c.getCollectionById as any)(...args)));
  }
  getCollections(...args: any[]): Promise<ReopeningCollection[]> {
    return this.passRead(async (c) => ((await (c.getCollections as any)(...args)) as RealCollection[]).map((col) => this.wrap(col)));
  }

  /** Closes for good (idempotent): later calls reach the closed real client and reject with ChromaClosedError. */
  close(): Promise<void> {
    return this.site.run(async () => {
      if (!this.closedByUser) {
        this.closedByUser = true;
        this.site.leave(this);
        this.current = undefined;
      }
      await this.last.close();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A collection whose reads run on a freshly reopened engine. */
export class ReopeningCollection {
  constructor(
    private readonly owner: ReopeningClient,
    private handle: RealCollection,
    /** The site generation `handle` was fetched under. */
    private generation: number,
  ) {}

  get id(): string {
    return this.handle.id;
  }
  get name(): string {
    return this.handle.name;
  }
  get metadata() {
    return this.handle.metadata;
  }
  get configuration() {
    return this.handle.configuration;
  }
  get tenant(): string {
    return this.handle.tenant;
  }
  get database(): string {
    return this.handle.database;
  }
  get embeddingFunction() {
    return this.handle.embeddingFunction;
  }

  /** The real collection to use now: fetched again when a reopen closed the client the current one came from. */
  private async fresh(): Promise<RealCollection> {
    const site = this.owner.site;
    if (this.owner.isClosed || this.generation === site.generation) return this.handle;
    this.handle = await refetch(this.owner.real(), this.handle, site.stats);
    this.generation = site.generation;
    return this.handle;
  }

  private write<T>(call: (collection: RealCollection) => Promise<T>): Promise<T> {
    return this.owner.site.run(async () => call(await this.fresh()));
  }

  private async read<T>(call: (collection: RealCollection) => Promise<T>): Promise<T> {
    if (!this.owner.isClosed) await this.owner.site.reopen();
    return this.write(call);
  }

  // Reads: close and reopen first. Arguments are passed on exactly as given (peek() stays argument-less).
  count(...args: Parameters<RealCollection["count"]>): ReturnType<RealCollection["count"]> {
    return this.read((c) => (c.count as any)(...args)) as ReturnType<RealCollection["count"]>;
  }
  get(...args: Parameters<RealCollection["get"]>): ReturnType<RealCollection["get"]> {
    return this.read((c) => (c.get as any)(...args)) as ReturnType<RealCollection["get"]>;
  }
  peek(...args: Parameters<RealCollection["peek"]>): ReturnType<RealCollection["peek"]> {
    return this.read((c) => (c.peek as any)(...args)) as ReturnType<RealCollection["peek"]>;
  }
  query(...args: Parameters<RealCollection["query"]>): ReturnType<RealCollection["query"]> {
    return this.read((c) => (c.query as any)(...args)) as ReturnType<RealCollection["query"]>;
  }

  // Writes: on the current real collection.
  add(...args: Parameters<RealCollection["add"]>): ReturnType<RealCollection["add"]> {
    return this.write((c) => (c.add as any)(...args)) as ReturnType<RealCollection["add"]>;
  }
  upsert(...args: Parameters<RealCollection["upsert"]>): ReturnType<RealCollection["upsert"]> {
    return this.write((c) => (c.upsert as any)(...args)) as ReturnType<RealCollection["upsert"]>;
  }
  update(...args: Parameters<RealCollection["update"]>): ReturnType<RealCollection["update"]> {
    return this.write((c) => (c.update as any)(...args)) as ReturnType<RealCollection["update"]>;
  }
  delete(...args: Parameters<RealCollection["delete"]>): ReturnType<RealCollection["delete"]> {
    return this.write((c) => (c.delete as any)(...args)) as ReturnType<RealCollection["delete"]>;
  }
  modify(...args: Parameters<RealCollection["modify"]>): ReturnType<RealCollection["modify"]> {
    return this.write((c) => (c.modify as any)(...args)) as ReturnType<RealCollection["modify"]>;
  }
  fork(...args: Parameters<RealCollection["fork"]>): ReturnType<RealCollection["fork"]> {
    return this.write((c) => (c.fork as any)(...args)) as ReturnType<RealCollection["fork"]>;
  }
  forkCount(...args: Parameters<RealCollection["forkCount"]>): ReturnType<RealCollection["forkCount"]> {
    return this.write((c) => (c.forkCount as any)(...args)) as ReturnType<RealCollection["forkCount"]>;
  }
}

/**
 * The collection `old` was, on `client` (a new client after a reopen): by its current name with the same embedding
 * function object; by id when the name now names another collection; bound to its id when it no longer exists.
 */
async function refetch(client: RealClient, old: RealCollection, stats: ReopenStats): Promise<RealCollection> {
  stats.refetches++;
  const embeddingFunction = old.embeddingFunction;
  try {
    const byName = await client.getCollection({ name: old.name, embeddingFunction });
    if (byName.id === old.id) return byName;
  } catch (error) {
    if (!(error instanceof ChromaNotFoundError)) throw error;
  }
  try {
    const byId = await client.getCollectionById({ id: old.id, embeddingFunction });
    stats.byId++;
    return byId;
  } catch (error) {
    if (!(error instanceof ChromaNotFoundError)) throw error;
  }
  // Gone: a handle on the new client bound to the same id, so the call meets the engine's answer for a deleted
  // collection (what the old handle would have got without the reopen).
  stats.gone++;
  const model = {
    id: old.id,
    name: old.name,
    tenant: old.tenant,
    database: old.database,
    metadata: old.metadata ?? null,
    configuration_json: old.configuration,
  };
  const context = (client as any).context;
  if (!context || typeof context.connect !== "function") {
    throw new Error("reopening-client: ChromaClient has no collection context (internal layout changed)");
  }
  return new (Collection as any)(context, model, embeddingFunction) as RealCollection;
}

/** The admin client surface, over a real `AdminClient` that is replaced after each reopen. */
export class ReopeningAdminClient implements AsyncDisposable {
  private current: RealAdmin | undefined;
  private last: RealAdmin;
  private closedByUser = false;

  constructor(readonly site: ReopeningSite) {
    this.last = this.current = site.openAdmin();
    site.join(this);
  }

  private real(): RealAdmin {
    if (this.closedByUser) return this.last;
    if (!this.current) this.last = this.current = this.site.openAdmin();
    return this.current;
  }

  /** @internal */
  async closeUnderlying(): Promise<void> {
    const admin = this.current;
    this.current = undefined;
    await admin?.close();
  }

  private pass<T>(call: (admin: RealAdmin) => Promise<T>): Promise<T> {
    return this.site.run(() => call(this.real()));
  }

  private async passRead<T>(call: (admin: RealAdmin) => Promise<T>): Promise<T> {
    if (this.site.options.clientReads && !this.closedByUser) await this.site.reopen();
    return this.pass(call);
  }

  get settings() {
    return this.last.settings;
  }

  createTenant(...args: any[]) {
    return this.pass((a) => (a.createTenant as any)(...args));
  }
  getTenant(...args: any[]) {
    return this.passRead((a) => (a.getTenant as any)(...args));
  }
  listTenants(...args: any[]) {
    return this.passRead((a) => (a.listTenants as any)(...args));
  }
  createDatabase(...args: any[]) {
    return this.pass((a) => (a.createDatabase as any)(...args));
  }
  getDatabase(...args: any[]) {
    return this.passRead((a) => (a.getDatabase as any)(...args));
  }
  deleteDatabase(...args: any[]) {
    return this.pass((a) => (a.deleteDatabase as any)(...args));
  }
  listDatabases(...args: any[]) {
    return this.passRead((a) => (a.listDatabases as any)(...args));
  }

  close(): Promise<void> {
    return this.site.run(async () => {
      if (!this.closedByUser) {
        this.closedByUser = true;
        this.site.leave(this);
        this.current = undefined;
      }
      await this.last.close();
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
