//! `where` / `where_document` parsing and evaluation on arbitrary JSON.
#![no_main]

use chromalite_engine_fuzz::{evaluate_where, evaluate_where_document};
use engine::filter::{parse_where, parse_where_document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(filter) = parse_where(&value) {
        evaluate_where(&filter);
    }
    if let Ok(filter) = parse_where_document(&value) {
        evaluate_where_document(&filter);
    }
});
