import { describe, expect, it } from "vitest";
import { forestSpec, lossSpec, renderChart, rougeSpec, sweepSpec } from "../../harness/report/charts.ts";
import { renderVegaLite } from "../../harness/report/vega.ts";
import { makeArm, makeReport } from "./fixture.ts";

/** A tiny well-formedness check: tags balance, attributes are quoted, entities are known. */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    for (const amp of text.matchAll(/&[^;\s]*;?/g)) expect(amp[0]).toMatch(/^&(amp|lt|gt|quot|apos|#\d+);$/);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop()).toBe(name);
    else if (!selfClose) stack.push(name);
    i = tag.lastIndex;
  }
  expect(stack).toEqual([]);
}

/** Vega's SVG names each mark's group by its type: count the marks drawn in one. */
function marks(svg: string, type: string): number {
  const group = svg.match(new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>(.*?)</g>`, "gs")) ?? [];
  return group.join("").match(/<path |<line |<rect /g)?.length ?? 0;
}

describe("README chart (Vega-Lite → SVG)", () => {
  it("is well-formed SVG with a bar and whisker per arm × ROUGE-1/2/L and a marker per published value", async () => {
    const svg = await renderChart(makeReport());
    checkXml(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(marks(svg, "rect")).toBe(9);
    expect(marks(svg, "rule")).toBe(9);
    expect(marks(svg, "symbol")).toBeGreaterThanOrEqual(9); // diamonds (+ legend swatches)
    for (const label of ["ROUGE-1", "ROUGE-2", "ROUGE-L", "Base (zero-shot)", "LoRA r=8", "LoRA r=32"])
      expect(svg).toContain(`>${label}<`);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it("is deterministic, escapes labels, and tells apart arms with the same label", async () => {
    const r = makeReport();
    r.arms.push(makeArm("lora-r32-rslora", { label: "LoRA r=32 <rsLoRA> & co" }), makeArm("lora-r8-n250"));
    const svg = await renderChart(r);
    checkXml(svg);
    expect(await renderChart(structuredClone(r))).toBe(svg);
    expect(svg).toContain(">LoRA r=32 &lt;rsLoRA&gt; &amp; co<");
    expect(svg).toContain(">LoRA r=8 (lora-r8-n250)<");
  });
});

describe("report charts", () => {
  it("forest: one CI line and point per comparison with numbers", async () => {
    const r = makeReport();
    const n = r.claims.filter((c) => c.evidence.ci && c.kind !== "value").length;
    expect(n).toBeGreaterThan(0);
    const svg = await renderVegaLite(forestSpec(r)!, "f");
    checkXml(svg);
    expect(marks(svg, "rule")).toBe(n + 1); // + the zero line
  });

  it("loss curves: one line per arm × seed; sweep only with two N", async () => {
    const pts = [1, 2].flatMap((seed) =>
      ["LoRA r=8", "LoRA r=32"].flatMap((arm) =>
        [1, 2, 3].map((step) => ({ arm, seed, step, loss: 2 - step / 10 })),
      ),
    );
    const svg = await renderVegaLite(lossSpec(pts)!, "l");
    expect(marks(svg, "line")).toBe(4);
    expect(lossSpec([])).toBeNull();
    const r = makeReport();
    expect(sweepSpec(r)).toBeNull();
    r.arms.push(makeArm("lora-r8-n250", { train_n: 250 }), makeArm("lora-r32-n250", { train_n: 250 }));
    const sweep = await renderVegaLite(sweepSpec(r)!, "s");
    expect(marks(sweep, "line")).toBe(2);
    expect(rougeSpec({ ...r, arms: [] })).toBeNull();
  });
});
