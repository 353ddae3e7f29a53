/**
 * RCU with real grace periods.
 *
 * A reader is a CPU between rcu_read_lock() and rcu_read_unlock(). A grace period
 * started at time t ends when every reader that was inside a read-side section at t
 * has left it; readers that start later are not waited for. `call_rcu()` runs its
 * callback after such a grace period, on its own thread (shown in the `RCU` column), so
 * the explorer tries the callback at every point after the grace period ends;
 * `synchronize_rcu()` blocks until one ends. A callback thread is named after the task
 * that queued it and that task's own count, `RCU(CPU1#1)`, so its name does not depend
 * on which CPU queued first.
 *
 * Reader state is one object, `"rcu"`, with a part per task: rcu_read_lock() and
 * rcu_read_unlock() store to their own task's part, and starting a grace period
 * (`call_rcu()`, `synchronize_rcu()`) reads all of it.
 *
 * The model gives RCU its weakest guarantee: the grace period waits exactly for the
 * readers present when it starts, and a callback may run the instant it ends. Real RCU
 * may wait longer, which can only hide bugs, never add them.
 *
 * An IRQs-off section (mm/irq.ts) is a reader too: since the RCU flavour
 * consolidation of Linux 5.0, a grace period also waits for regions with IRQs disabled.
 *
 * Follows: include/linux/rcupdate.h, kernel/rcu/tree.c (call_rcu, synchronize_rcu),
 * Documentation/RCU/whatisRCU.rst, Linux 5.18. Left out: preemptible RCU, SRCU,
 * expedited grace periods, callback batching and ordering between callbacks.
 *
 * @module
 */

import { type Access, type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { might_sleep, RCU_READERS as READERS } from "./sched.ts";
import { irqSectionObj, irqsOffEnded, irqsOffNow } from "./irq.ts";

/** The object that stands for one read-side section: released at its unlock. */
function sectionObj(cpu: number, section: number): string {
  return `rcu:CPU${cpu}#${section}`;
}

/** rcu_read_lock(): enter a read-side critical section. */
export function* rcu_read_lock(k: Kernel): Proc {
  const task = k.current;
  yield* step(
    k,
    "rcu_read_lock",
    undefined,
    [{ obj: READERS, part: task.name, kind: "write" }],
    () => {
      k.touch(READERS, task.name, "write");
      if (task.rcuDepth++ === 0) task.rcuSection++;
    },
  );
}

/** rcu_read_unlock(): leave it; grace periods waiting for this section may end. */
export function* rcu_read_unlock(k: Kernel): Proc {
  const task = k.current;
  const accesses: Access[] = [{ obj: READERS, part: task.name, kind: "write" }];
  if (task.rcuDepth === 1) {
    accesses.push({ obj: sectionObj(task.id, task.rcuSection), kind: "release" });
  }
  yield* step(k, "rcu_read_unlock", undefined, accesses, () => {
    k.touch(READERS, task.name, "write");
    if (task.rcuDepth === 0) {
      throw new Violation(
        "rcu-imbalance",
        `${k.where()}: rcu_read_unlock() without rcu_read_lock()`,
      );
    }
    task.rcuDepth--;
  });
}

/** A read-side section a grace period waits for: an RCU one or an IRQs-off one. */
interface Reader {
  readonly cpu: number;
  /** The section's object, released when it ends. */
  readonly obj: string;
  readonly ended: () => boolean;
}

/**
 * The read-side sections in progress now: the ones a new grace period waits for. An
 * IRQs-off section (mm/irq.ts) counts as one, as it does since 5.0's RCU flavour
 * consolidation; its steps write the task's part of `"rcu"` too, so the read declared
 * here covers it.
 */
function readersNow(k: Kernel): Reader[] {
  k.touch(READERS, undefined, "read");
  const rcu = k.tasks.filter((t) => t.rcuDepth > 0).map((t): Reader => {
    const section = t.rcuSection;
    return { cpu: t.id, obj: sectionObj(t.id, section), ended: () => ended(k, t.id, section) };
  });
  const irqsOff = irqsOffNow(k, false).map((r): Reader => ({
    cpu: r.cpu,
    obj: irqSectionObj(r.cpu, r.section),
    ended: () => irqsOffEnded(k, r.cpu, r.section),
  }));
  return [...rcu, ...irqsOff];
}

function ended(k: Kernel, cpu: number, section: number): boolean {
  const t = k.tasks.find((task) => task.id === cpu);
  return !t || t.rcuDepth === 0 || t.rcuSection !== section;
}

/**
 * call_rcu(): runs `callback` (named `label`, e.g. `"tlb_remove_table_rcu"`) after a
 * grace period, on a new thread. `touches` are the accesses the callback makes.
 */
export function* call_rcu(
  k: Kernel,
  label: string,
  detail: string,
  touches: readonly Access[],
  callback: () => void,
): Proc {
  yield* step(k, "call_rcu", `${label}(${detail})`, [{ obj: READERS, kind: "read" }], () => {
    const waitFor = readersNow(k);
    const queuer = k.current;
    const name = `RCU(${queuer.name}#${queuer.nextSerial("call_rcu")})`;
    k.rt.spawn({
      name,
      column: "RCU",
      daemon: true,
      body: function* () {
        yield* step(
          k,
          label,
          detail,
          [
            ...waitFor.map((r): Access => ({ obj: r.obj, kind: "acquire" })),
            ...touches,
          ],
          callback,
          {
            enabled: () => waitFor.every((r) => r.ended()),
            waitingFor: () => ({
              resource: "an RCU grace period",
              holders: waitFor.filter((r) => !r.ended()).map((r) => r.cpu),
            }),
          },
        );
      },
    });
  });
}

/** synchronize_rcu(): sleep until every reader present now has finished. */
export function* synchronize_rcu(k: Kernel): Proc {
  const waitFor = yield* step(
    k,
    "synchronize_rcu",
    "start grace period",
    [{ obj: READERS, kind: "read" }],
    () => {
      might_sleep(k.current, "synchronize_rcu()");
      return readersNow(k);
    },
  );
  yield* step(
    k,
    "synchronize_rcu",
    "wait for readers",
    waitFor.map((r): Access => ({ obj: r.obj, kind: "acquire" })),
    () => {},
    {
      enabled: () => waitFor.every((r) => r.ended()),
      waitingFor: () => ({
        resource: "an RCU grace period",
        holders: waitFor.filter((r) => !r.ended()).map((r) => r.cpu),
      }),
    },
  );
}
