"""Chroma's default embedding pipeline in Python, step for step, as the reference chromalite must match.

The steps are those of Chroma's `ONNXMiniLM_L6_V2._forward` (chromadb/utils/embedding_functions/
onnx_mini_lm_l6_v2.py): the `tokenizers` Tokenizer from tokenizer.json with truncation at 256 and padding to
a fixed 256, batches of 32, onnxruntime with ORT_ENABLE_ALL, mean pooling over the attention mask (divisor
clamped at 1e-9), L2 normalisation with a zero norm replaced by 1e-12, float32.

Commands (MODEL_DIR is a folder holding model.onnx and tokenizer.json, e.g. .model-fixture/onnx):
  python chroma_pipeline.py reference MODEL_DIR OUTPUT.json
      Writes the parity texts (see `parity_texts`) with their token ids and reference embeddings.
  python chroma_pipeline.py tokens MODEL_DIR OUTPUT.json
      Writes the token ids of "ab<c>cd" for every Unicode code point c (surrogates excepted), to check the
      JavaScript tokenizer's character classes against Hugging Face's on the whole of Unicode.
  python chroma_pipeline.py bench MODEL_DIR TEXTS.json
      Embeds the texts (a JSON list of strings) once to warm up, then again timed; prints one JSON line
      {"texts": n, "seconds": s, "texts_per_second": r, "threads": t}.
"""

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MAX_TOKENS = 256
BATCH_SIZE = 32


class ChromaMiniLM:
    """Chroma's ONNXMiniLM_L6_V2 without the download step: the model folder is given."""

    def __init__(self, model_dir: str) -> None:
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.model = ort.InferenceSession(
            os.path.join(model_dir, "model.onnx"),
            providers=ort.get_available_providers(),
            sess_options=options,
        )

    @staticmethod
    def _normalize(v: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(v, axis=1)
        norm[norm == 0] = 1e-12
        return v / norm[:, np.newaxis]

    def __call__(self, documents: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        all_embeddings = []
        for i in range(0, len(documents), batch_size):
            batch = documents[i : i + batch_size]
            encoded = [self.tokenizer.encode(d) for d in batch]
            input_ids = np.array([e.ids for e in encoded])
            attention_mask = np.array([e.attention_mask for e in encoded])
            onnx_input = {
                "input_ids": np.array(input_ids, dtype=np.int64),
                "attention_mask": np.array(attention_mask, dtype=np.int64),
                "token_type_ids": np.array(
                    [np.zeros(len(e), dtype=np.int64) for e in input_ids], dtype=np.int64
                ),
            }
            last_hidden_state = self.model.run(None, onnx_input)[0]
            input_mask_expanded = np.broadcast_to(np.expand_dims(attention_mask, -1), last_hidden_state.shape)
            embeddings = np.sum(last_hidden_state * input_mask_expanded, 1) / np.clip(
                input_mask_expanded.sum(1), a_min=1e-9, a_max=None
            )
            all_embeddings.append(self._normalize(embeddings).astype(np.float32))
        return np.concatenate(all_embeddings)

    def token_ids(self, text: str) -> list[int]:
        """The ids Chroma feeds the model for one text, without the padding."""
        encoding = self.tokenizer.encode(text)
        return [i for i, m in zip(encoding.ids, encoding.attention_mask) if m == 1]


def parity_texts() -> list[str]:
    """A few hundred varied texts: empty, whitespace, unicode of many scripts, accents, control characters,
    special-token look-alikes, very long words and texts far beyond 256 tokens. Deterministic."""
    rng = random.Random(20240611)
    fixed = [
        "This is an example sentence",
        "Each sentence is converted",
        "",
        " ",
        "\t\n \r",
        "a",
        "Hello, world!",
        "HELLO WORLD",
        "Héllo Wörld, ça va? Ñandú, Ærøskøbing, straße",
        "Café crème brûlée naïve résumé coöperate",
        "ΟΔΟΣ ΣΟΦΟΣ Ελληνικά γράμματα",
        "İstanbul IĞDIR ısı",
        "日本語のテキストです。東京タワー",
        "中文文本，包括标点符号！",
        "한국어 문장입니다",
        "Русский текст с пунктуацией — и тире",
        "עברית ועוד العربية نص",
        "हिन्दी पाठ",
        "emoji 😀🎉👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
        "zero\u200bwidth\u200djoiner\ufeffbom",
        "control\x00chars\x07and\x1bescape\ufffdreplacement",
        "tabs\tand\nnewlines\r\nmixed",
        "[CLS] [SEP] [MASK] [PAD] [UNK] inside text",
        "[mask] lower-case look-alike [MASK]word[SEP]",
        "math: ∑ x² ≤ ∞, ∀ε>0 ∃δ",
        "punctuation!!!???...;;;:::'''\"\"\"(((])){{}}",
        "$100.00 + 20% = €120 ¥ £ ₹",
        "email@example.com https://example.com/path?q=1&r=2#frag",
        "snake_case camelCase kebab-case PascalCase",
        "x" * 150,
        "supercalifragilisticexpialidocious " * 3,
        "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
        "ﬁ ﬂ ligatures ① ② Ⅻ ㎏ ｆｕｌｌｗｉｄｔｈ",
        "a\u0301 e\u0300 combining marks o\u0308",
        "Mixed 日本 and English and 中文 together",
        "The quick brown fox jumps over the lazy dog. " * 40,
        "lorem ipsum " * 300,
        "é" * 300,
        "日本" * 200,
        " ".join(str(i) for i in range(400)),
    ]
    words = (
        "the of and to in is that for it as was with be by on not he this are or his from at which but have an "
        "they you were her she there all one their we him been has when who will more no if out so said what up "
        "its about into than them can only other new some could time these two may then do first any my now such "
        "like our over man me even most made after also did many before must through years where much your way "
        "vector database embedding chroma query collection document metadata cosine distance neural network "
        "transformer attention token sentence similarity search retrieval index cluster semantic model"
    ).split()
    extra = ["café", "naïve", "日本", "😀", "Ελλάδα", "straße", "[MASK]", "don't", "U.S.A.", "3.14", "—", "¿qué?"]
    generated = []
    for n in range(260):
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80, 150, 300])
        pieces = [rng.choice(words) if rng.random() > 0.1 else rng.choice(extra) for _ in range(length)]
        text = " ".join(pieces)
        if n % 3 == 0:
            text = text.capitalize() + "."
        if n % 7 == 0:
            text = text.upper()
        generated.append(text)
    return fixed + generated


def reference(model_dir: str, output: str) -> None:
    model = ChromaMiniLM(model_dir)
    texts = parity_texts()
    embeddings = model(texts)
    data = {
        "description": "Chroma's Python pipeline (scripts/model/chroma_pipeline.py) on the model in model_dir",
        "model_dir": str(Path(model_dir).resolve()),
        "onnxruntime": ort.__version__,
        "texts": texts,
        "token_ids": [model.token_ids(t) for t in texts],
        "embeddings": [[float(x) for x in row] for row in embeddings],
    }
    Path(output).write_text(json.dumps(data))
    print(f"wrote {len(texts)} reference embeddings to {output}")


def all_code_point_tokens(model_dir: str, output: str) -> None:
    tokenizer = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    encodings = tokenizer.encode_batch(["ab" + chr(c) + "cd" for c in code_points])
    Path(output).write_text(json.dumps({"template": "ab{}cd", "code_points": code_points, "token_ids": [e.ids for e in encodings]}))
    print(f"wrote token ids for {len(code_points)} code points to {output}")


def bench(model_dir: str, texts_file: str) -> None:
    texts = json.loads(Path(texts_file).read_text())
    model = ChromaMiniLM(model_dir)
    model(texts[:BATCH_SIZE])
    started = time.perf_counter()
    model(texts)
    seconds = time.perf_counter() - started
    threads = ort.SessionOptions().intra_op_num_threads
    print(json.dumps({"texts": len(texts), "seconds": seconds, "texts_per_second": len(texts) / seconds, "threads": threads}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "tokens":
        all_code_point_tokens(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "bench":
        bench(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
