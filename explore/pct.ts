/**
 * PCT, probabilistic concurrency testing: Burckhardt, Kothari, Musuvathi and
 * Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs"
 * (ASPLOS 2010). Every thread gets a random priority above `d`; `d − 1` change points
 * are drawn among the first `k` steps; the highest-priority runnable thread always
 * runs, and at the i-th change point the running thread drops to priority `i`. A bug
 * of depth `d` (one that needs `d` ordering constraints) is then found by one run with
 * probability at least `1 / (n · k^(d−1))` for `n` threads and `k` steps.
 *
 * The guarantee needs `n` and `k`; the search does not know them in advance, so they
 * are estimated from the runs so far (the most threads and steps seen), and the bound
 * printed is computed from the final estimates. Threads spawned during a run (RCU
 * callbacks) get their priority when they first appear. Alternatives of a step are
 * picked at random, which the paper's bound does not cover: the bound is stated for
 * the schedule only.
 *
 * @module
 */

import type { Decision, Execution } from "./execution.ts";
import type { Policy, Run } from "./driver.ts";

/** What PCT promises for a search. */
export interface PctGuarantee {
  /** Bug depth d. */
  readonly depth: number;
  /** Threads and steps estimated (n, k). */
  readonly threads: number;
  readonly steps: number;
  /** Lower bound on the probability that one run finds a given bug of depth d. */
  readonly perRun: number;
  /** The same for all the runs made: `1 − (1 − perRun)^runs`. */
  readonly overall: number;
}

/** The largest thread count and execution length seen so far. */
export class PctEstimate {
  threads = 2;
  steps = 16;

  saw(run: Run): void {
    this.threads = Math.max(this.threads, run.exec.threadCount);
    this.steps = Math.max(this.steps, run.exec.events.length);
  }
}

/**
 * The bound of Burckhardt et al. for `runs` runs with the estimates in `estimate`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PctEstimate, pctGuarantee } from "./pct.ts";
 * const estimate = new PctEstimate();
 * estimate.threads = 2;
 * estimate.steps = 10;
 * assert.equal(pctGuarantee(2, estimate, 1).perRun, 1 / 20);
 * ```
 */
export function pctGuarantee(depth: number, estimate: PctEstimate, runs: number): PctGuarantee {
  const perRun = 1 / (estimate.threads * estimate.steps ** (depth - 1));
  return {
    depth,
    threads: estimate.threads,
    steps: estimate.steps,
    perRun,
    overall: 1 - (1 - perRun) ** runs,
  };
}

/** One PCT run's scheduler. */
export class PctPolicy implements Policy {
  readonly #next: () => number;
  readonly #depth: number;
  readonly #priority = new Map<number, number>();
  /** Step index → the priority the running thread drops to there. */
  readonly #changes = new Map<number, number>();

  constructor(next: () => number, depth: number, steps: number) {
    this.#next = next;
    this.#depth = depth;
    for (let i = 1; i < depth; i++) this.#changes.set(Math.floor(next() * steps), i);
  }

  decide(exec: Execution, enabled: readonly number[], depth: number): Decision {
    let best = enabled[0];
    for (const t of enabled) {
      if (this.#priorityOf(t) > this.#priorityOf(best)) best = t;
    }
    const drop = this.#changes.get(depth);
    if (drop !== undefined) this.#priority.set(best, drop);
    const choices = exec.pending(best)?.choices?.length ?? 1;
    return { thread: best, choice: Math.floor(this.#next() * Math.max(1, choices)) };
  }

  #priorityOf(t: number): number {
    let p = this.#priority.get(t);
    // Above every change-point priority (1 … d − 1); distinct with probability 1.
    if (p === undefined) this.#priority.set(t, p = this.#depth + this.#next());
    return p;
  }
}
