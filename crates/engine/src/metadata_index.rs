//! An inverted index over the metadata of one collection: for every key, the rows holding each scalar
//! value and the rows whose list value holds each element. A `where` filter is answered from these sets,
//! so a selective filter touches only the rows it selects instead of every record's metadata.
//!
//! Invariants:
//! * `all` holds every row of the collection; every set in `keys` is a subset of `all`;
//! * a row sits in exactly the sets of the values its current metadata holds (insert and remove take
//!   the same metadata, so the caller passes a row's old metadata when it changes);
//! * empty sets and keys are dropped, so the index never outgrows the metadata it reflects;
//! * [`MetadataIndex::select`] returns exactly the rows of `within` for which
//!   [`Where::matches`] is true: the set algebra below mirrors `Comparison::matches` case by case.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use roaring::{MultiOps, RoaringTreemap};

use crate::filter::{Comparison, Number, Scalar, Where};
use crate::metadata::{Metadata, MetadataValue};

/// A set of rows, iterated in ascending (insertion) order.
pub type RowSet = RoaringTreemap;

/// A number as an ordered map key. The order is the exact numeric order of `Number::compare`, so an int
/// and a float of equal value are one key, as they are equal to Chroma's filters. Metadata numbers come
/// from JSON and are never NaN; should one appear it sorts above every other number.
#[derive(Debug, Clone, Copy)]
struct NumberKey(Number);

impl Ord for NumberKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.compare(other.0).unwrap_or_else(|| is_nan(self.0).cmp(&is_nan(other.0)))
    }
}

impl PartialOrd for NumberKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NumberKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NumberKey {}

fn is_nan(n: Number) -> bool {
    matches!(n, Number::Float(f) if f.is_nan())
}

/// The rows holding one value: a short sorted list while there are few (most values of a near-unique
/// key such as a timestamp), a compressed set beyond that.
#[derive(Debug)]
enum Postings {
    Few(Vec<u64>),
    Many(RowSet),
}

/// Most rows a `Postings::Few` list holds.
const FEW_MAX: usize = 32;

impl Default for Postings {
    fn default() -> Self {
        Postings::Few(Vec::new())
    }
}

impl Postings {
    fn insert(&mut self, row: u64) {
        match self {
            Postings::Few(rows) => match rows.binary_search(&row) {
                Ok(_) => {}
                Err(_) if rows.len() >= FEW_MAX => {
                    let mut set: RowSet = rows.iter().copied().collect();
                    set.insert(row);
                    *self = Postings::Many(set);
                }
                Err(at) => rows.insert(at, row),
            },
            Postings::Many(set) => {
                set.insert(row);
            }
        }
    }

    fn remove(&mut self, row: u64) {
        match self {
            Postings::Few(rows) => {
                if let Ok(at) = rows.binary_search(&row) {
                    rows.remove(at);
                }
            }
            Postings::Many(set) => {
                set.remove(row);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Postings::Few(rows) => rows.is_empty(),
            Postings::Many(set) => set.is_empty(),
        }
    }

    fn rows(&self) -> Cow<'_, RowSet> {
        match self {
            Postings::Few(rows) => Cow::Owned(RowSet::from_sorted_iter(rows.iter().copied()).unwrap_or_default()),
            Postings::Many(set) => Cow::Borrowed(set),
        }
    }
}

/// The union of several postings: short lists gathered and sorted once, sets merged in one pass.
fn union<'a>(postings: impl Iterator<Item = &'a Postings>) -> RowSet {
    let mut few: Vec<u64> = Vec::new();
    let mut many: Vec<&RowSet> = Vec::new();
    for p in postings {
        match p {
            Postings::Few(rows) => few.extend_from_slice(rows),
            Postings::Many(set) => many.push(set),
        }
    }
    few.sort_unstable();
    let gathered = RowSet::from_sorted_iter(few).unwrap_or_default();
    match many.is_empty() {
        true => gathered,
        false => many.into_iter().union() | gathered,
    }
}

/// Rows by value, for one kind of occurrence (scalar values, or elements of list values).
#[derive(Debug, Default)]
struct ValueSets {
    bools: [Postings; 2],
    numbers: BTreeMap<NumberKey, Postings>,
    strings: HashMap<String, Postings>,
}

/// One scalar, borrowed from a metadata value or a list element.
#[derive(Clone, Copy)]
enum Atom<'a> {
    Bool(bool),
    Num(Number),
    Str(&'a str),
}

impl ValueSets {
    fn is_empty(&self) -> bool {
        self.bools.iter().all(Postings::is_empty) && self.numbers.is_empty() && self.strings.is_empty()
    }

    fn insert(&mut self, atom: Atom<'_>, row: u64) {
        match atom {
            Atom::Bool(b) => {
                self.bools[b as usize].insert(row);
            }
            Atom::Num(n) => {
                self.numbers.entry(NumberKey(n)).or_default().insert(row);
            }
            Atom::Str(s) => match self.strings.get_mut(s) {
                Some(set) => {
                    set.insert(row);
                }
                None => {
                    self.strings.insert(s.to_owned(), Postings::Few(vec![row]));
                }
            },
        }
    }

    fn remove(&mut self, atom: Atom<'_>, row: u64) {
        match atom {
            Atom::Bool(b) => {
                self.bools[b as usize].remove(row);
            }
            Atom::Num(n) => {
                let key = NumberKey(n);
                if let Some(set) = self.numbers.get_mut(&key) {
                    set.remove(row);
                    if set.is_empty() {
                        self.numbers.remove(&key);
                    }
                }
            }
            Atom::Str(s) => {
                if let Some(set) = self.strings.get_mut(s) {
                    set.remove(row);
                    if set.is_empty() {
                        self.strings.remove(s);
                    }
                }
            }
        }
    }

    /// Rows holding a value equal to the operand (Chroma's equality: numbers across int and float, bools
    /// and strings only within their own type).
    fn equal(&self, operand: &Scalar) -> Option<&Postings> {
        match operand {
            Scalar::Bool(b) => Some(&self.bools[*b as usize]),
            Scalar::Int(i) => self.numbers.get(&NumberKey(Number::Int(*i))),
            Scalar::Float(f) => self.numbers.get(&NumberKey(Number::Float(*f))),
            Scalar::Str(s) => self.strings.get(s.as_str()),
        }
    }

    /// Rows holding a number within the bounds.
    fn range(&self, lower: Bound<NumberKey>, upper: Bound<NumberKey>) -> RowSet {
        union(self.numbers.range((lower, upper)).map(|(_, postings)| postings))
    }
}

/// Rows holding a value equal to the operand, or none.
fn equal<'a>(operand: &Scalar, sets: &'a ValueSets) -> Cow<'a, RowSet> {
    sets.equal(operand).map_or_else(|| Cow::Owned(RowSet::new()), Postings::rows)
}

/// The sets of one metadata key.
#[derive(Debug, Default)]
struct KeySets {
    scalars: ValueSets,
    elements: ValueSets,
}

#[derive(Debug, Default)]
pub struct MetadataIndex {
    all: RowSet,
    keys: HashMap<String, KeySets>,
}

/// Visits each scalar of a value: the value itself (`list == false`) or each list element (`list == true`).
fn for_each_atom(value: &MetadataValue, mut visit: impl FnMut(Atom<'_>, bool)) {
    match value {
        MetadataValue::Bool(b) => visit(Atom::Bool(*b), false),
        MetadataValue::Int(i) => visit(Atom::Num(Number::Int(*i)), false),
        MetadataValue::Float(f) => visit(Atom::Num(Number::Float(*f)), false),
        MetadataValue::Str(s) => visit(Atom::Str(s), false),
        MetadataValue::BoolList(items) => items.iter().for_each(|b| visit(Atom::Bool(*b), true)),
        MetadataValue::IntList(items) => items.iter().for_each(|i| visit(Atom::Num(Number::Int(*i)), true)),
        MetadataValue::FloatList(items) => items.iter().for_each(|f| visit(Atom::Num(Number::Float(*f)), true)),
        MetadataValue::StrList(items) => items.iter().for_each(|s| visit(Atom::Str(s), true)),
    }
}

impl MetadataIndex {
    pub fn new() -> MetadataIndex {
        MetadataIndex::default()
    }

    /// Every row of the collection.
    pub fn all(&self) -> &RowSet {
        &self.all
    }

    /// Adds a new row, or a row whose old metadata was removed first.
    pub fn insert(&mut self, row: u64, metadata: Option<&Metadata>) {
        self.all.insert(row);
        for (key, value) in metadata.into_iter().flatten() {
            let sets = match self.keys.get_mut(key.as_str()) {
                Some(sets) => sets,
                None => self.keys.entry(key.clone()).or_default(),
            };
            for_each_atom(value, |atom, list| if list { sets.elements.insert(atom, row) } else { sets.scalars.insert(atom, row) });
        }
    }

    /// Removes a row; `metadata` must be the metadata it was inserted with.
    pub fn remove(&mut self, row: u64, metadata: Option<&Metadata>) {
        self.all.remove(row);
        for (key, value) in metadata.into_iter().flatten() {
            let Some(sets) = self.keys.get_mut(key.as_str()) else { continue };
            for_each_atom(value, |atom, list| if list { sets.elements.remove(atom, row) } else { sets.scalars.remove(atom, row) });
            if sets.scalars.is_empty() && sets.elements.is_empty() {
                self.keys.remove(key.as_str());
            }
        }
    }

    /// The rows of `within` that pass `filter`. `document` gives a row's document, for `#document` tests,
    /// which are the only part of a filter evaluated row by row (and only over rows still in question).
    pub fn select<'d>(&self, filter: &Where, within: &RowSet, document: &dyn Fn(u64) -> Option<&'d str>) -> RowSet {
        match filter {
            Where::And(children) => {
                let mut rows = within.clone();
                for child in children {
                    if rows.is_empty() {
                        break;
                    }
                    rows = self.select(child, &rows, document);
                }
                rows
            }
            Where::Or(children) => {
                let mut rows = RowSet::new();
                for child in children {
                    // Rows already selected need not be tested again.
                    let open = within - &rows;
                    if open.is_empty() {
                        break;
                    }
                    rows |= self.select(child, &open, document);
                }
                rows
            }
            Where::Metadata { key, comparison } => self.compare(key, comparison, within),
            Where::Document(test) => within.iter().filter(|&row| test.matches(document(row))).collect(),
        }
    }

    fn compare(&self, key: &str, comparison: &Comparison, within: &RowSet) -> RowSet {
        let empty = ValueSets::default();
        let (scalars, elements) = match self.keys.get(key) {
            Some(sets) => (&sets.scalars, &sets.elements),
            None => (&empty, &empty),
        };
        let any_equal = |operands: &[Scalar]| -> RowSet { union(operands.iter().filter_map(|o| scalars.equal(o))) };
        let key = |n: &Number| NumberKey(*n);
        // Every posting holds present rows only, so within all rows (a filter's top-level comparison) a
        // posting needs no intersection, which would copy all rows first.
        let everything = std::ptr::eq(within, &self.all);
        let among = |rows: Cow<'_, RowSet>| if everything { rows.into_owned() } else { within & rows.as_ref() };
        match comparison {
            Comparison::Eq(s) => among(equal(s, scalars)),
            Comparison::Ne(s) => within - equal(s, scalars).as_ref(),
            Comparison::Gt(n) => among(Cow::Owned(scalars.range(Bound::Excluded(key(n)), Bound::Unbounded))),
            Comparison::Gte(n) => among(Cow::Owned(scalars.range(Bound::Included(key(n)), Bound::Unbounded))),
            Comparison::Lt(n) => among(Cow::Owned(scalars.range(Bound::Unbounded, Bound::Excluded(key(n))))),
            Comparison::Lte(n) => among(Cow::Owned(scalars.range(Bound::Unbounded, Bound::Included(key(n))))),
            Comparison::In(set) => among(Cow::Owned(any_equal(set))),
            Comparison::Nin(set) => within - &any_equal(set),
            Comparison::Contains(s) => among(equal(s, elements)),
            Comparison::NotContains(s) => within - equal(s, elements).as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::filter::parse_where;
    use crate::metadata::parse_metadata;

    fn md(v: Value) -> Metadata {
        parse_metadata(&v).unwrap()
    }

    /// Rows 0.. with the given metadata (None: no metadata), documents "doc <row>".
    fn index(metadatas: &[Option<Value>]) -> (MetadataIndex, Vec<Option<Metadata>>) {
        let mut index = MetadataIndex::new();
        let parsed: Vec<Option<Metadata>> = metadatas.iter().map(|m| m.clone().map(md)).collect();
        for (row, m) in parsed.iter().enumerate() {
            index.insert(row as u64, m.as_ref());
        }
        (index, parsed)
    }

    fn check(index: &MetadataIndex, parsed: &[Option<Metadata>], filter: Value) {
        let w = parse_where(&filter).unwrap();
        let docs: Vec<String> = (0..parsed.len()).map(|r| format!("doc {r}")).collect();
        let document = |row: u64| docs.get(row as usize).map(String::as_str);
        let got: Vec<u64> = index.select(&w, index.all(), &document).iter().collect();
        let want: Vec<u64> = (0..parsed.len() as u64)
            .filter(|&r| index.all().contains(r) && w.matches(parsed[r as usize].as_ref(), document(r)))
            .collect();
        assert_eq!(got, want, "filter {filter}");
    }

    #[test]
    fn agrees_with_row_by_row_evaluation() {
        let (index, parsed) = index(&[
            Some(json!({"a": 1, "s": "x", "b": true, "l": [1, 2]})),
            Some(json!({"a": 1.0, "s": "y", "b": false, "l": ["x"]})),
            Some(json!({"a": 2.5, "s": "x", "l": [true]})),
            None,
            Some(json!({"a": "1", "b": 1, "l": [2.0, 3.0]})),
            Some(json!({"a": -7, "s": ["x"], "c": 0})),
        ]);
        for filter in [
            json!({"a": 1}),
            json!({"a": {"$ne": 1}}),
            json!({"a": {"$gt": 1}}),
            json!({"a": {"$gte": 1}}),
            json!({"a": {"$lt": 2.5}}),
            json!({"a": {"$lte": 2.5}}),
            json!({"a": {"$in": [1, 2]}}),
            json!({"a": {"$nin": [1.0]}}),
            json!({"s": "x"}),
            json!({"s": {"$ne": "x"}}),
            json!({"b": true}),
            json!({"b": {"$ne": false}}),
            json!({"l": {"$contains": 2}}),
            json!({"l": {"$not_contains": 2}}),
            json!({"l": {"$contains": "x"}}),
            json!({"s": {"$contains": "x"}}),
            json!({"missing": {"$ne": 1}}),
            json!({"$or": [{"a": 1}, {"s": "x"}]}),
            json!({"$and": [{"a": {"$gte": 1}}, {"s": {"$ne": "y"}}]}),
            json!({"$and": [{"#document": {"$contains": "doc 1"}}, {"$or": [{"a": 1}, {"c": 0}]}]}),
        ] {
            check(&index, &parsed, filter);
        }
    }

    #[test]
    fn remove_drops_rows_and_empty_keys() {
        let (mut index, mut parsed) = index(&[Some(json!({"a": 1, "l": ["x"]})), Some(json!({"a": 2}))]);
        index.remove(0, parsed[0].as_ref());
        assert!(!index.keys.contains_key("l"));
        parsed[0] = None;
        check(&index, &parsed, json!({"a": {"$ne": 5}}));
        check(&index, &parsed, json!({"a": {"$gte": 1}}));
        let updated = md(json!({"a": 3}));
        index.remove(1, parsed[1].as_ref());
        index.insert(1, Some(&updated));
        parsed[1] = Some(updated);
        check(&index, &parsed, json!({"a": 2}));
        check(&index, &parsed, json!({"a": 3}));
    }

    #[test]
    fn postings_grow_into_sets_and_shrink() {
        let metadatas: Vec<Option<Value>> = (0..100).map(|i| Some(json!({"v": i % 2, "s": "same"}))).collect();
        let (mut index, mut parsed) = index(&metadatas);
        for row in (0..100).step_by(3) {
            index.remove(row, parsed[row as usize].as_ref());
            parsed[row as usize] = None;
        }
        let mut index_all: Vec<u64> = index.all().iter().collect();
        index_all.retain(|&r| r % 3 != 0);
        assert_eq!(index.all().len() as usize, index_all.len());
        for filter in [json!({"v": 0}), json!({"v": {"$ne": 1}}), json!({"s": "same"}), json!({"v": {"$in": [0, 1]}})] {
            check(&index, &parsed, filter);
        }
    }

    #[test]
    fn wide_ranges_over_many_values() {
        let metadatas: Vec<Option<Value>> = (0..500).map(|i| Some(json!({"t": i as f64 / 7.0, "n": i % 3}))).collect();
        let (index, parsed) = index(&metadatas);
        check(&index, &parsed, json!({"t": {"$gt": 10.0}}));
        check(&index, &parsed, json!({"$and": [{"t": {"$lte": 50}}, {"n": {"$in": [0, 2]}}]}));
    }
}
