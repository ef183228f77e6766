import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateReport } from "../../harness/report/validate.ts";
import { cliAsync as cli, ROOT, tempDir } from "../cli-helpers.ts";
import { type FakeHub, startFakeHub } from "../data/hub-server.ts";
import { makeSmallStudy } from "./small-study.ts";

const MODEL_COMMIT = "a".repeat(40);
const DATA_COMMIT = "b".repeat(40);
let hub: FakeHub | undefined;
afterAll(() => hub?.close());

function filesOf(dir: string, prefix = ""): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    if (f.isDirectory()) Object.assign(out, filesOf(join(dir, f.name), `${prefix}${f.name}/`));
    else out[`${prefix}${f.name}`] = readFileSync(join(dir, f.name));
  }
  return out;
}

describe("a profile whose model and dataset come from the Hub (local imitation on 127.0.0.1)", () => {
  it("downloads into the HF cache layout, records the pinned revision, then runs offline with no request", async () => {
    const s = makeSmallStudy();
    const data = filesOf(join(ROOT, "fixtures/data/synthetic-news/3.0.0"), "3.0.0/");
    hub = await startFakeHub([
      {
        type: "model",
        id: "lora-bench/small-llama",
        commits: { [MODEL_COMMIT]: filesOf(s.modelDir) },
        refs: { main: MODEL_COMMIT },
      },
      {
        type: "dataset",
        id: "lora-bench/synthetic-news",
        commits: { [DATA_COMMIT]: data },
        refs: { main: DATA_COMMIT },
      },
    ]);
    writeFileSync(
      s.config,
      readFileSync(s.config, "utf8")
        .replace(
          `model: { source: ${JSON.stringify(s.modelDir)} }`,
          'model: { source: "lora-bench/small-llama" }',
        )
        .replace(/dataset: \{ source: "[^"]+"/, 'dataset: { source: "lora-bench/synthetic-news"'),
    );
    const home = tempDir("hf-home-");
    const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: home };
    const plan = await cli(["plan", "--config", s.config, "--json"], { env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(readdirSync(join(home, "hub")).sort()).toEqual([
      "datasets--lora-bench--synthetic-news",
      "models--lora-bench--small-llama",
    ]);
    expect(readFileSync(join(home, "hub/models--lora-bench--small-llama/refs/main"), "utf8").trim()).toBe(
      MODEL_COMMIT,
    );
    const before = hub.requests.length;
    expect(before).toBeGreaterThan(0);

    const run = await cli(["run", "--config", s.config], { env: { ...env, HF_HUB_OFFLINE: "1" } });
    expect(run.code, run.stderr).toBe(0);
    expect(hub.requests.length).toBe(before);
    const report = validateReport(JSON.parse(readFileSync(join(s.reportsDir, "latest.json"), "utf8")));
    expect(report.provenance.model).toMatchObject({ id: "lora-bench/small-llama", revision: MODEL_COMMIT });
    expect(report.provenance.dataset.id).toBe("lora-bench/synthetic-news");
  });
});
