/**
 * Traces for people: one column per CPU, one row per step, kernel function names, the
 * step that broke an invariant marked. A trace is plain data (it is also what the site
 * shows and the CLI prints as JSON).
 *
 * @module
 */

import type { Access } from "./step.ts";
import type { Execution } from "./execution.ts";
import type { ObjectReport, Violation } from "./violation.ts";

/** One row of a trace. */
export interface TraceStep {
  /** 1-based position in the execution. */
  readonly step: number;
  readonly thread: number;
  readonly threadName: string;
  readonly column: string;
  readonly label: string;
  readonly detail?: string;
  /** Name of the alternative taken, for a step that chose. */
  readonly choice?: string;
  readonly notes: readonly string[];
  readonly accesses: readonly Access[];
}

/** The violation a trace ends in. */
export interface TraceViolation {
  readonly kind: string;
  readonly message: string;
  readonly objects: readonly ObjectReport[];
  /** The step that broke the rule; absent when the end-of-execution check found it. */
  readonly step?: number;
}

/** A whole trace. */
export interface Trace {
  readonly columns: readonly string[];
  readonly steps: readonly TraceStep[];
  readonly violation?: TraceViolation;
}

/** Builds the trace of an execution; `violation` is how it ended, if badly. */
export function traceOf(
  exec: Execution,
  violation?: { violation: Violation; atExit: boolean },
): Trace {
  const steps: TraceStep[] = exec.events.map((e) => {
    const choice = e.request.choices?.[e.choice];
    return {
      step: e.index + 1,
      thread: e.thread,
      threadName: exec.threadName(e.thread),
      column: exec.column(e.thread),
      label: e.request.label,
      ...(e.request.detail !== undefined ? { detail: e.request.detail } : {}),
      ...(choice !== undefined ? { choice } : {}),
      notes: e.notes,
      accesses: e.request.accesses,
    };
  });
  const columns: string[] = [];
  for (let t = 0; t < exec.threadCount; t++) {
    const c = exec.column(t);
    if (!columns.includes(c)) columns.push(c);
  }
  if (!violation) return { columns, steps };
  const v = violation.violation;
  return {
    columns,
    steps,
    violation: {
      kind: v.kind,
      message: v.message,
      objects: v.objects,
      ...(violation.atExit || steps.length === 0 ? {} : { step: steps.length }),
    },
  };
}

/** The text of one step as a trace cell: `label detail [choice] → notes`. */
export function describeStep(s: TraceStep): string {
  let text = s.label;
  if (s.detail) text += ` ${s.detail}`;
  if (s.choice) text += ` [${s.choice}]`;
  if (s.notes.length) text += ` → ${s.notes.join(", ")}`;
  return text;
}

/** Options for {@linkcode formatTrace}. */
export interface FormatOptions {
  /** Widest a column may be; longer cells are cut with `…`. Default 64. */
  readonly width?: number;
}

/**
 * Prints a trace as a table with one column per CPU. The violating step is marked
 * `>>`, and the violation and the objects involved follow the table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatTrace } from "./trace.ts";
 * const text = formatTrace({
 *   columns: ["CPU0", "CPU1"],
 *   steps: [
 *     { step: 1, thread: 0, threadName: "CPU0", column: "CPU0", label: "rcu_read_lock", notes: [], accesses: [] },
 *     { step: 2, thread: 1, threadName: "CPU1", column: "CPU1", label: "mmap_write_lock", notes: [], accesses: [] },
 *   ],
 *   violation: { kind: "demo", message: "went wrong", objects: [], step: 2 },
 * });
 * assert.match(text, />> +2 \| +\| mmap_write_lock/);
 * ```
 */
export function formatTrace(trace: Trace, options: FormatOptions = {}): string {
  const width = options.width ?? 64;
  const cut = (s: string) => s.length > width ? s.slice(0, width - 1) + "…" : s;
  const cols = trace.columns.filter((c) => trace.steps.some((s) => s.column === c));
  const cells = trace.steps.map((s) => cut(describeStep(s)));
  const widths = cols.map((c) =>
    Math.max(c.length, ...trace.steps.map((s, i) => s.column === c ? cells[i].length : 0))
  );
  const stepWidth = Math.max(4, String(trace.steps.length).length);
  const row = (mark: string, num: string, values: string[]) =>
    `${mark.padEnd(2)} ${num.padStart(stepWidth)} | ` +
    values.map((v, i) => v.padEnd(widths[i])).join(" | ").trimEnd();
  const lines = [row("", "step", cols)];
  lines.push(`${"-".repeat(3 + stepWidth)}-+-` + widths.map((w) => "-".repeat(w)).join("-+-"));
  trace.steps.forEach((s, i) => {
    const bad = trace.violation?.step === s.step;
    lines.push(
      row(bad ? ">>" : "", String(s.step), cols.map((c) => c === s.column ? cells[i] : "")),
    );
  });
  const v = trace.violation;
  if (v) {
    lines.push("");
    lines.push(
      `${v.kind}${v.step === undefined ? " (at exit)" : ` at step ${v.step}`}: ${v.message}`,
    );
    for (const o of v.objects) {
      lines.push(`  ${o.name}:`);
      for (const h of o.history) lines.push(`    ${h}`);
    }
  }
  return lines.join("\n");
}
