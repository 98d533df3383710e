//! Protects the on-disk contract: acknowledged data survives close and reopen, a newer format or a file
//! that is not a database is refused with a Corrupted error, and one directory has one live engine.

use engine::request::{GetRequest, WriteBatch, WriteKind};
use engine::{Engine, ErrorCode, DEFAULT_DATABASE, DEFAULT_TENANT};

fn create_with_records(dir: &std::path::Path) -> String {
    let engine = Engine::open(dir).unwrap();
    let model = engine.create_collection(DEFAULT_TENANT, DEFAULT_DATABASE, "things", None, None, false).unwrap();
    let id = model["id"].as_str().unwrap().to_owned();
    let batch = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a","b"],"documents":["x",null]}"#, Some((vec![1.0, 2.0, 3.0, 4.0], 2))).unwrap();
    engine.write(&id, &batch).unwrap();
    engine.close();
    id
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let id = create_with_records(dir.path());
    let engine = Engine::open(dir.path()).unwrap();
    let (columns, dimension) = engine.get(&id, &GetRequest::parse(r#"{"include":["embeddings","documents"]}"#).unwrap()).unwrap();
    assert_eq!(columns.ids, vec!["a", "b"]);
    assert_eq!(columns.embeddings, Some(vec![1.0, 2.0, 3.0, 4.0]));
    assert_eq!(columns.documents, Some(vec![Some("x".to_owned()), None]));
    assert_eq!(dimension, 2);
}

#[test]
fn second_open_in_process_is_refused_until_close() {
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::open(dir.path()).unwrap();
    let err = Engine::open(dir.path()).err().expect("second open must fail");
    assert_eq!(err.code(), ErrorCode::PermissionDenied);
    assert!(err.to_string().contains("in use"), "{err}");
    first.close();
    assert!(Engine::open(dir.path()).is_ok());
}

#[test]
fn newer_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    create_with_records(dir.path());
    let db = rusqlite::Connection::open(dir.path().join(engine::storage::DATABASE_FILE)).unwrap();
    db.execute("UPDATE format SET value = 999 WHERE key = 'version'", []).unwrap();
    drop(db);
    let err = Engine::open(dir.path()).err().expect("newer format must be refused");
    assert_eq!(err.code(), ErrorCode::Corrupted);
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn garbage_file_is_reported_as_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(engine::storage::DATABASE_FILE), vec![0x5a; 8192]).unwrap();
    let err = Engine::open(dir.path()).err().expect("garbage must be refused");
    assert_eq!(err.code(), ErrorCode::Corrupted, "{err}");
    assert!(err.to_string().contains(engine::storage::DATABASE_FILE), "{err}");
}

/// A collection large enough to have an HNSW graph, with rows 0..n.
fn big_collection(dir: &std::path::Path, n: usize, dim: usize) -> (String, Vec<f32>) {
    let engine = Engine::open(dir).unwrap();
    let model = engine.create_collection(DEFAULT_TENANT, DEFAULT_DATABASE, "big", None, None, false).unwrap();
    let id = model["id"].as_str().unwrap().to_owned();
    let mut state = 99u64;
    let data: Vec<f32> = (0..n * dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f32 / 1000.0
        })
        .collect();
    for start in (0..n).step_by(2000) {
        let end = (start + 2000).min(n);
        let ids: Vec<String> = (start..end).map(|i| format!("\"{i}\"")).collect();
        let batch = WriteBatch::parse(
            WriteKind::Add,
            &format!("{{\"ids\":[{}]}}", ids.join(",")),
            Some((data[start * dim..end * dim].to_vec(), dim)),
        )
        .unwrap();
        engine.write(&id, &batch).unwrap();
    }
    engine.close();
    (id, data)
}

fn nearest(engine: &Engine, id: &str, query: &[f32]) -> Vec<String> {
    let request = engine::request::QueryRequest::parse(r#"{"n_results":5,"include":[]}"#, query.to_vec(), query.len()).unwrap();
    engine.query(id, &request).unwrap().0.remove(0).ids
}

#[test]
fn reopen_restores_the_graph_from_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (id, data) = big_collection(dir.path(), 5000, 8);
    let engine = Engine::open(dir.path()).unwrap();
    let (count, graph, restored) = engine.collection_stats(&id).unwrap();
    assert_eq!((count, graph, restored), (5000, true, true));
    assert_eq!(nearest(&engine, &id, &data[8 * 42..8 * 43])[0], "42");
}

#[test]
fn damaged_snapshot_is_rebuilt_from_records() {
    let dir = tempfile::tempdir().unwrap();
    let (id, data) = big_collection(dir.path(), 5000, 8);
    let snapshot = dir.path().join("index").join(format!("{id}.idx"));
    let bytes = std::fs::read(&snapshot).unwrap();
    for damaged in [bytes[..bytes.len() / 2].to_vec(), {
        let mut b = bytes.clone();
        let middle = b.len() / 2;
        b[middle] ^= 0xff;
        b
    }] {
        std::fs::write(&snapshot, &damaged).unwrap();
        let engine = Engine::open(dir.path()).unwrap();
        let (count, graph, restored) = engine.collection_stats(&id).unwrap();
        assert_eq!((count, graph, restored), (5000, true, false), "damaged snapshot must not be used");
        assert_eq!(nearest(&engine, &id, &data[8 * 7..8 * 8])[0], "7");
        engine.close();
        std::fs::write(&snapshot, &bytes).unwrap();
    }
}

#[test]
fn writes_after_an_older_snapshot_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let (id, data) = big_collection(dir.path(), 5000, 8);
    {
        let engine = Engine::open(dir.path()).unwrap();
        let delete = engine::request::DeleteRequest::parse(r#"{"ids":["1","2"]}"#).unwrap();
        engine.delete(&id, &delete).unwrap();
        let moved = WriteBatch::parse(WriteKind::Update, r#"{"ids":["3"]}"#, Some((vec![9.0; 8], 8))).unwrap();
        engine.write(&id, &moved).unwrap();
        let added = WriteBatch::parse(WriteKind::Add, r#"{"ids":["new"]}"#, Some((vec![-9.0; 8], 8))).unwrap();
        engine.write(&id, &added).unwrap();
        // Dies before the next snapshot: the snapshot on disk predates these writes.
        engine.close_as_if_killed();
    }
    let engine = Engine::open(dir.path()).unwrap();
    let (count, _, restored) = engine.collection_stats(&id).unwrap();
    assert_eq!((count, restored), (4999, true));
    assert_eq!(nearest(&engine, &id, &[9.0; 8])[0], "3");
    assert_eq!(nearest(&engine, &id, &[-9.0; 8])[0], "new");
    let hits = nearest(&engine, &id, &data[8..16]);
    assert!(!hits.contains(&"1".to_owned()) && !hits.contains(&"2".to_owned()), "{hits:?}");
}

#[test]
fn deleting_a_collection_frees_its_disk_space() {
    let dir = tempfile::tempdir().unwrap();
    let size = |dir: &std::path::Path| -> u64 {
        fn walk(p: &std::path::Path) -> u64 {
            std::fs::read_dir(p).unwrap().flatten().map(|e| {
                let m = e.metadata().unwrap();
                if m.is_dir() { walk(&e.path()) } else { m.len() }
            }).sum()
        }
        walk(dir)
    };
    let (id, _) = big_collection(dir.path(), 4000, 64);
    let full = size(dir.path());
    let engine = Engine::open(dir.path()).unwrap();
    let name = engine.get_collection_by_id(&id).unwrap()["name"].as_str().unwrap().to_owned();
    engine.delete_collection(DEFAULT_TENANT, DEFAULT_DATABASE, &name).unwrap();
    engine.close();
    let after = size(dir.path());
    assert!(after * 4 < full, "{after} bytes left of {full}");
}

#[test]
fn churned_collection_answers_the_same_after_reopen() {
    // A queue: batches of 500 new records, the oldest batch deleted each time; 60,000 rows used, 1,000 live.
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let model = engine.create_collection(DEFAULT_TENANT, DEFAULT_DATABASE, "queue", None, None, false).unwrap();
    let id = model["id"].as_str().unwrap().to_owned();
    let vector = |i: usize| vec![i as f32, (i % 7) as f32, 1.0];
    for batch in 0..120usize {
        let rows = batch * 500..(batch + 1) * 500;
        let ids: Vec<String> = rows.clone().map(|i| format!("\"q{i}\"")).collect();
        let metadatas: Vec<String> = rows.clone().map(|i| format!("{{\"n\":{i}}}")).collect();
        let body = format!("{{\"ids\":[{}],\"metadatas\":[{}]}}", ids.join(","), metadatas.join(","));
        let data: Vec<f32> = rows.clone().flat_map(vector).collect();
        engine.write(&id, &WriteBatch::parse(WriteKind::Add, &body, Some((data, 3))).unwrap()).unwrap();
        if batch >= 2 {
            let old: Vec<String> = ((batch - 2) * 500..(batch - 1) * 500).map(|i| format!("\"q{i}\"")).collect();
            let request = engine::request::DeleteRequest::parse(&format!("{{\"ids\":[{}]}}", old.join(","))).unwrap();
            engine.delete(&id, &request).unwrap();
        }
    }
    let expected: Vec<String> = (59_000..60_000).map(|i| format!("q{i}")).collect();
    let check = |engine: &Engine| {
        let (all, _) = engine.get(&id, &GetRequest::parse(r#"{"include":[]}"#).unwrap()).unwrap();
        assert_eq!(all.ids, expected);
        let (some, _) = engine.get(&id, &GetRequest::parse(r#"{"where":{"n":{"$gte":59990}},"include":[]}"#).unwrap()).unwrap();
        assert_eq!(some.ids, expected[990..].to_vec());
        assert_eq!(nearest(engine, &id, &vector(59_500))[0], "q59500");
    };
    check(&engine);
    engine.close();
    let engine = Engine::open(dir.path()).unwrap();
    check(&engine);
}
