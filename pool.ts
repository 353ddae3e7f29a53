/**
 * Runs strategy × scenario pairs in Web Workers, as many at once as there are cores,
 * each with a wall-clock limit. Why: a strategy whose `fault()` loops without yielding
 * never gives control back (JavaScript cannot preempt synchronous code), so run in the
 * caller's thread it would hang `explore`, the matrix, the main job and the tests. In a
 * worker it can be stopped: a pair that exceeds its limit is terminated and reported as
 * an error result naming the strategy, the scenario and the last step it took, and
 * the other pairs go on.
 *
 * Results cross the worker boundary by structured clone; a {@linkcode CheckResult} is
 * plain data, so it arrives whole.
 *
 * @module
 */

import {
  cellOf,
  check,
  type CheckResult,
  type MatrixCell,
  type MatrixOptions,
} from "./faultline.ts";
import type { Counterexample, ExploreOptions, ExploreResult, Progress } from "./explore/mod.ts";
import { DEFAULT_CONFIG, type KernelConfig } from "./mm/mod.ts";
import { type Op, type Scenario, scenarios } from "./scenarios/mod.ts";
import { type Expectation, strategies, type Strategy } from "./strategies/mod.ts";
import { isRegistered, openResults, type StoredPair } from "./results_store.ts";
import {
  type FromPairWorker,
  type LastStep,
  PAIR_WORKER_NAME,
  type PlainExploreOptions,
  readStepRecord,
  type RunPair,
  StepRecord,
} from "./pair_worker.ts";

/**
 * The default wall-clock limit of one pair, in seconds. Generous: the largest pair of
 * the matrix takes 10 s on an idle 2-core machine but took 114 s on a busy one, and a
 * pair stopped for being slow is a false error. A pair stuck in a loop is caught much
 * sooner, by {@linkcode DEFAULT_STALL_SECONDS}.
 */
export const DEFAULT_TIME_LIMIT_SECONDS = 600;

/**
 * Seconds a running pair may go without taking a step before it is stopped as stuck.
 * A search takes thousands of steps a second, even on a busy machine; code that loops
 * without yielding takes none.
 */
export const DEFAULT_STALL_SECONDS = 30;

/** How often the pool looks at a running pair's step count, in milliseconds. */
const STALL_POLL_MS = 500;

/**
 * Seconds a pair may take to start, at least: loading a worker's modules can take
 * seconds on a busy machine (and `deno test` type-checks a worker's module as it loads
 * it), which must not count against a short time limit.
 */
const LOAD_SECONDS = 60;

/** One pair to run. */
export interface PairJob {
  /**
   * The strategy: a name registered in `strategies/mod.ts` (or exported by `module`),
   * or a value. A value that is not the registered strategy of its name (one a note or
   * a test defines) cannot reach a worker, functions do not cross postMessage: it runs
   * in the caller's thread, without a time limit.
   */
  readonly strategy: Strategy | string;
  /** The scenario: a name, or a value (plain data, it crosses to the worker). */
  readonly scenario: Scenario | string;
  /** URL of a module that exports the strategy, to run in a worker one not registered. */
  readonly module?: string | URL;
  /** The kernel configuration of this pair, instead of the options' one. */
  readonly config?: KernelConfig;
}

/** A pair by its names. */
export interface PairNames {
  readonly strategy: string;
  readonly scenario: string;
}

/** What one pair gave. */
export interface PairResult {
  readonly check: CheckResult;
  /** Wall-clock time of the pair, from the moment it was handed to its worker. */
  readonly millis: number;
  /** False for a pair that ran in the caller's thread (see {@linkcode PairJob.strategy}). */
  readonly inWorker: boolean;
  /** True for a pair taken from the results store (`results: "reuse"`), not explored now. */
  readonly reused?: boolean;
}

/**
 * What {@linkcode checkPairs} does with the results store (`results_store.ts`):
 * `"off"` nothing; `"record"` stores what registered pairs gave; `"reuse"` also takes
 * a registered pair's result from the store when it holds one for these sources and
 * options, and explores only the others.
 */
export type ResultsUse = "off" | "record" | "reuse";

/** Options of {@linkcode checkPairs}: the search of every pair, and the pool's own. */
export interface PoolOptions extends ExploreOptions {
  /** The kernel configuration every pair is explored under (the default if absent). */
  readonly config?: KernelConfig;
  /**
   * Seconds a pair may run, once started in its worker, before it is stopped and
   * reported as an error. Default 600. (Starting, loading the modules, has its own
   * deadline of at least 60 s.)
   */
  readonly timeLimitSeconds?: number;
  /**
   * Seconds a running pair may go without taking a step before it is stopped as stuck
   * (a loop that never yields). Default 30, or the time limit if that is shorter.
   */
  readonly stallSeconds?: number;
  /** Workers at most. Default `navigator.hardwareConcurrency`. */
  readonly workers?: number;
  /**
   * The results store: default `"off"` for {@linkcode checkPairs}, `"record"` for
   * {@linkcode runMatrixInWorkers}. Only pairs named by a registered strategy and a
   * registered scenario (no `module`, no values) are stored or reused.
   */
  readonly results?: ResultsUse;
  /**
   * Called as a pair starts: its index in the list, how many started before it, the
   * total, and the names of its strategy and scenario.
   */
  readonly onPairStart?: (index: number, started: number, total: number, pair: PairNames) => void;
  /** Where a running pair is, every `progressEvery` executions (and at its end). */
  readonly onPairProgress?: (index: number, progress: Progress) => void;
  /** Called as a pair ends. */
  readonly onPairDone?: (index: number, result: PairResult) => void;
}

/** The name of a job's strategy. */
function nameOf(x: { readonly name: string } | string): string {
  return typeof x === "string" ? x : x.name;
}

/** Whether a job can run in a worker: its strategy is found there by name or module. */
function workerCanRun(job: PairJob): boolean {
  if (job.module !== undefined || typeof job.strategy === "string") return true;
  return strategies.some((s) => s === job.strategy);
}

/** `fault(0x40000000)`, `munmap(0x3fe00000, 0x40200000)`. */
function opText(op: Op | undefined): string {
  if (!op) return "an operation";
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (op.op) {
    case "fault":
    case "gup":
    case "gup-fast":
    case "khugepaged":
    case "uffd-copy":
      return `${op.op}(${hex(op.addr)})`;
    case "store":
      return `store(${hex(op.addr)}, ${op.value})`;
    case "fork":
      return "fork()";
    default:
      return `${op.op}(${hex(op.start)}, ${hex(op.end)})`;
  }
}

/** Where a stopped pair was, in words. */
function lastStepText(last: LastStep | undefined, scenario: Scenario | undefined): string {
  if (!last) return "no step taken (stopped while loading or setting up)";
  const op = opText(scenario?.cpus[last.cpu]?.[last.op]);
  const where = last.label === undefined
    ? `CPU${last.cpu} before the first step of ${op}`
    : `CPU${last.cpu} ${last.label}${last.detail ? ` ${last.detail}` : ""} in ${op}`;
  return `${where} (step ${last.step} of execution ${last.execution})`;
}

/**
 * The result of a pair that gave none: stopped at its time limit, or its worker died.
 * Its verdict is `error`, its counterexample has kind `kind` and the message, and no
 * trace (the worker could not send one).
 */
function stoppedResult(
  strategy: string,
  scenario: string,
  expected: Expectation | undefined,
  kind: StopKind,
  message: string,
  options: PoolOptions,
  progress: Progress | undefined,
): CheckResult {
  const counterexample: Counterexample = {
    kind,
    message,
    schedule: "",
    preemptions: 0,
    trace: { columns: [], steps: [] },
  };
  const result: ExploreResult = {
    mode: options.mode ?? "exhaustive",
    executions: progress?.executions ?? 0,
    pruned: progress?.pruned ?? 0,
    exhaustive: false,
    violations: {},
    counterexample,
    maxDepth: progress?.maxDepth ?? 0,
  };
  return {
    strategy,
    scenario,
    config: options.config ?? DEFAULT_CONFIG,
    result,
    verdict: "error",
    outcome: `error:${kind}`,
    expected,
    asExpected: false,
  };
}

/** Why the pool stopped a pair: its time limit, no step for too long, or its worker died. */
type StopKind = "timeout" | "stuck" | "worker-crashed";

/** Results of pairs the pool stopped: they depend on the clock, and are never stored. */
const stopped = new WeakSet<PairResult>();

/** The options of a pool but its own: what a pair's search depends on. */
function searchOptions(options: PoolOptions): PlainExploreOptions {
  const {
    timeLimitSeconds: _t,
    stallSeconds: _s,
    workers: _w,
    results: _r,
    ...search
  } = plainOptions(options) as PlainExploreOptions & PoolOptions;
  return search;
}

/**
 * Whether a job's result may go to the store and come from it: a registered strategy
 * and scenario, both by name, so that the worker explores them from the very files the
 * store's key hashes (a value could have been changed in place; a module is other code).
 */
function storable(job: PairJob): job is PairJob & { strategy: string; scenario: string } {
  return job.module === undefined && typeof job.strategy === "string" &&
    typeof job.scenario === "string" && isRegistered(job.strategy, job.scenario);
}

/** The explore options without their callbacks: what can cross postMessage. */
function plainOptions(options: ExploreOptions): PlainExploreOptions {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => typeof v !== "function"),
  ) as PlainExploreOptions;
}

/** One worker, reused pair after pair until it must be stopped. */
class Slot {
  #worker: Worker | undefined;
  /** Strings the worker interned, by number (they outlive one pair). */
  #names = new Map<number, string>();
  readonly #record = new SharedArrayBuffer(StepRecord.SIZE * 4);
  #listener: ((message: FromPairWorker) => void) | undefined;
  #crash: ((error: string) => void) | undefined;

  #start(): Worker {
    const worker = new Worker(new URL("./pair_worker.ts", import.meta.url).href, {
      type: "module",
      name: PAIR_WORKER_NAME,
    });
    // This worker's strings, and only its own: a stopped worker's last messages may
    // still arrive, and must not reach the next one's pair.
    const names = new Map<number, string>();
    this.#names = names;
    const current = () => this.#worker === worker;
    worker.onmessage = (e: MessageEvent<FromPairWorker>) => {
      const m = e.data;
      if (m.type === "name") names.set(m.index, m.text);
      else if (current()) this.#listener?.(m);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      if (current()) this.#crash?.(e.message);
    };
    worker.onmessageerror = () => {
      if (current()) this.#crash?.("a message from the worker could not be read");
    };
    return worker;
  }

  /** Runs `job` in the worker; resolves with its result, or with an error result. */
  run(
    job: PairJob,
    id: number,
    options: PoolOptions,
    onProgress: (p: Progress) => void,
  ): Promise<PairResult> {
    const worker = this.#worker ??= this.#start();
    const record = new Int32Array(this.#record);
    record.fill(0);
    record[StepRecord.CPU] = -1;
    const strategy = nameOf(job.strategy);
    const scenarioName = nameOf(job.scenario);
    const scenario = typeof job.scenario === "string"
      ? scenarios.find((w) => w.name === job.scenario)
      : job.scenario;
    const seconds = options.timeLimitSeconds ?? DEFAULT_TIME_LIMIT_SECONDS;
    const loadSeconds = Math.max(seconds, LOAD_SECONDS);
    const stallSeconds = Math.min(seconds, options.stallSeconds ?? DEFAULT_STALL_SECONDS);
    const started = performance.now();
    let expected = strategies.find((s) => s.name === strategy)?.expected[scenarioName];
    let progress: Progress | undefined;

    return new Promise<PairResult>((resolve, reject) => {
      let watching: ReturnType<typeof setInterval> | undefined;
      const end = (result: PairResult | Error) => {
        clearTimeout(timer);
        clearInterval(watching);
        this.#listener = this.#crash = undefined;
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const stop = (kind: StopKind, why: string) => {
        // Only terminate() ends a worker stuck in a loop; the next pair gets a new one.
        worker.terminate();
        this.#worker = undefined;
        const last = lastStepText(readStepRecord(record, this.#names), scenario);
        const message = `strategy "${strategy}" × scenario "${scenarioName}": ${why}; ` +
          `last step: ${last}`;
        const result: PairResult = {
          check: stoppedResult(strategy, scenarioName, expected, kind, message, options, progress),
          millis: performance.now() - started,
          inWorker: true,
        };
        stopped.add(result);
        end(result);
      };
      // Two deadlines: to start (load the worker and the strategy's module), then to run.
      let timer = setTimeout(
        () =>
          stop(
            "timeout",
            `did not start within ${loadSeconds} s (loading the worker or the strategy's module)`,
          ),
        loadSeconds * 1000,
      );
      this.#crash = (error) => stop("worker-crashed", `its worker died: ${error}`);
      this.#listener = (m) => {
        if (m.type === "name" || m.id !== id) return;
        if (m.type === "started") {
          expected = m.expected ?? expected;
          clearTimeout(timer);
          timer = setTimeout(
            () =>
              stop("timeout", `no result within ${seconds} s (the time limit), so it was stopped`),
            seconds * 1000,
          );
          // A pair whose step count stands still is stuck in code that never yields.
          let ticks = -1;
          let still = performance.now();
          watching = setInterval(() => {
            const now = performance.now();
            const t = Atomics.load(record, StepRecord.TICKS);
            if (t !== ticks) [ticks, still] = [t, now];
            else if (now - still >= stallSeconds * 1000) {
              stop(
                "stuck",
                `took no step for ${stallSeconds} s (a loop that never yields?), so it was stopped`,
              );
            }
          }, STALL_POLL_MS);
        } else if (m.type === "progress") {
          progress = m.progress;
          onProgress(m.progress);
        } else if (m.type === "done") {
          end({ check: m.result, millis: performance.now() - started, inWorker: true });
        } else {
          end(new Error(`strategy "${strategy}" × scenario "${scenarioName}": ${m.error}`));
        }
      };
      const request: RunPair = {
        type: "run",
        id,
        strategy,
        ...(job.module !== undefined ? { module: String(job.module) } : {}),
        scenario: job.scenario,
        options: plainOptions(options),
        record: this.#record,
      };
      try {
        worker.postMessage(request);
      } catch (e) {
        end(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}

/**
 * Runs every job, at most `options.workers` at a time, each in a worker with a time
 * limit; results come in the order of `jobs`. A pair that exceeds its limit, or whose
 * worker dies, gives an `error` result and the others go on. A pair that throws
 * outside the model (an unknown name, a malformed scenario) rejects the whole call, as
 * `check()` would throw.
 */
export async function checkPairs(
  jobs: readonly PairJob[],
  options: PoolOptions = {},
): Promise<PairResult[]> {
  const results: PairResult[] = new Array(jobs.length);
  // Strategy values that are not registered cannot be sent to a worker (they hold
  // functions, and the worker's strategies/mod.ts does not list them): those run here,
  // in this thread and without a time limit, after the workers are done, so that their
  // synchronous run does not hold up the pool's messages and timers meanwhile.
  const here: number[] = [];
  const queue: number[] = [];
  let started = 0;
  const begin = (i: number) =>
    options.onPairStart?.(i, started++, jobs.length, {
      strategy: nameOf(jobs[i].strategy),
      scenario: nameOf(jobs[i].scenario),
    });
  const report = (i: number, result: PairResult) => {
    results[i] = result;
    options.onPairDone?.(i, result);
  };
  const optionsOf = (job: PairJob): PoolOptions =>
    job.config ? { ...options, config: job.config } : options;
  // Opened before any worker loads the code, so that its key is the code they run.
  const use = options.results ?? "off";
  const store = use !== "off" && jobs.some(storable) ? openResults() : undefined;
  for (const [i, job] of jobs.entries()) {
    const found = use === "reuse" && storable(job)
      ? store?.get(job.strategy, job.scenario, searchOptions(optionsOf(job)))
      : undefined;
    if (found) {
      begin(i);
      report(i, { ...found, inWorker: true, reused: true });
    } else (workerCanRun(job) ? queue : here).push(i);
  }
  const onProgress = (i: number) => (p: Progress) => {
    options.onPairProgress?.(i, p);
    options.onProgress?.(p);
  };

  const count = Math.max(
    1,
    Math.min(options.workers ?? navigator.hardwareConcurrency, queue.length),
  );
  const slots = Array.from({ length: queue.length ? count : 0 }, () => new Slot());
  let failure: Error | undefined;
  try {
    await Promise.all(slots.map(async (slot) => {
      for (let i = queue.shift(); i !== undefined && !failure; i = queue.shift()) {
        begin(i);
        try {
          report(i, await slot.run(jobs[i], i, optionsOf(jobs[i]), onProgress(i)));
        } catch (e) {
          failure ??= e instanceof Error ? e : new Error(String(e));
        }
      }
    }));
  } finally {
    for (const slot of slots) slot.close();
  }
  if (failure) throw failure;
  if (store) {
    // One write per configuration: the key holds the options.
    const explored = new Map<string, { options: PoolOptions; pairs: StoredPair[] }>();
    for (const [i, job] of jobs.entries()) {
      const r = results[i];
      if (!storable(job) || !r || r.reused || stopped.has(r)) continue;
      const key = JSON.stringify(job.config ?? null);
      const group = explored.get(key) ?? { options: optionsOf(job), pairs: [] };
      group.pairs.push({ check: r.check, millis: r.millis });
      explored.set(key, group);
    }
    for (const g of explored.values()) store.put(g.pairs, searchOptions(g.options));
  }

  for (const i of here) {
    const job = jobs[i];
    begin(i);
    const start = performance.now();
    const c = check(job.strategy, job.scenario, {
      ...optionsOf(job),
      onProgress: onProgress(i),
    });
    report(i, { check: c, millis: performance.now() - start, inWorker: false });
  }
  return results;
}

/** One pair in a worker, with a time limit (see {@linkcode checkPairs}). */
export async function checkInWorker(
  strategy: Strategy | string,
  scenario: Scenario | string,
  options: PoolOptions = {},
): Promise<PairResult> {
  return (await checkPairs([{ strategy, scenario }], options))[0];
}

/**
 * Every strategy × scenario pair, as `runMatrix` explores them, but in workers: as
 * many at once as there are cores, each with a time limit. `onPair` is called as each
 * pair starts, in matrix order. What the pairs give is recorded in the results store
 * unless `results` says otherwise (`"reuse"` takes what it holds).
 */
export async function runMatrixInWorkers(
  options: MatrixOptions & PoolOptions = {},
): Promise<MatrixCell[]> {
  const jobs: PairJob[] = strategies.flatMap((s) =>
    scenarios.map((w) => ({ strategy: s.name, scenario: w.name }))
  );
  const results = await checkPairs(jobs, {
    results: "record",
    ...options,
    onPairStart: (i, started, total, pair) => {
      options.onPair?.(pair.strategy, pair.scenario, started, total);
      options.onPairStart?.(i, started, total, pair);
    },
  });
  return results.map((r) => cellOf(r.check, r.millis));
}

/**
 * The whole matrix under each of `configs`, in one pool: its workers go from one
 * configuration's pairs to the next instead of starting anew for each, and no core
 * waits for one configuration's last pair before the next begins. One list of cells
 * per configuration, in the order of `configs`, each as {@linkcode runMatrixInWorkers}
 * gives it.
 */
export async function runMatricesInWorkers(
  configs: readonly KernelConfig[],
  options: PoolOptions = {},
): Promise<MatrixCell[][]> {
  const pairs = strategies.flatMap((s) => scenarios.map((w) => [s.name, w.name] as const));
  const jobs: PairJob[] = configs.flatMap((config) =>
    pairs.map(([strategy, scenario]) => ({ strategy, scenario, config }))
  );
  const results = await checkPairs(jobs, { results: "record", ...options });
  return configs.map((_, k) =>
    results.slice(k * pairs.length, (k + 1) * pairs.length).map((r) => cellOf(r.check, r.millis))
  );
}
