/** Shared pieces of the WebGPU tests: the LoRA setting they use and error measures against the CPU. */
import type { LoraSettings } from "../../harness/engine/lora.ts";

export { maxRel } from "../error-measures.ts";

export const SETTINGS: LoraSettings = {
  r: 8,
  alpha: 16,
  targetModules: ["q_proj", "v_proj"],
  dropout: 0,
  useRslora: false,
};

/** ‖a − b‖₂ / ‖b‖₂. */
export function normRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}
