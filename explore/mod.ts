/**
 * The interleaving explorer: a stateless model checker for programs written as
 * generators. It knows nothing of memory management; see {@link ../mm/mod.ts} for the
 * model it is used on.
 *
 * @module
 */

export * from "./step.ts";
export * from "./violation.ts";
export type {
  Decision,
  Ending,
  Event,
  Program,
  ProgramFactory,
  Runtime,
  ThreadSpec,
} from "./execution.ts";
export * from "./schedule.ts";
export * from "./trace.ts";
export * from "./explore.ts";
