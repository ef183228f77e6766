// globalSetup of the sample project: without the sample, stop with one line before any test runs.
import { sampleProblem } from "./sample.ts";

export default function setup(): void {
  const problem = sampleProblem();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
