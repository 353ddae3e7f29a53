/**
 * The search modes on small programs whose counts are known: plain DFS tries every
 * interleaving, DPOR one per trace, preemption bounding and random walks say they are
 * not exhaustive, a livelock is never safe. Optimal DPOR against plain DFS on random
 * programs is in `optimal_test.ts`.
 */

import assert from "node:assert/strict";
import { explore, type Proc, type ProgramFactory, Violation } from "./mod.ts";

Deno.test("dpor explores one execution for independent threads, one per trace for conflicting ones", () => {
  const writes = (objs: (t: number) => string, n: number): ProgramFactory => () => ({
    threads: [0, 1].map((t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (let i = 0; i < n; i++) {
          yield { label: "w", accesses: [{ obj: objs(t), kind: "write" }] };
        }
      },
    })),
  });
  assert.equal(explore(writes((t) => `x${t}`, 8)).executions, 1);
  // Two threads of n conflicting writes have C(2n, n) distinct interleavings.
  assert.equal(explore(writes(() => "x", 4)).executions, 70);
  assert.equal(explore(writes(() => "x", 4), { mode: "dfs" }).executions, 70);
  assert.equal(explore(writes((t) => `x${t}`, 2), { mode: "dfs" }).executions, 6);
  // Iterative bounding: 2 schedules without preemption, then every one with at most 1
  // (2 + 2 · 3 more), ... and it is exhaustive once no schedule is cut.
  const bounded = explore(writes(() => "x", 2), { mode: "bounded", preemptionBound: 9 });
  assert.equal(bounded.exhaustive, true);
  assert.equal(bounded.preemptionBound, 2);
});

Deno.test("a livelock is inconclusive with its trace, never exhaustive", () => {
  const result = explore(() => ({
    threads: [{
      name: "CPU0",
      body: function* (): Proc {
        for (;;) yield { label: "cpu_relax", accesses: [] };
      },
    }],
  }), { maxSteps: 50 });
  assert.equal(result.inconclusive?.kind, "step-budget");
  assert.equal(result.inconclusive?.trace.steps.length, 50);
  assert.equal(result.counterexample, undefined);
  assert.equal(result.exhaustive, false);
});

Deno.test("a thread that throws is an error naming the step, not a race", () => {
  const result = explore(() => ({
    threads: [{
      name: "CPU0",
      body: function* (): Proc {
        yield { label: "buggy_step", accesses: [] };
        throw new TypeError("oops");
      },
    }],
  }));
  assert.equal(result.counterexample?.kind, "exception");
  assert.match(result.counterexample!.message, /in step buggy_step: oops/);
});

Deno.test("bounded and random searches say they are not exhaustive", () => {
  const racy: ProgramFactory = () => ({
    threads: [0, 1, 2].map((t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (let i = 0; i < 3; i++) yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
      },
    })),
    finish() {
      throw new Violation("never-ok", "always fails");
    },
  });
  const bounded = explore(racy, { mode: "bounded", preemptionBound: 0 });
  assert.equal(bounded.exhaustive, false);
  assert.equal(bounded.executions, 6);
  const random = explore(racy, { mode: "random", maxExecutions: 5, seed: 7 });
  assert.equal(random.exhaustive, false);
  assert.equal(random.executions, 5);
  assert.equal(random.violations["never-ok"], 5);
});
