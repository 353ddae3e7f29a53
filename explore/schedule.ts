/**
 * A schedule is a plain value: the list of decisions of one execution. It prints as a
 * short string so that every failure can say how to replay it (shuttle's idea).
 *
 * Format: decisions separated by `.`; a decision is a thread id, `:choice` when the
 * step took a non-default alternative, and `*n` when the same decision repeats `n`
 * times. `0*3.1.1:1` is thread 0 three times, thread 1, thread 1 taking alternative 1.
 *
 * @module
 */

import type { Decision } from "./execution.ts";

/**
 * Encodes decisions as a compact string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeSchedule, encodeSchedule } from "./schedule.ts";
 * const s = [{ thread: 0, choice: 0 }, { thread: 0, choice: 0 }, { thread: 1, choice: 1 }];
 * assert.equal(encodeSchedule(s), "0*2.1:1");
 * assert.deepEqual(decodeSchedule("0*2.1:1"), s);
 * ```
 */
export function encodeSchedule(decisions: readonly Decision[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < decisions.length) {
    const d = decisions[i];
    let n = 1;
    while (
      i + n < decisions.length && decisions[i + n].thread === d.thread &&
      decisions[i + n].choice === d.choice
    ) n++;
    parts.push(`${d.thread}${d.choice ? `:${d.choice}` : ""}${n > 1 ? `*${n}` : ""}`);
    i += n;
  }
  return parts.join(".");
}

/** Parses a schedule string; throws a SyntaxError naming the bad part. */
export function decodeSchedule(text: string): Decision[] {
  const out: Decision[] = [];
  if (text.trim() === "") return out;
  for (const part of text.trim().split(".")) {
    const m = /^(\d+)(?::(\d+))?(?:\*(\d+))?$/.exec(part);
    if (!m) throw new SyntaxError(`bad schedule part "${part}" in "${text}"`);
    const decision = { thread: Number(m[1]), choice: Number(m[2] ?? 0) };
    for (let n = Number(m[3] ?? 1); n > 0; n--) out.push({ ...decision });
  }
  return out;
}
