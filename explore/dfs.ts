/**
 * Stateless depth-first search by re-execution, with dynamic partial-order reduction.
 *
 * The search keeps the path of the current execution (one node per step) and, after
 * each execution, backtracks to the deepest node with an alternative left and runs the
 * program again from the start along the new prefix. Every execution is a schedule
 * value, so any failure can be replayed.
 *
 * Reduction (`reduction: "dpor"`) is the algorithm of Flanagan and Godefroid,
 * "Dynamic partial-order reduction for model checking software" (POPL 2005), with sleep
 * sets: at every state, for every thread `p` (runnable or blocked), find the last step
 * `i` that conflicts with `p`'s pending step and does not happen before `p`; then `p`
 * must also be tried before `i` (or, if `p` could not run there, every thread that
 * could). Conflicts come from the accesses steps declare ({@link ./step.ts}); choices
 * (e.g. "this allocation fails") are always all tried. The result is exhaustive: every
 * interleaving that is not equivalent, by commuting independent steps, to one explored
 * is explored.
 *
 * One deviation from the paper, found by this module's own test against unreduced
 * search on random programs: when a race asks for thread `p` at a node where `p` is in
 * the sleep set, `p` is woken rather than skipped. Two siblings can each rely on the
 * other for a reordering (program T0: `w x`; T1: `r y; r x`; T2: `r x` lost the outcome
 * "T1 reads the write, T2 does not"), so the race must win. This costs reduction, not
 * soundness; `dfs_test.ts` checks the result against plain DFS.
 *
 * Without reduction (`reduction: "none"`) every runnable thread is tried at every
 * state, optionally limited to `preemptionBound` preemptions (as CHESS does), which is
 * not exhaustive when the bound cuts anything.
 *
 * @module
 */

import { type Access, anyConflict, conflicts } from "./step.ts";
import type { Decision, Execution, ProgramFactory } from "./execution.ts";
import { type Policy, type Run, runExecution } from "./driver.ts";

interface Pending {
  readonly accesses: readonly Access[];
  readonly choices: number;
}

interface Node {
  readonly enabled: readonly number[];
  readonly pending: ReadonlyMap<number, Pending>;
  readonly sleep: Map<number, readonly Access[]>;
  readonly backtrack: Set<number>;
  readonly done: Map<number, readonly Access[]>;
  /** Threads this node may choose under the preemption bound. */
  readonly allowed: readonly number[];
  thread: number;
  choice: number;
}

/** Options of a depth-first search. */
export interface DfsOptions {
  readonly reduction: "dpor" | "none";
  /** Only with `reduction: "none"`: at most this many preemptions per execution. */
  readonly preemptionBound?: number;
  readonly maxSteps: number;
}

/** Whether a bound cut off part of the search. */
export interface DfsState {
  /** True once some alternative was skipped because of the preemption bound. */
  bounded: boolean;
}

/**
 * Explores `factory` depth-first, calling `visit` with each finished execution; stops
 * early when `visit` returns false. Returns true if the search ran out of alternatives
 * (and no bound cut any), that is, if it was exhaustive.
 */
export function dfs(
  factory: ProgramFactory,
  options: DfsOptions,
  visit: (run: Run) => boolean,
): boolean {
  const path: Node[] = [];
  const state: DfsState = { bounded: false };
  for (;;) {
    const policy = new PathPolicy(path, options, state);
    const run = runExecution(factory, policy, options.maxSteps);
    if (!visit(run)) return false;
    if (!advance(path)) return !state.bounded;
  }
}

/** Moves the path to its next unexplored alternative; false when there is none. */
function advance(path: Node[]): boolean {
  while (path.length > 0) {
    const node = path[path.length - 1];
    const pending = node.pending.get(node.thread)!;
    if (node.choice + 1 < pending.choices) {
      node.choice++;
      return true;
    }
    node.done.set(node.thread, pending.accesses);
    const next = [...node.backtrack].filter((t) =>
      !node.done.has(t) && !node.sleep.has(t) && node.allowed.includes(t)
    ).sort((a, b) =>
      a - b
    )[0];
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
  readonly #state: DfsState;
  #last = -1;
  #preemptions = 0;
  /** Per thread: the request last checked for races, and how many events were seen. */
  readonly #checked = new Map<number, { request: unknown; seen: number }>();

  constructor(path: Node[], options: DfsOptions, state: DfsState) {
    this.#path = path;
    this.#options = options;
    this.#state = state;
  }

  observe(exec: Execution, depth: number): void {
    if (this.#options.reduction === "dpor") this.#findRaces(exec, depth);
  }

  decide(exec: Execution, enabled: readonly number[], depth: number): Decision | "prune" {
    let node = this.#path[depth];
    if (!node) {
      const created = this.#newNode(exec, enabled, depth);
      if (!created) return "prune";
      node = created;
      this.#path.push(node);
    }
    if (node.thread !== this.#last && enabled.includes(this.#last)) this.#preemptions++;
    this.#last = node.thread;
    return { thread: node.thread, choice: node.choice };
  }

  #newNode(exec: Execution, enabled: readonly number[], depth: number): Node | undefined {
    const pending = new Map<number, Pending>();
    for (const t of enabled) {
      const r = exec.pending(t)!;
      pending.set(t, { accesses: r.accesses, choices: Math.max(1, r.choices?.length ?? 1) });
    }
    const sleep = depth === 0 || this.#options.reduction === "none"
      ? new Map()
      : childSleep(this.#path[depth - 1]);
    const bound = this.#options.preemptionBound;
    const allowed = enabled.filter((t) =>
      bound === undefined || t === this.#last || !enabled.includes(this.#last) ||
      this.#preemptions < bound
    );
    if (allowed.length < enabled.length) this.#state.bounded = true;
    const awake = allowed.filter((t) => !sleep.has(t));
    if (awake.length === 0) return undefined;
    const first = awake.includes(this.#last) ? this.#last : awake[0];
    const backtrack = new Set(this.#options.reduction === "none" ? awake : [first]);
    return {
      enabled,
      pending,
      sleep,
      backtrack,
      done: new Map(),
      allowed,
      thread: first,
      choice: 0,
    };
  }

  /** Flanagan–Godefroid: add backtrack points for every pending step's last race. */
  #findRaces(exec: Execution, depth: number): void {
    for (let p = 0; p < exec.threadCount; p++) {
      const request = exec.pending(p);
      if (!request) continue;
      const seen = this.#checked.get(p);
      const from = seen && seen.request === request ? seen.seen : 0;
      this.#checked.set(p, { request, seen: depth });
      const clock = exec.clockOf(p);
      let last = -1;
      for (const access of request.accesses) {
        const events = exec.eventsOn(access.obj);
        for (let j = events.length - 1; j >= 0; j--) {
          const e = events[j];
          if (e.index < from || e.index <= last) break;
          if (e.thread === p) continue;
          if ((e.clock[e.thread] ?? 0) <= (clock[e.thread] ?? 0)) continue;
          if (e.request.accesses.some((a) => conflicts(a, access))) {
            last = e.index;
            break;
          }
        }
      }
      if (last >= 0) {
        const node = this.#path[last];
        for (const t of node.enabled.includes(p) ? [p] : node.enabled) {
          node.backtrack.add(t);
          // A race demands t here even if t sleeps: the sibling that put it to sleep
          // may itself rely on this subtree for the reordering (seen on small
          // programs), so the race wins over the sleep set.
          node.sleep.delete(t);
        }
      }
    }
  }
}

/** Sleep set of the child of `parent`: asleep or done threads independent of its step. */
function childSleep(parent: Node): Map<number, readonly Access[]> {
  const ran = parent.pending.get(parent.thread)!.accesses;
  const sleep = new Map<number, readonly Access[]>();
  for (const [t, accesses] of [...parent.sleep, ...parent.done]) {
    if (t !== parent.thread && !anyConflict(accesses, ran)) sleep.set(t, accesses);
  }
  return sleep;
}
