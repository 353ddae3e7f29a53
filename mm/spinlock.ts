/**
 * Spinlocks: `mm->page_table_lock` and the split PTE-table locks.
 *
 * A spinlock lives inside an object (the mm, or the page-table page it protects), so
 * taking the lock of a freed page table is a use-after-free, as it is in the kernel.
 * Holding one makes the task atomic: it must not sleep.
 *
 * Follows: include/linux/spinlock.h, include/linux/mm.h (pte_lockptr(), split PTE
 * ptlocks), Linux 5.18. Left out: the split PMD lock (`pmd_lock()` is modelled as
 * `mm->page_table_lock`, which is what it is without USE_SPLIT_PMD_PTLOCKS), lock
 * fairness (a spinning waiter simply waits).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { Embedded } from "./slab.ts";

/** A spinlock embedded in `home`. */
export class SpinLock extends Embedded {
  holder: number | undefined;
}

/** spin_lock(): spins until free. */
export function* spin_lock(k: Kernel, lock: SpinLock): Proc {
  yield* step(k, "spin_lock", lock.label, [lock.access("acquire")], () => {
    k.slab.write(lock.home, lock.name);
    lock.holder = k.rt.current;
    k.current.spinlocks.push(lock.label);
  }, {
    enabled: () => lock.holder === undefined,
    waitingFor: () => ({
      resource: lock.label,
      holders: lock.holder === undefined ? [] : [lock.holder],
    }),
  });
}

/** spin_unlock(). */
export function* spin_unlock(k: Kernel, lock: SpinLock): Proc {
  yield* step(k, "spin_unlock", lock.label, [lock.access("release")], () => {
    k.slab.write(lock.home, lock.name);
    lock.holder = undefined;
    const held = k.current.spinlocks;
    held.splice(held.lastIndexOf(lock.label), 1);
  });
}
