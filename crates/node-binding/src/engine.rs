//! `NativeEngine`: the JS handle to one engine. The contract is `js/src/native.ts`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engine::collection::GetColumns;
use engine::metadata::metadata_to_json;
use engine::request::{
    CreateCollectionRequest, DeleteRequest, GetRequest, ModifyCollectionRequest, QueryRequest, WriteBatch, WriteKind,
};
use engine::Engine;
use napi::bindgen_prelude::{AsyncTask, Float32Array, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::task::{schedule, spawn, Floats, IntoJs, Job};

#[napi]
pub struct NativeEngine {
    inner: Arc<Engine>,
}

/// Opening yields the engine, turned into a NativeEngine on the JS thread.
pub struct Opened(Engine);

impl IntoJs for Opened {
    type Js = NativeEngine;
    fn into_js(self, _env: &Env) -> napi::Result<NativeEngine> {
        Ok(NativeEngine { inner: Arc::new(self.0) })
    }
}

#[napi(object)]
pub struct NativeGetResult {
    pub json: String,
    pub embeddings: Option<Float32Array>,
    pub dimension: u32,
}

/// A query's results as flat columns, query after query: `counts[q]` entries belong to query `q`.
#[napi(object)]
pub struct NativeQueryResult {
    pub ids: Vec<String>,
    pub counts: Vec<u32>,
    pub documents: Option<Vec<Option<String>>>,
    pub uris: Option<Vec<Option<String>>>,
    /// JSON array of `object | null`, one per result.
    pub metadatas: Option<String>,
    pub embeddings: Option<Float32Array>,
    pub distances: Option<Float32Array>,
    pub dimension: u32,
}

pub struct GetPayload {
    columns: GetColumns,
    include: Vec<String>,
    dimension: usize,
}

impl IntoJs for GetPayload {
    type Js = NativeGetResult;
    fn into_js(self, env: &Env) -> napi::Result<NativeGetResult> {
        let GetPayload { mut columns, include, dimension } = self;
        let embeddings = columns.embeddings.take().map(|e| Floats(e).into_js(env)).transpose()?;
        let json = columns_json(&columns, &include).to_string();
        Ok(NativeGetResult { json, embeddings, dimension: dimension as u32 })
    }
}

/// A query's results flattened on the worker thread, so the JS thread only creates the JS values.
pub struct QueryPayload {
    ids: Vec<String>,
    counts: Vec<u32>,
    documents: Option<Vec<Option<String>>>,
    uris: Option<Vec<Option<String>>>,
    metadatas: Option<String>,
    embeddings: Option<Vec<f32>>,
    distances: Option<Vec<f32>>,
    dimension: usize,
}

impl QueryPayload {
    fn new(mut results: Vec<GetColumns>, dimension: usize) -> QueryPayload {
        /// The column of every query, concatenated; None when no query has it (not included).
        fn flatten<T>(results: &mut [GetColumns], take: impl Fn(&mut GetColumns) -> Option<Vec<T>>) -> Option<Vec<T>> {
            let mut flat: Option<Vec<T>> = None;
            for columns in results.iter_mut() {
                if let Some(part) = take(columns) {
                    match flat.as_mut() {
                        Some(flat) => flat.extend(part),
                        None => flat = Some(part),
                    }
                }
            }
            flat
        }
        let counts = results.iter().map(|c| c.ids.len() as u32).collect();
        let metadatas = flatten(&mut results, |c| c.metadatas.take()).map(|all| {
            Value::Array(all.iter().map(|m| m.as_ref().map_or(Value::Null, metadata_to_json)).collect()).to_string()
        });
        QueryPayload {
            ids: flatten(&mut results, |c| Some(std::mem::take(&mut c.ids))).unwrap_or_default(),
            counts,
            documents: flatten(&mut results, |c| c.documents.take()),
            uris: flatten(&mut results, |c| c.uris.take()),
            metadatas,
            embeddings: flatten(&mut results, |c| c.embeddings.take()),
            distances: flatten(&mut results, |c| c.distances.take()),
            dimension,
        }
    }
}

impl IntoJs for QueryPayload {
    type Js = NativeQueryResult;
    fn into_js(self, env: &Env) -> napi::Result<NativeQueryResult> {
        Ok(NativeQueryResult {
            ids: self.ids,
            counts: self.counts,
            documents: self.documents,
            uris: self.uris,
            metadatas: self.metadatas,
            embeddings: self.embeddings.map(|e| Floats(e).into_js(env)).transpose()?,
            distances: self.distances.map(|d| Floats(d).into_js(env)).transpose()?,
            dimension: self.dimension as u32,
        })
    }
}

fn columns_json(columns: &GetColumns, include: &[String]) -> Value {
    json!({
        "ids": columns.ids,
        "documents": columns.documents,
        "uris": columns.uris,
        "metadatas": columns.metadatas.as_ref().map(|all| {
            all.iter().map(|m| m.as_ref().map(metadata_to_json)).collect::<Vec<_>>()
        }),
        "include": include,
    })
}

/// A JS number used as a count: negative or NaN becomes 0, fractions are dropped.
fn count(value: f64) -> usize {
    if value.is_finite() && value > 0.0 {
        value as usize
    } else {
        0
    }
}

fn embeddings(values: Option<Float32Array>, dimension: u32) -> Option<(Vec<f32>, usize)> {
    values.map(|v| (v.to_vec(), dimension as usize))
}

#[napi]
impl NativeEngine {
    /// Opens an engine: in memory when `path` is null, else persistent in that directory.
    #[napi]
    pub fn open(path: Option<String>) -> AsyncTask<Job<Opened>> {
        spawn(move || {
            // Before any lane call: the pool's threads must start with the process's mask, not the lane
            // thread's narrowed one (see lane.rs).
            engine::start_worker_pool();
            match path {
                None => Ok(Opened(Engine::in_memory())),
                Some(path) => Engine::open(&PathBuf::from(path)).map(Opened),
            }
        })
    }

    /// Nanoseconds since the epoch, as a decimal string.
    #[napi]
    pub fn heartbeat(&self) -> String {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0).to_string()
    }

    #[napi]
    pub fn create_tenant(&self, name: String) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || engine.create_tenant(&name))
    }

    #[napi]
    pub fn get_tenant(&self, name: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || engine.get_tenant(&name))
    }

    /// JSON array of tenant names, ordered by name.
    #[napi]
    pub fn list_tenants(&self, limit: Option<f64>, offset: f64) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || Ok(Value::from(engine.list_tenants(limit.map(count), count(offset))?).to_string()))
    }

    #[napi]
    pub fn create_database(&self, tenant: String, name: String) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || engine.create_database(&tenant, &name))
    }

    #[napi]
    pub fn get_database(&self, tenant: String, name: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || Ok(engine.get_database(&tenant, &name)?.to_json().to_string()))
    }

    #[napi]
    pub fn list_databases(&self, tenant: String, limit: Option<f64>, offset: f64) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || {
            let list = engine.list_databases(&tenant, limit.map(count), count(offset))?;
            Ok(Value::Array(list.iter().map(|d| d.to_json()).collect()).to_string())
        })
    }

    #[napi]
    pub fn delete_database(&self, tenant: String, name: String) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || engine.delete_database(&tenant, &name))
    }

    #[napi]
    pub fn create_collection(&self, tenant: String, database: String, request_json: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || {
            let r = CreateCollectionRequest::parse(&request_json)?;
            let model = engine.create_collection(
                &tenant,
                &database,
                &r.name,
                r.metadata.as_ref(),
                r.configuration.as_ref(),
                r.get_or_create,
            )?;
            Ok(model.to_string())
        })
    }

    #[napi]
    pub fn get_collection(&self, tenant: String, database: String, name: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || Ok(engine.get_collection(&tenant, &database, &name)?.to_string()))
    }

    #[napi]
    pub fn get_collection_by_id(&self, collection_id: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || Ok(engine.get_collection_by_id(&collection_id)?.to_string()))
    }

    #[napi]
    pub fn list_collections(&self, tenant: String, database: String, limit: Option<f64>, offset: f64) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || {
            let list = engine.list_collections(&tenant, &database, limit.map(count), count(offset))?;
            Ok(Value::Array(list).to_string())
        })
    }

    #[napi]
    pub fn count_collections(&self, tenant: String, database: String) -> AsyncTask<Job<u32>> {
        let engine = self.inner.clone();
        spawn(move || Ok(engine.count_collections(&tenant, &database)? as u32))
    }

    #[napi]
    pub fn delete_collection(&self, tenant: String, database: String, name: String) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || engine.delete_collection(&tenant, &database, &name))
    }

    #[napi]
    pub fn modify_collection(&self, collection_id: String, request_json: String) -> AsyncTask<Job<String>> {
        let engine = self.inner.clone();
        spawn(move || {
            let r = ModifyCollectionRequest::parse(&request_json)?;
            let model = engine.modify_collection(
                &collection_id,
                r.new_name.as_deref(),
                r.new_metadata.as_ref(),
                r.new_configuration.as_ref(),
            )?;
            Ok(model.to_string())
        })
    }

    /// Record reads and writes go through `schedule` (the lane when idle): they are often awaited one at
    /// a time. Collection and database management go to the libuv pool.
    fn write<'env>(
        &self,
        env: &'env Env,
        kind: WriteKind,
        collection_id: String,
        request_json: String,
        values: Option<Float32Array>,
        dimension: u32,
    ) -> napi::Result<Unknown<'env>> {
        let engine = self.inner.clone();
        // Copied on the JS thread: the worker never touches JS memory.
        let embeddings = embeddings(values, dimension);
        schedule(env, move || engine.write(&collection_id, &WriteBatch::parse(kind, &request_json, embeddings)?))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn add<'env>(
        &self,
        env: &'env Env,
        collection_id: String,
        request_json: String,
        embeddings: Option<Float32Array>,
        dimension: u32,
    ) -> napi::Result<Unknown<'env>> {
        self.write(env, WriteKind::Add, collection_id, request_json, embeddings, dimension)
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn upsert<'env>(
        &self,
        env: &'env Env,
        collection_id: String,
        request_json: String,
        embeddings: Option<Float32Array>,
        dimension: u32,
    ) -> napi::Result<Unknown<'env>> {
        self.write(env, WriteKind::Upsert, collection_id, request_json, embeddings, dimension)
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn update<'env>(
        &self,
        env: &'env Env,
        collection_id: String,
        request_json: String,
        embeddings: Option<Float32Array>,
        dimension: u32,
    ) -> napi::Result<Unknown<'env>> {
        self.write(env, WriteKind::Update, collection_id, request_json, embeddings, dimension)
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn delete<'env>(&self, env: &'env Env, collection_id: String, request_json: String) -> napi::Result<Unknown<'env>> {
        let engine = self.inner.clone();
        schedule(env, move || Ok(engine.delete(&collection_id, &DeleteRequest::parse(&request_json)?)? as u32))
    }

    #[napi(ts_return_type = "Promise<number>")]
    pub fn count<'env>(&self, env: &'env Env, collection_id: String) -> napi::Result<Unknown<'env>> {
        let engine = self.inner.clone();
        schedule(env, move || Ok(engine.count(&collection_id)? as u32))
    }

    #[napi(ts_return_type = "Promise<NativeGetResult>")]
    pub fn get<'env>(&self, env: &'env Env, collection_id: String, request_json: String) -> napi::Result<Unknown<'env>> {
        let engine = self.inner.clone();
        schedule(env, move || {
            let request = GetRequest::parse(&request_json)?;
            let (columns, dimension) = engine.get(&collection_id, &request)?;
            Ok(GetPayload { columns, include: request.include_names, dimension })
        })
    }

    /// `filter_json`: `{ids?, where?, where_document?}`, or null for no filter; `include`: bits of
    /// `Include::from_bits`; `queries`: `n * dimension` floats.
    #[napi(ts_return_type = "Promise<NativeQueryResult>")]
    #[allow(clippy::too_many_arguments)]
    pub fn query<'env>(
        &self,
        env: &'env Env,
        collection_id: String,
        filter_json: Option<String>,
        n_results: f64,
        include: u32,
        queries: Float32Array,
        dimension: u32,
    ) -> napi::Result<Unknown<'env>> {
        let engine = self.inner.clone();
        let queries = queries.to_vec();
        schedule(env, move || {
            let request = QueryRequest::from_parts(filter_json.as_deref(), n_results, include, queries, dimension as usize)?;
            let (results, dimension) = engine.query(&collection_id, &request)?;
            Ok(QueryPayload::new(results, dimension))
        })
    }

    #[napi]
    pub fn reset(&self) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || engine.reset())
    }

    #[napi]
    pub fn close(&self) -> AsyncTask<Job<()>> {
        let engine = self.inner.clone();
        spawn(move || {
            engine.close();
            Ok(())
        })
    }
}
