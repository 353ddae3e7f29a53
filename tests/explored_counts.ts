/**
 * Explored execution counts are recorded (tests/explored_counts.json) and compared in
 * tests, as TLA+ examples record state counts: a change in a count is noticed and
 * must be explained in the commit. Run this file to re-record after such a change:
 *
 *     deno task bless
 *
 * @module
 */

import { runMatrixInWorkers } from "../mod.ts";

/** Where the counts live. */
export const COUNTS_FILE = new URL("./explored_counts.json", import.meta.url);

/** `strategy/scenario` → executions. */
export type Counts = Record<string, number>;

/** Reads the recorded counts. */
export function recordedCounts(): Counts {
  return JSON.parse(Deno.readTextFileSync(COUNTS_FILE));
}

if (import.meta.main) {
  const counts: Counts = {};
  for (const cell of await runMatrixInWorkers()) {
    counts[`${cell.strategy}/${cell.scenario}`] = cell.executions;
  }
  Deno.writeTextFileSync(COUNTS_FILE, JSON.stringify(counts, null, 2) + "\n");
  console.log(`recorded ${Object.keys(counts).length} counts in ${COUNTS_FILE.pathname}`);
}
