//! Metadata values as Chroma 1.x stores them: scalars (str, i64, f64, bool) and non-empty arrays of one
//! scalar type. Parsed from JSON with the Rust server's validation rules; ints and floats stay distinct.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    BoolList(Vec<bool>),
    IntList(Vec<i64>),
    FloatList(Vec<f64>),
    StrList(Vec<String>),
}

/// A record's (or a collection's) metadata. Keys are ordered so output is deterministic.
pub type Metadata = BTreeMap<String, MetadataValue>;

/// Metadata as given to update / upsert: `None` deletes the key.
pub type UpdateMetadata = BTreeMap<String, Option<MetadataValue>>;

impl MetadataValue {
    /// Parses one JSON value. `key` is used in messages only.
    pub fn from_json(key: &str, value: &Value) -> Result<MetadataValue> {
        match value {
            Value::Bool(b) => Ok(MetadataValue::Bool(*b)),
            Value::Number(n) => Ok(number_value(n)),
            Value::String(s) => Ok(MetadataValue::Str(s.clone())),
            Value::Array(items) => list_value(key, items),
            Value::Object(map) if map.get("#type").and_then(Value::as_str) == Some("sparse_vector") => Err(
                Error::invalid(format!("Sparse vector is not supported for local chroma: {key}")),
            ),
            other => Err(Error::invalid(format!(
                "Expected metadata value to be a str, int, float, bool, or list, got {other} for key '{key}'"
            ))),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            MetadataValue::Bool(b) => Value::Bool(*b),
            MetadataValue::Int(i) => Value::from(*i),
            MetadataValue::Float(f) => float_json(*f),
            MetadataValue::Str(s) => Value::String(s.clone()),
            MetadataValue::BoolList(v) => Value::Array(v.iter().map(|b| Value::Bool(*b)).collect()),
            MetadataValue::IntList(v) => Value::Array(v.iter().map(|i| Value::from(*i)).collect()),
            MetadataValue::FloatList(v) => Value::Array(v.iter().map(|f| float_json(*f)).collect()),
            MetadataValue::StrList(v) => Value::Array(v.iter().map(|s| Value::String(s.clone())).collect()),
        }
    }

    /// The numeric value of a scalar int or float, for cross-type comparison.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            MetadataValue::Int(i) => Some(*i as f64),
            MetadataValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn is_list(&self) -> bool {
        matches!(
            self,
            MetadataValue::BoolList(_) | MetadataValue::IntList(_) | MetadataValue::FloatList(_) | MetadataValue::StrList(_)
        )
    }
}

fn float_json(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

/// An integral JSON number that fits i64 is an Int; anything else (fraction, exponent, beyond i64) a Float.
fn number_value(n: &Number) -> MetadataValue {
    match n.as_i64() {
        Some(i) => MetadataValue::Int(i),
        None => MetadataValue::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

fn list_value(key: &str, items: &[Value]) -> Result<MetadataValue> {
    let mixed = || {
        Error::invalid(format!(
            "Expected metadata list value for key '{key}' to contain only str, int, float, or bool and all elements must be the same type"
        ))
    };
    let first = items
        .first()
        .ok_or_else(|| Error::invalid(format!("Expected metadata list value for key '{key}' to be non-empty")))?;
    match first {
        Value::Bool(_) => items.iter().map(|v| v.as_bool().ok_or_else(mixed)).collect::<Result<_>>().map(MetadataValue::BoolList),
        Value::String(_) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(mixed))
            .collect::<Result<_>>()
            .map(MetadataValue::StrList),
        Value::Number(_) => {
            let numbers: Vec<MetadataValue> = items
                .iter()
                .map(|v| match v {
                    Value::Number(n) => Ok(number_value(n)),
                    _ => Err(mixed()),
                })
                .collect::<Result<_>>()?;
            if numbers.iter().all(|v| matches!(v, MetadataValue::Int(_))) {
                Ok(MetadataValue::IntList(
                    numbers.iter().map(|v| if let MetadataValue::Int(i) = v { *i } else { 0 }).collect(),
                ))
            } else {
                Ok(MetadataValue::FloatList(numbers.iter().filter_map(MetadataValue::as_number).collect()))
            }
        }
        _ => Err(mixed()),
    }
}

/// Key rules shared by record and collection metadata.
pub fn validate_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("Metadata key cannot be empty"));
    }
    if key.starts_with('#') || key.starts_with('$') {
        return Err(Error::invalid(format!("Metadata key cannot start with '#' or '$': {key}")));
    }
    Ok(())
}

/// Parses metadata in which every value must be present (add, collection metadata).
pub fn parse_metadata(value: &Value) -> Result<Metadata> {
    let map = as_object(value)?;
    let mut out = Metadata::new();
    for (key, v) in map {
        validate_key(key)?;
        if v.is_null() {
            return Err(Error::invalid(format!("Metadata value for key '{key}' cannot be null")));
        }
        out.insert(key.clone(), MetadataValue::from_json(key, v)?);
    }
    Ok(out)
}

/// Parses metadata for update / upsert, where `null` deletes the key.
pub fn parse_update_metadata(value: &Value) -> Result<UpdateMetadata> {
    let map = as_object(value)?;
    let mut out = UpdateMetadata::new();
    for (key, v) in map {
        validate_key(key)?;
        let parsed = if v.is_null() { None } else { Some(MetadataValue::from_json(key, v)?) };
        out.insert(key.clone(), parsed);
    }
    Ok(out)
}

fn as_object(value: &Value) -> Result<&Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::invalid(format!("Expected metadata to be an object, got {value}")))
}

pub fn metadata_to_json(metadata: &Metadata) -> Value {
    Value::Object(metadata.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_and_floats_stay_distinct() {
        let m = parse_metadata(&json!({"a": 1, "b": 1.5, "c": 1e300, "d": [1, 2], "e": [1, 2.5]})).unwrap();
        assert_eq!(m["a"], MetadataValue::Int(1));
        assert_eq!(m["b"], MetadataValue::Float(1.5));
        assert_eq!(m["c"], MetadataValue::Float(1e300));
        assert_eq!(m["d"], MetadataValue::IntList(vec![1, 2]));
        assert_eq!(m["e"], MetadataValue::FloatList(vec![1.0, 2.5]));
    }

    #[test]
    fn rejects_bad_keys_and_values() {
        assert!(parse_metadata(&json!({"": 1})).is_err());
        assert!(parse_metadata(&json!({"$a": 1})).is_err());
        assert!(parse_metadata(&json!({"#a": 1})).is_err());
        assert!(parse_metadata(&json!({"a": null})).is_err());
        assert!(parse_metadata(&json!({"a": []})).is_err());
        assert!(parse_metadata(&json!({"a": [1, "x"]})).is_err());
        assert!(parse_metadata(&json!({"a": {"b": 1}})).is_err());
        let sparse = parse_metadata(&json!({"a": {"#type": "sparse_vector", "indices": [], "values": []}}));
        assert!(sparse.unwrap_err().to_string().contains("Sparse vector"));
    }

    #[test]
    fn update_metadata_null_deletes() {
        let m = parse_update_metadata(&json!({"a": null, "b": true})).unwrap();
        assert_eq!(m["a"], None);
        assert_eq!(m["b"], Some(MetadataValue::Bool(true)));
    }

    #[test]
    fn round_trips_through_json() {
        let src = json!({"a": 1, "b": 2.5, "c": "x", "d": false, "e": ["p", "q"], "f": [true]});
        assert_eq!(metadata_to_json(&parse_metadata(&src).unwrap()), src);
    }
}
