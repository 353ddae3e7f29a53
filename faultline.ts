/**
 * Runs strategies against scenarios: one pair (`check`), every pair (`runMatrix`), and
 * the replay token that names a pair and a schedule, so that any trace printed by the
 * CLI, the docs or the site can be re-run exactly.
 *
 * @module
 */

import {
  type Counterexample,
  explore,
  type ExploreOptions,
  type ExploreResult,
  replay,
  type Trace,
  type Verdict,
  verdictOf,
} from "./explore/mod.ts";
import { strategies } from "./strategies/mod.ts";
import { DEFAULT_CONFIG, type Granularity, type KernelConfig } from "./mm/mod.ts";
import type { Expectation, Strategy } from "./strategies/mod.ts";
import { program, type Scenario, scenarios, type StepWatch } from "./scenarios/mod.ts";

/** The token format's version prefix. */
const TOKEN_PREFIX = "faultline1";

/** Looks a name up, with the closest valid names in the error. */
function find<T extends { name: string }>(what: string, list: readonly T[], name: string): T {
  const found = list.find((x) => x.name === name);
  if (found) return found;
  const near = closest(name, list.map((x) => x.name));
  throw new RangeError(
    `unknown ${what} "${name}"${
      near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(" or ")}?` : ""
    } ` +
      `(known: ${list.map((x) => x.name).join(", ")})`,
  );
}

/** The strategy called `name`; throws a RangeError naming the closest ones. */
export function strategyNamed(name: string): Strategy {
  return find("strategy", strategies, name);
}

/** The scenario called `name`; throws a RangeError naming the closest ones. */
export function scenarioNamed(name: string): Scenario {
  return find("scenario", scenarios, name);
}

/** Names within edit distance 3 (or sharing a word), nearest first. */
export function closest(name: string, names: readonly string[]): string[] {
  const scored = names.map((n) => ({ n, d: editDistance(name, n) }))
    .filter(({ n, d }) => d <= 3 || n.includes(name) || name.includes(n))
    .sort((a, b) => a.d - b.d);
  return scored.slice(0, 2).map((s) => s.n);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** A strategy run on a scenario. */
export interface CheckResult {
  readonly strategy: string;
  readonly scenario: string;
  /** The kernel configuration the verdict holds for. */
  readonly config: KernelConfig;
  readonly result: ExploreResult;
  readonly verdict: Verdict;
  /** The verdict with the violation kind: `"safe"`, `"violation:use-after-free"`... */
  readonly outcome: string;
  readonly expected: Expectation | undefined;
  /** Whether the outcome is what the strategy declared. */
  readonly asExpected: boolean;
  /** Replay token of the counterexample (or of the livelock), if any. */
  readonly token?: string;
}

/** The outcome word the expectations use. */
export function outcomeOf(result: ExploreResult): string {
  const verdict = verdictOf(result);
  if (verdict === "violation" || verdict === "error") {
    return `${verdict}:${result.counterexample!.kind}`;
  }
  return verdict;
}

/** Options of {@linkcode check}: the search's, and who watches its steps. */
export interface CheckOptions extends ExploreOptions {
  /** Told of every step the scenario's CPUs take (the worker pool's last-step record). */
  readonly watch?: StepWatch;
  /**
   * The kernel configuration to explore under (`DEFAULT_CONFIG` if absent). A strategy's
   * `expected` verdicts are the default configuration's; `asExpected` compares with them
   * whatever the configuration. The replay token names no configuration: it replays
   * under the default one.
   */
  readonly config?: KernelConfig;
  /**
   * How finely the model is cut into steps (`FINE_GRAINED` if absent): a choice of the
   * checker that keeps every behaviour, so verdicts do not depend on it
   * (tests/granularity_test.ts).
   */
  readonly granularity?: Granularity;
}

/**
 * Where {@linkcode check} takes a registered pair's result from, and puts what it
 * explored: the results store (`results_store.ts`) as the note runner installs it for
 * the site build, so that the notes and the matrix explore each pair once.
 */
export interface CheckStore {
  /** A result of a search made before under these options, if any. */
  get(strategy: string, scenario: string, options: CheckOptions): CheckResult | undefined;
  /** What a search under these options gave, in `millis`. */
  put(result: CheckResult, millis: number, options: CheckOptions): void;
}

let store: CheckStore | undefined;

/**
 * Installs (or, with `undefined`, removes) the {@linkcode CheckStore} of
 * {@linkcode check}, in this thread. It is used only for a registered strategy and
 * scenario (the very values of `strategies/mod.ts` and `scenarios/mod.ts`) and a search
 * nobody watches (no `watch`, no `onProgress`).
 */
export function useCheckStore(s: CheckStore | undefined): void {
  store = s;
}

/**
 * Explores `scenario` under `strategy` (names or values), in this thread: a strategy
 * that loops without yielding never returns. `checkPairs` of `pool.ts` runs pairs in
 * workers, with a time limit.
 */
export function check(
  strategy: Strategy | string,
  scenario: Scenario | string,
  options: CheckOptions = {},
): CheckResult {
  const s = typeof strategy === "string" ? strategyNamed(strategy) : strategy;
  const w = typeof scenario === "string" ? scenarioNamed(scenario) : scenario;
  const stored = store && !options.watch && !options.onProgress && strategies.includes(s) &&
      scenarios.includes(w)
    ? store
    : undefined;
  const found = stored?.get(s.name, w.name, options);
  if (found) return found;
  const config = options.config ?? DEFAULT_CONFIG;
  const started = performance.now();
  const result = explore(program(s, w, options.watch, config, options.granularity), options);
  const outcome = outcomeOf(result);
  const expected = s.expected[w.name];
  const bad = result.counterexample ?? result.inconclusive;
  const checked: CheckResult = {
    strategy: s.name,
    scenario: w.name,
    config,
    result,
    verdict: verdictOf(result),
    outcome,
    expected,
    asExpected: expected === outcome,
    ...(bad ? { token: tokenOf(s.name, w.name, bad.schedule) } : {}),
  };
  stored?.put(checked, performance.now() - started, options);
  return checked;
}

/** One cell of the verdict matrix. */
export interface MatrixCell {
  readonly strategy: string;
  readonly scenario: string;
  /** The kernel configuration the verdict holds for. */
  readonly config: KernelConfig;
  readonly verdict: Verdict;
  /** The violation kind, for a violation or an error. */
  readonly kind?: string;
  readonly outcome: string;
  readonly expected: string;
  readonly asExpected: boolean;
  readonly executions: number;
  readonly exhaustive: boolean;
  readonly counterexample?: Counterexample;
  readonly token?: string;
  readonly millis: number;
}

/** Options of {@linkcode runMatrix}. */
export interface MatrixOptions extends ExploreOptions {
  /** Called before each pair starts. */
  readonly onPair?: (strategy: string, scenario: string, index: number, total: number) => void;
}

/** The matrix cell of a check that took `millis`. */
export function cellOf(c: CheckResult, millis: number): MatrixCell {
  const bad = c.result.counterexample ?? c.result.inconclusive;
  return {
    strategy: c.strategy,
    scenario: c.scenario,
    config: c.config,
    verdict: c.verdict,
    ...(c.result.counterexample ? { kind: c.result.counterexample.kind } : {}),
    outcome: c.outcome,
    expected: c.expected ?? "(none declared)",
    asExpected: c.asExpected,
    executions: c.result.executions,
    exhaustive: c.result.exhaustive,
    ...(bad ? { counterexample: bad } : {}),
    ...(c.token ? { token: c.token } : {}),
    millis: Math.round(millis),
  };
}

/**
 * Explores every strategy × scenario pair, one after another in this thread (a pair
 * that never returns stops it: `runMatrixInWorkers` of `pool.ts` does not).
 */
export function runMatrix(options: MatrixOptions = {}): MatrixCell[] {
  const cells: MatrixCell[] = [];
  const total = strategies.length * scenarios.length;
  for (const s of strategies) {
    for (const w of scenarios) {
      options.onPair?.(s.name, w.name, cells.length, total);
      const start = performance.now();
      const c = check(s, w, options);
      cells.push(cellOf(c, performance.now() - start));
    }
  }
  return cells;
}

/** `faultline1:<strategy>:<scenario>:<schedule>`. */
export function tokenOf(strategy: string, scenario: string, schedule: string): string {
  return `${TOKEN_PREFIX}:${strategy}:${scenario}:${schedule}`;
}

/** Splits a replay token; throws a SyntaxError saying what is wrong. */
export function parseToken(
  token: string,
): { strategy: string; scenario: string; schedule: string } {
  const parts = token.trim().split(":");
  if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX) {
    throw new SyntaxError(
      `bad replay token "${token}": expected ${TOKEN_PREFIX}:<strategy>:<scenario>:<schedule>`,
    );
  }
  return { strategy: parts[1], scenario: parts[2], schedule: parts[3] };
}

/** A replayed schedule: its trace, and how it ended. */
export interface Replayed {
  readonly strategy: string;
  readonly scenario: string;
  /** Violation kind, `step-budget`, or `none`. */
  readonly kind: string;
  readonly trace: Trace;
}

/** Re-runs the schedule a token names. */
export function replayToken(token: string): Replayed {
  const { strategy, scenario, schedule } = parseToken(token);
  const s = strategyNamed(strategy);
  const w = scenarioNamed(scenario);
  const run = replay(program(s, w), schedule);
  return { strategy: s.name, scenario: w.name, kind: run.kind, trace: run.trace };
}
