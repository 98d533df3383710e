//! Durable storage in SQLite (one file per persistent directory). A write is acknowledged only after its
//! transaction commits with `synchronous=FULL`, so it survives a process kill or an OS crash.
//!
//! The file carries a format version; a file written by a newer format is refused. A lock file held with
//! an OS advisory lock keeps a second process from writing the same directory; the OS drops the lock when
//! its process dies, so a stale lock never blocks.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::Value;

use crate::collection::{Change, Record, WritePlan};
use crate::error::{Error, Result};
use crate::metadata::{metadata_to_json, parse_metadata, Metadata};

/// Bumped whenever the schema changes incompatibly.
pub const FORMAT_VERSION: i64 = 1;
pub const DATABASE_FILE: &str = "chromalite.sqlite3";
const LOCK_FILE: &str = "chromalite.lock";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS format (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS databases (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant TEXT NOT NULL, UNIQUE (tenant, name));
CREATE TABLE IF NOT EXISTS collections (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, database_id TEXT NOT NULL, metadata TEXT,
    configuration TEXT NOT NULL, dimension INTEGER, seq INTEGER NOT NULL DEFAULT 0, UNIQUE (database_id, name));
CREATE TABLE IF NOT EXISTS records (
    collection_id TEXT NOT NULL, row INTEGER NOT NULL, id TEXT NOT NULL, embedding BLOB,
    document TEXT, uri TEXT, metadata TEXT, seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (collection_id, row));
CREATE UNIQUE INDEX IF NOT EXISTS records_by_id ON records (collection_id, id);
-- Rows deleted since the collection's index snapshot, replayed onto it at open; purged once a newer
-- snapshot is durable.
CREATE TABLE IF NOT EXISTS removed (collection_id TEXT NOT NULL, row INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_by_collection ON removed (collection_id, seq);
";

const INDEX_DIRECTORY: &str = "index";
const SNAPSHOT_FILE_MAGIC: &[u8; 8] = b"CLSNAP01";

/// A collection row as stored.
#[derive(Debug, Clone)]
pub struct StoredCollection {
    pub id: String,
    pub name: String,
    pub database_id: String,
    pub metadata: Option<Metadata>,
    pub configuration: Value,
    pub dimension: Option<usize>,
    /// Sequence number of the last write.
    pub seq: u64,
}

/// One persisted record as loaded: its vector only when the index snapshot does not already hold it.
pub struct LoadedRow {
    pub row: u64,
    pub record: Record,
    pub embedding: Option<Vec<f32>>,
}

/// A snapshot file as read: the payload stays where it lies in the file's bytes (no copy of an index's size).
pub struct SnapshotFile {
    pub seq: u64,
    bytes: Vec<u8>,
    payload: Range<usize>,
}

impl SnapshotFile {
    pub fn payload(&self) -> &[u8] {
        &self.bytes[self.payload.clone()]
    }
}

/// A database row as stored.
#[derive(Debug, Clone)]
pub struct StoredDatabase {
    pub id: String,
    pub name: String,
    pub tenant: String,
}

pub struct Store {
    connection: Connection,
    path: PathBuf,
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the database in `directory`.
    pub fn open(directory: &Path) -> Result<Store> {
        std::fs::create_dir_all(directory)?;
        let lock = File::options().create(true).truncate(false).write(true).open(directory.join(LOCK_FILE))?;
        if lock.try_lock().is_err() {
            return Err(Error::Locked { path: directory.display().to_string() });
        }
        let path = directory.join(DATABASE_FILE);
        let not_a_database = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => {
                Error::Corrupted { message: format!("{} is not a chromalite database: {e}", path.display()) }
            }
            _ => Error::Storage(e),
        };
        let connection = Connection::open(&path).map_err(not_a_database)?;
        // Incremental auto-vacuum (takes effect when the file is created) lets deletes return space to the OS.
        connection.pragma_update(None, "auto_vacuum", "INCREMENTAL").map_err(not_a_database)?;
        connection.pragma_update(None, "journal_mode", "WAL").map_err(not_a_database)?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        let mut store = Store { connection, path: path.clone(), _lock: lock };
        store.migrate().map_err(|e| match e {
            Error::Storage(inner) => not_a_database(inner),
            other => other,
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the schema and its version row in one transaction, so a kill mid-way leaves either a
    /// complete, versioned schema or none at all.
    fn migrate(&mut self) -> Result<()> {
        let has_format: bool = self
            .connection
            .query_row("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='format'", [], |r| r.get::<_, i64>(0))
            .map(|n| n > 0)?;
        if has_format {
            let version: Option<i64> = self
                .connection
                .query_row("SELECT value FROM format WHERE key='version'", [], |r| r.get(0))
                .optional()?;
            match version {
                Some(v) if v > FORMAT_VERSION => {
                    return Err(Error::Corrupted {
                        message: format!(
                            "The database at {} was written by a newer chromalite (format {v}; this version reads up to {FORMAT_VERSION}). Upgrade chromalite to open it.",
                            self.path.display()
                        ),
                    })
                }
                Some(_) => {}
                None => return Err(Error::Corrupted { message: format!("The database at {} has no format version", self.path.display()) }),
            }
        }
        let tx = self.connection.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.execute("INSERT OR IGNORE INTO format (key, value) VALUES ('version', ?1)", params![FORMAT_VERSION])?;
        tx.commit()?;
        Ok(())
    }

    pub fn tenants(&self) -> Result<Vec<String>> {
        let mut stmt = self.connection.prepare("SELECT name FROM tenants")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn databases(&self) -> Result<Vec<StoredDatabase>> {
        let mut stmt = self.connection.prepare("SELECT id, name, tenant FROM databases")?;
        let rows = stmt.query_map([], |r| Ok(StoredDatabase { id: r.get(0)?, name: r.get(1)?, tenant: r.get(2)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn collections(&self) -> Result<Vec<StoredCollection>> {
        let mut stmt =
            self.connection.prepare("SELECT id, name, database_id, metadata, configuration, dimension, seq FROM collections")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, database_id, metadata, configuration, dimension, seq) = row?;
            out.push(StoredCollection {
                metadata: metadata.map(|m| parse_stored_metadata(&m)).transpose()?,
                configuration: serde_json::from_str(&configuration).map_err(corrupt)?,
                dimension: dimension.map(|d| d as usize),
                seq: seq as u64,
                id,
                name,
                database_id,
            });
        }
        Ok(out)
    }

    pub fn insert_tenant(&mut self, name: &str) -> Result<()> {
        self.connection.execute("INSERT INTO tenants (name) VALUES (?1)", params![name])?;
        Ok(())
    }

    pub fn insert_database(&mut self, database: &StoredDatabase) -> Result<()> {
        self.connection.execute(
            "INSERT INTO databases (id, name, tenant) VALUES (?1, ?2, ?3)",
            params![database.id, database.name, database.tenant],
        )?;
        Ok(())
    }

    /// Deletes a database with all its collections and records, in one transaction.
    pub fn delete_database(&mut self, database_id: &str) -> Result<()> {
        let tx = self.connection.transaction()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare("SELECT id FROM collections WHERE database_id = ?1")?;
            let rows = stmt.query_map(params![database_id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for id in &ids {
            tx.execute("DELETE FROM records WHERE collection_id = ?1", params![id])?;
            tx.execute("DELETE FROM removed WHERE collection_id = ?1", params![id])?;
        }
        tx.execute("DELETE FROM collections WHERE database_id = ?1", params![database_id])?;
        tx.execute("DELETE FROM databases WHERE id = ?1", params![database_id])?;
        tx.commit()?;
        for id in &ids {
            self.delete_snapshot(id);
        }
        self.release_free_pages();
        Ok(())
    }

    pub fn insert_collection(&mut self, c: &StoredCollection) -> Result<()> {
        self.connection.execute(
            "INSERT INTO collections (id, name, database_id, metadata, configuration, dimension) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.id,
                c.name,
                c.database_id,
                c.metadata.as_ref().map(|m| metadata_to_json(m).to_string()),
                c.configuration.to_string(),
                c.dimension.map(|d| d as i64)
            ],
        )?;
        Ok(())
    }

    /// Rewrites name, metadata and configuration of a collection.
    pub fn update_collection(&mut self, c: &StoredCollection) -> Result<()> {
        self.connection.execute(
            "UPDATE collections SET name = ?2, metadata = ?3, configuration = ?4 WHERE id = ?1",
            params![c.id, c.name, c.metadata.as_ref().map(|m| metadata_to_json(m).to_string()), c.configuration.to_string()],
        )?;
        Ok(())
    }

    pub fn delete_collection(&mut self, id: &str) -> Result<()> {
        let tx = self.connection.transaction()?;
        tx.execute("DELETE FROM records WHERE collection_id = ?1", params![id])?;
        tx.execute("DELETE FROM removed WHERE collection_id = ?1", params![id])?;
        tx.execute("DELETE FROM collections WHERE id = ?1", params![id])?;
        tx.commit()?;
        self.delete_snapshot(id);
        self.release_free_pages();
        Ok(())
    }

    /// Persists a planned write in one transaction.
    pub fn write(&mut self, collection_id: &str, plan: &WritePlan<'_>) -> Result<()> {
        let tx = self.connection.transaction()?;
        if let Some(dimension) = plan.new_dimension {
            tx.execute("UPDATE collections SET dimension = ?2 WHERE id = ?1", params![collection_id, dimension as i64])?;
        }
        tx.execute("UPDATE collections SET seq = ?2 WHERE id = ?1", params![collection_id, plan.seq as i64])?;
        write_changes(&tx, collection_id, plan)?;
        tx.commit()?;
        Ok(())
    }

    /// Every record of a collection in row order. Embeddings are read only for rows written after
    /// `snapshot_seq` (the index snapshot holds the others); pass 0 to read them all.
    pub fn load_records(&self, collection_id: &str, snapshot_seq: u64) -> Result<Vec<LoadedRow>> {
        let mut stmt = self.connection.prepare(
            "SELECT row, id, CASE WHEN seq > ?2 THEN embedding END, document, uri, metadata
             FROM records WHERE collection_id = ?1 ORDER BY row",
        )?;
        let mut rows = stmt.query(params![collection_id, snapshot_seq as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let embedding: Option<Vec<u8>> = r.get(2)?;
            let metadata: Option<String> = r.get(5)?;
            out.push(LoadedRow {
                row: r.get::<_, i64>(0)? as u64,
                record: Record::new(
                    r.get(1)?,
                    r.get(3)?,
                    r.get(4)?,
                    metadata.map(|m| parse_stored_metadata(&m)).transpose()?,
                ),
                embedding: embedding.map(|bytes| decode_embedding(&bytes)).transpose()?,
            });
        }
        Ok(out)
    }

    /// Rows deleted after `snapshot_seq`, oldest first.
    pub fn removed_since(&self, collection_id: &str, snapshot_seq: u64) -> Result<Vec<u64>> {
        let mut stmt =
            self.connection.prepare("SELECT row FROM removed WHERE collection_id = ?1 AND seq > ?2 ORDER BY seq")?;
        let rows = stmt.query_map(params![collection_id, snapshot_seq as i64], |r| r.get::<_, i64>(0))?;
        Ok(rows.map(|r| r.map(|v| v as u64)).collect::<rusqlite::Result<_>>()?)
    }

    fn snapshot_path(&self, collection_id: &str) -> PathBuf {
        let directory = self.path.parent().unwrap_or(Path::new("."));
        directory.join(INDEX_DIRECTORY).join(format!("{collection_id}.idx"))
    }

    /// Durably replaces a collection's index snapshot (write, fsync, rename, fsync the folder), then
    /// purges the deletion log it makes redundant.
    pub fn write_snapshot(&mut self, collection_id: &str, seq: u64, payload: &[u8]) -> Result<()> {
        use std::io::Write;
        let path = self.snapshot_path(collection_id);
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&folder)?;
        let temporary = path.with_extension("idx.tmp");
        {
            let mut file = File::create(&temporary)?;
            file.write_all(SNAPSHOT_FILE_MAGIC)?;
            file.write_all(&seq.to_le_bytes())?;
            file.write_all(&(payload.len() as u64).to_le_bytes())?;
            file.write_all(payload)?;
            file.write_all(&checksum(payload).to_le_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, &path)?;
        File::open(&folder)?.sync_all()?;
        self.connection
            .execute("DELETE FROM removed WHERE collection_id = ?1 AND seq <= ?2", params![collection_id, seq as i64])?;
        Ok(())
    }

    /// The snapshot's sequence number and payload, or None when it is missing, truncated or damaged.
    pub fn read_snapshot(&self, collection_id: &str) -> Option<SnapshotFile> {
        let bytes = std::fs::read(self.snapshot_path(collection_id)).ok()?;
        let rest = bytes.strip_prefix(SNAPSHOT_FILE_MAGIC.as_slice())?;
        let (seq, rest) = rest.split_first_chunk::<8>()?;
        let (len, rest) = rest.split_first_chunk::<8>()?;
        let len = usize::try_from(u64::from_le_bytes(*len)).ok()?;
        if rest.len() != len.checked_add(8)? {
            return None;
        }
        let (payload, sum) = rest.split_at(len);
        let (seq, start) = (u64::from_le_bytes(*seq), bytes.len() - rest.len());
        if checksum(payload).to_le_bytes() != sum {
            return None;
        }
        Some(SnapshotFile { seq, payload: start..start + len, bytes })
    }

    /// Returns the pages freed by deletes to the file system. Best effort: space is reused anyway.
    fn release_free_pages(&self) {
        // incremental_vacuum frees one page per step, so it must be stepped to the end.
        let step_all = |sql: &str| -> rusqlite::Result<()> {
            let mut statement = self.connection.prepare(sql)?;
            let mut rows = statement.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        };
        let _ = step_all("PRAGMA incremental_vacuum").and_then(|_| step_all("PRAGMA wal_checkpoint(TRUNCATE)"));
    }

    pub fn delete_snapshot(&self, collection_id: &str) {
        let _ = std::fs::remove_file(self.snapshot_path(collection_id));
    }

    /// Deletes everything (reset).
    pub fn clear(&mut self) -> Result<()> {
        let tx = self.connection.transaction()?;
        tx.execute_batch(
            "DELETE FROM records; DELETE FROM removed; DELETE FROM collections; DELETE FROM databases; DELETE FROM tenants;",
        )?;
        tx.commit()?;
        let folder = self.path.parent().unwrap_or(Path::new(".")).join(INDEX_DIRECTORY);
        let _ = std::fs::remove_dir_all(folder);
        Ok(())
    }
}

fn write_changes(tx: &Transaction, collection_id: &str, plan: &WritePlan<'_>) -> Result<()> {
    // A row's seq is that of the write that last set its vector (the index snapshot replays newer ones).
    let mut put = tx.prepare_cached(
        "INSERT INTO records (collection_id, row, id, embedding, document, uri, metadata, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (collection_id, row) DO UPDATE SET
           seq = CASE WHEN excluded.embedding IS NULL THEN records.seq ELSE excluded.seq END,
           embedding = coalesce(excluded.embedding, records.embedding),
           document = excluded.document, uri = excluded.uri, metadata = excluded.metadata",
    )?;
    let mut delete = tx.prepare_cached("DELETE FROM records WHERE collection_id = ?1 AND row = ?2")?;
    let mut log_removal = tx.prepare_cached("INSERT INTO removed (collection_id, row, seq) VALUES (?1, ?2, ?3)")?;
    for change in &plan.changes {
        match change {
            Change::Put { row, record, embedding } => {
                put.execute(params![
                    collection_id,
                    *row as i64,
                    record.id,
                    embedding.map(encode_embedding),
                    record.document.as_deref(),
                    record.uri(),
                    record.metadata().map(|m| metadata_to_json(m).to_string()),
                    plan.seq as i64,
                ])?;
            }
            Change::Delete { row } => {
                delete.execute(params![collection_id, *row as i64])?;
                log_removal.execute(params![collection_id, *row as i64, plan.seq as i64])?;
            }
        }
    }
    Ok(())
}

/// A word-wise FNV-style hash: detects truncation and corruption of snapshot files (not an adversary).
fn checksum(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        hash = (hash ^ u64::from_le_bytes(chunk.try_into().expect("8 bytes"))).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }
    for &b in chunks.remainder() {
        hash = (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ bytes.len() as u64
}

/// Little-endian f32s, as Chroma's WAL stores vectors.
fn encode_embedding(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn decode_embedding(bytes: &[u8]) -> Result<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(Error::Corrupted { message: "Stored embedding has a truncated length".into() });
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn parse_stored_metadata(json: &str) -> Result<Metadata> {
    let value: Value = serde_json::from_str(json).map_err(corrupt)?;
    parse_metadata(&value).map_err(|e| Error::Corrupted { message: format!("Stored metadata is invalid: {e}") })
}

fn corrupt(e: serde_json::Error) -> Error {
    Error::Corrupted { message: format!("Stored JSON is invalid: {e}") }
}
