/**
 * IRQs-off sections, and the IPI that waits for them.
 *
 * `local_irq_disable()` / `local_irq_enable()` bracket a section in which the CPU
 * takes no interrupt: nothing in it may sleep (`might_sleep()` in sched.ts treats it as
 * atomic), an IPI sent to the CPU waits until it ends, and, since the RCU flavour
 * consolidation of Linux 5.0 (RCU-sched folded into RCU: `synchronize_rcu()` also
 * waits for regions with preemption or IRQs disabled, Documentation/RCU/whatisRCU.rst),
 * it also holds up RCU grace periods, so `readersNow()` in rcu.ts counts it as a
 * reader.
 *
 * The IPI is {@linkcode wait_for_ipi}: the sender (here `tlb_finish_mmu()` in memory.ts,
 * standing for `flush_tlb_mm_range()` → `native_flush_tlb_multi()`, or for
 * `tlb_remove_table_sync_one()` → `smp_call_function(..., 1)`) samples which other
 * CPUs have IRQs off, then blocks until each of those sections has ended, as a grace
 * period does in rcu.ts. As there, the model waits exactly for the sections present
 * when the IPI is sent: a CPU that disables IRQs later, before taking the interrupt,
 * would hold it up in the kernel; not waiting for it can only hide a bug.
 *
 * IRQ state is one object, `"irq"`, with a part per task; it is also the task's part
 * of `"rcu"` (a grace period reads it). Each section is an object `irq:CPU0#1`,
 * released at its `local_irq_enable()` and acquired by the IPI waiting for it.
 *
 * Follows: include/linux/irqflags.h, kernel/smp.c (`smp_call_function()`,
 * `on_each_cpu_cond_mask()` with wait), arch/x86/mm/tlb.c (`native_flush_tlb_multi()`),
 * Linux 5.18 and 6.4. Left out: interrupts themselves (no handler runs), NMIs,
 * `local_irq_save()`/`restore()` (nesting is counted instead), mm_cpumask (every other
 * CPU is sent the IPI, lazy-TLB CPUs included).
 *
 * @module
 */

import { type Access, type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { IRQ_STATE as IRQ, RCU_READERS as READERS } from "./sched.ts";

/** The object that stands for one IRQs-off section: released at its local_irq_enable(). */
export function irqSectionObj(cpu: number, section: number): string {
  return `irq:CPU${cpu}#${section}`;
}

/** local_irq_disable(): IRQs off on this CPU. */
export function* local_irq_disable(k: Kernel): Proc {
  const task = k.current;
  yield* step(k, "local_irq_disable", undefined, [
    { obj: IRQ, part: task.name, kind: "write" },
    { obj: READERS, part: task.name, kind: "write" },
  ], () => {
    k.touch(IRQ, task.name, "write");
    k.touch(READERS, task.name, "write");
    if (task.irqDepth++ === 0) task.irqSection++;
  });
}

/** local_irq_enable(): IRQs on again; a pending IPI is taken, grace periods may end. */
export function* local_irq_enable(k: Kernel): Proc {
  const task = k.current;
  const accesses: Access[] = [
    { obj: IRQ, part: task.name, kind: "write" },
    { obj: READERS, part: task.name, kind: "write" },
  ];
  if (task.irqDepth === 1) {
    accesses.push({ obj: irqSectionObj(task.id, task.irqSection), kind: "release" });
  }
  yield* step(k, "local_irq_enable", undefined, accesses, () => {
    k.touch(IRQ, task.name, "write");
    k.touch(READERS, task.name, "write");
    if (task.irqDepth === 0) {
      throw new Violation(
        "irq-imbalance",
        `${k.where()}: local_irq_enable() without local_irq_disable()`,
      );
    }
    task.irqDepth--;
  });
}

/** One IRQs-off section in progress. */
export interface IrqsOff {
  readonly cpu: number;
  readonly section: number;
  readonly name: string;
}

/**
 * The IRQs-off sections of tasks other than the running one (of every task, with
 * `others` false), now. Reads every task's
 * IRQ state: the step calling it declares a read of `"irq"` (or of `"rcu"`, for
 * rcu.ts, whose task parts the IRQ steps write too).
 */
export function irqsOffNow(k: Kernel, others = true): IrqsOff[] {
  const self = k.rt.current;
  return k.tasks.filter((t) => t.irqDepth > 0 && (!others || t.id !== self)).map((t) => ({
    cpu: t.id,
    section: t.irqSection,
    name: t.name,
  }));
}

/** Whether that section has ended. */
export function irqsOffEnded(k: Kernel, cpu: number, section: number): boolean {
  const t = k.tasks.find((task) => task.id === cpu);
  return !t || t.irqDepth === 0 || t.irqSection !== section;
}

/**
 * Sends an IPI to every other CPU and waits for each to take it (`label`, e.g.
 * `"flush_tlb_mm_range"`), then runs `then` in the same step as the last
 * acknowledgement; `touches` are what `then` accesses. Two steps: sending samples the
 * IRQ state, waiting blocks on the sections that were present.
 */
export function* wait_for_ipi<T>(
  k: Kernel,
  label: string,
  detail: string,
  touches: readonly Access[],
  then: () => T,
): Proc<T> {
  const waitFor = yield* step(k, label, `send IPI`, [{ obj: IRQ, kind: "read" }], () => {
    k.touch(IRQ, undefined, "read");
    return irqsOffNow(k);
  });
  return yield* step(
    k,
    label,
    detail,
    [
      ...waitFor.map((r): Access => ({ obj: irqSectionObj(r.cpu, r.section), kind: "acquire" })),
      ...touches,
    ],
    then,
    {
      enabled: () => waitFor.every((r) => irqsOffEnded(k, r.cpu, r.section)),
      waitingFor: () => ({
        resource: "IRQs enabled (the IPI taken)",
        holders: waitFor.filter((r) => !irqsOffEnded(k, r.cpu, r.section)).map((r) => r.cpu),
      }),
    },
  );
}
