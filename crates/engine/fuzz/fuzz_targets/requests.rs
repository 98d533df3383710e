//! Request bodies (as the binding hands them over: a JSON string) through every request parser, plus
//! metadata and collection-configuration parsing.
#![no_main]

use chromalite_engine_fuzz::{evaluate_where, evaluate_where_document};
use engine::config::CollectionConfig;
use engine::metadata::{parse_metadata, parse_update_metadata};
use engine::request::{
    CreateCollectionRequest, DeleteRequest, Filter, GetRequest, ModifyCollectionRequest, QueryRequest, WriteBatch,
    WriteKind, MAX_BATCH_SIZE,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const DIMENSION: usize = 2;

fn evaluate(filter: &Filter) {
    if let Some(w) = &filter.where_clause {
        evaluate_where(w);
    }
    if let Some(w) = &filter.where_document {
        evaluate_where_document(w);
    }
}

fn config_and_metadata(configuration: Option<&Value>, metadata: Option<&Value>) {
    let metadata = match metadata.map(parse_metadata) {
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => return,
        None => None,
    };
    if let Ok(config) = CollectionConfig::for_create(configuration, metadata.as_ref()) {
        let _ = config.to_json();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let body: Option<Value> = serde_json::from_str(json).ok();

    // Writes: with embeddings shaped to the id count (so validation goes past them), and without.
    let ids = body.as_ref().and_then(|b| b.get("ids")).and_then(Value::as_array).map_or(0, Vec::len);
    let rows = ids.min(MAX_BATCH_SIZE + 1);
    for kind in [WriteKind::Add, WriteKind::Upsert, WriteKind::Update] {
        let embeddings = (0..rows * DIMENSION).map(|i| i as f32 * 0.25).collect();
        let _ = WriteBatch::parse(kind, json, Some((embeddings, DIMENSION)));
        let _ = WriteBatch::parse(kind, json, None);
    }

    if let Ok(get) = GetRequest::parse(json) {
        evaluate(&get.filter);
    }
    if let Ok(query) = QueryRequest::parse(json, vec![0.5, -1.0, 3.0, 0.0], DIMENSION) {
        evaluate(&query.filter);
    }
    let _ = QueryRequest::parse(json, vec![1.0], 1);
    if let Ok(delete) = DeleteRequest::parse(json) {
        evaluate(&delete.filter);
    }

    if let Ok(create) = CreateCollectionRequest::parse(json) {
        let _ = engine::names::validate_collection_name(&create.name);
        config_and_metadata(create.configuration.as_ref(), create.metadata.as_ref());
    }
    if let Ok(modify) = ModifyCollectionRequest::parse(json) {
        if let Some(name) = &modify.new_name {
            let _ = engine::names::validate_collection_name(name);
        }
        if let Some(m) = &modify.new_metadata {
            let _ = parse_metadata(m);
        }
        if let Some(c) = &modify.new_configuration {
            if let Ok(base) = CollectionConfig::for_create(None, None) {
                let _ = base.update(c).map(|next| next.to_json());
            }
        }
    }

    // The whole body as metadata and as a configuration.
    if let Some(value) = &body {
        let _ = parse_metadata(value);
        let _ = parse_update_metadata(value);
        config_and_metadata(Some(value), None);
        config_and_metadata(None, Some(value));
    }
});
