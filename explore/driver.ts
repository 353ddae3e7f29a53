/**
 * The outer loop of one execution, shared by every search policy: ask the policy
 * which thread runs next, run it, and stop on a violation, a deadlock, the end, or the
 * step budget. The step budget turns a livelock into an inconclusive result instead of
 * a hang.
 *
 * @module
 */

import { type Decision, type Ending, Execution, type ProgramFactory } from "./execution.ts";

/** A search policy's side of one execution. */
export interface Policy {
  /**
   * Picks the next decision among the enabled threads (never empty), or `"prune"` to
   * abandon this execution as redundant. `depth` is the number of steps so far.
   */
  decide(exec: Execution, enabled: readonly number[], depth: number): Decision | "prune";
}

/** The outcome of one execution. */
export interface Run {
  readonly exec: Execution;
  readonly ending: Ending;
  readonly decisions: readonly Decision[];
  /** Context switches away from a thread that could have continued. */
  readonly preemptions: number;
}

/**
 * Runs one execution of `factory` as `policy` decides; with `states`, one that tracks
 * its state ({@linkcode Execution.stateKey}).
 */
export function runExecution(
  factory: ProgramFactory,
  policy: Policy,
  maxSteps: number,
  states = false,
): Run {
  const exec = new Execution(factory, { states });
  const decisions: Decision[] = [];
  let preemptions = 0;
  let last = -1;
  const end = (ending: Ending): Run => ({ exec, ending, decisions, preemptions });
  for (;;) {
    const depth = exec.events.length;
    const enabled = exec.enabled();
    if (enabled.length === 0) {
      if (exec.liveWorkers().length > 0) {
        return end({
          kind: "violation",
          violation: exec.deadlock(),
          atExit: false,
          deadlock: true,
        });
      }
      const violation = exec.finish();
      return end(violation ? { kind: "violation", violation, atExit: true } : { kind: "done" });
    }
    if (depth >= maxSteps) return end({ kind: "step-budget", limit: maxSteps });
    const decision = policy.decide(exec, enabled, depth);
    if (decision === "prune") return end({ kind: "pruned" });
    if (!enabled.includes(decision.thread)) {
      throw new Error(
        `schedule diverged at step ${depth + 1}: ${
          exec.threadName(decision.thread)
        } is not runnable ` +
          `(runnable: ${enabled.map((t) => exec.threadName(t)).join(", ")})`,
      );
    }
    if (decision.thread !== last && enabled.includes(last)) preemptions++;
    last = decision.thread;
    decisions.push(decision);
    const violation = exec.step(decision.thread, decision.choice);
    if (violation) return end({ kind: "violation", violation, atExit: false });
  }
}
