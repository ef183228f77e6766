// Prove an execution provider computes: `npx tsx .github/scripts/probe-device.ts cuda`. Prints where
// each probe node ran; exit 1 with one ::error:: line unless every node ran on the device and the
// result matches the CPU provider's. install-gpu.sh runs it after installing the CUDA provider.
import { probeDevice, probeProblem } from "../../harness/engine/device-probe.ts";
import { parseDevice } from "../../harness/engine/session.ts";

try {
  const p = await probeDevice(parseDevice(process.argv[2] ?? "cuda"));
  for (const n of p.nodes) console.log(`  ${n}`);
  const problem = probeProblem(p);
  if (problem) {
    console.log(`::error::device probe: ${problem}`);
    process.exit(1);
  }
  console.log(
    `${p.provider} ran MatMul → Softmax → ReduceSum; max |Δ| against the CPU provider ${p.maxAbsDiff.toExponential(2)}`,
  );
} catch (err) {
  console.log(`::error::device probe: ${(err as Error).message.split("\n")[0]}`);
  process.exit(1);
}
