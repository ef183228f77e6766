import { describe } from "vitest";
import { probe } from "./study.ts";

describe("probes the study invites", () => {
  // Future work 1: the N where r=32 overtakes r=8 (sweep arms lora-r{8,32}-n{N}).
  probe(
    "r=32 overtakes r=8 at some N (sweep)",
    { kind: "sweep", small: 8, large: 32, metric: "rouge2" },
    { studyText: "future work: find the N where r=32 overtakes r=8" },
  );
  // Capacity or scaling? With rsLoRA (alpha/√r) r=32 keeps a larger update scale than alpha/r gives it.
  probe("rsLoRA scaling lifts r=32 (the collapse is scaling, not capacity)", {
    kind: "comparison",
    better: "lora-r32-rslora",
    than: "lora-r32",
    metric: "rouge2",
  });
  // Future work 3: a 4-bit base should cost the adapter nothing that matters (±0.02 ROUGE-2).
  probe("QLoRA r=8 matches LoRA r=8 on ROUGE-2", {
    kind: "equivalence",
    arm: "qlora-r8",
    to: "lora-r8",
    metric: "rouge2",
    margin: 0.02,
  });
});
