/**
 * A small, strict extractor for `.tar.gz` archives, enough for Chroma's model archive and nothing more:
 * regular files and directories only, every path checked to stay inside the destination. Links, devices and
 * paths that are absolute or climb out with `..` make the whole extraction fail, so a malicious archive can
 * never write outside the folder it is given. Streams: memory stays flat whatever the archive's size.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { createGunzip } from "node:zlib";
import { ChromaCorruptedError } from "../errors.js";

const BLOCK = 512;

/** Entry types of the tar formats (POSIX ustar, pax, GNU) that Python's `tarfile` and GNU/BSD tar write. */
const REGULAR_FILE = new Set(["0", "\0", "7"]);
const DIRECTORY = "5";
const PAX_HEADER = "x";
const PAX_GLOBAL_HEADER = "g";
const GNU_LONG_NAME = "L";

/** Reads a NUL-terminated string field. */
function field(header: Buffer, offset: number, length: number): string {
  const end = header.indexOf(0, offset);
  return header.toString("utf8", offset, end === -1 || end > offset + length ? offset + length : end);
}

/** Reads a numeric field: octal text, or base-256 when the high bit of the first byte is set. */
function numberField(header: Buffer, offset: number, length: number): number {
  if (header[offset]! & 0x80) {
    let value = header[offset]! & 0x7f;
    for (let i = 1; i < length; i += 1) value = value * 256 + header[offset + i]!;
    return value;
  }
  const text = field(header, offset, length).trim();
  return text ? parseInt(text, 8) : 0;
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === numberField(header, 148, 8);
}

/** Parses pax extended header records (`"<length> <key>=<value>\n"`). */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space === -1) break;
    const length = parseInt(data.toString("utf8", offset, space), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.toString("utf8", space + 1, offset + length - 1);
    const equals = record.indexOf("=");
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

/**
 * Resolves an entry's name inside `destination`, rejecting anything that could land elsewhere.
 * @throws ChromaCorruptedError for absolute paths, `..` segments, NUL bytes or backslashes.
 */
export function safeEntryPath(destination: string, name: string, archive: string): string {
  const cleaned = name.replace(/^(\.\/)+/, "");
  const segments = cleaned.split("/").filter((segment) => segment !== "" && segment !== ".");
  const unsafe =
    name.includes("\0") ||
    name.includes("\\") ||
    path.posix.isAbsolute(name) ||
    /^[a-zA-Z]:/.test(name) ||
    segments.includes("..");
  const resolved = path.resolve(destination, ...segments);
  if (unsafe || segments.length === 0 || !resolved.startsWith(destination + path.sep)) {
    throw new ChromaCorruptedError(`The archive ${archive} holds an unsafe path '${name}'; nothing was extracted from it.`);
  }
  return resolved;
}

/**
 * Extracts the `.tar.gz` at `archive` into `destination` (created if needed). Intended for a fresh temporary
 * folder: on error the folder may hold part of the archive and the caller discards it.
 * @returns the relative paths of the regular files written.
 * @throws ChromaCorruptedError when the archive is damaged or holds an unsafe path, a link or a special file.
 */
export async function extractTarGz(archive: string, destination: string): Promise<string[]> {
  const root = path.resolve(destination);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  const corrupted = (reason: string) => new ChromaCorruptedError(`The archive ${archive} is damaged: ${reason}.`);

  let pending: Buffer = Buffer.alloc(0);
  let file: FileHandle | undefined;
  let remaining = 0; // bytes of the current entry's data still to come
  let padding = 0; // bytes after it up to the next 512-byte boundary
  let collect: Buffer[] | undefined; // data of a pax or GNU long-name entry, kept in memory
  let collectKind = "";
  let nextName: string | undefined; // from a pax `path` record or a GNU long name
  let ended = false;

  const startEntry = async (header: Buffer): Promise<void> => {
    if (!checksumMatches(header)) throw corrupted("a header checksum does not match");
    const type = String.fromCharCode(header[156]!);
    const size = numberField(header, 124, 12);
    const prefix = field(header, 345, 155);
    const baseName = field(header, 0, 100);
    const name = nextName ?? (prefix && field(header, 257, 6).startsWith("ustar") ? `${prefix}/${baseName}` : baseName);
    remaining = size;
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === PAX_HEADER || type === PAX_GLOBAL_HEADER || type === GNU_LONG_NAME) {
      if (size > 1 << 20) throw corrupted("an extended header is too large");
      collect = [];
      collectKind = type;
      return;
    }
    nextName = undefined;
    if (REGULAR_FILE.has(type)) {
      const target = safeEntryPath(root, name, archive);
      await mkdir(path.dirname(target), { recursive: true });
      file = await open(target, "w", 0o644);
      written.push(path.relative(root, target).split(path.sep).join("/"));
    } else if (type === DIRECTORY) {
      await mkdir(safeEntryPath(root, name, archive), { recursive: true });
    } else {
      safeEntryPath(root, name, archive);
      throw new ChromaCorruptedError(
        `The archive ${archive} holds '${name}', which is a link or a special file (type '${type}'); only files and folders are accepted.`,
      );
    }
  };

  const finishEntry = async (): Promise<void> => {
    if (file) {
      await file.close();
      file = undefined;
    }
    if (collect) {
      const data = Buffer.concat(collect);
      if (collectKind === PAX_HEADER) nextName = parsePax(data).get("path") ?? nextName;
      if (collectKind === GNU_LONG_NAME) nextName = field(data, 0, data.length);
      collect = undefined;
    }
  };

  const source = createReadStream(archive);
  const gunzip = createGunzip();
  source.on("error", (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let offset = 0;
      while (!ended) {
        if (remaining > 0) {
          const take = Math.min(remaining, pending.length - offset);
          if (take === 0) break;
          const data = pending.subarray(offset, offset + take);
          if (file) await file.write(data);
          else if (collect) collect.push(Buffer.from(data));
          offset += take;
          remaining -= take;
          if (remaining > 0) break;
          await finishEntry();
        } else if (padding > 0) {
          const take = Math.min(padding, pending.length - offset);
          if (take === 0) break;
          offset += take;
          padding -= take;
        } else {
          if (pending.length - offset < BLOCK) break;
          const header = pending.subarray(offset, offset + BLOCK);
          offset += BLOCK;
          if (header.every((byte) => byte === 0)) {
            ended = true;
            break;
          }
          await startEntry(header);
          if (remaining === 0) await finishEntry();
        }
      }
      pending = pending.subarray(offset);
    }
  } catch (error) {
    source.destroy();
    await file?.close().catch(() => undefined);
    if (error instanceof ChromaCorruptedError) throw error;
    throw corrupted(error instanceof Error ? error.message : String(error));
  }
  if (remaining > 0 || !ended) {
    await file?.close().catch(() => undefined);
    throw corrupted("it ends before its last entry is complete");
  }
  return written;
}
