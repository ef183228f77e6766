import { createHash } from "node:crypto";
import { readUnitResult } from "../../study/cache.ts";
import { formatBytes } from "../../study/memory-plan.ts";
import { planStudy } from "../../study/runner.ts";
import { defineCommand } from "../command.ts";
import { runOptions, STUDY_FLAGS } from "./study-flags.ts";

export default defineCommand({
  name: "plan",
  description:
    "The arms of a profile with their content-addressed hash, expected cost (tokens) and cache state,\n" +
    "for splitting a study into matrix jobs, and the memory plan the runs will obey.",
  flags: STUDY_FLAGS,
  async run({ values }) {
    const o = runOptions(values);
    const { ctx, units, cacheDir } = await planStudy(o);
    const arms = ctx.arms.map((a) => {
      const mine = units.filter((u) => u.arm.id === a.id);
      return {
        id: a.id,
        label: a.label,
        config_hash: createHash("sha256")
          .update(mine.map((u) => u.key).join(","))
          .digest("hex")
          .slice(0, 16),
        expected_cost: mine.reduce((n, u) => n + u.cost, 0),
        seeds: mine.map((u) => u.seed),
        units: mine.map((u) => ({
          seed: u.seed,
          key: u.key,
          cached: readUnitResult(cacheDir, u.key) !== null,
        })),
      };
    });
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          profile: ctx.profile.name,
          engine: ctx.engine,
          device: ctx.runtime.device,
          execution_provider: ctx.runtime.executionProvider,
          onnxruntime: ctx.runtime.onnxruntime,
          model_sha256: ctx.modelSha,
          memory: ctx.memory,
          arms,
        })}\n`,
      );
    } else {
      const m = ctx.memory!;
      process.stdout.write(
        `memory on ${m.device}, budget ${formatBytes(m.budget_bytes)}: train micro-batch ${m.train.micro_batch} × ${m.train.grad_accum}${m.train.checkpointing ? " with layer recomputation" : ""}, peak ≈ ${formatBytes(m.train.peak_bytes)}; decode batch ${m.decode.batch}, peak ≈ ${formatBytes(m.decode.peak_bytes)}\n`,
      );
      for (const a of arms)
        process.stdout.write(
          `${a.id.padEnd(18)} ${a.config_hash}  cost ${String(a.expected_cost).padStart(9)} tok  seeds ${a.seeds.join(",")}  cached ${a.units.filter((u) => u.cached).length}/${a.units.length}\n`,
        );
    }
    return 0;
  },
});
