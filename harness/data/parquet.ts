import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { fsError, UserError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { type NewsRecord, RECORD_FIELDS, toRecord } from "./records.ts";

const MAGIC = "PAR1";

/** First and last 4 bytes: a parquet file starts and ends with "PAR1"; a cut-short one keeps only the first. */
function checkMagic(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw fsError(err, path);
  }
  try {
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n < 4 || head.toString("latin1") !== MAGIC) throw new UserError("not a parquet file", path);
    const size = fstatSync(fd).size;
    if (size < 12) throw new UserError("parquet file cut short (truncated)", path);
    readSync(fd, tail, 0, 4, size - 4);
    if (tail.toString("latin1") !== MAGIC) throw new UserError("parquet file cut short (truncated)", path);
  } finally {
    closeSync(fd);
  }
}

/**
 * Read rows of a parquet file as objects. `columns` defaults to id/article/highlights; each must exist
 * in the file's schema (named in the error otherwise).
 */
export async function readParquetRows(
  path: string,
  columns: readonly string[],
): Promise<Record<string, unknown>[]> {
  checkMagic(path);
  const file = await asyncBufferFromFile(path);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new UserError(`corrupt parquet footer (${(err as Error).message})`, path);
  }
  const have = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  for (const c of columns) {
    if (!have.has(c)) throw new UserError(`missing column "${c}" (has: ${[...have].join(", ")})`, path);
  }
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file, metadata, columns: [...columns] })) as Record<string, unknown>[];
  } catch (err) {
    throw new UserError(`corrupt parquet data (${(err as Error).message})`, path);
  }
  // A damaged footer can parse with row groups of no size: hyparquet then returns fewer rows, silently.
  if (rows.length !== Number(metadata.num_rows))
    throw new UserError(
      `corrupt parquet data (footer says ${metadata.num_rows} rows, ${rows.length} could be read)`,
      path,
    );
  return rows;
}

/** CNN/DM records from one parquet file (the Hub's `3.0.0/{split}-0000N-of-0000M.parquet`). */
export async function readParquet(
  path: string,
  opts: { columns?: readonly string[] } = {},
): Promise<NewsRecord[]> {
  const rows = await readParquetRows(path, opts.columns ?? RECORD_FIELDS);
  return rows.map((r, i) => toRecord(r, `${path}: row ${i}`));
}

/** Write records as parquet with the Hub's column order (article, highlights, id), atomically. */
export function writeParquet(path: string, records: readonly NewsRecord[]): void {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "article", data: records.map((r) => r.article), type: "STRING", nullable: false },
      { name: "highlights", data: records.map((r) => r.highlights), type: "STRING", nullable: false },
      { name: "id", data: records.map((r) => r.id), type: "STRING", nullable: false },
    ],
    rowGroupSize: 1000,
  });
  writeFileAtomic(path, new Uint8Array(buf));
}
