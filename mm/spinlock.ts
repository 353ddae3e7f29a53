/**
 * Spinlocks: `mm->page_table_lock` and the split PTE-table locks.
 *
 * A spinlock lives inside an object (the mm, or the page-table page it protects), so
 * taking the lock of a freed page table is a use-after-free, as it is in the kernel.
 * Taking or dropping the lock of a page table that is unlinked but not yet freed is
 * not a store into the table (`Slab.lockOp()`): the table is still memory until it is
 * freed. Where a PTE table's lock lives, and so when it dies, is the configuration's
 * (ptlock.ts: in the table's page, an object of its own freed at unlink, or
 * `mm->page_table_lock`). Holding one makes the task atomic: it must not sleep.
 *
 * Follows: include/linux/spinlock.h, include/linux/mm.h (pte_lockptr(), split PTE
 * ptlocks), Linux 5.18. Left out: the split PMD lock (`pmd_lock()` is modelled as
 * `mm->page_table_lock`, which is what it is without USE_SPLIT_PMD_PTLOCKS), lock
 * fairness (a spinning waiter simply waits).
 *
 * @module
 */

import { type Access, type Proc, Violation } from "../explore/mod.ts";
import { type Blocking, type Kernel, step } from "./kernel.ts";
import { Embedded } from "./slab.ts";

/** A spinlock embedded in `home`. */
export class SpinLock extends Embedded {
  holder: number | undefined;
  /** Taken by spin_trylock() in this execution: see {@linkcode spin_locked}. */
  trylocked = false;
  /** Taken in a one-step critical section in this execution: see {@linkcode spin_locked}. */
  sectioned = false;

  override stateOf(threadName: (id: number) => string): string {
    return this.holder === undefined ? "unlocked" : `held by ${threadName(this.holder)}`;
  }
}

/** spin_lock(): spins until free. */
export function* spin_lock(k: Kernel, lock: SpinLock): Proc {
  yield* step(k, "spin_lock", lock.label, [lock.access("acquire")], () => {
    k.slab.lockOp(lock.home, lock.name);
    take(k, lock);
  }, spinsOn(lock));
}

/** The running task now holds `lock`. */
function take(k: Kernel, lock: SpinLock): void {
  lock.holder = k.rt.current;
  k.current.spinlocks.push(lock.label);
}

/** A step that spins until `lock` is free. */
function spinsOn(lock: SpinLock): Blocking {
  return {
    enabled: () => lock.holder === undefined,
    waitingFor: () => ({
      resource: lock.label,
      holders: lock.holder === undefined ? [] : [lock.holder],
    }),
  };
}

/**
 * spin_trylock(): takes the lock if it is free and returns true, else returns false at
 * once. Declared as a `write`, like down_read_trylock(): whether it succeeds depends on
 * whether it comes before or after another CPU's spin_lock() or spin_unlock().
 *
 * Follows: include/linux/spinlock.h `spin_trylock()`, Linux 5.18; used by the
 * speculative page fault series' `pte_map_lock()`, which must not spin (see mm/spf.ts).
 */
export function* spin_trylock(k: Kernel, lock: SpinLock): Proc<boolean> {
  return yield* step(k, "spin_trylock", lock.label, [lock.access("write")], () => {
    k.slab.lockOp(lock.home, lock.name);
    lock.trylocked = true;
    if (lock.sectioned) throw new Error(sectionAndTrylock(lock));
    const ok = lock.holder === undefined;
    if (ok) take(k, lock);
    k.rt.note(ok ? "acquired" : "failed");
    return ok;
  });
}

/**
 * spin_unlock(). Releasing a lock the task does not hold is lockdep's "bad unlock
 * balance detected!" (kernel/locking/lockdep.c `print_unlock_imbalance_bug()`, Linux
 * 5.18): a `lock-imbalance`, not a silent release of another CPU's lock.
 */
export function* spin_unlock(k: Kernel, lock: SpinLock): Proc {
  yield* step(k, "spin_unlock", lock.label, [lock.access("release")], () => {
    k.slab.lockOp(lock.home, lock.name);
    const held = k.current.spinlocks;
    const at = held.lastIndexOf(lock.label);
    if (at < 0) {
      throw new Violation(
        "lock-imbalance",
        `${k.where()} releases ${lock.label}, which it does not hold`,
      );
    }
    lock.holder = undefined;
    held.splice(at, 1);
  });
}

/**
 * `spin_lock(lock); body; spin_unlock(lock)`, where `body` is one step (`label`,
 * `detail`, `accesses`). With `Kernel.granularity.sections`, the three are one step
 * whose access to the lock is a `section` (explore/step.ts): two such sections of one
 * lock then commute unless their other accesses conflict, instead of being ordered by
 * the lock, which is what multiplies the schedules of several faults that each build
 * page tables under `mm->page_table_lock`. That loses no behaviour (Lipton's reduction,
 * see step.ts) as long as no CPU looks at the lock without taking it, so a
 * `spin_trylock()` of a lock that is taken in sections, in the same execution, is an
 * internal error (either way round), not a verdict. Otherwise, three steps.
 */
export function* spin_locked<T>(
  k: Kernel,
  lock: SpinLock,
  label: string,
  detail: string,
  accesses: readonly Access[],
  body: () => T,
): Proc<T> {
  if (!k.granularity.sections) {
    yield* spin_lock(k, lock);
    const value = yield* step(k, label, detail, accesses, body);
    yield* spin_unlock(k, lock);
    return value;
  }
  return yield* step(
    k,
    label,
    `${detail} (spin_lock(); ${label}; spin_unlock() of ${lock.label} in one step)`,
    [...accesses, lock.access("section")],
    () => {
      k.slab.lockOp(lock.home, lock.name);
      lock.sectioned = true;
      if (lock.trylocked) throw new Error(sectionAndTrylock(lock));
      take(k, lock);
      const value = body();
      lock.holder = undefined;
      k.current.spinlocks.splice(k.current.spinlocks.lastIndexOf(lock.label), 1);
      return value;
    },
    spinsOn(lock),
  );
}

function sectionAndTrylock(lock: SpinLock): string {
  return `${lock.label} is taken by spin_trylock() and in one-step critical sections in one ` +
    `execution: a trylock could see such a section in progress, so the sections may not ` +
    `be one step; explore without Granularity.sections`;
}

/**
 * `lockdep_assert_held(lock)`: the running task must hold `lock`, else a `lock-not-held`
 * violation saying that `fn`, the kernel function that relies on it, ran without it.
 *
 * Like lockdep, which looks in `current->held_locks`, this reads the task's own record
 * of what it holds (`Task.spinlocks`), not the lock word: whether the running task holds
 * a lock depends on its own steps alone, so the check reads nothing another step writes,
 * needs no declared access, and leaves what the search explores unchanged.
 *
 * Follows: include/linux/lockdep.h `lockdep_assert_held()`, kernel/locking/lockdep.c
 * `lock_is_held_type()`, Linux 5.18.
 */
export function lockdep_assert_held(k: Kernel, lock: SpinLock, fn: string): void {
  if (k.current.spinlocks.includes(lock.label)) return;
  throw new Violation(
    "lock-not-held",
    `${k.where()}: ${fn}() needs ${lock.label} held (lockdep_assert_held()), ` +
      `but ${k.current.name} does not hold it`,
  );
}
