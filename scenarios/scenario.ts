/**
 * A scenario is a small named workload, litmus-style: an address space laid out
 * before the CPUs start, what each CPU then does, and the bounds of the search. Run
 * under a strategy it becomes a program for the explorer; the end-of-execution audit
 * (`check_mm()`) is the same for every pair, so no strategy gets its own assertions.
 *
 * @module
 */

import type { ProgramFactory } from "../explore/mod.ts";
import { type Bounds, check_mm, Kernel, mm_alloc, setupFault, setupVma } from "../mm/mod.ts";
import type { Strategy } from "../strategies/strategy.ts";

/** What one CPU does, in order. */
export type Op =
  | { readonly op: "fault"; readonly addr: number }
  | { readonly op: "munmap"; readonly start: number; readonly end: number }
  | { readonly op: "mmap"; readonly start: number; readonly end: number };

/** A named workload. */
export interface Scenario {
  /** Named after the race it asks about, e.g. `"fault-vs-munmap"`. */
  readonly name: string;
  /** The one-line question it asks. */
  readonly question: string;
  /** VMAs mapped before the CPUs start, as [start, end). */
  readonly vmas: readonly (readonly [number, number])[];
  /** Addresses faulted in before the CPUs start. */
  readonly prefault: readonly number[];
  /** One list of operations per CPU. */
  readonly cpus: readonly (readonly Op[])[];
  readonly bounds: Bounds;
  /** Why the layout is what it is. */
  readonly layout: string;
}

/** The program that runs `scenario` with `strategy`'s locking. */
export function program(strategy: Strategy, scenario: Scenario): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, scenario.bounds);
    const mm = mm_alloc(k);
    for (const [start, end] of scenario.vmas) setupVma(k, mm, start, end);
    for (const addr of scenario.prefault) setupFault(k, mm, addr);
    return {
      threads: scenario.cpus.map((ops, cpu) => ({
        name: `CPU${cpu}`,
        body: function* () {
          for (const op of ops) {
            if (op.op === "fault") yield* strategy.fault(k, mm, op.addr);
            else if (op.op === "munmap") yield* strategy.munmap(k, mm, op.start, op.end);
            else yield* strategy.mmap(k, mm, op.start, op.end);
          }
        },
      })),
      finish: () => check_mm(k, mm),
    };
  };
}
