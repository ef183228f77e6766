/** Prompt/completion JSONL, the `train` command's input: one {"prompt", "completion"} object a line. */
import { readFileSync } from "node:fs";
import { fsError, UserError } from "../errors.ts";

export function readPromptCompletion(path: string): { prompt: string; completion: string }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  const out: { prompt: string; completion: string }[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new UserError(`line ${i + 1}: not valid JSON`, path);
    }
    const o = obj as Record<string, unknown>;
    if (
      typeof o !== "object" ||
      o === null ||
      typeof o.prompt !== "string" ||
      typeof o.completion !== "string"
    )
      throw new UserError(`line ${i + 1}: expected {"prompt": string, "completion": string}`, path);
    out.push({ prompt: o.prompt, completion: o.completion });
  });
  if (out.length === 0) throw new UserError("no examples (empty file)", path);
  return out;
}
