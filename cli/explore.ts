/**
 * `explore`: one strategy on one scenario. Prints what the search covered, the
 * verdict (never "safe" unless the search was exhaustive), the clearest trace, and the
 * replay token with the command that replays it.
 *
 * @module
 */

import { check, type CheckResult, type Counterexample, formatTrace } from "../mod.ts";
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
import { count, duration, plural, replayCommandLine } from "./format.ts";
import { PROGRESS_EVERY, ProgressReporter } from "./progress.ts";

const FLAGS = {
  strategy: { type: "string" },
  scenario: { type: "string" },
  ...SEARCH_FLAGS,
  json: { type: "boolean" },
} as const;

const USAGE = `Usage: deno task cli explore --strategy S --scenario W [flags]

Runs strategy S on scenario W under every schedule that matters (or a bounded or
random sample of them) and prints what the search covered, the verdict, the clearest
trace found (fewest preemptions, then fewest steps), and its replay token with the
command that replays it. Progress goes to stderr on long runs.

Flags:
  --strategy S     the strategy (see \`list\`)
  --scenario W     the scenario (see \`list\`)
${SEARCH_HELP}
  --json           print the result as JSON on stdout (trace included)
  -h, --help       this text

Exit status:
  0  the outcome is what S declares for W
  1  it is not. A search that stopped before it was exhaustive (--budget, --mode
     random, or a preemption bound that cut schedules) and found no violation has
     the outcome "not-exhaustive", never "safe": it exits 1 where S declares "safe".
     A violation it finds is real, and counts.
  2  bad usage: unknown strategy, scenario or flag, or a bad value

Example:
  deno task cli explore --strategy rcu-gfp-nowait --scenario fault-vs-munmap`;

/** How far a search went: `"exhaustive: …"`, or `"not exhaustive: stopped after N executions (…)"`. */
export function coverage(c: CheckResult, search: Search): string {
  const r = c.result;
  if (r.exhaustive) return "exhaustive: every schedule that matters was explored";
  const why = r.counterexample?.kind === "exception"
    ? "the model code threw"
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
    case "violation":
      return `violation: ${r.counterexample!.kind}`;
    case "error":
      return "error: the model code threw";
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
  switch (search.mode) {
    case "exhaustive":
      return "DPOR (exhaustive mode)";
    case "bounded":
      return `bounded DFS, at most ${plural(search.preemptions ?? 2, "preemption")}`;
    case "random":
      return `random, seed ${search.seed ?? 1}`;
  }
}

/** The bad execution to show: the counterexample, else the livelock. */
function shown(c: CheckResult): Counterexample | undefined {
  return c.result.counterexample ?? c.result.inconclusive;
}

/** The human-readable report of a check. */
export function formatCheck(c: CheckResult, search: Search, millis: number): string {
  const r = c.result;
  const lines = [
    `strategy: ${c.strategy}`,
    `scenario: ${c.scenario}`,
    `search:   ${searchText(search)}: ${plural(r.executions, "execution")}, ` +
    `${count(r.pruned)} pruned, deepest ${plural(r.maxDepth, "step")}, ${duration(millis)}`,
    `verdict:  ${verdictText(c)}`,
    `          ${coverage(c, search)}`,
    `declared: ${c.expected ?? "(none)"}, ` +
    (c.asExpected ? "as found" : `but found ${c.outcome}: UNEXPECTED`),
  ];
  const bad = shown(c);
  if (bad) {
    lines.push(
      "",
      `trace (${plural(bad.preemptions, "preemption")}, ${
        plural(bad.trace.steps.length, "step")
      }):`,
      "",
      formatTrace(bad.trace),
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
  };
}

/** `explore`. */
export const exploreCommand: Command = command({
  name: "explore",
  summary: "run one strategy on one scenario: verdict, trace, replay token",
  usage: USAGE,
  flags: FLAGS,
  run({ flags }, io) {
    const strategy = strategyArg(flags.strategy);
    const scenario = scenarioArg(flags.scenario);
    const search = searchOf(flags);
    const progress = new ProgressReporter(io);
    progress.start(`${strategy.name} × ${scenario.name}`);
    const start = io.now();
    const c = check(strategy, scenario, {
      ...search.options,
      onProgress: progress.update,
      progressEvery: PROGRESS_EVERY,
    });
    const millis = io.now() - start;
    progress.done();
    io.out(
      flags.json
        ? JSON.stringify(checkJson(c, millis), null, 2) + "\n"
        : formatCheck(c, search, millis),
    );
    return c.asExpected ? EXIT.ok : EXIT.unexpected;
  },
});
