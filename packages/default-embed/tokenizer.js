/**
 * The BERT WordPiece tokenizer of all-MiniLM-L6-v2, read from its `tokenizer.json`, producing the same ids as
 * Hugging Face `tokenizers` (which Chroma's Python pipeline uses) with truncation enabled:
 *
 * 1. added tokens (`[CLS]`, `[SEP]`, `[MASK]`, ...) written in the text are matched verbatim and kept whole;
 * 2. the rest goes through the BertNormalizer (drop control characters, whitespace to spaces, spaces around CJK
 *    ideographs, NFD with nonspacing marks removed, per-character lowercase);
 * 3. the BertPreTokenizer splits on whitespace and isolates each punctuation character;
 * 4. WordPiece: greedy longest match with `##` continuations, `[UNK]` for a word with no match or over 100
 *    characters;
 * 5. truncation keeps the first `maxTokens - 2` tokens, then `[CLS]` … `[SEP]` are added.
 *
 * Pure JavaScript, no dependencies; it runs in the embedding worker.
 */

/** Code point ranges that Hugging Face treats as CJK ideographs (padded with spaces before splitting). */
const CJK_RANGES = [
  [0x4e00, 0x9fff],
  [0x3400, 0x4dbf],
  [0x20000, 0x2a6df],
  [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf],
  [0xf900, 0xfaff],
  [0x2f800, 0x2fa1f],
];

// Unicode "Other" as Hugging Face tests it (Cc, Cf, Cs, Co; unassigned code points are kept): removed by
// clean_text, except tab, newline and carriage return.
const OTHER = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}]/u;
// Rust's char::is_whitespace (the White_Space property).
const WHITESPACE = /\p{White_Space}/u;
const NONSPACING_MARK = /\p{Mn}/u;
const PUNCTUATION = /\p{P}/u;

/**
 * Hugging Face's tokenizers classify characters with Unicode tables older than Node's. These code points are
 * punctuation, nonspacing marks or format characters for Node but plain letters for Hugging Face (mostly
 * characters assigned since), so they are kept inside words. Found by comparing both tokenizers on every code
 * point (test/embedding-model.test.ts repeats that comparison when the model fixture is set up).
 */
const PLAIN_LETTER_RANGES = [
  [0x61d, 0x61d], [0x7fd, 0x7fd], [0x890, 0x891], [0x897, 0x89f], [0x8ca, 0x8e2], [0x9fd, 0x9fd], [0x9fe, 0x9fe],
  [0xa76, 0xa76], [0xafa, 0xaff], [0xb55, 0xb55], [0xc04, 0xc04], [0xc3c, 0xc3c], [0xc77, 0xc77], [0xc84, 0xc84],
  [0xd00, 0xd00], [0xd3b, 0xd3c], [0xd81, 0xd81], [0xeba, 0xeba], [0xece, 0xece], [0x180f, 0x180f],
  [0x1885, 0x1886], [0x1abf, 0x1add], [0x1ae0, 0x1aeb], [0x1b4e, 0x1b4f], [0x1b7d, 0x1b7f], [0x1df6, 0x1dfb],
  [0x2e43, 0x2e4f], [0x2e52, 0x2e5d], [0xa82c, 0xa82c], [0xa8c5, 0xa8c5], [0xa8ff, 0xa8ff], [0xa9bd, 0xa9bd],
  [0x10d24, 0x10d27], [0x10d69, 0x10d6d], [0x10d6e, 0x10d6e], [0x10eab, 0x10eac], [0x10ead, 0x10ead],
  [0x10ed0, 0x10ed0], [0x10efa, 0x10eff], [0x10f46, 0x10f50], [0x10f55, 0x10f59], [0x10f82, 0x10f85],
  [0x10f86, 0x10f89], [0x11070, 0x11070], [0x11073, 0x11074], [0x110c2, 0x110c2], [0x110cd, 0x110cd],
  [0x111c9, 0x111c9], [0x111cf, 0x111cf], [0x1123e, 0x1123e], [0x11241, 0x11241], [0x1133b, 0x1133b], [0x113bb, 0x113c0],
  [0x113ce, 0x113ce], [0x113d0, 0x113d0], [0x113d2, 0x113d2], [0x113d4, 0x113d5], [0x113d7, 0x113d8],
  [0x113e1, 0x113e2], [0x11438, 0x1143f], [0x11442, 0x11444], [0x11446, 0x11446], [0x1144b, 0x1144f],
  [0x1145a, 0x1145b], [0x1145d, 0x1145d], [0x1145e, 0x1145e], [0x11660, 0x1166c], [0x116b9, 0x116b9],
  [0x1182f, 0x11837], [0x11839, 0x1183a], [0x1183b, 0x1183b], [0x1193b, 0x1193c], [0x1193e, 0x1193e],
  [0x11943, 0x11943], [0x11944, 0x11946], [0x119d4, 0x119d7], [0x119da, 0x119db], [0x119e0, 0x119e0],
  [0x119e2, 0x119e2], [0x11a01, 0x11a0a], [0x11a33, 0x11a38], [0x11a3b, 0x11a3e], [0x11a3f, 0x11a46],
  [0x11a47, 0x11a47], [0x11a51, 0x11a56], [0x11a59, 0x11a5b], [0x11a8a, 0x11a96], [0x11a98, 0x11a99],
  [0x11a9a, 0x11a9c], [0x11a9e, 0x11aa2], [0x11b00, 0x11b09], [0x11b60, 0x11b60], [0x11b62, 0x11b64],
  [0x11b66, 0x11b66], [0x11be1, 0x11be1], [0x11c30, 0x11c36], [0x11c38, 0x11c3d], [0x11c3f, 0x11c3f],
  [0x11c41, 0x11c45], [0x11c70, 0x11c71], [0x11c92, 0x11ca7], [0x11caa, 0x11cb0], [0x11cb2, 0x11cb3],
  [0x11cb5, 0x11cb6], [0x11d31, 0x11d36], [0x11d3a, 0x11d3a], [0x11d3c, 0x11d3d], [0x11d3f, 0x11d45],
  [0x11d47, 0x11d47], [0x11d90, 0x11d91], [0x11d95, 0x11d95], [0x11d97, 0x11d97], [0x11ef3, 0x11ef4],
  [0x11ef7, 0x11ef8], [0x11f00, 0x11f01], [0x11f36, 0x11f3a], [0x11f40, 0x11f40], [0x11f42, 0x11f42],
  [0x11f43, 0x11f4f], [0x11f5a, 0x11f5a], [0x11fff, 0x11fff], [0x12ff1, 0x12ff2], [0x13430, 0x13440],
  [0x13447, 0x13455], [0x1611e, 0x16129], [0x1612d, 0x1612f], [0x16d6d, 0x16d6f], [0x16e97, 0x16e9a],
  [0x16f4f, 0x16f4f], [0x16fe2, 0x16fe2], [0x16fe4, 0x16fe4], [0x1cf00, 0x1cf2d], [0x1cf30, 0x1cf46],
  [0x1e000, 0x1e006], [0x1e008, 0x1e018], [0x1e01b, 0x1e021], [0x1e023, 0x1e024], [0x1e026, 0x1e02a],
  [0x1e08f, 0x1e08f], [0x1e130, 0x1e136], [0x1e2ae, 0x1e2ae], [0x1e2ec, 0x1e2ef], [0x1e4ec, 0x1e4ef],
  [0x1e5ee, 0x1e5ef], [0x1e5ff, 0x1e5ff], [0x1e6e3, 0x1e6e3], [0x1e6e6, 0x1e6e6], [0x1e6ee, 0x1e6ef],
  [0x1e6f5, 0x1e6f5], [0x1e944, 0x1e94a], [0x1e95e, 0x1e95f],
];
/** Punctuation for Hugging Face, not for Node (0x111c9 is also in PLAIN_LETTER_RANGES so that it is not stripped as a mark). */
const EXTRA_PUNCTUATION = new Set([0x166d, 0x111c9]);
/** Nonspacing marks (removed with accents) for Hugging Face, spacing marks for Node. */
const EXTRA_NONSPACING_MARKS = new Set([0x1734, 0x1171e]);

/** @param {number} codePoint */
function isPlainLetterForHuggingFace(codePoint) {
  let low = 0;
  let high = PLAIN_LETTER_RANGES.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [first, last] = PLAIN_LETTER_RANGES[middle];
    if (codePoint < first) high = middle - 1;
    else if (codePoint > last) low = middle + 1;
    else return true;
  }
  return false;
}

/** @param {number} codePoint */
function isChinese(codePoint) {
  for (const [low, high] of CJK_RANGES) {
    if (codePoint >= low && codePoint <= high) return true;
  }
  return false;
}

/** @param {string} c one code point */
function isAsciiPunctuation(c) {
  const code = c.codePointAt(0) ?? 0;
  return (code >= 33 && code <= 47) || (code >= 58 && code <= 64) || (code >= 91 && code <= 96) || (code >= 123 && code <= 126);
}

/**
 * Punctuation as the BertPreTokenizer sees it: ASCII punctuation or Unicode category P.
 * @param {string} c one code point
 */
function isPunctuation(c) {
  const codePoint = c.codePointAt(0) ?? 0;
  if (isAsciiPunctuation(c)) return true;
  if (EXTRA_PUNCTUATION.has(codePoint)) return true;
  return PUNCTUATION.test(c) && !isPlainLetterForHuggingFace(codePoint);
}

/**
 * BertNormalizer with clean_text, handle_chinese_chars, strip_accents and lowercase all on (strip_accents
 * follows lowercase when unset, as in all-MiniLM-L6-v2's tokenizer.json).
 * @param {string} text
 * @returns {string}
 */
export function normalize(text) {
  let cleaned = "";
  for (const c of text) {
    if (c === "\t" || c === "\n" || c === "\r") {
      cleaned += " ";
    } else if (c === "\0" || c === "\ufffd" || (OTHER.test(c) && !isPlainLetterForHuggingFace(c.codePointAt(0) ?? 0))) {
      continue;
    } else if (WHITESPACE.test(c)) {
      cleaned += " ";
    } else if (isChinese(c.codePointAt(0) ?? 0)) {
      cleaned += ` ${c} `;
    } else {
      cleaned += c;
    }
  }
  let stripped = "";
  for (const c of cleaned.normalize("NFD")) {
    const codePoint = c.codePointAt(0) ?? 0;
    const isMark = NONSPACING_MARK.test(c) ? !isPlainLetterForHuggingFace(codePoint) : EXTRA_NONSPACING_MARKS.has(codePoint);
    if (!isMark) stripped += c;
  }
  // Per character, like Rust's char::to_lowercase: String.prototype.toLowerCase on a whole string would turn a
  // word-final capital sigma into "ς", which Hugging Face does not.
  let lowered = "";
  for (const c of stripped) lowered += c.toLowerCase();
  return lowered;
}

/**
 * BertPreTokenizer: split on whitespace, and make every punctuation character a word of its own.
 * @param {string} text normalized text
 * @returns {string[]}
 */
export function preTokenize(text) {
  const words = [];
  let current = "";
  for (const c of text) {
    if (WHITESPACE.test(c)) {
      if (current) words.push(current);
      current = "";
    } else if (isPunctuation(c)) {
      if (current) words.push(current);
      words.push(c);
      current = "";
    } else {
      current += c;
    }
  }
  if (current) words.push(current);
  return words;
}

/** A tokenizer built from a Hugging Face `tokenizer.json` with a BERT WordPiece model. */
export class WordPieceTokenizer {
  /**
   * @param {any} tokenizerJson the parsed `tokenizer.json`
   * @param {number} maxTokens tokens per text including `[CLS]` and `[SEP]` (Chroma: 256)
   */
  constructor(tokenizerJson, maxTokens) {
    const model = tokenizerJson?.model;
    if (!model || model.type !== "WordPiece" || typeof model.vocab !== "object") {
      throw new Error("tokenizer.json does not describe a WordPiece model");
    }
    /** @type {Map<string, number>} */
    this.vocab = new Map(Object.entries(model.vocab));
    this.unknownToken = model.unk_token ?? "[UNK]";
    this.continuingPrefix = model.continuing_subword_prefix ?? "##";
    this.maxInputCharsPerWord = model.max_input_chars_per_word ?? 100;
    this.maxTokens = maxTokens;
    this.unknownId = this.requireId(this.unknownToken);
    this.clsId = this.requireId("[CLS]");
    this.sepId = this.requireId("[SEP]");
    /** Added tokens matched verbatim in the raw text, longest first (leftmost-longest matching). */
    this.addedTokens = (tokenizerJson.added_tokens ?? [])
      .filter((/** @type {any} */ token) => token.normalized === false && typeof token.content === "string" && token.content)
      .map((/** @type {any} */ token) => ({ content: String(token.content), id: Number(token.id) }))
      .sort((/** @type {{content: string}} */ a, /** @type {{content: string}} */ b) => b.content.length - a.content.length);
    /** @type {Map<string, number[]>} */
    this.wordCache = new Map();
  }

  /** @param {string} token */
  requireId(token) {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`tokenizer.json has no ${token} token`);
    return id;
  }

  /**
   * The model's input ids for one text: `[CLS]`, up to `maxTokens - 2` word pieces, `[SEP]`.
   * @param {string} text
   * @returns {number[]}
   */
  encode(text) {
    const limit = this.maxTokens - 2;
    /** @type {number[]} */
    const ids = [];
    for (const segment of this.splitOnAddedTokens(text)) {
      if (ids.length >= limit) break;
      if (typeof segment === "number") {
        ids.push(segment);
        continue;
      }
      for (const word of preTokenize(normalize(segment))) {
        for (const id of this.wordPieces(word)) ids.push(id);
        if (ids.length >= limit) break;
      }
    }
    ids.length = Math.min(ids.length, limit);
    return [this.clsId, ...ids, this.sepId];
  }

  /**
   * Splits the raw text into plain segments and the ids of added tokens written in it.
   * @param {string} text
   * @returns {(string | number)[]}
   */
  splitOnAddedTokens(text) {
    if (this.addedTokens.length === 0 || !text.includes("[")) return [text];
    /** @type {(string | number)[]} */
    const segments = [];
    let start = 0;
    let position = 0;
    while (position < text.length) {
      const match = this.addedTokens.find((/** @type {{content: string}} */ token) => text.startsWith(token.content, position));
      if (match) {
        if (position > start) segments.push(text.slice(start, position));
        segments.push(match.id);
        position += match.content.length;
        start = position;
      } else {
        position += 1;
      }
    }
    if (start < text.length) segments.push(text.slice(start));
    return segments;
  }

  /**
   * WordPiece for one pre-tokenized word.
   * @param {string} word
   * @returns {number[]}
   */
  wordPieces(word) {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const chars = Array.from(word);
    /** @type {number[]} */
    let pieces = [];
    if (chars.length > this.maxInputCharsPerWord) {
      pieces = [this.unknownId];
    } else {
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found;
        while (start < end) {
          const piece = (start > 0 ? this.continuingPrefix : "") + chars.slice(start, end).join("");
          found = this.vocab.get(piece);
          if (found !== undefined) break;
          end -= 1;
        }
        if (found === undefined) {
          pieces = [this.unknownId];
          break;
        }
        pieces.push(found);
        start = end;
      }
    }
    if (this.wordCache.size < 100_000) this.wordCache.set(word, pieces);
    return pieces;
  }
}
