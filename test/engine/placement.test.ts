import { mkdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Graph } from "../../harness/engine/graph.ts";
import { parseProfile, readProfiles, summarisePlacement } from "../../harness/engine/placement.ts";
import { Session } from "../../harness/engine/session.ts";
import { parseVulkanSummary } from "../../harness/engine/webgpu.ts";
import { makeTmp } from "./helpers-io.ts";

const tmp = makeTmp("placement-cpu");
afterAll(() => tmp.cleanup());

describe("placement from onnxruntime's profile", () => {
  it("lists each node once with its provider and flags products, softmax and float work off the device", async () => {
    const g = new Graph("float32");
    const x = g.input("x", [2, "N"]);
    const w = g.input("w", ["N", 3]);
    const y = g.softmax(g.matmul(x, w));
    g.output(g.reshape(y, [3, 2]), "y");
    mkdirSync(`${tmp.dir}/p`);
    const s = await Session.create(g.toBytes(), { profilePrefix: `${tmp.dir}/p/tiny-0` });
    for (let i = 0; i < 2; i++)
      await s.run({
        x: { data: new Float32Array(8), dims: [2, 4] },
        w: { data: new Float32Array(12), dims: [4, 3] },
      });
    s.endProfiling();
    await s.release();
    const profiles = readProfiles(`${tmp.dir}/p`);
    expect([...profiles.keys()]).toEqual(["tiny-0"]);
    const nodes = profiles.get("tiny-0") ?? [];
    const ops = nodes.map((n) => n.op);
    expect(ops).toContain("MatMul");
    expect(ops).toContain("Softmax");
    expect(new Set(ops).size).toBe(ops.length); // two runs, each node once
    const mm = nodes.find((n) => n.op === "MatMul");
    expect(mm?.inputs).toEqual([
      { type: "float", shape: [2, 4] },
      { type: "float", shape: [4, 3] },
    ]);

    const onCpu = summarisePlacement(nodes, "CPUExecutionProvider");
    expect(onCpu.fractionOnDevice).toBe(1);
    expect(onCpu.fallbacks).toEqual([]);
    // Read as a WebGPU run, every node here would be a fallback, and all of them do float work.
    const asGpu = summarisePlacement(nodes);
    expect(asGpu.fractionOnDevice).toBe(0);
    expect(asGpu.heavyFallbacks.map((n) => n.op)).toEqual(expect.arrayContaining(["MatMul", "Softmax"]));
  });

  it("keeps int64 shape arithmetic out of the heavy list and rejects a non-profile", () => {
    const node = (op: string, type: string) => ({
      cat: "Node",
      name: `${op}_0_kernel_time`,
      args: {
        op_name: op,
        provider: "CPUExecutionProvider",
        input_type_shape: [{ [type]: [4] }],
        output_type_shape: [],
      },
    });
    const p = summarisePlacement(
      parseProfile([node("Concat", "int64"), node("Add", "float"), { cat: "Session" }]),
    );
    expect(p.fallbacks.map((n) => n.op)).toEqual(["Concat", "Add"]);
    expect(p.heavyFallbacks.map((n) => n.op)).toEqual(["Add"]);
    expect(() => parseProfile({})).toThrow(/JSON array/);
  });
});

describe("adapter description from vulkaninfo", () => {
  it("reads every device and ranks a discrete GPU before a software one", () => {
    const text = [
      "Devices:",
      "========",
      "GPU0:",
      "\tvendorID           = 0x10005",
      "\tdeviceType         = PHYSICAL_DEVICE_TYPE_CPU",
      "\tdeviceName         = llvmpipe (LLVM 15.0.6, 256 bits)",
      "\tdriverName         = llvmpipe",
      "\tdriverInfo         = Mesa 25.0.7 (LLVM 15.0.6)",
      "GPU1:",
      "\tvendorID           = 0x10de",
      "\tdeviceType         = PHYSICAL_DEVICE_TYPE_DISCRETE_GPU",
      "\tdeviceName         = NVIDIA GeForce RTX 4090",
      "\tdriverName         = NVIDIA",
      "\tdriverInfo         = 550.54.14",
    ].join("\n");
    const [cpu, nv] = parseVulkanSummary(text);
    expect(cpu).toMatchObject({ vendor: "mesa", type: "cpu", driver: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)" });
    expect(nv).toMatchObject({ vendor: "nvidia", type: "discrete-gpu", device: "NVIDIA GeForce RTX 4090" });
    expect(nv.rank).toBeLessThan(cpu.rank);
  });
});
