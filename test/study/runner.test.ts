import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { countLoraParams, countModelParams } from "../../harness/engine/architecture.ts";
import { validateReport } from "../../harness/report/validate.ts";
import { stripVolatile } from "../../harness/report/volatile.ts";
import { cli } from "../cli-helpers.ts";
import { makeSmallStudy, SMALL_MODEL } from "./small-study.ts";

function latest(reportsDir: string) {
  return validateReport(JSON.parse(readFileSync(join(reportsDir, "latest.json"), "utf8")));
}

describe("lora-bench run on a small study (real engine, real metric, real files)", () => {
  it("runs arms × seeds, judges claims, writes a valid report, chart and README; reruns from cache touching nothing", () => {
    const s = makeSmallStudy();
    const first = cli(["run", "--config", s.config]);
    expect(first.code, first.stderr).toBe(0);
    const report = latest(s.reportsDir);
    expect(report.arms.map((a) => a.id)).toEqual(["base", "lora-r8", "lora-r32"]);
    expect(report.arms[1].seeds.map((x) => x.seed)).toEqual([1, 2]);
    expect(report.claims.length).toBeGreaterThanOrEqual(8);
    // The efficiency claim counts this small model and the adapters trained on it: far above 0.1%.
    const eff = report.claims.find((c) => c.name === "r=8 trains ≈0.1% of parameters")!;
    const lora = { r: 8, alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };
    expect(eff.evidence.effect).toBe(countLoraParams(SMALL_MODEL, lora) / countModelParams(SMALL_MODEL));
    expect(eff.verdict).toBe("fails");
    expect(readFileSync(s.readme, "utf8")).toMatch(/r=8 beats base on ROUGE-2/);
    expect(existsSync(join(s.reportsDir, "rouge-tiny.svg"))).toBe(true);
    const entries = readdirSync(join(s.cacheDir, "arms"));
    expect(entries).toHaveLength(5);
    // Each arm ran as two phases (train all its units, then decode them), each with its own figures.
    const ph = report.timings.phases!;
    expect(ph.base.train).toBeNull();
    for (const id of ["lora-r8", "lora-r32"]) {
      expect(ph[id].train!.peak_rss_bytes, id).toBeGreaterThan(0);
      expect(ph[id].decode!.seconds, id).toBeGreaterThan(0);
    }
    expect(first.stderr).toMatch(/lora-r8: train [\d.]+ s, peak RSS [\d.]+ GiB; decode [\d.]+ s, peak RSS/);
    expect(report.provenance.threads).toBeGreaterThan(0);
    expect(
      existsSync(
        join(s.cacheDir, "arms", report.arms[1].seeds[0].cache_key, "adapter", "adapter_model.safetensors"),
      ),
    ).toBe(true);

    const stamp = (f: string) => statSync(f).mtimeMs;
    const files = [s.readme, join(s.reportsDir, "latest.json"), join(s.reportsDir, "rouge-tiny.svg")];
    const before = files.map(stamp);
    const readmeBytes = readFileSync(s.readme);
    const second = cli(["run", "--config", s.config]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/0 unit\(s\) computed, 5 from cache; results unchanged, no file written/);
    expect(files.map(stamp)).toEqual(before);
    expect(readFileSync(s.readme).equals(readmeBytes)).toBe(true);
  });

  it("resumes: a deleted entry is recomputed alone, a corrupt one is detected and recomputed, results identical", () => {
    const s = makeSmallStudy();
    expect(cli(["run", "--config", s.config]).code).toBe(0);
    const a = stripVolatile(latest(s.reportsDir));
    const [k1, k2] = [a.arms[1].seeds[0].cache_key, a.arms[2].seeds[1].cache_key];
    rmSync(join(s.cacheDir, "arms", k1), { recursive: true });
    const f = join(s.cacheDir, "arms", k2, "result.json");
    writeFileSync(f, readFileSync(f, "utf8").replace('"status":"ok"', '"status":"failed"'));
    const again = cli(["run", "--config", s.config]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/corrupt cache entry/);
    expect(again.stderr).toMatch(/2 unit\(s\) computed, 3 from cache/);
    expect(stripVolatile(latest(s.reportsDir))).toEqual(a);
  });

  it("plan --json lists arms with hash and cost; --filter selects claims; bad config is one line, exit 2", () => {
    const s = makeSmallStudy();
    const plan = cli(["plan", "--config", s.config, "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout);
    expect(p.arms.map((a: { id: string }) => a.id)).toEqual(["base", "lora-r8", "lora-r32"]);
    expect(p.arms[1]).toMatchObject({ seeds: [1, 2] });
    expect(p.arms[1].config_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(p.arms[1].expected_cost).toBeGreaterThan(p.arms[0].expected_cost);

    const r = cli(["run", "--config", s.config, "--filter", "ROUGE-2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.claims.map((c: { name: string }) => c.name)).toEqual([
      "r=8 beats base on ROUGE-2",
      "QLoRA r=8 matches LoRA r=8 on ROUGE-2",
    ]);

    writeFileSync(
      s.config,
      readFileSync(s.config, "utf8").replace("seeds: [1, 2],", "seeds: [1, 2], sedes: 3,"),
    );
    const bad = cli(["run", "--config", s.config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/bench\.config\.mts: config\.profiles\.tiny\.sedes is not a known key/);
  });
});
