import { describe, expect, it } from "vitest";
import { renderChart } from "../../harness/report/chart.ts";
import { makeArm, makeReport } from "./fixture.ts";

/** A tiny well-formedness check: tags balance, attributes are quoted, entities are known. */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    for (const amp of text.matchAll(/&[^;\s]*;?/g)) expect(amp[0]).toMatch(/^&(amp|lt|gt|quot|apos);$/);
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

describe("renderChart", () => {
  it("is well-formed SVG with a bar and whisker per arm × ROUGE-1/2/L and a marker per published value", () => {
    const svg = renderChart(makeReport());
    checkXml(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<rect [^>]*fill="#(?!ffffff)[0-9A-F]{6}"><title>/g)).toHaveLength(9);
    expect(svg.match(/<title>study ROUGE/g)).toHaveLength(9);
    for (const label of [
      "ROUGE-1",
      "ROUGE-2",
      "ROUGE-L",
      "Base (zero-shot)",
      "LoRA r=8",
      "LoRA r=32",
      "study (published)",
    ])
      expect(svg).toContain(`>${label}<`);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
  });

  it("is deterministic, escapes labels, and tells apart arms with the same label", () => {
    const r = makeReport();
    r.arms.push(makeArm("lora-r32-rslora", { label: "LoRA r=32 <rsLoRA> & co" }), makeArm("lora-r8-n250"));
    const svg = renderChart(r);
    checkXml(svg);
    expect(renderChart(structuredClone(r))).toBe(svg);
    expect(svg).toContain(">LoRA r=32 &lt;rsLoRA&gt; &amp; co<");
    expect(svg).toContain(">LoRA r=8 (lora-r8-n250)<");
  });
});
