/**
 * The real 15-article CNN/DailyMail sample lives outside the repository (third-party text): its
 * directory comes from LORA_BENCH_CNN_DM_SAMPLE, by default ../shared/data/cnn_dailymail_sample
 * beside the checkout. `npm run test:sample` reads it; `npm test` never does.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const SAMPLE_ENV = "LORA_BENCH_CNN_DM_SAMPLE";
const repoRoot = resolve(import.meta.dirname, "../..");

export function sampleDir(): string {
  return resolve(repoRoot, process.env[SAMPLE_ENV] || "../shared/data/cnn_dailymail_sample");
}

/** Why the sample cannot be used, in one line, or null when it is there. */
export function sampleProblem(dir = sampleDir()): string | null {
  const want = join(dir, "records.jsonl");
  return existsSync(want)
    ? null
    : `CNN/DailyMail sample not found: ${want} is absent (set ${SAMPLE_ENV} to the sample's directory)`;
}
