// The first-run checks of a new GPU runner (docs/gpu-runner.md): placement and numerics on the tiny
// model, then memory growth over 20 training steps of varying length at TinyLlama's shapes.
//   npx tsx .github/scripts/gpu-first-run.ts [cuda|cpu] [--growth-shapes tiny|tinyllama]
// Prints each figure; exits 1 with one ::error:: line per failed check.
import { join } from "node:path";
import { loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { growthCheck, numericsCheck, placementCheck } from "../../harness/engine/first-run.ts";
import type { FArr } from "../../harness/engine/model.ts";
import { fastWeights, TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { parseDevice } from "../../harness/engine/session.ts";

const device = parseDevice(process.argv[2]?.startsWith("--") ? undefined : (process.argv[2] ?? "cuda"));
const big = !process.argv.includes("tiny");
const tiny = loadLlamaCheckpoint(join(import.meta.dirname, "../../fixtures/tiny"));
const failures: string[] = [];

const placed = await placementCheck(tiny.config, tiny.weights, device);
for (const [kind, off] of Object.entries(placed)) {
  console.log(
    `placement ${kind}: ${off.length ? `${off.length} float node(s) off the device` : "every float node on the device"}`,
  );
  for (const line of off) console.log(`  ${line}`);
  if (off.length) failures.push(`placement: ${kind} graph runs ${off[0]}`);
}

// 1e-3: fp32 on both sides; TF32 (compute capability ≥ 8) moves logits by ~1e-4 of their scale.
const num = await numericsCheck(tiny.config, tiny.weights, device);
console.log(
  `numerics vs cpu (relative): logits ${num.logits.toExponential(2)}, loss ${num.loss.toExponential(2)}, LoRA grads ${num.grads.toExponential(2)}`,
);
for (const [k, v] of Object.entries(num))
  if (!(v < 1e-3)) failures.push(`numerics: ${k} differ from the CPU provider's by ${v} (relative)`);

const c = big ? TINYLLAMA_SHAPES : tiny.config;
const weights = big ? (fastWeights(c) as Map<string, FArr>) : tiny.weights;
const lens = Array.from({ length: 20 }, (_, i) => [640, 384, 512, 160, 600][i % 5]);
const g = await growthCheck(c, weights, device, lens);
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
console.log(
  `memory after each of 20 steps (${big ? "TinyLlama shapes" : "tiny model"}): ${g.after.map(gib).join(" ")}`,
);
console.log(`peak of steps 1-10 ${gib(g.firstPeak)}, of steps 11-20 ${gib(g.secondPeak)}`);
if (g.grew)
  failures.push(
    `growth: memory rose from ${gib(g.firstPeak)} to ${gib(g.secondPeak)} between the two halves`,
  );

for (const f of failures) console.log(`::error::first run on ${device}: ${f}`);
process.exit(failures.length ? 1 : 0);
