import { UserError } from "../../errors.ts";
import { finishStudy } from "../../pipeline.ts";
import { gatherCaches } from "../../study/merge.ts";
import { planStudy, runArms } from "../../study/runner.ts";
import { defineCommand } from "../command.ts";
import { progressLine } from "../progress.ts";
import { REPORT_FLAGS, runOptions, STUDY_FLAGS } from "./study-flags.ts";

export default defineCommand({
  name: "merge",
  positionals: "DIR…",
  description:
    "Gather the arm results that separate jobs wrote into their own cache directories, then judge the\n" +
    "claims and write the report as a single run would. An entry made on another device, provider,\n" +
    "onnxruntime or engine numerics version, or from another model or data selection, is refused;\n" +
    "a planned arm that no directory has is an error.",
  flags: { ...STUDY_FLAGS, ...REPORT_FLAGS },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UserError("merge: give one or more cache directories to merge");
    const t0 = performance.now();
    const o = runOptions(values);
    await gatherCaches(positionals, await planStudy(o));
    const res = await runArms({ ...o, log: () => {} });
    return finishStudy(res, {
      t0,
      filter: values.filter,
      json: Boolean(values.json),
      strict: Boolean(values.strict),
      verbose: Boolean(values.verbose),
      log: (m) => progressLine.done(m),
    });
  },
});
