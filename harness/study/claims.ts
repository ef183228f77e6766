/**
 * The claims API for benchmarks/*.claims.ts — a thin vitest shell over verdict.ts.
 *
 *   claim("r=8 beats base on ROUGE-2", { better: "lora-r8", than: "base", metric: "rouge2",
 *                                         study: { base: 0.092, "lora-r8": 0.104 } });
 *
 * Each claim is a vitest test: it holds → passes, fails → fails with the evidence, inconclusive →
 * skipped with the evidence as the reason. Its outcome is also written as JSON to the directory named
 * by LORA_BENCH_CLAIMS_DIR, which is how `lora-bench run` collects verdicts for the report. The study
 * comes from the snapshot named by LORA_BENCH_STUDY (written by the runner); without it the study is
 * run here first, reusing every cached arm.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, test } from "vitest";
import { writeFileAtomic } from "../fsutil.ts";
import {
  bareEvidence,
  type ClaimOutcome,
  type ClaimSpec,
  evaluateSpec,
  type StudyData,
  type StudyValues,
} from "./verdict.ts";

export type { ClaimSpec, Metric, StudyData } from "./verdict.ts";

export interface ClaimRecord extends ClaimOutcome {
  /** Declaration order within its spec file. */
  index: number;
  id: string;
  name: string;
  spec: string;
  study: { text: string; values: StudyValues } | null;
}

let studyPromise: Promise<StudyData> | null = null;
let declared = 0;

/** The study the claims judge (memoised per test file). */
export function getStudy(): Promise<StudyData> {
  if (!studyPromise) {
    studyPromise = (async () => {
      const snapshot = process.env.LORA_BENCH_STUDY;
      if (snapshot) return JSON.parse(readFileSync(snapshot, "utf8")) as StudyData;
      const { runArms } = await import("./runner.ts");
      return (await runArms({ profile: process.env.LORA_BENCH_PROFILE })).study;
    })();
  }
  return studyPromise;
}

export function claimId(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return slug || createHash("sha256").update(name).digest("hex").slice(0, 8);
}

function record(rec: ClaimRecord): void {
  const dir = process.env.LORA_BENCH_CLAIMS_DIR;
  if (dir) writeFileAtomic(join(dir, `${rec.id}.json`), JSON.stringify(rec));
}

function specFile(): string {
  const path = expect.getState().testPath ?? "unknown";
  return relative(process.cwd(), path);
}

type Custom = (study: StudyData) => ClaimOutcome | undefined | Promise<ClaimOutcome | undefined>;

/**
 * Declare a claim. `spec` is a comparison, a value check or a probe (see verdict.ts), or a function
 * of the study: return an outcome, or use `expect` — no throw holds, a failed expectation fails.
 */
export function claim(
  name: string,
  spec: (ClaimSpec & { studyText?: string }) | Custom,
  opts: { studyText?: string; kind?: "probe" } = {},
): void {
  const index = declared++;
  test(name, async (ctx) => {
    const study = await getStudy();
    let outcome: ClaimOutcome;
    if (typeof spec === "function") {
      try {
        outcome = (await spec(study)) ?? freeForm("holds", "all expectations met");
      } catch (err) {
        outcome = freeForm("fails", (err as Error).message.split("\n")[0]);
      }
    } else {
      outcome = evaluateSpec(name, spec, study);
    }
    const values = typeof spec !== "function" && "study" in spec && spec.study ? spec.study : null;
    const text = opts.studyText ?? (typeof spec !== "function" ? spec.studyText : undefined);
    const rec: ClaimRecord = {
      ...outcome,
      kind: opts.kind ?? outcome.kind,
      index,
      id: claimId(name),
      name,
      spec: specFile(),
      study: values || text ? { text: text ?? "", values: values ?? {} } : null,
    };
    record(rec);
    if (rec.verdict === "fails") throw new Error(`claim fails: ${rec.evidence.detail}`);
    if (rec.verdict === "inconclusive") ctx.skip(`inconclusive: ${rec.evidence.detail}`);
  });
}

/**
 * A probe: a question the study invites rather than one of its claims (future work, ablations).
 * Judged like a claim; reported after the study's own claims.
 */
export function probe(name: string, spec: ClaimSpec & { studyText?: string }): void {
  claim(name, spec, { kind: "probe" });
}

function freeForm(verdict: "holds" | "fails", detail: string): ClaimOutcome {
  return {
    verdict,
    kind: "value",
    metric: null,
    arms: [],
    evidence: bareEvidence(detail),
  };
}
