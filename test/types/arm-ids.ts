// Checked by `tsc --noEmit` (npm run typecheck), never run: claims accept only the arm ids that
// bench.config.ts declares, sweep arms included.
import { claim, probe } from "../../benchmarks/study.ts";

export function typedArmIds(): void {
  claim("x", { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" });
  probe("x", { kind: "comparison", better: "lora-r32-n200", than: "lora-r8-n200", metric: "rouge2" });
  // @ts-expect-error: no profile declares lora-r16
  claim("x", { kind: "comparison", better: "lora-r16", than: "base", metric: "rouge2" });
  // @ts-expect-error: not a ROUGE type
  claim("x", { kind: "value", arm: "base", metric: "rouge3" });
}
