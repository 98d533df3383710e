#!/usr/bin/env bash
# Runs every suite: the Rust engine tests, then the vitest suites against the built package.
# Ends with one line totalling all of them: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo test -p chromalite-engine 2>&1 | tee "$work/cargo.txt"
cargo_status=${PIPESTATUS[0]}

npx vitest run --reporter=default --reporter=json --outputFile="$work/vitest.json"
vitest_status=$?

node scripts/summarize-tests.mjs "$work/cargo.txt" "$work/vitest.json"
summary_status=$?

[ "$cargo_status" -eq 0 ] && [ "$vitest_status" -eq 0 ] && [ "$summary_status" -eq 0 ]
