import { runStudy } from "../../pipeline.ts";
import { runArms } from "../../study/runner.ts";
import { defineCommand } from "../command.ts";
import { progressLine } from "../progress.ts";
import { REPORT_FLAGS, runOptions, STUDY_FLAGS } from "./study-flags.ts";

export default defineCommand({
  name: "run",
  description:
    "The study end to end (npm run bench): arms (cached), claims, report, chart, README. With --arm it\n" +
    "runs only those arms into the cache (a matrix job) and stops there; `lora-bench merge` assembles\n" +
    "the report.",
  flags: {
    ...STUDY_FLAGS,
    ...REPORT_FLAGS,
    force: { type: "boolean", help: "recompute units even when cached" },
    arm: { type: "string", arg: "ID", help: "run only this arm into the cache", multiple: true },
  },
  async run({ values }) {
    const opts = runOptions(values);
    const arms = values.arm;
    if (!arms)
      return runStudy({
        ...opts,
        filter: values.filter,
        json: Boolean(values.json),
        strict: Boolean(values.strict),
        verbose: Boolean(values.verbose),
        log: (m) => progressLine.done(m),
      });
    const res = await runArms({ ...opts, arms });
    const mine = res.units.filter((u) => arms.includes(u.arm.id));
    const out = mine.map((u) => ({
      arm: u.arm.id,
      seed: u.seed,
      key: u.key,
      status: res.results.get(u.key)?.status ?? "missing",
    }));
    if (values.json) process.stdout.write(`${JSON.stringify({ cache: res.cacheDir, units: out })}\n`);
    else
      progressLine.done(
        `ran ${res.ran} of ${mine.length} unit(s) of ${arms.join(", ")} into ${res.cacheDir}`,
      );
    return 0;
  },
});
