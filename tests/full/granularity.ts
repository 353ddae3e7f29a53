/**
 * The model's step granularity is the checker's choice, not the kernel's, so no verdict
 * may depend on it (`Granularity` in mm/kernel.ts):
 *
 * - with the critical sections of `mm->page_table_lock` that hold one step run as one
 *   step (Lipton's reduction: `section` in explore/step.ts, `spin_locked()` in
 *   mm/spinlock.ts), every pair of the matrix is still explored exhaustively and finds
 *   exactly the violation kinds it finds step by step;
 * - on both, Optimal-DPOR abandons no execution and leaves no race unreversed;
 * - the reduction's one condition, that no CPU looks at such a lock without taking it,
 *   is checked: a `spin_trylock()` of a lock taken in one-step sections is an internal
 *   error, whichever comes first.
 *
 * @module
 */

import assert from "node:assert/strict";
import { dfs } from "../../explore/dfs.ts";
import {
  check,
  Kernel,
  mm_alloc,
  type ProgramFactory,
  scenarios,
  spin_locked,
  spin_trylock,
  spin_unlock,
  strategies,
} from "../../mod.ts";

const SECTIONS = { sections: true } as const;

Deno.test("one-step page_table_lock sections keep every verdict of the matrix; Optimal-DPOR drops no race on either", async (t) => {
  for (const strategy of strategies) {
    for (const scenario of scenarios) {
      await t.step(`${strategy.name} × ${scenario.name}`, () => {
        const fine = check(strategy, scenario);
        const coarse = check(strategy, scenario, { granularity: SECTIONS });
        for (const { result } of [fine, coarse]) {
          assert.ok(result.exhaustive);
          // No execution abandoned by its sleep set, no race left unreversed because
          // its wakeup sequence could not run (explore/optimal.ts).
          assert.equal(result.pruned, 0);
          assert.equal(result.unrunnable, 0);
        }
        assert.deepEqual(
          Object.keys(coarse.result.violations).sort(),
          Object.keys(fine.result.violations).sort(),
        );
        assert.ok(coarse.result.executions <= fine.result.executions);
      });
    }
  }
});

/** CPU0 populates under page_table_lock in one-step sections; CPU1 trylocks the lock. */
const trylockOfSectionedLock: ProgramFactory = (rt) => {
  const k = new Kernel(rt, { allocFailures: 0 }, undefined, SECTIONS);
  const mm = mm_alloc(k);
  const lock = mm.page_table_lock;
  return {
    threads: [
      {
        name: "CPU0",
        body: () => spin_locked(k, lock, "pgd_populate", "PGD[0]", [], () => undefined),
      },
      {
        name: "CPU1",
        body: function* () {
          if (yield* spin_trylock(k, lock)) yield* spin_unlock(k, lock);
        },
      },
    ],
  };
};

Deno.test("a spin_trylock() of a lock taken in one-step sections is an internal error, either way round", () => {
  const endings: string[] = [];
  const outcome = dfs(trylockOfSectionedLock, { maxSteps: 100 }, (run) => {
    const first = run.exec.events[0]?.request.label;
    endings.push(
      `${first} first: ${
        run.ending.kind === "violation" ? run.ending.violation.message : run.ending.kind
      }`,
    );
    return true;
  });
  assert.equal(outcome, "exhaustive");
  const error = "model code threw in step (pgd_populate|spin_trylock): mm->page_table_lock " +
    "is taken by spin_trylock\\(\\) and in one-step critical sections";
  assert.equal(endings.length, 2);
  assert.match(endings[0], new RegExp(`^pgd_populate first: ${error}`));
  assert.match(endings[1], new RegExp(`^spin_trylock first: ${error}`));
});
