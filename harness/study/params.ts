/** Parameter counts read from weight files: what was actually loaded and actually trained. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openSafetensors } from "../engine/safetensors.ts";

/** Elements in every tensor of the given safetensors files (headers only; no weights are read). */
export function countFileParams(paths: string[]): number {
  let n = 0;
  for (const p of paths) {
    const f = openSafetensors(p);
    try {
      for (const t of f.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
    } finally {
      f.close();
    }
  }
  return n;
}

/** The parameters of a Hugging Face checkpoint directory (all of its *.safetensors shards). */
export function countCheckpointParams(dir: string): number {
  const shards = readdirSync(dir)
    .filter((f) => f.endsWith(".safetensors"))
    .sort()
    .map((f) => join(dir, f));
  return countFileParams(shards);
}

/** The parameters of a PEFT adapter directory, or null when it has no adapter file. */
export function countAdapterParams(dir: string): number | null {
  const file = join(dir, "adapter_model.safetensors");
  return existsSync(file) ? countFileParams([file]) : null;
}
