//! An HNSW graph (Malkov & Yashunin) over vectors that live elsewhere: nodes are slot numbers of the
//! caller's flat vector store, and every distance is asked of a [`Metric`]. The graph stores links only.
//!
//! Invariants:
//! - node `i` exists for every `i < len()`; its level is fixed at insertion;
//! - a node's links on a layer are at most `max_links(layer)` distinct other nodes that exist on that layer;
//! - `entry` is a node of the highest level (`max_level`), or None when the graph is empty.
//!
//! Storage: links live in flat arrays of atomics, one fixed-size block per node and layer holding
//! `[count, id, id, ...]`: layer 0 in one array indexed by node, the upper layers of all nodes in a second
//! array (a node's blocks contiguous, found through a per-node start), so a search reads a node's links
//! with one indexed load and no lock, and a node costs no allocation of its own. A search prefetches the
//! vectors of the neighbours it is about to compare and the link block of every node it queues, so the
//! node's expansion later does not wait on memory.
//!
//! Concurrency: inserts take `&self` and may run in parallel. A writer changes a node's block only while
//! holding that node's lock, and no thread ever holds two node locks at once, so insertion cannot deadlock.
//! A reader (a concurrent insert's search) may see a block mid-update; every id it can read is a node that
//! exists (all nodes are reserved before linking starts), so that only affects which path a search takes,
//! as in hnswlib. Queries run while no insert runs (the caller keeps them apart), so they see whole blocks.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};

use crate::distance;
use crate::row_map::{grow_for, permute_rows};

/// Distances between stored nodes and from a prepared query to a node.
pub trait Metric: Sync {
    type Query: ?Sized;
    fn to_query(&self, query: &Self::Query, node: u32) -> f32;
    fn between(&self, a: u32, b: u32) -> f32;
    /// Starts loading a node's vector that will be compared soon (a hint).
    fn prefetch(&self, _node: u32) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphParams {
    pub max_neighbors: usize,
    pub ef_construction: usize,
}

pub struct Graph {
    params: GraphParams,
    /// Layer 0: node `i` owns `layer0[i * block0 .. (i + 1) * block0]` = `[count, ids...]`.
    layer0: Vec<AtomicU32>,
    /// Layers 1..=level of all nodes, `1 + max_neighbors` slots per block: node `i`'s `level` blocks start
    /// at block `upper_start[i]`.
    upper: Vec<AtomicU32>,
    upper_start: Vec<u32>,
    levels: Vec<u8>,
    /// Held by the one thread changing a node's blocks.
    locks: Vec<Mutex<()>>,
    /// (entry node, its level).
    entry: RwLock<Option<(u32, usize)>>,
    visited: Mutex<Vec<Visited>>,
}

/// A candidate: distance and node, ordered by distance then node.
#[derive(Debug, Clone, Copy)]
pub struct Scored(pub f32, pub u32);

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// A reusable visited set: a node is visited when its mark equals the current generation. One exists per
/// thread that searches at once, each with a mark per node: u16 marks keep that small (the marks are
/// cleared once every 65,535 searches).
struct Visited {
    marks: Vec<u16>,
    generation: u16,
}

impl Visited {
    fn reset(&mut self, len: usize) {
        if self.marks.len() < len {
            let missing = len - self.marks.len();
            grow_for(&mut self.marks, missing);
            self.marks.resize(len, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.generation = 1;
        }
    }

    /// Marks `node`; true if it was not visited yet.
    fn insert(&mut self, node: u32) -> bool {
        let mark = &mut self.marks[node as usize];
        if *mark == self.generation {
            return false;
        }
        *mark = self.generation;
        true
    }
}

/// The best nodes found so far by a search without `accept`, at most `capacity`, sorted by (distance,
/// node), each flagged once expanded. Every entry before `next` is expanded. One sorted array replaces the
/// candidate and result heaps: with `ef` entries or fewer, an insertion's shift costs less than two heap
/// updates, and the next node to expand is the first unexpanded entry.
///
/// An entry is one u64 that orders as its `Scored` does: the distance's bits in f32 total order above
/// the node, whose top bit (`EXPANDED`, never set in a node: see `MAX_NODES`) is the expanded flag,
/// left out of every comparison. Eight bytes an entry, compared and shifted as integers.
struct SearchList {
    entries: Vec<u64>,
    capacity: usize,
    next: usize,
}

const EXPANDED: u64 = 1 << 31;

/// `scored` as a list entry (not expanded).
fn entry_key(scored: Scored) -> u64 {
    debug_assert!(u64::from(scored.1) & EXPANDED == 0, "nodes are numbered below MAX_NODES");
    // f32::total_cmp's order, as unsigned bits: negative values reversed, then the sign bit flipped.
    let bits = scored.0.to_bits();
    let ordered = if bits >> 31 == 1 { !bits } else { bits | 1 << 31 };
    u64::from(ordered) << 32 | u64::from(scored.1)
}

/// The `Scored` of a list entry.
fn entry_scored(entry: u64) -> Scored {
    let ordered = (entry >> 32) as u32;
    let bits = if ordered >> 31 == 1 { ordered & !(1 << 31) } else { !ordered };
    Scored(f32::from_bits(bits), (entry & !EXPANDED) as u32)
}

impl SearchList {
    /// A list of up to `capacity` of a graph's `nodes`: `capacity` comes from the caller (ef, up to
    /// u32::MAX) and sizes nothing beyond the nodes that exist.
    fn new(capacity: usize, nodes: usize) -> SearchList {
        SearchList { entries: Vec::with_capacity(capacity.min(nodes) + 1), capacity, next: 0 }
    }

    /// Whether a node at `distance` would enter the list.
    fn admits(&self, distance: f32) -> bool {
        self.entries.len() < self.capacity || self.entries.last().is_some_and(|&worst| distance < entry_scored(worst).0)
    }

    fn insert(&mut self, scored: Scored) {
        let key = entry_key(scored);
        let at = self.entries.partition_point(|&entry| entry & !EXPANDED < key);
        self.entries.insert(at, key);
        self.entries.truncate(self.capacity);
        self.next = self.next.min(at);
    }

    /// The nearest node not expanded yet, now flagged expanded.
    fn expand_next(&mut self) -> Option<u32> {
        while let Some(entry) = self.entries.get_mut(self.next) {
            self.next += 1;
            if *entry & EXPANDED == 0 {
                *entry |= EXPANDED;
                return Some(*entry as u32 & !(EXPANDED as u32));
            }
        }
        None
    }

    fn into_sorted_vec(self) -> Vec<Scored> {
        self.entries.into_iter().map(entry_scored).collect()
    }
}

/// Levels are drawn from a seeded generator so builds are reproducible.
pub struct LevelGenerator {
    state: u64,
    scale: f64,
}

impl LevelGenerator {
    pub fn new(max_neighbors: usize, seed: u64) -> LevelGenerator {
        LevelGenerator { state: seed | 1, scale: 1.0 / (max_neighbors.max(2) as f64).ln() }
    }

    pub fn next_level(&mut self) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let uniform = ((self.state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        ((-uniform.ln() * self.scale) as usize).min(MAX_LEVEL)
    }
}

pub const MAX_LEVEL: usize = 16;

/// Nodes are numbered below 2^31: the search list keeps its expanded flag in a node's top bit.
pub const MAX_NODES: usize = 1 << 31;

impl Graph {
    pub fn new(params: GraphParams) -> Graph {
        Graph {
            params,
            layer0: Vec::new(),
            upper: Vec::new(),
            upper_start: Vec::new(),
            levels: Vec::new(),
            locks: Vec::new(),
            entry: RwLock::new(None),
            visited: Mutex::new(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn params(&self) -> GraphParams {
        self.params
    }

    fn max_links(&self, layer: usize) -> usize {
        if layer == 0 {
            self.params.max_neighbors * 2
        } else {
            self.params.max_neighbors
        }
    }

    /// Adds nodes `len()..len()+levels.len()` with the given levels (no links yet); then call
    /// [`Graph::link`] for each of them, in parallel if wanted.
    pub fn reserve_nodes(&mut self, levels: &[usize]) {
        assert!(self.len() + levels.len() <= MAX_NODES, "a graph holds at most 2^31 nodes");
        let block0 = 1 + self.max_links(0);
        let block = 1 + self.max_links(1);
        let upper_blocks: usize = levels.iter().sum();
        self.layer0.reserve(levels.len() * block0);
        self.upper.reserve(upper_blocks * block);
        self.upper_start.reserve(levels.len());
        for &level in levels {
            self.layer0.extend((0..block0).map(|_| AtomicU32::new(0)));
            let start = self.upper.len() / block;
            self.upper_start.push(u32::try_from(start).expect("fewer upper blocks than nodes"));
            self.upper.extend((0..level * block).map(|_| AtomicU32::new(0)));
            self.levels.push(level as u8);
            self.locks.push(Mutex::new(()));
        }
    }

    pub fn level(&self, node: u32) -> usize {
        self.levels[node as usize] as usize
    }

    /// The block `[count, ids...]` of a node on a layer (the layer must be ≤ the node's level).
    fn block(&self, node: u32, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let size = 1 + self.max_links(0);
            &self.layer0[node as usize * size..(node as usize + 1) * size]
        } else {
            let size = 1 + self.max_links(1);
            let start = (self.upper_start[node as usize] as usize + layer - 1) * size;
            &self.upper[start..start + size]
        }
    }

    /// Calls `f` with each link of a node on a layer, without copying or locking.
    #[inline]
    fn for_each_link(&self, node: u32, layer: usize, mut f: impl FnMut(u32)) {
        let block = self.block(node, layer);
        let count = (block[0].load(Relaxed) as usize).min(block.len() - 1);
        for slot in &block[1..=count] {
            f(slot.load(Relaxed));
        }
    }

    /// The links of a node on a layer (a copy).
    pub fn links(&self, node: u32, layer: usize) -> Vec<u32> {
        let mut out = Vec::new();
        if layer <= self.level(node) {
            self.for_each_link(node, layer, |id| out.push(id));
        }
        out
    }

    /// Replaces a node's links on a layer. The caller holds the node's lock.
    fn store_links(&self, node: u32, layer: usize, ids: &[u32]) {
        let block = self.block(node, layer);
        let count = ids.len().min(block.len() - 1);
        for (slot, &id) in block[1..=count].iter().zip(ids) {
            slot.store(id, Relaxed);
        }
        block[0].store(count as u32, Relaxed);
    }

    fn take_visited(&self) -> Visited {
        let mut visited = self.visited.lock().pop().unwrap_or(Visited { marks: Vec::new(), generation: 0 });
        visited.reset(self.len());
        visited
    }

    fn return_visited(&self, visited: Visited) {
        self.visited.lock().push(visited);
    }

    /// Connects a reserved node into the graph.
    pub fn link<M: Metric>(&self, node: u32, metric: &M) {
        let level = self.level(node);
        let entry = {
            let mut entry = self.entry.write();
            match *entry {
                None => {
                    *entry = Some((node, level));
                    return;
                }
                Some(e) => e,
            }
        };
        let (mut current, top) = entry;
        let distance_to = |other: u32| metric.between(node, other);
        let mut current_distance = distance_to(current);
        // Greedy descent through the layers above the node's level.
        for layer in (level + 1..=top).rev() {
            (current, current_distance) = self.greedy(current, current_distance, layer, &distance_to);
        }
        let mut visited = self.take_visited();
        let mut entry_points = vec![Scored(current_distance, current)];
        for layer in (0..=level.min(top)).rev() {
            visited.reset(self.len());
            let mut found = self.search_layer(
                &entry_points,
                self.params.ef_construction,
                layer,
                &distance_to,
                &|n| metric.prefetch(n),
                &mut visited,
                None,
            );
            // A concurrent insert may already link back to this node: never link a node to itself.
            found.retain(|s| s.1 != node);
            if found.is_empty() {
                continue;
            }
            let chosen = self.select(&found, self.max_links(layer), metric);
            {
                let _guard = self.locks[node as usize].lock();
                self.store_links(node, layer, &chosen.iter().map(|s| s.1).collect::<Vec<_>>());
            }
            for &Scored(d, neighbour) in &chosen {
                self.add_reverse_link(neighbour, node, d, layer, metric);
            }
            entry_points = found;
        }
        self.return_visited(visited);
        if level > top {
            let mut entry = self.entry.write();
            if entry.is_none_or(|(_, l)| level > l) {
                *entry = Some((node, level));
            }
        }
    }

    fn greedy(&self, mut current: u32, mut distance: f32, layer: usize, distance_to: &impl Fn(u32) -> f32) -> (u32, f32) {
        loop {
            let mut best = (current, distance);
            self.for_each_link(current, layer, |neighbour| {
                let d = distance_to(neighbour);
                if d < best.1 {
                    best = (neighbour, d);
                }
            });
            if best.0 == current {
                return (current, distance);
            }
            (current, distance) = best;
        }
    }

    /// Best-first search of one layer. With `accept`, only accepted nodes enter the result (all nodes are
    /// still traversed). Returns up to `ef` nodes sorted by distance.
    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        entry_points: &[Scored],
        ef: usize,
        layer: usize,
        distance_to: &impl Fn(u32) -> f32,
        prefetch: &impl Fn(u32),
        visited: &mut Visited,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Scored> {
        if accept.is_none() {
            return self.search_layer_list(entry_points, ef, layer, distance_to, prefetch, visited);
        }
        let mut candidates: BinaryHeap<std::cmp::Reverse<Scored>> = BinaryHeap::new();
        let mut results: BinaryHeap<Scored> = BinaryHeap::new();
        for &point in entry_points {
            if visited.insert(point.1) {
                candidates.push(std::cmp::Reverse(point));
                if accept.is_none_or(|a| a(point.1)) {
                    results.push(point);
                }
            }
        }
        while results.len() > ef {
            results.pop();
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(self.max_links(layer));
        while let Some(std::cmp::Reverse(Scored(distance, node))) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|worst| distance > worst.0) {
                break;
            }
            self.unvisited_links(node, layer, visited, prefetch, &mut fresh);
            for &neighbour in &fresh {
                let d = distance_to(neighbour);
                let worth = results.len() < ef || results.peek().is_some_and(|worst| d < worst.0);
                if worth {
                    // A candidate is likely to be expanded: start loading its links now.
                    distance::prefetch(self.block(neighbour, layer));
                    candidates.push(std::cmp::Reverse(Scored(d, neighbour)));
                    if accept.is_none_or(|a| a(neighbour)) {
                        results.push(Scored(d, neighbour));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// Sets `fresh` to the links of `node` on a layer not visited yet, now marked visited, their vectors
    /// requested ahead of the distance computations.
    #[inline]
    fn unvisited_links(&self, node: u32, layer: usize, visited: &mut Visited, prefetch: &impl Fn(u32), fresh: &mut Vec<u32>) {
        fresh.clear();
        self.for_each_link(node, layer, |neighbour| {
            if visited.insert(neighbour) {
                prefetch(neighbour);
                fresh.push(neighbour);
            }
        });
    }

    /// [`Graph::search_layer`] without `accept`: every node found may be a result, so one sorted list holds
    /// both the results and the nodes still to expand.
    fn search_layer_list(
        &self,
        entry_points: &[Scored],
        ef: usize,
        layer: usize,
        distance_to: &impl Fn(u32) -> f32,
        prefetch: &impl Fn(u32),
        visited: &mut Visited,
    ) -> Vec<Scored> {
        let mut list = SearchList::new(ef, self.len());
        for &point in entry_points {
            if visited.insert(point.1) && list.admits(point.0) {
                list.insert(point);
            }
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(self.max_links(layer));
        while let Some(node) = list.expand_next() {
            self.unvisited_links(node, layer, visited, prefetch, &mut fresh);
            for &neighbour in &fresh {
                let d = distance_to(neighbour);
                if list.admits(d) {
                    distance::prefetch(self.block(neighbour, layer));
                    list.insert(Scored(d, neighbour));
                }
            }
        }
        list.into_sorted_vec()
    }

    /// The neighbour-selection heuristic: keep a candidate only if it is closer to the base than to every
    /// neighbour kept so far, which spreads links in all directions.
    fn select<M: Metric>(&self, sorted: &[Scored], limit: usize, metric: &M) -> Vec<Scored> {
        let mut chosen: Vec<Scored> = Vec::with_capacity(limit);
        for &candidate in sorted {
            if chosen.len() >= limit {
                break;
            }
            if chosen.iter().all(|kept| metric.between(candidate.1, kept.1) > candidate.0) {
                chosen.push(candidate);
            }
        }
        chosen
    }

    fn add_reverse_link<M: Metric>(&self, node: u32, new: u32, distance: f32, layer: usize, metric: &M) {
        let limit = self.max_links(layer);
        let _guard = self.locks[node as usize].lock();
        let links = self.links(node, layer);
        if node == new || links.contains(&new) {
            return;
        }
        if links.len() < limit {
            let block = self.block(node, layer);
            block[1 + links.len()].store(new, Relaxed);
            block[0].store(links.len() as u32 + 1, Relaxed);
            return;
        }
        let mut candidates: Vec<Scored> = links.iter().map(|&l| Scored(metric.between(node, l), l)).collect();
        candidates.push(Scored(distance, new));
        candidates.sort_unstable();
        let kept: Vec<u32> = self.select(&candidates, limit, metric).into_iter().map(|s| s.1).collect();
        self.store_links(node, layer, &kept);
    }

    /// The `k` nearest accepted nodes to a query, searching with `ef` (≥ k).
    pub fn search<M: Metric>(
        &self,
        query: &M::Query,
        k: usize,
        ef: usize,
        metric: &M,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Scored> {
        let Some((mut current, top)) = *self.entry.read() else { return Vec::new() };
        let distance_to = |node: u32| metric.to_query(query, node);
        let mut current_distance = distance_to(current);
        for layer in (1..=top).rev() {
            (current, current_distance) = self.greedy(current, current_distance, layer, &distance_to);
        }
        let mut visited = self.take_visited();
        let mut found = self.search_layer(
            &[Scored(current_distance, current)],
            ef.max(k),
            0,
            &distance_to,
            &|n| metric.prefetch(n),
            &mut visited,
            accept,
        );
        self.return_visited(visited);
        found.truncate(k);
        found
    }

    /// An order of the nodes in which neighbours sit close together: breadth-first over layer 0 from the
    /// entry point, each node's links in stored order; nodes the walk does not reach follow in node order.
    /// `order[new] = old`; it is a permutation of `0..len()`.
    pub fn locality_order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = Vec::with_capacity(self.len());
        let mut placed = vec![false; self.len()];
        let mut place = |node: u32, order: &mut Vec<u32>| {
            if !std::mem::replace(&mut placed[node as usize], true) {
                order.push(node);
            }
        };
        let roots = self.entry.read().map(|(entry, _)| entry).into_iter().chain(0..self.len() as u32);
        for root in roots {
            let from = order.len();
            place(root, &mut order);
            let mut next = from;
            while next < order.len() {
                let node = order[next];
                next += 1;
                self.for_each_link(node, 0, |neighbour| place(neighbour, &mut order));
            }
        }
        order
    }

    /// Layer 0's links (the upper layers are small): see [`crate::distance::collapse_into_huge_pages`].
    pub fn collapse_into_huge_pages(&self) {
        crate::distance::collapse_into_huge_pages(&self.layer0);
    }

    /// Renumbers the nodes in place: node `order[new]` becomes `new` (its links, level and upper blocks
    /// follow it, every stored id is renamed, and so is the entry).
    pub fn permute(&mut self, order: &[u32]) {
        assert_eq!(order.len(), self.len(), "a permutation of the nodes");
        let mut new_of = vec![0u32; self.len()];
        for (new, &old) in order.iter().enumerate() {
            new_of[old as usize] = new as u32;
        }
        let (block0, block) = (1 + self.max_links(0), 1 + self.max_links(1));
        permute_rows(&mut self.layer0, block0, order);
        // Upper blocks stay where they are; the per-node start and level move with the node.
        permute_rows(&mut self.upper_start, 1, order);
        permute_rows(&mut self.levels, 1, order);
        let rename = |blocks: &mut [AtomicU32], size: usize| {
            for block in blocks.chunks_exact_mut(size) {
                let count = (*block[0].get_mut() as usize).min(size - 1);
                for id in &mut block[1..=count] {
                    *id.get_mut() = new_of[*id.get_mut() as usize];
                }
            }
        };
        rename(&mut self.layer0, block0);
        rename(&mut self.upper, block);
        let entry = self.entry.get_mut();
        *entry = entry.map(|(node, level)| (new_of[node as usize], level));
    }

    /// Serialises the links (levels and neighbour lists) in little-endian u32s.
    pub fn write_links(&self, out: &mut Vec<u8>) {
        let entry = *self.entry.read();
        let push = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        push(out, self.len() as u32);
        push(out, entry.map_or(u32::MAX, |(n, _)| n));
        for node in 0..self.len() as u32 {
            push(out, self.level(node) as u32);
            for layer in 0..=self.level(node) {
                let links = self.links(node, layer);
                push(out, links.len() as u32);
                for l in links {
                    push(out, l);
                }
            }
        }
    }

    /// Reads what [`Graph::write_links`] wrote, validating every count and id. `None` if malformed.
    pub fn read_links(params: GraphParams, bytes: &mut &[u8]) -> Option<Graph> {
        fn take(bytes: &mut &[u8]) -> Option<u32> {
            let (head, rest) = bytes.split_first_chunk::<4>()?;
            *bytes = rest;
            Some(u32::from_le_bytes(*head))
        }
        let count = take(bytes)? as usize;
        let entry = take(bytes)?;
        // Each node takes at least 8 bytes (level and one count): an untrusted count beyond that is malformed
        // and must not size an allocation.
        if count > bytes.len() / 8 || count > MAX_NODES {
            return None;
        }
        let mut graph = Graph::new(params);
        let mut all_links: Vec<Vec<Vec<u32>>> = Vec::with_capacity(count);
        for _ in 0..count {
            let level = take(bytes)? as usize;
            if level > MAX_LEVEL {
                return None;
            }
            let mut layers = Vec::with_capacity(level + 1);
            for layer in 0..=level {
                let n = take(bytes)? as usize;
                if n > graph.max_links(layer) {
                    return None;
                }
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    let id = take(bytes)?;
                    if id as usize >= count {
                        return None;
                    }
                    ids.push(id);
                }
                layers.push(ids);
            }
            all_links.push(layers);
        }
        // Every link must point at a node that exists on that layer.
        for layers in &all_links {
            for (layer, ids) in layers.iter().enumerate() {
                if ids.iter().any(|&id| all_links[id as usize].len() <= layer) {
                    return None;
                }
            }
        }
        let levels: Vec<usize> = all_links.iter().map(|layers| layers.len() - 1).collect();
        graph.reserve_nodes(&levels);
        for (node, layers) in all_links.iter().enumerate() {
            for (layer, ids) in layers.iter().enumerate() {
                graph.store_links(node as u32, layer, ids);
            }
        }
        *graph.entry.write() = match entry {
            u32::MAX if count == 0 => None,
            e if (e as usize) < count => Some((e, graph.level(e))),
            _ => return None,
        };
        Some(graph)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance;

    struct Points {
        data: Vec<f32>,
        dim: usize,
    }

    impl Metric for Points {
        type Query = [f32];
        fn to_query(&self, query: &[f32], node: u32) -> f32 {
            distance::l2_squared(query, &self.data[node as usize * self.dim..][..self.dim])
        }
        fn between(&self, a: u32, b: u32) -> f32 {
            let (a, b) = (a as usize * self.dim, b as usize * self.dim);
            distance::l2_squared(&self.data[a..a + self.dim], &self.data[b..b + self.dim])
        }
    }

    fn points(n: usize, dim: usize, seed: u64) -> Points {
        let mut state = seed | 1;
        let data = (0..n * dim)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 10_000) as f32 / 10_000.0
            })
            .collect();
        Points { data, dim }
    }

    fn build(p: &Points, parallel: bool) -> Graph {
        let n = p.data.len() / p.dim;
        let mut graph = Graph::new(GraphParams { max_neighbors: 16, ef_construction: 100 });
        let mut levels = LevelGenerator::new(16, 42);
        let levels: Vec<usize> = (0..n).map(|_| levels.next_level()).collect();
        graph.reserve_nodes(&levels);
        if parallel {
            graph.link(0, p);
            std::thread::scope(|scope| {
                for t in 0..2u32 {
                    let graph = &graph;
                    scope.spawn(move || (1 + t..n as u32).step_by(2).for_each(|i| graph.link(i, p)));
                }
            });
        } else {
            (0..n as u32).for_each(|i| graph.link(i, p));
        }
        graph
    }

    fn recall(graph: &Graph, p: &Points, accept: Option<&dyn Fn(u32) -> bool>) -> f64 {
        let queries = points(100, p.dim, 99);
        let n = p.data.len() / p.dim;
        let mut hits = 0;
        let mut total = 0;
        for q in queries.data.chunks(p.dim) {
            let mut exact: Vec<Scored> = (0..n as u32)
                .filter(|&i| accept.is_none_or(|a| a(i)))
                .map(|i| Scored(p.to_query(q, i), i))
                .collect();
            exact.sort_unstable();
            exact.truncate(10);
            let found = graph.search(q, 10, 64, p, accept);
            assert!(found.windows(2).all(|w| w[0] <= w[1]));
            if let Some(a) = accept {
                assert!(found.iter().all(|s| a(s.1)));
            }
            hits += found.iter().filter(|s| exact.iter().any(|e| e.1 == s.1)).count();
            total += exact.len();
        }
        hits as f64 / total as f64
    }

    #[test]
    fn a_search_list_entry_orders_as_its_scored_and_gives_it_back_bit_for_bit() {
        let distances = [
            f32::NEG_INFINITY,
            -3.5,
            -f32::MIN_POSITIVE,
            -f32::from_bits(1),
            -0.0,
            0.0,
            f32::from_bits(1),
            f32::MIN_POSITIVE,
            0.25,
            1.0,
            3.0e38,
            f32::INFINITY,
            f32::NAN,
            -f32::NAN,
        ];
        let mut all = Vec::new();
        for &d in &distances {
            for node in [0u32, 1, 7, (1 << 31) - 1] {
                all.push(Scored(d, node));
            }
        }
        for &a in &all {
            let back = entry_scored(entry_key(a));
            assert_eq!((back.0.to_bits(), back.1), (a.0.to_bits(), a.1));
            assert_eq!(entry_scored(entry_key(a) | EXPANDED).1, a.1, "the flag is not part of the node");
            for &b in &all {
                assert_eq!(entry_key(a).cmp(&entry_key(b)), a.cmp(&b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn the_search_list_keeps_the_best_sorted_and_expands_each_once_nearest_first() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // u32::MAX: an ef from the caller, bounded by the 500 nodes when allocating.
        for capacity in [1, 2, 7, 64, u32::MAX as usize] {
            let mut list = SearchList::new(capacity, 500);
            let mut admitted: Vec<Scored> = Vec::new();
            let mut expanded: Vec<u32> = Vec::new();
            for node in 0..500u32 {
                // Few distinct distances, so ties occur.
                let scored = Scored((random() % 40) as f32, node);
                if list.admits(scored.0) {
                    list.insert(scored);
                    admitted.push(scored);
                }
                if random() % 3 == 0 {
                    let before: Vec<Scored> =
                        list.entries.iter().filter(|&&e| e & EXPANDED == 0).map(|&e| entry_scored(e)).collect();
                    if let Some(next) = list.expand_next() {
                        // The nearest entry not expanded before.
                        assert_eq!(next, before.iter().min().expect("an unexpanded entry").1);
                        expanded.push(next);
                    } else {
                        assert!(before.is_empty());
                    }
                }
                assert!(list.entries.len() <= capacity);
                assert!(list.entries.windows(2).all(|w| entry_scored(w[0]) < entry_scored(w[1])));
                assert!(list.entries[..list.next.min(list.entries.len())].iter().all(|&e| e & EXPANDED != 0));
            }
            while let Some(next) = list.expand_next() {
                expanded.push(next);
            }
            let mut unique = expanded.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), expanded.len(), "a node expanded twice");
            admitted.sort_unstable();
            admitted.truncate(capacity);
            assert_eq!(list.into_sorted_vec(), admitted);
        }
    }

    #[test]
    fn serial_and_parallel_builds_have_high_recall() {
        let p = points(5000, 24, 7);
        for parallel in [false, true] {
            let graph = build(&p, parallel);
            let r = recall(&graph, &p, None);
            assert!(r >= 0.95, "recall {r} (parallel {parallel})");
            let even = |i: u32| i % 2 == 0;
            let r = recall(&graph, &p, Some(&even));
            assert!(r >= 0.95, "filtered recall {r}");
        }
    }

    #[test]
    fn links_round_trip_and_damage_is_detected() {
        let p = points(800, 8, 3);
        let graph = build(&p, false);
        let mut bytes = Vec::new();
        graph.write_links(&mut bytes);
        let back = Graph::read_links(graph.params(), &mut &bytes[..]).expect("valid");
        assert_eq!(back.len(), graph.len());
        for node in 0..graph.len() as u32 {
            for layer in 0..=graph.level(node) {
                assert_eq!(back.links(node, layer), graph.links(node, layer));
            }
        }
        assert!(Graph::read_links(graph.params(), &mut &bytes[..bytes.len() / 2]).is_none(), "truncated");
        let mut garbled = bytes.clone();
        garbled[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Graph::read_links(graph.params(), &mut &garbled[..]).is_none(), "garbled");
    }

    #[test]
    fn links_respect_limits() {
        let p = points(2000, 4, 11);
        let graph = build(&p, true);
        for node in 0..graph.len() as u32 {
            for layer in 0..=graph.level(node) {
                let links = graph.links(node, layer);
                assert!(links.len() <= graph.max_links(layer));
                assert!(!links.contains(&node));
                assert!(links.iter().all(|&l| graph.level(l) >= layer));
            }
        }
    }

    #[test]
    fn locality_order_is_a_permutation_and_permuting_keeps_every_link() {
        let p = points(3000, 8, 5);
        let graph = build(&p, false);
        let order = graph.locality_order();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..graph.len() as u32).collect::<Vec<_>>());
        assert_eq!(order[0], graph.entry.read().expect("entry").0, "the walk starts at the entry");
        // Layer-0 links whose ends are at most 64 nodes apart: about twice as many in the new numbering
        // (uniform 8-d points, the least clustered case).
        let near = |g: &Graph| -> usize {
            (0..g.len() as u32).map(|node| g.links(node, 0).iter().filter(|&&l| node.abs_diff(l) <= 64).count()).sum()
        };
        let mut permuted = build(&p, false); // the same graph: a serial build is deterministic
        let before = near(&permuted);
        permuted.permute(&order);
        assert!(near(&permuted) * 2 > before * 3, "{} vs {before}", near(&permuted));
        let (entry, level) = graph.entry.read().expect("entry");
        let new_of = |old: u32| order.iter().position(|&o| o == old).expect("in order") as u32;
        assert_eq!(*permuted.entry.read(), Some((new_of(entry), level)));
        for (new, &old) in order.iter().enumerate() {
            assert_eq!(permuted.level(new as u32), graph.level(old));
            for layer in 0..=graph.level(old) {
                let renamed: Vec<u32> = graph.links(old, layer).into_iter().map(new_of).collect();
                assert_eq!(permuted.links(new as u32, layer), renamed, "node {old} layer {layer}");
            }
        }
    }
}
