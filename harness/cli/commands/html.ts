import { relative } from "node:path";
import { loadHtmlData } from "../../report/html/data.ts";
import { renderHtml } from "../../report/html/page.ts";
import { writeIfChanged } from "../../report/write.ts";
import { defineCommand } from "../command.ts";
import { progressLine } from "../progress.ts";
import { STUDY_FLAGS } from "./study-flags.ts";

// The seeds come from the report itself; nothing here runs a model.
const { profile, config, cache } = STUDY_FLAGS;

export default defineCommand({
  name: "html",
  description:
    "Regenerate reports/<profile>.html, the self-contained HTML report (claims, forest plot, ROUGE,\n" +
    "loss curves, N sweep, per-example browser, provenance), from the profile's JSON report and the\n" +
    "cached runs it names. `lora-bench run` writes it too; an unchanged file is not rewritten.",
  flags: { profile, config, cache },
  async run({ values }) {
    const { data, out } = await loadHtmlData({
      configPath: values.config,
      profile: values.profile,
      cacheDir: values.cache,
    });
    const html = await renderHtml(data);
    const wrote = writeIfChanged(out, html);
    progressLine.done(`${relative(process.cwd(), out)}: ${wrote ? "written" : "unchanged"}`);
    return 0;
  },
});
