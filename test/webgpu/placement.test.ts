/**
 * Which nodes of the loss, logits and decode graphs run on WebGPU, read from onnxruntime's profile.
 * Only shape arithmetic on int64 (Shape, Concat, Reshape of shape vectors …) may stay on the CPU,
 * where ORT places it on purpose; a product, a softmax or any node touching a float tensor must not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Checkpoint, loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import {
  describeNodes,
  type Placement,
  readProfiles,
  summarisePlacement,
} from "../../harness/engine/placement.ts";
import { ROOT } from "../cli-helpers.ts";
import { makeTmp } from "../engine/helpers-io.ts";
import { randomLora } from "../engine/tiny.ts";
import { SETTINGS } from "./compare.ts";

const tmp = makeTmp("placement");
const placement = new Map<string, Placement>();
let ckpt: Checkpoint;

beforeAll(async () => {
  ckpt = loadLlamaCheckpoint(`${ROOT}/fixtures/tiny`);
  const model = new LlamaModel(ckpt.config, ckpt.weights, { device: "webgpu", profileDir: tmp.dir });
  const lora = randomLora(ckpt.config, SETTINGS, "placement", false);
  const rows = [
    [1, 20, 30, 40],
    [1, 7, 8, 9],
  ];
  await model.logits(rows, lora);
  await model.lossAndGrads(
    { inputIds: rows, labels: rows.map((r) => r.map((x, i) => (i ? x : -100))) },
    { lora },
  );
  const mask = rows.map((r) => r.map(() => true));
  const pos = rows.map((r) => r.map((_, i) => i));
  const prefill = await model.decodeStep(rows, null, mask, pos, lora);
  await model.decodeStep(
    [[5], [6]],
    prefill.cache,
    mask.map((m) => [...m, true]),
    [[4], [4]],
    lora,
  );
  await model.endProfiling();
  await model.release();
  for (const [name, nodes] of readProfiles(tmp.dir))
    placement.set(name.replace(/-\d+$/, ""), summarisePlacement(nodes));
});

afterAll(() => tmp.cleanup());

describe("placement on WebGPU", () => {
  for (const kind of ["logits", "loss", "decode"]) {
    it(`${kind}: every product, softmax and float tensor runs on the device`, () => {
      const p = placement.get(kind);
      expect(p, `no profile for the ${kind} graph`).toBeDefined();
      const { nodes, fallbacks, heavyFallbacks, fractionOnDevice } = p as Placement;
      // The CI log answers "what falls back, and how much runs on the device".
      console.info(
        `${kind}: ${nodes.length} nodes, ${(100 * fractionOnDevice).toFixed(1)}% on WebGPU; on the CPU: ${[...new Set(fallbacks.map((n) => n.op))].join(", ") || "none"}`,
      );
      expect(nodes.some((n) => n.op === "MatMul" || n.op === "Gemm" || n.op === "FusedMatMul")).toBe(true);
      expect(describeNodes(heavyFallbacks)).toEqual([]);
      expect(fallbacks.every((n) => n.provider === "CPUExecutionProvider")).toBe(true);
      // What may stay behind is shape arithmetic: int64 in, int64 out.
      const notShape = fallbacks.filter((n) => ![...n.inputs, ...n.outputs].every((t) => t.type === "int64"));
      expect(describeNodes(notShape)).toEqual([]);
    });
  }
});
