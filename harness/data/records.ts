import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fsError, UserError } from "../errors.ts";

/** One CNN/DailyMail example, as the Hugging Face `cnn_dailymail` 3.0.0 dataset has it. */
export interface NewsRecord {
  id: string;
  article: string;
  /** One highlight per line, joined with "\n" (HF 3.0.0 joins with "\n"; 1.0.0/2.0.0 used " "). */
  highlights: string;
}

export const RECORD_FIELDS = ["id", "article", "highlights"] as const;

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
}

/** JSONL with one {id, article, highlights} object a line; other fields are ignored, blank lines skipped. */
export function readJsonl(path: string): NewsRecord[] {
  const out: NewsRecord[] = [];
  const lines = readText(path).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const where = `${path}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new UserError("not valid JSON", where);
    }
    out.push(toRecord(obj, where));
  }
  return out;
}

/** Check a parsed row has the three string fields; `where` names file (and line) in the error. */
export function toRecord(obj: unknown, where: string): NewsRecord {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new UserError("expected a JSON object with id, article, highlights", where);
  }
  const o = obj as Record<string, unknown>;
  for (const f of RECORD_FIELDS) {
    if (!(f in o)) throw new UserError(`missing field "${f}"`, where);
    if (typeof o[f] !== "string") throw new UserError(`field "${f}" is not a string`, where);
  }
  return { id: o.id as string, article: o.article as string, highlights: o.highlights as string };
}

// ---- .story files, following the HF `cnn_dailymail` loading script (_get_art_abs) ----

const DM_SINGLE_CLOSE_QUOTE = "\u2019";
const DM_DOUBLE_CLOSE_QUOTE = "\u201d";
/** Lines ending in one of these keep their ending; others get " ." (image captions lack periods). */
export const END_TOKENS = [
  ".",
  "!",
  "?",
  "...",
  "'",
  "`",
  '"',
  DM_SINGLE_CLOSE_QUOTE,
  DM_DOUBLE_CLOSE_QUOTE,
  ")",
];

/** Python's str.strip(): JS trim() differs (it strips U+FEFF, keeps U+001C–U+001F and U+0085). */
const PY_WS =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, "g");
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, "");
}

/** HF's fix_missing_period. Only the last character is checked, so "..." is covered by ".". */
export function fixMissingPeriod(line: string): string {
  if (line.includes("@highlight")) return line;
  if (line === "") return line;
  if (END_TOKENS.includes(line[line.length - 1])) return line;
  return `${line} .`;
}

/** Parse .story text into (article, highlights) exactly as HF's loader does. */
export function parseStory(text: string): { article: string; highlights: string } {
  // Python text-mode iteration splits on \n, \r\n and \r (universal newlines), then strips each line.
  const lines = text
    .split(/\r\n|\r|\n/)
    .map(pyStrip)
    .map(fixMissingPeriod);
  const articleLines: string[] = [];
  const highlights: string[] = [];
  let nextIsHighlight = false;
  for (const line of lines) {
    if (line === "") continue;
    if (line.startsWith("@highlight")) nextIsHighlight = true;
    else if (nextIsHighlight) highlights.push(line);
    else articleLines.push(line);
  }
  return { article: articleLines.join(" "), highlights: highlights.join("\n") };
}

/** Read one .story file; the id is its basename without ".story" (the CNN/DM story hash). */
export function readStory(path: string): NewsRecord {
  const { article, highlights } = parseStory(readText(path));
  return { id: basename(path).replace(/\.story$/, ""), article, highlights };
}

/** All *.story files of a directory, sorted by file name so the order is stable. */
export function readStoryDir(dir: string): NewsRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw fsError(err, dir);
  }
  const stories = names.filter((n) => n.endsWith(".story")).sort();
  if (stories.length === 0) throw new UserError("no .story files", dir);
  return stories.map((n) => readStory(join(dir, n)));
}

/** Render a record as a .story file; readStory() gives the record back if its lines end properly. */
export function toStory(paragraphs: string[], highlights: string[]): string {
  return `${paragraphs.join("\n\n")}\n${highlights.map((h) => `\n@highlight\n\n${h}\n`).join("")}`;
}
