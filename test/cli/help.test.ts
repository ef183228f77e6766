import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { COMMAND_NAMES } from "../../harness/cli/registry.ts";
import { cli, ROOT } from "../cli-helpers.ts";

describe("lora-bench --help", () => {
  it("lists every registered command", () => {
    const r = cli(["--help"]);
    expect(r.code).toBe(0);
    for (const name of COMMAND_NAMES) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it.each(COMMAND_NAMES)("%s --help exits 0 with its usage and options", (name) => {
    const r = cli([name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`^usage: lora-bench ${name} `));
    expect(r.stdout).toMatch(/^options:\n/m);
    expect(r.stdout).toMatch(/^ {2}-h, --help +show this help$/m);
  });

  it("a missing required flag names it and points at --help", () => {
    const r = cli(["summary"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("lora-bench: summary: missing required flag --report (try --help)\n");
  });

  it("npx lora-bench prints no npm warning (the project's .npmrc holds only keys npm knows)", () => {
    const r = spawnSync("npx", ["lora-bench", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/npm warn/i);
  });
});
