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
});
