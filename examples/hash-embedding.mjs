// A small, deterministic text embedding for the example: hashed word and character-trigram counts,
// L2-normalised. It stands in for a learned model so the example runs offline with no download.
const DIMENSION = 256;

function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function embed(text) {
  const vector = new Array(DIMENSION).fill(0);
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  for (const word of words) {
    vector[hash(word) % DIMENSION] += 2;
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) vector[hash(padded.slice(i, i + 3)) % DIMENSION] += 1;
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

/** An embedding function in the shape the official chromadb client expects. */
export const hashEmbedding = {
  name: "example-hash",
  generate: async (texts) => texts.map(embed),
  getConfig: () => ({ dimension: DIMENSION }),
};
