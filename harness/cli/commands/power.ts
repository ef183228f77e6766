import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../../errors.ts";
import { type Components, powerAt, sampleSizeTable, standardError } from "../../metrics/power.ts";
import { latestPath, readReport } from "../../report/write.ts";
import { getProfile, loadConfig } from "../../study/config.ts";
import { defineCommand, JSON_FLAG } from "../command.ts";

export default defineCommand({
  name: "power",
  description:
    "How many evaluation examples and seeds would detect an effect on a comparison claim with 80% power\n" +
    "(two-sided α = 0.05), from the variance components in the profile's latest report: example,\n" +
    "example × run and run-to-run. The effect defaults to the study's reported Δ, else ours.",
  flags: {
    profile: { type: "string", arg: "P", help: "profile of bench.config.ts (default: its defaultProfile)" },
    config: { type: "string", arg: "FILE", help: "config file (default bench.config.ts)" },
    claim: { type: "string", arg: "ID", help: "claim id as in the report", required: true },
    effect: { type: "string", arg: "X", help: "effect to detect, in metric units (e.g. 0.012)" },
    "max-seeds": { type: "string", arg: "K", help: "largest seed count to tabulate (default 10)" },
    ...JSON_FLAG,
  },
  async run({ values }) {
    const { config, file: configFile } = await loadConfig(values.config);
    const profile = getProfile(config, values.profile, configFile).name;
    const file = latestPath(resolve(config.reportsDir), profile);
    if (!existsSync(file)) throw new UserError(`no report for profile "${profile}" yet`, file);
    const report = readReport(file);
    const claim = report.claims.find((c) => c.id === values.claim);
    if (!claim)
      throw new UserError(
        `no claim "${values.claim}" (have: ${report.claims.map((c) => c.id).join(", ")})`,
        file,
      );
    const { mde, mde_study } = claim.evidence;
    if (!mde || !mde_study)
      throw new UserError(`claim "${claim.id}" is not a comparison with power figures in this report`, file);
    let effect = mde_study.reported_effect ?? claim.evidence.effect ?? 0;
    let source = mde_study.reported_effect !== null ? "the study's reported Δ" : "our observed Δ";
    if (values.effect !== undefined) {
      effect = Number(values.effect);
      source = "--effect";
      if (!Number.isFinite(effect) || effect === 0)
        throw new UserError(`--effect: "${values.effect}" is not a non-zero number`);
    }
    const maxSeeds = values["max-seeds"] === undefined ? 10 : Number(values["max-seeds"]);
    if (!Number.isInteger(maxSeeds) || maxSeeds < 1 || maxSeeds > 1000)
      throw new UserError(`--max-seeds: "${values["max-seeds"]}" is not an integer in 1..1000`);
    const c: Components = {
      example: mde.sd_example ** 2,
      interaction: mde.sd_interaction ** 2,
      seed: mde.sd_seed ** 2,
      seedKnown: mde.seed_variance_known,
    };
    const table = sampleSizeTable(c, Math.abs(effect), maxSeeds);
    const current = powerAt(effect, standardError(c, { examples: mde.n_examples, seeds: mde.n_seeds }));
    const study = powerAt(effect, mde_study.se);
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ claim: claim.id, metric: claim.metric, arms: claim.arms, effect, effect_source: source, power: 0.8, alpha: 0.05, components: { sd_example: mde.sd_example, sd_interaction: mde.sd_interaction, sd_seed: mde.sd_seed, seed_variance_known: mde.seed_variance_known }, power_ours: { n_examples: mde.n_examples, n_seeds: mde.n_seeds, power: current }, power_study: { n_examples: mde_study.n_examples, n_seeds: mde_study.n_seeds, power: study }, needed: table })}\n`,
      );
      return 0;
    }
    const pct = (p: number) => `${(100 * p).toFixed(0)}%`;
    const lines = [
      `${claim.id}: ${claim.arms.join(" − ")} on ${claim.metric}, effect ${Number(effect.toFixed(6))} (${source})`,
      `sd of one paired difference: example ${mde.sd_example.toFixed(4)}, example × run ${mde.sd_interaction.toFixed(4)}, run ${mde.sd_seed.toFixed(4)}${mde.seed_variance_known ? "" : " (unknown: one seed)"}`,
      `power now: ours ${mde.n_examples} × ${mde.n_seeds} seeds ${pct(current)}; the study's ${mde_study.n_examples} × ${mde_study.n_seeds} ${pct(study)}`,
      "seeds  examples for 80% power",
      ...table.map(
        (r) =>
          `${String(r.seeds).padStart(5)}  ${r.examples === null ? "none suffice (run-to-run variance alone is too large)" : r.examples}`,
      ),
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  },
});
