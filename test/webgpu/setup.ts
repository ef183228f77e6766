/**
 * Global setup of `npm run test:webgpu`: one WebGPU session must open, or the run fails with one line
 * naming what is missing (loader, driver, adapter) and the fix. Never a skip, never a CPU fallback.
 */
import { Graph } from "../../harness/engine/graph.ts";
import { Session } from "../../harness/engine/session.ts";
import { adapterLine, describeAdapter } from "../../harness/engine/webgpu.ts";

export default async function setup(): Promise<void> {
  const g = new Graph("float32");
  const x = g.input("x", [2, 2]);
  g.output(g.matmul(x, x), "y");
  try {
    const s = await Session.create(g.toBytes(), { device: "webgpu" });
    await s.release();
  } catch (e) {
    const line = e instanceof Error ? e.message : String(e);
    process.stderr.write(`test:webgpu: no WebGPU adapter, so no WebGPU test can run: ${line}\n`);
    throw new Error(`test:webgpu: ${line}`);
  }
  process.stderr.write(`test:webgpu: adapter ${adapterLine(describeAdapter())}\n`);
}
