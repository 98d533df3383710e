//! Resident memory of a whole collection (records + index) built through `Engine::write` in batches of
//! 5,000, without Node: RSS delta per record, and glibc's own accounting (bytes in use vs held).
//! Usage: collection-memory <base.f32> <dim> [batch=5000]
use engine::request::{WriteBatch, WriteKind};
use engine::Engine;

fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace().nth(1).unwrap().parse::<usize>().unwrap() * 4096
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    let base: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    drop(bytes);
    let dim: usize = a[2].parse().unwrap();
    let batch: usize = a.get(3).map_or(5000, |s| s.parse().unwrap());
    let n = base.len() / dim;
    let rss0 = rss();
    let engine = Engine::in_memory();
    let config = serde_json::json!({"hnsw": {"space": "l2", "max_neighbors": 16, "ef_construction": 100}});
    let model = engine.create_collection("default_tenant", "default_database", "probe", None, Some(&config), false).unwrap();
    let id = model["id"].as_str().unwrap().to_owned();
    let t = std::time::Instant::now();
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let ids: Vec<String> = (start..end).map(|i| format!("\"{i}\"")).collect();
        let json = format!("{{\"ids\":[{}]}}", ids.join(","));
        let data = base[start * dim..end * dim].to_vec();
        engine.write(&id, &WriteBatch::parse(WriteKind::Add, &json, Some((data, dim))).unwrap()).unwrap();
    }
    let seconds = t.elapsed().as_secs_f64();
    let rss1 = rss();
    // SAFETY: a plain FFI call into glibc with no pointer arguments; it returns a struct by value.
    let info = unsafe { libc::mallinfo2() };
    let per = |x: usize| x as f64 / n as f64;
    println!(
        "n={n} dim={dim} batch={batch} insert={:.0}/s rss_delta/record={:.0} B malloc_in_use/record={:.0} malloc_free_held/record={:.0} mmapped/record={:.0}",
        n as f64 / seconds,
        per(rss1 - rss0),
        per(info.uordblks),
        per(info.fordblks),
        per(info.hblkhd),
    );
    // SAFETY: a plain FFI call into glibc with no pointers; thread-safe.
    unsafe { libc::malloc_trim(0) };
    println!("after malloc_trim: rss_delta/record={:.0} B", per(rss() - rss0));
}
