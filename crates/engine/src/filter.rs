//! `where` and `where_document` filters: parsed from JSON with Chroma's validation rules and messages, then
//! evaluated against one record's metadata and document.
//!
//! Invariants of every parsed filter:
//! * `$and` / `$or` nest at most [`MAX_DEPTH`] levels, so evaluation recursion is bounded;
//! * every `$in` / `$nin` set is non-empty and all its items are of one [`Scalar`] kind;
//! * every regex was compiled within [`REGEX_SIZE_LIMIT`], and one filter holds at most [`MAX_REGEXES`].

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::metadata::{Metadata, MetadataValue};

/// Deepest allowed nesting of `$and` / `$or` in one filter.
pub const MAX_DEPTH: usize = 64;

/// Compiled-size limit (bytes) for each regex, and for its lazy DFA cache.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Most regex operators one parsed filter may hold (bounds the memory a single filter can claim).
pub const MAX_REGEXES: usize = 64;

/// A scalar operand: what a `where` clause compares metadata values with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// A numeric operand of a range operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

/// The test applied to the value stored under one metadata key (`None` when the key is absent).
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Key present with an equal scalar value.
    Eq(Scalar),
    /// Not [`Comparison::Eq`]: also matches a missing key and a list value.
    Ne(Scalar),
    /// Key present with a number (int or float) greater than the operand.
    Gt(Number),
    /// Key present with a number greater than or equal to the operand.
    Gte(Number),
    /// Key present with a number less than the operand.
    Lt(Number),
    /// Key present with a number less than or equal to the operand.
    Lte(Number),
    /// Key present with a scalar value equal to some item. Items are non-empty and of one kind.
    In(Vec<Scalar>),
    /// Not [`Comparison::In`].
    Nin(Vec<Scalar>),
    /// Key present with a list value, some element of which equals the operand.
    Contains(Scalar),
    /// Not [`Comparison::Contains`].
    NotContains(Scalar),
}

/// A parsed `where` filter over metadata; it may also test the document through the `#document` key.
#[derive(Debug, Clone)]
pub enum Where {
    /// True when every child is (an empty `$and` is true).
    And(Vec<Where>),
    /// True when some child is (an empty `$or` is false).
    Or(Vec<Where>),
    /// A test of one metadata key.
    Metadata { key: String, comparison: Comparison },
    /// A `#document` test; always a leaf of [`WhereDocument`], never `$and` / `$or`.
    Document(WhereDocument),
}

/// A parsed `where_document` filter.
#[derive(Debug, Clone)]
pub enum WhereDocument {
    /// True when every child is (an empty `$and` is true).
    And(Vec<WhereDocument>),
    /// True when some child is (an empty `$or` is false).
    Or(Vec<WhereDocument>),
    /// The document exists and contains the text (case-sensitive).
    Contains(String),
    /// Not [`WhereDocument::Contains`]: also matches a record without a document.
    NotContains(String),
    /// The document exists and matches the regex.
    Regex(Regex),
    /// Not [`WhereDocument::Regex`]: also matches a record without a document.
    NotRegex(Regex),
}

/// Parses a `where` filter.
pub fn parse_where(value: &Value) -> Result<Where> {
    Parser::default().where_clause(value, 0)
}

/// Parses a `where_document` filter.
pub fn parse_where_document(value: &Value) -> Result<WhereDocument> {
    Parser::default().document_clause(value, 0)
}

impl Where {
    /// Whether a record passes the filter. `metadata` is None for a record without metadata; `document`
    /// is None for a record without a document.
    pub fn matches(&self, metadata: Option<&Metadata>, document: Option<&str>) -> bool {
        match self {
            Where::And(children) => children.iter().all(|c| c.matches(metadata, document)),
            Where::Or(children) => children.iter().any(|c| c.matches(metadata, document)),
            Where::Metadata { key, comparison } => comparison.matches(metadata.and_then(|m| m.get(key))),
            Where::Document(test) => test.matches(document),
        }
    }

    /// Whether the filter accepts every record without looking at it (an `$and` of nothing, or of such).
    pub fn is_trivially_true(&self) -> bool {
        matches!(self, Where::And(children) if children.iter().all(Where::is_trivially_true))
    }
}

impl WhereDocument {
    /// Whether a record with this document (None: no document) passes the filter.
    pub fn matches(&self, document: Option<&str>) -> bool {
        match self {
            WhereDocument::And(children) => children.iter().all(|c| c.matches(document)),
            WhereDocument::Or(children) => children.iter().any(|c| c.matches(document)),
            WhereDocument::Contains(text) => document.is_some_and(|d| d.contains(text.as_str())),
            WhereDocument::NotContains(text) => !document.is_some_and(|d| d.contains(text.as_str())),
            WhereDocument::Regex(re) => document.is_some_and(|d| re.is_match(d)),
            WhereDocument::NotRegex(re) => !document.is_some_and(|d| re.is_match(d)),
        }
    }
}

impl Comparison {
    /// Whether the value stored under the key (None: key absent or no metadata) passes.
    pub fn matches(&self, value: Option<&MetadataValue>) -> bool {
        // Scalar operators see only scalar values; a list value is as good as absent to them.
        let scalar = value.and_then(scalar_atom);
        let ordering = |operand: &Number| scalar.and_then(Atom::number).and_then(|n| n.compare(*operand));
        match self {
            Comparison::Eq(s) => scalar.is_some_and(|a| a.equals(s.atom())),
            Comparison::Ne(s) => !scalar.is_some_and(|a| a.equals(s.atom())),
            Comparison::Gt(n) => ordering(n) == Some(Ordering::Greater),
            Comparison::Gte(n) => matches!(ordering(n), Some(Ordering::Greater | Ordering::Equal)),
            Comparison::Lt(n) => ordering(n) == Some(Ordering::Less),
            Comparison::Lte(n) => matches!(ordering(n), Some(Ordering::Less | Ordering::Equal)),
            Comparison::In(set) => scalar.is_some_and(|a| set.iter().any(|s| a.equals(s.atom()))),
            Comparison::Nin(set) => !scalar.is_some_and(|a| set.iter().any(|s| a.equals(s.atom()))),
            Comparison::Contains(s) => value.is_some_and(|v| list_contains(v, s.atom())),
            Comparison::NotContains(s) => !value.is_some_and(|v| list_contains(v, s.atom())),
        }
    }
}

impl Number {
    /// Numeric ordering across int and float; int vs int is exact i64 comparison.
    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (Number::Float(a), Number::Float(b)) => a.partial_cmp(&b),
            (Number::Int(a), Number::Float(b)) => int_float_cmp(a, b),
            (Number::Float(a), Number::Int(b)) => int_float_cmp(b, a).map(Ordering::reverse),
        }
    }
}

/// Exact ordering of an i64 against an f64, without rounding the int through f64.
fn int_float_cmp(i: i64, f: f64) -> Option<Ordering> {
    // 2^63 is an exact f64; every f64 in [-2^63, 2^63) truncates to an i64 without saturating.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    match i.cmp(&(whole as i64)) {
        // `f - whole` is exact: the fractional part of `f`, with its sign.
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - whole)),
        unequal => Some(unequal),
    }
}

/// A borrowed scalar, from an operand, a scalar metadata value or one element of a list value.
#[derive(Debug, Clone, Copy)]
enum Atom<'a> {
    Bool(bool),
    Num(Number),
    Str(&'a str),
}

impl<'a> Atom<'a> {
    /// Chroma's equality: numbers compare across int and float; bool and str only within their own type.
    fn equals(self, other: Atom<'_>) -> bool {
        match (self, other) {
            (Atom::Bool(a), Atom::Bool(b)) => a == b,
            (Atom::Num(a), Atom::Num(b)) => a.compare(b) == Some(Ordering::Equal),
            (Atom::Str(a), Atom::Str(b)) => a == b,
            _ => false,
        }
    }

    fn number(self) -> Option<Number> {
        match self {
            Atom::Num(n) => Some(n),
            _ => None,
        }
    }
}

impl Scalar {
    fn atom(&self) -> Atom<'_> {
        match self {
            Scalar::Bool(b) => Atom::Bool(*b),
            Scalar::Int(i) => Atom::Num(Number::Int(*i)),
            Scalar::Float(f) => Atom::Num(Number::Float(*f)),
            Scalar::Str(s) => Atom::Str(s),
        }
    }

    /// Same kind of scalar; int and float are different kinds here (`$in` rejects mixing them).
    fn same_kind(&self, other: &Scalar) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// The scalar view of a metadata value; None for a list.
fn scalar_atom(value: &MetadataValue) -> Option<Atom<'_>> {
    match value {
        MetadataValue::Bool(b) => Some(Atom::Bool(*b)),
        MetadataValue::Int(i) => Some(Atom::Num(Number::Int(*i))),
        MetadataValue::Float(f) => Some(Atom::Num(Number::Float(*f))),
        MetadataValue::Str(s) => Some(Atom::Str(s)),
        _ => None,
    }
}

/// Whether `value` is a list with an element equal to `needle`; false for a scalar value.
fn list_contains(value: &MetadataValue, needle: Atom<'_>) -> bool {
    match value {
        MetadataValue::BoolList(items) => items.iter().any(|b| Atom::Bool(*b).equals(needle)),
        MetadataValue::IntList(items) => items.iter().any(|i| Atom::Num(Number::Int(*i)).equals(needle)),
        MetadataValue::FloatList(items) => items.iter().any(|f| Atom::Num(Number::Float(*f)).equals(needle)),
        MetadataValue::StrList(items) => items.iter().any(|s| Atom::Str(s).equals(needle)),
        _ => false,
    }
}

/// A document operator, as named in JSON.
#[derive(Clone, Copy)]
enum DocumentOp {
    Contains,
    NotContains,
    Regex,
    NotRegex,
}

impl DocumentOp {
    fn from_name(name: &str) -> Option<DocumentOp> {
        match name {
            "$contains" => Some(DocumentOp::Contains),
            "$not_contains" => Some(DocumentOp::NotContains),
            "$regex" => Some(DocumentOp::Regex),
            "$not_regex" => Some(DocumentOp::NotRegex),
            _ => None,
        }
    }
}

/// Parsing state shared across one filter: how many regexes it has compiled so far.
#[derive(Default)]
struct Parser {
    regexes: usize,
}

impl Parser {
    /// `depth` is the number of `$and` / `$or` levels enclosing `value`.
    fn where_clause(&mut self, value: &Value, depth: usize) -> Result<Where> {
        let (key, inner) = single_entry(value)
            .ok_or_else(|| Error::invalid(format!("Expected where to have exactly one operator, got {value}")))?;
        match key {
            "$and" | "$or" => {
                let items = inner.as_array().ok_or_else(|| {
                    Error::invalid(format!(
                        "Expected where value for $and or $or to be a list of where expressions, got {inner}"
                    ))
                })?;
                let depth = enter(depth)?;
                let children = items.iter().map(|c| self.where_clause(c, depth)).collect::<Result<Vec<_>>>()?;
                Ok(if key == "$and" { Where::And(children) } else { Where::Or(children) })
            }
            "#document" => self.document_field(inner).map(Where::Document),
            _ if key.starts_with('$') || key.starts_with('#') => Err(Error::invalid(format!(
                "Expected where key to be a metadata field name or a logical operator ($and, $or), got {key}"
            ))),
            _ => Ok(Where::Metadata { key: key.to_owned(), comparison: comparison(inner)? }),
        }
    }

    /// The value under the `#document` key of a where: `{op: str}` with a document operator.
    fn document_field(&mut self, value: &Value) -> Result<WhereDocument> {
        if !value.is_object() {
            return Err(Error::invalid(format!(
                "Expected where value for #document to be an operator expression with $contains, $not_contains, $regex or $not_regex, got {value}"
            )));
        }
        let (op, operand) = single_entry(value).ok_or_else(|| {
            Error::invalid(format!("Expected operator expression to have exactly one operator, got {value}"))
        })?;
        let doc_op = DocumentOp::from_name(op).ok_or_else(|| {
            Error::invalid(format!(
                "Expected where operator for #document to be one of $contains, $not_contains, $regex, $not_regex, got {op}"
            ))
        })?;
        let pattern = operand.as_str().ok_or_else(|| {
            Error::invalid(format!("Expected operand value to be a str for operator {op} on #document, got {operand}"))
        })?;
        self.document_leaf(doc_op, pattern)
    }

    /// `depth` is the number of `$and` / `$or` levels enclosing `value`.
    fn document_clause(&mut self, value: &Value, depth: usize) -> Result<WhereDocument> {
        let (op, operand) = single_entry(value).ok_or_else(|| {
            Error::invalid(format!("Expected where document to have exactly one operator, got {value}"))
        })?;
        if op == "$and" || op == "$or" {
            let items = operand.as_array().ok_or_else(|| {
                Error::invalid(format!(
                    "Expected where document value for $and or $or to be a list of where document expressions, got {operand}"
                ))
            })?;
            let depth = enter(depth)?;
            let children = items.iter().map(|c| self.document_clause(c, depth)).collect::<Result<Vec<_>>>()?;
            return Ok(if op == "$and" { WhereDocument::And(children) } else { WhereDocument::Or(children) });
        }
        let doc_op = DocumentOp::from_name(op).ok_or_else(|| {
            Error::invalid(format!(
                "Expected where document operator to be one of $contains, $not_contains, $regex, $not_regex, $and, $or, got {op}"
            ))
        })?;
        let pattern = operand.as_str().ok_or_else(|| {
            Error::invalid(format!(
                "Expected where document operand value for operator {op} to be a str, got {operand}"
            ))
        })?;
        self.document_leaf(doc_op, pattern)
    }

    fn document_leaf(&mut self, op: DocumentOp, pattern: &str) -> Result<WhereDocument> {
        Ok(match op {
            DocumentOp::Contains => WhereDocument::Contains(pattern.to_owned()),
            DocumentOp::NotContains => WhereDocument::NotContains(pattern.to_owned()),
            DocumentOp::Regex => WhereDocument::Regex(self.regex(pattern)?),
            DocumentOp::NotRegex => WhereDocument::NotRegex(self.regex(pattern)?),
        })
    }

    fn regex(&mut self, pattern: &str) -> Result<Regex> {
        if self.regexes >= MAX_REGEXES {
            return Err(Error::invalid(format!("Filter has too many regular expressions (limit {MAX_REGEXES})")));
        }
        self.regexes += 1;
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| Error::invalid(format!("Regex syntax errror: {e}")))
    }
}

/// The depth inside one more `$and` / `$or` level, or an error past [`MAX_DEPTH`].
fn enter(depth: usize) -> Result<usize> {
    if depth >= MAX_DEPTH {
        return Err(Error::invalid(format!("Filter nesting is too deep (limit {MAX_DEPTH})")));
    }
    Ok(depth + 1)
}

/// The only entry of a one-entry JSON object.
fn single_entry(value: &Value) -> Option<(&str, &Value)> {
    match value.as_object() {
        Some(map) if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

/// The value under a metadata key of a where: a literal (shorthand for `$eq`) or `{op: operand}`.
fn comparison(value: &Value) -> Result<Comparison> {
    if !value.is_object() {
        return Ok(Comparison::Eq(scalar(value)?));
    }
    let (op, operand) = single_entry(value).ok_or_else(|| {
        Error::invalid(format!("Expected operator expression to have exactly one operator, got {value}"))
    })?;
    match op {
        "$eq" => Ok(Comparison::Eq(scalar(operand)?)),
        "$ne" => Ok(Comparison::Ne(scalar(operand)?)),
        "$gt" | "$gte" | "$lt" | "$lte" => {
            let n = json_number(operand).ok_or_else(|| {
                Error::invalid(format!("Expected operand value to be an int or a float for operator {op}, got {operand}"))
            })?;
            Ok(match op {
                "$gt" => Comparison::Gt(n),
                "$gte" => Comparison::Gte(n),
                "$lt" => Comparison::Lt(n),
                _ => Comparison::Lte(n),
            })
        }
        "$in" | "$nin" => {
            let set = scalar_set(op, operand)?;
            Ok(if op == "$in" { Comparison::In(set) } else { Comparison::Nin(set) })
        }
        "$contains" | "$not_contains" => {
            let s = json_scalar(operand).ok_or_else(|| {
                Error::invalid(format!(
                    "Expected operand value to be a str, int, float, or bool for operator {op}, got {operand}"
                ))
            })?;
            Ok(if op == "$contains" { Comparison::Contains(s) } else { Comparison::NotContains(s) })
        }
        _ => Err(Error::invalid(format!(
            "Expected where operator to be one of $gt, $gte, $lt, $lte, $ne, $eq, $in, $nin, $contains, $not_contains, got {op}"
        ))),
    }
}

/// The operand of `$in` / `$nin`: a non-empty list of scalars of one kind (ints and floats do not mix).
fn scalar_set(op: &str, operand: &Value) -> Result<Vec<Scalar>> {
    let items = operand.as_array().ok_or_else(|| {
        Error::invalid(format!("Expected operand value to be an list for operator {op}, got {operand}"))
    })?;
    let set = items.iter().map(scalar).collect::<Result<Vec<_>>>()?;
    let homogeneous = set.first().is_some_and(|first| set.iter().all(|s| s.same_kind(first)));
    if !homogeneous {
        return Err(Error::invalid(format!(
            "Expected where operand value to be a non-empty list, and all values to be of the same type got {operand}"
        )));
    }
    Ok(set)
}

fn scalar(value: &Value) -> Result<Scalar> {
    json_scalar(value).ok_or_else(|| {
        Error::invalid(format!("Expected where operand value to be a str, int, float, or bool, got {value}"))
    })
}

fn json_scalar(value: &Value) -> Option<Scalar> {
    match value {
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::String(s) => Some(Scalar::Str(s.clone())),
        Value::Number(_) => match json_number(value)? {
            Number::Int(i) => Some(Scalar::Int(i)),
            Number::Float(f) => Some(Scalar::Float(f)),
        },
        _ => None,
    }
}

/// A JSON integer that fits i64 is an int; any other number (fraction, exponent, beyond i64) a float.
fn json_number(value: &Value) -> Option<Number> {
    let n = match value {
        Value::Number(n) => n,
        _ => return None,
    };
    match n.as_i64() {
        Some(i) => Some(Number::Int(i)),
        None => n.as_f64().filter(|f| !f.is_nan()).map(Number::Float),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::parse_metadata;
    use serde_json::json;

    fn md(v: Value) -> Metadata {
        parse_metadata(&v).unwrap()
    }

    fn w(v: Value) -> Where {
        parse_where(&v).unwrap()
    }

    fn wd(v: Value) -> WhereDocument {
        parse_where_document(&v).unwrap()
    }

    fn where_err(v: Value) -> String {
        parse_where(&v).unwrap_err().to_string()
    }

    fn doc_err(v: Value) -> String {
        parse_where_document(&v).unwrap_err().to_string()
    }

    /// Whether the where filter `f` matches metadata `m` (no document).
    fn hit(f: Value, m: Value) -> bool {
        w(f).matches(Some(&md(m)), None)
    }

    #[test]
    fn eq_within_and_across_types() {
        assert!(hit(json!({"a": "x"}), json!({"a": "x"})));
        assert!(!hit(json!({"a": "x"}), json!({"a": "y"})));
        assert!(hit(json!({"a": {"$eq": true}}), json!({"a": true})));
        assert!(!hit(json!({"a": true}), json!({"a": false})));
        assert!(hit(json!({"a": 1}), json!({"a": 1.0})));
        assert!(hit(json!({"a": 1.0}), json!({"a": 1})));
        assert!(!hit(json!({"a": 1.5}), json!({"a": 1})));
        assert!(!hit(json!({"a": 1}), json!({"a": true})));
        assert!(!hit(json!({"a": true}), json!({"a": 1})));
        assert!(!hit(json!({"a": "1"}), json!({"a": 1})));
        assert!(!hit(json!({"a": 1}), json!({"b": 1})));
        assert!(!w(json!({"a": 1})).matches(None, Some("doc")));
        // Ints near i64::MAX are not rounded through f64.
        assert!(!hit(json!({"a": i64::MAX}), json!({"a": i64::MAX - 1})));
        assert!(!hit(json!({"a": 9007199254740993_i64}), json!({"a": 9007199254740992.0})));
    }

    #[test]
    fn scalar_ops_ignore_lists() {
        assert!(!hit(json!({"tags": "a"}), json!({"tags": ["a"]})));
        assert!(!hit(json!({"n": {"$eq": 1}}), json!({"n": [1]})));
        assert!(hit(json!({"tags": {"$ne": "a"}}), json!({"tags": ["a"]})));
        assert!(!hit(json!({"n": {"$gte": 0}}), json!({"n": [1]})));
        assert!(!hit(json!({"tags": {"$in": ["a"]}}), json!({"tags": ["a"]})));
        assert!(hit(json!({"tags": {"$nin": ["a"]}}), json!({"tags": ["a"]})));
    }

    #[test]
    fn ne_matches_missing_key_and_missing_metadata() {
        let f = w(json!({"a": {"$ne": 1}}));
        assert!(f.matches(Some(&md(json!({"a": 2}))), None));
        assert!(!f.matches(Some(&md(json!({"a": 1.0}))), None));
        assert!(f.matches(Some(&md(json!({"b": 1}))), None));
        assert!(f.matches(Some(&Metadata::new()), None));
        assert!(f.matches(None, None));
        assert!(hit(json!({"a": {"$ne": "1"}}), json!({"a": 1})));
    }

    #[test]
    fn range_operators() {
        let m = json!({"i": 5, "f": 2.5, "s": "z", "b": true});
        assert!(hit(json!({"i": {"$gt": 4}}), m.clone()));
        assert!(!hit(json!({"i": {"$gt": 5}}), m.clone()));
        assert!(hit(json!({"i": {"$gte": 5}}), m.clone()));
        assert!(hit(json!({"i": {"$gte": 4.5}}), m.clone()));
        assert!(hit(json!({"i": {"$lt": 5.5}}), m.clone()));
        assert!(!hit(json!({"i": {"$lt": 5.0}}), m.clone()));
        assert!(hit(json!({"i": {"$lte": 5.0}}), m.clone()));
        assert!(hit(json!({"f": {"$gt": 2}}), m.clone()));
        assert!(!hit(json!({"f": {"$lte": 2}}), m.clone()));
        assert!(hit(json!({"f": {"$lte": 2.5}}), m.clone()));
        assert!(!hit(json!({"s": {"$gt": 0}}), m.clone()));
        assert!(!hit(json!({"b": {"$gte": 0}}), m.clone()));
        assert!(!hit(json!({"missing": {"$lt": 100}}), m.clone()));
        assert!(!w(json!({"i": {"$lt": 100}})).matches(None, None));
        // Exact int comparison at the edge of f64 precision.
        assert!(hit(json!({"i": {"$gt": i64::MAX - 1}}), json!({"i": i64::MAX})));
        assert!(!hit(json!({"i": {"$lt": i64::MAX}}), json!({"i": i64::MAX})));
        assert!(hit(json!({"i": {"$lt": 9.3e18}}), json!({"i": i64::MAX})));
        assert!(hit(json!({"i": {"$gt": -9.3e18}}), json!({"i": i64::MIN})));
        assert!(hit(json!({"i": {"$gt": -1.5}}), json!({"i": -1})));
        assert!(!hit(json!({"i": {"$gt": -0.5}}), json!({"i": -1})));
    }

    #[test]
    fn int_float_ordering_is_exact() {
        use Ordering::*;
        let cases: [(i64, f64, Ordering); 9] = [
            (1, 1.0, Equal),
            (1, 1.5, Less),
            (-1, -1.5, Greater),
            (0, -0.0, Equal),
            (i64::MAX, 9_223_372_036_854_775_808.0, Less),
            (i64::MIN, -9_223_372_036_854_775_808.0, Equal),
            (i64::MIN, f64::NEG_INFINITY, Greater),
            (9_007_199_254_740_993, 9_007_199_254_740_992.0, Greater),
            (3, f64::INFINITY, Less),
        ];
        for (i, f, expected) in cases {
            assert_eq!(Number::Int(i).compare(Number::Float(f)), Some(expected), "{i} vs {f}");
            assert_eq!(Number::Float(f).compare(Number::Int(i)), Some(expected.reverse()), "{f} vs {i}");
        }
        assert_eq!(Number::Int(1).compare(Number::Float(f64::NAN)), None);
    }

    #[test]
    fn range_operand_must_be_a_number() {
        for operand in [json!("3"), json!(true), json!([1]), json!(null), json!({"x": 1})] {
            assert_eq!(
                where_err(json!({"a": {"$gt": operand.clone()}})),
                format!("Expected operand value to be an int or a float for operator $gt, got {operand}")
            );
        }
        assert!(where_err(json!({"a": {"$lte": "x"}})).ends_with("for operator $lte, got \"x\""));
    }

    #[test]
    fn in_and_nin() {
        let m = json!({"s": "b", "i": 2, "f": 2.0, "b": false});
        assert!(hit(json!({"s": {"$in": ["a", "b"]}}), m.clone()));
        assert!(!hit(json!({"s": {"$in": ["a", "c"]}}), m.clone()));
        assert!(hit(json!({"i": {"$in": [1, 2]}}), m.clone()));
        assert!(hit(json!({"i": {"$in": [1.0, 2.0]}}), m.clone()));
        assert!(hit(json!({"f": {"$in": [2, 3]}}), m.clone()));
        assert!(hit(json!({"b": {"$in": [false]}}), m.clone()));
        assert!(!hit(json!({"b": {"$in": [0]}}), m.clone()));
        assert!(!hit(json!({"i": {"$in": ["2"]}}), m.clone()));
        assert!(!hit(json!({"x": {"$in": ["a"]}}), m.clone()));
        assert!(!hit(json!({"s": {"$nin": ["a", "b"]}}), m.clone()));
        assert!(hit(json!({"s": {"$nin": ["a"]}}), m.clone()));
        assert!(hit(json!({"x": {"$nin": ["a"]}}), m.clone()));
        assert!(w(json!({"x": {"$nin": [1]}})).matches(None, None));
        assert!(!w(json!({"x": {"$in": [1]}})).matches(None, None));
    }

    #[test]
    fn in_rejects_empty_mixed_and_non_lists() {
        let mixed = |v: Value| {
            format!(
                "Expected where operand value to be a non-empty list, and all values to be of the same type got {v}"
            )
        };
        assert_eq!(where_err(json!({"a": {"$in": [1, 2.5]}})), mixed(json!([1, 2.5])));
        assert_eq!(where_err(json!({"a": {"$nin": [2.5, 1]}})), mixed(json!([2.5, 1])));
        assert_eq!(where_err(json!({"a": {"$in": ["x", 1]}})), mixed(json!(["x", 1])));
        assert_eq!(where_err(json!({"a": {"$in": [true, 1]}})), mixed(json!([true, 1])));
        assert_eq!(where_err(json!({"a": {"$in": []}})), mixed(json!([])));
        assert_eq!(
            where_err(json!({"a": {"$in": "x"}})),
            "Expected operand value to be an list for operator $in, got \"x\""
        );
        assert_eq!(
            where_err(json!({"a": {"$nin": 3}})),
            "Expected operand value to be an list for operator $nin, got 3"
        );
        assert_eq!(
            where_err(json!({"a": {"$in": [null]}})),
            "Expected where operand value to be a str, int, float, or bool, got null"
        );
        assert_eq!(
            where_err(json!({"a": {"$in": [[1]]}})),
            "Expected where operand value to be a str, int, float, or bool, got [1]"
        );
    }

    #[test]
    fn contains_on_metadata_is_array_membership() {
        let m = json!({"s": ["a", "b"], "i": [1, 2], "f": [1.5, 3.0], "b": [true], "scalar": "abc"});
        assert!(hit(json!({"s": {"$contains": "a"}}), m.clone()));
        assert!(!hit(json!({"s": {"$contains": "c"}}), m.clone()));
        assert!(hit(json!({"i": {"$contains": 2}}), m.clone()));
        assert!(hit(json!({"i": {"$contains": 2.0}}), m.clone()));
        assert!(hit(json!({"f": {"$contains": 3}}), m.clone()));
        assert!(!hit(json!({"f": {"$contains": 1}}), m.clone()));
        assert!(hit(json!({"b": {"$contains": true}}), m.clone()));
        assert!(!hit(json!({"b": {"$contains": 1}}), m.clone()));
        assert!(!hit(json!({"s": {"$contains": 1}}), m.clone()));
        assert!(!hit(json!({"scalar": {"$contains": "abc"}}), m.clone()));
        assert!(!hit(json!({"scalar": {"$contains": "a"}}), m.clone()));
        assert!(!hit(json!({"missing": {"$contains": "a"}}), m.clone()));
        assert!(!hit(json!({"s": {"$not_contains": "a"}}), m.clone()));
        assert!(hit(json!({"s": {"$not_contains": "c"}}), m.clone()));
        assert!(hit(json!({"scalar": {"$not_contains": "abc"}}), m.clone()));
        assert!(hit(json!({"missing": {"$not_contains": "a"}}), m.clone()));
        assert!(w(json!({"s": {"$not_contains": "a"}})).matches(None, None));
        for operand in [json!(["a"]), json!(null), json!({"a": 1})] {
            assert_eq!(
                where_err(json!({"s": {"$contains": operand.clone()}})),
                format!(
                    "Expected operand value to be a str, int, float, or bool for operator $contains, got {operand}"
                )
            );
        }
        assert!(where_err(json!({"s": {"$not_contains": []}})).contains("for operator $not_contains, got []"));
    }

    #[test]
    fn document_key_in_where() {
        let f = w(json!({"#document": {"$contains": "cat"}}));
        assert!(f.matches(None, Some("a cat")));
        assert!(!f.matches(None, Some("a Cat")));
        assert!(!f.matches(None, None));
        let f = w(json!({"#document": {"$not_contains": "cat"}}));
        assert!(!f.matches(None, Some("a cat")));
        assert!(f.matches(None, Some("a dog")));
        assert!(f.matches(None, None));
        let f = w(json!({"#document": {"$regex": "(?i)^a c"}}));
        assert!(f.matches(None, Some("A Cat")));
        assert!(!f.matches(None, None));
        let f = w(json!({"#document": {"$not_regex": "^a"}}));
        assert!(!f.matches(None, Some("abc")));
        assert!(f.matches(None, Some("bc")));
        assert!(f.matches(None, None));
        // test_regex: a metadata $ne combined with a document regex.
        let f = w(json!({"$and": [{"k": {"$ne": 1}}, {"#document": {"$regex": "(?i)c(?-i)at"}}]}));
        assert!(f.matches(None, Some("Cat")));
        assert!(!f.matches(None, Some("CAT")));
        assert!(!f.matches(Some(&md(json!({"k": 1}))), Some("Cat")));
    }

    #[test]
    fn document_key_errors() {
        assert_eq!(
            where_err(json!({"#document": {"$contains": 1}})),
            "Expected operand value to be a str for operator $contains on #document, got 1"
        );
        assert_eq!(
            where_err(json!({"#document": {"$regex": ["x"]}})),
            "Expected operand value to be a str for operator $regex on #document, got [\"x\"]"
        );
        assert_eq!(
            where_err(json!({"#document": {"$eq": "x"}})),
            "Expected where operator for #document to be one of $contains, $not_contains, $regex, $not_regex, got $eq"
        );
        assert!(where_err(json!({"#document": "x"})).starts_with("Expected where value for #document"));
        assert!(where_err(json!({"#document": {"$regex": "("}})).starts_with("Regex syntax errror: "));
        assert_eq!(
            where_err(json!({"#document": {"$contains": "a", "$regex": "b"}})),
            "Expected operator expression to have exactly one operator, got {\"$contains\":\"a\",\"$regex\":\"b\"}"
        );
        // $regex is a document-only operator.
        assert_eq!(
            where_err(json!({"a": {"$regex": "x"}})),
            "Expected where operator to be one of $gt, $gte, $lt, $lte, $ne, $eq, $in, $nin, $contains, $not_contains, got $regex"
        );
    }

    #[test]
    fn logical_operators() {
        let m = json!({"a": 1, "b": "x"});
        assert!(hit(json!({"$and": [{"a": 1}, {"b": "x"}]}), m.clone()));
        assert!(!hit(json!({"$and": [{"a": 1}, {"b": "y"}]}), m.clone()));
        assert!(hit(json!({"$or": [{"a": 2}, {"b": "x"}]}), m.clone()));
        assert!(!hit(json!({"$or": [{"a": 2}, {"b": "y"}]}), m.clone()));
        assert!(hit(json!({"$and": [{"a": 1}]}), m.clone()));
        assert!(hit(json!({"$or": [{"a": 1}]}), m.clone()));
        assert!(hit(json!({"$and": []}), m.clone()));
        assert!(!hit(json!({"$or": []}), m.clone()));
        assert!(hit(json!({"$or": [{"$and": [{"a": {"$gt": 0}}, {"b": {"$in": ["x"]}}]}, {"a": 7}]}), m));
        assert!(w(json!({"$and": []})).matches(None, None));
        assert!(!w(json!({"$or": []})).matches(None, None));
    }

    #[test]
    fn trivially_true() {
        assert!(w(json!({"$and": []})).is_trivially_true());
        assert!(w(json!({"$and": [{"$and": []}]})).is_trivially_true());
        assert!(!w(json!({"$or": []})).is_trivially_true());
        assert!(!w(json!({"$and": [{"a": 1}]})).is_trivially_true());
    }

    #[test]
    fn where_shape_errors() {
        for bad in [json!({}), json!({"a": 1, "b": 2}), json!([]), json!("a"), json!(null)] {
            assert_eq!(where_err(bad.clone()), format!("Expected where to have exactly one operator, got {bad}"));
        }
        assert_eq!(where_err(json!({"$and": [{"a": 1}, 3]})), "Expected where to have exactly one operator, got 3");
        assert_eq!(
            where_err(json!({"$and": {"a": 1}})),
            "Expected where value for $and or $or to be a list of where expressions, got {\"a\":1}"
        );
        assert_eq!(
            where_err(json!({"$or": "x"})),
            "Expected where value for $and or $or to be a list of where expressions, got \"x\""
        );
        for key in ["$contains", "$not_contains", "$eq", "$nor", "#meta", "#id"] {
            assert_eq!(
                where_err(json!({key: "x"})),
                format!("Expected where key to be a metadata field name or a logical operator ($and, $or), got {key}")
            );
        }
        assert_eq!(
            where_err(json!({"a": {"$gt": 1, "$lt": 5}})),
            "Expected operator expression to have exactly one operator, got {\"$gt\":1,\"$lt\":5}"
        );
        assert_eq!(where_err(json!({"a": {}})), "Expected operator expression to have exactly one operator, got {}");
        assert_eq!(
            where_err(json!({"a": {"$between": [1, 2]}})),
            "Expected where operator to be one of $gt, $gte, $lt, $lte, $ne, $eq, $in, $nin, $contains, $not_contains, got $between"
        );
        for literal in [json!(null), json!([1, 2]), json!(["a"])] {
            assert_eq!(
                where_err(json!({"a": literal.clone()})),
                format!("Expected where operand value to be a str, int, float, or bool, got {literal}")
            );
        }
        for operand in [json!(null), json!([1]), json!({"b": 1})] {
            for op in ["$eq", "$ne"] {
                assert_eq!(
                    where_err(json!({"a": {op: operand.clone()}})),
                    format!("Expected where operand value to be a str, int, float, or bool, got {operand}")
                );
            }
        }
    }

    #[test]
    fn numbers_beyond_i64_are_floats() {
        let big = json!({"a": 18446744073709551615_u64});
        let f = w(big);
        assert!(matches!(f, Where::Metadata { comparison: Comparison::Eq(Scalar::Float(_)), .. }));
        assert!(f.matches(Some(&md(json!({"a": 18446744073709551615.0}))), None));
        assert!(hit(json!({"a": {"$gt": 18446744073709551615_u64}}), json!({"a": 1e20})));
        assert!(hit(json!({"a": {"$lt": 18446744073709551615_u64}}), json!({"a": i64::MAX})));
        assert_eq!(
            where_err(json!({"a": {"$in": [1, 18446744073709551615_u64]}})),
            "Expected where operand value to be a non-empty list, and all values to be of the same type got [1,18446744073709551615]"
        );
    }

    #[test]
    fn where_document_operators() {
        let contains = wd(json!({"$contains": "cat"}));
        assert!(contains.matches(Some("the cat sat")));
        assert!(!contains.matches(Some("the Cat sat")));
        assert!(!contains.matches(None));
        let not_contains = wd(json!({"$not_contains": "cat"}));
        assert!(!not_contains.matches(Some("cat")));
        assert!(not_contains.matches(Some("dog")));
        assert!(not_contains.matches(None));
        // Special characters are literal.
        assert!(wd(json!({"$contains": "%_\\"})).matches(Some("a%_\\b")));
        assert!(!wd(json!({"$contains": "%"})).matches(Some("abc")));
        let empty = wd(json!({"$contains": ""}));
        assert!(empty.matches(Some("")));
        assert!(empty.matches(Some("anything")));
        assert!(!empty.matches(None));
        assert!(!wd(json!({"$not_contains": ""})).matches(Some("x")));
        assert!(wd(json!({"$not_contains": ""})).matches(None));
    }

    #[test]
    fn where_document_regex() {
        let docs = ["cat", "Cat", "CAT", "dog"];
        let hits = |pattern: &str| -> Vec<&str> {
            let f = wd(json!({"$regex": pattern}));
            docs.iter().copied().filter(|d| f.matches(Some(d))).collect()
        };
        assert_eq!(hits("cat"), ["cat"]);
        assert_eq!(hits("(?i)cat"), ["cat", "Cat", "CAT"]);
        assert_eq!(hits("(?i)c(?-i)at"), ["cat", "Cat"]);
        assert_eq!(hits("^[a-z]+$"), ["cat", "dog"]);
        assert!(!wd(json!({"$regex": ".*"})).matches(None));
        let not_regex = wd(json!({"$not_regex": "(?i)cat"}));
        assert!(!not_regex.matches(Some("CAT")));
        assert!(not_regex.matches(Some("dog")));
        assert!(not_regex.matches(None));
    }

    #[test]
    fn invalid_and_hostile_regexes_error_cleanly() {
        for pattern in ["(", "[a-", "a{2,1}", "(?<=a)b", "\\"] {
            let err = doc_err(json!({"$regex": pattern}));
            assert!(err.starts_with("Regex syntax errror: "), "{pattern}: {err}");
            assert!(err.len() > "Regex syntax errror: ".len());
        }
        for pattern in ["\\w{1000}{1000}", "(\\w{200}){200}", "((a{100}){100}){100}"] {
            let err = doc_err(json!({"$not_regex": pattern}));
            assert!(err.starts_with("Regex syntax errror: "), "{pattern}: {err}");
        }
        let deep_parens = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(doc_err(json!({"$regex": deep_parens})).starts_with("Regex syntax errror: "));
    }

    #[test]
    fn regex_count_is_limited() {
        let clauses = |n: usize| json!({"$or": (0..n).map(|i| json!({"$regex": format!("x{i}")})).collect::<Vec<_>>()});
        assert!(parse_where_document(&clauses(MAX_REGEXES)).is_ok());
        assert_eq!(doc_err(clauses(MAX_REGEXES + 1)), "Filter has too many regular expressions (limit 64)");
        let in_where = json!({"$and": (0..=MAX_REGEXES)
            .map(|i| json!({"#document": {"$not_regex": format!("y{i}")}}))
            .collect::<Vec<_>>()});
        assert_eq!(where_err(in_where), "Filter has too many regular expressions (limit 64)");
    }

    #[test]
    fn where_document_logical() {
        let f = wd(json!({"$and": [{"$contains": "a"}, {"$or": [{"$contains": "b"}, {"$regex": "c$"}]}]}));
        assert!(f.matches(Some("ab")));
        assert!(f.matches(Some("ac")));
        assert!(!f.matches(Some("ca")));
        assert!(!f.matches(None));
        assert!(wd(json!({"$and": []})).matches(None));
        assert!(!wd(json!({"$or": []})).matches(Some("x")));
        assert!(wd(json!({"$or": [{"$not_contains": "x"}]})).matches(None));
    }

    #[test]
    fn where_document_errors() {
        for bad in [json!({}), json!({"$contains": "a", "$regex": "b"}), json!("a"), json!([{"$contains": "a"}])] {
            assert_eq!(
                doc_err(bad.clone()),
                format!("Expected where document to have exactly one operator, got {bad}")
            );
        }
        assert_eq!(
            doc_err(json!({"$eq": "a"})),
            "Expected where document operator to be one of $contains, $not_contains, $regex, $not_regex, $and, $or, got $eq"
        );
        assert_eq!(
            doc_err(json!({"$contains": 1})),
            "Expected where document operand value for operator $contains to be a str, got 1"
        );
        assert_eq!(
            doc_err(json!({"$not_regex": null})),
            "Expected where document operand value for operator $not_regex to be a str, got null"
        );
        assert_eq!(
            doc_err(json!({"$or": {"$contains": "a"}})),
            "Expected where document value for $and or $or to be a list of where document expressions, got {\"$contains\":\"a\"}"
        );
        assert_eq!(
            doc_err(json!({"$and": [{"$contains": "a"}, {"x": "a"}]})),
            "Expected where document operator to be one of $contains, $not_contains, $regex, $not_regex, $and, $or, got x"
        );
    }

    /// `levels` nested `op` lists around `leaf`.
    fn nest(op: &str, levels: usize, leaf: Value) -> Value {
        // Built by hand: `json!` would serialize `inner` again at every level.
        (0..levels)
            .fold(leaf, |inner, _| Value::Object(std::iter::once((op.to_owned(), Value::Array(vec![inner]))).collect()))
    }

    #[test]
    fn nesting_depth_is_limited() {
        let leaf = json!({"a": 1});
        assert!(parse_where(&nest("$and", MAX_DEPTH, leaf.clone())).is_ok());
        assert!(parse_where(&nest("$or", MAX_DEPTH, json!({"$and": []}))).is_err());
        assert_eq!(where_err(nest("$and", MAX_DEPTH + 1, leaf.clone())), "Filter nesting is too deep (limit 64)");
        assert_eq!(where_err(nest("$or", 1000, leaf)), "Filter nesting is too deep (limit 64)");
        let doc_leaf = json!({"$contains": "a"});
        assert!(parse_where_document(&nest("$or", MAX_DEPTH, doc_leaf.clone())).is_ok());
        assert_eq!(doc_err(nest("$and", MAX_DEPTH + 1, doc_leaf.clone())), "Filter nesting is too deep (limit 64)");
        assert_eq!(doc_err(nest("$and", 1000, doc_leaf)), "Filter nesting is too deep (limit 64)");
        let deep = w(nest("$and", MAX_DEPTH, json!({"a": 1})));
        assert!(deep.matches(Some(&md(json!({"a": 1}))), None));
    }

    // ---- Property test: random filters against a naive evaluator that works on JSON directly. ----

    /// xorshift64: a tiny deterministic generator.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn chance(&mut self, numerator: usize, denominator: usize) -> bool {
            self.below(denominator) < numerator
        }

        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())].clone()
        }
    }

    const KEYS: [&str; 4] = ["a", "b", "c", "d"];
    const STRS: [&str; 3] = ["x", "y", ""];
    const INTS: [i64; 5] = [-2, 0, 1, 2, 3];
    const FLOATS: [f64; 5] = [-2.0, 0.5, 1.0, 2.0, 2.5];
    const SUBSTRINGS: [&str; 5] = ["a", "A", "ab", "", " "];
    const PATTERNS: [&str; 4] = ["^a", "b$", "(?i)ab", "a(?i)b"];

    /// Kind 0..4: bool, int, float, str.
    fn random_scalar(rng: &mut Rng, kind: usize) -> Value {
        match kind {
            0 => json!(rng.chance(1, 2)),
            1 => json!(rng.pick(&INTS)),
            2 => json!(rng.pick(&FLOATS)),
            _ => json!(rng.pick(&STRS)),
        }
    }

    fn random_metadata(rng: &mut Rng) -> Option<Value> {
        if rng.chance(1, 8) {
            return None;
        }
        let mut map = serde_json::Map::new();
        for key in &KEYS[..3] {
            if rng.chance(2, 3) {
                let kind = rng.below(4);
                let value = if rng.chance(1, 3) {
                    Value::Array((0..1 + rng.below(3)).map(|_| random_scalar(rng, kind)).collect())
                } else {
                    random_scalar(rng, kind)
                };
                map.insert(key.to_string(), value);
            }
        }
        Some(Value::Object(map))
    }

    fn random_document(rng: &mut Rng) -> Option<String> {
        if rng.chance(1, 5) {
            return None;
        }
        Some((0..rng.below(6)).map(|_| rng.pick(&['a', 'b', 'A', 'B', ' '])).collect())
    }

    fn random_doc_leaf(rng: &mut Rng) -> Value {
        let op = rng.pick(&["$contains", "$not_contains", "$regex", "$not_regex"]);
        let operand = if op.ends_with("regex") { rng.pick(&PATTERNS) } else { rng.pick(&SUBSTRINGS) };
        json!({op: operand})
    }

    fn random_where(rng: &mut Rng, depth: usize) -> Value {
        if depth > 0 && rng.chance(1, 3) {
            let op = rng.pick(&["$and", "$or"]);
            let children: Vec<Value> = (0..rng.below(4)).map(|_| random_where(rng, depth - 1)).collect();
            return json!({op: children});
        }
        if rng.chance(1, 8) {
            return json!({"#document": random_doc_leaf(rng)});
        }
        let key = rng.pick(&KEYS);
        let kind = rng.below(4);
        let expr = match rng.below(10) {
            0 => random_scalar(rng, kind),
            1 => json!({"$eq": random_scalar(rng, kind)}),
            2 => json!({"$ne": random_scalar(rng, kind)}),
            3 | 4 => {
                let op = rng.pick(&["$gt", "$gte", "$lt", "$lte"]);
                let numeric_kind = 1 + rng.below(2);
                json!({op: random_scalar(rng, numeric_kind)})
            }
            5 | 6 => {
                let op = rng.pick(&["$in", "$nin"]);
                let items: Vec<Value> = (0..1 + rng.below(3)).map(|_| random_scalar(rng, kind)).collect();
                json!({op: items})
            }
            _ => json!({rng.pick(&["$contains", "$not_contains"]): random_scalar(rng, kind)}),
        };
        json!({key: expr})
    }

    fn random_where_document(rng: &mut Rng, depth: usize) -> Value {
        if depth > 0 && rng.chance(1, 3) {
            let op = rng.pick(&["$and", "$or"]);
            let children: Vec<Value> = (0..rng.below(4)).map(|_| random_where_document(rng, depth - 1)).collect();
            return json!({op: children});
        }
        random_doc_leaf(rng)
    }

    /// Reference equality on JSON scalars: numbers by value, other types only within their own type.
    fn ref_eq(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::String(x), Value::String(y)) => x == y,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            _ => false,
        }
    }

    fn ref_document(op: &str, operand: &str, doc: Option<&str>) -> bool {
        let Some(d) = doc else {
            return op.starts_with("$not");
        };
        let positive = match operand {
            "^a" => d.starts_with('a'),
            "b$" => d.ends_with('b'),
            "(?i)ab" => d.to_lowercase().contains("ab"),
            "a(?i)b" => d.contains("ab") || d.contains("aB"),
            text => d.contains(text),
        };
        positive != op.starts_with("$not")
    }

    fn entry(v: &Value) -> (&str, &Value) {
        let (k, v) = v.as_object().unwrap().iter().next().unwrap();
        (k.as_str(), v)
    }

    fn ref_where(filter: &Value, metadata: Option<&Value>, doc: Option<&str>) -> bool {
        let (key, value) = entry(filter);
        match key {
            "$and" => value.as_array().unwrap().iter().all(|c| ref_where(c, metadata, doc)),
            "$or" => value.as_array().unwrap().iter().any(|c| ref_where(c, metadata, doc)),
            "#document" => {
                let (op, operand) = entry(value);
                ref_document(op, operand.as_str().unwrap(), doc)
            }
            _ => {
                let field = metadata.and_then(|m| m.get(key));
                let (op, operand) = if value.is_object() { entry(value) } else { ("$eq", value) };
                let number = field.and_then(Value::as_f64);
                let bound = operand.as_f64();
                let in_list = |f: &Value| operand.as_array().unwrap().iter().any(|o| ref_eq(f, o));
                let has_element =
                    field.and_then(Value::as_array).is_some_and(|items| items.iter().any(|x| ref_eq(x, operand)));
                match op {
                    "$eq" => field.is_some_and(|f| ref_eq(f, operand)),
                    "$ne" => !field.is_some_and(|f| ref_eq(f, operand)),
                    "$gt" => number.is_some_and(|n| n > bound.unwrap()),
                    "$gte" => number.is_some_and(|n| n >= bound.unwrap()),
                    "$lt" => number.is_some_and(|n| n < bound.unwrap()),
                    "$lte" => number.is_some_and(|n| n <= bound.unwrap()),
                    "$in" => field.is_some_and(in_list),
                    "$nin" => !field.is_some_and(in_list),
                    "$contains" => has_element,
                    "$not_contains" => !has_element,
                    other => panic!("generator produced {other}"),
                }
            }
        }
    }

    fn ref_where_document(filter: &Value, doc: Option<&str>) -> bool {
        let (op, operand) = entry(filter);
        match op {
            "$and" => operand.as_array().unwrap().iter().all(|c| ref_where_document(c, doc)),
            "$or" => operand.as_array().unwrap().iter().any(|c| ref_where_document(c, doc)),
            _ => ref_document(op, operand.as_str().unwrap(), doc),
        }
    }

    #[test]
    fn random_filters_agree_with_reference() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut matched = 0usize;
        let mut total = 0usize;
        for _ in 0..300 {
            let records: Vec<(Option<Value>, Option<String>)> =
                (0..20).map(|_| (random_metadata(&mut rng), random_document(&mut rng))).collect();
            let parsed: Vec<Option<Metadata>> = records.iter().map(|(m, _)| m.clone().map(md)).collect();
            for _ in 0..20 {
                let filter = random_where(&mut rng, 3);
                let compiled = parse_where(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
                let doc_filter = random_where_document(&mut rng, 2);
                let doc_compiled = parse_where_document(&doc_filter).unwrap_or_else(|e| panic!("{doc_filter}: {e}"));
                for ((meta_json, doc), meta) in records.iter().zip(&parsed) {
                    let expected = ref_where(&filter, meta_json.as_ref(), doc.as_deref());
                    let actual = compiled.matches(meta.as_ref(), doc.as_deref());
                    assert_eq!(actual, expected, "where {filter} on {meta_json:?} / {doc:?}");
                    let expected = ref_where_document(&doc_filter, doc.as_deref());
                    assert_eq!(
                        doc_compiled.matches(doc.as_deref()),
                        expected,
                        "where_document {doc_filter} on {doc:?}"
                    );
                    matched += usize::from(actual);
                    total += 1;
                }
            }
        }
        // The generator must exercise both outcomes substantially.
        assert!(matched > total / 10 && matched < total * 9 / 10, "{matched} of {total}");
    }
}
