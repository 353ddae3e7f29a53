/**
 * The model's step granularity is the checker's choice, not the kernel's, so no verdict
 * may depend on it (`Granularity` in mm/kernel.ts):
 *
 * - with the critical sections of `mm->page_table_lock` that hold one step run as one
 *   step (Lipton's reduction: `section` in explore/step.ts, `spin_locked()` in
 *   mm/spinlock.ts), every pair of the matrix is still explored exhaustively and finds
 *   exactly the violation kinds it finds step by step;
 * - on both, Optimal-DPOR abandons no execution and leaves no race unreversed, except
 *   where a FIFO wait list makes a wakeup sequence unrunnable (`FIFO_WAITERS`), which an
 *   independent stateful search cross-checks;
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
import { assertAgreesWithStateful } from "../stateful_agreement.ts";

const SECTIONS = { sections: true } as const;

/**
 * The pairs where a wakeup sequence cannot run (explore/optimal.ts): a writer queued
 * behind another in an rwsem's wait list, whose acquisition races with the first
 * writer's but cannot come before it, since the model serves waiting writers in FIFO
 * order (mm/rwsem.ts). The order of the two acquisitions is the order of the two
 * registrations, and that race is reversed; each such state ends its execution
 * (`pruned`). An independent search with no partial-order reduction (`stateful`)
 * must reach the same violation kinds there. The rwsems: `mmap_lock`, for 6.6's two
 * stack expansions; `i_mmap_rwsem`, which mremap() of a file VMA takes for writing
 * three times (`vma_link_file()`, `take_rmap_locks()`, `unlink_file_vma()`) while
 * khugepaged up to 6.4 waits for it for writing (6.6's takes it for reading).
 */
const FIFO_WAITERS = new Set([
  "per-vma-lock-v6.6 × stack-vs-stack-expansion",
  ...strategies.filter((s) => s.name !== "per-vma-lock-v6.6").map((s) =>
    `${s.name} × mremap-vs-khugepaged`
  ),
]);

Deno.test("one-step page_table_lock sections keep every verdict of the matrix; Optimal-DPOR drops no race on either", async (t) => {
  const unrunnable = new Set<string>();
  for (const strategy of strategies) {
    for (const scenario of scenarios) {
      const pair = `${strategy.name} × ${scenario.name}`;
      await t.step(pair, () => {
        const fine = check(strategy, scenario);
        const coarse = check(strategy, scenario, { granularity: SECTIONS });
        for (const { result } of [fine, coarse]) {
          assert.ok(result.exhaustive);
          if (!result.unrunnable && !result.pruned) continue;
          // No execution abandoned by its sleep set; a race left unreversed because its
          // wakeup sequence could not run only where a FIFO wait list explains it.
          assert.ok(FIFO_WAITERS.has(pair), `${pair}: ${JSON.stringify(result)}`);
          assert.equal(result.pruned, result.unrunnable);
          unrunnable.add(pair);
        }
        assert.deepEqual(
          Object.keys(coarse.result.violations).sort(),
          Object.keys(fine.result.violations).sort(),
        );
        assert.ok(coarse.result.executions <= fine.result.executions);
        if (unrunnable.has(pair)) assertAgreesWithStateful(strategy.name, scenario.name);
      });
    }
  }
  assert.deepEqual([...unrunnable].sort(), [...FIFO_WAITERS].sort());
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
