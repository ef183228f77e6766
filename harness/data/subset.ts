import { createHash } from "node:crypto";
import { UserError } from "../errors.ts";
import { rngStream } from "../rng.ts";
import type { NewsRecord } from "./records.ts";

export interface Subset {
  records: NewsRecord[];
  ids: string[];
  /** Positions in the split, in draw order. */
  indices: number[];
  /** sha256 of the canonical JSON of [[id, article, highlights], …] in order: names the data exactly. */
  sha256: string;
  seed: number | string;
  stream: string;
}

export function recordsSha256(records: readonly NewsRecord[]): string {
  const canon = JSON.stringify(records.map((r) => [r.id, r.article, r.highlights]));
  return createHash("sha256").update(canon, "utf8").digest("hex");
}

/**
 * n distinct records drawn without replacement from a named stream of the run seed, so the train and
 * eval draws never shift each other. `source` names the split in errors.
 */
export function selectSubset(
  records: readonly NewsRecord[],
  n: number,
  seed: number | string,
  streamName: string,
  source = "dataset",
): Subset {
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`subset size must be a positive integer, got ${n}`, source);
  if (n > records.length) {
    throw new UserError(`subset of ${n} records asked, but the split has only ${records.length}`, source);
  }
  const indices = rngStream(seed, streamName).sample(records.length, n);
  const chosen = indices.map((i) => records[i]);
  return {
    records: chosen,
    ids: chosen.map((r) => r.id),
    indices,
    sha256: recordsSha256(chosen),
    seed,
    stream: streamName,
  };
}

/** The study's draws: N training examples from train, the eval set (default 100) from test. */
export const TRAIN_STREAM = "data/train-subset";
export const EVAL_STREAM = "data/eval-subset";

export function studySubsets(
  splits: { train: readonly NewsRecord[]; test: readonly NewsRecord[] },
  opts: { seed: number | string; trainN?: number; evalN?: number; source?: string },
): { train: Subset; eval: Subset } {
  const src = opts.source ?? "dataset";
  return {
    train: selectSubset(splits.train, opts.trainN ?? 100, opts.seed, TRAIN_STREAM, `${src} (train)`),
    eval: selectSubset(splits.test, opts.evalN ?? 100, opts.seed, EVAL_STREAM, `${src} (test)`),
  };
}
