//! The HNSW links section of a snapshot on its own: `Graph::read_links` on arbitrary bytes; a graph it
//! accepts is searched, then gets new nodes linked into it (a log replay onto a damaged graph).
#![no_main]

use chromalite_engine_fuzz::{HashedPoints, LINK_PARAMS};
use engine::hnsw::Graph;
use libfuzzer_sys::fuzz_target;

fn searches(graph: &Graph) {
    let odd = |node: u32| node % 2 == 1;
    for query in [[0.5f32, 0.5], [0.0, 1.0], [-3.0, 7.0]] {
        for (k, ef) in [(1, 1), (10, 16), (100, 10)] {
            let found = graph.search(&query, k, ef, &HashedPoints, None);
            assert!(found.len() <= k);
            assert!(found.iter().all(|s| (s.1 as usize) < graph.len()));
            let found = graph.search(&query, k, ef, &HashedPoints, Some(&odd));
            assert!(found.iter().all(|s| s.1 % 2 == 1));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let params = LINK_PARAMS[selector as usize % LINK_PARAMS.len()];
    let mut rest = bytes;
    let Some(mut graph) = Graph::read_links(params, &mut rest) else { return };
    searches(&graph);
    let first = graph.len() as u32;
    graph.reserve_nodes(&[0, 2, 0, engine::hnsw::MAX_LEVEL.min(5)]);
    for node in first..graph.len() as u32 {
        graph.link(node, &HashedPoints);
    }
    for node in 0..graph.len() as u32 {
        for layer in 0..=graph.level(node) {
            assert!(graph.links(node, layer).iter().all(|&l| (l as usize) < graph.len()));
        }
    }
    searches(&graph);
});
