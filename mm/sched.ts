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

/**
 * The shared object standing for every task's RCU read-side state (rcu.ts), with a
 * part per task: what a grace period reads.
 */
export const RCU_READERS = "rcu";
/** The shared object standing for every task's IRQ state (irq.ts), a part per task. */
export const IRQ_STATE = "irq";

/**
 * The value of `part` (a task's name) of `RCU_READERS` or `IRQ_STATE`, or of the whole
 * object, for the stateful search (`Kernel.stateOf`). A task that never entered a
 * section is described as one that has not run at all: tasks are created lazily.
 */
export function taskStateOf(
  tasks: readonly Task[],
  obj: typeof RCU_READERS | typeof IRQ_STATE,
  part: string | undefined,
): string {
  const of = (t: Task) =>
    obj === RCU_READERS
      ? `${t.rcuDepth}.${t.rcuSection}.${t.irqDepth}.${t.irqSection}`
      : `${t.irqDepth}.${t.irqSection}`;
  const idle = obj === RCU_READERS ? "0.0.0.0" : "0.0";
  if (part !== undefined) {
    const task = tasks.find((t) => t.name === part);
    return task ? of(task) : idle;
  }
  return tasks.filter((t) => of(t) !== idle).map((t) => `${t.name}=${of(t)}`).sort().join(" ");
}

/**
 * What a simulated CPU (or RCU callback) holds.
 *
 * Everything here is written only by the task itself. Its RCU depth and section are
 * also read by other CPUs (a grace period starting) and so are declared, as the
 * `"rcu"` object's part named after the task, by the steps that change them (its IRQ
 * depth and section likewise, as parts of `"irq"` and `"rcu"`: mm/irq.ts); the
 * task's own reads of its own fields (`might_sleep()`, the failure budget) need no
 * declaration: a read races only with another thread's store, and there is none.
 */
export class Task {
  readonly id: number;
  readonly name: string;
  /**
   * GFP_NOWAIT failures this task may still see. Per task, not per execution: a shared
   * budget would let one CPU's failure decide whether another CPU's allocation offers
   * the choice to fail, a dependency between steps that no declaration can carry (the
   * alternatives of a step are fixed when it is announced).
   */
  allocFailuresLeft: number;
  /** rcu_read_lock() nesting depth. */
  rcuDepth = 0;
  /** Counts this task's outermost RCU read-side sections; names the current one. */
  rcuSection = 0;
  /** local_irq_disable() nesting depth (mm/irq.ts); IRQs are off while it is above 0. */
  irqDepth = 0;
  /** Counts this task's outermost IRQs-off sections; names the current one. */
  irqSection = 0;
  /** Spinlocks held, innermost last. */
  readonly spinlocks: string[] = [];
  /** Sleeping locks held (rwsems), for the end-of-execution check. */
  readonly sleepingLocks: string[] = [];
  /**
   * The rwsems among `sleepingLocks` held for writing: lockdep's `held_lock.read == 0`,
   * what `lockdep_assert_held_write()` checks (`rwsem_assert_held()` in rwsem.ts).
   */
  readonly writeLocks: string[] = [];

  readonly #serials = new Map<string, number>();

  constructor(id: number, name: string, allocFailures = 0) {
    this.id = id;
    this.name = name;
    this.allocFailuresLeft = allocFailures;
  }

  /**
   * 1, 2, 3... per `kind`, counted by this task alone: names built from it (an RCU
   * callback's) do not depend on how other tasks' steps are ordered.
   */
  nextSerial(kind: string): number {
    const n = (this.#serials.get(kind) ?? 0) + 1;
    this.#serials.set(kind, n);
    return n;
  }

  /**
   * Everything this task keeps that no object holds, for a summary of its locals
   * (`Kernel.summarize()`): the search sees objects' values, not these.
   */
  stateOf(): string {
    return [
      this.allocFailuresLeft,
      this.rcuDepth,
      this.rcuSection,
      this.irqDepth,
      this.irqSection,
      this.spinlocks.join(","),
      this.sleepingLocks.join(","),
      this.writeLocks.join(","),
      [...this.#serials].join(","),
    ].join(" ");
  }

  get inAtomic(): boolean {
    return this.rcuDepth > 0 || this.irqDepth > 0 || this.spinlocks.length > 0;
  }
}

/**
 * `might_sleep()`: `what` may block, which is a bug inside an RCU read-side section,
 * with IRQs disabled (`irqs_disabled()` in `__might_resched()`) or under a spinlock.
 */
export function might_sleep(task: Task, what: string): void {
  if (!task.inAtomic) return;
  const context = task.rcuDepth > 0
    ? "inside an rcu_read_lock() section"
    : task.irqDepth > 0
    ? "with IRQs disabled"
    : `holding spinlock ${task.spinlocks[task.spinlocks.length - 1]}`;
  throw new Violation(
    "sleep-in-atomic",
    `BUG: sleeping function called from invalid context: ${task.name} calls ${what} ${context}`,
  );
}
