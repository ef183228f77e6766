import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { UserError } from "../../harness/errors.ts";

/** A fresh temp directory; call the returned cleanup in afterAll. */
export function makeTmp(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `lora-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run fn, expect a UserError whose one-line message names `file` and matches `re`. */
export function expectUserError(fn: () => unknown, file: string, re: RegExp): UserError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a UserError").toBeInstanceOf(UserError);
  const e = caught as UserError;
  expect(e.message).toContain(file);
  expect(e.message).toMatch(re);
  expect(e.message).not.toContain("\n");
  return e;
}

/** Raw safetensors bytes from a header (object or literal JSON text) and a data section. */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  headerLen?: bigint,
): Uint8Array {
  const text = typeof header === "string" ? header : JSON.stringify(header);
  const json = Buffer.from(text, "utf8");
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
