import { describe, expect, it } from "vitest";
import { Graph } from "../../harness/engine/graph.ts";
import { Session } from "../../harness/engine/session.ts";
import { describeAdapter } from "../../harness/engine/webgpu.ts";
import { cli } from "../cli-helpers.ts";

describe("the WebGPU device", () => {
  it("names the adapter it runs on", () => {
    const a = describeAdapter();
    expect(a.api).toBe(process.platform === "darwin" ? "metal" : "vulkan");
    expect(a.device).not.toMatch(/^unknown/);
    expect(a.vendor).not.toBe("unknown");
  });

  it("computes a MatMul on the device and keeps an output there when asked", async () => {
    const g = new Graph("float32");
    const a = g.input("a", [3, 4]);
    const b = g.input("b", [4, 2]);
    const y = g.matmul(a, b);
    g.output(y, "y");
    g.output(g.softmax(y), "p");
    const s = await Session.create(g.toBytes(), { device: "webgpu", outputLocation: { y: "gpu-buffer" } });
    const A = Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1);
    const B = Float32Array.from({ length: 8 }, (_, i) => (i % 3) - 1);
    const out = await s.run({ a: { data: A, dims: [3, 4] }, b: { data: B, dims: [4, 2] } });
    expect(out.y.location).toBe("gpu-buffer");
    expect(out.p.location).toBe("cpu");
    const ref = [0, 1, 2].map((i) =>
      [0, 1].map((j) => [0, 1, 2, 3].reduce((acc, k) => acc + A[i * 4 + k] * B[k * 2 + j], 0)),
    );
    const p = out.p.data as Float32Array;
    for (let i = 0; i < 3; i++) {
      const z = ref[i].map(Math.exp);
      const sum = z[0] + z[1];
      expect(p[i * 2]).toBeCloseTo(z[0] / sum, 6);
    }
    // Only the softmax came down; the device-resident output did not.
    expect(s.lastTransfer).toEqual({ up: { a: 12 * 4, b: 8 * 4 }, down: { p: 6 * 4 } });
    out.y.dispose();
    await s.release();
  });

  it("refuses float64 graphs with one line", async () => {
    const g = new Graph("float64");
    g.output(g.input("x", [1]), "y");
    await expect(Session.create(g.toBytes(), { device: "webgpu", float64: true })).rejects.toThrow(
      /--device webgpu: WebGPU has no float64/,
    );
  });

  it("without a Vulkan driver the command says so in one line and exits 2", () => {
    // The loader reads only the manifests VK_DRIVER_FILES names: none here, so Dawn finds no adapter.
    const r = cli(["logits", "--model", "fixtures/tiny", "--ids", "1,5,9", "--device", "webgpu"], {
      env: { VK_DRIVER_FILES: "/nonexistent/icd.json", VK_ICD_FILENAMES: "/nonexistent/icd.json" },
    });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--device webgpu: no Vulkan driver .*mesa-vulkan-drivers/);
    expect(r.stdout).toBe("");
  });
});

describe("lora-bench gpu-check", () => {
  it("passes every check on this adapter and prints one line per check", () => {
    const r = cli(["gpu-check", "--device", "webgpu", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.device).toBe("webgpu");
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining([
        "logits",
        "loss",
        "grads",
        "greedy_tokens",
        "placement_loss",
        "placement_decode",
      ]),
    );
    expect(report.checks.every((c: { pass: boolean }) => c.pass)).toBe(true);
    expect(report.decode_step_bytes.down).toBe(3 * 2048 * 4);
  });

  it("refuses the cpu device with one line", () => {
    const r = cli(["gpu-check", "--device", "cpu"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/gpu-check compares a GPU device/)]);
  });
});
