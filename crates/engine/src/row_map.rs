//! A map keyed by row number. A collection numbers its rows up from 0 and never reuses one, so rows are
//! mostly dense: while they are, the map is a flat array indexed by row (no hashing, no per-entry node).
//! Deletions leave holes; once holes outnumber the present rows by [`MAX_HOLES_PER_ROW`] (a collection
//! with churn: rows deleted, new ones added), or a row far beyond the others arrives, the map turns into
//! a hash map, so memory stays proportional to the rows present, never to the rows ever used.
//!
//! The sparse form turns dense again once its present rows fill half of `0..=max_row` (a collection whose
//! first rows were deleted, reloaded in row order).
//!
//! Invariants: `len` is the number of present rows; in the dense form `entries[row]` holds the value of
//! `row`, and `entries.len() <= MAX_HOLES_PER_ROW * len + DENSE_SLACK` after every insert (removals may
//! leave up to twice that before the switch), so dense and sparse never flip back and forth on one row.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Index;

/// Holes allowed per present row (plus `DENSE_SLACK`) before the dense form gives way to the sparse one.
const MAX_HOLES_PER_ROW: usize = 2;
const DENSE_SLACK: usize = 1024;

pub struct RowMap<V> {
    repr: Repr<V>,
    len: usize,
}

enum Repr<V> {
    Dense(Vec<Option<V>>),
    /// `max_row` bounds the rows present (it is not lowered by removals).
    Sparse { map: HashMap<u64, V, BuildHasherDefault<RowHasher>>, max_row: u64 },
}

/// Rows are small consecutive integers: a multiplicative (Fibonacci) hash spreads them well and costs one
/// multiplication.
#[derive(Default)]
struct RowHasher(u64);

impl Hasher for RowHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, row: u64) {
        self.0 = row.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl<V> Default for RowMap<V> {
    fn default() -> Self {
        RowMap { repr: Repr::Dense(Vec::new()), len: 0 }
    }
}

impl<V> RowMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, row: &u64) -> Option<&V> {
        match &self.repr {
            Repr::Dense(entries) => entries.get(usize::try_from(*row).ok()?)?.as_ref(),
            Repr::Sparse { map, .. } => map.get(row),
        }
    }

    pub fn contains_key(&self, row: &u64) -> bool {
        self.get(row).is_some()
    }

    /// Sets a row's value; returns the value it replaces.
    pub fn insert(&mut self, row: u64, value: V) -> Option<V> {
        if let Repr::Dense(entries) = &mut self.repr {
            let index = usize::try_from(row).ok().filter(|&i| i < MAX_HOLES_PER_ROW * (self.len + 1) + DENSE_SLACK);
            match index {
                Some(index) => {
                    if index >= entries.len() {
                        grow_for(entries, index + 1 - entries.len());
                        entries.resize_with(index + 1, || None);
                    }
                    let previous = entries[index].replace(value);
                    self.len += usize::from(previous.is_none());
                    return previous;
                }
                None => self.make_sparse(),
            }
        }
        let Repr::Sparse { map, max_row } = &mut self.repr else { unreachable!("made sparse above") };
        let previous = map.insert(row, value);
        self.len += usize::from(previous.is_none());
        *max_row = (*max_row).max(row);
        // Dense again once the present rows fill at least half of 0..=max_row (e.g. a collection whose
        // first rows were deleted, reloaded in row order).
        if usize::try_from(*max_row).is_ok_and(|max| max < self.len.saturating_mul(2)) {
            self.make_dense();
        }
        previous
    }

    pub fn remove(&mut self, row: &u64) -> Option<V> {
        let removed = match &mut self.repr {
            Repr::Dense(entries) => usize::try_from(*row).ok().and_then(|i| entries.get_mut(i)).and_then(Option::take),
            Repr::Sparse { map, .. } => map.remove(row),
        };
        if removed.is_some() {
            self.len -= 1;
            if matches!(&self.repr, Repr::Dense(entries) if entries.len() > 2 * (MAX_HOLES_PER_ROW * self.len + DENSE_SLACK)) {
                self.make_sparse();
            }
        }
        removed
    }

    fn make_sparse(&mut self) {
        if let Repr::Dense(entries) = &mut self.repr {
            let mut map = HashMap::with_capacity_and_hasher(self.len, BuildHasherDefault::default());
            for (row, entry) in std::mem::take(entries).into_iter().enumerate() {
                if let Some(value) = entry {
                    map.insert(row as u64, value);
                }
            }
            let max_row = map.keys().copied().max().unwrap_or(0);
            self.repr = Repr::Sparse { map, max_row };
        }
    }

    fn make_dense(&mut self) {
        if let Repr::Sparse { map, max_row } = &mut self.repr {
            let mut entries: Vec<Option<V>> = Vec::new();
            entries.resize_with(*max_row as usize + 1, || None);
            for (row, value) in std::mem::take(map) {
                entries[row as usize] = Some(value);
            }
            self.repr = Repr::Dense(entries);
        }
    }

    #[cfg(test)]
    fn is_dense(&self) -> bool {
        matches!(self.repr, Repr::Dense(_))
    }
}

impl<V> Index<&u64> for RowMap<V> {
    type Output = V;

    /// The value of a present row; panics when the row is absent, as `BTreeMap` does.
    fn index(&self, row: &u64) -> &V {
        self.get(row).expect("row present")
    }
}

/// Makes room for `additional` more items. Grows by at most an eighth beyond the need rather than
/// doubling, so a large array carries little unused capacity while growth stays amortised.
pub(crate) fn grow_for<T>(items: &mut Vec<T>, additional: usize) {
    if items.capacity() - items.len() < additional {
        items.reserve_exact(additional.max(items.len() / 8));
    }
}

/// Rearranges rows of `width` items in place so that row `new` holds what row `order[new]` held
/// (`order` is a permutation of the rows). Each cycle of the permutation is walked with row swaps, so no
/// second copy of `data` is allocated: reordering a large store does not double its memory.
pub(crate) fn permute_rows<T>(data: &mut [T], width: usize, order: &[u32]) {
    assert_eq!(data.len(), order.len() * width, "one row per entry of the order");
    let mut done = vec![false; order.len()];
    for start in 0..order.len() {
        // Along the cycle start → order[start] → …, swapping row `at` with row `order[at]` fixes row `at`
        // and carries what `start` held one step on; the last row of the cycle receives it.
        let mut at = start;
        while !done[at] {
            done[at] = true;
            let from = order[at] as usize;
            if from == start {
                break;
            }
            let (low, high) = data.split_at_mut(at.max(from) * width);
            low[at.min(from) * width..][..width].swap_with_slice(&mut high[..width]);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_rows_moves_each_row_to_its_new_place() {
        let width = 3;
        let n = 1000u32;
        // A permutation with cycles of many lengths, fixed points included.
        let mut order: Vec<u32> = (0..n).collect();
        let mut state = 17u64;
        for i in (1..n as usize).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state % 5 != 0 {
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        let data: Vec<u32> = (0..n * width as u32).collect();
        let mut permuted = data.clone();
        permute_rows(&mut permuted, width, &order);
        for (new, &old) in order.iter().enumerate() {
            assert_eq!(permuted[new * width..][..width], data[old as usize * width..][..width]);
        }
    }

    #[test]
    fn behaves_like_a_map() {
        let mut map = RowMap::new();
        assert!(map.is_empty());
        assert_eq!(map.insert(3, "c"), None);
        assert_eq!(map.insert(0, "a"), None);
        assert_eq!(map.insert(3, "C"), Some("c"));
        assert_eq!(map.len(), 2);
        assert_eq!(map[&3], "C");
        assert_eq!(map.get(&1), None);
        assert_eq!(map.get(&u64::MAX), None);
        assert!(!map.contains_key(&7));
        assert_eq!(map.remove(&0), Some("a"));
        assert_eq!(map.remove(&0), None);
        assert_eq!(map.remove(&99), None);
        assert_eq!(map.len(), 1);
        assert!(map.is_dense());
    }

    #[test]
    fn a_far_row_makes_it_sparse_without_allocating_up_to_it() {
        let mut map = RowMap::new();
        map.insert(1, 'a');
        map.insert(u64::MAX - 1, 'z');
        assert!(!map.is_dense());
        assert_eq!(map.get(&1), Some(&'a'));
        assert_eq!(map.get(&(u64::MAX - 1)), Some(&'z'));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn rows_loaded_after_deleted_ones_end_up_dense() {
        // The first 5,000 rows were deleted; the rest are loaded in row order.
        let mut map = RowMap::new();
        for row in 5_000..20_000u64 {
            map.insert(row, row);
        }
        assert!(map.is_dense());
        assert_eq!(map.len(), 15_000);
        assert!((5_000..20_000).all(|row| map[&row] == row));
        assert_eq!(map.get(&4_999), None);
    }

    #[test]
    fn churn_keeps_memory_bounded_by_present_rows() {
        // A queue: each new row pushes out the oldest; 100 present rows while 100,000 rows are used.
        let mut map = RowMap::new();
        for row in 0..100_000u64 {
            map.insert(row, row);
            if row >= 100 {
                assert_eq!(map.remove(&(row - 100)), Some(row - 100));
            }
            if let Repr::Dense(entries) = &map.repr {
                assert!(entries.len() <= 2 * (MAX_HOLES_PER_ROW * map.len() + DENSE_SLACK) + 1);
            }
        }
        assert!(!map.is_dense());
        assert_eq!(map.len(), 100);
        assert!((99_900..100_000).all(|row| map.get(&row) == Some(&row)));
        assert_eq!(map.get(&99_899), None);
    }
}
