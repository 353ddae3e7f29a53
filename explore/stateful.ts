/**
 * Stateful search: depth-first by re-execution, with a table of the states already
 * explored, so that schedules that end up in one state are continued once.
 *
 * Optimal-DPOR ({@link ./optimal.ts}) explores each Mazurkiewicz trace once, and that
 * is still too many when many traces lead to the same state: N faults that each
 * allocate the same four page tables order their critical sections on
 * `page_table_lock` in every possible way, and the losers of each race leave no trace
 * of having lost second or third. Here a state is keyed by the values of what the steps
 * stored and by what each thread observed ({@link ./state.ts}), which merges those
 * orders, and sleep sets (Godefroid, "Partial-Order Methods for the Verification of
 * Concurrent Systems", LNCS 1032, 1996, ch. 5) prune the schedules that only swap two
 * independent steps. Sleep sets and a state table together need one rule to stay
 * sound, Godefroid's: a state is stored with the sleep set it was first explored under,
 * and when it is reached again under a sleep set that lacks some of those, the
 * transitions that slept then and are awake now are explored from it, and the stored
 * set shrinks to the intersection.
 *
 * Every reachable state is visited, and from each every enabled step except one that
 * a sleep set shows to be covered; so every violation a step can raise, every deadlock
 * and every end state the exhaustive search would reach are reached. What it gives up:
 * traces are not enumerated (the counts are states and executions, not traces), and
 * the visited table holds a 128-bit hash per state ({@link ./hash.ts}).
 *
 * The search is only as exact as the program's description of its state: every change
 * of state through {@linkcode Runtime.touch}, every touched part's value from
 * {@linkcode Program.stateOf}. stateful_test.ts compares it with plain DFS on random
 * programs; the benchmark (bench/dpor.ts) with Optimal-DPOR on every pair of the
 * matrix.
 *
 * Two things let the orders of a populate race meet in one state: a freed object leaves
 * the state (nothing can use it without a use-after-free, and what still points at it
 * says so in its own value), and the model summarizes a walk's locals between levels
 * ({@linkcode Runtime.summarize}), so the loser that allocated and freed a table is
 * where the fault that found it populated is. Measured (README, "Benchmarks"): N = 2
 * faults racing munmap() went from 256,203 states to 20,055. What still multiplies the
 * states is the product of the threads' positions, which sleep sets do not reduce (a
 * persistent-set reduction, Spin's, would, but it needs to know which objects a thread
 * may touch later, and a generator does not say), and which CPU's table won each
 * level, a renaming that a canonical naming of the heap would merge and this one does
 * not. Joining the table with Optimal-DPOR needs the races between the steps below a
 * state met again and the steps before it (Yang et al., "Efficient Stateful Dynamic
 * Partial Order Reduction", SPIN 2008), which is not built.
 *
 * @module
 */

import type { Decision, Execution, ProgramFactory } from "./execution.ts";
import { type Policy, type Run, runExecution } from "./driver.ts";
import { type Access, anyConflict } from "./step.ts";

/** One step from a state: a thread, and the alternative its step takes. */
interface Transition {
  readonly thread: number;
  readonly choice: number;
  /** The thread's stable key and the choice: the same transition in every execution. */
  readonly id: string;
  readonly accesses: readonly Access[];
}

/** A state on the current path. */
interface Frame {
  /** Transitions covered elsewhere, not to be taken from here. */
  readonly sleep: readonly Transition[];
  /** Still to take from here, in order. */
  readonly todo: Transition[];
  /** Taken from here already. */
  readonly done: Transition[];
  current: Transition;
}

/** Options of {@linkcode stateful}. */
export interface StatefulOptions {
  readonly maxSteps: number;
}

/** What the search stored. */
export interface StatefulStats {
  /** Distinct states visited. */
  states: number;
}

/**
 * Explores `factory` depth-first with a visited-state table and sleep sets, calling
 * `visit` with each execution (one that reaches an explored state ends `pruned`);
 * stops early when `visit` returns false. `"exhaustive"` when every state was
 * explored.
 *
 * @example Two threads that each take a lock, set their own flag, drop the lock and
 * then read the other's flag: the two orders of the critical sections meet in one
 * state before the reads, so the second order stops there.
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Proc, Runtime } from "./mod.ts";
 * import { stateful } from "./stateful.ts";
 *
 * const factory = (rt: Runtime) => {
 *   const flags = [false, false];
 *   let holder: number | undefined;
 *   const cpu = (me: number) =>
 *     function* (): Proc {
 *       yield {
 *         label: "spin_lock",
 *         accesses: [{ obj: "lock", kind: "acquire" }],
 *         enabled: () => holder === undefined,
 *       };
 *       rt.touch("lock", undefined, "write");
 *       holder = me;
 *       yield { label: "set", accesses: [{ obj: "flags", part: `${me}`, kind: "write" }] };
 *       rt.touch("flags", `${me}`, "write");
 *       flags[me] = true;
 *       yield { label: "spin_unlock", accesses: [{ obj: "lock", kind: "release" }] };
 *       rt.touch("lock", undefined, "write");
 *       holder = undefined;
 *       yield { label: "read", accesses: [{ obj: "flags", part: `${1 - me}`, kind: "read" }] };
 *       rt.touch("flags", `${1 - me}`, "read");
 *     };
 *   return {
 *     threads: [{ name: "CPU0", body: cpu(0) }, { name: "CPU1", body: cpu(1) }],
 *     stateOf: (obj: string, part: string | undefined) =>
 *       obj === "lock" ? `${holder}` : `${flags[Number(part)]}`,
 *   };
 * };
 * const runs: string[] = [];
 * const outcome = stateful(factory, { maxSteps: 100 }, (run) => {
 *   runs.push(`${run.ending.kind} ${run.decisions.map((d) => d.thread).join("")}`);
 *   return true;
 * });
 * assert.equal(outcome, "exhaustive");
 * // CPU1's critical section, then CPU0's: the state CPU0's, then CPU1's reached.
 * assert.ok(runs.includes("pruned 111000"));
 * assert.ok(runs.includes("done 00011110"));
 * ```
 */
export function stateful(
  factory: ProgramFactory,
  options: StatefulOptions,
  visit: (run: Run) => boolean,
  stats: StatefulStats = { states: 0 },
): "exhaustive" | "stopped" {
  const path: Frame[] = [];
  const visited = new Map<string, Set<string>>();
  for (;;) {
    const policy = new StatePolicy(path, visited);
    const run = runExecution(factory, policy, options.maxSteps, true);
    stats.states = visited.size;
    if (!visit(run)) return "stopped";
    if (!advance(path)) return "exhaustive";
  }
}

/** Moves the path to its next transition; false when every frame is done. */
function advance(path: Frame[]): boolean {
  while (path.length > 0) {
    const frame = path[path.length - 1];
    frame.done.push(frame.current);
    const next = frame.todo.shift();
    if (next) {
      frame.current = next;
      return true;
    }
    path.pop();
  }
  return false;
}

class StatePolicy implements Policy {
  readonly #path: Frame[];
  /** State key → the transitions not yet explored from it (its sleep set). */
  readonly #visited: Map<string, Set<string>>;
  #last = -1;

  constructor(path: Frame[], visited: Map<string, Set<string>>) {
    this.#path = path;
    this.#visited = visited;
  }

  decide(exec: Execution, enabled: readonly number[], depth: number): Decision | "prune" {
    const frame = this.#path[depth] ?? this.#enter(exec, enabled, depth);
    if (!frame) return "prune";
    this.#last = frame.current.thread;
    return { thread: frame.current.thread, choice: frame.current.choice };
  }

  /** A state reached for the first time on this path: what to take from it, if anything. */
  #enter(exec: Execution, enabled: readonly number[], depth: number): Frame | undefined {
    const parent = this.#path[depth - 1];
    // What slept at the parent, or was taken from it before the step just taken, sleeps
    // here if that step is independent of it: running it here reaches a state reached
    // from the parent already.
    let sleep = parent
      ? [...parent.sleep, ...parent.done].filter((u) =>
        u.thread !== parent.current.thread && enabled.includes(u.thread) &&
        !anyConflict(u.accesses, parent.current.accesses)
      )
      : [];
    const asleep = new Set(sleep.map((u) => u.id));
    const key = exec.stateKey();
    const stored = this.#visited.get(key);
    const all = transitions(exec, enabled, this.#last);
    let todo: Transition[];
    if (!stored) {
      this.#visited.set(key, asleep);
      todo = all.filter((t) => !asleep.has(t.id));
    } else {
      // Explored before, except what slept then: take what slept then and is awake now.
      // Godefroid's rule also takes the intersection as the sleep set the children
      // inherit from: what slept here only now was taken from here before.
      todo = all.filter((t) => stored.has(t.id) && !asleep.has(t.id));
      for (const id of stored) if (!asleep.has(id)) stored.delete(id);
      sleep = sleep.filter((u) => stored.has(u.id));
    }
    const current = todo.shift();
    if (!current) return undefined;
    const frame: Frame = { sleep, todo, done: [], current };
    this.#path.push(frame);
    return frame;
  }
}

/** Every transition from the current state: the last thread's first, then by id. */
function transitions(exec: Execution, enabled: readonly number[], last: number): Transition[] {
  const order = enabled.includes(last) ? [last, ...enabled.filter((t) => t !== last)] : enabled;
  return order.flatMap((thread) => {
    const request = exec.pending(thread)!;
    const key = exec.key(thread);
    return Array.from({ length: request.choices?.length || 1 }, (_, choice) => ({
      thread,
      choice,
      id: `${key}#${choice}`,
      accesses: request.accesses,
    }));
  });
}
