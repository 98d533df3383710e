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
