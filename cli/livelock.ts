/**
 * A livelock, as a person wants to read it: the cycle the CPUs repeat, not the
 * thousands of rows that repeat it. An execution that hits the step budget ends with
 * the same few steps over and over (a trylock that fails, a retry, the trylock again);
 * {@linkcode findCycle} finds the shortest such round at the end of the trace, and
 * {@linkcode livelockLine} and {@linkcode livelockTable} say it in one line and show
 * the rows before it and the round once.
 *
 * Steps are compared by CPU, label and detail: what a step does to what. Its notes (what
 * it found) are left out, so that a round is the same code path, whatever it read.
 *
 * @module
 */

import type { Trace, TraceStep } from "../mod.ts";
import { count, plural } from "./format.ts";

/** The round a trace ends repeating. */
export interface Cycle {
  /** Step number (1-based, as the trace shows it) of the round's first step. */
  readonly from: number;
  /** One round: the steps from `from`, as the trace has them. */
  readonly round: readonly TraceStep[];
  /** Whole rounds from `from` to the end of the trace. */
  readonly times: number;
  /** Step number of the trace's last step. */
  readonly to: number;
}

/** What makes two steps the same step of a round. */
function keyOf(s: TraceStep): string {
  return `${s.thread}\0${s.label}\0${s.detail ?? ""}`;
}

/**
 * The shortest round the end of `steps` repeats at least `minTimes` times (whole), as
 * early as the repetition goes back; undefined if there is none.
 *
 * @example A CPU that retries a trylock forever after two steps of set-up.
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCycle } from "./livelock.ts";
 * const step = (n: number, label: string) =>
 *   ({ step: n, thread: 0, threadName: "CPU0", column: "CPU0", label, notes: [], accesses: [] });
 * const labels = ["lock_mm", "find_vma", ...Array(6).fill(["trylock", "retry"]).flat()];
 * const cycle = findCycle(labels.map((l, i) => step(i + 1, l)))!;
 * assert.equal(cycle.from, 3);
 * assert.deepEqual(cycle.round.map((s) => s.label), ["trylock", "retry"]);
 * assert.equal(cycle.times, 6);
 * ```
 */
export function findCycle(steps: readonly TraceStep[], minTimes = 2): Cycle | undefined {
  const n = steps.length;
  // Steps as small numbers, so that comparing two is cheap (5,000 steps, up to n/2 periods).
  const ids = new Map<string, number>();
  const key = steps.map((s) => {
    const k = keyOf(s);
    let id = ids.get(k);
    if (id === undefined) ids.set(k, id = ids.size);
    return id;
  });
  for (let period = 1; period * minTimes <= n; period++) {
    // The repetition with this period reaches back to `start`: key[j] = key[j + period]
    // for every j from start on.
    let start = n - period;
    while (start > 0 && key[start - 1] === key[start - 1 + period]) start--;
    const times = Math.floor((n - start) / period);
    if (times >= minTimes) {
      return {
        from: steps[start].step,
        round: steps.slice(start, start + period),
        times,
        to: steps[n - 1].step,
      };
    }
  }
  return undefined;
}

/** What one step does, as the livelock line names it: `label detail`. */
function stepText(s: TraceStep): string {
  return s.detail ? `${s.label} ${s.detail}` : s.label;
}

/** Steps of one CPU the line lists before it says how many more. */
const LISTED = 4;

/**
 * The cycle in one line: `livelock: CPU0 repeats spin_trylock, retry (2,499 times) from
 * step 3`; with several CPUs in the round, `CPU0 repeats … and CPU1 repeats …`.
 */
export function livelockLine(cycle: Cycle): string {
  const byCpu = new Map<string, string[]>();
  for (const s of cycle.round) {
    const list = byCpu.get(s.threadName) ?? [];
    list.push(stepText(s));
    byCpu.set(s.threadName, list);
  }
  const parts = [...byCpu].map(([cpu, texts]) => {
    const listed = texts.length > LISTED
      ? [...texts.slice(0, LISTED), `… (${plural(texts.length, "step")} in all)`]
      : texts;
    return `${cpu} repeats ${listed.join(", ")}`;
  });
  return `livelock: ${parts.join(" and ")} (${count(cycle.times)} times) from step ${
    count(cycle.from)
  }`;
}

/** Rows before the round that {@linkcode livelockTable} shows at most. */
export const HEAD_ROWS = 10;

/**
 * The trace abridged: its first rows (at most `head`), a line for the rows left out,
 * the round once, and a line for the rounds after it. `format` prints a trace as a
 * table (`formatTrace`, or the command line's fitted form); it is given the abridged
 * trace, so the columns fit what is shown.
 */
export function livelockTable(
  trace: Trace,
  cycle: Cycle,
  format: (trace: Trace) => string,
  head = HEAD_ROWS,
): string {
  const before = trace.steps.filter((s) => s.step < cycle.from);
  const prefix = before.slice(0, head);
  const table = format({ columns: trace.columns, steps: [...prefix, ...cycle.round] })
    .split("\n");
  // The table: a header row, a rule, then one row per step shown.
  const gap = (text: string) => `${"".padEnd(2)} ${"…".padStart(4)} | ${text}`;
  if (before.length > prefix.length) {
    table.splice(
      2 + prefix.length,
      0,
      gap(`steps ${count(prefix.length + 1)} to ${count(cycle.from - 1)} left out`),
    );
  }
  const rest = cycle.to - (cycle.from + cycle.round.length) + 1;
  if (rest > 0) {
    table.push(
      gap(
        `the round above again, ${count(cycle.times - 1)} more times, to step ${count(cycle.to)} (${
          plural(rest, "step")
        } left out)`,
      ),
    );
  }
  return table.join("\n");
}
