/**
 * The simulated machine of one execution: its CPUs (tasks), its objects, and the one
 * helper through which mm code takes a step.
 *
 * Every function in `mm/` that touches shared state does it inside {@linkcode step}:
 * the step is announced to the explorer with the kernel function's name and what it
 * touches, and its body runs when the scheduler picks it. Code between steps only
 * handles local variables, as kernel code between two shared accesses does. Each load
 * and store in a body goes through {@linkcode Kernel.touch} (the slab's accessors call
 * it), which checks it against what the step declared.
 *
 * @module
 */

import type { Access, Proc, Runtime, Wait } from "../explore/mod.ts";
import { Slab } from "./slab.ts";
import { Task } from "./sched.ts";

/** Bounds of a scenario that the mm core obeys. Named, never magic numbers inside mm. */
export interface Bounds {
  /**
   * How many GFP_NOWAIT allocations of each CPU may fail in one execution (each failure
   * is explored).
   */
  readonly allocFailures: number;
}

/** One execution's machine. */
export class Kernel {
  readonly rt: Runtime;
  readonly slab: Slab;
  readonly bounds: Bounds;
  readonly #tasks = new Map<number, Task>();
  /** Kernel function of the running step, for histories. */
  #label = "setup";

  constructor(rt: Runtime, bounds: Bounds) {
    this.rt = rt;
    this.bounds = bounds;
    this.slab = new Slab({
      where: () => this.where(),
      creator: () => rt.current < 0 ? undefined : { id: rt.current, name: this.current.name },
      touch: (obj, part, kind) => this.touch(obj, part, kind),
    });
  }

  /** The task running now (a CPU or an RCU callback). */
  get current(): Task {
    const id = this.rt.current;
    let task = this.#tasks.get(id);
    if (!task) {
      const name = id < 0 ? "setup" : this.rt.threadName(id);
      this.#tasks.set(id, task = new Task(id, name, this.bounds.allocFailures));
    }
    return task;
  }

  /** Every task that has run. */
  get tasks(): readonly Task[] {
    return [...this.#tasks.values()];
  }

  /** "CPU0 in pmd_alloc (step 7)", for messages and histories. */
  where(): string {
    if (this.rt.current < 0) return "setup";
    return `${this.current.name} in ${this.#label} (step ${this.rt.stepNumber})`;
  }

  /**
   * A load or store of shared state that is not a slab object (RCU's reader state):
   * `part` of `obj`, as the running step must have declared it. Outside a step it
   * checks nothing.
   */
  touch(obj: string, part: string | undefined, kind: "read" | "write"): void {
    this.rt.touch(obj, part, kind);
  }

  /** Names the running step; used by {@linkcode step}. */
  enter(label: string): void {
    this.#label = label;
  }
}

/** Options of a step that may block. */
export interface Blocking {
  readonly enabled: () => boolean;
  readonly waitingFor: () => Wait;
}

/**
 * Takes one step: announces `label`, `detail` and `accesses` to the explorer, then runs
 * `body` atomically when scheduled and returns its value.
 */
export function* step<T>(
  k: Kernel,
  label: string,
  detail: string | undefined,
  accesses: readonly Access[],
  body: () => T,
  blocking?: Blocking,
): Proc<T> {
  yield { label, ...(detail !== undefined ? { detail } : {}), accesses, ...blocking };
  k.enter(label);
  return body();
}

/**
 * A step that tries every alternative in `choices` (e.g. an allocation that succeeds or
 * fails) and returns the index taken. It touches nothing shared.
 */
export function* choose(
  k: Kernel,
  label: string,
  detail: string,
  choices: readonly string[],
): Proc<number> {
  const choice = yield { label, detail, accesses: [], choices };
  k.enter(label);
  return choice;
}
