//! The vector index of one collection: the stored vectors (exactly as given), an exact scan, and an HNSW
//! graph ([`crate::hnsw`]) over the same vectors for large collections.
//!
//! Invariants:
//! - every live record row has exactly one live slot; a slot is dead once its row is deleted or its
//!   vector replaced, and a dead slot is never returned by a search;
//! - when a graph exists it holds every slot, live or dead, below `slot_row.len()`;
//! - codes ([`crate::codes`]) exist only with a graph, and then cover every slot (unless the data cannot
//!   be coded); the graph is walked on them and what the walk finds is re-ranked by exact distances, so a
//!   result's distance is always the exact one;
//! - results are the k nearest allowed rows by Chroma's distance, sorted ascending.
//!
//! Memory: the row → slot map is a [`RowMap`] (a flat array while rows are dense, a hash map once deletes
//! leave most of it empty); the per-slot arrays grow by at most an eighth beyond what a write needs, not
//! by doubling.

use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::codes::{self, CodeQuery, Codes, Source};
use crate::distance::{self, Space};
use crate::hnsw::{Graph, GraphParams as LinkParams, LevelGenerator, Metric, Scored};
use crate::row_map::{grow_for, permute_rows, RowMap};

/// Below this many live vectors an exact scan is as fast as the graph, and exact.
pub const GRAPH_MIN_LIVE: usize = 2048;
/// Exact scans over more floats than this (e.g. 16k vectors of 128) are split across the rayon pool; below
/// it the hand-off to other threads costs more than it saves.
const PARALLEL_SCAN_MIN_FLOATS: usize = 1 << 21;
/// Filters matching at most this many slots are scanned in row order, unsorted.
const UNSORTED_SCAN_MAX: usize = 4096;
/// Exact scans over at least this many floats (1 MiB of vectors) are screened by the codes
/// ([`VectorIndex::nearest_screened`]). Below it the vectors of a filter used again and again stay in the
/// CPU's caches, and comparing them is cheaper than decoding codes (engine-probe, 100k × 128, a 1,000-slot
/// filter: 49–63 µs per query by the vectors, 66–71 by the codes; above it, 100k × 384: 1,000 slots
/// 129 → 57 µs, 50,000 slots 5,400 → 3,070 µs).
const SCREEN_MIN_FLOATS: usize = 1 << 18;
/// How far ahead of the comparison an exact scan over a list of slots requests a vector.
const SCAN_PREFETCH_AHEAD: usize = 4;
/// Batches smaller than this are linked on the calling thread.
const PARALLEL_LINK_MIN: usize = 256;
/// The slots are laid out again ([`VectorIndex::reorder`]) once those appended since the last layout
/// reach this many and `1 / REORDER_GROWTH` of the laid-out ones: a growing collection pays for a
/// layout a logarithmic number of times, and at most a fifth of its slots wait in insertion order.
const REORDER_MIN_SLOTS: usize = 1024;
const REORDER_GROWTH: usize = 4;
/// Slots sampled to choose the codes' width ([`VectorIndex::near_distances`]).
const NEAR_SAMPLE: usize = 256;
/// Which of a slot's nearest links stands for "near": around a query's 10th nearest neighbour is where
/// the walk's ranking decides a top-10.
const NEAR_RANK: usize = 10;
const DEAD: u64 = u64::MAX;
const LEVEL_SEED: u64 = 0x5eed_c0de;

const SNAPSHOT_MAGIC: &[u8; 8] = b"CLIDX001";

fn space_code(space: Space) -> u8 {
    match space {
        Space::L2 => 0,
        Space::Cosine => 1,
        Space::Ip => 2,
    }
}

/// Graph parameters (Chroma's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphParams {
    pub max_neighbors: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

pub struct VectorIndex {
    space: Space,
    dimension: usize,
    params: GraphParams,
    /// Slot-major original vectors.
    vectors: Vec<f32>,
    /// Cosine only: 1 / |v| per slot (0 for a zero vector).
    inverse_norms: Vec<f32>,
    /// Row of each slot, or DEAD.
    slot_row: Vec<u64>,
    row_slot: RowMap<u32>,
    graph: Option<Graph>,
    /// 8-bit copies of the vectors for the graph walk; present only with a graph (and data that codes).
    codes: Option<Codes>,
    levels: LevelGenerator,
    /// Slots `..ordered_slots` were laid out by the last [`VectorIndex::reorder`]; the rest are in
    /// insertion order.
    ordered_slots: usize,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: u64,
    pub distance: f32,
}

/// Chroma's distances over the stored vectors. Queries are prepared first (normalised for cosine).
struct StoredMetric<'a> {
    space: Space,
    dimension: usize,
    vectors: &'a [f32],
    inverse_norms: &'a [f32],
}

impl StoredMetric<'_> {
    fn vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dimension;
        &self.vectors[start..start + self.dimension]
    }
}

impl Metric for StoredMetric<'_> {
    type Query = [f32];

    fn to_query(&self, prepared: &[f32], slot: u32) -> f32 {
        let v = self.vector(slot);
        match self.space {
            Space::Cosine => 1.0 - distance::dot(prepared, v) * self.inverse_norms[slot as usize],
            space => distance::distance(space, prepared, v),
        }
    }

    fn prefetch(&self, slot: u32) {
        distance::prefetch(self.vector(slot));
    }

    fn between(&self, a: u32, b: u32) -> f32 {
        let (va, vb) = (self.vector(a), self.vector(b));
        match self.space {
            Space::Cosine => {
                1.0 - distance::dot(va, vb) * self.inverse_norms[a as usize] * self.inverse_norms[b as usize]
            }
            space => distance::distance(space, va, vb),
        }
    }
}

/// Distances from a coded query to the codes (for the graph walk); between stored nodes, exact.
struct CodeMetric<'a> {
    codes: &'a Codes,
    exact: &'a StoredMetric<'a>,
}

impl Metric for CodeMetric<'_> {
    type Query = CodeQuery;

    #[inline]
    fn to_query(&self, query: &CodeQuery, slot: u32) -> f32 {
        self.codes.distance(query, slot)
    }

    /// The whole code: at 784 dimensions, 13 lines requested at once beat 3 plus the hardware's
    /// streaming (−20 % per query on fashion-mnist, engine-probe).
    fn prefetch(&self, slot: u32) {
        distance::prefetch_all(self.codes.code(slot));
    }

    fn between(&self, a: u32, b: u32) -> f32 {
        self.exact.between(a, b)
    }
}

impl VectorIndex {
    pub fn new(space: Space, dimension: usize, params: GraphParams) -> VectorIndex {
        VectorIndex {
            space,
            dimension,
            params,
            vectors: Vec::new(),
            inverse_norms: Vec::new(),
            slot_row: Vec::new(),
            row_slot: RowMap::new(),
            graph: None,
            codes: None,
            levels: LevelGenerator::new(params.max_neighbors, LEVEL_SEED),
            ordered_slots: 0,
        }
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    pub fn len(&self) -> usize {
        self.row_slot.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_slot.is_empty()
    }

    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.params.ef_search = ef_search;
    }

    fn metric(&self) -> StoredMetric<'_> {
        StoredMetric {
            space: self.space,
            dimension: self.dimension,
            vectors: &self.vectors,
            inverse_norms: &self.inverse_norms,
        }
    }

    /// The stored vector of a row.
    pub fn vector(&self, row: u64) -> Option<&[f32]> {
        self.row_slot.get(&row).map(|&slot| self.slot_vector(slot))
    }

    fn slot_vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dimension;
        &self.vectors[start..start + self.dimension]
    }

    fn is_live(&self, slot: u32) -> bool {
        self.slot_row.get(slot as usize).is_some_and(|&r| r != DEAD)
    }

    /// Sets the vectors of rows (insert or replace). `data` is row-major with this index's dimension.
    pub fn put(&mut self, rows: &[u64], data: &[f32]) {
        let dimension = self.dimension;
        self.put_each(rows.iter().copied().zip(data.chunks_exact(dimension)));
    }

    /// Sets the vector of each row (insert or replace), in order; every vector has this index's dimension.
    /// The vectors are copied once, into the index's store.
    pub fn put_each<'v>(&mut self, entries: impl IntoIterator<Item = (u64, &'v [f32])>) {
        let entries = entries.into_iter();
        let expected = entries.size_hint().0;
        grow_for(&mut self.vectors, expected * self.dimension);
        grow_for(&mut self.slot_row, expected);
        if self.space == Space::Cosine {
            grow_for(&mut self.inverse_norms, expected);
        }
        let first_new_slot = self.slot_row.len();
        for (row, vector) in entries {
            assert_eq!(vector.len(), self.dimension, "vector of the index's dimension");
            self.remove(row);
            let slot = self.slot_row.len() as u32;
            self.vectors.extend_from_slice(vector);
            if self.space == Space::Cosine {
                let norm = distance::dot(vector, vector).sqrt();
                self.inverse_norms.push(if norm > 0.0 { 1.0 / norm } else { 0.0 });
            }
            self.slot_row.push(row);
            self.row_slot.insert(row, slot);
        }
        if self.graph.is_some() {
            self.link_slots(first_new_slot);
        }
        self.maintain();
    }

    pub fn remove(&mut self, row: u64) {
        if let Some(slot) = self.row_slot.remove(&row) {
            self.slot_row[slot as usize] = DEAD;
        }
    }

    /// Builds the graph once the collection is large enough; compacts when dead slots dominate.
    fn maintain(&mut self) {
        let live = self.row_slot.len();
        let dead = self.slot_row.len() - live;
        if dead > live.max(GRAPH_MIN_LIVE / 2) {
            self.compact();
        }
        if self.graph.is_none() && live >= GRAPH_MIN_LIVE {
            self.graph = Some(Graph::new(self.link_params()));
            self.link_slots(0);
        }
        self.refresh_codes();
        let unordered = self.slot_row.len() - self.ordered_slots;
        if self.graph.is_some() && unordered >= REORDER_MIN_SLOTS.max(self.ordered_slots / REORDER_GROWTH) {
            self.reorder();
        }
    }

    /// Brings the codes up to date with the slots: none without a graph, else extended (or refitted).
    fn refresh_codes(&mut self) {
        if self.graph.is_none() || !crate::codes::enabled() {
            self.codes = None;
            return;
        }
        let source = Source {
            dimension: self.dimension,
            vectors: &self.vectors,
            scales: (self.space == Space::Cosine).then_some(&self.inverse_norms[..]),
        };
        self.codes = match self.codes.take() {
            Some(codes) => codes.extend(source),
            None => Codes::fit(source, &self.near_distances()),
        };
    }

    /// For a sample of up to `NEAR_SAMPLE` slots spread over the index, the distance between the slot's
    /// vector and its `NEAR_RANK`-th nearest link on layer 0 (L2 between the vectors as the codes hold
    /// them: normalised for cosine). The codes choose their width from these ([`Codes::fit`]). None for
    /// `ip`, whose distances the L2 reasoning behind that choice does not cover (8-bit codes).
    fn near_distances(&self) -> Vec<f32> {
        let Some(graph) = self.graph.as_ref().filter(|_| self.space != Space::Ip) else { return Vec::new() };
        let slots = self.slot_row.len();
        let sample = NEAR_SAMPLE.min(slots);
        let coded = |slot: u32| -> Vec<f32> {
            let scale = if self.space == Space::Cosine { self.inverse_norms[slot as usize] } else { 1.0 };
            self.slot_vector(slot).iter().map(|x| x * scale).collect()
        };
        let live = |slot: u32| self.slot_row[slot as usize] != DEAD;
        (0..sample)
            .map(|i| (i * slots / sample) as u32)
            .filter(|&slot| live(slot))
            .filter_map(|slot| {
                let vector = coded(slot);
                let mut near: Vec<f32> = graph
                    .links(slot, 0)
                    .into_iter()
                    .filter(|&link| live(link))
                    .map(|link| distance::l2_squared(&vector, &coded(link)).sqrt())
                    .collect();
                near.sort_by(f32::total_cmp);
                near.get(NEAR_RANK - 1).or(near.last()).copied()
            })
            .collect()
    }

    fn link_params(&self) -> LinkParams {
        LinkParams { max_neighbors: self.params.max_neighbors, ef_construction: self.params.ef_construction }
    }

    /// Drops dead slots and renumbers the live ones in slot order; rebuilds the graph if there was one.
    fn compact(&mut self) {
        let had_graph = self.graph.take().is_some();
        self.codes = None;
        // The graph is linked again: its layout is made anew.
        self.ordered_slots = 0;
        let mut vectors = Vec::with_capacity(self.row_slot.len() * self.dimension);
        let mut inverse_norms = Vec::new();
        let mut slot_row = Vec::with_capacity(self.row_slot.len());
        for (slot, &row) in self.slot_row.iter().enumerate() {
            if row == DEAD {
                continue;
            }
            vectors.extend_from_slice(self.slot_vector(slot as u32));
            if self.space == Space::Cosine {
                inverse_norms.push(self.inverse_norms[slot]);
            }
            self.row_slot.insert(row, slot_row.len() as u32);
            slot_row.push(row);
        }
        self.vectors = vectors;
        self.inverse_norms = inverse_norms;
        self.slot_row = slot_row;
        if had_graph && self.row_slot.len() >= GRAPH_MIN_LIVE {
            self.graph = Some(Graph::new(self.link_params()));
            self.link_slots(0);
        }
    }

    /// Adds slots `from..` to the graph, linking large batches on all cores.
    fn link_slots(&mut self, from: usize) {
        let Some(graph) = self.graph.as_mut() else { return };
        let levels: Vec<usize> = (graph.len()..self.slot_row.len()).map(|_| self.levels.next_level()).collect();
        graph.reserve_nodes(&levels);
        let graph = self.graph.as_ref().expect("graph present");
        let metric = StoredMetric {
            space: self.space,
            dimension: self.dimension,
            vectors: &self.vectors,
            inverse_norms: &self.inverse_norms,
        };
        let slots = from as u32..self.slot_row.len() as u32;
        if slots.len() < PARALLEL_LINK_MIN {
            slots.for_each(|slot| graph.link(slot, &metric));
        } else {
            // The first node seeds the graph; the rest link in parallel.
            let mut slots = slots;
            if graph.is_empty() || from == 0 {
                if let Some(first) = slots.next() {
                    graph.link(first, &metric);
                }
            }
            slots.into_par_iter().for_each(|slot| graph.link(slot, &metric));
        }
    }

    /// Renumbers the slots in the graph's locality order, so that a walk's neighbours share pages and
    /// cache lines (−20 to −25 % per query at 128 and 384 dimensions). Rows, vectors, links, codes and
    /// search results are unchanged; only slot numbers move.
    fn reorder(&mut self) {
        let Some(graph) = self.graph.as_ref() else { return };
        let order = graph.locality_order();
        self.renumber(&order);
        self.ordered_slots = self.slot_row.len();
        // The neighbours grew nearer as the index grew: the codes' width may change with them.
        if self.codes.as_ref().is_some_and(|codes| !codes.suits(&self.near_distances())) {
            self.codes = None;
            self.refresh_codes();
        }
        self.collapse_into_huge_pages();
    }

    /// Backs the arrays a search reads at random with huge pages ([`distance::collapse_into_huge_pages`]):
    /// after a layout (the arrays are then in their final place until they grow by a quarter) and after
    /// a snapshot is read.
    fn collapse_into_huge_pages(&self) {
        distance::collapse_into_huge_pages(&self.vectors);
        if let Some(codes) = &self.codes {
            codes.collapse_into_huge_pages();
        }
        if let Some(graph) = &self.graph {
            graph.collapse_into_huge_pages();
        }
    }

    /// Slot `new` takes what slot `order[new]` held, in every per-slot store and in the graph.
    fn renumber(&mut self, order: &[u32]) {
        if let Some(graph) = self.graph.as_mut() {
            graph.permute(order);
        }
        permute_rows(&mut self.vectors, self.dimension, order);
        if self.space == Space::Cosine {
            permute_rows(&mut self.inverse_norms, 1, order);
        }
        permute_rows(&mut self.slot_row, 1, order);
        for (slot, &row) in self.slot_row.iter().enumerate() {
            if row != DEAD {
                self.row_slot.insert(row, slot as u32);
            }
        }
        if let Some(codes) = self.codes.as_mut() {
            codes.reorder(order);
        }
    }

    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// Live rows, in slot order.
    pub fn rows(&self) -> impl Iterator<Item = u64> + '_ {
        self.slot_row.iter().copied().filter(|&r| r != DEAD)
    }

    /// Serialises the whole index (slots, vectors, graph links) for a snapshot file.
    pub fn write_snapshot(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.push(space_code(self.space));
        for v in [self.dimension, self.params.max_neighbors, self.params.ef_construction] {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
        out.extend_from_slice(&(self.slot_row.len() as u64).to_le_bytes());
        for &row in &self.slot_row {
            out.extend_from_slice(&row.to_le_bytes());
        }
        for &x in &self.vectors {
            out.extend_from_slice(&x.to_le_bytes());
        }
        match &self.graph {
            Some(graph) => {
                out.push(1);
                graph.write_links(out);
            }
            None => out.push(0),
        }
    }

    /// Reads what [`VectorIndex::write_snapshot`] wrote for a collection with these settings. `None` when
    /// the bytes are malformed or were written for another space, dimension or graph shape.
    pub fn read_snapshot(space: Space, dimension: usize, params: GraphParams, bytes: &[u8]) -> Option<VectorIndex> {
        let mut rest = bytes.strip_prefix(SNAPSHOT_MAGIC.as_slice())?;
        let (&code, tail) = rest.split_first()?;
        rest = tail;
        let mut u32_field = || -> Option<usize> {
            let (head, tail) = rest.split_first_chunk::<4>()?;
            rest = tail;
            Some(u32::from_le_bytes(*head) as usize)
        };
        let shape = (u32_field()?, u32_field()?, u32_field()?);
        if code != space_code(space) || shape != (dimension, params.max_neighbors, params.ef_construction) {
            return None;
        }
        let (count, tail) = rest.split_first_chunk::<8>()?;
        rest = tail;
        let count = usize::try_from(u64::from_le_bytes(*count)).ok()?;
        let rows_len = count.checked_mul(8)?;
        let vectors_len = count.checked_mul(dimension)?.checked_mul(4)?;
        if rest.len() < rows_len.checked_add(vectors_len)? + 1 {
            return None;
        }
        let mut index = VectorIndex::new(space, dimension, params);
        let (rows, tail) = rest.split_at(rows_len);
        index.slot_row = rows.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        let (vectors, tail) = tail.split_at(vectors_len);
        index.vectors = vectors.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        if index.vectors.iter().any(|x| !x.is_finite()) {
            return None;
        }
        for (slot, &row) in index.slot_row.iter().enumerate() {
            if row == DEAD {
                continue;
            }
            if index.row_slot.insert(row, slot as u32).is_some() {
                return None; // a row in two live slots
            }
        }
        if space == Space::Cosine {
            index.inverse_norms = (0..count as u32)
                .map(|slot| {
                    let v = index.slot_vector(slot);
                    let norm = distance::dot(v, v).sqrt();
                    if norm > 0.0 { 1.0 / norm } else { 0.0 }
                })
                .collect();
        }
        let (&has_graph, mut tail) = tail.split_first()?;
        if has_graph == 1 {
            let graph = Graph::read_links(index.link_params(), &mut tail)?;
            if graph.len() != count {
                return None;
            }
            index.graph = Some(graph);
            // Kept as written (a snapshot of a laid-out index is laid out).
            index.ordered_slots = count;
            index.refresh_codes();
            index.collapse_into_huge_pages();
        } else if has_graph != 0 {
            return None;
        }
        tail.is_empty().then_some(index)
    }

    /// The `k` nearest rows to `query`, restricted to `allowed` rows when given.
    pub fn search(&self, query: &[f32], k: usize, allowed: Option<&[u64]>) -> Vec<Hit> {
        let slots = allowed.map(|rows| self.slots_of(rows));
        self.search_slots(query, k, slots.as_deref())
    }

    /// The live slots of the given (distinct) rows: the restriction [`VectorIndex::search_slots`] takes.
    /// Rows without a vector are left out. A long list comes in slot order, so that its scan reads memory
    /// in address order; a short one is scanned as it comes (its vectors are requested ahead anyway). The
    /// order never changes a result: the scan keeps the k smallest (distance, slot) pairs, a total order.
    pub fn slots_of(&self, rows: &[u64]) -> Vec<u32> {
        let slots = rows.iter().filter_map(|r| self.row_slot.get(r).copied());
        if rows.len() <= UNSORTED_SCAN_MAX {
            return slots.collect();
        }
        // In slot order through a bitset over the slots: linear in the slots, where sorting the list cost
        // more than the scan it serves (100k × 128, a 50 % filter: a quarter of the query).
        let mut bits = vec![0u64; self.slot_row.len().div_ceil(64)];
        for slot in slots {
            codes::set(&mut bits, slot as usize);
        }
        let mut ordered = Vec::with_capacity(rows.len());
        for (word, &set) in bits.iter().enumerate() {
            let mut rest = set;
            while rest != 0 {
                ordered.push(word as u32 * 64 + rest.trailing_zeros());
                rest &= rest - 1;
            }
        }
        ordered
    }

    /// As [`VectorIndex::search`], restricted to slots from [`VectorIndex::slots_of`], so several queries
    /// with one filter map its rows once.
    pub fn search_slots(&self, query: &[f32], k: usize, allowed: Option<&[u32]>) -> Vec<Hit> {
        // k comes from the caller (up to u32::MAX): never size anything by it beyond what exists.
        let k = k.min(self.row_slot.len());
        if k == 0 {
            return Vec::new();
        }
        let mut prepared = query.to_vec();
        if self.space == Space::Cosine {
            distance::normalize(&mut prepared);
        }
        match allowed {
            // Filtered queries are always exact: an exact scan over the allowed slots.
            Some(slots) => self.exact_over(&prepared, k, slots),
            None if self.graph.is_none() => self.exact(&prepared, k, self.live_slots()),
            None => self.graph_search(&prepared, k),
        }
    }

    fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.slot_row.len() as u32).filter(|&s| self.slot_row[s as usize] != DEAD)
    }

    /// Exact top-k over a list of slots; a long list is split across the rayon pool. The result is the
    /// same either way: each part keeps its k smallest (distance, slot) pairs, and the k smallest of those
    /// are the k smallest overall.
    fn exact_over(&self, prepared: &[f32], k: usize, slots: &[u32]) -> Vec<Hit> {
        if slots.len() * self.dimension < PARALLEL_SCAN_MIN_FLOATS {
            return self.hits(self.nearest_among(prepared, k, slots));
        }
        let part = slots.len().div_ceil(rayon::current_num_threads().max(1));
        let mut best: Vec<Scored> =
            slots.par_chunks(part).flat_map_iter(|part| self.nearest_among(prepared, k, part)).collect();
        best.sort_unstable();
        best.truncate(k);
        self.hits(best)
    }

    /// The k smallest (distance, slot) pairs among a list of slots, sorted: screened by the codes where
    /// they bound the distances (L2 and cosine), else by comparing every vector.
    fn nearest_among(&self, prepared: &[f32], k: usize, slots: &[u32]) -> Vec<Scored> {
        match &self.codes {
            Some(codes)
                if slots.len() * self.dimension >= SCREEN_MIN_FLOATS
                    && self.space != Space::Ip
                    && codes.covers(self.slot_row.len()) =>
            {
                self.nearest_screened(codes, prepared, k, slots)
            }
            _ => self.nearest(prepared, k, self.prefetching(slots)),
        }
    }

    /// As [`VectorIndex::nearest`], reading every slot's code but only the vectors the codes cannot rule
    /// out (a quarter of the bytes per slot, for scans that wait on memory).
    fn nearest_screened(&self, codes: &Codes, prepared: &[f32], k: usize, slots: &[u32]) -> Vec<Scored> {
        let query = codes.prepare(self.space == Space::L2, prepared);
        let coded: Vec<Scored> = requesting_ahead(slots, |&slot| distance::prefetch_all(codes.code(slot)))
            .map(|&slot| Scored(codes.distance(&query, slot), slot))
            .collect();
        self.rank_screened(codes, prepared, k, coded)
    }

    /// The k smallest exact (distance, slot) pairs among slots scored by their codes (`coded`: code
    /// distance, slot), sorted, reading only the vectors the codes cannot rule out. Exact: the k best by
    /// code give an upper bound on the k-th exact distance, and a slot is skipped only when the lower
    /// bound its code gives ([`crate::codes::Screen`]) exceeds the k-th exact distance found so far.
    /// For L2 and cosine (the spaces the screen bounds).
    fn rank_screened(&self, codes: &Codes, prepared: &[f32], k: usize, mut coded: Vec<Scored>) -> Vec<Scored> {
        let k = k.min(coded.len());
        if k == 0 {
            return Vec::new();
        }
        let screen = codes.screen(self.space == Space::L2);
        coded.select_nth_unstable(k - 1);
        let metric = self.metric();
        let scored = |slot: u32| Scored(metric.to_query(prepared, slot), slot);
        coded[..k].iter().for_each(|c| distance::prefetch_all(self.slot_vector(c.1)));
        let mut best: BinaryHeap<Scored> = coded[..k].iter().map(|c| scored(c.1)).collect();
        // The k-th exact distance so far. (A NaN distance ranks last, as in `nearest`: it bounds nothing.)
        let worst = |best: &BinaryHeap<Scored>| match best.peek() {
            Some(w) if !w.0.is_nan() => w.0,
            _ => f32::INFINITY,
        };
        // Only slots whose bound does not exceed the k-th exact distance can belong, lowest bound first.
        let limit = worst(&best);
        let mut open: Vec<Scored> =
            coded[k..].iter().map(|c| Scored(screen.lower_bound(c.1, c.0), c.1)).filter(|b| b.0 <= limit).collect();
        open.sort_unstable();
        for bound in requesting_ahead(&open, |b| distance::prefetch_all(self.slot_vector(b.1))) {
            if bound.0 > worst(&best) {
                break;
            }
            keep_best(&mut best, k, scored(bound.1));
        }
        best.into_sorted_vec()
    }

    /// The slots of a list, each yielded once the vector `SCAN_PREFETCH_AHEAD` places further on has been
    /// requested: a filter's slots are scattered, and without the hint every comparison waits on memory.
    fn prefetching<'a>(&'a self, slots: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
        requesting_ahead(slots, |&slot| distance::prefetch_all(self.slot_vector(slot))).copied()
    }

    /// Exact top-k over the given slots.
    fn exact(&self, prepared: &[f32], k: usize, slots: impl Iterator<Item = u32>) -> Vec<Hit> {
        self.hits(self.nearest(prepared, k, slots))
    }

    /// The k smallest (distance, slot) pairs among `slots`, sorted.
    fn nearest(&self, prepared: &[f32], k: usize, slots: impl Iterator<Item = u32>) -> Vec<Scored> {
        let metric = self.metric();
        let mut heap: BinaryHeap<Scored> = BinaryHeap::with_capacity(k + 1);
        for slot in slots {
            keep_best(&mut heap, k, Scored(metric.to_query(prepared, slot), slot));
        }
        heap.into_sorted_vec()
    }

    fn hits(&self, sorted: Vec<Scored>) -> Vec<Hit> {
        sorted.into_iter().map(|Scored(distance, slot)| Hit { row: self.slot_row[slot as usize], distance }).collect()
    }

    /// Graph search over live slots. If the graph returns fewer than it should, the exact scan answers
    /// instead, so a result is never short while records exist.
    fn graph_search(&self, prepared: &[f32], k: usize) -> Vec<Hit> {
        let Some(graph) = self.graph.as_ref() else { return Vec::new() };
        let metric = self.metric();
        let ef = self.params.ef_search.max(k);
        let live = |slot: u32| self.is_live(slot);
        // Without dead slots every graph node qualifies: skip the per-node check.
        let accept: Option<&dyn Fn(u32) -> bool> = if self.row_slot.len() == self.slot_row.len() { None } else { Some(&live) };
        let found = match &self.codes {
            // Walk the codes, then rank what the walk found by the exact distances.
            Some(codes) => {
                let query = codes.prepare(self.space == Space::L2, prepared);
                let mut found = graph.search(&query, ef, ef, &CodeMetric { codes, exact: &metric }, accept);
                if self.space == Space::Ip {
                    // No screen for inner products: every candidate's exact distance. All their vectors
                    // are requested before the first is read.
                    found.iter().for_each(|candidate| distance::prefetch_all(metric.vector(candidate.1)));
                    for candidate in &mut found {
                        candidate.0 = metric.to_query(prepared, candidate.1);
                    }
                    found.sort_unstable();
                    found.truncate(k);
                    found
                } else {
                    // Exact distances only for the candidates whose codes leave them a chance: the same k.
                    self.rank_screened(codes, prepared, k, found)
                }
            }
            None => graph.search(prepared, k, ef, &metric, accept),
        };
        self.hits_or_scan(prepared, k, found)
    }

    /// The graph's answer, unless it is short of k while records exist: then the exact scan's.
    fn hits_or_scan(&self, prepared: &[f32], k: usize, found: Vec<Scored>) -> Vec<Hit> {
        if found.len() < k.min(self.row_slot.len()) {
            return self.exact(prepared, k, self.live_slots());
        }
        self.hits(found)
    }
}

/// Adds `candidate` to `best`, a max-heap of at most `k`, if it is among the k smallest so far. By (distance,
/// slot), not distance alone: ties at the k-th place then resolve the same in any scan order (a filter's
/// slots come unsorted, a parallel scan in parts).
fn keep_best(best: &mut BinaryHeap<Scored>, k: usize, candidate: Scored) {
    if best.len() < k {
        best.push(candidate);
    } else if best.peek().is_some_and(|worst| candidate < *worst) {
        best.pop();
        best.push(candidate);
    }
}

/// The items of `items`, each yielded after `request` was called for the item `SCAN_PREFETCH_AHEAD` places
/// further on: scattered reads then overlap instead of each waiting on memory.
fn requesting_ahead<'a, T>(items: &'a [T], request: impl Fn(&T) + 'a) -> impl Iterator<Item = &'a T> + 'a {
    items.iter().enumerate().map(move |(i, item)| {
        if let Some(ahead) = items.get(i + SCAN_PREFETCH_AHEAD) {
            request(ahead);
        }
        item
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> GraphParams {
        GraphParams { max_neighbors: 16, ef_construction: 100, ef_search: 100 }
    }

    fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.max(1);
        (0..n * dim)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 10_000) as f32 / 10_000.0 - 0.5
            })
            .collect()
    }

    fn brute(index: &VectorIndex, q: &[f32], k: usize) -> Vec<u64> {
        let mut prepared = q.to_vec();
        if index.space == Space::Cosine {
            distance::normalize(&mut prepared);
        }
        let metric = index.metric();
        let mut all: Vec<Scored> =
            index.live_slots().map(|slot| Scored(metric.to_query(&prepared, slot), slot)).collect();
        all.sort_unstable();
        all.into_iter().take(k).map(|s| index.slot_row[s.1 as usize]).collect()
    }

    #[test]
    fn exact_small_index_and_deletes() {
        let mut index = VectorIndex::new(Space::L2, 2, params());
        index.put(&[0, 1, 2], &[0.0, 0.0, 1.0, 0.0, 5.0, 5.0]);
        let hits = index.search(&[0.9, 0.0], 2, None);
        assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![1, 0]);
        assert!((hits[0].distance - 0.01).abs() < 1e-6);
        index.remove(1);
        let hits = index.search(&[0.9, 0.0], 3, None);
        assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), vec![0, 2]);
        // Replacing a vector moves the row.
        index.put(&[0], &[6.0, 6.0]);
        assert_eq!(index.search(&[6.0, 6.0], 1, None)[0].row, 0);
        assert_eq!(index.vector(0), Some(&[6.0, 6.0][..]));
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn long_filtered_scans_split_across_threads_agree_with_brute_force() {
        // 2,000 × 1,100 floats is above PARALLEL_SCAN_MIN_FLOATS (and below the graph threshold).
        let (n, dim) = (2000, 1100);
        assert!(n * dim >= PARALLEL_SCAN_MIN_FLOATS && n < GRAPH_MIN_LIVE);
        let mut index = VectorIndex::new(Space::L2, dim, params());
        let rows: Vec<u64> = (0..n as u64).collect();
        // Many exact duplicates: ties must be broken the same way (by slot) as the single-thread scan.
        let mut data = random_vectors(n, dim, 7);
        data.copy_within(0..dim * 200, dim * 1000);
        index.put(&rows, &data);
        for q in 0..4 {
            let query = &data[(q * 300 + 1) * dim..(q * 300 + 2) * dim];
            let hits = index.search(query, 25, Some(&rows));
            assert_eq!(hits.iter().map(|h| h.row).collect::<Vec<_>>(), brute(&index, query, 25));
            let single = index.exact(query, 25, index.live_slots());
            assert_eq!(hits, single);
        }
    }

    #[test]
    fn scans_screened_by_the_codes_equal_full_scans() {
        // A shell around the axis point `a·e₀`: x = a·e₀ + rᵢ·w with w a unit vector across the other
        // dimensions and rᵢ within 0.1 % of 1, so from the centre (and by angle) every vector is nearly as
        // far as every other, far closer than the codes can tell apart: only the bounds decide what is
        // read, and a bound too tight by any margin shows. Plus exact duplicates (ties).
        let (n, dim) = (4200, 64);
        let mut data = Vec::with_capacity(n * dim);
        for (i, w) in random_vectors(n, dim, 17).chunks(dim).enumerate() {
            let mut w = w.to_vec();
            w[0] = 0.0;
            distance::normalize(&mut w);
            let r = 1.0 + 1e-3 * (i % 97) as f32 / 97.0;
            data.push(0.5);
            data.extend(w[1..].iter().map(|x| x * r));
        }
        data.copy_within(0..dim * 300, dim * 2000);
        let rows: Vec<u64> = (0..n as u64).collect();
        let centre: Vec<f32> = (0..dim).map(|j| if j == 0 { 0.5 } else { 0.0 }).collect();
        for space in [Space::L2, Space::Cosine] {
            // A sparse graph builds fast; only its codes are used here.
            let sparse = GraphParams { max_neighbors: 4, ef_construction: 8, ef_search: 8 };
            let mut index = VectorIndex::new(space, dim, sparse);
            index.put(&rows, &data);
            let codes = index.codes.as_ref().expect("codes");
            let lists: [Vec<u32>; 3] = [
                (0..n as u32).collect(),
                (0..n as u32).rev().filter(|s| s % 7 == 3).collect(),
                vec![4, 2004, 9, 4100],
            ];
            let near = |j: usize| data[j * dim..][..dim].iter().zip(&centre).map(|(x, c)| c + (x - c) * 0.01).collect();
            for query in [centre.clone(), near(7), data[2100 * dim..][..dim].to_vec()] {
                let mut prepared = query;
                if space == Space::Cosine {
                    distance::normalize(&mut prepared);
                }
                for slots in &lists {
                    for k in [1, 10, 60, n] {
                        let screened = index.nearest_screened(codes, &prepared, k, slots);
                        let full = index.nearest(&prepared, k.min(slots.len()), slots.iter().copied());
                        // Ties at the k-th place resolve by slot, in any scan order.
                        assert_eq!(full, index.nearest(&prepared, k.min(slots.len()), slots.iter().rev().copied()));
                        assert_eq!(screened.len(), full.len());
                        for (a, b) in screened.iter().zip(&full) {
                            assert!(a.1 == b.1 && a.0.to_bits() == b.0.to_bits(), "{space:?} k {k}: {a:?} vs {b:?}");
                        }
                    }
                }
            }
            // The graph's candidates ranked by the screen: the same k as ranking every candidate.
            let ef = 400;
            index.set_ef_search(ef);
            let codes = index.codes.as_ref().expect("codes");
            for query in [centre.clone(), near(3), near(11)] {
                let mut prepared = query.clone();
                if space == Space::Cosine {
                    distance::normalize(&mut prepared);
                }
                let walk = codes.prepare(space == Space::L2, &prepared);
                let graph = index.graph.as_ref().expect("graph");
                let found = graph.search(&walk, ef, ef, &CodeMetric { codes, exact: &index.metric() }, None);
                let mut all: Vec<Scored> = found.iter().map(|c| Scored(index.metric().to_query(&prepared, c.1), c.1)).collect();
                all.sort_unstable();
                all.truncate(10);
                // (The prepared query itself: a query normalised in another allocation may differ in
                // its last bits, as the kernels' summation order follows alignment.)
                assert_eq!(index.graph_search(&prepared, 10), index.hits(all), "{space:?}");
            }
            // Through the public search, above the size at which scans are screened.
            assert!(n * dim >= SCREEN_MIN_FLOATS);
            let mut prepared = centre.clone();
            if space == Space::Cosine {
                distance::normalize(&mut prepared);
            }
            let slots = index.slots_of(&rows);
            assert_eq!(index.exact_over(&prepared, 20, &slots), index.exact(&prepared, 20, index.live_slots()));
        }
    }

    #[test]
    fn slots_of_gives_the_live_slots_of_the_rows_in_slot_order() {
        let (n, dim) = (12_000, 4);
        let mut index = VectorIndex::new(Space::L2, dim, params());
        let rows: Vec<u64> = (0..n as u64).map(|i| i * 3).collect();
        index.put(&rows, &random_vectors(n, dim, 5));
        index.reorder();
        index.remove(6);
        let slot_of = |row: u64| index.row_slot.get(&row).copied();
        // Rows 6 (deleted) and 1 (never stored) have no slot.
        let long: Vec<u64> = rows.iter().copied().filter(|r| r % 2 == 0).collect();
        assert!(long.len() > UNSORTED_SCAN_MAX, "the long list must take the ordered path");
        for wanted in [long, vec![9, 1, 6, 0]] {
            let mut expected: Vec<u32> = wanted.iter().filter_map(|&r| slot_of(r)).collect();
            expected.sort_unstable();
            let mut got = index.slots_of(&wanted);
            if wanted.len() > UNSORTED_SCAN_MAX {
                assert!(got.windows(2).all(|w| w[0] < w[1]), "a long list comes in slot order");
            }
            got.sort_unstable();
            assert_eq!(got, expected);
        }
        assert!(index.slots_of(&rows).len() == n - 1 && index.slots_of(&[]).is_empty());
    }

    #[test]
    fn cosine_keeps_original_vectors() {
        let mut index = VectorIndex::new(Space::Cosine, 2, params());
        index.put(&[7], &[3.0, 4.0]);
        assert_eq!(index.vector(7), Some(&[3.0, 4.0][..]));
        let hit = index.search(&[6.0, 8.0], 1, None)[0];
        assert!(hit.distance.abs() < 1e-6);
    }

    #[test]
    fn graph_recall_deletes_and_filters() {
        for space in [Space::L2, Space::Cosine, Space::Ip] {
            graph_recall_in(space);
        }
    }

    fn graph_recall_in(space: Space) {
        let (n, dim) = (3000, 16);
        // Norms well above 1 so ip distances go negative.
        let data: Vec<f32> = random_vectors(n, dim, 7).iter().map(|x| x * 4.0).collect();
        let rows: Vec<u64> = (0..n as u64).collect();
        let mut index = VectorIndex::new(space, dim, params());
        index.put(&rows, &data);
        assert!(index.graph.is_some());
        for r in (0..n as u64).step_by(3) {
            index.remove(r);
        }
        let queries = random_vectors(50, dim, 99);
        let mut found = 0;
        for q in queries.chunks(dim) {
            let hits = index.search(q, 10, None);
            assert!(hits.iter().all(|h| h.row % 3 != 0), "deleted row returned");
            assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
            let truth = brute(&index, q, 10);
            found += hits.iter().filter(|h| truth.contains(&h.row)).count();
        }
        let recall = found as f64 / 500.0;
        assert!(recall >= 0.95, "recall {recall} in {space:?}");
        // A vector far longer than any before: nearest by angle and by inner product (negative ip distances).
        index.put(&[n as u64], &vec![100.0; dim]);
        let nearest = index.search(&vec![1.0; dim], 1, None)[0];
        if space == Space::L2 {
            assert_ne!(nearest.row, n as u64);
        } else {
            assert_eq!(nearest.row, n as u64, "{space:?}");
        }
        let allowed: Vec<u64> = (0..n as u64).filter(|r| r % 5 == 1).collect();
        let hits = index.search(&queries[..dim], 10, Some(&allowed));
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.row % 5 == 1 && h.row % 3 != 0));
    }

    #[test]
    fn codes_are_four_bit_where_rounding_is_small_against_neighbour_distances() {
        let n = 3000;
        let rows: Vec<u64> = (0..n as u64).collect();
        // 256 values of 0..=3 each: neighbours ~20 apart, 4-bit rounding ~0.065 per value (2σ/d ≈ 0.6 %).
        let dim = 256;
        let coarse: Vec<f32> = random_vectors(n, dim, 31).iter().map(|x| ((x + 0.5) * 4.0).floor().min(3.0)).collect();
        for space in [Space::L2, Space::Cosine] {
            let mut index = VectorIndex::new(space, dim, params());
            index.put(&rows, &coarse);
            assert!(index.codes.as_ref().is_some_and(Codes::nibbles), "4-bit codes in {space:?}");
            // The walk on 4-bit codes still finds the top-10 (8-bit codes: 96–98 % here; the graph, built in
            // parallel, differs from run to run), with exact distances.
            let metric = index.metric();
            let (mut found, mut wanted) = (0, 0);
            for q in random_vectors(20, dim, 32).chunks(dim) {
                let q: Vec<f32> = q.iter().map(|x| ((x + 0.5) * 4.0).floor().min(3.0)).collect();
                let mut prepared = q.clone();
                if space == Space::Cosine {
                    distance::normalize(&mut prepared);
                }
                let mut exact: Vec<(f32, u64)> = (0..n as u32)
                    .map(|slot| (metric.to_query(&prepared, slot), index.slot_row[slot as usize]))
                    .collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                let hits = index.search(&q, 10, None);
                for hit in &hits {
                    let slot = *index.row_slot.get(&hit.row).expect("live row");
                    let distance = metric.to_query(&prepared, slot);
                    assert!((hit.distance - distance).abs() <= 1e-6 * distance.abs().max(1.0), "{space:?}");
                }
                // Ties at the 10th distance count as found.
                let tenth = exact[9].0;
                found += hits.iter().filter(|h| h.distance <= tenth).count();
                wanted += 10;
            }
            assert!(found * 100 >= wanted * 90, "{space:?}: recall {found} of {wanted}");
            // A snapshot read back chooses 4 bits again and finds the same rows (cosine norms are
            // computed again on reading, so distances may differ in the last bit).
            let mut bytes = Vec::new();
            index.write_snapshot(&mut bytes);
            let back = VectorIndex::read_snapshot(space, dim, params(), &bytes).expect("valid snapshot");
            assert!(back.codes.as_ref().is_some_and(Codes::nibbles), "4-bit codes after reading in {space:?}");
            let q = &coarse[7 * dim..8 * dim];
            let rows = |hits: Vec<Hit>| hits.into_iter().map(|hit| hit.row).collect::<Vec<u64>>();
            assert_eq!(rows(back.search(q, 10, None)), rows(index.search(q, 10, None)), "{space:?}");
        }
        // Uniform values in 24 dimensions: neighbours close against the range (2σ/d ≈ 7 %), and any
        // `ip` index: 8-bit codes.
        let dim = 24;
        let fine = random_vectors(n, dim, 33);
        for (space, data) in [(Space::L2, &fine), (Space::Ip, &coarse)] {
            let dim = data.len() / n;
            let mut index = VectorIndex::new(space, dim, params());
            index.put(&rows, data);
            assert!(index.codes.as_ref().is_some_and(|codes| !codes.nibbles()), "8-bit codes in {space:?}");
        }
    }

    #[test]
    fn graph_walk_on_codes_returns_exact_distances() {
        let (n, dim) = (3000, 24);
        let data: Vec<f32> = random_vectors(n, dim, 21).iter().map(|x| x * 3.0).collect();
        let rows: Vec<u64> = (0..n as u64).collect();
        for space in [Space::L2, Space::Cosine, Space::Ip] {
            let mut index = VectorIndex::new(space, dim, params());
            index.put(&rows, &data);
            assert!(index.codes.is_some(), "codes with the graph in {space:?}");
            let queries = random_vectors(20, dim, 5);
            for q in queries.chunks(dim) {
                let mut prepared = q.to_vec();
                if space == Space::Cosine {
                    distance::normalize(&mut prepared);
                }
                let metric = index.metric();
                for hit in index.search(q, 10, None) {
                    let slot = *index.row_slot.get(&hit.row).expect("live row");
                    // Exact up to the rounding of the query's normalisation (codes are off by ~1e-3).
                    let exact = metric.to_query(&prepared, slot);
                    assert!((hit.distance - exact).abs() <= 1e-6 * exact.abs().max(1.0), "{space:?}");
                }
            }
        }
        // Values whose spread cannot be coded: no codes, and the graph walks the f32 vectors.
        let mut wide = data.clone();
        wide[0] = -3e38;
        wide[dim] = 3e38;
        let mut index = VectorIndex::new(Space::L2, dim, params());
        index.put(&rows, &wide);
        assert!(index.graph.is_some() && index.codes.is_none());
        let q = &data[5 * dim..6 * dim];
        assert_eq!(index.search(q, 1, None)[0].row, 5);
        // Compaction and a snapshot bring the codes back for the renumbered slots.
        let big = random_vectors(5000, dim, 22);
        let mut index = VectorIndex::new(Space::L2, dim, params());
        index.put(&(0..5000).collect::<Vec<u64>>(), &big);
        (0..2600).for_each(|r| index.remove(r));
        index.put(&[5000], &big[..dim]); // more dead slots than live: compacts, then rebuilds the graph
        assert_eq!(index.slot_row.len(), 2401);
        assert!(index.codes.is_some() && index.graph.is_some());
        assert_eq!(index.search(&big[..dim], 1, None)[0].row, 5000);
        assert_eq!(index.search(&big[4000 * dim..4001 * dim], 1, None)[0].row, 4000);
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes);
        let back = VectorIndex::read_snapshot(Space::L2, dim, params(), &bytes).expect("valid snapshot");
        assert!(back.codes.is_some());
        assert_eq!(back.search(&big[4600 * dim..4601 * dim], 1, None)[0].row, 4600);
    }

    #[test]
    fn snapshot_round_trips_and_rejects_damage() {
        let dim = 8;
        let mut index = VectorIndex::new(Space::Cosine, dim, params());
        let data = random_vectors(3000, dim, 5);
        index.put(&(0..3000).collect::<Vec<u64>>(), &data);
        index.remove(17);
        let mut bytes = Vec::new();
        index.write_snapshot(&mut bytes);
        let back = VectorIndex::read_snapshot(Space::Cosine, dim, params(), &bytes).expect("valid snapshot");
        assert!(back.graph.is_some());
        assert_eq!(back.len(), index.len());
        assert_eq!(back.vector(5), index.vector(5));
        let q = &data[..dim];
        assert_eq!(back.search(q, 10, None), index.search(q, 10, None));
        assert!(VectorIndex::read_snapshot(Space::L2, dim, params(), &bytes).is_none(), "other space");
        assert!(VectorIndex::read_snapshot(Space::Cosine, dim + 1, params(), &bytes).is_none(), "other dimension");
        assert!(VectorIndex::read_snapshot(Space::Cosine, dim, params(), &bytes[..bytes.len() - 3]).is_none());
        let mut garbled = bytes.clone();
        let at = bytes.len() - 40;
        garbled[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(VectorIndex::read_snapshot(Space::Cosine, dim, params(), &garbled).is_none());
    }

    #[test]
    fn compaction_keeps_rows() {
        let dim = 4;
        let mut index = VectorIndex::new(Space::Ip, dim, params());
        let data = random_vectors(3000, dim, 3);
        let rows: Vec<u64> = (0..3000).collect();
        index.put(&rows, &data);
        for r in 0..2500 {
            index.remove(r);
        }
        index.put(&[5000], &[1.0, 1.0, 1.0, 1.0]); // triggers compaction
        assert_eq!(index.len(), 501);
        // A huge k is bounded by what exists (it must not size an allocation).
        assert_eq!(index.search(&[1.0, 1.0, 1.0, 1.0], u32::MAX as usize, None).len(), 501);
        assert_eq!(index.vector(2999), Some(&data[2999 * dim..3000 * dim]));
        assert_eq!(index.search(&[1.0, 1.0, 1.0, 1.0], 1, Some(&[5000]))[0].row, 5000);
    }

    #[test]
    fn renumbering_keeps_rows_results_and_distances() {
        let (n, dim) = (5000, 12);
        let data: Vec<f32> = random_vectors(n, dim, 31).iter().map(|x| x * 2.0).collect();
        let rows: Vec<u64> = (0..n as u64).map(|r| r * 7 + 3).collect();
        for space in [Space::L2, Space::Cosine, Space::Ip] {
            let mut index = VectorIndex::new(space, dim, params());
            index.put(&rows[..GRAPH_MIN_LIVE], &data[..GRAPH_MIN_LIVE * dim]);
            index.put(&rows[GRAPH_MIN_LIVE..], &data[GRAPH_MIN_LIVE * dim..]);
            assert_eq!(index.ordered_slots, n, "a large put lays the slots out again");
            let laid_out = index.slot_row.clone();
            index.reorder();
            assert_eq!(index.slot_row, laid_out, "{space:?}: the layout is a fixed point");
            for r in rows.iter().step_by(4) {
                index.remove(*r);
            }
            // A copy with its slots shuffled must answer as the index does: the same rows, and distances
            // equal up to rounding (the kernels' summation order follows a vector's address alignment).
            let mut bytes = Vec::new();
            index.write_snapshot(&mut bytes);
            let mut shuffled = VectorIndex::read_snapshot(space, dim, params(), &bytes).expect("snapshot");
            let mut order: Vec<u32> = (0..n as u32).collect();
            let mut state = 5u64;
            for i in (1..n).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            shuffled.renumber(&order);
            // Both walk codes fitted to all the data at once (the index's grew with its puts).
            index.codes = None;
            index.refresh_codes();
            for (i, &row) in rows.iter().enumerate() {
                let expected = (i % 4 != 0).then(|| &data[i * dim..][..dim]);
                assert_eq!(index.vector(row), expected);
                assert_eq!(shuffled.vector(row), expected);
            }
            let allowed: Vec<u64> = rows.iter().copied().filter(|r| r % 3 == 0).collect();
            let same = |a: Vec<Hit>, b: Vec<Hit>| {
                assert_eq!(a.iter().map(|h| h.row).collect::<Vec<_>>(), b.iter().map(|h| h.row).collect::<Vec<_>>());
                for (a, b) in a.iter().zip(&b) {
                    assert!((a.distance - b.distance).abs() <= 1e-6 * a.distance.abs().max(1.0), "{space:?}");
                }
            };
            for q in random_vectors(20, dim, 77).chunks(dim) {
                let hits = index.search(q, 10, None);
                assert_eq!(hits.len(), 10);
                assert!(hits.iter().all(|h| (h.row - 3) / 7 % 4 != 0), "deleted row returned");
                same(shuffled.search(q, 10, None), hits);
                same(shuffled.search(q, 5, Some(&allowed)), index.search(q, 5, Some(&allowed)));
            }
        }
    }
}
