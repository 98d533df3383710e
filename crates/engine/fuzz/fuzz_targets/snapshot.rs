//! A damaged index snapshot file: `VectorIndex::read_snapshot` for several collection shapes; an index
//! it accepts is searched, then has a deletion/write log replayed onto it (as a collection load does)
//! and is searched again. Nothing may panic, and nothing may allocate beyond what the input justifies.
#![no_main]

use chromalite_engine_fuzz::SNAPSHOT_SHAPES;
use engine::index::VectorIndex;
use libfuzzer_sys::fuzz_target;

/// k values a search gets: `QueryRequest` accepts any `n_results` up to u32::MAX.
const KS: [usize; 4] = [1, 10, 1000, u32::MAX as usize];

fn searches(index: &VectorIndex, dimension: usize) {
    let queries: [Vec<f32>; 3] = [
        vec![0.0; dimension],
        (0..dimension).map(|i| i as f32 - 0.5).collect(),
        vec![1e30; dimension],
    ];
    let rows: Vec<u64> = index.rows().collect();
    let some_rows: Vec<u64> = rows.iter().copied().step_by(3).chain([u64::MAX - 1, 12_345_678]).collect();
    for query in &queries {
        for k in KS {
            let hits = index.search(query, k, None);
            assert!(hits.len() <= k.min(index.len()));
            let hits = index.search(query, k, Some(&some_rows));
            assert!(hits.len() <= k);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    for shape in SNAPSHOT_SHAPES {
        let Some(mut index) = VectorIndex::read_snapshot(shape.space, shape.dimension, shape.params, data) else {
            continue;
        };
        assert_eq!(index.dimension(), shape.dimension);
        searches(&index, shape.dimension);
        // Log replay: rows deleted since the snapshot, then rows written since (new and replaced).
        let rows: Vec<u64> = index.rows().collect();
        for &row in rows.iter().step_by(7).take(50) {
            index.remove(row);
        }
        index.remove(u64::MAX - 3);
        let next = rows.iter().copied().filter(|&r| r < u64::MAX - 16).max().map_or(0, |r| r + 1);
        let mut new_rows: Vec<u64> = (next..next + 5).collect();
        new_rows.extend(rows.iter().copied().skip(1).step_by(11).take(5));
        let vectors: Vec<f32> = (0..new_rows.len() * shape.dimension).map(|i| (i % 7) as f32 - 3.0).collect();
        index.put(&new_rows, &vectors);
        searches(&index, shape.dimension);
    }
});
