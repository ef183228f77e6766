import { describe } from "vitest";
import { claim } from "../harness/study/claims.ts";

describe("LoRA rank at N=100 (the study's table)", () => {
  claim("r=8 beats base on ROUGE-2", {
    better: "lora-r8",
    than: "base",
    metric: "rouge2",
    study: { base: 0.092, "lora-r8": 0.104 },
    studyText: "r=8 is the sweet spot: +13% relative ROUGE-2 over base",
  });
  claim("r=8 beats base on ROUGE-1", {
    better: "lora-r8",
    than: "base",
    metric: "rouge1",
    study: { base: 0.221, "lora-r8": 0.224 },
  });
  claim("r=8 beats base on ROUGE-L", {
    better: "lora-r8",
    than: "base",
    metric: "rougeL",
    study: { base: 0.138, "lora-r8": 0.149 },
  });
  claim("r=32 collapses at N=100", {
    worse: "lora-r32",
    than: "base",
    metric: ["rouge1", "rouge2", "rougeL"],
    study: { base: 0.092, "lora-r32": 0.055 },
    studyText: "r=32 falls below base on all three metrics (overfitting / forgetting at N=100)",
  });
  claim("r=8 beats r=32", {
    better: "lora-r8",
    than: "lora-r32",
    metric: ["rouge1", "rouge2", "rougeL"],
    study: { "lora-r8": 0.104, "lora-r32": 0.055 },
  });
});
