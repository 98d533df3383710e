/**
 * Embeddings on the wire. Writes go as base64 of packed little-endian float32 rows when the server supports it
 * (a quarter of the JSON size, and exact); otherwise, and for queries, as JSON number arrays. Numbers read back
 * are rounded to float32, the precision the server stores, so results equal the embedded client's bit for bit.
 */
import { endianness } from "node:os";
import type { EmbeddingMatrix } from "../api.js";

const LITTLE_ENDIAN_HOST = endianness() === "LE";

/** Row `row` of the matrix as little-endian float32 bytes, base64-encoded. */
function packRow(matrix: EmbeddingMatrix, row: number): string {
  const { data, dimension } = matrix;
  const start = row * dimension;
  if (LITTLE_ENDIAN_HOST) {
    return Buffer.from(data.buffer, data.byteOffset + start * 4, dimension * 4).toString("base64");
  }
  const bytes = Buffer.alloc(dimension * 4);
  for (let i = 0; i < dimension; i++) bytes.writeFloatLE(data[start + i], i * 4);
  return bytes.toString("base64");
}

/** Number of rows of a row-major matrix. */
export function rowCount(matrix: EmbeddingMatrix): number {
  return matrix.dimension === 0 ? 0 : matrix.data.length / matrix.dimension;
}

/** One base64 string per row. */
export function toBase64Rows(matrix: EmbeddingMatrix): string[] {
  const rows = rowCount(matrix);
  const packed: string[] = new Array(rows);
  for (let row = 0; row < rows; row++) packed[row] = packRow(matrix, row);
  return packed;
}

/** One plain number array per row. */
export function toNumberRows(matrix: EmbeddingMatrix): number[][] {
  const { data, dimension } = matrix;
  const rows = rowCount(matrix);
  const result: number[][] = new Array(rows);
  for (let row = 0; row < rows; row++) {
    result[row] = Array.from(data.subarray(row * dimension, (row + 1) * dimension));
  }
  return result;
}

/** Rounds every number of a (nested) numeric list to float32 in place, and returns it. */
export function roundToFloat32<T>(values: T): T {
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i++) {
      const value: unknown = values[i];
      if (typeof value === "number") values[i] = Math.fround(value);
      else if (Array.isArray(value)) roundToFloat32(value);
    }
  }
  return values;
}
