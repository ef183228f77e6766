import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateTypes, TYPES_PATH } from "../../harness/report/generate-types.ts";

describe("reports/schema.json ↔ harness/report/types.ts", () => {
  it("types.ts is exactly what `npm run generate:types` produces (run it after editing the schema)", async () => {
    expect(readFileSync(TYPES_PATH, "utf8")).toBe(await generateTypes());
  });
});
