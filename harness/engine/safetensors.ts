/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors).
 *
 * File layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
 * The reader validates what the Rust crate validates, with one-line errors naming the file:
 * header size limits, UTF-8 JSON object, per-entry dtype/shape/offsets, shape × dtype size equals
 * the byte range, and the ranges sorted by offset tile the data section exactly — no overlap, and
 * no hole (the crate's InvalidOffset / MetadataIncompleteBuffer), which also forbids trailing bytes.
 * On top of the crate it rejects duplicate tensor names, which JSON.parse would silently collapse.
 * Tensors are read lazily, each from its own byte range, so a 4 GB checkpoint is never loaded whole.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { fsError, UserError } from "../errors.ts";
import { bf16ToF32, f16ToF32, f32ToF16 } from "./dtype.ts";

export type StDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const ST_DTYPE_BYTES: Record<StDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Rank of each dtype in the Rust crate's `Dtype` enum; its writer lays tensors out by rank descending. */
const DTYPE_RANK: Record<StDtype, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 5,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  F64: 12,
  I64: 13,
};

/** Same limit as the Rust crate's MAX_HEADER_SIZE. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface StTensorInfo {
  dtype: StDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  path: string;
  tensors: Map<string, StTensorInfo>;
  metadata: Record<string, string>;
  /** F32 as is; F16/BF16/F64 converted. Integer tensors are an error. */
  readF32(name: string): Float32Array;
  /** IEEE half bits: F16 as is; BF16/F32/F64 rounded to nearest even, one tensor at a time. */
  readF16(name: string): Uint16Array;
  readF64(name: string): Float64Array;
  readRaw(name: string): Uint8Array;
  close(): void;
}

export type StData = Float32Array | Float64Array | Uint16Array | Uint8Array | Int32Array | BigInt64Array;

export interface StTensorInput {
  dtype: StDtype;
  shape: number[];
  data: StData;
}

function isDtype(x: unknown): x is StDtype {
  return typeof x === "string" && Object.hasOwn(ST_DTYPE_BYTES, x);
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function numel(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Read exactly `len` bytes at `pos` (readSync may return short counts). */
function readExact(fd: number, len: number, pos: number, file: string): Uint8Array {
  const buf = new Uint8Array(len); // fresh allocation: offset 0, so typed views over it are aligned
  let off = 0;
  while (off < len) {
    const n = readSync(fd, buf, off, Math.min(len - off, 1 << 30), pos + off); // one read is capped near 2 GiB
    if (n === 0) throw new UserError(`file ended early (truncated while open?)`, file);
    off += n;
  }
  return buf;
}

/**
 * Throw on a duplicate key in any object of `text`, which must already be valid JSON.
 * JSON.parse keeps the last of duplicate keys silently, so scan the raw tokens: a string right after
 * `{` or `,` inside an object is a key.
 */
function checkDuplicateKeys(text: string, file: string): void {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push({ keys: new Set(), expectKey: true });
    else if (c === 0x5b /* [ */) stack.push({ keys: null, expectKey: false });
    else if (c === 0x7d || c === 0x5d /* } ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) {
          throw new UserError(`safetensors header has duplicate key ${JSON.stringify(key)}`, file);
        }
        top.keys.add(key);
        top.expectKey = false;
      }
    }
  }
}

interface Header {
  tensors: Map<string, StTensorInfo>;
  metadata: Record<string, string>;
}

/** Validate a header's JSON text against a data section of `dataLen` bytes. */
function parseHeader(text: string, dataLen: number, file: string): Header {
  const bad = (msg: string): never => {
    throw new UserError(msg, file);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    bad("safetensors header is not valid JSON");
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    bad("safetensors header is not a JSON object");
  }
  checkDuplicateKeys(text, file);

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, StTensorInfo>();
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        bad("safetensors __metadata__ must be an object of strings");
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== "string")
          bad(`safetensors __metadata__ value for ${JSON.stringify(k)} is not a string`);
      }
      metadata = Object.fromEntries(Object.entries(entry as Record<string, string>));
      continue;
    }
    const t = JSON.stringify(name);
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      bad(`tensor ${t}: header entry is not an object`);
    }
    const e = entry as Record<string, unknown>;
    for (const field of ["dtype", "shape", "data_offsets"]) {
      if (!(field in e)) bad(`tensor ${t}: header entry lacks "${field}"`);
    }
    if (!isDtype(e.dtype)) bad(`tensor ${t}: unknown dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      bad(`tensor ${t}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      bad(`tensor ${t}: data_offsets must be two integers [begin, end] with begin <= end`);
    }
    const [begin, end] = offs as number[];
    if (end > dataLen)
      bad(`tensor ${t}: data_offsets [${begin}, ${end}] run past the data section (${dataLen} bytes)`);
    const dtype = e.dtype as StDtype;
    const want = numel(shape as number[]) * ST_DTYPE_BYTES[dtype];
    if (want !== end - begin) {
      bad(
        `tensor ${t}: shape ${JSON.stringify(shape)} × ${dtype} needs ${want} bytes but data_offsets span ${end - begin}`,
      );
    }
    tensors.set(name, { dtype, shape: shape as number[], begin, end });
  }

  // Sorted by offset, the ranges must tile [0, dataLen) exactly, as the Rust crate requires.
  const sorted = [...tensors.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  let prev = "";
  for (const [name, info] of sorted) {
    if (info.begin < pos)
      bad(`tensors ${JSON.stringify(prev)} and ${JSON.stringify(name)} overlap in the data section`);
    if (info.begin > pos)
      bad(`data section has a hole at bytes [${pos}, ${info.begin}) not covered by any tensor`);
    pos = info.end;
    prev = name;
  }
  if (pos !== dataLen) {
    bad(`data section has ${dataLen - pos} bytes after the last tensor (tensors must cover it exactly)`);
  }
  return { tensors, metadata };
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw fsError(err, path);
  }
  let header: Header;
  let dataStart: number;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new UserError("is a directory, expected a safetensors file", path);
    const size = st.size;
    if (size < 8)
      throw new UserError(
        `not a safetensors file: ${size} bytes, shorter than the 8-byte header length`,
        path,
      );
    const n = new DataView(readExact(fd, 8, 0, path).buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES)) {
      throw new UserError(`safetensors header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`, path);
    }
    const headerLen = Number(n);
    if (8 + headerLen > size) {
      throw new UserError(
        `safetensors header length ${headerLen} runs past the end of the file (${size} bytes)`,
        path,
      );
    }
    let text: string;
    try {
      text = utf8.decode(readExact(fd, headerLen, 8, path));
    } catch {
      throw new UserError("safetensors header is not valid UTF-8", path);
    }
    dataStart = 8 + headerLen;
    header = parseHeader(text, size - dataStart, path);
  } catch (err) {
    closeSync(fd);
    throw err;
  }

  let open = true;
  const info = (name: string): StTensorInfo => {
    if (!open) throw new Error(`${path}: read after close`);
    const t = header.tensors.get(name);
    if (!t) throw new UserError(`no tensor ${JSON.stringify(name)}`, path);
    return t;
  };
  const readRaw = (name: string): Uint8Array => {
    const t = info(name);
    return readExact(fd, t.end - t.begin, dataStart + t.begin, path);
  };
  const notFloat = (name: string, dtype: string): never => {
    throw new UserError(`tensor ${JSON.stringify(name)} is ${dtype}, expected a floating-point dtype`, path);
  };
  const readF32 = (name: string): Float32Array => {
    const { dtype } = info(name);
    if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16" && dtype !== "F64")
      return notFloat(name, dtype);
    const raw = readRaw(name);
    if (dtype === "F32") return new Float32Array(raw.buffer, 0, raw.byteLength / 4);
    if (dtype === "F64") return Float32Array.from(new Float64Array(raw.buffer, 0, raw.byteLength / 8));
    const u16 = new Uint16Array(raw.buffer, 0, raw.byteLength / 2);
    return dtype === "F16" ? f16ToF32(u16) : bf16ToF32(u16);
  };
  const readF16 = (name: string): Uint16Array => {
    if (info(name).dtype !== "F16") return f32ToF16(readF32(name));
    const raw = readRaw(name);
    return new Uint16Array(raw.buffer, 0, raw.byteLength / 2);
  };
  const readF64 = (name: string): Float64Array => {
    const { dtype } = info(name);
    if (dtype !== "F64") return Float64Array.from(readF32(name));
    const raw = readRaw(name);
    return new Float64Array(raw.buffer, 0, raw.byteLength / 8);
  };
  return {
    path,
    tensors: header.tensors,
    metadata: header.metadata,
    readRaw,
    readF32,
    readF16,
    readF64,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Layout order of the Rust/Python writer: dtype rank descending (so alignment descending), then name. */
function layoutOrder(names: [string, StDtype][]): string[] {
  return names
    .sort(([an, ad], [bn, bd]) => DTYPE_RANK[bd] - DTYPE_RANK[ad] || (an < bn ? -1 : an > bn ? 1 : 0))
    .map(([n]) => n);
}

interface Prepared {
  header: Uint8Array; // 8-byte length + padded JSON
  order: string[];
}

/** Build the header the way the Rust crate does: metadata first, then tensors in layout order. */
function prepare(
  tensors: Record<string, StTensorInput>,
  metadata: Record<string, string> | undefined,
  file: string,
): Prepared {
  const order = layoutOrder(Object.entries(tensors).map(([n, t]) => [n, t.dtype]));
  // Built by hand rather than via an object so that key order is exact and "__proto__" is a plain key.
  const parts: string[] = [];
  const meta = Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  if (meta.length > 0) {
    parts.push(
      `"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`,
    );
  }
  let offset = 0;
  for (const name of order) {
    const t = tensors[name];
    const what = `tensor ${JSON.stringify(name)}`;
    if (name === "__metadata__") throw new UserError(`${what}: name is reserved`, file);
    if (!isDtype(t.dtype)) throw new UserError(`${what}: unknown dtype ${t.dtype}`, file);
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt))
      throw new UserError(`${what}: bad shape`, file);
    const nbytes = numel(t.shape) * ST_DTYPE_BYTES[t.dtype];
    if (nbytes !== t.data.byteLength) {
      throw new UserError(
        `${what}: shape ${JSON.stringify(t.shape)} × ${t.dtype} needs ${nbytes} bytes, data has ${t.data.byteLength}`,
        file,
      );
    }
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    offset += nbytes;
  }
  const json = Buffer.from(`{${parts.join(",")}}`, "utf8");
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, order };
}

function bytesOf(d: StData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Serialize to bytes exactly as the safetensors library would (header padded with spaces to 8 bytes). */
export function serializeSafetensors(
  tensors: Record<string, StTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const { header, order } = prepare(tensors, metadata, "<safetensors>");
  let total = header.length;
  for (const name of order) total += tensors[name].data.byteLength;
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.length;
  for (const name of order) {
    const b = bytesOf(tensors[name].data);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

let tmpCounter = 0;

/**
 * Write a safetensors file atomically (temp file + fsync + rename). Streams tensor by tensor rather
 * than through writeFileAtomic's single buffer: a 4.4 GB fp32 checkpoint must not be concatenated.
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, StTensorInput>,
  metadata?: Record<string, string>,
): void {
  const { header, order } = prepare(tensors, metadata, path);
  tmpCounter += 1;
  const tmp = `${path}.${process.pid}.${tmpCounter}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(tmp, "w");
    try {
      writeAll(fd, header);
      for (const name of order) writeAll(fd, bytesOf(tensors[name].data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof UserError) throw err;
    throw fsError(err, path);
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  // Chunked: a single writeSync is capped near 2 GiB.
  const CHUNK = 1 << 30;
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, Math.min(CHUNK, b.length - off));
}
