//! chromalite's engine: Chroma's data model, filters and vector search, embedded. Synchronous and
//! `Send + Sync`; knows nothing of JavaScript.

pub mod collection;
pub mod config;
pub mod distance;
pub mod engine;
pub mod error;
pub mod filter;
pub mod hnsw;
pub mod index;
pub mod metadata;
pub mod metadata_index;
pub mod names;
pub mod request;
pub mod row_map;
pub mod storage;

pub use engine::{DatabaseInfo, Engine, DEFAULT_DATABASE, DEFAULT_TENANT};
pub use error::{Error, ErrorCode, Result};
