/**
 * Traces as the command line prints them: the explorer's `formatTrace` table, made to
 * fit a width. Only a cell's description (`label detail [choice]`) is ever shortened,
 * never its outcome, the part after `→`: that is often the point of the step
 * (`mmap_seq_read_check mm->mm_lock_seq? → not locked`). How wide: `--width N`, else
 * the terminal's width when stdout is a terminal, else the whole width: a trace in a
 * file or a pipe is for reading whole, in a pager or a diff.
 *
 * @module
 */

import { formatTrace, type Trace, type TraceStep } from "../mod.ts";
import { UsageError } from "./args.ts";
import type { Io } from "./io.ts";

/** How wide a printed trace may be: a number of columns, or `full` (never shortened). */
export type TraceWidth = number | "full";

/** The narrowest `--width` accepted: below it not even two CPU columns of labels fit. */
export const MIN_WIDTH = 40;

/** A shortened description keeps at least this many characters (its `…` included). */
const MIN_HEAD = 12;

/** The flag, for a command's flag specs. */
export const WIDTH_FLAG = { width: { type: "string" } } as const;

/** The flag's `--help` lines. */
export const WIDTH_HELP =
  `  --width N        fit the trace into N columns: long steps are shortened with "…",
                   never their outcome after "→". "--width full" never shortens.
                   Default: the terminal's width when stdout is a terminal, else full`;

/** The width the flag asks for, else the default (see the module doc). */
export function traceWidth(text: string | undefined, io: Io): TraceWidth {
  if (text === undefined) return io.outColumns() ?? "full";
  if (text === "full") return "full";
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < MIN_WIDTH) {
    throw new UsageError(
      `--width must be a number of columns, at least ${MIN_WIDTH}, or "full"; not "${text}"`,
    );
  }
  return n;
}

/** A step's description and outcome: `label detail [choice]`, and ` → notes` or nothing. */
function parts(s: TraceStep): { head: string; tail: string } {
  let head = s.label;
  if (s.detail) head += ` ${s.detail}`;
  if (s.choice) head += ` [${s.choice}]`;
  return { head, tail: s.notes.length ? ` → ${s.notes.join(", ")}` : "" };
}

/**
 * `s` with its description shortened so that the cell is at most `cap` long, or as
 * short as it gets with the outcome whole: the outcome is kept even when it alone is
 * wider than `cap`.
 */
function shortened(s: TraceStep, cap: number): TraceStep {
  const { head, tail } = parts(s);
  if (head.length + tail.length <= cap) return s;
  const keep = Math.min(head.length, Math.max(cap - tail.length, MIN_HEAD));
  if (keep >= head.length) return s;
  // The description becomes the label and detail and choice go: formatTrace prints
  // `label → notes`, so the cell reads the shortened description, then the outcome.
  const { detail: _detail, choice: _choice, ...rest } = s;
  return { ...rest, label: head.slice(0, keep - 1) + "…" };
}

/**
 * The trace as a table no wider than `width` where the steps allow it (see
 * {@linkcode shortened}), with the violation and the objects' histories after it as
 * `formatTrace` prints them (those lines are never shortened).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fitTrace } from "./trace_text.ts";
 * const text = fitTrace({
 *   columns: ["CPU0"],
 *   steps: [{
 *     step: 1, thread: 0, threadName: "CPU0", column: "CPU0", label: "mmap_seq_read_check",
 *     detail: "mm->mm_lock_seq, a long detail that does not fit", notes: ["not locked"],
 *     accesses: [],
 *   }],
 * }, 48);
 * assert.match(text, /^ +1 \| mmap_seq_read_check mm->… → not locked$/m);
 * ```
 */
export function fitTrace(trace: Trace, width: TraceWidth): string {
  const whole = { width: Number.POSITIVE_INFINITY };
  if (width === "full") return formatTrace(trace, whole);
  // The layout of formatTrace: `>> ` then the step number, ` | `, cells joined by ` | `.
  const cols = trace.columns.filter((c) => trace.steps.some((s) => s.column === c));
  const stepWidth = Math.max(4, String(trace.steps.length).length);
  const room = width - (3 + stepWidth + 3) - 3 * Math.max(0, cols.length - 1);
  // How wide the columns are when every cell is cut to `cap`. A cell's outcome is
  // never cut, so a column can stay wider than `cap`: hence measured, not assumed.
  const widths = (cap: number) =>
    cols.map((c) =>
      Math.max(
        c.length,
        ...trace.steps.filter((s) => s.column === c).map((s) => {
          const { head, tail } = parts(shortened(s, cap));
          return head.length + tail.length;
        }),
      )
    );
  const total = (cap: number) => widths(cap).reduce((a, b) => a + b, 0);
  let cap = Math.max(...widths(Number.POSITIVE_INFINITY));
  if (total(cap) <= room) return formatTrace(trace, whole);
  // The widest columns give way first: the largest cap that makes the columns fit, or
  // the smallest there is when nothing does.
  while (cap > MIN_HEAD && total(cap) > room) cap--;
  // A column kept wide by one long outcome leaves room for its other cells: each is cut
  // to its column's width, not to the cap.
  const final = new Map(cols.map((c, i) => [c, widths(cap)[i]]));
  const steps = trace.steps.map((s) => shortened(s, final.get(s.column) ?? cap));
  return formatTrace({ ...trace, steps }, whole);
}
