/**
 * Report validation against reports/schema.json (ajv, compiled once per process), plus the two
 * rules JSON Schema cannot say: arm ids and claim ids are unique.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { UserError } from "../errors.ts";
import type { Report } from "./types.ts";

export const SCHEMA_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "reports",
  "schema.json",
);

// An ISO 8601 date-time with a zone, as `new Date().toISOString()` writes it (ajv-formats not needed).
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    // strictNumbers: NaN/Infinity would silently become null in JSON, so they are invalid here.
    const ajv = new Ajv({ allErrors: false, strict: true, strictNumbers: true, allowUnionTypes: true });
    ajv.addFormat("date-time", {
      type: "string",
      validate: (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
    });
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")));
  }
  return compiled;
}

/** `/arms/0/seeds/1` → `$.arms[0].seeds[1]` */
function jsonPath(pointer: string, extra?: string): string {
  const parts = pointer === "" ? [] : pointer.slice(1).split("/");
  if (extra !== undefined) parts.push(extra);
  return `$${parts
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((p) =>
      /^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_][\w]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`,
    )
    .join("")}`;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return `${jsonPath(e.instancePath, String(p.missingProperty))}: is required`;
    case "additionalProperties":
      return `${jsonPath(e.instancePath, String(p.additionalProperty))}: is not allowed`;
    case "enum":
      return `${jsonPath(e.instancePath)}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `${jsonPath(e.instancePath)}: must be ${JSON.stringify(p.allowedValue)}`;
    default:
      return `${jsonPath(e.instancePath)}: ${e.message}`;
  }
}

/**
 * ajv reports every branch of an anyOf (e.g. "object or null"); the deepest error is the one that
 * says what is actually wrong, so it is the one shown.
 */
function firstError(errors: ErrorObject[]): ErrorObject {
  const depth = (e: ErrorObject) =>
    e.instancePath.split("/").length +
    (e.keyword === "required" || e.keyword === "additionalProperties" ? 1 : 0);
  return errors.reduce((best, e) => (depth(e) > depth(best) ? e : best), errors[0]);
}

function duplicate(ids: string[]): number {
  const seen = new Set<string>();
  return ids.findIndex((id) => {
    if (seen.has(id)) return true;
    seen.add(id);
    return false;
  });
}

/** The report, typed, or a one-line UserError naming the file and the first failing path. */
export function validateReport(obj: unknown, file?: string): Report {
  const validate = validator();
  if (!validate(obj))
    throw new UserError(`invalid report: ${describe(firstError(validate.errors ?? []))}`, file);
  const report = obj as Report;
  const arm = duplicate(report.arms.map((a) => a.id));
  if (arm >= 0)
    throw new UserError(`invalid report: $.arms[${arm}].id: duplicate arm id "${report.arms[arm].id}"`, file);
  const claim = duplicate(report.claims.map((c) => c.id));
  if (claim >= 0)
    throw new UserError(
      `invalid report: $.claims[${claim}].id: duplicate claim id "${report.claims[claim].id}"`,
      file,
    );
  return report;
}
