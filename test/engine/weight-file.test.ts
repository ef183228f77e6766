import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { type FArr, LlamaModel } from "../../harness/engine/model.ts";
import { folderPrefix, sweepOrphans, WeightFolder } from "../../harness/engine/weight-file.ts";
import { randomLora, tinyConfig } from "./tiny.ts";

const c = tinyConfig();
const ids = [1, 5, 9, 13, 7, 3];
const lora = randomLora(
  c,
  { r: 2, alpha: 4, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
  "wf-lora",
  false,
);

const matrices = (w: Map<string, FArr>) => [...w.keys()].filter((k) => k.endsWith("_proj.weight"));

describe("frozen weights handed to sessions through files", () => {
  it("give the same logits and gradients, bit for bit, as weights handed over from memory", async () => {
    const w = randomLlamaWeights(c, "wf", 0.3) as Map<string, FArr>;
    const files = new LlamaModel(c, w);
    const memory = new LlamaModel(c, w, { weightFiles: false });
    expect(await files.logits([ids], lora)).toEqual(await memory.logits([ids], lora));
    const [a, b] = [
      await files.lossAndGrads({ inputIds: [ids], labels: [ids] }, { lora }),
      await memory.lossAndGrads({ inputIds: [ids], labels: [ids] }, { lora }),
    ];
    expect(a.loss).toBe(b.loss);
    for (const [k, g] of a.grads) expect(g).toEqual(b.grads.get(k));
    expect(memory.weightFileBytes).toBe(0);
    await Promise.all([files.dispose(), memory.dispose()]);
  });

  it("an owning model drops each array once it is on disk; the files hold exactly those bytes", async () => {
    const w = randomLlamaWeights(c, "wf-own", 0.3) as Map<string, FArr>;
    const total = [...w.values()].reduce((n, x) => n + x.byteLength, 0);
    const model = new LlamaModel(c, w, { ownsWeights: true });
    expect(model.weightFileBytes).toBe(0);
    await model.logits([ids]);
    // The graph's frozen weights are all on disk; what stays in memory is what no graph takes as a file.
    expect(matrices(w)).toEqual([]);
    const onDisk = model.weightFileBytes;
    const inMemory = [...w.values()].reduce((n, x) => n + x.byteLength, 0);
    expect(onDisk + inMemory).toBe(total);
    // A second graph kind maps the same files: nothing more is written.
    await model.lossAndGrads({ inputIds: [ids], labels: [ids] }, { lora });
    expect(model.weightFileBytes).toBe(onDisk);
    await model.dispose();
  });

  it("a caller's maps stay whole when the model does not own them", async () => {
    const w = randomLlamaWeights(c, "wf-shared", 0.3) as Map<string, FArr>;
    const n = w.size;
    const model = new LlamaModel(c, w);
    await model.logits([ids]);
    expect(w.size).toBe(n);
    expect(model.weights.size).toBe(n);
    await model.dispose();
  });

  it("full fine-tuning reads the weights back, and then trains exactly as a model that never wrote them", async () => {
    const w = randomLlamaWeights(c, "wf-full", 0.3) as Map<string, FArr>;
    const copy = new Map([...w].map(([k, v]) => [k, v.slice()]));
    const model = new LlamaModel(c, w, { ownsWeights: true });
    const ref = new LlamaModel(c, copy, { weightFiles: false });
    await model.logits([ids]);
    expect(matrices(w)).toEqual([]);
    const batch = { inputIds: [ids], labels: [ids] };
    const [a, b] = [
      await model.lossAndGrads(batch, { trainable: "all" }),
      await ref.lossAndGrads(batch, { trainable: "all" }),
    ];
    expect(a.loss).toBe(b.loss);
    expect(model.weightFileBytes).toBe(0);
    for (const [k, v] of copy) expect(model.weights.get(k)).toEqual(v);
    // The weights now change in place; decoding sees the change (no stale file behind a session).
    for (const x of model.weights.values()) x[0] += 0.25;
    for (const x of ref.weights.values()) x[0] += 0.25;
    expect(await model.logits([ids])).toEqual(await ref.logits([ids]));
    await Promise.all([model.dispose(), ref.dispose()]);
  });

  it("a disposed model's folder is gone and it opens no session", async () => {
    const model = new LlamaModel(c, randomLlamaWeights(c, "wf-gone", 0.3) as Map<string, FArr>);
    await model.logits([ids]);
    const dir = (model as unknown as { folder: WeightFolder }).folder.dir;
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    await model.dispose();
    expect(existsSync(dir)).toBe(false);
    await expect(model.logits([ids])).rejects.toThrow(/disposed/);
  });
});

describe("WeightFolder", () => {
  it("reads back what it wrote, one file per name, and refuses names that are not plain file names", () => {
    const f = new WeightFolder({});
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) & 255);
    f.write("model.layers.0.mlp.up_proj.weight", bytes);
    expect(f.read("model.layers.0.mlp.up_proj.weight")).toEqual(bytes);
    expect(statSync(join(f.dir, "model.layers.0.mlp.up_proj.weight")).size).toBe(10_000);
    expect(f.bytes).toBe(10_000);
    expect(() => f.write("../escape", bytes)).toThrow(/cannot name a file/);
    expect(() => f.read("missing")).toThrow(/never written/);
    f.dispose();
    expect(existsSync(f.dir)).toBe(false);
  });
});

describe("folders of killed processes", () => {
  it("are swept when their pid is gone, on this host only; a live process's folder stays", () => {
    // Beyond Linux's largest pid (2^22), so no process has it.
    const dead = join(os.tmpdir(), `${folderPrefix("4194399-")}test`);
    const live = join(os.tmpdir(), `${folderPrefix(`${process.pid}-`)}test`);
    const other = join(os.tmpdir(), "lora-bench-weights-otherhost-4194399-test");
    for (const d of [dead, live, other]) mkdirSync(d, { recursive: true });
    sweepOrphans();
    expect([existsSync(dead), existsSync(live), existsSync(other)]).toEqual([false, true, true]);
    for (const d of [live, other]) rmSync(d, { recursive: true, force: true });
  });
});
