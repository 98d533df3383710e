//! The records of one collection in memory: the operations that tie metadata, documents, filters and the
//! vector index together. Writes are planned first (pure), persisted by the caller, then applied, so a
//! failed persist leaves memory untouched.
//!
//! Invariants: `by_id`, `records` and `metadata_index` hold the same set of rows, and the metadata index
//! reflects each record's current metadata; every record row has a vector in `index` (once the dimension
//! is known, every record has an embedding); rows only grow, so row order is insertion order. Rows are
//! numbered up from 0 and never reused, so `records` is a [`RowMap`] (flat while rows are dense).

use std::borrow::Cow;

use rayon::prelude::*;

use crate::config::HnswConfig;
use crate::distance::Space;
use crate::error::{Error, Result};
use crate::id_index::IdIndex;
use crate::index::{GraphParams, Hit, VectorIndex};
use crate::metadata::{Metadata, UpdateMetadata};
use crate::metadata_index::{MetadataIndex, RowSet};
use crate::request::{DeleteRequest, Filter, GetRequest, Include, QueryRequest, WriteBatch, WriteKind};
use crate::row_map::RowMap;

/// One stored record, without its vector (the index holds it). 40 bytes whatever it holds: the uri and the
/// metadata, which many records lack, share one boxed [`Extra`] that exists only when one of them is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: Box<str>,
    pub document: Option<Box<str>>,
    extra: Option<Box<Extra>>,
}

/// Invariant: never both `None` (a record without either has no `Extra`).
#[derive(Debug, Clone, PartialEq, Default)]
struct Extra {
    uri: Option<Box<str>>,
    metadata: Option<Metadata>,
}

impl Record {
    pub fn new(id: Box<str>, document: Option<Box<str>>, uri: Option<Box<str>>, metadata: Option<Metadata>) -> Record {
        let mut record = Record { id, document, extra: None };
        record.set_extra(uri, metadata);
        record
    }

    pub fn uri(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.uri.as_deref())
    }

    pub fn metadata(&self) -> Option<&Metadata> {
        self.extra.as_ref().and_then(|e| e.metadata.as_ref())
    }

    pub fn set_uri(&mut self, uri: Option<Box<str>>) {
        let metadata = self.take_metadata();
        self.set_extra(uri, metadata);
    }

    pub fn set_metadata(&mut self, metadata: Option<Metadata>) {
        let uri = self.extra.as_mut().and_then(|e| e.uri.take());
        self.set_extra(uri, metadata);
    }

    fn take_metadata(&mut self) -> Option<Metadata> {
        self.extra.as_mut().and_then(|e| e.metadata.take())
    }

    fn set_extra(&mut self, uri: Option<Box<str>>, metadata: Option<Metadata>) {
        self.extra = (uri.is_some() || metadata.is_some()).then(|| Box::new(Extra { uri, metadata }));
    }
}

/// A planned change to one row. `embedding` is set when the row's vector is new or replaced; it borrows
/// the write batch's flat buffer, so planning copies no vector.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    Put { row: u64, record: Record, embedding: Option<&'a [f32]> },
    Delete { row: u64 },
}

/// What a write will do: the changes and the dimension it fixes (first embeddings).
#[derive(Debug, Clone, Default)]
pub struct WritePlan<'a> {
    pub changes: Vec<Change<'a>>,
    pub new_dimension: Option<usize>,
    /// The write's sequence number: one more than the collection's last.
    pub seq: u64,
}

pub struct CollectionData {
    records: RowMap<Record>,
    /// Rows by id; the ids are the records' own.
    by_id: IdIndex,
    metadata_index: MetadataIndex,
    next_row: u64,
    space: Space,
    graph_params: GraphParams,
    index: Option<VectorIndex>,
    /// Sequence number of the last applied write.
    seq: u64,
    /// Sequence number the persisted index snapshot reflects, and the changes applied since.
    snapshot_seq: u64,
    changes_since_snapshot: usize,
    index_restored: bool,
}

/// Columns of a get result, aligned with `ids`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetColumns {
    pub ids: Vec<String>,
    pub embeddings: Option<Vec<f32>>,
    pub documents: Option<Vec<Option<String>>>,
    pub uris: Option<Vec<Option<String>>>,
    pub metadatas: Option<Vec<Option<Metadata>>>,
    pub distances: Option<Vec<f32>>,
}

impl CollectionData {
    pub fn new(hnsw: &HnswConfig, dimension: Option<usize>, seq: u64) -> CollectionData {
        let graph_params = GraphParams {
            max_neighbors: hnsw.max_neighbors,
            ef_construction: hnsw.ef_construction,
            ef_search: hnsw.ef_search,
        };
        CollectionData {
            records: RowMap::new(),
            by_id: IdIndex::new(),
            metadata_index: MetadataIndex::new(),
            next_row: 0,
            space: hnsw.space,
            graph_params,
            index: dimension.map(|d| VectorIndex::new(hnsw.space, d, graph_params)),
            seq,
            snapshot_seq: 0,
            changes_since_snapshot: 0,
            index_restored: false,
        }
    }

    /// Rebuilds a persisted collection: `snapshot` is the index snapshot (with the seq it reflects) if a
    /// valid one exists; `rows` carry vectors for rows written after it; `removed` are rows deleted after
    /// it. Returns None when the snapshot and the records disagree (the caller then loads without it).
    pub fn load(
        hnsw: &HnswConfig,
        dimension: Option<usize>,
        seq: u64,
        snapshot: Option<(u64, VectorIndex)>,
        rows: Vec<crate::storage::LoadedRow>,
        removed: &[u64],
    ) -> Result<Option<CollectionData>> {
        let mut data = CollectionData::new(hnsw, dimension, seq);
        if let Some((snapshot_seq, index)) = snapshot {
            data.snapshot_seq = snapshot_seq;
            data.index = Some(index);
            data.index_restored = true;
        }
        if let Some(index) = data.index.as_mut() {
            for &row in removed {
                index.remove(row);
            }
        }
        let mut new_rows = Vec::new();
        let mut new_vectors = Vec::new();
        for loaded in rows {
            data.next_row = data.next_row.max(loaded.row + 1);
            if let Some(vector) = loaded.embedding {
                new_rows.push(loaded.row);
                new_vectors.extend_from_slice(&vector);
            }
            if data.row_of(&loaded.record.id).is_some() || data.records.contains_key(&loaded.row) {
                return Err(Error::Corrupted {
                    message: format!("Record {:?} (row {}) is stored twice", loaded.record.id, loaded.row),
                });
            }
            data.metadata_index.insert(loaded.row, loaded.record.metadata());
            data.records.insert(loaded.row, loaded.record);
            data.index_id(loaded.row);
        }
        if !new_rows.is_empty() {
            let dimension = new_vectors.len() / new_rows.len();
            data.index_for(dimension)?.put(&new_rows, &new_vectors);
        }
        data.changes_since_snapshot = new_rows.len() + removed.len();
        // Index and records must agree: every record has a vector and nothing else does.
        let consistent = match &data.index {
            Some(index) => index.len() == data.records.len() && index.rows().all(|row| data.records.contains_key(&row)),
            None => data.records.is_empty(),
        };
        Ok(consistent.then_some(data))
    }

    /// Whether enough has changed since the last snapshot to write a new one: at least
    /// `sync_threshold` changes and a quarter of the collection, so snapshot cost stays amortised.
    pub fn snapshot_due(&self, sync_threshold: usize) -> bool {
        self.changes_since_snapshot >= sync_threshold.max(self.records.len() / 4)
    }

    /// Whether anything changed since the last snapshot.
    pub fn dirty(&self) -> bool {
        self.changes_since_snapshot > 0
    }

    /// The index snapshot payload and the seq it reflects (None when there is no index).
    pub fn snapshot(&self) -> Option<(u64, Vec<u8>)> {
        let index = self.index.as_ref()?;
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes);
        Some((self.seq, bytes))
    }

    /// Records that the snapshot for `seq` is durable.
    pub fn snapshot_written(&mut self, seq: u64) {
        if seq == self.seq {
            self.changes_since_snapshot = 0;
        }
        self.snapshot_seq = seq;
    }

    /// True when the index was restored from a snapshot rather than rebuilt at load (for tests and stats).
    pub fn index_restored(&self) -> bool {
        self.index_restored
    }

    pub fn has_graph(&self) -> bool {
        self.index.as_ref().is_some_and(VectorIndex::has_graph)
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn count(&self) -> usize {
        self.records.len()
    }

    pub fn dimension(&self) -> Option<usize> {
        self.index.as_ref().map(VectorIndex::dimension)
    }

    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.graph_params.ef_search = ef_search;
        if let Some(index) = self.index.as_mut() {
            index.set_ef_search(ef_search);
        }
    }

    fn index_for(&mut self, dimension: usize) -> Result<&mut VectorIndex> {
        let (space, params) = (self.space, self.graph_params);
        let index = self.index.get_or_insert_with(|| VectorIndex::new(space, dimension, params));
        if index.dimension() != dimension {
            return Err(Error::DimensionMismatch { expected: index.dimension(), got: dimension });
        }
        Ok(index)
    }

    /// The row holding `id`.
    fn row_of(&self, id: &str) -> Option<u64> {
        self.by_id.get(id, id_of(&self.records))
    }

    /// Adds a new record's row to the id index (the record is already in `records`).
    fn index_id(&mut self, row: u64) {
        let records = &self.records;
        self.by_id.insert(&records[&row].id, row, id_of(records));
    }

    /// Plans add / upsert / update with Chroma's semantics. Pure: `self` is unchanged.
    pub fn plan_write<'a>(&self, batch: &'a WriteBatch) -> Result<WritePlan<'a>> {
        let mut plan = WritePlan { seq: self.seq + 1, ..WritePlan::default() };
        if let Some(embeddings) = &batch.embeddings {
            match self.dimension() {
                Some(expected) if expected != embeddings.dimension => {
                    return Err(Error::DimensionMismatch { expected, got: embeddings.dimension })
                }
                None => plan.new_dimension = Some(embeddings.dimension),
                _ => {}
            }
        }
        let mut next_row = self.next_row;
        for (i, id) in batch.ids.iter().enumerate() {
            let embedding = batch.embeddings.as_ref().map(|e| e.row(i));
            let document = batch.documents.as_ref().and_then(|d| d[i].as_deref()).map(Box::from);
            let uri = batch.uris.as_ref().and_then(|u| u[i].as_deref()).map(Box::from);
            let metadata = batch.metadatas.as_ref().and_then(|m| m[i].as_ref());
            match (self.row_of(id), batch.kind) {
                // add skips existing ids; update ignores missing ones.
                (Some(_), WriteKind::Add) | (None, WriteKind::Update) => {}
                (None, _) => {
                    let record = Record::new(Box::from(id.as_str()), document, uri, metadata.and_then(insert_metadata));
                    plan.changes.push(Change::Put { row: next_row, record, embedding });
                    next_row += 1;
                }
                (Some(row), _) => {
                    let mut record = self.records[&row].clone();
                    if document.is_some() {
                        record.document = document;
                    }
                    if uri.is_some() {
                        record.set_uri(uri);
                    }
                    if let Some(update) = metadata {
                        let merged = merge_metadata(record.take_metadata(), update);
                        record.set_metadata(merged);
                    }
                    plan.changes.push(Change::Put { row, record, embedding });
                }
            }
        }
        Ok(plan)
    }

    /// Plans a delete; returns the plan and the count Chroma reports.
    pub fn plan_delete(&self, request: &DeleteRequest) -> (WritePlan<'static>, usize) {
        let rows: Vec<u64> = if request.filter.has_predicate() {
            let mut rows = self.matching_rows(&request.filter);
            if let Some(limit) = request.limit {
                rows.truncate(limit);
            }
            rows
        } else {
            self.matching_rows(&request.filter)
        };
        // With ids only, Chroma reports the number of ids requested, not found.
        let reported = match (&request.filter.ids, request.filter.has_predicate()) {
            (Some(ids), false) => ids.len(),
            _ => rows.len(),
        };
        let changes = rows.into_iter().map(|row| Change::Delete { row }).collect();
        (WritePlan { changes, new_dimension: None, seq: self.seq + 1 }, reported)
    }

    /// Applies a plan that has been persisted.
    pub fn apply(&mut self, plan: WritePlan<'_>) -> Result<()> {
        if let Some(dimension) = plan.new_dimension {
            self.index_for(dimension)?;
        }
        self.seq = plan.seq;
        self.changes_since_snapshot += plan.changes.len();
        // (row, vector borrowed from the batch): the index copies each vector once, into its own store.
        let mut new_vectors = Vec::new();
        for change in plan.changes {
            match change {
                Change::Put { row, record, embedding } => {
                    if let Some(vector) = embedding {
                        new_vectors.push((row, vector));
                    }
                    self.next_row = self.next_row.max(row + 1);
                    // A planned put reuses a row only for the same id, so only a new row is indexed by id.
                    let new_row = match self.records.get(&row) {
                        Some(old) => {
                            self.metadata_index.remove(row, old.metadata());
                            false
                        }
                        None => true,
                    };
                    self.metadata_index.insert(row, record.metadata());
                    self.records.insert(row, record);
                    if new_row {
                        self.index_id(row);
                    }
                }
                Change::Delete { row } => {
                    if let Some(record) = self.records.get(&row) {
                        self.by_id.remove(&record.id, id_of(&self.records));
                        self.metadata_index.remove(row, record.metadata());
                        self.records.remove(&row);
                    }
                    if let Some(index) = self.index.as_mut() {
                        index.remove(row);
                    }
                }
            }
        }
        if let Some(&(_, first)) = new_vectors.first() {
            self.index_for(first.len())?.put_each(new_vectors);
        }
        Ok(())
    }

    /// Rows matching ids ∩ where ∩ where_document, in row (insertion) order. The `where` clause is
    /// answered by the metadata index; only document tests look at records one by one.
    fn matching_rows(&self, filter: &Filter) -> Vec<u64> {
        let within: Cow<'_, RowSet> = match &filter.ids {
            Some(ids) => Cow::Owned(ids.iter().filter_map(|id| self.row_of(id)).collect()),
            None => Cow::Borrowed(self.metadata_index.all()),
        };
        let document = |row: u64| self.records.get(&row).and_then(|r| r.document.as_deref());
        let rows = match &filter.where_clause {
            Some(clause) => Cow::Owned(self.metadata_index.select(clause, &within, &document)),
            None => within,
        };
        match &filter.where_document {
            Some(test) => rows.iter().filter(|&row| test.matches(document(row))).collect(),
            None => rows.iter().collect(),
        }
    }

    pub fn get(&self, request: &GetRequest) -> GetColumns {
        let rows: Vec<u64> = self
            .matching_rows(&request.filter)
            .into_iter()
            .skip(request.offset)
            .take(request.limit.unwrap_or(usize::MAX))
            .collect();
        self.columns(&rows, request.include, None)
    }

    /// One result per query embedding.
    pub fn query(&self, request: &QueryRequest) -> Result<Vec<GetColumns>> {
        let queries = &request.queries;
        let Some(index) = self.index.as_ref() else {
            // Never had embeddings: empty results, whatever the query dimension.
            return Ok((0..queries.rows()).map(|_| self.columns(&[], request.include, Some(Vec::new()))).collect());
        };
        if index.dimension() != queries.dimension {
            return Err(Error::DimensionMismatch { expected: index.dimension(), got: queries.dimension });
        }
        // Chroma fails with an internal "Error finding id" here; chromalite names the id in a NotFound.
        if let (Some(ids), false) = (&request.filter.ids, request.filter.has_predicate()) {
            if let Some(missing) = ids.iter().find(|id| self.row_of(id).is_none()) {
                return Err(Error::NotFound {
                    message: format!("Error finding id: [{missing}] is not in the collection, so it cannot restrict a query"),
                });
            }
        }
        let filtered = request.filter.ids.is_some() || request.filter.has_predicate();
        // The filter's rows are mapped to index slots once, for every query embedding.
        let allowed = filtered.then(|| index.slots_of(&self.matching_rows(&request.filter)));
        let answer = |q: usize| {
            let hits: Vec<Hit> = index.search_slots(queries.row(q), request.n_results, allowed.as_deref());
            let rows: Vec<u64> = hits.iter().map(|h| h.row).collect();
            self.columns(&rows, request.include, Some(hits.iter().map(|h| h.distance).collect()))
        };
        // Several query embeddings run on all cores; one runs here, without a hop to the rayon pool (a
        // thread wake-up costs as much as a small search).
        Ok(match queries.rows() {
            1 => vec![answer(0)],
            rows => (0..rows).into_par_iter().map(answer).collect(),
        })
    }

    fn columns(&self, rows: &[u64], include: Include, distances: Option<Vec<f32>>) -> GetColumns {
        let records: Vec<&Record> = rows.iter().map(|row| &self.records[row]).collect();
        GetColumns {
            ids: records.iter().map(|r| r.id.to_string()).collect(),
            embeddings: include.embeddings.then(|| {
                let mut flat = Vec::new();
                if let Some(index) = &self.index {
                    for row in rows {
                        flat.extend_from_slice(index.vector(*row).unwrap_or(&[]));
                    }
                }
                flat
            }),
            documents: include.documents.then(|| records.iter().map(|r| r.document.as_deref().map(str::to_owned)).collect()),
            uris: include.uris.then(|| records.iter().map(|r| r.uri().map(str::to_owned)).collect()),
            metadatas: include.metadatas.then(|| records.iter().map(|r| returned_metadata(r)).collect()),
            distances: if include.distances { distances } else { None },
        }
    }
}

/// The id of a row in `records`: how the id index ([`IdIndex`]) reads the ids it does not store.
fn id_of<'a>(records: &'a RowMap<Record>) -> impl Fn(u64) -> &'a str + 'a {
    move |row| &records[&row].id
}

/// Metadata as reads return it. Chroma keeps a uri under an internal metadata key that reads strip, so a
/// record with a uri but no metadata reads back `{}` rather than `None`; chromalite keeps that contract.
fn returned_metadata(record: &Record) -> Option<Metadata> {
    match (record.metadata(), record.uri()) {
        (None, Some(_)) => Some(Metadata::new()),
        (metadata, _) => metadata.cloned(),
    }
}

/// Metadata of a new record: `None` values dropped, an empty map stored as no metadata.
fn insert_metadata(update: &UpdateMetadata) -> Option<Metadata> {
    let metadata: Metadata = update.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
    (!metadata.is_empty()).then_some(metadata)
}

/// Chroma's merge: keys replaced one by one, `None` deletes a key; empty after merging → no metadata.
fn merge_metadata(existing: Option<Metadata>, update: &UpdateMetadata) -> Option<Metadata> {
    let mut metadata = existing.unwrap_or_default();
    for (key, value) in update {
        match value {
            Some(v) => {
                metadata.insert(key.clone(), v.clone());
            }
            None => {
                metadata.remove(key);
            }
        }
    }
    (!metadata.is_empty()).then_some(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::MetadataValue;

    fn write(kind: WriteKind, json: &str, embeddings: Option<(Vec<f32>, usize)>) -> WriteBatch {
        WriteBatch::parse(kind, json, embeddings).unwrap()
    }

    fn run(data: &mut CollectionData, batch: WriteBatch) {
        let plan = data.plan_write(&batch).unwrap();
        data.apply(plan).unwrap();
    }

    fn ids(data: &CollectionData, json: &str) -> Vec<String> {
        data.get(&GetRequest::parse(json).unwrap()).ids
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_record_stays_small() {
        // Records sit in a flat array (see `RowMap`): growing one costs every record of every collection.
        assert_eq!(std::mem::size_of::<Record>(), 40);
        assert_eq!(std::mem::size_of::<Option<Record>>(), 40);
    }

    #[test]
    fn uri_and_metadata_share_one_box_that_exists_only_while_either_is_set() {
        let metadata: Metadata = [("k".to_owned(), MetadataValue::Int(1))].into_iter().collect();
        let mut record = Record::new("a".into(), Some("doc".into()), None, None);
        assert!(record.extra.is_none() && record.uri().is_none() && record.metadata().is_none());
        record.set_uri(Some("u".into()));
        assert_eq!((record.uri(), record.metadata()), (Some("u"), None));
        record.set_metadata(Some(metadata.clone()));
        assert_eq!((record.uri(), record.metadata()), (Some("u"), Some(&metadata)));
        record.set_uri(None);
        assert_eq!((record.uri(), record.metadata()), (None, Some(&metadata)));
        record.set_metadata(None);
        assert!(record.extra.is_none());
        assert_eq!(record.document.as_deref(), Some("doc"));
        assert_eq!(Record::new("b".into(), None, Some("u".into()), Some(metadata.clone())).metadata(), Some(&metadata));
    }

    #[test]
    fn add_skips_existing_update_ignores_missing_and_merges() {
        let mut data = CollectionData::new(&HnswConfig::default(), None, 0);
        run(&mut data, write(WriteKind::Add, r#"{"ids":["a","b"],"metadatas":[{"x":1,"y":"k"},null]}"#, Some((vec![0.0, 1.0], 1))));
        run(&mut data, write(WriteKind::Add, r#"{"ids":["a","c"],"documents":["new","c"]}"#, Some((vec![5.0, 2.0], 1))));
        assert_eq!(data.count(), 3);
        let got = data.get(&GetRequest::parse(r#"{"ids":["a"],"include":["documents","embeddings"]}"#).unwrap());
        assert_eq!(got.documents, Some(vec![None]));
        assert_eq!(got.embeddings, Some(vec![0.0]));
        run(&mut data, write(WriteKind::Update, r#"{"ids":["a","zz"],"metadatas":[{"x":null,"z":true},{"q":1}]}"#, None));
        let got = data.get(&GetRequest::parse(r#"{"ids":["a"]}"#).unwrap());
        let md = got.metadatas.unwrap()[0].clone().unwrap();
        assert_eq!(md.get("x"), None);
        assert_eq!(md.get("z"), Some(&MetadataValue::Bool(true)));
        assert_eq!(data.count(), 3);
        // Insertion order, not request order.
        assert_eq!(ids(&data, r#"{"ids":["c","a"]}"#), vec!["a", "c"]);
        assert_eq!(ids(&data, r#"{"limit":1,"offset":1}"#), vec!["b"]);
    }

    #[test]
    fn dimension_is_fixed_by_first_embeddings() {
        let mut data = CollectionData::new(&HnswConfig::default(), None, 0);
        run(&mut data, write(WriteKind::Add, r#"{"ids":["a"]}"#, Some((vec![0.0, 1.0], 2))));
        let err = data.plan_write(&write(WriteKind::Add, r#"{"ids":["b"]}"#, Some((vec![0.0], 1)))).unwrap_err();
        assert_eq!(err.to_string(), "Collection expecting embedding with dimension of 2, got 1");
    }

    #[test]
    fn delete_counts_like_chroma() {
        let mut data = CollectionData::new(&HnswConfig::default(), None, 0);
        run(&mut data, write(WriteKind::Add, r#"{"ids":["a","b","c"],"metadatas":[{"k":1},{"k":1},{"k":2}]}"#, Some((vec![0.0, 1.0, 2.0], 1))));
        let (plan, n) = data.plan_delete(&DeleteRequest::parse(r#"{"ids":["a","nope"]}"#).unwrap());
        assert_eq!(n, 2);
        data.apply(plan).unwrap();
        let (plan, n) = data.plan_delete(&DeleteRequest::parse(r#"{"where":{"k":1}}"#).unwrap());
        assert_eq!(n, 1);
        data.apply(plan).unwrap();
        assert_eq!(ids(&data, "{}"), vec!["c"]);
    }

    #[test]
    fn query_filters_exactly_and_sorts() {
        let mut data = CollectionData::new(&HnswConfig::default(), None, 0);
        run(
            &mut data,
            write(WriteKind::Add, r#"{"ids":["a","b","c"],"metadatas":[{"k":1},{"k":2},{"k":1}]}"#, Some((vec![0.0, 1.0, 2.0], 1))),
        );
        let q = QueryRequest::parse(r#"{"n_results":5,"where":{"k":1}}"#, vec![1.9], 1).unwrap();
        let result = &data.query(&q).unwrap()[0];
        assert_eq!(result.ids, vec!["c", "a"]);
        let d = result.distances.as_ref().unwrap();
        assert!((d[0] - 0.01).abs() < 1e-5 && (d[1] - 3.61).abs() < 1e-5);
        let by_unknown_id = QueryRequest::parse(r#"{"ids":["a","zz"]}"#, vec![1.0], 1).unwrap();
        assert!(data.query(&by_unknown_id).unwrap_err().to_string().contains("[zz]"));
        let ids_and_where = QueryRequest::parse(r#"{"ids":["a","zz"],"where":{"k":1}}"#, vec![1.0], 1).unwrap();
        assert_eq!(data.query(&ids_and_where).unwrap()[0].ids, vec!["a"]);
    }

}
