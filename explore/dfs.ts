/**
 * Plain depth-first search by re-execution: every runnable thread, and every
 * alternative of a step, is tried at every state. No reduction, so it is the reference
 * the reduced search ({@link ./optimal.ts}) is tested against; with `preemptionBound` it
 * is the preemption-bounded search of CHESS (Musuvathi and Qadeer, PLDI 2007), which is
 * not exhaustive when the bound cuts anything.
 *
 * The search keeps the path of the current execution (one node per step) and, after
 * each execution, backtracks to the deepest node with an alternative left and runs the
 * program again from the start along the new prefix. Every execution is a schedule
 * value, so any failure can be replayed.
 *
 * @module
 */

import type { Decision, Execution, ProgramFactory } from "./execution.ts";
import { type Policy, type Run, runExecution } from "./driver.ts";

interface Node {
  /** Threads still to try here, under the preemption bound, lowest id first. */
  readonly todo: number[];
  /** Alternatives of each thread's pending step. */
  readonly choices: ReadonlyMap<number, number>;
  thread: number;
  choice: number;
}

/** Options of a depth-first search. */
export interface DfsOptions {
  /** At most this many preemptions per execution. */
  readonly preemptionBound?: number;
  readonly maxSteps: number;
}

/**
 * Explores `factory` depth-first, calling `visit` with each finished execution; stops
 * early when `visit` returns false. Returns `"exhaustive"` if the search ran out of
 * alternatives and no bound cut any, `"bounded"` if it ran out but the preemption bound
 * cut some, `"stopped"` if `visit` stopped it.
 */
export function dfs(
  factory: ProgramFactory,
  options: DfsOptions,
  visit: (run: Run) => boolean,
): "exhaustive" | "bounded" | "stopped" {
  const path: Node[] = [];
  const cut = { any: false };
  for (;;) {
    const run = runExecution(factory, new PathPolicy(path, options, cut), options.maxSteps);
    if (!visit(run)) return "stopped";
    if (!advance(path)) return cut.any ? "bounded" : "exhaustive";
  }
}

/** Moves the path to its next unexplored alternative; false when there is none. */
function advance(path: Node[]): boolean {
  while (path.length > 0) {
    const node = path[path.length - 1];
    if (node.choice + 1 < node.choices.get(node.thread)!) {
      node.choice++;
      return true;
    }
    const next = node.todo.shift();
    if (next !== undefined) {
      node.thread = next;
      node.choice = 0;
      return true;
    }
    path.pop();
  }
  return false;
}

class PathPolicy implements Policy {
  readonly #path: Node[];
  readonly #options: DfsOptions;
  readonly #cut: { any: boolean };
  #last = -1;
  #preemptions = 0;

  constructor(path: Node[], options: DfsOptions, cut: { any: boolean }) {
    this.#path = path;
    this.#options = options;
    this.#cut = cut;
  }

  decide(exec: Execution, enabled: readonly number[], depth: number): Decision {
    let node = this.#path[depth];
    if (!node) {
      const bound = this.#options.preemptionBound;
      const free = !enabled.includes(this.#last);
      const allowed = enabled.filter((t) =>
        bound === undefined || free || t === this.#last || this.#preemptions < bound
      );
      if (allowed.length < enabled.length) this.#cut.any = true;
      // The running thread first, so the first execution has no preemption.
      const first = allowed.includes(this.#last) ? this.#last : allowed[0];
      node = {
        todo: allowed.filter((t) => t !== first),
        choices: new Map(allowed.map((t) => [t, exec.pending(t)?.choices?.length || 1])),
        thread: first,
        choice: 0,
      };
      this.#path.push(node);
    }
    if (node.thread !== this.#last && enabled.includes(this.#last)) this.#preemptions++;
    this.#last = node.thread;
    return { thread: node.thread, choice: node.choice };
  }
}
