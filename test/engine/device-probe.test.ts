import { describe, expect, it } from "vitest";
import { type ProbeResult, probeDevice, probeProblem } from "../../harness/engine/device-probe.ts";

describe("device probe (what install-gpu.sh runs on CUDA)", () => {
  it("on the CPU provider: three nodes, all on the device, rows of a softmax summing to 1", async () => {
    const p = await probeDevice("cpu");
    expect(p.nodes.map((n) => n.split("(")[0])).toEqual(["MatMul", "Softmax", "ReduceSum"]);
    expect(p.nodes.every((n) => n.endsWith("on CPUExecutionProvider"))).toBe(true);
    expect(p.elsewhere).toEqual([]);
    expect(p.maxRowError).toBeLessThan(1e-5);
    expect(probeProblem(p)).toBeNull();
  });

  it("names a node that fell back, a wrong result and an empty profile", () => {
    const ok: ProbeResult = {
      device: "cuda",
      provider: "CUDAExecutionProvider",
      nodes: ["MatMul(float[64,256]) → float[64,512] on CUDAExecutionProvider"],
      elsewhere: [],
      maxAbsDiff: 1e-7,
      maxRowError: 1e-7,
    };
    expect(probeProblem(ok)).toBeNull();
    const cpuNode = "Softmax(float[64,512]) → float[64,512] on CPUExecutionProvider";
    expect(probeProblem({ ...ok, elsewhere: [cpuNode] })).toMatch(/1 probe node\(s\) ran elsewhere: Softmax/);
    expect(probeProblem({ ...ok, maxAbsDiff: 0.5 })).toMatch(/differs from the CPU provider by 0\.5/);
    expect(probeProblem({ ...ok, maxRowError: Number.NaN })).toMatch(/rows sum to 1 ± NaN/);
    expect(probeProblem({ ...ok, nodes: [] })).toMatch(/lists no node/);
  });
});
