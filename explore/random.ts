/**
 * Random walks: each execution picks uniformly among the runnable threads and among a
 * step's alternatives, from a seeded generator, so a run is a function of the seed.
 * Finds races fast in big spaces; never claims exhaustiveness.
 *
 * @module
 */

import type { Decision, Execution } from "./execution.ts";
import type { Policy } from "./driver.ts";

/** Small seeded generator (mulberry32); the same seed gives the same walk. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A policy that decides at random from `next`. */
export class RandomPolicy implements Policy {
  readonly #next: () => number;

  constructor(next: () => number) {
    this.#next = next;
  }

  decide(exec: Execution, enabled: readonly number[]): Decision {
    const thread = enabled[Math.floor(this.#next() * enabled.length)];
    const choices = exec.pending(thread)?.choices?.length ?? 1;
    return { thread, choice: Math.floor(this.#next() * Math.max(1, choices)) };
  }
}
