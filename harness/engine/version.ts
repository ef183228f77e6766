/**
 * What a cached result depends on besides its inputs: the engine's numerics and the runtime that
 * computed it. Both enter every arm cache key (study/plan.ts) and every cached result, so a CUDA run
 * never reuses CPU numbers and `merge` can name why it refuses an entry.
 *
 * Why an explicit numerics version rather than a hash of the engine's source text: a hash changes with
 * every comment, rename or refactor, and each change would throw away hours of GPU results that are
 * still exactly right. An explicit number changes only when the numbers do. The risk it brings — a
 * numeric change landing without a bump — is closed by test/engine/numerics-version.test.ts: it
 * trains and decodes the embedded tiny model through the study's own code path and compares the
 * losses, gradient norms, prompt ids and greedy tokens with a fingerprint recorded for this version.
 */
import { type Device, ortVersion } from "./session.ts";

/**
 * Bump in the same commit as any change that can move a number a study run produces: graphs, dtypes,
 * the training loop, dropout draws, decoding, prompt building, tokenizer loading. Then record the new
 * fingerprint in the numerics-version test.
 */
export const NUMERICS_VERSION = 3;

export function engineVersion(): string {
  return `numerics-${NUMERICS_VERSION}`;
}

/** onnxruntime's name for the execution provider a device runs on. */
export function executionProvider(device: Device): string {
  if (device === "cuda") return "CUDAExecutionProvider";
  if (device === "webgpu") return "WebGpuExecutionProvider";
  return "CPUExecutionProvider";
}

/** The runtime part of a cache key: where and with what a result was computed. */
export interface RuntimeIdentity {
  device: Device;
  executionProvider: string;
  onnxruntime: string;
}

export function runtimeIdentity(device: Device): RuntimeIdentity {
  return { device, executionProvider: executionProvider(device), onnxruntime: ortVersion() };
}
