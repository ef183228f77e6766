import { describe, expect, it } from "vitest";
import { countLoraParams, countModelParams } from "../../harness/engine/architecture.ts";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { rngStream } from "../../harness/rng.ts";
import { CLAIM_KINDS, ClaimSpecError, evaluateSpec } from "../../harness/study/claim-kinds.ts";
import type { ArmData, Metric, StudyData } from "../../harness/study/verdict.ts";
import { tinyConfig } from "../engine/tiny.ts";

const N = 60;
const noise = rngStream(3, "verdict-test");
/** Per-example scores around `mu` (the same example difficulty for every arm: paired data). */
const difficulty = Array.from({ length: N }, () => 0.2 * noise.next());
function scores(mu: number, seed: number): Record<Metric, number[]> {
  const r = rngStream(seed, `arm-${mu}`);
  const row = () => difficulty.map((d) => Math.min(1, Math.max(0, mu + d + 0.02 * r.normal())));
  return { rouge1: row(), rouge2: row(), rougeL: row(), rougeLsum: row() };
}
function arm(id: string, mu: number, opts: Partial<ArmData> = {}, seeds = [1, 2, 3]): ArmData {
  return {
    id,
    label: id,
    kind: id === "base" ? "base" : "lora",
    r: id === "base" ? null : 8,
    alpha: 16,
    useRslora: false,
    trainN: 100,
    sweep: false,
    trainableParams: 0,
    runs: seeds.map((s) => ({
      seed: s,
      status: "ok",
      error: null,
      scores: scores(mu, s),
      continued: difficulty.map((d) => d < 0.05),
      outputTokens: [],
      adapterParams: id === "base" ? null : 20,
    })),
    ...opts,
  };
}
function study(arms: ArmData[]): StudyData {
  return {
    profile: "test",
    evalIds: difficulty.map((_, i) => `e${i}`),
    mainTrainN: 100,
    model: { id: "m", config: tinyConfig(), params: 1000 },
    targetModules: ["q_proj", "v_proj"],
    arms,
    declaredArms: [...arms.map((a) => a.id), "lora-r32-rslora"],
  };
}

describe("equivalence claims (simulated arms; per-seed noise 0.02, 60 examples × 3 seeds)", () => {
  const s = study([
    arm("base", 0.2),
    arm("close", 0.205),
    arm("edge", 0.22),
    arm("far", 0.3),
    arm("low", 0.1),
  ]);
  const judge = (a: string, metric: Metric | Metric[] = "rouge2") =>
    evaluateSpec("q", { kind: "equivalence", arm: a, to: "base", metric, margin: 0.02 }, s);

  it("holds inside ±margin, fails outside on either side, is inconclusive at the margin", () => {
    const close = judge("close");
    expect(close.verdict).toBe("holds");
    expect(close.evidence.threshold).toBe(0.02);
    expect(close.evidence.ci![0]).toBeGreaterThan(-0.02);
    expect(close.evidence.ci![1]).toBeLessThan(0.02);
    expect(close.evidence.detail).toMatch(/margin ±0\.02/);
    expect(judge("edge").verdict).toBe("inconclusive");
    expect(judge("far").verdict).toBe("fails");
    expect(judge("low").verdict).toBe("fails");
    expect(judge("close", ["rouge1", "rouge2", "rougeL"]).verdict).toBe("holds");
  });

  it("is inconclusive when an arm has no runs, and names an unknown arm", () => {
    const missing = evaluateSpec(
      "q",
      { kind: "equivalence", arm: "lora-r32-rslora", to: "base", metric: "rouge2", margin: 0.02 },
      s,
    );
    expect(missing.verdict).toBe("inconclusive");
    expect(() =>
      evaluateSpec("q", { kind: "equivalence", arm: "nope", to: "base", metric: "rouge2", margin: 0.02 }, s),
    ).toThrow(ClaimSpecError);
  });
});

describe("verdicts", () => {
  const s = study([arm("base", 0.2), arm("lora-r8", 0.25), arm("lora-r32", 0.15), arm("same", 0.2)]);

  it("holds, fails and stays inconclusive as the paired CI says", () => {
    const holds = evaluateSpec(
      "a",
      { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" },
      s,
    );
    expect(holds.verdict).toBe("holds");
    expect(holds.evidence.effect).toBeCloseTo(0.05, 2);
    expect(holds.evidence.ci![0]).toBeGreaterThan(0);
    expect(holds.evidence.per_seed).toHaveLength(3);
    expect(holds.evidence.relative).toBeCloseTo(0.05 / 0.3, 1);
    expect(holds.evidence.p_value).toBeLessThan(0.01);
    expect(
      evaluateSpec("b", { kind: "comparison", better: "lora-r32", than: "base", metric: "rouge2" }, s)
        .verdict,
    ).toBe("fails");
    expect(
      evaluateSpec("c", { kind: "comparison", better: "same", than: "base", metric: "rouge2" }, s).verdict,
    ).toBe("inconclusive");
  });

  it("reads 'worse' claims in their own direction, and needs every metric for a multi-metric claim", () => {
    const w = evaluateSpec(
      "d",
      { kind: "collapse", arm: "lora-r32", below: "base", metric: ["rouge1", "rouge2", "rougeL"] },
      s,
    );
    expect(w.verdict).toBe("holds");
    expect(w.evidence.effect).toBeLessThan(0);
    expect(w.evidence.ci![1]).toBeLessThan(0);
    expect(
      evaluateSpec("e", { kind: "collapse", arm: "lora-r8", below: "base", metric: "rouge2" }, s).verdict,
    ).toBe("fails");
    const mixed = study([arm("base", 0.2), arm("x", 0.2, { runs: [] })]);
    expect(
      evaluateSpec("f", { kind: "comparison", better: "x", than: "base", metric: "rouge1" }, mixed).verdict,
    ).toBe("inconclusive");
  });

  it("is inconclusive, saying why, when an arm is missing or every seed failed", () => {
    const failed = arm("lora-r8", 0.3, {
      runs: [
        {
          seed: 1,
          status: "failed",
          error: { step: 3, reason: "loss is NaN" },
          scores: null,
          continued: null,
          outputTokens: [],
          adapterParams: null,
        },
      ],
    });
    const o = evaluateSpec(
      "g",
      { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" },
      study([arm("base", 0.2), failed]),
    );
    expect(o.verdict).toBe("inconclusive");
    expect(o.evidence.detail).toMatch(/no successful run \(loss is NaN\)/);
  });

  it("throws, naming it, for an arm, metric or kind the study does not have (never a verdict)", () => {
    const spec = { kind: "comparison", better: "lora-r16", than: "base", metric: "rouge2" } as const;
    expect(() => evaluateSpec("h", spec, s)).toThrow(ClaimSpecError);
    const other = { kind: "comparison", better: "lora-r32-rslora", than: "base", metric: "rouge2" } as const;
    expect(evaluateSpec("h", other, s).evidence.detail).toMatch(
      /"lora-r32-rslora" is not in this study's plan/,
    );
    expect(() => evaluateSpec("h", spec, s)).toThrow(/no arm "lora-r16" in the config \(declared: base, /);
    const badMetric = { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge3" };
    expect(() => evaluateSpec("h", badMetric as never, s)).toThrow(/unknown metric "rouge3"/);
    expect(() => evaluateSpec("h", { kind: "noninferiority" } as never, s)).toThrow(/unknown claim kind/);
    expect(Object.keys(CLAIM_KINDS)).toEqual([
      "comparison",
      "collapse",
      "equivalence",
      "value",
      "fraction",
      "continuation",
      "sweep",
    ]);
  });

  it("counts TinyLlama's trainable parameters at r=8 on q_proj+v_proj exactly (1,126,400 ≈ 0.102%)", () => {
    const settings = { r: 8, alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };
    expect(countLoraParams(TINYLLAMA_SHAPES, settings)).toBe(1_126_400);
    expect(countModelParams(TINYLLAMA_SHAPES)).toBe(1_100_048_384);
  });

  it("judges the fraction of the adapter actually trained against the model's actual size", () => {
    // 20 adapter parameters of a 1000-parameter model: 2%.
    const o = evaluateSpec("i", { kind: "fraction", arm: "lora-r8", approx: 0.02, tolerance: 0.001 }, s);
    expect(o.verdict).toBe("holds");
    expect(o.evidence.effect).toBe(0.02);
    expect(o.evidence.detail).toMatch(/holds 20 of the model's 1,000 parameters = 2\.000%/);
    expect(
      evaluateSpec("j", { kind: "fraction", arm: "lora-r8", approx: 0.001, tolerance: 0.0002 }, s).verdict,
    ).toBe("fails");
    expect(() => evaluateSpec("j", { kind: "fraction", arm: "base", approx: 0, tolerance: 1 }, s)).toThrow(
      /trains no adapter/,
    );
  });

  it("judges one arm's mean against bounds", () => {
    expect(
      evaluateSpec("v", { kind: "value", arm: "lora-r8", metric: "rouge2", atLeast: 0.2 }, s).verdict,
    ).toBe("holds");
    expect(
      evaluateSpec("v", { kind: "value", arm: "lora-r8", metric: "rouge2", atMost: 0.2 }, s).verdict,
    ).toBe("fails");
  });

  it("judges a continuation rate against its threshold", () => {
    const rate = difficulty.filter((d) => d < 0.05).length / N;
    const o = evaluateSpec("k", { kind: "continuation", arm: "base", atLeast: rate / 3 }, s);
    expect(o.evidence.effect).toBeCloseTo(rate, 12);
    expect(o.verdict).toBe("holds");
    expect(evaluateSpec("l", { kind: "continuation", arm: "base", atLeast: 0.95 }, s).verdict).toBe("fails");
  });

  it("finds the first N where the larger rank beats the smaller one in the sweep", () => {
    const sweep = (r: number, n: number, mu: number) =>
      arm(`lora-r${r}-n${n}`, mu, { r, trainN: n, sweep: true }, [1]);
    const sw = study([
      arm("lora-r8", 0.25, { r: 8 }),
      arm("lora-r32", 0.15, { r: 32 }),
      sweep(8, 250, 0.26),
      sweep(32, 250, 0.26),
      sweep(8, 500, 0.27),
      sweep(32, 500, 0.33),
    ]);
    const o = evaluateSpec("m", { kind: "sweep", small: 8, large: 32, metric: "rouge2" }, sw);
    expect(o.verdict).toBe("holds");
    expect(o.evidence.detail).toMatch(/r=32 first beats r=8 at N=500/);
    const never = study([
      arm("lora-r8", 0.25, { r: 8 }),
      arm("lora-r32", 0.15, { r: 32 }),
      sweep(8, 250, 0.3),
      sweep(32, 250, 0.2),
    ]);
    expect(evaluateSpec("n", { kind: "sweep", small: 8, large: 32, metric: "rouge2" }, never).verdict).toBe(
      "fails",
    );
  });
});
