import { describe } from "vitest";
import { claim } from "./study.ts";

describe("continuation bias", () => {
  // "Continued" = the output opens with a verbatim span of the article, extends its last sentence,
  // or restates the prompt (harness/metrics/continuation.ts). "Shows" = in at least 10% of outputs.
  claim(
    "base outputs show continuation bias",
    { kind: "continuation", arm: "base", atLeast: 0.1 },
    { studyText: "the base model sometimes continues the article instead of summarising it" },
  );
});
