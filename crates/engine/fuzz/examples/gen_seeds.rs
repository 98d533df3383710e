//! Writes valid seed inputs into corpus/<target>/seed-*: index snapshots (with and without a graph,
//! with deleted slots) for every shape the `snapshot` target reads, HNSW link sections for
//! `graph_links`, and hand-written JSON for `filter` and `requests`.
//!
//! Run from crates/engine/fuzz: `cargo run --release --example gen_seeds`

use std::fs;
use std::path::Path;

use chromalite_engine_fuzz::{HashedPoints, LINK_PARAMS, SNAPSHOT_SHAPES};
use engine::hnsw::{Graph, LevelGenerator};
use engine::index::VectorIndex;

fn vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..n * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    println!("{:>8} bytes  {}/seed-{name}", bytes.len(), dir.display());
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");

    // --- snapshot ---
    let dir = corpus.join("snapshot");
    for (i, shape) in SNAPSHOT_SHAPES.iter().enumerate() {
        // Graph seeds only for the small graph shapes: a 2048-node graph with M=16 is too large an input.
        let sizes: &[usize] = if shape.params.max_neighbors <= 4 && i < 2 { &[0, 1, 9, 2100] } else { &[0, 1, 9, 40] };
        for &n in sizes {
            let dim = shape.dimension;
            let mut index = VectorIndex::new(shape.space, dim, shape.params);
            let mut data = vectors(n, dim, 7 + n as u64);
            if n > 1 && dim > 0 {
                data[..dim].iter_mut().for_each(|x| *x = 0.0); // a zero vector (cosine's edge case)
            }
            let rows: Vec<u64> = (0..n as u64).map(|r| r * 3 + 1).collect();
            index.put(&rows, &data);
            if n > 2 {
                index.remove(rows[1]); // a dead slot
                index.put(&[rows[2]], &vec![0.25; dim]); // a replaced vector: dead slot + new slot
            }
            if n >= 2048 {
                assert!(index.has_graph(), "{}: expected a graph", shape.name);
            }
            let mut bytes = Vec::new();
            index.write_snapshot(&mut bytes);
            assert!(VectorIndex::read_snapshot(shape.space, dim, shape.params, &bytes).is_some());
            write(&dir, &format!("{}-n{n}", shape.name), &bytes);
        }
    }

    // --- graph_links --- (first byte selects LINK_PARAMS)
    let dir = corpus.join("graph_links");
    for (selector, params) in LINK_PARAMS.iter().enumerate() {
        for n in [0usize, 1, 2, 60, 300] {
            if params.max_neighbors >= 16 && n > 60 {
                continue;
            }
            let mut graph = Graph::new(*params);
            let mut levels = LevelGenerator::new(params.max_neighbors, 42 + n as u64);
            let levels: Vec<usize> = (0..n).map(|_| levels.next_level()).collect();
            graph.reserve_nodes(&levels);
            (0..n as u32).for_each(|node| graph.link(node, &HashedPoints));
            let mut bytes = vec![selector as u8];
            graph.write_links(&mut bytes);
            assert!(Graph::read_links(*params, &mut &bytes[1..]).is_some());
            write(&dir, &format!("m{}-n{n}", params.max_neighbors), &bytes);
        }
    }

    // --- filter ---
    let dir = corpus.join("filter");
    let filters = [
        r##"{"a": 1}"##,
        r##"{"a": {"$gte": 0.5}}"##,
        r##"{"b": {"$lt": -9223372036854775808}}"##,
        r##"{"c": {"$in": ["x", "y"]}}"##,
        r##"{"a": {"$nin": [1, 2]}}"##,
        r##"{"e": {"$contains": 2}}"##,
        r##"{"f": {"$not_contains": "x"}}"##,
        r##"{"d": {"$ne": true}}"##,
        r##"{"$and": [{"a": {"$gt": 0}}, {"$or": [{"c": "x"}, {"#document": {"$contains": "hello"}}]}]}"##,
        r##"{"$or": [{"$and": []}, {"b": {"$lte": 1e308}}]}"##,
        r##"{"#document": {"$regex": "(?i)^h.*d$"}}"##,
        r##"{"$contains": "world"}"##,
        r##"{"$not_contains": ""}"##,
        r##"{"$regex": "a+b*[😀-😂]"}"##,
        r##"{"$not_regex": "(ab){2,}"}"##,
        r##"{"$and": [{"$contains": "a"}, {"$or": [{"$regex": "b$"}, {"$not_contains": "z"}]}]}"##,
    ];
    for (i, f) in filters.iter().enumerate() {
        write(&dir, &format!("{i:02}.json"), f.as_bytes());
    }

    // --- requests ---
    let dir = corpus.join("requests");
    let requests = [
        r##"{"ids": ["a", "b"], "documents": ["x", null], "uris": [null, "u"], "metadatas": [{"k": 1, "l": [1.5]}, null]}"##,
        r##"{"ids": ["a"], "metadatas": [{"k": null}]}"##,
        r##"{"ids": ["a", "a"]}"##,
        r##"{"ids": ["a"], "where": {"k": {"$in": [1, 2]}}, "where_document": {"$contains": "x"}, "include": ["documents", "embeddings", "uris"], "limit": 3, "offset": 1}"##,
        r##"{"n_results": 4294967295, "include": ["distances", "metadatas"], "where": {"$or": [{"k": 1}, {"l": {"$contains": 1.5}}]}}"##,
        r##"{"where": {"a": 1}, "limit": 1}"##,
        r##"{"name": "my-collection", "metadata": {"hnsw:space": "cosine", "hnsw:M": 32}, "get_or_create": true}"##,
        r##"{"name": "c1x", "configuration": {"hnsw": {"space": "ip", "ef_construction": 200, "ef_search": 50, "max_neighbors": 8, "resize_factor": 1.5, "sync_threshold": 10, "batch_size": 5, "num_threads": 2}, "embedding_function": {"type": "known", "name": "default", "config": {}}}}"##,
        r##"{"name": "c2x", "configuration": {"spann": {"space": "l2"}}}"##,
        r##"{"new_name": "renamed", "new_metadata": {"a": [true, false]}, "new_configuration": {"hnsw": {"ef_search": 7}, "embedding_function": null}}"##,
        r##"{"hnsw:space": "l2", "hnsw:construction_ef": 10, "hnsw:search_ef": 10, "hnsw:M": 4, "hnsw:num_threads": 1, "hnsw:resize_factor": 1.2, "hnsw:sync_threshold": 100, "hnsw:batch_size": 10}"##,
    ];
    for (i, r) in requests.iter().enumerate() {
        write(&dir, &format!("{i:02}.json"), r.as_bytes());
    }
}
