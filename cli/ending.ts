/**
 * What the command line adds to a deadlock ending. The explorer's message names who
 * waits for what and who holds it ("CPU1 waits in mmap_write_lock for mm->mmap_lock
 * (held by CPU0)"), but not that the holder has finished: the run went on without it,
 * so it returned still holding the lock, which is the bug to look for. A holder that
 * is not among the waiters of "every CPU is blocked" is such a thread (the waiters are
 * every thread still running), unless it is an RCU callback, which may stay blocked.
 *
 * @module
 */

import type { TraceViolation } from "../mod.ts";

/** A thread that finished while holding what a blocked thread waits for. */
export interface FinishedHolder {
  readonly thread: string;
  readonly resource: string;
}

/**
 * The threads of a deadlock that finished holding a lock, read from the explorer's
 * message; none for any other violation, or when the message says it already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { finishedHolders } from "./ending.ts";
 * assert.deepEqual(
 *   finishedHolders({
 *     kind: "deadlock",
 *     message: "every CPU is blocked: CPU1 waits in mmap_write_lock for mm->mmap_lock (held by CPU0)",
 *     objects: [],
 *   }),
 *   [{ thread: "CPU0", resource: "mm->mmap_lock" }],
 * );
 * ```
 */
export function finishedHolders(v: TraceViolation): FinishedHolder[] {
  const prefix = "every CPU is blocked: ";
  if (v.kind !== "deadlock" || !v.message.startsWith(prefix) || /\bfinished\b/.test(v.message)) {
    return [];
  }
  const waits = v.message.slice(prefix.length).split("; ").map((clause) =>
    /^(\S+) waits in \S+ for (.+?)(?: \(held by (.+)\))?$/.exec(clause)
  );
  const waiters = new Set(waits.map((m) => m?.[1]));
  const found: FinishedHolder[] = [];
  for (const m of waits) {
    if (!m?.[3]) continue;
    for (const thread of m[3].split(", ")) {
      if (waiters.has(thread) || thread.startsWith("RCU(")) continue;
      if (!found.some((f) => f.thread === thread && f.resource === m[2])) {
        found.push({ thread, resource: m[2] });
      }
    }
  }
  return found;
}

/**
 * A deadlock ending in words: `no CPU can go on`, then each thread that finished
 * holding a lock; undefined for any other violation.
 */
export function deadlockNote(v: TraceViolation | undefined): string | undefined {
  if (v?.kind !== "deadlock") return undefined;
  const finished = finishedHolders(v).map((f) =>
    `${f.thread} finished still holding ${f.resource}, never releasing it`
  );
  return ["no CPU can go on", ...finished].join("; ");
}
