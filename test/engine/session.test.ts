import os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { Graph } from "../../harness/engine/graph.ts";
import { resolveThreads, Session, THREADS_ENV } from "../../harness/engine/session.ts";
import { UserError } from "../../harness/errors.ts";

const saved = process.env[THREADS_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[THREADS_ENV];
  else process.env[THREADS_ENV] = saved;
});

describe("intra-op threads", () => {
  it("an explicit count wins over the environment, which wins over every core", () => {
    delete process.env[THREADS_ENV];
    expect(resolveThreads()).toBe(os.availableParallelism());
    expect(resolveThreads(0)).toBe(os.availableParallelism());
    process.env[THREADS_ENV] = "3";
    expect(resolveThreads()).toBe(3);
    expect(resolveThreads(5)).toBe(5);
  });

  it("a malformed environment value is a one-line user error naming the variable", () => {
    for (const bad of ["0", "two", "-1", "1.5"]) {
      process.env[THREADS_ENV] = bad;
      expect(() => resolveThreads()).toThrow(UserError);
      expect(() => resolveThreads()).toThrow(new RegExp(`^${THREADS_ENV}: "${bad.replace(".", "\\.")}"`));
    }
  });

  it("a session reports the thread count it runs with", async () => {
    const g = new Graph("float32");
    g.output(g.mul(g.input("x", [2]), g.scalar(2)), "y");
    process.env[THREADS_ENV] = "2";
    const s = await Session.create(g.toBytes());
    expect(s.threads).toBe(2);
    const y = await s.run({ x: { data: new Float32Array([1, 3]), dims: [2] } });
    expect([...(y.y.data as Float32Array)]).toEqual([2, 6]);
    await s.release();
    const one = await Session.create(g.toBytes(), { threads: 1 });
    expect(one.threads).toBe(1);
    await one.release();
  });
});
