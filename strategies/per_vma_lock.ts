/**
 * Strategy 7: per-VMA locks as merged in Linux 6.4 (Suren Baghdasaryan's series), the
 * design the seed mail's "agreed" approach became.
 *
 * The fault (arch/x86/mm/fault.c `do_user_addr_fault()`, 6.4): `vma =
 * lock_vma_under_rcu(mm, address)`; if it returns a VMA, `handle_mm_fault(vma,
 * address, flags | FAULT_FLAG_VMA_LOCK, regs)` and `vma_end_read(vma)`; if it returns
 * NULL, or the fault answers VM_FAULT_RETRY, the classic fault under mmap_read_lock().
 * `lock_vma_under_rcu()` is mm/memory.c's of 6.4, check for check:
 *
 *     rcu_read_lock();
 *     retry:
 *     vma = mas_walk(&mas);
 *     if (!vma)
 *             goto inval;
 *     // Only anonymous vmas are supported for now
 *     if (!vma_is_anonymous(vma))
 *             goto inval;
 *     // find_mergeable_anon_vma uses adjacent vmas which are not locked
 *     if (!vma->anon_vma)
 *             goto inval;
 *     if (!vma_start_read(vma))
 *             goto inval;
 *     if (userfaultfd_armed(vma)) {
 *             vma_end_read(vma);
 *             goto inval;
 *     }
 *     // Check since vm_start/vm_end might change before we lock the VMA
 *     if (unlikely(address < vma->vm_start || address >= vma->vm_end)) {
 *             vma_end_read(vma);
 *             goto inval;
 *     }
 *     // Check if the VMA got isolated after we found it
 *     if (vma->detached) {
 *             vma_end_read(vma);
 *             count_vm_vma_lock_event(VMA_LOCK_MISS);
 *             // The area was replaced with another one
 *             goto retry;
 *     }
 *     rcu_read_unlock();
 *     return vma;
 *     inval:
 *     rcu_read_unlock();
 *     count_vm_vma_lock_event(VMA_LOCK_ABORT);
 *     return NULL;
 *
 * (The `anon_vma` test comes before `vma_start_read()` in 6.4; Jann Horn's "mm:
 * lock_vma_under_rcu() must check vma->anon_vma under vma lock" moved it after, in 6.5.)
 * `vma_start_read()` checks `vma->vm_lock_seq == mm->mm_lock_seq` before and after
 * `down_read_trylock()`; `vma_start_write()` waits out the VMA's readers and records
 * `vm_lock_seq = mm_lock_seq`, which holds until `vma_end_write_all()` increments
 * `mm_lock_seq` (include/linux/mm.h and include/linux/mmap_lock.h, 6.4).
 *
 * In the model every VMA is anonymous and none is registered with userfaultfd, and no
 * VMA changes its range, so `vma_is_anonymous()`, `userfaultfd_armed()` and the range
 * test are constant; they are written below as code that says so. `anon_vma` is not
 * constant: a VMA has one once a page was faulted in (set-up gives it to the VMAs of
 * prefaulted pages: `A` in every scenario but those where the fault is in `B` or in a
 * VMA mapped during the run, which go to mmap_lock, as a first fault in a VMA does in
 * 6.4).
 *
 * munmap() is 6.4's `do_vmi_align_munmap()`: under mmap_write_lock(),
 * `vma_start_write(next)` and `vma_mark_detached(next, true)` for the VMA, the tree
 * cleared, then, since munmap(2) asks for it and no neighbour can grow,
 * `mmap_write_downgrade(mm)`, which in 6.4 is `vma_end_write_all(mm);
 * downgrade_write(&mm->mmap_lock);`, then `unmap_region(..., !downgrade)` ("We can free
 * page tables without write-locking mmap_lock because VMAs were isolated before we
 * downgraded mmap_lock", as the comment there reads from Suren Baghdasaryan's "[PATCH
 * v2 5/6] mm: introduce mod_vm_flags_nolock and use it in untrack_pfn", 2023-01-25),
 * `remove_mt()` (the VMA freed by `call_rcu()`: `vm_area_free()` in kernel/fork.c with
 * CONFIG_PER_VMA_LOCK), and `mmap_read_unlock()` in `__vm_munmap()`. So the page
 * tables are torn down with the VMA no longer write-locked, and only `vma->detached`
 * keeps a fault that found the VMA before it left the tree from using it. mmap() bumps
 * `mm_lock_seq` on the way out (`mmap_write_unlock()`).
 *
 * Follows: mm/memory.c `lock_vma_under_rcu()`, include/linux/mm.h `vma_start_read()`,
 * `vma_start_write()`, `vma_end_read()`, `vma_mark_detached()`,
 * include/linux/mmap_lock.h `mmap_write_downgrade()`, mm/mmap.c
 * `do_vmi_align_munmap()`, `__vm_munmap()`, kernel/fork.c `vm_area_free()`,
 * arch/x86/mm/fault.c, Linux 6.4 (read from a 6.4.0 tree and from the series' mails).
 * Left out: the separately allocated `vm_lock` (modelled inside the VMA, freed with
 * it), the RCU section inside `vma_end_read()` (the model's up_read() is one step),
 * `vm_lock_seq` overflow.
 *
 * The pieces a variant would change are exported: the checks of `lock_vma_under_rcu()`
 * ({@linkcode LockVmaChecks}), the fault built on any lock function
 * ({@linkcode faultWithVmaLock}), and munmap() with or without the downgrade.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  down_read_trylock,
  down_write,
  down_write_trylock,
  type FaultCause,
  type FaultResult,
  handle_mm_fault,
  type Kernel,
  type Mm,
  mmap_read_unlock,
  mmap_write_downgrade,
  mmap_write_lock,
  mmap_write_unlock,
  type PteMapVersion,
  rcu_read_lock,
  rcu_read_unlock,
  retract_page_tables_mmap_trylock,
  type RetractLocking,
  split_for_munmap,
  type SplitPolicy,
  step,
  unmap_region,
  up_read,
  up_write,
  vm_area_free_rcu,
  type Vma,
  vma_contains,
  vma_end_write_all,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
} from "../mm/mod.ts";
import {
  fault_under_mmap_lock,
  fork_under_mmap_lock,
  madvise_dontneed_under_mmap_read_lock,
  mremap_under_mmap_lock,
  SLEEPING_ALLOCATIONS,
} from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

/**
 * `__is_vma_write_locked()` / the tests in `vma_start_read()`: whether
 * `vma->vm_lock_seq == mm->mm_lock_seq`.
 */
export function* isWriteLocked(k: Kernel, mm: Mm, vma: Vma, label: string): Proc<boolean> {
  return yield* step(k, label, `${vma.obj.name}->vm_lock_seq == mm->mm_lock_seq?`, [
    { obj: vma.obj.name, part: "vm_lock_seq", kind: "read" },
    { obj: mm.obj.name, part: "mm_lock_seq", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "vm_lock_seq");
    k.slab.read(mm.obj, "mm_lock_seq");
    const locked = vma.vm_lock_seq === mm.mm_lock_seq;
    k.rt.note(locked ? "write-locked" : "not locked");
    return locked;
  });
}

/** `vma_start_read()`: check, trylock, check again. */
export function* vma_start_read(k: Kernel, mm: Mm, vma: Vma): Proc<boolean> {
  // "Check before locking. A race might cause false locked result."
  if (yield* isWriteLocked(k, mm, vma, "vma_start_read")) return false;
  if (!(yield* down_read_trylock(k, vma.sem))) return false;
  // "False unlocked result is impossible because we modify and check vma->vm_lock_seq
  // under vma->vm_lock protection and mm->mm_lock_seq modification invalidates all
  // existing locks."
  if (yield* isWriteLocked(k, mm, vma, "vma_start_read")) {
    yield* vma_end_read(k, vma);
    return false;
  }
  return true;
}

/** `vma_end_read()`: `up_read(&vma->vm_lock->lock)`. */
export function* vma_end_read(k: Kernel, vma: Vma): Proc {
  yield* up_read(k, vma.sem, "vma_end_read");
}

/** `vma_is_anonymous()`: `!vma->vm_ops`. Every VMA of the model is anonymous. */
export function vma_is_anonymous(_vma: Vma): boolean {
  return true;
}

/** `userfaultfd_armed()`: `vma->vm_flags & __VM_UFFD_FLAGS`. No VMA of the model is. */
export function userfaultfd_armed(_vma: Vma): boolean {
  return false;
}

/** `vma->anon_vma`, loaded by lock_vma_under_rcu(): set by a VMA's first fault. */
export function* hasAnonVma(k: Kernel, vma: Vma): Proc<boolean> {
  return yield* step(k, "lock_vma_under_rcu", `${vma.obj.name}->anon_vma?`, [
    { obj: vma.obj.name, part: "anon_vma", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "anon_vma");
    k.rt.note(vma.anon_vma ? "set" : "none: mmap_lock");
    return vma.anon_vma !== undefined;
  });
}

/** `vma->detached`, loaded by lock_vma_under_rcu() once the VMA is locked. */
export function* isDetached(k: Kernel, vma: Vma): Proc<boolean> {
  return yield* step(k, "lock_vma_under_rcu", `${vma.obj.name}->detached?`, [
    { obj: vma.obj.name, part: "detached", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "detached");
    k.rt.note(vma.detached ? "detached: retry" : "attached");
    return vma.detached;
  });
}

/** Which of 6.4's non-constant checks a `lock_vma_under_rcu()` makes (all, in 6.4). */
export interface LockVmaChecks {
  /** `vma_start_read()`'s `vm_lock_seq == mm_lock_seq` tests, before and after the trylock. */
  readonly seq: boolean;
  /** `if (!vma->anon_vma) goto inval;` */
  readonly anonVma: boolean;
  /** `if (vma->detached) { vma_end_read(vma); goto retry; }` */
  readonly detached: boolean;
  /**
   * `if (unlikely(address < vma->vm_start || address >= vma->vm_end))`, made unless
   * false (a variant without it, docs/munmap-split.md).
   */
  readonly bounds?: boolean;
  /**
   * The `anon_vma` test made after the VMA is locked (`goto inval_end_read`), as from
   * Linux 6.5 (strategies/per_vma_lock_6_6.ts), not before; 6.4's order if absent.
   */
  readonly anonVmaLocked?: boolean;
}

/** Linux 6.4. */
export const LINUX_6_4_CHECKS: LockVmaChecks = { seq: true, anonVma: true, detached: true };

/**
 * `lock_vma_under_rcu()` as in 6.4, making the checks in `checks` (6.6's order with
 * `anonVmaLocked`): a read-locked VMA containing `address`, or undefined (`inval`: take
 * mmap_lock).
 */
export function* lock_vma_under_rcu(
  k: Kernel,
  mm: Mm,
  address: number,
  checks: LockVmaChecks = LINUX_6_4_CHECKS,
): Proc<Vma | undefined> {
  yield* rcu_read_lock(k);
  for (;;) {
    const vma = yield* vma_lookup(k, mm, address, "mas_walk", "rcu");
    if (!vma) break;
    // "Only anonymous vmas are supported for now"
    if (!vma_is_anonymous(vma)) break;
    // "find_mergeable_anon_vma uses adjacent vmas which are not locked"
    const anonVma = checks.anonVma && !checks.anonVmaLocked;
    if (anonVma && !(yield* hasAnonVma(k, vma))) break;
    const locked = checks.seq
      ? yield* vma_start_read(k, mm, vma)
      : yield* down_read_trylock(k, vma.sem);
    if (!locked) break;
    // 6.5 on: "This check must happen after vma_start_read(); otherwise, a concurrent
    // mremap() with MREMAP_DONTUNMAP could dissociate the VMA from its anon_vma."
    if (checks.anonVma && checks.anonVmaLocked && !(yield* hasAnonVma(k, vma))) {
      yield* vma_end_read(k, vma); // inval_end_read
      break;
    }
    // "Due to the possibility of userfault handler dropping mmap_lock, avoid it for
    // now and fall back to page fault handling under mmap_lock."
    if (userfaultfd_armed(vma)) {
      yield* vma_end_read(k, vma);
      break;
    }
    // "Check since vm_start/vm_end might change before we lock the VMA": a split may
    // have shrunk it since mas_walk() found it (mm/mmap.ts).
    if (checks.bounds !== false && !(yield* vma_contains(k, vma, address, "lock_vma_under_rcu"))) {
      yield* vma_end_read(k, vma);
      break;
    }
    // "Check if the VMA got isolated after we found it"
    if (checks.detached && (yield* isDetached(k, vma))) {
      yield* vma_end_read(k, vma);
      continue; // "The area was replaced with another one"
    }
    yield* rcu_read_unlock(k);
    return vma;
  }
  yield* rcu_read_unlock(k);
  return undefined;
}

/**
 * The 6.4 fault over a VMA lock function: lock the VMA, `handle_mm_fault(...,
 * FAULT_FLAG_VMA_LOCK)`, `vma_end_read()`; the classic fault when there is no VMA to
 * lock or the fault asks for a retry.
 */
export function faultWithVmaLock(
  lock: (k: Kernel, mm: Mm, address: number) => Proc<Vma | undefined>,
  fallback: Strategy["fault"] = fault_under_mmap_lock,
): Strategy["fault"] {
  return function* (k: Kernel, mm: Mm, address: number, cause?: FaultCause): Proc<FaultResult> {
    const vma = yield* lock(k, mm, address);
    if (vma) {
      // (access_error() is false: a write to a writable VMA.)
      const result = yield* handle_mm_fault(k, mm, vma, address, SLEEPING_ALLOCATIONS, cause);
      yield* vma_end_read(k, vma);
      if (result !== "retry") return result;
    }
    return yield* fallback(k, mm, address, cause);
  };
}

/** `vma_start_write()`: lock the VMA until mmap_write_unlock() or the downgrade. */
export function* vma_start_write(k: Kernel, mm: Mm, vma: Vma): Proc {
  if (yield* isWriteLocked(k, mm, vma, "vma_start_write")) return;
  yield* down_write(k, vma.sem);
  yield* set_vm_lock_seq(k, mm, vma, "vma_start_write");
  yield* up_write(k, vma.sem);
}

/** `vma->vm_lock_seq = mm_lock_seq`, with `vma->vm_lock->lock` held for writing. */
function* set_vm_lock_seq(k: Kernel, mm: Mm, vma: Vma, label: string): Proc {
  yield* step(k, label, `${vma.obj.name}->vm_lock_seq = mm->mm_lock_seq`, [
    { obj: vma.obj.name, part: "vm_lock_seq", kind: "write" },
    { obj: mm.obj.name, part: "mm_lock_seq", kind: "read" },
  ], () => {
    k.slab.write(vma.obj, "vm_lock_seq");
    k.slab.read(mm.obj, "mm_lock_seq");
    vma.vm_lock_seq = mm.mm_lock_seq;
  });
}

/**
 * 6.4's `vma_try_start_write()` (include/linux/mm.h, for khugepaged's
 * `retract_page_tables()`): as `vma_start_write()`, with `down_write_trylock()`; false
 * if a fault holds the VMA's read lock.
 */
export function* vma_try_start_write(k: Kernel, mm: Mm, vma: Vma): Proc<boolean> {
  if (yield* isWriteLocked(k, mm, vma, "vma_try_start_write")) return true;
  if (!(yield* down_write_trylock(k, vma.sem))) return false;
  yield* set_vm_lock_seq(k, mm, vma, "vma_try_start_write");
  yield* up_write(k, vma.sem);
  return true;
}

/** 6.4's khugepaged: `retract_page_tables()` under `mmap_write_trylock()` and `vma_try_start_write()`. */
export const RETRACT_6_4: RetractLocking = {
  version: "6.4",
  mmap_write_unlock: mmap_write_unlock_6_4,
  vma_try_start_write,
};

/** 6.4's `mmap_write_downgrade()`: `vma_end_write_all(mm); downgrade_write(...)`. */
export function* mmap_write_downgrade_6_4(k: Kernel, mm: Mm): Proc {
  yield* vma_end_write_all(k, mm);
  yield* mmap_write_downgrade(k, mm);
}

/** 6.4's `mmap_write_unlock()`: `vma_end_write_all(mm); up_write(...)`. */
export function* mmap_write_unlock_6_4(k: Kernel, mm: Mm): Proc {
  yield* vma_end_write_all(k, mm);
  yield* mmap_write_unlock(k, mm);
}

/** What 6.4's and 6.6's `do_vmi_align_munmap()` differ in. */
export interface MunmapVersion {
  /** How `__split_vma()` splits and what it locks (mm/mmap.ts `SplitPolicy`). */
  readonly split: (k: Kernel, mm: Mm) => SplitPolicy;
  /**
   * 6.4 keeps `mmap_lock` for writing next to a stack: `if (next && (next->vm_flags &
   * VM_GROWSDOWN)) downgrade = false;`, as 5.18. 6.6 downgrades always (`if (unlock)
   * mmap_write_downgrade(mm);`): its stack expansion takes `mmap_lock` for writing.
   */
  readonly growsdownKeepsWriteLock: boolean;
  /**
   * The `pte_offset_map_lock()` of `zap_pte_range()` (mm/pgtable_generic.ts): 6.5's on
   * may fail; 6.4's if absent.
   */
  readonly pteMap?: PteMapVersion;
}

/**
 * 6.4.0's split: `__split_vma(vmi, vma, start, 0)` and `__split_vma(vmi, next, end, 0)`,
 * `vma_prepare()` write-locking the old VMA only: "vp->insert is always a newly
 * created VMA, no need for locking".
 */
export const MUNMAP_6_4: MunmapVersion = {
  split: (k, mm) => ({
    belowAtStart: false,
    belowAtEnd: false,
    prepare: function* (vma) {
      yield* vma_start_write(k, mm, vma);
    },
  }),
  growsdownKeepsWriteLock: true,
};

/**
 * 6.4's `do_vmi_align_munmap()` of [start, end) in one VMA, `mmap_lock` held for
 * writing: the splits, `vma_start_write(next)` and `vma_mark_detached(next, true)` for
 * the part to unmap, the tree cleared, then, if `downgrade` (munmap(2) asks for it,
 * mremap() does not) and `version` does not keep the write lock next to a stack, the
 * downgrade (docs/per-vma-lock.md quotes the block); the teardown. Returns whether it
 * downgraded.
 */
export function* do_vmi_munmap_6_4(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  downgrade: boolean,
  version: MunmapVersion = MUNMAP_6_4,
): Proc<boolean> {
  const found = yield* vma_lookup(k, mm, start, "vma_find", "mmap_lock");
  if (!found) return false;
  const vma = yield* split_for_munmap(k, mm, found, start, end, version.split(k, mm));
  yield* vma_start_write(k, mm, vma);
  // vma_mark_detached(next, true), then the tree cleared (vma_iter_clear_gfp()).
  const around = yield* vma_mas_remove(k, mm, vma);
  // (vm_flags never change, and the write lock is held: no step.)
  if (version.growsdownKeepsWriteLock && around.next?.growsdown) downgrade = false;
  if (downgrade) yield* mmap_write_downgrade_6_4(k, mm);
  yield* unmap_region(k, mm, vma, around, version.pteMap);
  // remove_mt() → remove_vma() → vm_area_free(): call_rcu().
  yield* vm_area_free_rcu(k, vma);
  return downgrade;
}

/**
 * 6.4's munmap() of [start, end) in one VMA (`__vm_munmap()`): `do_vmi_align_munmap()`
 * under `mmap_write_lock()`, with the downgrade munmap(2) asks for unless `downgrade`
 * is false.
 */
export function* munmap_6_4(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  downgrade = true,
  version: MunmapVersion = MUNMAP_6_4,
): Proc {
  yield* mmap_write_lock(k, mm);
  if (yield* do_vmi_munmap_6_4(k, mm, start, end, downgrade, version)) {
    yield* mmap_read_unlock(k, mm);
  } else yield* mmap_write_unlock_6_4(k, mm);
}

/**
 * 6.4's mremap() (6.6's is the same): `move_vma()` under `mmap_write_lock()`, with
 * `vma_start_write(vma)` before `copy_vma()`, the copy write-locked before it is in the
 * tree (`vma_start_write(new_vma)` in 6.4's `copy_vma()`, in `vma_link()` in 6.6), and
 * the old range unmapped by `do_vmi_munmap(..., false)`. `rmapLocksAcrossWalk` is the
 * 2024 fix neither version has (mm/mremap.ts `MremapHooks`), for a note's variant.
 */
export function* mremap_6_4(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  to: number,
  dontunmap: boolean,
  version: MunmapVersion = MUNMAP_6_4,
  rmapLocksAcrossWalk = false,
): Proc {
  yield* mremap_under_mmap_lock(k, mm, start, end, to, dontunmap, {
    hooks: {
      rmapLocksAcrossWalk,
      lockOld: function* (vma) {
        yield* vma_start_write(k, mm, vma);
      },
      lockNew: function* (copy) {
        yield* vma_start_write(k, mm, copy);
      },
      unmapOld: (s, e) => do_vmi_munmap_6_4(k, mm, s, e, false, version),
    },
    unlock: mmap_write_unlock_6_4,
  });
}

/** 6.4's mmap() of a new anonymous VMA. */
export function* mmap_6_4(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* vma_mas_store(k, mm, start, end);
  yield* mmap_write_unlock_6_4(k, mm);
}

/** Strategy 7. */
export const perVmaLock: Strategy = {
  name: "per-vma-lock",
  title: "Per-VMA locks as merged (Linux 6.4)",
  vmaTree: "maple",
  summary:
    "lock_vma_under_rcu(): anon_vma, vm_lock_seq around the trylock, detached; munmap downgrades",
  source: "Suren Baghdasaryan, per-VMA locks, Linux 6.4 (mm/memory.c lock_vma_under_rcu())",
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
    "fault-vs-munmap-pte-present": "safe",
    "fault-vs-fault-same-page": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-below-stack": "safe",
    "fork-vs-stale-tlb-store": "safe",
    "fork-vs-write-fault": "safe",
    "fork-vs-write-fault-stale-tlb": "violation:lost-write",
    "fork-vs-first-fault": "safe",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "safe",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "safe",
    "mremap-vs-stale-tlb-store": "safe",
    "store-at-target-vs-mremap": "safe",
    "store-vs-mremap-pmd": "safe",
    "fault-vs-mremap-dontunmap": "violation:use-after-free",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    // StackRot (CVE-2023-3269): 6.4.0 grows stacks under mmap_read_lock() on a tree
    // whose replaced nodes RCU frees (mm/stack.ts); fixed in 6.4.1 and 6.5.
    "stack-vs-stack-expansion": "violation:use-after-free",
    "stack-expansion-vs-fault": "safe",
    "gup-fast-vs-khugepaged": "safe",
    "dontneed-vs-khugepaged": "safe",
    "munmap-vs-khugepaged": "safe",
    "mremap-vs-khugepaged": "safe",
    "uffd-copy-vs-khugepaged": "safe",
    "fault-vs-khugepaged": "safe",
  },
  fault: faultWithVmaLock((k, mm, address) => lock_vma_under_rcu(k, mm, address)),
  // 6.4.0's dup_mmap(): mmap_write_lock(oldmm) and no VMA write lock (fork.ts).
  fork: (k, mm) => fork_under_mmap_lock(k, mm, mmap_write_unlock_6_4),
  munmap: (k, mm, start, end) => munmap_6_4(k, mm, start, end),
  mmap: mmap_6_4,
  mremap: (k, mm, start, end, to, dontunmap) => mremap_6_4(k, mm, start, end, to, dontunmap),
  madvise_dontneed: madvise_dontneed_under_mmap_read_lock,
  khugepaged: (k, mm, addr) => retract_page_tables_mmap_trylock(k, mm, addr, RETRACT_6_4),
};
