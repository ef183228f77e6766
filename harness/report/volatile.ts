/**
 * Two runs of the same plan differ only in when and where they ran. stripVolatile drops exactly
 * those fields so results can be compared with toEqual (e.g. sharded plan→run→merge vs one process).
 */
import type { Report } from "./types.ts";

/** Fields that stripVolatile removes, as documentation for readers of the schema. */
export const VOLATILE_FIELDS = [
  "created_at",
  "provenance.host",
  "timings",
  "arms[].seeds[].train.seconds",
  "arms[].seeds[].eval_seconds",
] as const;

type StrippedSeed = Omit<Report["arms"][number]["seeds"][number], "eval_seconds" | "train"> & {
  train: { steps: number; final_loss: number } | null;
};
type StrippedArm = Omit<Report["arms"][number], "seeds"> & { seeds: StrippedSeed[] };

export type StrippedReport = Omit<Report, "created_at" | "timings" | "provenance" | "arms"> & {
  provenance: Omit<Report["provenance"], "host">;
  arms: StrippedArm[];
};

/** A deep copy of the report without timing and host fields; the input is not modified. */
export function stripVolatile(report: Report): StrippedReport {
  const { created_at: _c, timings: _t, provenance, arms, ...rest } = structuredClone(report);
  const { host: _h, ...prov } = provenance;
  return {
    ...rest,
    provenance: prov,
    arms: arms.map((arm) => ({
      ...arm,
      seeds: arm.seeds.map(({ eval_seconds: _e, train, ...seed }) => ({
        ...seed,
        train: train ? { steps: train.steps, final_loss: train.final_loss } : null,
      })),
    })),
  };
}
