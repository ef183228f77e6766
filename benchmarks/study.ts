/** `claim` and `probe` typed with the arm ids of bench.config.ts: a mistyped id fails `tsc`. */
import type config from "../bench.config.ts";
import { claimsFor } from "../harness/study/claims.ts";
import type { ArmIdOf } from "../harness/study/config.ts";

export const { claim, probe } = claimsFor<ArmIdOf<typeof config>>();
