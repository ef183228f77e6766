/**
 * The claims API for benchmarks/*.claims.ts — a thin vitest shell over claim-kinds.ts.
 *
 *   claim("r=8 beats base on ROUGE-2", { kind: "comparison", better: "lora-r8", than: "base",
 *                                         metric: "rouge2", studyText: "…" });
 *
 * Each claim is a vitest test: holds → passes, fails → fails with the evidence, inconclusive →
 * skipped with the evidence as the reason. The study comes in through vitest's `inject("study")`
 * (provided by `runClaims`, or by the claims config's globalSetup when vitest runs the claims
 * directly); each claim's record goes out through its test's `task.meta`. A spec that names an arm,
 * metric or kind the study does not have throws when it is declared, so the file fails to load.
 */
import { createHash } from "node:crypto";
import { relative } from "node:path";
import { expect, inject, type TestContext, test } from "vitest";
import {
  type ClaimRecord,
  type ClaimSpec,
  ClaimSpecError,
  checkSpec,
  evaluateSpec,
  specArms,
  specMetrics,
} from "./claim-kinds.ts";
import { publishedValues } from "./published.ts";
import { bareEvidence, type ClaimOutcome, type StudyData } from "./verdict.ts";

export type { ClaimSpec } from "./claim-kinds.ts";
export type { Metric, StudyData } from "./verdict.ts";

declare module "vitest" {
  interface ProvidedContext {
    study: StudyData;
  }
  interface TaskMeta {
    /** The judged claim, for `runClaims` to read after the run. */
    claim?: ClaimRecord;
    /** Why the claim could not be judged at all (an error of the claims file, not a verdict). */
    claimError?: string;
  }
}

/** The study the claims judge, as provided to this vitest run. */
export function getStudy(): StudyData {
  const study = inject("study");
  if (!study)
    throw new ClaimSpecError(
      "no study was provided (run the claims through `lora-bench run` or their config)",
    );
  return study;
}

export function claimId(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  return slug || createHash("sha256").update(name).digest("hex").slice(0, 8);
}

function specFile(): string {
  return relative(process.cwd(), expect.getState().testPath ?? "unknown");
}

/**
 * A free-form claim: return an outcome, or judge with `expect` (a failed expectation fails the
 * claim). Returning nothing without a single expectation is an error: nothing holds by default.
 */
export type FreeForm = (study: StudyData) => ClaimOutcome | undefined | Promise<ClaimOutcome | undefined>;

interface ClaimOptions {
  /** The study's own sentence for this claim. */
  studyText?: string;
  /** Report it as a probe (a question the study invites) rather than one of its claims. */
  probe?: boolean;
}

function judge(ctx: TestContext, rec: ClaimRecord): void {
  ctx.task.meta.claim = rec;
  if (rec.verdict === "fails") throw new Error(`claim fails: ${rec.evidence.detail}`);
  if (rec.verdict === "inconclusive") ctx.skip(`inconclusive: ${rec.evidence.detail}`);
}

function fail(ctx: TestContext, message: string): never {
  ctx.task.meta.claimError = message;
  throw new ClaimSpecError(message);
}

/** Declare a claim judged by one of CLAIM_KINDS, or a free-form function of the study. */
export function claim(name: string, spec: ClaimSpec | FreeForm, opts: ClaimOptions = {}): void {
  if (typeof spec !== "function") checkSpec(spec, getStudy());
  test(name, async (ctx) => {
    const study = getStudy();
    const base = { id: claimId(name), name, spec: specFile() };
    if (typeof spec === "function") {
      let outcome: ClaimOutcome | undefined;
      try {
        outcome = await spec(study);
      } catch (err) {
        if (err instanceof ClaimSpecError) fail(ctx, err.message);
        outcome = freeForm("fails", (err as Error).message.split("\n")[0]);
      }
      if (!outcome && expect.getState().assertionCalls + ctx.expect.getState().assertionCalls === 0)
        fail(ctx, `claim "${name}" returned no outcome and made no expectation`);
      outcome ??= freeForm("holds", "all expectations met");
      const study_ = opts.studyText ? { text: opts.studyText, values: {} } : null;
      return judge(ctx, { ...base, ...outcome, kind: opts.probe ? "probe" : outcome.kind, study: study_ });
    }
    const outcome = evaluateSpec(name, spec, study);
    const values = publishedValues(specMetrics(spec), specArms(spec));
    const hasValues = Object.keys(values).length > 0;
    judge(ctx, {
      ...base,
      ...outcome,
      kind: opts.probe ? "probe" : outcome.kind,
      study: opts.studyText || hasValues ? { text: opts.studyText ?? "", values } : null,
    });
  });
}

/**
 * A probe: a question the study invites rather than one of its claims (future work, ablations).
 * Judged like a claim; reported after the study's own claims.
 */
export function probe(
  name: string,
  spec: ClaimSpec | FreeForm,
  opts: Omit<ClaimOptions, "probe"> = {},
): void {
  claim(name, spec, { ...opts, probe: true });
}

/** `claim` and `probe` with arm ids narrowed to a config's (see benchmarks/study.ts). */
export function claimsFor<Arm extends string>() {
  return {
    claim: claim as (name: string, spec: ClaimSpec<Arm> | FreeForm, opts?: ClaimOptions) => void,
    probe: probe as (
      name: string,
      spec: ClaimSpec<Arm> | FreeForm,
      opts?: Omit<ClaimOptions, "probe">,
    ) => void,
  };
}

function freeForm(verdict: "holds" | "fails", detail: string): ClaimOutcome {
  return { verdict, kind: "value", metric: null, arms: [], evidence: bareEvidence(detail) };
}
