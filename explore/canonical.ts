/**
 * A canonical name for the Mazurkiewicz trace of an execution: two executions get the
 * same name exactly when one can be turned into the other by swapping adjacent steps
 * that the declared accesses say are independent. The name lists the steps in the
 * lexicographically least order the happens-before relation allows (threads by their
 * stable keys), so it is independent of the order the execution happened to take.
 *
 * This is how the tests and the benchmark count distinct traces without trusting the
 * search that is being measured: plain DFS visits every interleaving, and the number
 * of distinct names is the number of traces.
 *
 * @module
 */

import type { Execution } from "./execution.ts";

/**
 * The canonical name of `exec`'s trace.
 *
 * @example Two independent writes: both orders are one trace.
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalTrace } from "./canonical.ts";
 * import { runExecution } from "./driver.ts";
 * import type { ProgramFactory } from "./execution.ts";
 * const program: ProgramFactory = () => ({
 *   threads: ["x", "y"].map((obj) => ({
 *     name: obj,
 *     body: function* () {
 *       yield { label: "w", accesses: [{ obj, kind: "write" as const }] };
 *     },
 *   })),
 * });
 * const order = (first: number) => ({
 *   decide: (_: unknown, enabled: readonly number[]) => ({
 *     thread: enabled.includes(first) ? first : enabled[0],
 *     choice: 0,
 *   }),
 * });
 * const a = runExecution(program, order(0), 10).exec;
 * const b = runExecution(program, order(1), 10).exec;
 * assert.equal(canonicalTrace(a), canonicalTrace(b));
 * ```
 */
export function canonicalTrace(exec: Execution): string {
  const byThread = new Map<number, typeof exec.events[number][]>();
  for (const e of exec.events) {
    let list = byThread.get(e.thread);
    if (!list) byThread.set(e.thread, list = []);
    list.push(e);
  }
  const threads = [...byThread.keys()].sort((a, b) =>
    exec.key(a) < exec.key(b) ? -1 : exec.key(a) > exec.key(b) ? 1 : 0
  );
  const placed = new Map<number, number>(threads.map((t) => [t, 0]));
  const out: string[] = [];
  for (let n = 0; n < exec.events.length; n++) {
    const ready = threads.find((t) => {
      const e = byThread.get(t)![placed.get(t)!];
      return e !== undefined &&
        threads.every((u) => u === t || (e.clock[u] ?? 0) <= placed.get(u)!);
    })!;
    const e = byThread.get(ready)![placed.get(ready)!];
    placed.set(ready, placed.get(ready)! + 1);
    out.push(`${exec.key(ready)}:${e.request.label}${e.choice ? `/${e.choice}` : ""}`);
  }
  return out.join(" ");
}
