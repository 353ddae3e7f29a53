/**
 * `mmap_lock`: the mm's read-write semaphore, and the sequence count that lets a
 * reader without the lock notice a writer (`mmap_seq`, odd while write-locked), and
 * Linux 6.4's `mm_lock_seq`, which `mmap_write_unlock()` bumps to end every VMA write
 * lock taken under it.
 *
 * Follows: include/linux/mmap_lock.h, Linux 5.18; `mmap_seq` as in Michel
 * Lespinasse's speculative page fault series v2 ("[PATCH v2 10/35] mm: add per-mm mmap
 * sequence counter for speculative page fault handling.", LKML 2022-01-28), whose hooks
 * make it odd in mmap_write_lock() and even in mmap_write_unlock() and in
 * mmap_write_downgrade() (`__mmap_seq_write_unlock()` before `downgrade_write()`), and
 * whose readers are `mmap_seq_read_start()` / `mmap_seq_read_check()`; `mm_lock_seq` as
 * in Linux 6.4 (`vma_end_write_all()`, which 6.4's mmap_write_unlock() and
 * mmap_write_downgrade() call: the per-VMA strategy calls it before them, as it is no
 * part of 5.18).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import {
  down_read,
  down_write,
  down_write_trylock,
  downgrade_write,
  rwsem_assert_held,
  up_read,
  up_write,
} from "./rwsem.ts";
import { raw_read_seqcount, read_seqcount_retry, write_seqcount } from "./seqlock.ts";

/** mmap_read_lock(). */
export function* mmap_read_lock(k: Kernel, mm: Mm): Proc {
  yield* down_read(k, mm.mmap_lock, "mmap_read_lock");
}

/** mmap_read_unlock(). */
export function* mmap_read_unlock(k: Kernel, mm: Mm): Proc {
  yield* up_read(k, mm.mmap_lock, "mmap_read_unlock");
}

/** mmap_write_lock(): take the lock, then make `mmap_seq` odd. */
export function* mmap_write_lock(k: Kernel, mm: Mm): Proc {
  yield* down_write(k, mm.mmap_lock, "mmap_write_lock");
  yield* write_seqcount(k, mm.mmap_seq, "mmap_seq_write_begin");
}

/**
 * mmap_write_trylock(): the write lock if it is free, never sleeping, `mmap_seq` made
 * odd on success as `mmap_write_lock()` does (the series hooks both).
 */
export function* mmap_write_trylock(k: Kernel, mm: Mm): Proc<boolean> {
  if (!(yield* down_write_trylock(k, mm.mmap_lock, "mmap_write_trylock"))) return false;
  yield* write_seqcount(k, mm.mmap_seq, "mmap_seq_write_begin");
  return true;
}

/** mmap_write_unlock(): make `mmap_seq` even, release. */
export function* mmap_write_unlock(k: Kernel, mm: Mm): Proc {
  yield* write_seqcount(k, mm.mmap_seq, "mmap_seq_write_end");
  yield* up_write(k, mm.mmap_lock, "mmap_write_unlock");
}

/**
 * mmap_write_downgrade(): make `mmap_seq` even (the series' hook), then turn the write
 * lock into a read lock. From here on, readers (faults under mmap_read_lock()) run
 * beside the downgrader; 5.18's munmap() does this before tearing down page tables.
 */
export function* mmap_write_downgrade(k: Kernel, mm: Mm): Proc {
  yield* write_seqcount(k, mm.mmap_seq, "mmap_seq_write_end");
  yield* downgrade_write(k, mm.mmap_lock, "mmap_write_downgrade");
}

/**
 * `mmap_seq_read_start()` of the series: the count now. Odd means a writer is inside,
 * and the caller gives up (`if (seq & 1) goto spf_abort;`); readers never spin on it.
 */
export function* mmap_seq_read_start(k: Kernel, mm: Mm): Proc<number> {
  return yield* raw_read_seqcount(k, mm.mmap_seq, "mmap_seq_read_start");
}

/** `mmap_seq_read_check()` of the series: true if no writer ran since `seq` was sampled. */
export function* mmap_seq_read_check(k: Kernel, mm: Mm, seq: number): Proc<boolean> {
  return !(yield* read_seqcount_retry(k, mm.mmap_seq, seq, "mmap_seq_read_check"));
}

/**
 * `mmap_assert_locked(mm)`: the running task holds `mmap_lock`, for reading or writing;
 * else a `lock-not-held` violation naming `fn`. The lockdep half of the kernel's
 * (`lockdep_assert_held()`; its `VM_BUG_ON_MM(!rwsem_is_locked())`, that someone holds
 * it, follows): see `rwsem_assert_held()`, which reads only the task's own record.
 *
 * Follows: include/linux/mmap_lock.h `mmap_assert_locked()`, Linux 5.18.
 */
export function mmap_assert_locked(k: Kernel, mm: Mm, fn: string): void {
  rwsem_assert_held(k, mm.mmap_lock, "any", "mmap_assert_locked", fn);
}

/**
 * `mmap_assert_write_locked(mm)`: the running task holds `mmap_lock` for writing; else a
 * `lock-not-held` violation naming `fn` (`lockdep_assert_held_write()`).
 *
 * Follows: include/linux/mmap_lock.h `mmap_assert_write_locked()`, Linux 5.18.
 */
export function mmap_assert_write_locked(k: Kernel, mm: Mm, fn: string): void {
  rwsem_assert_held(k, mm.mmap_lock, "write", "mmap_assert_write_locked", fn);
}

/**
 * Linux 6.4 `vma_end_write_all()`, called by its `mmap_write_unlock()`: bumping
 * `mm_lock_seq` ends the write lock of every VMA locked under this mmap_lock. It
 * begins, as 6.4's does, with `mmap_assert_write_locked(mm)` ("No races during update
 * due to exclusive mmap_lock being held").
 */
export function* vma_end_write_all(k: Kernel, mm: Mm): Proc {
  yield* step(k, "vma_end_write_all", "mm->mm_lock_seq++", [{
    obj: mm.obj.name,
    part: "mm_lock_seq",
    kind: "write",
  }], () => {
    mmap_assert_write_locked(k, mm, "vma_end_write_all");
    k.slab.write(mm.obj, "mm_lock_seq");
    mm.mm_lock_seq++;
  });
}
