/**
 * Generates harness/report/types.ts from reports/schema.json (`npm run generate:types`).
 * The schema is the contract; the types follow it. json-schema-to-typescript's output is piped
 * through biome's formatter so the checked-in file passes `biome check` and regenerating is
 * byte-stable; test/report/schema-types.test.ts fails when the file drifts from the schema.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";
import { writeFileAtomic } from "../fsutil.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SCHEMA_PATH = join(ROOT, "reports", "schema.json");
export const TYPES_PATH = join(ROOT, "harness", "report", "types.ts");

const BANNER = `/**
 * GENERATED from reports/schema.json by \`npm run generate:types\` (harness/report/generate-types.ts).
 * Do not edit: change the schema and regenerate.
 */`;

/** The exact bytes types.ts should have for the current schema. */
export async function generateTypes(): Promise<string> {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));
  const raw = await compile(schema, "Report", {
    bannerComment: BANNER,
    additionalProperties: false,
    unknownAny: true,
    format: false, // biome formats below: one formatter for the whole repo
    declareExternallyReferenced: true,
  });
  const biome = join(ROOT, "node_modules", ".bin", "biome");
  return execFileSync(biome, ["format", `--stdin-file-path=${relative(ROOT, TYPES_PATH)}`], {
    cwd: ROOT,
    input: raw,
    encoding: "utf8",
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileAtomic(TYPES_PATH, await generateTypes());
  process.stdout.write(`wrote ${relative(process.cwd(), TYPES_PATH)}\n`);
}
