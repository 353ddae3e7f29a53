/**
 * `--time-limit S`: how long one strategy × scenario pair may run before it is stopped
 * and reported as an error. Every pair runs in a worker with this limit (see `pool.ts`
 * of the library), so that a strategy that loops without yielding ends the command with
 * an error naming it, not a hang. `explore` and `matrix` take the flag.
 *
 * @module
 */

import { DEFAULT_STALL_SECONDS, DEFAULT_TIME_LIMIT_SECONDS } from "../mod.ts";
import { UsageError } from "./args.ts";

/** The flag, for a command's flag specs. */
export const TIME_LIMIT_FLAG = { "time-limit": { type: "string" } } as const;

/** The flag's `--help` lines. */
export const TIME_LIMIT_HELP =
  `  --time-limit S   stop a pair that runs longer than S seconds and report it as an
                   error, with the last step it took (default ${DEFAULT_TIME_LIMIT_SECONDS}); one that
                   takes no step for ${DEFAULT_STALL_SECONDS} s (a loop that never yields) is stopped sooner`;

/** The limit the flag asks for, in seconds (a positive number, fractions allowed). */
export function timeLimitOf(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIME_LIMIT_SECONDS;
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) {
    throw new UsageError(`--time-limit must be a number of seconds above 0, not "${text}"`);
  }
  return n;
}
