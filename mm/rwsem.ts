/**
 * Read-write semaphores: `mmap_lock` and the per-VMA lock of the seed mail
 * (`vma->sem`).
 *
 * Modelled with the kernel's writer fairness: once a writer is waiting, new readers
 * queue behind it, and `down_read_trylock()` fails (it fails whenever the count has the
 * waiters bit set). `down_write()` that cannot take the lock at once registers as a
 * waiter in one step and takes the lock in a later one, so the explorer sees the window
 * where the writer waits and blocks new readers. Sleeping locks may not be taken in
 * atomic context.
 *
 * Follows: kernel/locking/rwsem.c (`down_read_trylock()` checks
 * RWSEM_READ_FAILED_MASK, which includes RWSEM_FLAG_WAITERS; `rwsem_down_write_slowpath()`),
 * Linux 5.18. Left out: optimistic spinning, lock handoff, reader batching (all waiters
 * are served in FIFO order, a writer only when first in line). So is lock stealing: in
 * 5.18 a writer that queues behind another while the lock is free takes it at once
 * (`rwsem_try_write_lock()` refuses a writer that is not first only once
 * RWSEM_FLAG_HANDOFF is set), which the model does only by the two registering in the
 * other order; it is why Optimal-DPOR finds a race between two queued writers'
 * acquisitions that it cannot reverse (explore/optimal.ts).
 *
 * @module
 */

import { type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { Embedded } from "./slab.ts";
import { might_sleep, type Task } from "./sched.ts";

/** A read-write semaphore embedded in `home` (the mm, or a VMA). */
export class RwSem extends Embedded {
  readonly readers: number[] = [];
  writer: number | undefined;
  /** Threads that registered as waiting writers, oldest first. */
  readonly waiters: number[] = [];

  holders(): number[] {
    return this.writer === undefined ? [...this.readers] : [this.writer];
  }

  override stateOf(threadName: (id: number) => string): string {
    const names = (ids: readonly number[]) => ids.map(threadName).join(",");
    return `readers ${names(this.readers)} writer ${
      this.writer === undefined ? "-" : threadName(this.writer)
    } waiters ${names(this.waiters)}`;
  }

  canRead(): boolean {
    return this.writer === undefined && this.waiters.length === 0;
  }
}

function wait(sem: RwSem) {
  return () => ({
    resource: sem.label,
    holders: sem.holders().length ? sem.holders() : sem.waiters.slice(0, 1),
  });
}

function take(k: Kernel, sem: RwSem, how: "read" | "write"): void {
  if (how === "read") sem.readers.push(k.rt.current);
  else {
    sem.writer = k.rt.current;
    k.current.writeLocks.push(sem.label);
  }
  k.current.sleepingLocks.push(sem.label);
}

/** Drops `sem` from the running task's record of the rwsems it holds for writing. */
function forgetWriteHold(k: Kernel, sem: RwSem): void {
  const writes = k.current.writeLocks;
  writes.splice(writes.lastIndexOf(sem.label), 1);
}

function touch(k: Kernel, sem: RwSem, sleeps: string | undefined): void {
  if (sleeps) might_sleep(k.current, sleeps);
  k.slab.write(sem.home, sem.name);
}

/**
 * down_read(): sleeps while a writer holds or waits for the lock.
 *
 * A shared acquisition (`acquire-shared`), not an `acquire`: it is enabled while other
 * readers hold the lock, so whether it comes before or after their up_read() must be
 * explored, or two readers' critical sections would never overlap.
 */
export function* down_read(k: Kernel, sem: RwSem, label = "down_read"): Proc {
  yield* step(k, label, sem.label, [sem.access("acquire-shared")], () => {
    touch(k, sem, `${label}(${sem.label})`);
    take(k, sem, "read");
  }, { enabled: () => sem.canRead(), waitingFor: wait(sem) });
}

/** down_read_trylock(): true if it got the lock, never sleeps. */
export function* down_read_trylock(
  k: Kernel,
  sem: RwSem,
  label = "down_read_trylock",
): Proc<boolean> {
  return yield* step(k, label, sem.label, [sem.access("write")], () => {
    touch(k, sem, undefined);
    const ok = sem.canRead();
    if (ok) take(k, sem, "read");
    k.rt.note(ok ? "acquired" : "failed");
    return ok;
  });
}

/**
 * down_write_trylock(): true if it got the lock, never sleeps; it fails with readers
 * or a writer in, and (as `rwsem_write_trylock()` has it, a cmpxchg from 0) with a
 * waiter queued, whose presence sets a count bit.
 */
export function* down_write_trylock(
  k: Kernel,
  sem: RwSem,
  label = "down_write_trylock",
): Proc<boolean> {
  return yield* step(k, label, sem.label, [sem.access("write")], () => {
    touch(k, sem, undefined);
    const ok = sem.writer === undefined && sem.readers.length === 0 && sem.waiters.length === 0;
    if (ok) take(k, sem, "write");
    k.rt.note(ok ? "acquired" : "failed");
    return ok;
  });
}

/** down_write(): sleeps until there are no readers, no writer and no earlier waiter. */
export function* down_write(k: Kernel, sem: RwSem, label = "down_write"): Proc {
  const me = k.rt.current;
  const free = () =>
    sem.writer === undefined && sem.readers.length === 0 &&
    (sem.waiters.length === 0 || sem.waiters[0] === me);
  const gotIt = yield* step(k, label, sem.label, [sem.access("write")], () => {
    touch(k, sem, `${label}(${sem.label})`);
    if (free()) {
      take(k, sem, "write");
      return true;
    }
    sem.waiters.push(me);
    k.rt.note("waits");
    return false;
  });
  if (gotIt) return;
  yield* step(k, label, `${sem.label} (woken)`, [sem.access("acquire")], () => {
    touch(k, sem, undefined);
    sem.waiters.shift();
    take(k, sem, "write");
  }, { enabled: free, waitingFor: wait(sem) });
}

function release(k: Kernel, sem: RwSem, how: "read" | "write"): void {
  const me = k.rt.current;
  const held = how === "read" ? sem.readers.includes(me) : sem.writer === me;
  if (!held) {
    throw new Violation(
      "lock-imbalance",
      `${k.where()} releases ${sem.label} (${how}) it does not hold`,
    );
  }
  if (how === "read") sem.readers.splice(sem.readers.indexOf(me), 1);
  else {
    sem.writer = undefined;
    forgetWriteHold(k, sem);
  }
  const locks = k.current.sleepingLocks;
  locks.splice(locks.lastIndexOf(sem.label), 1);
}

/** up_read(). */
export function* up_read(k: Kernel, sem: RwSem, label = "up_read"): Proc {
  yield* step(k, label, sem.label, [sem.access("release-shared")], () => {
    touch(k, sem, undefined);
    release(k, sem, "read");
  });
}

/**
 * downgrade_write(): the writer becomes a reader without letting a writer in between.
 * Readers blocked behind it may then enter (unless a writer waits, see the module
 * comment: the model serves no reader ahead of a waiting writer).
 *
 * Declared as a `release`: like up_write() it ends the exclusive hold, which no
 * acquisition can be enabled together with; the up_read() that ends the shared hold
 * it turns into is a `release-shared`.
 *
 * Follows: kernel/locking/rwsem.c `downgrade_write()` → `__downgrade_write()`, which
 * wakes the readers at the head of the wait queue (`rwsem_downgrade_wake()`), Linux 5.18.
 */
export function* downgrade_write(k: Kernel, sem: RwSem, label = "downgrade_write"): Proc {
  yield* step(k, label, sem.label, [sem.access("release")], () => {
    touch(k, sem, undefined);
    const me = k.rt.current;
    if (sem.writer !== me) {
      throw new Violation(
        "lock-imbalance",
        `${k.where()} downgrades ${sem.label}, which it does not hold for writing`,
      );
    }
    sem.writer = undefined;
    forgetWriteHold(k, sem);
    sem.readers.push(me);
  });
}

/** up_write(). */
export function* up_write(k: Kernel, sem: RwSem, label = "up_write"): Proc {
  yield* step(k, label, sem.label, [sem.access("release")], () => {
    touch(k, sem, undefined);
    release(k, sem, "write");
  });
}

/**
 * `lockdep_assert_held(&sem)` (`how` = `"any"`) or `lockdep_assert_held_write(&sem)`
 * (`"write"`): the running task must hold `sem` (for writing), else a `lock-not-held`
 * violation saying that `fn`, the kernel function that relies on it, ran without it;
 * `assertion` is the name the kernel's check goes by (`"mmap_assert_write_locked"`).
 *
 * Like lockdep, which looks in `current->held_locks`, this reads the task's own record
 * of what it holds (`Task.sleepingLocks`, `Task.writeLocks`), not the rwsem: whether the
 * running task holds a lock depends on its own steps alone (no other CPU takes or drops
 * it on the task's behalf), so the check reads nothing another step writes, needs no
 * declared access, and leaves what the search explores unchanged.
 *
 * Follows: include/linux/lockdep.h `lockdep_assert_held()`, `lockdep_assert_held_write()`,
 * kernel/locking/lockdep.c `lock_is_held_type()` (`hlock->read == 0` for a write hold),
 * Linux 5.18.
 */
export function rwsem_assert_held(
  k: Kernel,
  sem: RwSem,
  how: "any" | "write",
  assertion: string,
  fn: string,
): void {
  const task = k.current;
  if (rwsem_held(task, sem, how)) return;
  const held = rwsem_held(task, sem, "any");
  throw new Violation(
    "lock-not-held",
    `${k.where()}: ${fn}() needs ${sem.label} held${how === "write" ? " for writing" : ""} ` +
      `(${assertion}()), but ${task.name} ${
        held ? "holds it only for reading" : "does not hold it"
      }`,
  );
}

/**
 * Whether `task` holds `sem` (`"any"` mode, or `"write"`), from its own record, as
 * lockdep's `lock_is_held_type()` answers it.
 */
export function rwsem_held(task: Task, sem: RwSem, how: "any" | "write"): boolean {
  return task.sleepingLocks.includes(sem.label) &&
    (how === "any" || task.writeLocks.includes(sem.label));
}
