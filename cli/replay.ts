/**
 * `replay TOKEN`: runs the schedule a replay token records, and prints its trace step
 * by step, then the rule broken at the violating step and the state of the objects
 * involved (each with its history).
 *
 * @module
 */

import { decodeSchedule, parseToken, type Replayed, replayToken } from "../mod.ts";
import { type Command, command, EXIT, scenarioArg, strategyArg, UsageError } from "./args.ts";
import { deadlockNote } from "./ending.ts";
import { CLI, plural } from "./format.ts";
import { fitTrace, type TraceWidth, traceWidth, WIDTH_FLAG, WIDTH_HELP } from "./trace_text.ts";

const USAGE = `Usage: ${CLI} replay [--json] [--width N] TOKEN

Runs again the schedule a replay token records (explore, matrix and the design notes
print one for every counterexample) and prints its trace: one column per CPU, one row
per step, ">>" on the step that broke a rule; then the rule and the state of the
objects involved, with their history. Quote the token: its schedule contains "*".

  TOKEN            faultline1:<strategy>:<scenario>:<schedule>; nothing may follow
                   the schedule, not even decisions the run never reaches
  --json           print the replayed run (strategy, scenario, ending, trace) as JSON
${WIDTH_HELP}
  -h, --help       this text

Exit status:
  0  the schedule ends as the strategy's declaration for the scenario allows: in the
     declared violation, or without a violation (one schedule cannot refute a
     declared violation; the report then says that it ends otherwise than declared)
  1  it ends in a violation, error or livelock the strategy does not declare for the
     scenario
  2  bad usage, or a bad token: malformed, an unknown strategy or scenario, or a
     schedule that does not fit the program (the model changed since it was recorded)

Example:
  ${CLI} replay 'faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0'`;

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

/** How the run ended, for the `ending:` line. */
function endingText(run: Replayed): string {
  const v = run.trace.violation;
  if (run.kind === "none") return "no violation";
  if (run.kind === "step-budget") return "no end within the step budget (a livelock?)";
  const note = deadlockNote(v);
  return `${run.kind}${v?.step !== undefined ? ` at step ${v.step}` : " (at exit)"}` +
    (note ? ` (${note})` : "");
}

/**
 * What the strategy declares, and how this run compares. A run without a violation
 * where one is declared exits 0 (one schedule refutes nothing) but is not "as found":
 * it says that it ends otherwise than declared.
 */
function declaredText(run: Replayed): string {
  const expected = strategyArg(run.strategy).expected[run.scenario];
  const declared = expected ?? "(none)";
  const outcome = replayOutcome(run);
  if (outcome === "none" && expected !== undefined && expected !== "safe") {
    return `${declared}; this schedule ends without a violation,\n` +
      `          unlike what the strategy declares (exit 0 all the same: one schedule\n` +
      `          cannot refute a declared violation)`;
  }
  return replayAsExpected(run)
    ? `${declared}, as found`
    : `${declared}, but found ${outcome}: UNEXPECTED`;
}

/** The human-readable report of a replay; the trace fits `width`. */
export function formatReplay(token: string, run: Replayed, width: TraceWidth = "full"): string {
  return [
    `token:    ${token.trim()}`,
    `strategy: ${run.strategy}`,
    `scenario: ${run.scenario}`,
    `ending:   ${endingText(run)}, after ${plural(run.trace.steps.length, "step")}`,
    `declared: ${declaredText(run)}`,
    "",
    fitTrace(run.trace, width),
  ].join("\n") + "\n";
}

/** `token` with a line under it marking `length` characters from `offset`, and why. */
function pointAt(token: string, offset: number, length: number, why: string): string {
  return `\n  ${token}\n  ${" ".repeat(offset)}${"^".repeat(Math.max(1, length))} ${why}`;
}

/** `run()`'s SyntaxError, or undefined if it throws none. */
function syntaxErrorOf(run: () => unknown): SyntaxError | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (e instanceof SyntaxError) return e;
    throw e;
  }
}

/**
 * What is wrong with the token's text, with where, checked before anything runs: its
 * parts (a fifth `:` part is shown), then its schedule (the first decision that does
 * not parse is shown).
 */
function syntaxProblem(token: string): string | undefined {
  const bad = syntaxErrorOf(() => parseToken(token));
  const colons = [...token.matchAll(/:/g)].map((m) => m.index);
  if (bad) {
    return bad.message +
      (colons.length > 3
        ? pointAt(token, colons[3], token.length - colons[3], "a token has four parts")
        : "");
  }
  const schedule = parseToken(token).schedule;
  const wrong = syntaxErrorOf(() => decodeSchedule(schedule));
  if (!wrong) return undefined;
  // The decision to point at: the first that does not parse on its own.
  let offset = colons[2] + 1;
  for (const part of schedule.split(".")) {
    if (part === "" || part.trim() !== part || syntaxErrorOf(() => decodeSchedule(part))) {
      return `bad replay token: ${wrong.message}` +
        pointAt(token, offset, part.length, "not a decision (thread[:choice][*count])");
    }
    offset += part.length + 1;
  }
  return `bad replay token: ${wrong.message}`;
}

/**
 * Decisions of `schedule` the run never reached (it ended after `steps` steps), with
 * where they start; undefined when every decision was used. Each step takes one
 * decision, so more decisions than steps is text after the schedule's end.
 */
function unusedDecisions(
  schedule: string,
  steps: number,
): { offset: number; total: number; partly?: number } | undefined {
  const total = decodeSchedule(schedule).length;
  if (total <= steps) return undefined;
  let used = 0;
  let offset = 0;
  for (const part of schedule.split(".")) {
    const n = decodeSchedule(part).length;
    // A `thread*count` part the run ends inside: `partly` of its decisions were used.
    if (used + n > steps) {
      return { offset, total, ...(used < steps ? { partly: steps - used } : {}) };
    }
    used += n;
    offset += part.length + 1;
  }
  return { offset, total };
}

/** Replays `token`, turning every way it can be bad into a usage error that shows where. */
export function replayChecked(token: string): Replayed {
  const text = token.trim();
  const problem = syntaxProblem(text);
  if (problem) throw new UsageError(problem);
  const parts = parseToken(text);
  strategyArg(parts.strategy);
  scenarioArg(parts.scenario);
  let run: Replayed;
  try {
    run = replayToken(text);
  } catch (e) {
    // Everything the model does wrong is caught as a violation; what escapes is a
    // schedule that names a thread that cannot run: the token does not fit.
    throw new UsageError(
      `bad replay token: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const steps = run.trace.steps.length;
  const unused = unusedDecisions(parts.schedule, steps);
  if (unused) {
    const at = text.length - parts.schedule.length + unused.offset;
    throw new UsageError(
      `bad replay token: the run ends after ${plural(steps, "step")}, but the schedule has ` +
        `${plural(unused.total, "decision")}: the rest is not part of the token` +
        pointAt(
          text,
          at,
          text.length - at,
          unused.partly !== undefined
            ? `only ${unused.partly} used of this: the run ended at step ${steps}`
            : `never used: the run ended at step ${steps}`,
        ),
    );
  }
  return run;
}

/** `replay`. */
export const replayCommand: Command = command({
  name: "replay",
  summary: "run a replay token's schedule again and print its trace",
  usage: USAGE,
  flags: { json: { type: "boolean" }, ...WIDTH_FLAG },
  maxPositionals: 1,
  run({ flags, positionals }, io) {
    const token = positionals[0];
    if (token === undefined) throw new UsageError("a replay token is required");
    const width = traceWidth(flags.width, io);
    const run = replayChecked(token);
    io.out(
      flags.json
        ? JSON.stringify({ token: token.trim(), outcome: replayOutcome(run), ...run }, null, 2) +
          "\n"
        : formatReplay(token, run, width),
    );
    return replayAsExpected(run) ? EXIT.ok : EXIT.unexpected;
  },
});
