import { describe } from "vitest";
import { TINYLLAMA_SHAPES } from "../harness/engine/perf.ts";
import { claim } from "../harness/study/claims.ts";

describe("parameter efficiency", () => {
  // Arithmetic on TinyLlama-1.1B's architecture (its config's shapes), whatever the profile runs.
  claim("r=8 trains ≈0.1% of parameters", {
    trainableFraction: "lora-r8",
    approx: 0.001,
    tolerance: 0.0002,
    exact: 1_126_400,
    architecture: TINYLLAMA_SHAPES,
    studyText: "~0.1% of parameters are trained at r=8",
  });
});
