/**
 * The public face of the explorer: run a program under every schedule that matters
 * (or a bounded or random sample of them) and say what was found and how far the
 * search got. "Safe" is only ever derived from an exhaustive search.
 *
 * @module
 */

import type { ProgramFactory } from "./execution.ts";
import { type Run, runExecution } from "./driver.ts";
import { dfs } from "./dfs.ts";
import { type DporStats, optimalDpor } from "./optimal.ts";
import { PctEstimate, type PctGuarantee, pctGuarantee, PctPolicy } from "./pct.ts";
import { mulberry32, RandomPolicy } from "./random.ts";
import { ReplayPolicy } from "./replay.ts";
import { stateful, type StatefulStats } from "./stateful.ts";
import { decodeSchedule, encodeSchedule } from "./schedule.ts";
import { type Trace, traceOf } from "./trace.ts";

/**
 * How to search: `exhaustive` (Optimal-DPOR, every trace once), `stateful` (every
 * reachable state once: a visited-state table and sleep sets, for programs that
 * describe their state with {@linkcode Program.stateOf}), `dfs` (every interleaving,
 * no reduction: the reference), `bounded` (iterative preemption bounding), `pct`
 * (probabilistic concurrency testing) or `random`. Only `exhaustive`, `stateful` and
 * `dfs` can end exhaustive; `bounded` can when no schedule needs more preemptions than
 * it allowed.
 */
export type Mode = "exhaustive" | "stateful" | "dfs" | "bounded" | "pct" | "random";

/** The search modes, in the order a user would try them. */
export const MODES: readonly Mode[] = [
  "exhaustive",
  "stateful",
  "dfs",
  "bounded",
  "pct",
  "random",
];

/** Options of {@linkcode explore}. */
export interface ExploreOptions {
  /** See {@linkcode Mode}. Default `exhaustive`. */
  readonly mode?: Mode;
  /** Stop after this many executions; the result then says it is not exhaustive. */
  readonly maxExecutions?: number;
  /** Steps one execution may take before it counts as a livelock. Default 5000. */
  readonly maxSteps?: number;
  /**
   * For `bounded`: the largest preemption bound tried (0, 1, ... up to it). Default 2.
   */
  readonly preemptionBound?: number;
  /** For `pct`: the bug depth d (d − 1 priority change points). Default 2. */
  readonly depth?: number;
  /** For `random` and `pct`: the seed. Default 1. */
  readonly seed?: number;
  /** Stop at the first violation instead of looking for the clearest one. */
  readonly stopAtFirst?: boolean;
  /**
   * Called every `progressEvery` executions and once at the end; returning `false`
   * stops the search there (a caller's time budget: the explorer itself reads no clock).
   */
  readonly onProgress?: (progress: Progress) => void | boolean;
  readonly progressEvery?: number;
}

/** Where a search is. */
export interface Progress {
  readonly executions: number;
  readonly pruned: number;
  readonly violations: number;
  readonly maxDepth: number;
}

/** A schedule that ends badly, with the trace that shows it. */
export interface Counterexample {
  readonly kind: string;
  readonly message: string;
  /** The schedule, as {@linkcode encodeSchedule} writes it. */
  readonly schedule: string;
  readonly preemptions: number;
  readonly trace: Trace;
}

/** What a search found. */
export interface ExploreResult {
  readonly mode: Mode;
  /** Executions run to an end (normal, violation, or step budget). */
  readonly executions: number;
  /**
   * Executions abandoned because every runnable thread was asleep (sleep-set
   * blocked; Optimal-DPOR aims at none), or, in `stateful`, because they reached a
   * state explored already.
   */
  readonly pruned: number;
  /** True when every non-equivalent schedule was explored and none hit the step budget. */
  readonly exhaustive: boolean;
  /** Executions that ended in a violation, by kind. */
  readonly violations: Readonly<Record<string, number>>;
  /** The clearest violation: fewest preemptions, then fewest steps. */
  readonly counterexample?: Counterexample;
  /** An execution that hit the step budget (a livelock, or a too-small budget). */
  readonly inconclusive?: Counterexample;
  /** Longest execution, in steps. */
  readonly maxDepth: number;
  /** For `bounded`: the largest preemption bound fully explored. */
  readonly preemptionBound?: number;
  /** For `pct`: the guarantee of Burckhardt et al. for what was run. */
  readonly pct?: PctGuarantee;
  /** For `stateful`: the distinct states visited. */
  readonly states?: number;
  /**
   * For `exhaustive`: wakeup sequences whose next step was blocked when reached, so the
   * race they reverse was not (`DporStats.unrunnable`). 0 on every program the tests
   * run but where a lock's FIFO wait list fixes the order of two acquisitions
   * (tests/full/granularity.ts): elsewhere, more would say the declared accesses let
   * the reduction reorder what the lock discipline does not.
   */
  readonly unrunnable?: number;
}

function counterexampleOf(run: Run): Counterexample | undefined {
  const { ending, exec } = run;
  const schedule = encodeSchedule(run.decisions);
  if (ending.kind === "violation") {
    return {
      kind: ending.violation.kind,
      message: ending.violation.message,
      schedule,
      preemptions: run.preemptions,
      trace: traceOf(exec, ending),
    };
  }
  if (ending.kind === "step-budget") {
    return {
      kind: "step-budget",
      message: `no end after ${ending.limit} steps: a livelock, or raise the step budget`,
      schedule,
      preemptions: run.preemptions,
      trace: traceOf(exec),
    };
  }
  return undefined;
}

/** Whether `run` would make a clearer counterexample than `b`, without building its trace. */
function clearer(run: Run, b: Counterexample | undefined): boolean {
  if (!b) return true;
  if (run.preemptions !== b.preemptions) return run.preemptions < b.preemptions;
  return run.exec.events.length < b.trace.steps.length;
}

type Listener = (result: ExploreResult) => void;
const listeners = new Set<Listener>();

/**
 * Calls `listener` with the result of every {@linkcode explore} from now on, until
 * the returned function is called. The doc runner uses it to judge a block's declared
 * expectation against what the block explored.
 */
export function onExplore(listener: Listener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/**
 * Explores every schedule of `factory` that matters.
 *
 * @example Two threads increment a counter without a lock: an update is lost.
 * ```ts
 * import assert from "node:assert/strict";
 * import { explore, type Proc, Violation } from "./mod.ts";
 *
 * const result = explore(() => {
 *   let counter = 0;
 *   function* increment(): Proc {
 *     let seen = 0;
 *     yield { label: "load", accesses: [{ obj: "counter", kind: "read" }] };
 *     seen = counter;
 *     yield { label: "store", accesses: [{ obj: "counter", kind: "write" }] };
 *     counter = seen + 1;
 *   }
 *   return {
 *     threads: [{ name: "CPU0", body: increment }, { name: "CPU1", body: increment }],
 *     finish() {
 *       if (counter !== 2) throw new Violation("lost-update", `counter is ${counter}`);
 *     },
 *   };
 * });
 * assert.equal(result.exhaustive, true);
 * assert.equal(result.counterexample?.kind, "lost-update");
 * ```
 */
export function explore(factory: ProgramFactory, options: ExploreOptions = {}): ExploreResult {
  const mode = options.mode ?? "exhaustive";
  const maxSteps = options.maxSteps ?? 5000;
  const every = options.progressEvery ?? 1000;
  let executions = 0;
  let pruned = 0;
  let maxDepth = 0;
  const violations: Record<string, number> = {};
  let counterexample: Counterexample | undefined;
  let inconclusive: Counterexample | undefined;
  let stopped = false;
  const progress = () =>
    options.onProgress?.({
      executions,
      pruned,
      violations: Object.values(violations).reduce((a, b) => a + b, 0),
      maxDepth,
    });

  const visit = (run: Run): boolean => {
    maxDepth = Math.max(maxDepth, run.exec.events.length);
    if (run.ending.kind === "pruned") pruned++;
    else executions++;
    // Traces are built only for the runs kept: most violating runs are not.
    if (run.ending.kind === "step-budget") {
      if (clearer(run, inconclusive)) inconclusive = counterexampleOf(run);
    } else if (run.ending.kind === "violation") {
      const kind = run.ending.violation.kind;
      violations[kind] = (violations[kind] ?? 0) + 1;
      if (clearer(run, counterexample)) counterexample = counterexampleOf(run);
      if (options.stopAtFirst || kind === "exception") stopped = true;
    }
    if ((executions + pruned) % every === 0 && progress() === false) stopped = true;
    if (options.maxExecutions !== undefined && executions >= options.maxExecutions) stopped = true;
    return !stopped;
  };

  let complete = false;
  let bound: number | undefined;
  let pct: PctGuarantee | undefined;
  const stats: StatefulStats = { states: 0 };
  const dpor: DporStats = { blocked: 0, unrunnable: 0, races: 0 };
  const seed = options.seed ?? 1;
  if (mode === "random" || mode === "pct") {
    const next = mulberry32(seed);
    const budget = options.maxExecutions ?? 1000;
    const depth = options.depth ?? 2;
    const estimate = new PctEstimate();
    while (!stopped && executions < budget) {
      const policy = mode === "pct"
        ? new PctPolicy(next, depth, estimate.steps)
        : new RandomPolicy(next);
      const run = runExecution(factory, policy, maxSteps);
      estimate.saw(run);
      visit(run);
    }
    if (mode === "pct") pct = pctGuarantee(depth, estimate, executions);
  } else if (mode === "bounded") {
    // Iterative preemption bounding: every schedule with 0 preemptions, then 1, ...;
    // the first counterexample found has the fewest preemptions any has.
    const max = options.preemptionBound ?? 2;
    for (let b = 0; b <= max && !stopped && !counterexample; b++) {
      const outcome = dfs(factory, { preemptionBound: b, maxSteps }, visit);
      if (outcome === "stopped") break;
      bound = b;
      if (outcome === "exhaustive") {
        complete = true;
        break;
      }
    }
  } else if (mode === "dfs") {
    complete = dfs(factory, { maxSteps }, visit) === "exhaustive";
  } else if (mode === "stateful") {
    complete = stateful(factory, { maxSteps }, visit, stats) === "exhaustive";
  } else {
    complete = optimalDpor(factory, { maxSteps }, visit, dpor);
  }
  progress();
  const result: ExploreResult = {
    mode,
    executions,
    pruned,
    // A livelock's schedules were cut at the step budget: never exhaustive.
    exhaustive: complete && !inconclusive,
    violations,
    ...(counterexample ? { counterexample } : {}),
    ...(inconclusive ? { inconclusive } : {}),
    maxDepth,
    ...(bound !== undefined ? { preemptionBound: bound } : {}),
    ...(pct ? { pct } : {}),
    ...(mode === "stateful" ? { states: stats.states } : {}),
    ...(mode === "exhaustive" ? { unrunnable: dpor.unrunnable } : {}),
  };
  for (const listener of listeners) listener(result);
  return result;
}

/** Replays a schedule (as printed in a counterexample) and returns its trace. */
export function replay(
  factory: ProgramFactory,
  schedule: string,
  maxSteps = 5000,
): Counterexample | { kind: "none"; trace: Trace } {
  const run = runExecution(factory, new ReplayPolicy(decodeSchedule(schedule)), maxSteps);
  return counterexampleOf(run) ?? { kind: "none", trace: traceOf(run.exec) };
}

/** One word for a result: what a reader may conclude from it. */
export type Verdict = "violation" | "safe" | "not-exhaustive" | "inconclusive" | "error";

/**
 * The verdict a result supports. `safe` only after an exhaustive search without
 * violation or livelock; `error` when model code threw.
 */
export function verdictOf(result: ExploreResult): Verdict {
  if (result.counterexample?.kind === "exception") return "error";
  if (result.counterexample) return "violation";
  if (result.inconclusive) return "inconclusive";
  return result.exhaustive ? "safe" : "not-exhaustive";
}
