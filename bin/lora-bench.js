#!/usr/bin/env node
// Thin launcher: runs the TypeScript CLI through tsx so no build step is needed after `npm ci`.
import { register } from "tsx/esm/api";

register();
await import("../harness/cli/main.ts");
