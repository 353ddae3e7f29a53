/**
 * `explore`: one strategy on one scenario. Prints what the search covered, the
 * verdict (never "safe" unless the search was exhaustive), the clearest trace, and the
 * replay token with the command that replays it.
 *
 * @module
 */

import { checkInWorker, type CheckResult, type Counterexample } from "../mod.ts";
import {
  type Command,
  command,
  EXIT,
  scenarioArg,
  type Search,
  SEARCH_FLAGS,
  SEARCH_HELP,
  searchOf,
  strategyArg,
} from "./args.ts";
import { deadlockNote } from "./ending.ts";
import { CLI, count, duration, plural, replayCommandLine } from "./format.ts";
import { PROGRESS_EVERY, ProgressReporter } from "./progress.ts";
import { findCycle, livelockLine, livelockTable } from "./livelock.ts";
import { TIME_LIMIT_FLAG, TIME_LIMIT_HELP, timeLimitOf } from "./time_limit.ts";
import { fitTrace, type TraceWidth, traceWidth, WIDTH_FLAG, WIDTH_HELP } from "./trace_text.ts";

const FLAGS = {
  strategy: { type: "string" },
  scenario: { type: "string" },
  ...SEARCH_FLAGS,
  ...TIME_LIMIT_FLAG,
  ...WIDTH_FLAG,
  json: { type: "boolean" },
} as const;

const USAGE = `Usage: ${CLI} explore --strategy S --scenario W [flags]

Runs strategy S on scenario W under every schedule that matters (or a bounded or
random sample of them) and prints what the search covered, the verdict, the clearest
trace found (fewest preemptions, then fewest steps), and its replay token with the
command that replays it. Progress goes to stderr on long runs.

Flags:
  --strategy S     the strategy (see \`list\`)
  --scenario W     the scenario (see \`list\`)
${SEARCH_HELP}
${TIME_LIMIT_HELP}
${WIDTH_HELP}
  --json           print the result as JSON on stdout (trace included)
  -h, --help       this text

Exit status:
  0  the outcome is what S declares for W
  1  it is not. A search that stopped before it was exhaustive (--budget, --mode
     random, or a preemption bound that cut schedules) and found no violation has
     the outcome "not-exhaustive", never "safe", and exits 1 whatever S declares:
     where S declares "safe" it has not shown safety, and where S declares a
     violation it has missed it (which refutes nothing). A violation it finds is
     real, and counts.
  2  bad usage: unknown strategy, scenario or flag, or a bad value

Examples:
  ${CLI} explore --strategy rcu-gfp-nowait --scenario fault-vs-munmap
  ${CLI} explore --strategy rcu-gfp-nowait --scenario fault-vs-munmap --mode random --budget 200`;

/** How far a search went: `"exhaustive: …"`, or `"not exhaustive: stopped after N executions (…)"`. */
export function coverage(c: CheckResult, search: Search): string {
  const r = c.result;
  // An execution cut at the step budget is not explored to its end: not exhaustive.
  if (r.exhaustive && !r.inconclusive) {
    return r.states === undefined
      ? "exhaustive: every schedule that matters was explored"
      : `exhaustive: every reachable state was explored (${plural(r.states, "state")})`;
  }
  const why = r.counterexample?.kind === "exception"
    ? "the model code threw"
    : r.counterexample?.kind === "timeout"
    ? "stopped at the time limit"
    : r.counterexample?.kind === "stuck"
    ? "stopped: it took no step for too long"
    : r.counterexample?.kind === "worker-crashed"
    ? "its worker died"
    : r.inconclusive
    ? "an execution ran into the step budget"
    : r.mode === "random"
    ? `random search, --budget ${search.budget ?? r.executions}`
    : search.budget !== undefined && r.executions >= search.budget
    ? `--budget ${search.budget}`
    : r.mode === "bounded"
    ? `the preemption bound ${search.preemptions ?? 2} cut some schedules`
    : "the search was cut short";
  return `not exhaustive: stopped after ${plural(r.executions, "execution")} (${why})`;
}

/** The verdict in words (what {@linkcode coverage} qualifies). */
export function verdictText(c: CheckResult): string {
  const r = c.result;
  switch (c.verdict) {
    case "violation": {
      const note = deadlockNote(r.counterexample!.trace.violation);
      return `violation: ${r.counterexample!.kind}${note ? ` (${note})` : ""}`;
    }
    case "error":
      // A pair stopped by the pool (time limit, dead worker) says why and where.
      return r.counterexample?.kind === "exception"
        ? "error: the model code threw"
        : `error: ${r.counterexample?.message ?? "the pair gave no result"}`;
    case "inconclusive":
      return `inconclusive: ${r.inconclusive!.message}`;
    case "safe":
      return "safe";
    case "not-exhaustive":
      return "not-exhaustive: no violation found, which does not make it safe";
  }
}

/** The search, as asked for: `"DPOR"`, `"bounded DFS, at most 2 preemptions"`, … */
function searchText(search: Search): string {
  const texts: Record<Search["mode"], () => string> = {
    exhaustive: () => "Optimal-DPOR (exhaustive mode)",
    stateful: () => "stateful: a table of visited states and sleep sets (exhaustive)",
    dfs: () => "plain DFS, every interleaving (exhaustive, no reduction)",
    bounded: () =>
      `iterative preemption bounding, up to ${plural(search.preemptions ?? 2, "preemption")}`,
    pct: () => `PCT, seed ${search.seed ?? 1}`,
    random: () => `random, seed ${search.seed ?? 1}`,
  };
  return texts[search.mode]();
}

/** What PCT promises (Burckhardt et al., ASPLOS 2010) for the runs made. */
function pctText(g: NonNullable<CheckResult["result"]["pct"]>): string {
  const p = (x: number) => x < 0.001 ? x.toExponential(1) : x.toFixed(3);
  return `PCT: a given bug of depth ${g.depth} is found by one run with probability ≥ ` +
    `${p(g.perRun)} (1/(n·k^(d−1)), n = ${g.threads} threads, k = ${g.steps} steps), ` +
    `by these runs with probability ≥ ${p(g.overall)}`;
}

/** The bad execution to show: the counterexample, else the livelock. */
function shown(c: CheckResult): Counterexample | undefined {
  return c.result.counterexample ?? c.result.inconclusive;
}

/**
 * What the strategy declares for the scenario, and whether this search bears it out.
 * A search that is not exhaustive and found nothing neither confirms nor refutes the
 * declaration, and says so, with why it exits 1 (see the exit status in `--help`).
 */
export function declaredText(c: CheckResult): string {
  const declared = c.expected ?? "(none)";
  if (c.asExpected) return `${declared}, as found`;
  if (c.outcome !== "not-exhaustive") return `${declared}, but found ${c.outcome}: UNEXPECTED`;
  const settle = "(no --mode, no --budget) to settle it.";
  return c.expected === "safe"
    ? `${declared}, not confirmed: no violation found, but only an exhaustive search\n` +
      `          shows safety (exit 1). Search exhaustively ${settle}`
    : `${declared}, not found: a search that is not exhaustive can miss it,\n` +
      `          so this neither refutes nor confirms it (exit 1). Search exhaustively\n` +
      `          ${settle}`;
}

/**
 * The human-readable report of a check; the trace fits `width` (see
 * {@linkcode fitTrace}).
 */
export function formatCheck(
  c: CheckResult,
  search: Search,
  millis: number,
  width: TraceWidth = "full",
): string {
  const r = c.result;
  const lines = [
    `strategy: ${c.strategy}`,
    `scenario: ${c.scenario}`,
    `search:   ${searchText(search)}: ${plural(r.executions, "execution")}, ` +
    `${count(r.pruned)} pruned, deepest ${plural(r.maxDepth, "step")}, ${duration(millis)}`,
    `verdict:  ${verdictText(c)}`,
    `          ${coverage(c, search)}`,
    ...(r.pct ? [`          ${pctText(r.pct)}`] : []),
    `declared: ${declaredText(c)}`,
  ];
  const bad = shown(c);
  // A livelock is shown as its cycle: the rows before it and one round, not every row
  // up to the step budget.
  const cycle = bad?.kind === "step-budget" ? findCycle(bad.trace.steps) : undefined;
  if (bad && cycle) {
    lines.push(
      "",
      livelockLine(cycle),
      "",
      `trace (${plural(bad.preemptions, "preemption")}, ${
        plural(bad.trace.steps.length, "step")
      }; the steps before the cycle, and the cycle once):`,
      "",
      livelockTable(bad.trace, cycle, (t) => fitTrace(t, width)),
    );
  } else if (bad && bad.trace.steps.length > 0) {
    lines.push(
      "",
      `trace (${plural(bad.preemptions, "preemption")}, ${
        plural(bad.trace.steps.length, "step")
      }):`,
      "",
      fitTrace(bad.trace, width),
    );
  }
  if (c.token) {
    lines.push("", `replay token: ${c.token}`, `replay it:    ${replayCommandLine(c.token)}`);
  }
  return lines.join("\n") + "\n";
}

/** The machine-readable report of a check. */
export function checkJson(c: CheckResult, millis: number): unknown {
  const r = c.result;
  const cycle = r.inconclusive ? findCycle(r.inconclusive.trace.steps) : undefined;
  const livelock = cycle && {
    summary: livelockLine(cycle),
    from: cycle.from,
    times: cycle.times,
    round: cycle.round.map((s) => s.step),
  };
  return {
    strategy: c.strategy,
    scenario: c.scenario,
    mode: r.mode,
    verdict: c.verdict,
    outcome: c.outcome,
    expected: c.expected ?? null,
    asExpected: c.asExpected,
    exhaustive: r.exhaustive,
    executions: r.executions,
    pruned: r.pruned,
    maxDepth: r.maxDepth,
    violations: r.violations,
    millis: Math.round(millis),
    ...(c.token ? { token: c.token, replay: replayCommandLine(c.token) } : {}),
    ...(r.counterexample ? { counterexample: r.counterexample } : {}),
    ...(r.inconclusive ? { inconclusive: r.inconclusive } : {}),
    ...(livelock ? { livelock } : {}),
  };
}

/** `explore`. */
export const exploreCommand: Command = command({
  name: "explore",
  summary: "run one strategy on one scenario: verdict, trace, replay token",
  usage: USAGE,
  flags: FLAGS,
  async run({ flags }, io) {
    const strategy = strategyArg(flags.strategy);
    const scenario = scenarioArg(flags.scenario);
    const search = searchOf(flags);
    const width = traceWidth(flags.width, io);
    const timeLimitSeconds = timeLimitOf(flags["time-limit"]);
    const progress = new ProgressReporter(io);
    progress.start(`${strategy.name} × ${scenario.name}`);
    const start = io.now();
    // In a worker, with a time limit: a strategy stuck in a loop ends as an error result.
    const { check: c } = await checkInWorker(strategy, scenario, {
      ...search.options,
      timeLimitSeconds,
      onProgress: progress.update,
      progressEvery: PROGRESS_EVERY,
    });
    const millis = io.now() - start;
    progress.done();
    io.out(
      flags.json
        ? JSON.stringify(checkJson(c, millis), null, 2) + "\n"
        : formatCheck(c, search, millis, width),
    );
    return c.asExpected ? EXIT.ok : EXIT.unexpected;
  },
});
