import { describe, expect, it } from "vitest";
import { UserError } from "../../harness/errors.ts";
import { validateReport } from "../../harness/report/validate.ts";
import { makeArm, makeReport } from "./fixture.ts";

function errorOf(obj: unknown): string {
  try {
    validateReport(obj, "reports/x.json");
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error("expected a validation error");
}

describe("validateReport", () => {
  it("accepts the fixture report and returns it typed", () => {
    const r = makeReport();
    expect(validateReport(r)).toBe(r);
  });

  it("accepts extra arms (rsLoRA, N sweep) and an empty claim list", () => {
    const r = makeReport({ claims: [] });
    r.arms.push(makeArm("lora-r32-rslora"), makeArm("lora-r8-n250", { train_n: 250 }));
    expect(() => validateReport(r)).not.toThrow();
  });

  it("accepts published values by metric and arm, and the older by-arm form", () => {
    const r = makeReport();
    r.claims[0].study = { text: "", values: { rouge1: { base: 0.221 }, rouge2: { base: 0.092 } } };
    expect(() => validateReport(r)).not.toThrow();
    r.claims[0].study = { text: "", values: { base: 0.092, "lora-r8": 0.104 } };
    expect(() => validateReport(r)).not.toThrow();
    r.claims[0].study = { text: "", values: { rouge2: { base: "0.092" } } } as never;
    expect(() => validateReport(r)).toThrow(UserError);
  });

  const cases: [string, (r: any) => void, string][] = [
    ["wrong enum", (r) => (r.arms[1].kind = "qlora"), '$.arms[1].kind: must be one of "base", "lora"'],
    ["missing field", (r) => delete r.provenance.model.sha256, "$.provenance.model.sha256: is required"],
    [
      "unknown field",
      (r) => (r.claims[0].evidence.confidence = 0.9),
      "$.claims[0].evidence.confidence: is not allowed",
    ],
    [
      "bad nested in nullable",
      (r) => (r.arms[0].seeds[2].metrics.rouge2 = "0.1"),
      "$.arms[0].seeds[2].metrics.rouge2: must be number",
    ],
    [
      "NaN metric",
      (r) => (r.arms[2].metrics.rougeL.mean = Number.NaN),
      "$.arms[2].metrics.rougeL.mean: must be number",
    ],
    ["bad date", (r) => (r.created_at = "yesterday"), '$.created_at: must match format "date-time"'],
    ["bad tuple", (r) => (r.claims[1].evidence.ci = [0.1]), "$.claims[1].evidence.ci"],
    ["schema version", (r) => (r.schema_version = 2), "$.schema_version: must be 1"],
    ["duplicate arm", (r) => (r.arms[2].id = "base"), '$.arms[2].id: duplicate arm id "base"'],
    ["duplicate claim", (r) => (r.claims[3].id = r.claims[0].id), "$.claims[3].id: duplicate claim id"],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`rejects ${what} with a one-line error naming the file and path`, () => {
      const r = makeReport();
      mutate(r);
      const msg = errorOf(r);
      expect(msg).toContain(expected);
      expect(msg.startsWith("reports/x.json: invalid report: $")).toBe(true);
      expect(msg).not.toContain("\n");
    });
  }

  it("rejects a non-object", () => {
    expect(errorOf([])).toBe("reports/x.json: invalid report: $: must be object");
  });
});
