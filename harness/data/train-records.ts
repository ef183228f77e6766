/**
 * The `train` command's JSONL: one record a line, either {"prompt", "completion"} (text, tokenised by
 * the model's tokenizer) or {"input_ids", "labels"} (token ids as Hugging Face datasets hold them:
 * labels of the same length, -100 where no loss is taken). One kind per file.
 */
import { readFileSync } from "node:fs";
import { fsError, UserError } from "../errors.ts";

export interface TextRecord {
  prompt: string;
  completion: string;
  /** 1-based line in the file, for later messages (e.g. a token id the vocabulary lacks). */
  line: number;
}

export interface IdsRecord {
  inputIds: number[];
  labels: number[];
  line: number;
}

export type TrainRecords = { kind: "text"; records: TextRecord[] } | { kind: "ids"; records: IdsRecord[] };

/** HF's ignore index: a label that takes no loss. */
export const IGNORE_INDEX = -100;

const TEXT_SHAPE = '{"prompt": string, "completion": string}';
const IDS_SHAPE = '{"input_ids": [int, …], "labels": [int, …]}';

export function readTrainRecords(path: string): TrainRecords {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  const texts: TextRecord[] = [];
  const ids: IdsRecord[] = [];
  let firstKind: { kind: "text" | "ids"; line: number } | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    const bad = (msg: string): never => {
      throw new UserError(`line ${line}: ${msg}`, path);
    };
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      bad("not valid JSON");
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj))
      bad(`expected ${TEXT_SHAPE} or ${IDS_SHAPE}`);
    const o = obj as Record<string, unknown>;
    const isIds = "input_ids" in o || "labels" in o;
    const isText = "prompt" in o || "completion" in o;
    if (isIds === isText) bad(`expected ${TEXT_SHAPE} or ${IDS_SHAPE}`);
    const kind = isIds ? "ids" : "text";
    firstKind ??= { kind, line };
    if (kind !== firstKind.kind) {
      const name = (k: "text" | "ids") => (k === "ids" ? "token-id" : "prompt/completion");
      bad(
        `a ${name(kind)} record, but line ${firstKind.line} is a ${name(firstKind.kind)} record (one kind per file)`,
      );
    }
    if (kind === "text") {
      if (typeof o.prompt !== "string" || typeof o.completion !== "string") bad(`expected ${TEXT_SHAPE}`);
      texts.push({ prompt: o.prompt as string, completion: o.completion as string, line });
    } else ids.push(idsRecord(o, line, bad));
  });
  if (texts.length + ids.length === 0) throw new UserError("no examples (empty file)", path);
  if (ids.length && !ids.some((r) => r.labels.some((l, t) => t > 0 && l !== IGNORE_INDEX)))
    throw new UserError(
      "no record has a label other than -100 after its first token (nothing to learn)",
      path,
    );
  return ids.length ? { kind: "ids", records: ids } : { kind: "text", records: texts };
}

function idsRecord(o: Record<string, unknown>, line: number, bad: (msg: string) => never): IdsRecord {
  for (const k of Object.keys(o))
    if (k !== "input_ids" && k !== "labels") bad(`unexpected key "${k}" (a token-id record is ${IDS_SHAPE})`);
  const list = (key: "input_ids" | "labels", ok: (x: number) => boolean, what: string): number[] => {
    const v = o[key];
    if (!Array.isArray(v)) bad(`"${key}" must be a list of integers, got ${JSON.stringify(v ?? null)}`);
    const arr = v as unknown[];
    if (arr.length === 0) bad(`"${key}" is empty`);
    arr.forEach((x, t) => {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || !ok(x))
        bad(`${key}[${t}] is ${JSON.stringify(x)}, not ${what}`);
    });
    return arr as number[];
  };
  const inputIds = list("input_ids", (x) => x >= 0, "a token id (an integer ≥ 0)");
  const labels = list("labels", (x) => x >= 0 || x === IGNORE_INDEX, "a token id or -100");
  if (labels.length !== inputIds.length)
    bad(`"labels" has ${labels.length} entries but "input_ids" has ${inputIds.length}`);
  return { inputIds, labels, line };
}

/** The first token id of `records` at or above `vocab`, for a one-line error naming its line. */
export function idOutsideVocab(
  records: IdsRecord[],
  vocab: number,
): { line: number; key: "input_ids" | "labels"; index: number; id: number } | undefined {
  for (const r of records)
    for (const key of ["input_ids", "labels"] as const) {
      const arr = key === "input_ids" ? r.inputIds : r.labels;
      const index = arr.findIndex((x) => x >= vocab);
      if (index >= 0) return { line: r.line, key, index, id: arr[index] };
    }
  return undefined;
}
