#!/usr/bin/env bash
# Coverage-guided fuzzing of chromalite-engine's parsers and file readers (crates/engine/fuzz).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target (default: all of filter, requests, snapshot, graph_links) for SECONDS (default 300),
# one after another on one core, with ASan, debug assertions and overflow checks. Needs a nightly toolchain
# and cargo-fuzz (`cargo install cargo-fuzz`). Crashes land in crates/engine/fuzz/artifacts/<target>/;
# the corpus grows in crates/engine/fuzz/corpus/<target>/ (only seed-* files there are committed).
# Exits non-zero if any target found a crash, timeout or out-of-memory.
set -uo pipefail

seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(filter requests snapshot graph_links)
fi

engine_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../crates/engine" && pwd)"
fuzz_dir="$engine_dir/fuzz"
cd "$engine_dir"

if ! ls "$fuzz_dir"/corpus/snapshot/seed-* >/dev/null 2>&1; then
  (cd "$fuzz_dir" && cargo +nightly run --release --example gen_seeds) || exit 1
fi

cargo +nightly fuzz build || exit 1

failed=()
for target in "${targets[@]}"; do
  extra=()
  case "$target" in
    filter | requests) extra=(-max_len=65536 "-dict=$fuzz_dir/dict/json.dict") ;;
    snapshot) extra=(-max_len=262144) ;; # the seeds with a graph are ~100 KB
    *) extra=(-max_len=65536) ;;
  esac
  mkdir -p "$fuzz_dir/corpus/$target" "$fuzz_dir/artifacts/$target"
  echo "=== $target: ${seconds}s ==="
  if ! cargo +nightly fuzz run "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${extra[@]}"; then
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "Findings in: ${failed[*]} (see $fuzz_dir/artifacts/)" >&2
  exit 1
fi
echo "No findings in: ${targets[*]}"
