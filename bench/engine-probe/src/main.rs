//! Times chromalite's `VectorIndex` directly: build on all cores, then one query at a time per ef_search,
//! recall@10 against the cached ground truth, and the RSS the index adds.
use std::time::Instant;

use engine::distance::Space;
use engine::index::{GraphParams, VectorIndex};

fn read_f32(path: &str) -> Vec<f32> {
    let b = std::fs::read(path).expect("read");
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 4096
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let (base, queries, dim) = (read_f32(&a[1]), read_f32(&a[2]), a[3].parse::<usize>().unwrap());
    let gt: Vec<i32> = std::fs::read(&a[4]).unwrap().chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    let efs: Vec<usize> = a.get(5).map_or(vec![10, 16, 24, 32, 48, 64, 96, 128], |s| s.split(',').map(|x| x.parse().unwrap()).collect());
    let n = base.len() / dim;
    let q = queries.len() / dim;
    let rss0 = rss();
    let mut index = VectorIndex::new(Space::L2, dim, GraphParams { max_neighbors: 16, ef_construction: 100, ef_search: 10 });
    let t = Instant::now();
    for start in (0..n).step_by(5000) {
        let end = (start + 5000).min(n);
        let rows: Vec<u64> = (start as u64..end as u64).collect();
        index.put(&rows, &base[start * dim..end * dim]);
    }
    let build = t.elapsed().as_secs_f64();
    let rss1 = rss();
    println!("n={n} dim={dim} build={build:.2}s ({:.0} vec/s) rss_delta/vector={:.0} B (raw vector {} B)", n as f64 / build, (rss1 - rss0) as f64 / n as f64, dim * 4);
    // FILTER=1,10,50: exact filtered queries over rows with `row % 100 < f` instead of the ef sweep
    // (with CHROMALITE_GRAPH_CODES=0 for the scan without the codes' screening).
    if let Ok(fractions) = std::env::var("FILTER") {
        for fraction in fractions.split(',').map(|f| f.parse::<u64>().unwrap()) {
            let allowed: Vec<u64> = (0..n as u64).filter(|r| r % 100 < fraction).collect();
            let slots = index.slots_of(&allowed);
            let mut times = Vec::new();
            let mut checksum = 0u64;
            for _ in 0..5 {
                let t = Instant::now();
                for i in 0..q {
                    let found = index.search_slots(&queries[i * dim..(i + 1) * dim], 10, Some(&slots));
                    checksum = checksum.wrapping_add(found.iter().map(|h| h.row).sum::<u64>());
                }
                times.push(t.elapsed().as_secs_f64() / q as f64 * 1e6);
            }
            times.sort_by(f64::total_cmp);
            println!("filter {fraction}% us/query={:.1} (median of 5) checksum={checksum}", times[2]);
        }
        return;
    }
    let passes: usize = std::env::var("PASSES").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    // POLLUTE=KiB: memory written between queries, as a caller's own work would evict the search's caches.
    let pollute: usize = std::env::var("POLLUTE").ok().and_then(|s| s.parse().ok()).unwrap_or(0) * 1024;
    for ef in efs {
        index.set_ef_search(ef);
        let mut best = f64::MAX;
        let mut hits = 0;
        let mut junk = vec![0u8; pollute.max(64)];
        for pass in 0..passes {
            let mut spent = std::time::Duration::ZERO;
            for i in 0..q {
                // Stand-in for what a caller does between queries (see POLLUTE above): not timed.
                for j in (0..pollute).step_by(64) {
                    junk[j] = junk[j].wrapping_add(1);
                }
                let t = Instant::now();
                let found = index.search(&queries[i * dim..(i + 1) * dim], 10, None);
                spent += t.elapsed();
                if pass == 0 {
                    let truth = &gt[i * 10..i * 10 + 10];
                    hits += found.iter().filter(|h| truth.contains(&(h.row as i32))).count();
                }
            }
            best = best.min(spent.as_secs_f64());
            std::hint::black_box(&junk);
        }
        println!("ef={ef:4} recall={:.4} qps={:.0} us/query={:.1}", hits as f64 / (q * 10) as f64, q as f64 / best, best / q as f64 * 1e6);
    }
}
