//! Collection configuration: the HNSW parameters (from `configuration.hnsw` or the legacy `hnsw:*`
//! metadata keys) and the recorded embedding function, stored and returned as `configuration_json`.

use serde_json::{json, Map, Value};

use crate::distance::Space;
use crate::error::{Error, Result};
use crate::metadata::{Metadata, MetadataValue};

/// hnsw_rs stores neighbour counts in a u8 and exits the process above 256: keep well inside.
pub const MAX_NEIGHBORS_LIMIT: usize = 255;

#[derive(Debug, Clone, PartialEq)]
pub struct HnswConfig {
    pub space: Space,
    pub ef_construction: usize,
    pub ef_search: usize,
    pub max_neighbors: usize,
    pub num_threads: usize,
    pub resize_factor: f64,
    pub sync_threshold: usize,
    pub batch_size: usize,
}

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig {
            space: Space::L2,
            ef_construction: 100,
            ef_search: 100,
            max_neighbors: 16,
            num_threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            resize_factor: 1.2,
            sync_threshold: 1000,
            batch_size: 100,
        }
    }
}

/// Legacy metadata key → configuration field.
const LEGACY_KEYS: [(&str, &str); 8] = [
    ("hnsw:space", "space"),
    ("hnsw:construction_ef", "ef_construction"),
    ("hnsw:search_ef", "ef_search"),
    ("hnsw:M", "max_neighbors"),
    ("hnsw:num_threads", "num_threads"),
    ("hnsw:resize_factor", "resize_factor"),
    ("hnsw:sync_threshold", "sync_threshold"),
    ("hnsw:batch_size", "batch_size"),
];

/// Fields that `modify` may change after creation.
const UPDATABLE: [&str; 5] = ["ef_search", "num_threads", "batch_size", "sync_threshold", "resize_factor"];

impl HnswConfig {
    /// Applies the fields of a JSON object onto `self`, rejecting unknown fields and bad values.
    fn apply(&mut self, fields: &Map<String, Value>) -> Result<()> {
        for (key, value) in fields {
            self.apply_one(key, value)?;
        }
        Ok(())
    }

    fn apply_one(&mut self, key: &str, value: &Value) -> Result<()> {
        let bad = |why: &str| Error::invalid(format!("Invalid HNSW parameters: {key}: {why}, got {value}"));
        let positive = |min: u64| -> Result<usize> {
            match value.as_u64() {
                Some(n) if n >= min && n <= u32::MAX as u64 => Ok(n as usize),
                _ => Err(bad(&format!("expected an integer >= {min}"))),
            }
        };
        match key {
            "space" => {
                let s = value.as_str().ok_or_else(|| bad("expected a string"))?;
                self.space = Space::parse(s).ok_or_else(|| Error::invalid(format!("Invalid distance function `{s}`")))?;
            }
            "ef_construction" => self.ef_construction = positive(1)?,
            "ef_search" => self.ef_search = positive(1)?,
            "max_neighbors" => {
                let m = positive(2)?;
                if m > MAX_NEIGHBORS_LIMIT {
                    return Err(bad(&format!("at most {MAX_NEIGHBORS_LIMIT} is supported")));
                }
                self.max_neighbors = m;
            }
            "num_threads" => self.num_threads = positive(1)?,
            "resize_factor" => match value.as_f64() {
                Some(f) if f.is_finite() && f > 0.0 => self.resize_factor = f,
                _ => return Err(bad("expected a positive number")),
            },
            "sync_threshold" => self.sync_threshold = positive(2)?,
            "batch_size" => self.batch_size = positive(2)?,
            _ => return Err(Error::invalid(format!("Invalid HNSW parameters: unknown field `{key}`"))),
        }
        Ok(())
    }

    /// The serialised form (`num_threads` and `batch_size` are not serialised, as in Chroma).
    pub fn to_json(&self) -> Value {
        json!({
            "space": self.space.as_str(),
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "max_neighbors": self.max_neighbors,
            "resize_factor": self.resize_factor,
            "sync_threshold": self.sync_threshold,
        })
    }

    fn from_stored(value: &Value) -> Result<HnswConfig> {
        let mut config = HnswConfig::default();
        if let Some(fields) = value.as_object() {
            config.apply(fields)?;
        }
        Ok(config)
    }
}

/// Everything a collection's configuration holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionConfig {
    pub hnsw: HnswConfig,
    /// `{"type":"known","name":..,"config":{..}}`, `{"type":"legacy"}`, or None: recorded, never interpreted.
    pub embedding_function: Option<Value>,
}

impl CollectionConfig {
    /// Builds the configuration of a new collection from the request's `configuration` and metadata.
    pub fn for_create(configuration: Option<&Value>, metadata: Option<&Metadata>) -> Result<CollectionConfig> {
        let configuration = match configuration {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => return Err(Error::invalid(format!("Expected configuration to be an object, got {other}"))),
        };
        let mut hnsw = HnswConfig::default();
        let explicit_hnsw = configuration.and_then(|c| c.get("hnsw")).filter(|v| !v.is_null());
        let spann = configuration.and_then(|c| c.get("spann")).filter(|v| !v.is_null());
        if explicit_hnsw.is_some() && spann.is_some() {
            return Err(Error::invalid("hnsw and spann cannot both be provided"));
        }
        // Legacy keys are always validated; they become the config only when no explicit hnsw is given.
        let legacy = legacy_fields(metadata)?;
        match (explicit_hnsw, spann) {
            (Some(Value::Object(fields)), _) => hnsw.apply(fields)?,
            (Some(other), _) => return Err(Error::invalid(format!("Invalid HNSW parameters: expected an object, got {other}"))),
            (None, Some(spann)) => {
                // Locally a spann config becomes an HNSW config that keeps only `space`.
                if let Some(space) = spann.get("space") {
                    hnsw.apply_one("space", space)?;
                }
            }
            (None, None) => hnsw.apply(&legacy)?,
        }
        if let Some(map) = configuration {
            for key in map.keys() {
                if !matches!(key.as_str(), "hnsw" | "spann" | "embedding_function") {
                    return Err(Error::invalid(format!("Invalid configuration: unknown field `{key}`")));
                }
            }
        }
        let embedding_function = configuration.and_then(|c| c.get("embedding_function")).filter(|v| !v.is_null()).cloned();
        Ok(CollectionConfig { hnsw, embedding_function })
    }

    /// Applies `modify`'s `new_configuration`: only the updatable HNSW fields and the embedding function.
    pub fn update(&self, new_configuration: &Value) -> Result<CollectionConfig> {
        let map = new_configuration
            .as_object()
            .ok_or_else(|| Error::invalid(format!("Expected configuration to be an object, got {new_configuration}")))?;
        let mut next = self.clone();
        for (key, value) in map {
            match key.as_str() {
                "hnsw" => {
                    let fields = value
                        .as_object()
                        .ok_or_else(|| Error::invalid(format!("Invalid HNSW parameters: expected an object, got {value}")))?;
                    for (field, v) in fields {
                        if !UPDATABLE.contains(&field.as_str()) {
                            return Err(Error::invalid(format!(
                                "Invalid HNSW parameters: `{field}` cannot be changed after creation (updatable: {})",
                                UPDATABLE.join(", ")
                            )));
                        }
                        next.hnsw.apply_one(field, v)?;
                    }
                }
                "embedding_function" => next.embedding_function = Some(value.clone()).filter(|v| !v.is_null()),
                "spann" => return Err(Error::invalid("spann configuration is not supported by the local engine")),
                _ => return Err(Error::invalid(format!("Invalid configuration: unknown field `{key}`"))),
            }
        }
        Ok(next)
    }

    /// The `configuration_json` of the collection model.
    pub fn to_json(&self) -> Value {
        json!({
            "hnsw": self.hnsw.to_json(),
            "spann": Value::Null,
            "embedding_function": self.embedding_function.clone().unwrap_or(Value::Null),
        })
    }

    /// Reads back what `to_json` stored. `num_threads` / `batch_size` come back as defaults.
    pub fn from_stored(value: &Value) -> Result<CollectionConfig> {
        Ok(CollectionConfig {
            hnsw: HnswConfig::from_stored(value.get("hnsw").unwrap_or(&Value::Null))?,
            embedding_function: value.get("embedding_function").filter(|v| !v.is_null()).cloned(),
        })
    }
}

/// Validates the legacy `hnsw:*` metadata keys and returns them as configuration fields.
fn legacy_fields(metadata: Option<&Metadata>) -> Result<Map<String, Value>> {
    let mut fields = Map::new();
    let Some(metadata) = metadata else { return Ok(fields) };
    for (key, value) in metadata.iter().filter(|(k, _)| k.starts_with("hnsw:")) {
        let field = LEGACY_KEYS
            .iter()
            .find(|(legacy, _)| legacy == key)
            .map(|(_, field)| *field)
            .ok_or_else(|| Error::invalid(format!("Invalid HNSW parameters: unknown metadata key `{key}`")))?;
        let json_value = match value {
            MetadataValue::Str(_) | MetadataValue::Int(_) | MetadataValue::Float(_) => value.to_json(),
            _ => return Err(Error::invalid(format!("Invalid HNSW parameters: {key} has a value of the wrong type"))),
        };
        fields.insert(field.to_owned(), json_value);
    }
    // Validate now so the error names the legacy key's problem even when configuration.hnsw wins.
    HnswConfig::default().apply(&fields)?;
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::parse_metadata;

    #[test]
    fn legacy_metadata_becomes_config() {
        let md = parse_metadata(&json!({"hnsw:space": "cosine", "hnsw:M": 32, "x": 1})).unwrap();
        let c = CollectionConfig::for_create(None, Some(&md)).unwrap();
        assert_eq!(c.hnsw.space, Space::Cosine);
        assert_eq!(c.hnsw.max_neighbors, 32);
    }

    #[test]
    fn explicit_hnsw_wins_and_bad_values_fail() {
        let md = parse_metadata(&json!({"hnsw:space": "cosine"})).unwrap();
        let c = CollectionConfig::for_create(Some(&json!({"hnsw": {"space": "ip"}})), Some(&md)).unwrap();
        assert_eq!(c.hnsw.space, Space::Ip);
        assert!(CollectionConfig::for_create(Some(&json!({"hnsw": {"space": "manhattan"}})), None).is_err());
        assert!(CollectionConfig::for_create(Some(&json!({"hnsw": {"bogus": 1}})), None).is_err());
        assert!(CollectionConfig::for_create(Some(&json!({"hnsw": {"max_neighbors": 1000}})), None).is_err());
        assert!(CollectionConfig::for_create(Some(&json!({"hnsw": {"sync_threshold": 1}})), None).is_err());
        let md = parse_metadata(&json!({"hnsw:foo": 1})).unwrap();
        assert!(CollectionConfig::for_create(None, Some(&md)).is_err());
        let both = json!({"hnsw": {}, "spann": {}});
        assert!(CollectionConfig::for_create(Some(&both), None).is_err());
    }

    #[test]
    fn update_allows_only_mutable_fields() {
        let c = CollectionConfig::for_create(None, None).unwrap();
        let u = c.update(&json!({"hnsw": {"ef_search": 50}})).unwrap();
        assert_eq!(u.hnsw.ef_search, 50);
        assert!(c.update(&json!({"hnsw": {"space": "ip"}})).is_err());
        assert!(c.update(&json!({"hnsw": {"max_neighbors": 8}})).is_err());
    }

    #[test]
    fn stored_form_round_trips() {
        let c = CollectionConfig::for_create(
            Some(&json!({"hnsw": {"space": "cosine", "ef_search": 7}, "embedding_function": {"type": "known", "name": "default", "config": {}}})),
            None,
        )
        .unwrap();
        let back = CollectionConfig::from_stored(&c.to_json()).unwrap();
        assert_eq!(back.hnsw.space, Space::Cosine);
        assert_eq!(back.hnsw.ef_search, 7);
        assert_eq!(back.embedding_function, c.embedding_function);
    }
}
