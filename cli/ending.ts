/**
 * What the command line says of a deadlock ending in its verdict line. The explorer's
 * message says the rest: who waits for what, who holds it, and a holder that finished
 * without releasing it ("held by CPU0, which has finished without releasing it"),
 * which is the bug to look for when a fault forgets an unlock.
 *
 * @module
 */

import type { TraceViolation } from "../mod.ts";

/** A deadlock ending in words; undefined for any other violation. */
export function deadlockNote(v: TraceViolation | undefined): string | undefined {
  return v?.kind === "deadlock" ? "no CPU can go on" : undefined;
}
