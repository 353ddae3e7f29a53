/**
 * Replays a recorded schedule exactly. Once the recorded decisions run out (a schedule
 * may be cut at the violation), the execution continues as the first DFS execution
 * would: the same thread while it can run, else the lowest runnable id, first
 * alternative.
 *
 * @module
 */

import type { Decision, Execution } from "./execution.ts";
import type { Policy } from "./driver.ts";

/** A policy that follows `decisions`, then runs without preemption. */
export class ReplayPolicy implements Policy {
  readonly #decisions: readonly Decision[];
  #last = -1;

  constructor(decisions: readonly Decision[]) {
    this.#decisions = decisions;
  }

  decide(_exec: Execution, enabled: readonly number[], depth: number): Decision {
    const recorded = this.#decisions[depth];
    const decision = recorded ??
      { thread: enabled.includes(this.#last) ? this.#last : enabled[0], choice: 0 };
    this.#last = decision.thread;
    return decision;
  }
}
