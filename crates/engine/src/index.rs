//! The vector index of one collection: the stored vectors (exactly as given), an exact scan, and an HNSW
//! graph (hnsw_rs) for large collections.
//!
//! Invariants:
//! - every live record row has exactly one live slot; a slot is dead once its row is deleted or its
//!   vector replaced, and a dead slot is never returned by a search (the graph search filters on liveness);
//! - when a graph exists it holds every slot, live or dead, below `slot_row.len()`;
//! - results are the k nearest allowed rows by Chroma's distance, sorted ascending.

use std::collections::{BinaryHeap, HashMap};

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::prelude::Hnsw;

use crate::distance::{self, Space};

/// Below this many live vectors an exact scan is as fast as the graph, and exact.
pub const GRAPH_MIN_LIVE: usize = 2048;
/// With a filter allowing at most this many rows, an exact scan over them beats a filtered graph search.
const EXACT_ALLOWED_MAX: usize = 20_000;
const DEAD: u64 = u64::MAX;
const MAX_LAYERS: usize = 16;

/// Graph parameters (Chroma's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphParams {
    pub max_neighbors: usize,
    pub ef_construction: usize,
    pub ef_search: usize,
}

/// The distance the graph uses: our SIMD kernels. hnsw_rs requires distances >= 0, so:
/// - cosine (the graph holds normalised copies) clamps the rounding error below 0;
/// - ip adds `ip_shift`, an upper bound of every dot product the graph can see (stored vectors have
///   squared norm <= ip_shift and queries are scaled to norm sqrt(ip_shift)); a constant shift keeps the order.
#[derive(Debug, Clone, Copy)]
struct KernelDistance {
    space: Space,
    ip_shift: f32,
}

impl Distance<f32> for KernelDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = distance::distance(self.space, a, b);
        match self.space {
            Space::Ip => (d + self.ip_shift).max(0.0),
            _ => d.max(0.0),
        }
    }
}

type Graph = Hnsw<'static, f32, KernelDistance>;

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
    row_slot: HashMap<u64, u32>,
    graph: Option<Graph>,
    /// Ip only: the shift of the current graph (see KernelDistance).
    ip_shift: f32,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub row: u64,
    pub distance: f32,
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
            row_slot: HashMap::new(),
            graph: None,
            ip_shift: 0.0,
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

    /// The stored vector of a row.
    pub fn vector(&self, row: u64) -> Option<&[f32]> {
        self.row_slot.get(&row).map(|&slot| self.slot_vector(slot))
    }

    fn slot_vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dimension;
        &self.vectors[start..start + self.dimension]
    }

    /// Sets the vectors of rows (insert or replace). `data` is row-major with this index's dimension.
    pub fn put(&mut self, rows: &[u64], data: &[f32]) {
        let first_new_slot = self.slot_row.len();
        for (i, &row) in rows.iter().enumerate() {
            self.remove(row);
            let vector = &data[i * self.dimension..(i + 1) * self.dimension];
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
            self.insert_into_graph(first_new_slot);
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
            self.graph = Some(self.new_graph());
            self.insert_into_graph(0);
        }
    }

    /// Drops dead slots and renumbers the live ones in slot order; rebuilds the graph if there was one.
    fn compact(&mut self) {
        let had_graph = self.graph.take().is_some();
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
            self.graph = Some(self.new_graph());
            self.insert_into_graph(0);
        }
    }

    fn new_graph(&mut self) -> Graph {
        let capacity = self.slot_row.len().max(GRAPH_MIN_LIVE);
        if self.space == Space::Ip {
            self.ip_shift = 2.0 * self.max_squared_norm(0).max(1.0);
        }
        Hnsw::new(
            self.params.max_neighbors,
            capacity,
            MAX_LAYERS,
            self.params.ef_construction,
            KernelDistance { space: self.space, ip_shift: self.ip_shift },
        )
    }

    fn max_squared_norm(&self, from: usize) -> f32 {
        (from..self.slot_row.len())
            .filter(|&s| self.slot_row[s] != DEAD)
            .map(|s| {
                let v = self.slot_vector(s as u32);
                distance::dot(v, v)
            })
            .fold(0.0, f32::max)
    }

    /// Inserts slots `from..` into the graph, in parallel for large batches.
    fn insert_into_graph(&mut self, from: usize) {
        if self.graph.is_some() && self.space == Space::Ip && self.max_squared_norm(from) > self.ip_shift {
            // A vector longer than the graph's bound: rebuild with a larger shift.
            self.graph = Some(self.new_graph());
            return self.insert_into_graph(0);
        }
        let Some(graph) = self.graph.as_ref() else { return };
        let slots: Vec<usize> = (from..self.slot_row.len()).filter(|&s| self.slot_row[s] != DEAD).collect();
        let normalised: Vec<Vec<f32>>;
        let items: Vec<(&[f32], usize)> = if self.space == Space::Cosine {
            normalised = slots
                .iter()
                .map(|&s| {
                    let mut v = self.slot_vector(s as u32).to_vec();
                    distance::normalize(&mut v);
                    v
                })
                .collect();
            normalised.iter().zip(&slots).map(|(v, &s)| (v.as_slice(), s)).collect()
        } else {
            slots.iter().map(|&s| (self.slot_vector(s as u32), s)).collect()
        };
        if items.len() >= 64 {
            graph.parallel_insert_slice(&items);
        } else {
            for item in items {
                graph.insert_slice(item);
            }
        }
    }

    /// The `k` nearest rows to `query`, restricted to `allowed` rows when given.
    pub fn search(&self, query: &[f32], k: usize, allowed: Option<&[u64]>) -> Vec<Hit> {
        if k == 0 || self.row_slot.is_empty() {
            return Vec::new();
        }
        let mut prepared = query.to_vec();
        if self.space == Space::Cosine {
            distance::normalize(&mut prepared);
        }
        match allowed {
            Some(rows) => {
                let mut slots: Vec<u32> = rows.iter().filter_map(|r| self.row_slot.get(r).copied()).collect();
                slots.sort_unstable();
                if slots.len() <= EXACT_ALLOWED_MAX || self.graph.is_none() {
                    return self.exact(&prepared, k, slots.into_iter());
                }
                self.graph_search(&prepared, k, Some(&slots))
            }
            None if self.graph.is_none() => {
                self.exact(&prepared, k, (0..self.slot_row.len() as u32).filter(|&s| self.slot_row[s as usize] != DEAD))
            }
            None => self.graph_search(&prepared, k, None),
        }
    }

    fn slot_distance(&self, prepared: &[f32], slot: u32) -> f32 {
        let v = self.slot_vector(slot);
        match self.space {
            Space::Cosine => 1.0 - distance::dot(prepared, v) * self.inverse_norms[slot as usize],
            space => distance::distance(space, prepared, v),
        }
    }

    /// Exact top-k over the given slots.
    fn exact(&self, prepared: &[f32], k: usize, slots: impl Iterator<Item = u32>) -> Vec<Hit> {
        let mut heap: BinaryHeap<Candidate> = BinaryHeap::with_capacity(k + 1);
        for slot in slots {
            let d = self.slot_distance(prepared, slot);
            if heap.len() < k {
                heap.push(Candidate(d, slot));
            } else if let Some(top) = heap.peek() {
                if d < top.0 {
                    heap.pop();
                    heap.push(Candidate(d, slot));
                }
            }
        }
        let mut hits: Vec<Hit> =
            heap.into_iter().map(|Candidate(d, slot)| Hit { row: self.slot_row[slot as usize], distance: d }).collect();
        sort_hits(&mut hits);
        hits
    }

    /// Graph search over live (and, if given, allowed) slots. If the graph returns fewer than it
    /// should, the exact scan answers instead, so a result is never short while matches exist.
    fn graph_search(&self, prepared: &[f32], k: usize, allowed_sorted: Option<&[u32]>) -> Vec<Hit> {
        let Some(graph) = self.graph.as_ref() else { return Vec::new() };
        let live = |id: &usize| self.slot_row.get(*id).is_some_and(|&r| r != DEAD);
        let filter = |id: &usize| live(id) && allowed_sorted.is_none_or(|a| a.binary_search(&(*id as u32)).is_ok());
        let ef = self.params.ef_search.max(k);
        let scaled;
        let graph_query = if self.space == Space::Ip {
            let mut q = prepared.to_vec();
            let norm = distance::normalize(&mut q);
            if norm > 0.0 {
                let scale = self.ip_shift.sqrt();
                q.iter_mut().for_each(|x| *x *= scale);
            }
            scaled = q;
            &scaled[..]
        } else {
            prepared
        };
        // Without dead slots or an allowed set every graph node qualifies: skip the per-node filter.
        let unrestricted = allowed_sorted.is_none() && self.row_slot.len() == self.slot_row.len();
        let neighbours = if unrestricted {
            graph.search(graph_query, k, ef)
        } else {
            graph.search_filter(graph_query, k, ef, Some(&filter))
        };
        let expected = k.min(allowed_sorted.map_or(self.row_slot.len(), |a| a.len()));
        if neighbours.len() < expected {
            return match allowed_sorted {
                Some(slots) => self.exact(prepared, k, slots.iter().copied()),
                None => self.exact(prepared, k, (0..self.slot_row.len() as u32).filter(|&s| self.slot_row[s as usize] != DEAD)),
            };
        }
        let mut hits: Vec<Hit> = neighbours
            .iter()
            .map(|n| {
                let slot = n.d_id as u32;
                Hit { row: self.slot_row[slot as usize], distance: self.slot_distance(prepared, slot) }
            })
            .collect();
        sort_hits(&mut hits);
        hits.truncate(k);
        hits
    }
}

fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
}

/// Max-heap entry on distance (ties broken by slot for determinism).
struct Candidate(f32, u32);

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
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
        let mut all: Vec<Hit> = index
            .row_slot
            .iter()
            .map(|(&row, &slot)| Hit { row, distance: index.slot_distance(&prepared, slot) })
            .collect();
        sort_hits(&mut all);
        all.into_iter().take(k).map(|h| h.row).collect()
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
        // A longer vector than any before forces the ip graph to rebuild with a larger bound.
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
        assert_eq!(index.vector(2999), Some(&data[2999 * dim..3000 * dim]));
        assert_eq!(index.search(&[1.0, 1.0, 1.0, 1.0], 1, Some(&[5000]))[0].row, 5000);
    }
}
