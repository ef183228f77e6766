import { loadLlamaCheckpoint } from "../../engine/checkpoint.ts";
import { gpuCheck } from "../../engine/gpu-check.ts";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { DEVICE_FLAG, defineCommand, JSON_FLAG } from "../command.ts";
import { writeJson } from "../model-io.ts";

export default defineCommand({
  name: "gpu-check",
  description:
    "First run on a GPU: the adapter, which nodes run where, logits/loss/LoRA gradients and greedy tokens\n" +
    "against the CPU provider, bytes per decode step, tokens/s and peak RSS. Exit 1 when a check fails.",
  flags: {
    model: { type: "string", arg: "DIR", help: "Llama checkpoint (default: the embedded tiny model)" },
    ...DEVICE_FLAG,
    ...JSON_FLAG,
  },
  async run({ values }) {
    const device = parseDevice(values.device ?? "webgpu");
    if (device === "cpu")
      throw new UserError("--device: gpu-check compares a GPU device with the CPU; give webgpu or cuda");
    const ckpt = loadLlamaCheckpoint(values.model ?? "fixtures/tiny");
    const report = await gpuCheck(ckpt, device, { log: (m) => process.stderr.write(`${m}\n`) });
    if (values.json) writeJson(report);
    else {
      const out = [
        `device ${report.device}${report.adapter ? `: ${report.adapter.vendor} ${report.adapter.device} [${report.adapter.type}, ${report.adapter.driver}]` : ""}`,
        ...report.checks.map((c) => `${c.pass ? "pass" : "FAIL"}  ${c.name}: ${c.detail}`),
        `decode step: ${report.decode_step_bytes.up} B up, ${report.decode_step_bytes.down} B down`,
        `greedy decoding: ${report.tokens_per_s.device.toFixed(1)} tokens/s on ${device}, ${report.tokens_per_s.cpu.toFixed(1)} on cpu`,
        `peak RSS ${(report.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`,
      ];
      process.stdout.write(`${out.join("\n")}\n`);
    }
    return report.checks.every((c) => c.pass) ? 0 : 1;
  },
});
