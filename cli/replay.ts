/**
 * `replay TOKEN`: runs the schedule a replay token records, and prints its trace step
 * by step, then the rule broken at the violating step and the state of the objects
 * involved (each with its history).
 *
 * @module
 */

import { decodeSchedule, formatTrace, parseToken, type Replayed, replayToken } from "../mod.ts";
import {
  asUsage,
  type Command,
  command,
  EXIT,
  scenarioArg,
  strategyArg,
  UsageError,
} from "./args.ts";
import { plural } from "./format.ts";

const USAGE = `Usage: deno task cli replay [--json] TOKEN

Runs again the schedule a replay token records (explore, matrix and the design notes
print one for every counterexample) and prints its trace: one column per CPU, one row
per step, ">>" on the step that broke a rule; then the rule and the state of the
objects involved, with their history. Quote the token: its schedule contains "*".

  TOKEN        faultline1:<strategy>:<scenario>:<schedule>
  --json       print the replayed run (strategy, scenario, ending, trace) as JSON
  -h, --help   this text

Exit status:
  0  the schedule ends as the strategy's declaration for the scenario allows: in the
     declared violation, or without a violation (one schedule cannot refute a
     declared violation)
  1  it ends in a violation, error or livelock the strategy does not declare for the
     scenario
  2  bad usage, or a bad token: malformed, an unknown strategy or scenario, or a
     schedule that does not fit the program (the model changed since it was recorded)

Example:
  deno task cli replay 'faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0'`;

/** The outcome a replayed run shows, in the words expectations use; `none` if it ends well. */
export function replayOutcome(run: Replayed): string {
  if (run.kind === "none") return "none";
  if (run.kind === "step-budget") return "inconclusive";
  if (run.kind === "exception") return "error:exception";
  return `violation:${run.kind}`;
}

/** Whether a replayed run agrees with what its strategy declares for its scenario. */
export function replayAsExpected(run: Replayed): boolean {
  const outcome = replayOutcome(run);
  return outcome === "none" || outcome === strategyArg(run.strategy).expected[run.scenario];
}

/** The human-readable report of a replay. */
export function formatReplay(token: string, run: Replayed): string {
  const v = run.trace.violation;
  const ending = run.kind === "none"
    ? "no violation"
    : run.kind === "step-budget"
    ? "no end within the step budget (a livelock?)"
    : `${run.kind}${v?.step !== undefined ? ` at step ${v.step}` : " (at exit)"}`;
  const expected = strategyArg(run.strategy).expected[run.scenario];
  return [
    `token:    ${token.trim()}`,
    `strategy: ${run.strategy}`,
    `scenario: ${run.scenario}`,
    `ending:   ${ending}, after ${plural(run.trace.steps.length, "step")}`,
    `declared: ${expected ?? "(none)"}, ` +
    (replayAsExpected(run) ? "as found" : `but found ${replayOutcome(run)}: UNEXPECTED`),
    "",
    formatTrace(run.trace),
  ].join("\n") + "\n";
}

/** Replays `token`, turning every way it can be bad into a usage error. */
export function replayChecked(token: string): Replayed {
  const parts = asUsage(SyntaxError, () => parseToken(token));
  asUsage(SyntaxError, () => decodeSchedule(parts.schedule));
  strategyArg(parts.strategy);
  scenarioArg(parts.scenario);
  try {
    return replayToken(token);
  } catch (e) {
    // Everything the model does wrong is caught as a violation; what escapes is a
    // schedule that names a thread that cannot run: the token does not fit.
    throw new UsageError(
      `bad replay token: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** `replay`. */
export const replayCommand: Command = command({
  name: "replay",
  summary: "run a replay token's schedule again and print its trace",
  usage: USAGE,
  flags: { json: { type: "boolean" } },
  maxPositionals: 1,
  run({ flags, positionals }, io) {
    const token = positionals[0];
    if (token === undefined) throw new UsageError("a replay token is required");
    const run = replayChecked(token);
    io.out(
      flags.json
        ? JSON.stringify({ token: token.trim(), outcome: replayOutcome(run), ...run }, null, 2) +
          "\n"
        : formatReplay(token, run),
    );
    return replayAsExpected(run) ? EXIT.ok : EXIT.unexpected;
  },
});
