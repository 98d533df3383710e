//! chromalite's engine: Chroma's data model, filters and vector search, embedded. Synchronous and
//! `Send + Sync`; knows nothing of JavaScript.

pub mod codes;
pub mod collection;
pub mod config;
pub mod distance;
pub mod engine;
pub mod error;
pub mod filter;
pub mod hnsw;
pub mod id_index;
pub mod index;
pub mod metadata;
pub mod metadata_index;
pub mod names;
pub mod request;
pub mod row_map;
pub mod storage;

pub use engine::{DatabaseInfo, Engine, DEFAULT_DATABASE, DEFAULT_TENANT};
pub use error::{Error, ErrorCode, Result};

/// Starts the thread pool that parallel work (batch inserts, long scans, multi-query calls) runs on, if it
/// is not running yet; its threads are named `chromalite-pool-N`. Threads inherit the CPU affinity of the
/// thread that starts them, so a host that narrows some thread's affinity for a while calls this first,
/// from a thread with the process's full mask. Otherwise the pool starts on first use.
pub fn start_worker_pool() {
    // Err: the global pool already runs (started here or by another library): nothing to do.
    let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("chromalite-pool-{i}")).build_global();
}
