/**
 * The Web Worker that runs strategy × scenario pairs for the pool (`pool.ts`), one at a
 * time, and the protocol between the two. A pair runs in a worker so that a strategy
 * whose `fault()` loops without yielding can be stopped: JavaScript cannot preempt
 * synchronous code, only `Worker.terminate()` ends it.
 *
 * A stuck worker cannot post a message, so it says where it is before it gets stuck:
 * every step a CPU takes is written to a SharedArrayBuffer the pool reads once it has
 * stopped the worker (the {@linkcode StepRecord} layout). Writing numbers is cheap;
 * the strings (step labels, details) are interned, each posted once with its number.
 *
 * This module is the worker's entry point: the pool starts it by its own URL, under a
 * name that makes the guard at the end start serving. Imported anywhere else, the
 * guard does nothing.
 *
 * @module
 */

import { check, type CheckResult, scenarioNamed, strategyNamed } from "./faultline.ts";
import type { ExploreOptions, Progress, StepRequest } from "./explore/mod.ts";
import type { KernelConfig } from "./mm/mod.ts";
import type { Scenario, StepWatch } from "./scenarios/mod.ts";
import type { Expectation, Strategy } from "./strategies/mod.ts";

/** The worker's name, by which the guard at the end knows it is the worker. */
export const PAIR_WORKER_NAME = "faultline-pair-worker";

/** The explore options that cross to the worker: plain data, no callbacks. */
export type PlainExploreOptions = Omit<ExploreOptions, "onProgress"> & {
  /** The kernel configuration to explore under (the default if absent). */
  readonly config?: KernelConfig;
};

/** A request: run one pair. */
export interface RunPair {
  readonly type: "run";
  /** The pair's number in the pool's list, echoed in every reply about it. */
  readonly id: number;
  /** A strategy's name: registered in `strategies/mod.ts`, or exported by `module`. */
  readonly strategy: string;
  /** URL of a module that exports the strategy, for one `strategies/mod.ts` does not list. */
  readonly module?: string;
  /** A scenario's name, or the scenario itself (plain data). */
  readonly scenario: string | Scenario;
  readonly options: PlainExploreOptions;
  /** Where the last step goes: {@linkcode StepRecord.SIZE} Int32 slots. */
  readonly record: SharedArrayBuffer;
}

/** Replies, in order: `started`, any `name` and `progress`, then `done` or `failed`. */
export type FromPairWorker =
  | {
    readonly type: "started";
    readonly id: number;
    readonly expected?: Expectation;
  }
  /** String number `index` of the step record is `text`. */
  | { readonly type: "name"; readonly index: number; readonly text: string }
  | { readonly type: "progress"; readonly id: number; readonly progress: Progress }
  | { readonly type: "done"; readonly id: number; readonly result: CheckResult }
  /** The pair could not run or threw outside the model (a bad name, a bad scenario). */
  | { readonly type: "failed"; readonly id: number; readonly error: string };

/** The layout of the step record: Int32 slots of a SharedArrayBuffer. */
export const StepRecord = {
  /** Executions started (1-based number of the current one). */
  EXECUTION: 0,
  /** Steps taken in the current execution. */
  STEP: 1,
  /** The CPU of the last step, -1 before any. */
  CPU: 2,
  /** Which of that CPU's operations it is in. */
  OP: 3,
  /** Interned label of the step, -1 for the code before an operation's first step. */
  LABEL: 4,
  /** Interned detail of the step, -1 for none. */
  DETAIL: 5,
  /** Counts every step and execution start: a pair whose count stands still is stuck. */
  TICKS: 6,
  /** Slots. */
  SIZE: 7,
} as const;

/** Where the pool found a pair's last step, decoded. */
export interface LastStep {
  readonly execution: number;
  readonly step: number;
  readonly cpu: number;
  readonly op: number;
  /** Undefined: before the operation's first step. */
  readonly label?: string;
  readonly detail?: string;
}

/** Decodes a step record; undefined if no step was recorded yet. */
export function readStepRecord(
  record: Int32Array,
  names: ReadonlyMap<number, string>,
): LastStep | undefined {
  const cpu = Atomics.load(record, StepRecord.CPU);
  if (cpu < 0) return undefined;
  const label = names.get(Atomics.load(record, StepRecord.LABEL));
  const detail = names.get(Atomics.load(record, StepRecord.DETAIL));
  return {
    execution: Atomics.load(record, StepRecord.EXECUTION),
    step: Atomics.load(record, StepRecord.STEP),
    cpu,
    op: Atomics.load(record, StepRecord.OP),
    ...(label !== undefined ? { label } : {}),
    ...(detail !== undefined ? { detail } : {}),
  };
}

// ---------------------------------------------------------------------------------
// Inside the worker.

interface WorkerScope {
  readonly name: string;
  onmessage: ((e: MessageEvent<RunPair>) => void) | null;
  postMessage(message: FromPairWorker): void;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The strategy called `name` among the exports of the module at `url`. */
async function strategyFrom(url: string, name: string): Promise<Strategy> {
  const mod: Record<string, unknown> = await import(url);
  for (const value of Object.values(mod)) {
    const s = value as Partial<Strategy> | null;
    if (typeof s === "object" && s !== null && s.name === name && typeof s.fault === "function") {
      return s as Strategy;
    }
  }
  throw new RangeError(`${url} exports no strategy named "${name}"`);
}

/** Serves {@linkcode RunPair} requests, one at a time. */
function serve(scope: WorkerScope): void {
  const interned = new Map<string, number>();
  const intern = (text: string): number => {
    let index = interned.get(text);
    if (index === undefined) {
      index = interned.size;
      interned.set(text, index);
      // Posted at once: a message leaves even if the worker never returns to its loop.
      scope.postMessage({ type: "name", index, text });
    }
    return index;
  };

  scope.onmessage = async ({ data }) => {
    const { id } = data;
    try {
      const strategy = data.module
        ? await strategyFrom(data.module, data.strategy)
        : strategyNamed(data.strategy);
      const scenario = typeof data.scenario === "string"
        ? scenarioNamed(data.scenario)
        : data.scenario;
      const expected = strategy.expected[scenario.name];
      scope.postMessage({ type: "started", id, ...(expected ? { expected } : {}) });
      const record = new Int32Array(data.record);
      let step = 0;
      let ticks = 0;
      const watch: StepWatch = {
        execution() {
          step = 0;
          record[StepRecord.TICKS] = ++ticks;
          Atomics.add(record, StepRecord.EXECUTION, 1);
        },
        step(cpu: number, op: number, request: StepRequest | undefined) {
          if (request) step++;
          record[StepRecord.TICKS] = ++ticks;
          record[StepRecord.STEP] = step;
          record[StepRecord.OP] = op;
          record[StepRecord.LABEL] = request ? intern(request.label) : -1;
          record[StepRecord.DETAIL] = request?.detail !== undefined ? intern(request.detail) : -1;
          // Last, and atomic: once the CPU is set, the record is whole.
          Atomics.store(record, StepRecord.CPU, cpu);
        },
      };
      const result = check(strategy, scenario, {
        ...data.options,
        onProgress: (progress) => scope.postMessage({ type: "progress", id, progress }),
        watch,
      });
      scope.postMessage({ type: "done", id, result });
    } catch (e) {
      scope.postMessage({ type: "failed", id, error: describeError(e) });
    }
  };
}

// The worker's entry point: this very module, loaded in a worker of that name.
const scope = globalThis as unknown as Partial<WorkerScope>;
if ("WorkerGlobalScope" in globalThis && scope.name === PAIR_WORKER_NAME) {
  serve(scope as WorkerScope);
}
