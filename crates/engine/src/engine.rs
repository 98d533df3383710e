//! The engine: tenants, databases and collections (the catalog), each collection's records, and the
//! durable store, behind one `Send + Sync` handle.
//!
//! Lock order, always: catalog → collection state → store. Reads take only a collection's read lock, so
//! queries run in parallel with each other and never wait for the store.
//! Every mutation is validated and planned first, persisted second (one SQLite transaction), and applied to
//! memory last: a failed persist leaves memory as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex, OnceLock};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde_json::{json, Value};

use crate::collection::{CollectionData, GetColumns, WritePlan};
use crate::config::CollectionConfig;
use crate::distance;
use crate::index::{GraphParams, VectorIndex};
use crate::error::{Error, Result};
use crate::metadata::{metadata_to_json, parse_metadata, Metadata};
use crate::names::{validate_collection_name, validate_database_name, validate_tenant_name};
use crate::request::{DeleteRequest, GetRequest, QueryRequest, WriteBatch};
use crate::storage::{Store, StoredCollection, StoredDatabase};

pub const DEFAULT_TENANT: &str = "default_tenant";
pub const DEFAULT_DATABASE: &str = "default_database";
pub const DEFAULT_DATABASE_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A database as returned to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseInfo {
    pub id: String,
    pub name: String,
    pub tenant: String,
}

impl DatabaseInfo {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "tenant": self.tenant})
    }
}

struct CollectionState {
    name: String,
    database: DatabaseInfo,
    metadata: Option<Metadata>,
    config: CollectionConfig,
    dimension: Option<usize>,
    /// Sequence number of the last write (persisted).
    seq: u64,
    /// Loaded from the store on first use.
    data: Option<CollectionData>,
    deleted: bool,
}

impl CollectionState {
    fn model(&self, id: &str) -> Value {
        json!({
            "id": id,
            "name": self.name,
            "configuration_json": self.config.to_json(),
            "schema": Value::Null,
            "metadata": self.metadata.as_ref().map(metadata_to_json),
            "dimension": self.dimension,
            "tenant": self.database.tenant,
            "database": self.database.name,
            "log_position": 0,
            "version": 0,
        })
    }

    fn stored(&self, id: &str) -> StoredCollection {
        StoredCollection {
            id: id.to_owned(),
            name: self.name.clone(),
            database_id: self.database.id.clone(),
            metadata: self.metadata.clone(),
            configuration: self.config.to_json(),
            dimension: self.dimension,
            seq: self.data.as_ref().map_or(self.seq, CollectionData::seq),
        }
    }
}

struct CollectionHandle {
    id: String,
    state: RwLock<CollectionState>,
}

#[derive(Default)]
struct Catalog {
    tenants: BTreeSet<String>,
    /// (tenant, name) → database.
    databases: BTreeMap<(String, String), DatabaseInfo>,
    /// Ordered by id, Chroma's local list order.
    collections: BTreeMap<String, Arc<CollectionHandle>>,
    /// (database id, name) → collection id.
    by_name: HashMap<(String, String), String>,
}

impl Catalog {
    fn with_defaults() -> Catalog {
        let mut catalog = Catalog::default();
        catalog.tenants.insert(DEFAULT_TENANT.to_owned());
        catalog.databases.insert((DEFAULT_TENANT.to_owned(), DEFAULT_DATABASE.to_owned()), default_database());
        catalog
    }

    fn database(&self, tenant: &str, name: &str) -> Option<&DatabaseInfo> {
        self.databases.get(&(tenant.to_owned(), name.to_owned()))
    }

    fn by_name(&self, database_id: &str, name: &str) -> Option<&Arc<CollectionHandle>> {
        self.by_name.get(&(database_id.to_owned(), name.to_owned())).and_then(|id| self.collections.get(id))
    }

    fn insert(&mut self, handle: Arc<CollectionHandle>) {
        let key = {
            let state = handle.state.read();
            (state.database.id.clone(), state.name.clone())
        };
        self.by_name.insert(key, handle.id.clone());
        self.collections.insert(handle.id.clone(), handle);
    }
}

fn default_database() -> DatabaseInfo {
    DatabaseInfo { id: DEFAULT_DATABASE_ID.to_owned(), name: DEFAULT_DATABASE.to_owned(), tenant: DEFAULT_TENANT.to_owned() }
}

/// Persistent directories open in this process: a second open of one is refused (share the handle).
fn open_paths() -> &'static StdMutex<BTreeSet<PathBuf>> {
    static OPEN: OnceLock<StdMutex<BTreeSet<PathBuf>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

pub struct Engine {
    catalog: RwLock<Catalog>,
    /// None for an in-memory engine; taken on close.
    store: Mutex<Option<Store>>,
    persistent_path: Option<PathBuf>,
    closed: AtomicBool,
}

impl Engine {
    /// An engine that keeps everything in memory.
    pub fn in_memory() -> Engine {
        distance::return_large_blocks_to_the_system();
        Engine {
            catalog: RwLock::new(Catalog::with_defaults()),
            store: Mutex::new(None),
            persistent_path: None,
            closed: AtomicBool::new(false),
        }
    }

    /// Opens (or creates) the persistent engine in `directory`.
    pub fn open(directory: &Path) -> Result<Engine> {
        distance::return_large_blocks_to_the_system();
        std::fs::create_dir_all(directory)?;
        let path = directory.canonicalize()?;
        {
            let mut open = open_paths().lock().map_err(|_| Error::internal("open path registry poisoned"))?;
            if !open.insert(path.clone()) {
                return Err(Error::Locked { path: path.display().to_string() });
            }
        }
        let result = Self::open_store(&path);
        if result.is_err() {
            Self::forget_path(&path);
        }
        result
    }

    fn open_store(path: &Path) -> Result<Engine> {
        let mut store = Store::open(path)?;
        let mut catalog = Catalog::default();
        for tenant in store.tenants()? {
            catalog.tenants.insert(tenant);
        }
        if !catalog.tenants.contains(DEFAULT_TENANT) {
            store.insert_tenant(DEFAULT_TENANT)?;
            catalog.tenants.insert(DEFAULT_TENANT.to_owned());
        }
        let mut by_id = HashMap::new();
        for db in store.databases()? {
            let info = DatabaseInfo { id: db.id, name: db.name, tenant: db.tenant };
            by_id.insert(info.id.clone(), info.clone());
            catalog.databases.insert((info.tenant.clone(), info.name.clone()), info);
        }
        if catalog.database(DEFAULT_TENANT, DEFAULT_DATABASE).is_none() {
            let info = default_database();
            store.insert_database(&StoredDatabase { id: info.id.clone(), name: info.name.clone(), tenant: info.tenant.clone() })?;
            by_id.insert(info.id.clone(), info.clone());
            catalog.databases.insert((info.tenant.clone(), info.name.clone()), info);
        }
        for stored in store.collections()? {
            let database = by_id
                .get(&stored.database_id)
                .cloned()
                .ok_or_else(|| Error::Corrupted { message: format!("Collection {} belongs to no database", stored.id) })?;
            let state = CollectionState {
                name: stored.name,
                database,
                metadata: stored.metadata,
                config: CollectionConfig::from_stored(&stored.configuration)?,
                dimension: stored.dimension,
                seq: stored.seq,
                data: None,
                deleted: false,
            };
            catalog.insert(Arc::new(CollectionHandle { id: stored.id, state: RwLock::new(state) }));
        }
        Ok(Engine {
            catalog: RwLock::new(catalog),
            store: Mutex::new(Some(store)),
            persistent_path: Some(path.to_owned()),
            closed: AtomicBool::new(false),
        })
    }

    fn forget_path(path: &Path) {
        if let Ok(mut open) = open_paths().lock() {
            open.remove(path);
        }
    }

    pub fn is_persistent(&self) -> bool {
        self.persistent_path.is_some()
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Runs `f` with the store when persistent; a no-op in memory. Fails if the engine was closed.
    fn persist(&self, f: impl FnOnce(&mut Store) -> Result<()>) -> Result<()> {
        self.check_open()?;
        let mut store = self.store.lock();
        match store.as_mut() {
            Some(store) => f(store),
            None if self.persistent_path.is_some() => Err(Error::Closed),
            None => Ok(()),
        }
    }

    /// Flushes and releases files and locks. Idempotent.
    pub fn close(&self) {
        self.shut(true);
    }

    /// Releases files and locks WITHOUT writing index snapshots, leaving the directory as a process kill
    /// would. For crash-recovery tests.
    #[doc(hidden)]
    pub fn close_as_if_killed(&self) {
        self.shut(false);
    }

    fn shut(&self, snapshot: bool) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Waits for each in-flight operation (collection lock), snapshots what changed since the last
        // snapshot so the next open need not rebuild, then drops the connection and the lock file.
        let handles: Vec<Arc<CollectionHandle>> =
            if snapshot { self.catalog.read().collections.values().cloned().collect() } else { Vec::new() };
        for handle in handles {
            let mut state = handle.state.write();
            if let Some(store) = self.store.lock().as_mut() {
                self.maybe_snapshot(store, &handle.id, &mut state, true);
            }
        }
        drop(self.store.lock().take());
        if let Some(path) = &self.persistent_path {
            Self::forget_path(path);
        }
        let mut catalog = self.catalog.write();
        *catalog = Catalog::default();
    }

    // ---------------------------------------------------------------- tenants and databases

    pub fn create_tenant(&self, name: &str) -> Result<()> {
        self.check_open()?;
        validate_tenant_name(name)?;
        let mut catalog = self.catalog.write();
        if catalog.tenants.contains(name) {
            return Err(Error::TenantExists { name: name.to_owned() });
        }
        self.persist(|s| s.insert_tenant(name))?;
        catalog.tenants.insert(name.to_owned());
        Ok(())
    }

    pub fn get_tenant(&self, name: &str) -> Result<String> {
        self.check_open()?;
        let catalog = self.catalog.read();
        catalog.tenants.get(name).cloned().ok_or_else(|| Error::TenantNotFound { name: name.to_owned() })
    }

    /// Ordered by name.
    pub fn list_tenants(&self, limit: Option<usize>, offset: usize) -> Result<Vec<String>> {
        self.check_open()?;
        let catalog = self.catalog.read();
        Ok(catalog.tenants.iter().skip(offset).take(limit.unwrap_or(usize::MAX)).cloned().collect())
    }

    pub fn create_database(&self, tenant: &str, name: &str) -> Result<()> {
        self.check_open()?;
        validate_database_name(name)?;
        let mut catalog = self.catalog.write();
        if !catalog.tenants.contains(tenant) {
            return Err(Error::TenantNotFound { name: tenant.to_owned() });
        }
        if catalog.database(tenant, name).is_some() {
            return Err(Error::DatabaseExists { name: name.to_owned() });
        }
        let info = DatabaseInfo { id: uuid::Uuid::new_v4().to_string(), name: name.to_owned(), tenant: tenant.to_owned() };
        self.persist(|s| {
            s.insert_database(&StoredDatabase { id: info.id.clone(), name: info.name.clone(), tenant: info.tenant.clone() })
        })?;
        catalog.databases.insert((tenant.to_owned(), name.to_owned()), info);
        Ok(())
    }

    pub fn get_database(&self, tenant: &str, name: &str) -> Result<DatabaseInfo> {
        self.check_open()?;
        let catalog = self.catalog.read();
        catalog.database(tenant, name).cloned().ok_or_else(|| Error::DatabaseNotFound { name: name.to_owned() })
    }

    /// Ordered by name.
    pub fn list_databases(&self, tenant: &str, limit: Option<usize>, offset: usize) -> Result<Vec<DatabaseInfo>> {
        self.check_open()?;
        let catalog = self.catalog.read();
        if !catalog.tenants.contains(tenant) {
            return Err(Error::TenantNotFound { name: tenant.to_owned() });
        }
        Ok(catalog
            .databases
            .values()
            .filter(|d| d.tenant == tenant)
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    /// Deletes a database and all its collections.
    pub fn delete_database(&self, tenant: &str, name: &str) -> Result<()> {
        self.check_open()?;
        let mut catalog = self.catalog.write();
        let info = catalog
            .database(tenant, name)
            .cloned()
            .ok_or_else(|| Error::NotFound { message: format!("Database [{name}] not found") })?;
        self.persist(|s| s.delete_database(&info.id))?;
        let doomed: Vec<String> = catalog
            .collections
            .values()
            .filter(|h| h.state.read().database.id == info.id)
            .map(|h| h.id.clone())
            .collect();
        for id in doomed {
            if let Some(handle) = catalog.collections.remove(&id) {
                let mut state = handle.state.write();
                catalog.by_name.remove(&(info.id.clone(), state.name.clone()));
                state.deleted = true;
                state.data = None;
            }
        }
        catalog.databases.remove(&(tenant.to_owned(), name.to_owned()));
        Ok(())
    }

    // ---------------------------------------------------------------- collections

    /// Creates a collection (or returns the existing one with `get_or_create`). Returns its model.
    pub fn create_collection(
        &self,
        tenant: &str,
        database: &str,
        name: &str,
        metadata: Option<&Value>,
        configuration: Option<&Value>,
        get_or_create: bool,
    ) -> Result<Value> {
        self.check_open()?;
        validate_collection_name(name)?;
        let metadata = parse_collection_metadata(metadata)?;
        let config = CollectionConfig::for_create(configuration, metadata.as_ref())?;
        let mut catalog = self.catalog.write();
        let database_info = catalog
            .database(tenant, database)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("Database [{database}] does not exist")))?;
        if let Some(existing) = catalog.by_name(&database_info.id, name) {
            if get_or_create {
                return Ok(existing.state.read().model(&existing.id));
            }
            return Err(Error::CollectionExists { name: name.to_owned() });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let state = CollectionState {
            name: name.to_owned(),
            database: database_info,
            metadata,
            data: Some(CollectionData::new(&config.hnsw, None, 0)),
            config,
            dimension: None,
            seq: 0,
            deleted: false,
        };
        self.persist(|s| s.insert_collection(&state.stored(&id)))?;
        let model = state.model(&id);
        catalog.insert(Arc::new(CollectionHandle { id, state: RwLock::new(state) }));
        Ok(model)
    }

    pub fn get_collection(&self, tenant: &str, database: &str, name: &str) -> Result<Value> {
        self.check_open()?;
        let catalog = self.catalog.read();
        let database_id = catalog.database(tenant, database).map(|d| d.id.clone()).unwrap_or_default();
        let handle = catalog.by_name(&database_id, name).ok_or_else(|| Error::CollectionNotFound { name: name.to_owned() })?;
        let model = handle.state.read().model(&handle.id);
        Ok(model)
    }

    pub fn get_collection_by_id(&self, id: &str) -> Result<Value> {
        let handle = self.handle(id)?;
        let state = handle.state.read();
        Ok(state.model(id))
    }

    /// Ordered by id.
    pub fn list_collections(&self, tenant: &str, database: &str, limit: Option<usize>, offset: usize) -> Result<Vec<Value>> {
        self.check_open()?;
        let catalog = self.catalog.read();
        let Some(db) = catalog.database(tenant, database) else {
            return Err(Error::DatabaseNotFound { name: database.to_owned() });
        };
        Ok(catalog
            .collections
            .values()
            .filter_map(|h| {
                let state = h.state.read();
                (state.database.id == db.id).then(|| state.model(&h.id))
            })
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect())
    }

    pub fn count_collections(&self, tenant: &str, database: &str) -> Result<usize> {
        Ok(self.list_collections(tenant, database, None, 0)?.len())
    }

    pub fn delete_collection(&self, tenant: &str, database: &str, name: &str) -> Result<()> {
        self.check_open()?;
        let mut catalog = self.catalog.write();
        let database_id = catalog.database(tenant, database).map(|d| d.id.clone()).unwrap_or_default();
        let handle = catalog
            .by_name(&database_id, name)
            .cloned()
            .ok_or_else(|| Error::CollectionNotFound { name: name.to_owned() })?;
        let mut state = handle.state.write();
        self.persist(|s| s.delete_collection(&handle.id))?;
        state.deleted = true;
        state.data = None;
        catalog.by_name.remove(&(database_id, name.to_owned()));
        catalog.collections.remove(&handle.id);
        Ok(())
    }

    /// Renames, replaces metadata wholesale, and/or updates the mutable configuration. Returns the model.
    pub fn modify_collection(
        &self,
        id: &str,
        new_name: Option<&str>,
        new_metadata: Option<&Value>,
        new_configuration: Option<&Value>,
    ) -> Result<Value> {
        self.check_open()?;
        if let Some(name) = new_name {
            validate_collection_name(name)?;
        }
        let metadata = match new_metadata {
            Some(v) if !v.is_null() => Some(parse_collection_metadata(Some(v))?),
            _ => None,
        };
        let mut catalog = self.catalog.write();
        let handle = catalog.collections.get(id).cloned().ok_or_else(|| Error::CollectionNotFound { name: id.to_owned() })?;
        let mut state = handle.state.write();
        let config = match new_configuration {
            Some(v) if !v.is_null() => state.config.update(v)?,
            _ => state.config.clone(),
        };
        if let Some(name) = new_name {
            if name != state.name && catalog.by_name(&state.database.id, name).is_some() {
                return Err(Error::CollectionExists { name: name.to_owned() });
            }
        }
        let mut next = StoredCollection { configuration: config.to_json(), ..state.stored(id) };
        if let Some(name) = new_name {
            next.name = name.to_owned();
        }
        if let Some(metadata) = metadata.clone() {
            next.metadata = metadata;
        }
        self.persist(|s| s.update_collection(&next))?;
        if next.name != state.name {
            catalog.by_name.remove(&(state.database.id.clone(), state.name.clone()));
            catalog.by_name.insert((state.database.id.clone(), next.name.clone()), id.to_owned());
            state.name = next.name;
        }
        if let Some(metadata) = metadata {
            state.metadata = metadata;
        }
        if let Some(data) = state.data.as_mut() {
            data.set_ef_search(config.hnsw.ef_search);
        }
        state.config = config;
        Ok(state.model(id))
    }

    // ---------------------------------------------------------------- records

    fn handle(&self, id: &str) -> Result<Arc<CollectionHandle>> {
        self.check_open()?;
        let catalog = self.catalog.read();
        catalog.collections.get(id).cloned().ok_or_else(|| Error::CollectionNotFound { name: id.to_owned() })
    }

    /// The collection's state, write-locked, with its records loaded.
    fn write_state<'a>(&self, handle: &'a CollectionHandle) -> Result<RwLockWriteGuard<'a, CollectionState>> {
        let mut state = handle.state.write();
        if state.deleted {
            return Err(Error::CollectionNotFound { name: handle.id.clone() });
        }
        if state.data.is_none() {
            state.data = Some(self.load(&handle.id, &state)?);
        }
        Ok(state)
    }

    /// The collection's state, read-locked, with its records loaded.
    fn read_state<'a>(&self, handle: &'a CollectionHandle) -> Result<RwLockReadGuard<'a, CollectionState>> {
        {
            let state = handle.state.read();
            if state.deleted {
                return Err(Error::CollectionNotFound { name: handle.id.clone() });
            }
            if state.data.is_some() {
                return Ok(state);
            }
        }
        let state = self.write_state(handle)?;
        Ok(RwLockWriteGuard::downgrade(state))
    }

    /// Loads a collection's records, restoring its index from the snapshot when one is valid and agrees
    /// with the records, else rebuilding it from the stored vectors.
    fn load(&self, id: &str, state: &CollectionState) -> Result<CollectionData> {
        let hnsw = &state.config.hnsw;
        self.check_open()?;
        let store = self.store.lock();
        let Some(store) = store.as_ref() else {
            return Ok(CollectionData::new(hnsw, state.dimension, state.seq));
        };
        let params = GraphParams {
            max_neighbors: hnsw.max_neighbors,
            ef_construction: hnsw.ef_construction,
            ef_search: hnsw.ef_search,
        };
        let snapshot = state.dimension.and_then(|dimension| {
            let file = store.read_snapshot(id)?;
            (file.seq <= state.seq).then_some(())?;
            VectorIndex::read_snapshot(hnsw.space, dimension, params, file.payload()).map(|index| (file.seq, index))
        });
        if let Some((seq, index)) = snapshot {
            let rows = store.load_records(id, seq)?;
            let removed = store.removed_since(id, seq)?;
            if let Some(data) = CollectionData::load(hnsw, state.dimension, state.seq, Some((seq, index)), rows, &removed)? {
                return Ok(data);
            }
        }
        let rows = store.load_records(id, 0)?;
        CollectionData::load(hnsw, state.dimension, state.seq, None, rows, &[])?.ok_or_else(|| Error::Corrupted {
            message: format!("Collection {id}: stored records and vectors disagree"),
        })
    }

    /// Writes the collection's index snapshot if enough changed (or `force` and anything changed).
    /// A failure is not an error of the write that triggered it: the records are durable and the next
    /// open rebuilds what a snapshot lacks.
    fn maybe_snapshot(&self, store: &mut Store, id: &str, state: &mut CollectionState, force: bool) {
        let sync_threshold = state.config.hnsw.sync_threshold;
        let Some(data) = state.data.as_mut() else { return };
        let due = if force { data.dirty() } else { data.snapshot_due(sync_threshold) };
        if !due {
            return;
        }
        if let Some((seq, bytes)) = data.snapshot() {
            if store.write_snapshot(id, seq, &bytes).is_ok() {
                data.snapshot_written(seq);
            }
        }
    }

    /// Per-collection facts for tests and diagnostics: (records, graph built, index restored from snapshot).
    pub fn collection_stats(&self, collection_id: &str) -> Result<(usize, bool, bool)> {
        let handle = self.handle(collection_id)?;
        let state = self.read_state(&handle)?;
        let data = state.data.as_ref().ok_or_else(|| Error::internal("collection not loaded"))?;
        Ok((data.count(), data.has_graph(), data.index_restored()))
    }

    /// add / upsert / update.
    pub fn write(&self, collection_id: &str, batch: &WriteBatch) -> Result<()> {
        let handle = self.handle(collection_id)?;
        let mut state = self.write_state(&handle)?;
        let data = state.data.as_ref().ok_or_else(|| Error::internal("collection not loaded"))?;
        let plan = data.plan_write(batch)?;
        self.commit(collection_id, &mut state, plan)
    }

    /// Returns the count Chroma reports.
    pub fn delete(&self, collection_id: &str, request: &DeleteRequest) -> Result<usize> {
        let handle = self.handle(collection_id)?;
        let mut state = self.write_state(&handle)?;
        let data = state.data.as_ref().ok_or_else(|| Error::internal("collection not loaded"))?;
        let (plan, reported) = data.plan_delete(request);
        self.commit(collection_id, &mut state, plan)?;
        Ok(reported)
    }

    /// Persists a planned write, applies it to memory, then writes an index snapshot if one is due.
    fn commit(&self, collection_id: &str, state: &mut CollectionState, plan: WritePlan<'_>) -> Result<()> {
        self.persist(|s| s.write(collection_id, &plan))?;
        if let Some(dimension) = plan.new_dimension {
            state.dimension = Some(dimension);
        }
        state.seq = plan.seq;
        state.data.as_mut().ok_or_else(|| Error::internal("collection not loaded"))?.apply(plan)?;
        if let Some(store) = self.store.lock().as_mut() {
            self.maybe_snapshot(store, collection_id, state, false);
        }
        Ok(())
    }

    pub fn count(&self, collection_id: &str) -> Result<usize> {
        let handle = self.handle(collection_id)?;
        let state = self.read_state(&handle)?;
        Ok(state.data.as_ref().map_or(0, CollectionData::count))
    }

    /// Returns the columns and the collection dimension (for reshaping embeddings).
    pub fn get(&self, collection_id: &str, request: &GetRequest) -> Result<(GetColumns, usize)> {
        let handle = self.handle(collection_id)?;
        let state = self.read_state(&handle)?;
        let data = state.data.as_ref().ok_or_else(|| Error::internal("collection not loaded"))?;
        Ok((data.get(request), data.dimension().unwrap_or(0)))
    }

    pub fn query(&self, collection_id: &str, request: &QueryRequest) -> Result<(Vec<GetColumns>, usize)> {
        let handle = self.handle(collection_id)?;
        let state = self.read_state(&handle)?;
        let data = state.data.as_ref().ok_or_else(|| Error::internal("collection not loaded"))?;
        Ok((data.query(request)?, data.dimension().unwrap_or(0)))
    }

    /// Drops everything and recreates the default tenant and database.
    pub fn reset(&self) -> Result<()> {
        self.check_open()?;
        let mut catalog = self.catalog.write();
        self.persist(|s| {
            s.clear()?;
            s.insert_tenant(DEFAULT_TENANT)?;
            let info = default_database();
            s.insert_database(&StoredDatabase { id: info.id, name: info.name, tenant: info.tenant })
        })?;
        for handle in catalog.collections.values() {
            let mut state = handle.state.write();
            state.deleted = true;
            state.data = None;
        }
        *catalog = Catalog::with_defaults();
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.close();
    }
}

/// Collection metadata: absent, or a non-empty map.
fn parse_collection_metadata(value: Option<&Value>) -> Result<Option<Metadata>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let metadata = parse_metadata(v)?;
            if metadata.is_empty() {
                return Err(Error::invalid("Metadata cannot be empty"));
            }
            Ok(Some(metadata))
        }
    }
}
