//! Fixtures shared by the fuzz targets and the seed generator.

use std::sync::OnceLock;

use engine::distance::Space;
use engine::filter::{Where, WhereDocument};
use engine::hnsw::Metric;
use engine::index::GraphParams;
use engine::metadata::{parse_metadata, Metadata};
use engine::metadata_index::MetadataIndex;

/// Records a parsed filter is evaluated against: (metadata, document), covering every value kind,
/// numeric extremes, lists, a missing key, no metadata and no document.
pub fn records() -> &'static [(Option<Metadata>, Option<String>)] {
    static RECORDS: OnceLock<Vec<(Option<Metadata>, Option<String>)>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let metadata = [
            r#"{"a": 1, "b": 2.5, "c": "x", "d": true, "e": [1, 2, 3], "f": ["x", "y"], "g": [true], "h": [0.5, -1.5]}"#,
            r#"{"a": -9223372036854775808, "b": 1e308, "c": "", "d": false, "e": [9223372036854775807], "f": [""]}"#,
            r#"{"a": 9223372036854775807, "b": -0.0, "c": "é\u0000ß", "x": 18446744073709551615, "y": -1e-308}"#,
            r#"{"a": 0.5, "b": 2, "c": ["x"], "d": "true", "k": 1}"#,
            r#"{}"#,
        ];
        let documents = [
            Some("hello world".to_owned()),
            Some(String::new()),
            Some("ümlaut, 😀 and \u{0} nul".to_owned()),
            Some("ab".repeat(2048)),
            None,
        ];
        let mut out: Vec<(Option<Metadata>, Option<String>)> = metadata
            .iter()
            .zip(documents)
            .map(|(m, d)| {
                let value: serde_json::Value = serde_json::from_str(m).expect("fixture JSON");
                (Some(parse_metadata(&value).expect("fixture metadata")), d)
            })
            .collect();
        out.push((None, Some("no metadata".to_owned())));
        out.push((None, None));
        out
    })
}

/// The metadata index over the fixture records (row = position in [`records`]).
fn metadata_index() -> &'static MetadataIndex {
    static INDEX: OnceLock<MetadataIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = MetadataIndex::new();
        for (row, (metadata, _)) in records().iter().enumerate() {
            index.insert(row as u64, metadata.as_ref());
        }
        index
    })
}

/// Evaluates a parsed `where` against every fixture record, and checks that the metadata index selects
/// exactly the records that pass one by one.
pub fn evaluate_where(filter: &Where) {
    let _ = filter.is_trivially_true();
    let passing: Vec<u64> = (0..records().len() as u64)
        .filter(|&row| {
            let (metadata, document) = &records()[row as usize];
            filter.matches(metadata.as_ref(), document.as_deref())
        })
        .collect();
    let index = metadata_index();
    let document = |row: u64| records().get(row as usize).and_then(|(_, d)| d.as_deref());
    let selected: Vec<u64> = index.select(filter, index.all(), &document).iter().collect();
    assert_eq!(selected, passing, "metadata index disagrees with record-by-record evaluation");
}

/// Evaluates a parsed `where_document` against every fixture document.
pub fn evaluate_where_document(filter: &WhereDocument) {
    for (_, document) in records() {
        let _ = filter.matches(document.as_deref());
    }
}

/// One collection shape a snapshot may have been written for.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotShape {
    pub name: &'static str,
    pub space: Space,
    pub dimension: usize,
    pub params: GraphParams,
}

/// The shapes the `snapshot` target tries every input against (the seeds are written for these).
pub const SNAPSHOT_SHAPES: [SnapshotShape; 4] = [
    SnapshotShape {
        name: "l2-d2-m4",
        space: Space::L2,
        dimension: 2,
        params: GraphParams { max_neighbors: 4, ef_construction: 16, ef_search: 16 },
    },
    SnapshotShape {
        name: "cosine-d3-m2",
        space: Space::Cosine,
        dimension: 3,
        params: GraphParams { max_neighbors: 2, ef_construction: 8, ef_search: 10 },
    },
    SnapshotShape {
        name: "ip-d1-m3",
        space: Space::Ip,
        dimension: 1,
        params: GraphParams { max_neighbors: 3, ef_construction: 12, ef_search: 5 },
    },
    // Chroma's defaults (M 16, ef 100), small collections only (a graph of 2048 nodes is too big a seed).
    SnapshotShape {
        name: "l2-d4-default",
        space: Space::L2,
        dimension: 4,
        params: GraphParams { max_neighbors: 16, ef_construction: 100, ef_search: 100 },
    },
];

/// Graph parameters the `graph_links` target reads with.
pub const LINK_PARAMS: [engine::hnsw::GraphParams; 3] = [
    engine::hnsw::GraphParams { max_neighbors: 2, ef_construction: 8 },
    engine::hnsw::GraphParams { max_neighbors: 4, ef_construction: 16 },
    engine::hnsw::GraphParams { max_neighbors: 16, ef_construction: 100 },
];

/// A metric over implicit points: node `i` sits at a pseudo-random point of the plane derived from `i`,
/// so any node id has a position and no vector store is needed.
pub struct HashedPoints;

impl HashedPoints {
    pub fn point(node: u32) -> [f32; 2] {
        let mut x = u64::from(node).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 32;
        [(x & 0xFFFF) as f32 / 65536.0, ((x >> 16) & 0xFFFF) as f32 / 65536.0]
    }
}

impl Metric for HashedPoints {
    type Query = [f32; 2];

    fn to_query(&self, query: &[f32; 2], node: u32) -> f32 {
        let p = Self::point(node);
        (p[0] - query[0]).powi(2) + (p[1] - query[1]).powi(2)
    }

    fn between(&self, a: u32, b: u32) -> f32 {
        let (p, q) = (Self::point(a), Self::point(b));
        (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)
    }
}
