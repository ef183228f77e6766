import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { readParquet } from "./parquet.ts";
import { type NewsRecord, readJsonl, readStoryDir } from "./records.ts";

/** abisee/cnn_dailymail keeps each config's splits as `{config}/{split}-0000N-of-0000M.parquet`. */
export const CNN_DM_CONFIG = "3.0.0";

const SHARD = /^(.+)-(\d{5})-of-(\d{5})\.parquet$/;

/** The parquet shards of `split` in `dir`, in shard order; all M of "of-M" must be there. */
export function findParquetShards(dir: string, split: string): string[] | null {
  if (!isDir(dir)) return null;
  const shards = readdirSync(dir)
    .map((n) => ({ n, m: SHARD.exec(n) }))
    .filter(({ m }) => m !== null && m[1] === split)
    .sort((a, b) => a.n.localeCompare(b.n));
  if (shards.length === 0) return null;
  const total = Number(shards[0].m![3]);
  const have = new Set(shards.map(({ m }) => Number(m![2])));
  for (let i = 0; i < total; i++) {
    const name = `${split}-${String(i).padStart(5, "0")}-of-${String(total).padStart(5, "0")}.parquet`;
    if (!have.has(i)) throw new UserError(`missing parquet shard ${name}`, dir);
  }
  return shards.map(({ n }) => join(dir, n));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A Hub repo id ("org/name") that is not also a local path. */
export function looksLikeHubId(source: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(source) && !existsSync(source) && !source.startsWith(".");
}

export interface LoadOptions {
  /** Dataset config folder in the Hub layout (default "3.0.0"). */
  config?: string;
  /** Hub revision when `source` is a dataset id (default "main"). */
  revision?: string;
  endpoint?: string;
}

/**
 * Records of one split. `source` is a local directory holding, in order of preference:
 * `{config}/{split}-*.parquet` (the Hub layout) or `{split}-*.parquet`, `{split}.jsonl`, or
 * `{split}/*.story`; or a Hub dataset id, fetched into the HF cache first.
 */
export async function loadSplit(
  source: string,
  split: string,
  opts: LoadOptions = {},
): Promise<NewsRecord[]> {
  const config = opts.config ?? CNN_DM_CONFIG;
  let dir = source;
  if (looksLikeHubId(source)) {
    const { resolveHubRepo } = await import("./hub.ts");
    const snap = await resolveHubRepo({
      repo: source,
      type: "dataset",
      revision: opts.revision,
      endpoint: opts.endpoint,
      files: (p) => p.startsWith(`${config}/${split}-`) && p.endsWith(".parquet"),
    });
    dir = snap.dir;
  }
  if (!isDir(dir)) throw new UserError("dataset source is not a directory (or a Hub dataset id)", source);

  const shards = findParquetShards(join(dir, config), split) ?? findParquetShards(dir, split);
  if (shards) {
    const out: NewsRecord[] = [];
    for (const s of shards) for (const r of await readParquet(s)) out.push(r);
    return out;
  }
  const jsonl = join(dir, `${split}.jsonl`);
  if (existsSync(jsonl)) return readJsonl(jsonl);
  const stories = join(dir, split);
  if (isDir(stories)) return readStoryDir(stories);
  throw new UserError(
    `split "${split}" not found: looked for ${config}/${split}-*.parquet, ${split}-*.parquet, ${split}.jsonl, ${split}/*.story`,
    source,
  );
}
