/**
 * Task context: what the running CPU holds, and the rule that a task must not sleep in
 * atomic context.
 *
 * Follows: kernel/sched/core.c `__might_sleep()` ("BUG: sleeping function called from
 * invalid context"), include/linux/rcupdate.h (rcu_read_lock() makes the section
 * atomic in a non-preemptible kernel), Linux 5.18. Modelled as a kernel without
 * CONFIG_PREEMPT_RCU, where sleeping in an RCU read-side section is always a bug.
 *
 * @module
 */

import { Violation } from "../explore/mod.ts";

/** What a simulated CPU (or RCU callback) holds. */
export class Task {
  readonly id: number;
  readonly name: string;
  /** rcu_read_lock() nesting depth. */
  rcuDepth = 0;
  /** Counts this task's outermost RCU read-side sections; names the current one. */
  rcuSection = 0;
  /** Spinlocks held, innermost last. */
  readonly spinlocks: string[] = [];
  /** Sleeping locks held (rwsems), for the end-of-execution check. */
  readonly sleepingLocks: string[] = [];

  constructor(id: number, name: string) {
    this.id = id;
    this.name = name;
  }

  get inAtomic(): boolean {
    return this.rcuDepth > 0 || this.spinlocks.length > 0;
  }
}

/**
 * `might_sleep()`: `what` may block, which is a bug inside an RCU read-side section or
 * under a spinlock.
 */
export function might_sleep(task: Task, what: string): void {
  if (!task.inAtomic) return;
  const context = task.rcuDepth > 0
    ? "inside an rcu_read_lock() section"
    : `holding spinlock ${task.spinlocks[task.spinlocks.length - 1]}`;
  throw new Violation(
    "sleep-in-atomic",
    `BUG: sleeping function called from invalid context: ${task.name} calls ${what} ${context}`,
  );
}
