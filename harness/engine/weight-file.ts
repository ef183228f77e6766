/**
 * Frozen weights on disk, one file per initializer, in a private temporary folder. A session made
 * with that folder as its external-data folder maps the files (onnxruntime mmaps external data on the
 * CPU) instead of copying in-memory buffers: onnxruntime-node 1.30 copies every `externalData` buffer
 * into each session, so weights handed over from memory existed twice on the CPU (ours and the
 * session's). Once a weight is on disk the model drops its own array; sessions of the same model map
 * the same pages. The folder goes when the model is disposed, or at the latest when the process exits.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

const PREFIX = "lora-bench-weights-";
/**
 * Folder names carry the host and the pid: only this host's folders are swept (another container
 * sharing the temporary directory has its own pid numbers).
 */
const HOST = os.hostname().replace(/[^\w]/g, "_");
const live = new Set<string>();

/** The start of a weight folder's name on this host, followed by `rest` (a pid and a dash). */
export function folderPrefix(rest: string): string {
  return `${PREFIX}${HOST}-${rest}`;
}

/** This host's folders left by processes that died without their exit hook (killed): their pid is gone. */
export function sweepOrphans(): void {
  let names: string[];
  try {
    names = readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const mine = folderPrefix("");
    if (!name.startsWith(mine)) continue;
    const pid = Number(name.slice(mine.length).split("-")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    rmSync(join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
let hooked = false;

function removeAll(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Folders of models that were never disposed go when their model is collected, or at exit. */
const collected = new FinalizationRegistry<string>((dir) => {
  live.delete(dir);
  rmSync(dir, { recursive: true, force: true });
});

export class WeightFolder {
  readonly dir: string;
  private sizes = new Map<string, number>();

  constructor(owner: object) {
    // os.tmpdir() honours $TMPDIR: point it at a disk with room for the weights (4.4 GB for TinyLlama).
    if (!hooked) sweepOrphans();
    this.dir = mkdtempSync(join(os.tmpdir(), folderPrefix(`${process.pid}-`)));
    live.add(this.dir);
    collected.register(owner, this.dir, this);
    if (!hooked) {
      hooked = true;
      process.once("exit", removeAll);
    }
  }

  has(name: string): boolean {
    return this.sizes.has(name);
  }

  /** Bytes on disk, all files together. */
  get bytes(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  /** Write one initializer's bytes under its own name (the `location` the graph gives it). */
  write(name: string, bytes: Uint8Array): void {
    if (!/^[\w.:-]+$/.test(name) || name.startsWith("."))
      throw new Error(`weight file: "${name}" cannot name a file`);
    const fd = openSync(join(this.dir, name), "w");
    try {
      let done = 0;
      while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
    } finally {
      closeSync(fd);
    }
    this.sizes.set(name, bytes.byteLength);
  }

  /** Read one initializer back into fresh memory. */
  read(name: string): Uint8Array {
    const size = this.sizes.get(name);
    if (size === undefined) throw new Error(`weight file: ${name} was never written`);
    const out = new Uint8Array(size);
    const fd = openSync(join(this.dir, name), "r");
    try {
      let done = 0;
      while (done < size) {
        const n = readSync(fd, out, done, size - done, done);
        if (n === 0) throw new Error(`weight file: ${name} is shorter than the ${size} bytes written`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** Remove the folder now (live sessions keep their mappings; the pages go when they are released). */
  dispose(): void {
    collected.unregister(this);
    live.delete(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    this.sizes.clear();
  }
}

/**
 * A full garbage collection now, so that arrays just dropped (gigabytes of weights) are gone before
 * the next allocation spike instead of whenever V8 next decides to collect.
 */
export function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
