//! Requests as the outside world sends them (JSON bodies shaped like Chroma's HTTP API v2, with
//! embeddings passed separately as one flat f32 buffer), parsed and validated into owned values.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::filter::{parse_where, parse_where_document, Where, WhereDocument};
use crate::metadata::{parse_update_metadata, UpdateMetadata};

/// SQLite's default MAX_VARIABLE_NUMBER (32766) / 6, as Chroma computes it.
pub const MAX_BATCH_SIZE: usize = 5461;
/// Longest id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 4096;
/// Largest embedding dimension accepted.
pub const MAX_DIMENSION: usize = 65536;

/// Flat row-major embeddings: `data.len() == rows * dimension`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub data: Vec<f32>,
    pub dimension: usize,
}

impl Embeddings {
    /// Validates the shape against `rows` and that every value is finite.
    pub fn new(data: Vec<f32>, dimension: usize, rows: usize) -> Result<Embeddings> {
        if dimension == 0 {
            return Err(Error::invalid("Each embedding must have at least 1 dimension"));
        }
        if dimension > MAX_DIMENSION {
            return Err(Error::invalid(format!("Embedding dimension {dimension} exceeds the limit of {MAX_DIMENSION}")));
        }
        if data.len() != rows.saturating_mul(dimension) {
            return Err(Error::invalid("Inconsistent number of IDs, embeddings, documents, URIs and metadatas"));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid("Embeddings must not contain NaN or Infinity values"));
        }
        Ok(Embeddings { data, dimension })
    }

    pub fn rows(&self) -> usize {
        self.data.len() / self.dimension.max(1)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dimension..(i + 1) * self.dimension]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Add,
    Upsert,
    Update,
}

impl WriteKind {
    fn as_str(self) -> &'static str {
        match self {
            WriteKind::Add => "add",
            WriteKind::Upsert => "upsert",
            WriteKind::Update => "update",
        }
    }
}

/// add / upsert / update. For add, metadata values are never `None` (checked at parse).
#[derive(Debug, Clone)]
pub struct WriteBatch {
    pub kind: WriteKind,
    pub ids: Vec<String>,
    pub embeddings: Option<Embeddings>,
    pub documents: Option<Vec<Option<String>>>,
    pub uris: Option<Vec<Option<String>>>,
    pub metadatas: Option<Vec<Option<UpdateMetadata>>>,
}

impl WriteBatch {
    pub fn parse(kind: WriteKind, json: &str, embeddings: Option<(Vec<f32>, usize)>) -> Result<WriteBatch> {
        let body = parse_body(json)?;
        let ids = parse_ids(body.get("ids"), true)?.unwrap_or_default();
        check_batch_size(ids.len())?;
        check_unique(&ids, kind.as_str())?;
        let embeddings = embeddings.map(|(data, dim)| Embeddings::new(data, dim, ids.len())).transpose()?;
        if kind != WriteKind::Update && embeddings.is_none() {
            return Err(Error::invalid(format!("Embeddings are required for {}", kind.as_str())));
        }
        let documents = optional_strings(body.get("documents"), "documents")?;
        let uris = optional_strings(body.get("uris"), "uris")?;
        let metadatas = match body.get("metadatas") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, m)| parse_record_metadata(kind, i, m))
                    .collect::<Result<Vec<_>>>()?,
            ),
            Some(other) => return Err(Error::invalid(format!("Expected metadatas to be a list, got {other}"))),
        };
        let n = ids.len();
        let lengths_ok = documents.as_ref().is_none_or(|d| d.len() == n)
            && uris.as_ref().is_none_or(|u| u.len() == n)
            && metadatas.as_ref().is_none_or(|m| m.len() == n);
        if !lengths_ok {
            return Err(Error::invalid("Inconsistent number of IDs, embeddings, documents, URIs and metadatas"));
        }
        Ok(WriteBatch { kind, ids, embeddings, documents, uris, metadatas })
    }
}

fn parse_record_metadata(kind: WriteKind, index: usize, value: &Value) -> Result<Option<UpdateMetadata>> {
    if value.is_null() {
        return Ok(None);
    }
    let parsed = parse_update_metadata(value)
        .map_err(|e| Error::invalid(format!("Invalid metadata at index {index}: {e}")))?;
    if kind == WriteKind::Add {
        if let Some((key, _)) = parsed.iter().find(|(_, v)| v.is_none()) {
            return Err(Error::invalid(format!(
                "Invalid metadata at index {index}: value for key '{key}' cannot be null in add"
            )));
        }
    }
    Ok(Some(parsed))
}

/// Which fields a read returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    pub documents: bool,
    pub embeddings: bool,
    pub metadatas: bool,
    pub distances: bool,
    pub uris: bool,
}

impl Include {
    /// Bit of each field in [`Include::from_bits`], the compact form the Node binding passes.
    pub const DOCUMENTS: u32 = 1;
    pub const EMBEDDINGS: u32 = 1 << 1;
    pub const METADATAS: u32 = 1 << 2;
    pub const DISTANCES: u32 = 1 << 3;
    pub const URIS: u32 = 1 << 4;

    /// The fields whose bits are set; any other bit is an error.
    pub fn from_bits(bits: u32) -> Result<Include> {
        let known = Self::DOCUMENTS | Self::EMBEDDINGS | Self::METADATAS | Self::DISTANCES | Self::URIS;
        if bits & !known != 0 {
            return Err(Error::invalid(format!("Invalid include flags: {bits:#x}")));
        }
        Ok(Include {
            documents: bits & Self::DOCUMENTS != 0,
            embeddings: bits & Self::EMBEDDINGS != 0,
            metadatas: bits & Self::METADATAS != 0,
            distances: bits & Self::DISTANCES != 0,
            uris: bits & Self::URIS != 0,
        })
    }

    fn parse(value: Option<&Value>, default: &[&str], allow_distances: bool) -> Result<(Include, Vec<String>)> {
        let names: Vec<String> = match value {
            None | Some(Value::Null) => default.iter().map(|s| s.to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| Error::invalid(format!("Invalid include value: {v}"))))
                .collect::<Result<_>>()?,
            Some(other) => return Err(Error::invalid(format!("Expected include to be a list, got {other}"))),
        };
        let mut include = Include::default();
        for name in &names {
            match name.as_str() {
                "documents" => include.documents = true,
                "embeddings" => include.embeddings = true,
                "metadatas" | "data" => include.metadatas = true,
                "uris" => include.uris = true,
                "distances" if allow_distances => include.distances = true,
                "distances" => return Err(Error::invalid("Include item cannot be one of distances, got distances")),
                other => return Err(Error::invalid(format!("Invalid include value: {other}"))),
            }
        }
        Ok((include, names))
    }
}

/// The filters shared by get, query and delete.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Option<Vec<String>>,
    pub where_clause: Option<Where>,
    pub where_document: Option<WhereDocument>,
}

impl Filter {
    fn parse(body: &serde_json::Map<String, Value>) -> Result<Filter> {
        let where_clause = match body.get("where") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) if m.is_empty() => None,
            Some(w) => Some(parse_where(w)?),
        };
        let where_document = match body.get("where_document") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) if m.is_empty() => None,
            Some(w) => Some(parse_where_document(w)?),
        };
        Ok(Filter { ids: parse_ids(body.get("ids"), false)?, where_clause, where_document })
    }

    pub fn has_predicate(&self) -> bool {
        self.where_clause.is_some() || self.where_document.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct GetRequest {
    pub filter: Filter,
    pub limit: Option<usize>,
    pub offset: usize,
    pub include: Include,
    pub include_names: Vec<String>,
}

impl GetRequest {
    pub fn parse(json: &str) -> Result<GetRequest> {
        let body = parse_body(json)?;
        let (include, include_names) = Include::parse(body.get("include"), &["documents", "metadatas"], false)?;
        Ok(GetRequest {
            filter: Filter::parse(&body)?,
            limit: parse_count(body.get("limit"), "limit")?,
            offset: parse_count(body.get("offset"), "offset")?.unwrap_or(0),
            include,
            include_names,
        })
    }
}

#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub filter: Filter,
    pub n_results: usize,
    pub include: Include,
    pub queries: Embeddings,
}

impl QueryRequest {
    /// From a JSON body `{ids?, where?, where_document?, n_results?, include?}`.
    pub fn parse(json: &str, queries: Vec<f32>, dimension: usize) -> Result<QueryRequest> {
        let body = parse_body(json)?;
        let (include, _) = Include::parse(body.get("include"), &["metadatas", "documents", "distances"], true)?;
        let n_results = match body.get("n_results") {
            None | Some(Value::Null) => 10,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => n.min(u32::MAX as u64) as usize,
                _ => return Err(Error::invalid(format!("Number of requested results {v}, cannot be negative, or zero."))),
            },
        };
        Self::build(|| Filter::parse(&body), n_results, include, queries, dimension)
    }

    /// From parts, without a JSON round trip for the common fields: `filter_json` is `{ids?, where?,
    /// where_document?}` or None for no filter; `n_results` a JS number; `include` as [`Include::from_bits`].
    /// Validates exactly as [`QueryRequest::parse`] does, in the same order.
    pub fn from_parts(
        filter_json: Option<&str>,
        n_results: f64,
        include: u32,
        queries: Vec<f32>,
        dimension: usize,
    ) -> Result<QueryRequest> {
        let include = Include::from_bits(include)?;
        if !(n_results.is_finite() && n_results.fract() == 0.0 && n_results > 0.0) {
            return Err(Error::invalid(format!("Number of requested results {n_results}, cannot be negative, or zero.")));
        }
        let n_results = n_results.min(u32::MAX as f64) as usize;
        let filter = || match filter_json {
            None => Ok(Filter::default()),
            Some(json) => Filter::parse(&parse_body(json)?),
        };
        Self::build(filter, n_results, include, queries, dimension)
    }

    fn build(
        filter: impl FnOnce() -> Result<Filter>,
        n_results: usize,
        include: Include,
        queries: Vec<f32>,
        dimension: usize,
    ) -> Result<QueryRequest> {
        let rows = if dimension == 0 { 0 } else { queries.len() / dimension };
        if rows == 0 {
            return Err(Error::invalid("Expected query embeddings to be a non-empty list"));
        }
        check_batch_size(rows)?;
        Ok(QueryRequest { filter: filter()?, n_results, include, queries: Embeddings::new(queries, dimension, rows)? })
    }
}

#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub filter: Filter,
    pub limit: Option<usize>,
}

impl DeleteRequest {
    pub fn parse(json: &str) -> Result<DeleteRequest> {
        let body = parse_body(json)?;
        let filter = Filter::parse(&body)?;
        let limit = parse_count(body.get("limit"), "limit")?;
        if filter.ids.is_none() && !filter.has_predicate() {
            return Err(Error::invalid("At least one of ids, where, or where_document must be provided"));
        }
        if limit.is_some() && !filter.has_predicate() {
            return Err(Error::invalid("limit can only be specified when a where or where_document clause is provided"));
        }
        if let Some(ids) = &filter.ids {
            check_batch_size(ids.len())?;
        }
        Ok(DeleteRequest { filter, limit })
    }
}

fn parse_body(json: &str) -> Result<serde_json::Map<String, Value>> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::invalid(format!("Expected a request object, got {other}"))),
        Err(e) => Err(Error::invalid(format!("Malformed request: {e}"))),
    }
}

/// `required` = the field must be a list (write batches); otherwise absent / null means no id filter.
fn parse_ids(value: Option<&Value>, required: bool) -> Result<Option<Vec<String>>> {
    let items = match value {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) if !required => return Ok(None),
        other => {
            return Err(Error::invalid(format!(
                "Expected IDs to be a list, got {}",
                other.map(|v| v.to_string()).unwrap_or_else(|| "nothing".into())
            )))
        }
    };
    let ids = items
        .iter()
        .map(|v| match v.as_str() {
            Some("") => Err(Error::invalid("Empty ID, ID must have at least one character")),
            Some(s) if s.len() > MAX_ID_BYTES => {
                Err(Error::invalid(format!("ID is too long: {} bytes (limit {MAX_ID_BYTES})", s.len())))
            }
            Some(s) => Ok(s.to_owned()),
            None => Err(Error::invalid(format!("Expected ID to be a str, got {v}"))),
        })
        .collect::<Result<Vec<_>>>()?;
    if required && ids.is_empty() {
        return Err(Error::invalid("Expected IDs to be a non-empty list, got 0 IDs"));
    }
    Ok(Some(ids))
}

fn check_unique(ids: &[String], operation: &str) -> Result<()> {
    let mut seen = HashSet::with_capacity(ids.len());
    let mut duplicates: Vec<&str> = Vec::new();
    for id in ids {
        if !seen.insert(id.as_str()) && !duplicates.contains(&id.as_str()) {
            duplicates.push(id);
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    let shown = if duplicates.len() >= 10 {
        format!(
            "found {} duplicated IDs: {}, ..., {}",
            duplicates.len(),
            duplicates[..5].join(", "),
            duplicates[duplicates.len() - 5..].join(", ")
        )
    } else {
        format!("found duplicates of: {}", duplicates.join(", "))
    };
    Err(Error::invalid(format!("Expected IDs to be unique, {shown} in {operation}.")))
}

pub fn check_batch_size(n: usize) -> Result<()> {
    if n > MAX_BATCH_SIZE {
        return Err(Error::invalid(format!("Batch size of {n} is greater than max batch size of {MAX_BATCH_SIZE}")));
    }
    Ok(())
}

fn optional_strings(value: Option<&Value>, field: &str) -> Result<Option<Vec<Option<String>>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(Error::invalid(format!("Expected each of {field} to be a str or null, got {other}"))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(other) => Err(Error::invalid(format!("Expected {field} to be a list, got {other}"))),
    }
}

fn parse_count(value: Option<&Value>, field: &str) -> Result<Option<usize>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(|n| Some(n.min(usize::MAX as u64) as usize))
            .ok_or_else(|| Error::invalid(format!("{field} must be a non-negative integer, got {v}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_batch_validation() {
        let ok = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a","b"]}"#, Some((vec![1.0, 2.0], 1))).unwrap();
        assert_eq!(ok.ids.len(), 2);
        let dup = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a","a"]}"#, Some((vec![1.0, 2.0], 1)));
        assert!(dup.unwrap_err().to_string().contains("duplicates of: a"));
        let nan = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a"]}"#, Some((vec![f32::NAN], 1)));
        assert!(nan.unwrap_err().to_string().contains("NaN"));
        let empty = WriteBatch::parse(WriteKind::Add, r#"{"ids":[""]}"#, Some((vec![1.0], 1)));
        assert!(empty.unwrap_err().to_string().contains("Empty ID"));
        let uneven = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a"],"documents":["x","y"]}"#, Some((vec![1.0], 1)));
        assert!(uneven.unwrap_err().to_string().contains("Inconsistent"));
        let null_meta = WriteBatch::parse(WriteKind::Add, r#"{"ids":["a"],"metadatas":[{"k":null}]}"#, Some((vec![1.0], 1)));
        assert!(null_meta.is_err());
        let upd = WriteBatch::parse(WriteKind::Update, r#"{"ids":["a"],"metadatas":[{"k":null}]}"#, None).unwrap();
        assert_eq!(upd.metadatas.unwrap()[0].as_ref().unwrap()["k"], None);
        let ids: Vec<String> = (0..MAX_BATCH_SIZE + 1).map(|i| format!("\"{i}\"")).collect();
        let big = WriteBatch::parse(WriteKind::Update, &format!("{{\"ids\":[{}]}}", ids.join(",")), None);
        assert!(big.unwrap_err().to_string().contains("max batch size of 5461"));
    }

    #[test]
    fn read_requests() {
        let g = GetRequest::parse(r#"{"include":["embeddings"],"limit":2,"offset":1}"#).unwrap();
        assert!(g.include.embeddings && !g.include.documents);
        assert_eq!((g.limit, g.offset), (Some(2), 1));
        assert!(GetRequest::parse(r#"{"include":["distances"]}"#).is_err());
        assert!(GetRequest::parse(r#"{"limit":-1}"#).is_err());
        let q = QueryRequest::parse(r#"{"n_results":3}"#, vec![1.0, 2.0], 2).unwrap();
        assert!(q.include.distances && q.include.documents && !q.include.embeddings);
        assert!(QueryRequest::parse(r#"{"n_results":0}"#, vec![1.0], 1).is_err());
        let p = QueryRequest::from_parts(Some(r#"{"where":{"a":1}}"#), 3.0, Include::DISTANCES | Include::URIS, vec![1.0, 2.0], 2)
            .unwrap();
        assert!(p.include.distances && p.include.uris && !p.include.documents && p.filter.has_predicate());
        assert_eq!(p.n_results, 3);
        let none = QueryRequest::from_parts(None, 1.0, 0, vec![1.0], 1).unwrap();
        assert!(none.filter.ids.is_none() && !none.filter.has_predicate());
        for bad in [0.0, -1.0, 1.5, f64::NAN] {
            let err = QueryRequest::from_parts(None, bad, 0, vec![1.0], 1).unwrap_err();
            assert!(err.to_string().contains("cannot be negative, or zero"), "{bad}: {err}");
        }
        assert!(QueryRequest::from_parts(None, 1.0, 1 << 5, vec![1.0], 1).is_err());
        assert!(QueryRequest::from_parts(Some("[]"), 1.0, 0, vec![1.0], 1).is_err());
        assert!(DeleteRequest::parse("{}").is_err());
        assert!(DeleteRequest::parse(r#"{"ids":["a"],"limit":1}"#).is_err());
        assert!(DeleteRequest::parse(r#"{"where":{"a":1},"limit":1}"#).is_ok());
    }
}

/// createCollection's body: `{name, metadata?, configuration?, get_or_create?}`.
#[derive(Debug, Clone)]
pub struct CreateCollectionRequest {
    pub name: String,
    pub metadata: Option<Value>,
    pub configuration: Option<Value>,
    pub get_or_create: bool,
}

impl CreateCollectionRequest {
    pub fn parse(json: &str) -> Result<CreateCollectionRequest> {
        let body = parse_body(json)?;
        let name = match body.get("name") {
            Some(Value::String(s)) => s.clone(),
            other => return Err(Error::invalid(format!("Expected collection name to be a str, got {}", display(other)))),
        };
        Ok(CreateCollectionRequest {
            name,
            metadata: body.get("metadata").filter(|v| !v.is_null()).cloned(),
            configuration: body.get("configuration").filter(|v| !v.is_null()).cloned(),
            get_or_create: body.get("get_or_create").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// modify's body: `{new_name?, new_metadata?, new_configuration?}`.
#[derive(Debug, Clone)]
pub struct ModifyCollectionRequest {
    pub new_name: Option<String>,
    pub new_metadata: Option<Value>,
    pub new_configuration: Option<Value>,
}

impl ModifyCollectionRequest {
    pub fn parse(json: &str) -> Result<ModifyCollectionRequest> {
        let body = parse_body(json)?;
        let new_name = match body.get("new_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            other => return Err(Error::invalid(format!("Expected new name to be a str, got {}", display(other)))),
        };
        Ok(ModifyCollectionRequest {
            new_name,
            new_metadata: body.get("new_metadata").filter(|v| !v.is_null()).cloned(),
            new_configuration: body.get("new_configuration").filter(|v| !v.is_null()).cloned(),
        })
    }
}

fn display(value: Option<&Value>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "nothing".into())
}
