/**
 * A broken invariant, thrown by model code from inside a step (or from the program's
 * end-of-execution check) and caught by the explorer, which attaches the schedule.
 *
 * The explorer itself raises two kinds: `deadlock` (every live thread blocked) and
 * `exception` (model or strategy code threw something that is not a Violation: a bug
 * in the model, reported with its stack, never mistaken for a race).
 *
 * @module
 */

/** An object named in a report, with the story of its life so far. */
export interface ObjectReport {
  readonly name: string;
  /** One line per event, oldest first, e.g. `"allocated by CPU0 in pmd_alloc (step 7)"`. */
  readonly history: readonly string[];
}

/** A violation of the model's rules, e.g. a use-after-free. */
export class Violation extends Error {
  /** Short stable name, e.g. `"use-after-free"`, used in verdicts and expectations. */
  readonly kind: string;
  /** The objects involved, for the trace's object panel. */
  readonly objects: readonly ObjectReport[];

  constructor(kind: string, message: string, objects: readonly ObjectReport[] = []) {
    super(message);
    this.name = "Violation";
    this.kind = kind;
    this.objects = objects;
  }
}
