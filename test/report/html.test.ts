import { describe, expect, it } from "vitest";
import { exampleDiff } from "../../harness/report/html/browser.ts";
import type { ExampleView, HtmlData } from "../../harness/report/html/data.ts";
import { renderHtml } from "../../harness/report/html/page.ts";
import { powerEvidence } from "../../harness/study/power-evidence.ts";
import { makeReport } from "./fixture.ts";

const rouge = (r2: number) => ({ rouge1: r2 + 0.1, rouge2: r2, rougeL: r2 + 0.05, rougeLsum: r2 + 0.06 });

function example(i: number, r8: number | null): ExampleView {
  const outputs = [
    {
      arm: "base",
      seed: 0,
      prediction: `base <b>${i}</b>`,
      rouge: rouge(0.1),
      continued: i === 1,
      reasons: i === 1 ? ["copied-opening"] : [],
    },
  ];
  if (r8 !== null)
    for (const seed of [0, 1])
      outputs.push({
        arm: "lora-r8",
        seed,
        prediction: `r8 ${i}`,
        rouge: rouge(r8),
        continued: false,
        reasons: [],
      });
  return {
    id: `id-${i}`,
    article: `Article ${i} & <script>alert(1)</script>`,
    reference: `Ref ${i}`,
    outputs,
  };
}

function data(): HtmlData {
  const report = makeReport();
  report.claims[0].evidence = {
    ...report.claims[0].evidence,
    ...powerEvidence([[0.2, 0.1, 0.3, 0.25]], [[0.1, 0.1, 0.2, 0.2]], 0.012),
  };
  return {
    report,
    examples: [example(0, 0.15), example(1, 0.05), example(2, null), example(3, 0.3)],
    curves: [{ arm: "lora-r8", seed: 0, points: [1, 2, 3].map((step) => ({ step, loss: 2 / step })) }],
  };
}

describe("HTML report", () => {
  it("is one self-contained file: no external reference, a CSP forbidding the network", async () => {
    const html = await renderHtml(data());
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<link |@import|url\(http/);
  });

  it("escapes text from the data and holds every claim, chart and example", async () => {
    const d = data();
    const html = await renderHtml(d);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    for (const c of d.report.claims) expect(html).toContain(`data-claim="${c.id}"`);
    for (const id of ["chart-forest", "chart-rouge", "chart-loss"]) expect(html).toContain(`id="${id}"`);
    expect(html).not.toContain('id="chart-sweep"'); // one N only
    expect(html.match(/<details class="example"/g)).toHaveLength(4);
    expect(html).toContain("continued: copied-opening");
    expect(html).toContain("reported Δ +0.012 is smaller in size than");
  });

  it("starts sorted by r=8 − base, biggest win first, examples without it last", async () => {
    const html = await renderHtml(data());
    const ids = [...html.matchAll(/<details class="example" data-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(["id-3", "id-0", "id-1", "id-2"]);
    expect(exampleDiff(example(0, 0.15))).toBeCloseTo(0.05, 12);
    expect(exampleDiff(example(2, null))).toBeNull();
  });

  it("is a pure function of its inputs (same bytes twice)", async () => {
    expect(await renderHtml(data())).toBe(await renderHtml(data()));
  });
});

describe("power evidence", () => {
  it("says in words when the study's reported effect is below what its design detects", () => {
    // Per-example sd 0.1, three seeds with run sd ≈ 0.01: the study's MDE is ≈ 0.028 + run part.
    const n = 100;
    const base = Array.from({ length: n }, (_, i) => 0.1 + 0.1 * Math.sin(i * 1.7));
    const a = [0.01, -0.01, 0.0].map((u) =>
      base.map((x, i) => x + 0.02 + u + 0.1 * Math.cos(i * 2.3 + u * 100)),
    );
    const { mde, mde_study } = powerEvidence(a, [base], 0.012);
    expect(mde.n_seeds).toBe(3);
    expect(mde_study.n_examples).toBe(100);
    expect(mde_study.n_seeds).toBe(1);
    expect(mde_study.effect).toBeGreaterThan(0.012);
    expect(mde_study.power_at_reported!).toBeLessThan(0.8);
    expect(mde_study.note).toMatch(
      /reported Δ \+0\.012 is smaller in size than the 0\.\d{3} its design \(100 examples, 1 run\) could detect/,
    );
    const big = powerEvidence(a, [base], 0.2);
    expect(big.mde_study.note).toMatch(/is larger in size than/);
    expect(powerEvidence(a, [base], null).mde_study.note).toMatch(/detects \|Δ\| ≥/);
    // One seed: the run-to-run part is unknown, and the note says the MDE is a lower bound.
    expect(powerEvidence([a[0]], [base], 0.012).mde_study.note).toMatch(/unknown from a single seed/);
  });
});
