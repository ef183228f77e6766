import { describe, expect, it } from "vitest";
import { loadConfig, validateConfig } from "../../harness/study/config.ts";
import { buildContext, planUnits, resolveArms } from "../../harness/study/plan.ts";
import { makeSmallStudy } from "./small-study.ts";

describe("config and plan", () => {
  it("content-addresses every (arm, seed): keys move with what changes the result and only with that", async () => {
    const s = makeSmallStudy({ overrides: "sweep: { n: [12, 24], ranks: [8, 32], seeds: [1] }," });
    const { config } = await loadConfig(s.config);
    const p = { ...config.profiles.tiny, name: "tiny" };
    const keys = async (over: object) =>
      planUnits(await buildContext({ ...p, ...over }, s.cacheDir)).map(
        (u) => `${u.arm.id}/${u.seed}:${u.key}`,
      );
    const base = await keys({});
    // base × 1, r8 × 2, r32 × 2, sweep N=24 × 2 ranks × 1 seed (N=12 is the main arms, reused).
    expect(base.map((k) => k.split(":")[0])).toEqual([
      "base/1",
      "lora-r8/1",
      "lora-r8/2",
      "lora-r32/1",
      "lora-r32/2",
      "lora-r8-n24/1",
      "lora-r32-n24/1",
    ]);
    expect(new Set(base.map((k) => k.split(":")[1])).size).toBe(base.length);
    expect(await keys({ description: "renamed" })).toEqual(base);
    const lr = await keys({ training: { ...p.training, lr: 2e-3 } });
    expect(lr[0]).toBe(base[0]); // base does not train: its key ignores training settings
    expect(lr.slice(1).every((k, i) => k !== base[i + 1])).toBe(true);
    const ev = await keys({ data: { ...p.data, evalN: 5 } });
    expect(ev.every((k, i) => k !== base[i])).toBe(true);
    // A CUDA run never reuses CPU results (the device is in every key, base included).
    const cuda = await keys({ device: "cuda" });
    expect(cuda.every((k, i) => k !== base[i])).toBe(true);
  });

  it("draws nested training subsets, so a sweep's N=24 contains its N=12", async () => {
    const s = makeSmallStudy();
    const { config } = await loadConfig(s.config);
    const ctx = await buildContext({ ...config.profiles.tiny, name: "tiny" }, s.cacheDir);
    expect(ctx.trainSubset(24).ids.slice(0, 12)).toEqual(ctx.trainSubset(12).ids);
    expect(ctx.evalSubset.ids.some((id) => ctx.trainSubset(24).ids.includes(id))).toBe(false);
  });

  it("labels arms and expands the sweep", () => {
    const arms = resolveArms({
      arms: [
        { id: "base", kind: "base" },
        { id: "lora-r8", kind: "lora", r: 8 },
        { id: "x", kind: "lora", r: 32, useRslora: true },
      ],
      sweep: { n: [100, 400], ranks: [8] },
      data: { trainN: 100, evalN: 10, subsetSeed: 0 },
      seeds: [4, 5],
      lora: { alpha: 16, dropout: 0, targetModules: ["q_proj"] },
    } as never);
    expect(arms.map((a) => [a.id, a.label, a.seeds.join(",")])).toEqual([
      ["base", "Base (zero-shot)", "4"],
      ["lora-r8", "LoRA r=8", "4,5"],
      ["x", "LoRA r=32 (rsLoRA)", "4,5"],
      ["lora-r8-n400", "LoRA r=8, N=400", "4,5"],
    ]);
  });

  const bad: [string, (c: any) => void, RegExp][] = [
    ["unknown top-level key", (c) => (c.extra = 1), /config\.extra is not a known key/],
    ["bad learning rate", (c) => (c.profiles.tiny.training.lr = "fast"), /training\.lr must be a number/],
    ["negative epochs", (c) => (c.profiles.tiny.training.epochs = -1), /training\.epochs must be in/],
    [
      "unknown target",
      (c) => (c.profiles.tiny.lora.targetModules = ["qkv"]),
      /targetModules\[0\] must be one of/,
    ],
    [
      "duplicate arm",
      (c) => c.profiles.tiny.arms.push({ id: "base", kind: "base" }),
      /duplicate arm id "base"/,
    ],
    ["lora arm without r", (c) => c.profiles.tiny.arms.push({ id: "y", kind: "lora" }), /needs r/],
    ["missing default profile", (c) => (c.defaultProfile = "nope"), /defaultProfile "nope" is not a profile/],
    ["bad device", (c) => (c.profiles.tiny.device = "tpu"), /device must be one of "cpu", "cuda"/],
  ];
  for (const [label, mutate, re] of bad) {
    it(`rejects a config with ${label} in one line naming the file`, async () => {
      const s = makeSmallStudy();
      const { config } = await loadConfig(s.config);
      const c = structuredClone(config);
      mutate(c);
      expect(() => validateConfig(c, "bench.config.ts")).toThrow(re);
      try {
        validateConfig(c, "bench.config.ts");
      } catch (err) {
        expect((err as Error).message).toMatch(/^bench\.config\.ts: /);
        expect((err as Error).message).not.toMatch(/\n/);
      }
    });
  }
});
