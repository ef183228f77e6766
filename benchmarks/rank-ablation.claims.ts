import { describe } from "vitest";
import { claim } from "./study.ts";

// The published values for each arm and metric come from harness/study/published.ts.
describe("LoRA rank at N=100 (the study's table)", () => {
  claim(
    "r=8 beats base on ROUGE-2",
    { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" },
    { studyText: "r=8 is the sweet spot: +13% relative ROUGE-2 over base" },
  );
  claim("r=8 beats base on ROUGE-1", {
    kind: "comparison",
    better: "lora-r8",
    than: "base",
    metric: "rouge1",
  });
  claim("r=8 beats base on ROUGE-L", {
    kind: "comparison",
    better: "lora-r8",
    than: "base",
    metric: "rougeL",
  });
  claim(
    "r=32 collapses at N=100",
    { kind: "collapse", arm: "lora-r32", below: "base", metric: ["rouge1", "rouge2", "rougeL"] },
    { studyText: "r=32 falls below base on all three metrics (overfitting / forgetting at N=100)" },
  );
  claim("r=8 beats r=32", {
    kind: "comparison",
    better: "lora-r8",
    than: "lora-r32",
    metric: ["rouge1", "rouge2", "rougeL"],
  });
});
