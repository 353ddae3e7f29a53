/**
 * Strategy 1, the Linux 5.18 baseline: every fault runs under `mmap_read_lock()`,
 * mmap() under `mmap_write_lock()`, and munmap() takes `mmap_write_lock()` to take
 * the VMA out of the tree, then downgrades it to a read lock to tear down the page
 * tables. Page tables are allocated with GFP_KERNEL (faults may sleep), VMAs are freed
 * at once.
 *
 * The downgrade is 5.18's, mm/mmap.c: munmap(2) calls `__vm_munmap(addr, len, true)`;
 * `__do_munmap()` runs `if (!detach_vmas_to_be_unmapped(mm, vma, prev, end)) downgrade
 * = false; if (downgrade) mmap_write_downgrade(mm); unmap_region(mm, vma, prev, start,
 * end); remove_vma_list(mm, vma); return downgrade ? 1 : 0;`, and `__vm_munmap()`
 * ends with `mmap_read_unlock(mm)` when it returned 1, `mmap_write_unlock(mm)`
 * otherwise. `detach_vmas_to_be_unmapped()` refuses the downgrade next to a
 * VM_GROWSDOWN or VM_GROWSUP VMA ("Such VMAs can change their size under
 * down_read(mmap_lock) and collide with the VMA we are about to unmap"): the model
 * has stacks (`Vma.growsdown`; x86 has no VM_GROWSUP), and munmap() of the VMA below
 * one tears the page tables down under the write lock. (The same code is in 4.20 to 5.19:
 * commit dd2283f2605e, "mm: mmap: zap pages with read mmap_sem in munmap"; 6.1 moved
 * it into `do_mas_align_munmap()`.) So faults under `mmap_read_lock()` run beside the
 * teardown, kept out of the range only by the VMA being gone from the tree.
 *
 * Its writer and its fault are also the fallbacks other strategies use.
 *
 * Follows: arch/x86/mm/fault.c `do_user_addr_fault()`, mm/mmap.c `__vm_munmap()`,
 * `__do_munmap()` and `mmap_region()`, Linux 5.18.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  dup_mmap,
  type DupMmapHooks,
  expand_downwards,
  type FaultCause,
  type FaultResult,
  find_vma,
  handle_mm_fault,
  type Kernel,
  madvise_dontneed,
  type Mm,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_downgrade,
  mmap_write_lock,
  mmap_write_unlock,
  move_vma,
  type MremapHooks,
  retract_page_tables_mmap_trylock,
  type RetractLocking,
  SLEEPING_ALLOCATIONS,
  SPLIT_5_18,
  split_for_munmap,
  STACK_UNDER_READ_LOCK,
  type StackExpansion,
  unmap_region,
  vm_area_free,
  vm_area_free_rcu,
  type Vma,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
  type ZapRange,
  zapRange,
} from "../mm/mod.ts";
import type { Expectation, Strategy } from "./strategy.ts";

// The fault's GFP flags are mm's (mm/memory.ts); the strategies take them from here too.
export { SLEEPING_ALLOCATIONS };

/**
 * `do_user_addr_fault()`'s VMA, `mmap_lock` held: `vma = find_vma(mm, address); if
 * (!vma) bad_area; if (likely(vma->vm_start <= address)) goto good_area; if
 * (!(vma->vm_flags & VM_GROWSDOWN)) bad_area; if (expand_stack(vma, address))
 * bad_area;` (arch/x86/mm/fault.c, 5.18 to 6.4; `stack` is the version's
 * `expand_downwards()`). Undefined for `bad_area` (SIGSEGV).
 */
export function* find_vma_or_expand(
  k: Kernel,
  mm: Mm,
  addr: number,
  stack: StackExpansion,
): Proc<Vma | undefined> {
  const slot = yield* find_vma(k, mm, addr);
  if (!slot?.vma) return undefined;
  if (slot.start <= addr) return slot.vma;
  if (!slot.vma.growsdown) return undefined;
  return (yield* expand_downwards(k, mm, slot.vma, addr, stack)) ? slot.vma : undefined;
}

/**
 * The 5.18 fault: find the VMA (growing a stack down to `addr`, `find_vma_or_expand()`)
 * and handle the fault under mmap_read_lock().
 */
export function* fault_under_mmap_lock(
  k: Kernel,
  mm: Mm,
  addr: number,
  cause?: FaultCause,
): Proc<FaultResult> {
  yield* mmap_read_lock(k, mm);
  const vma = yield* find_vma_or_expand(k, mm, addr, STACK_UNDER_READ_LOCK);
  const result = vma
    ? yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS, cause)
    : "sigsegv";
  yield* mmap_read_unlock(k, mm);
  return result;
}

/**
 * The 5.18 `__do_munmap()` of [start, end) in one VMA, `mmap_lock` held for writing:
 * split off the part to unmap (`__split_vma()`, `SPLIT_5_18`) and take it out of the
 * tree; if `downgrade` (munmap(2) asks for it, mremap() does not), downgrade to the
 * read lock unless the next VMA is a stack; tear down its page tables and free it with
 * `free`. Returns whether it downgraded. With no VMA there it does nothing.
 */
export function* do_munmap_5_18(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  downgrade: boolean,
  free: (k: Kernel, vma: Vma) => Proc = vm_area_free,
): Proc<boolean> {
  const found = yield* vma_lookup(k, mm, start, "find_vma");
  if (!found) return false;
  const vma = yield* split_for_munmap(k, mm, found, start, end, SPLIT_5_18);
  // detach_vmas_to_be_unmapped(): out of the tree; false next to a stack above, `if
  // (vma && (vma->vm_flags & VM_GROWSDOWN)) return false;` (vm_flags never change, and
  // the write lock is held: no step).
  const around = yield* vma_mas_remove(k, mm, vma);
  if (around.next?.growsdown) downgrade = false;
  if (downgrade) yield* mmap_write_downgrade(k, mm);
  yield* unmap_region(k, mm, vma, around);
  // remove_vma_list()
  yield* free(k, vma);
  return downgrade;
}

/**
 * The 5.18 munmap() of [start, end) in one VMA: `do_munmap_5_18()` under
 * mmap_write_lock(), released as it then is (`__vm_munmap()` ends with
 * `mmap_read_unlock()` after a downgrade, `mmap_write_unlock()` otherwise).
 */
export function* munmap_under_mmap_lock(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  free: (k: Kernel, vma: Vma) => Proc = vm_area_free,
): Proc {
  yield* mmap_write_lock(k, mm);
  if (yield* do_munmap_5_18(k, mm, start, end, true, free)) yield* mmap_read_unlock(k, mm);
  else yield* mmap_write_unlock(k, mm);
}

/** What a version changes in mremap(): `move_vma()`'s hooks, and the lock's calls. */
export interface MremapLocking {
  /** `move_vma()`'s hooks; 5.18's `do_munmap()` of the old range if absent. */
  readonly hooks?: MremapHooks;
  readonly lock?: (k: Kernel, mm: Mm) => Proc;
  readonly unlock?: (k: Kernel, mm: Mm) => Proc;
}

/**
 * mremap() of the whole VMA at [start, end) to `to` (`MREMAP_MAYMOVE | MREMAP_FIXED`,
 * with `MREMAP_DONTUNMAP` if `dontunmap`): `move_vma()` (mm/mremap.ts) under
 * `mmap_write_lock()`, which 5.18, 6.4 and 6.6 all take for it
 * (`mmap_write_lock_killable()`), with what `locking` says a version adds.
 */
export function* mremap_under_mmap_lock(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  to: number,
  dontunmap: boolean,
  locking: MremapLocking = {},
): Proc {
  const hooks = locking.hooks ?? { unmapOld: (s, e) => do_munmap_5_18(k, mm, s, e, false) };
  yield* (locking.lock ?? mmap_write_lock)(k, mm);
  const vma = yield* vma_lookup(k, mm, start);
  // (The scenario checks that [start, end) is a whole VMA: mremap() of a part of one,
  // which splits it, is not modelled.)
  if (vma && vma.start === start && vma.end === end) {
    yield* move_vma(k, mm, vma, to, dontunmap, hooks);
  }
  yield* (locking.unlock ?? mmap_write_unlock)(k, mm);
}

/**
 * fork()'s copy of the address space, under `mmap_write_lock(oldmm)` as 5.18's and
 * 6.4's `dup_mmap()` take it, released with `unlock` (6.4's ends the VMA write locks
 * too) after `flush_tlb_mm(oldmm)`; `hooks` are what a version adds (6.6's
 * `vma_start_write()` of each VMA).
 */
export function* fork_under_mmap_lock(
  k: Kernel,
  mm: Mm,
  unlock: (k: Kernel, mm: Mm) => Proc = mmap_write_unlock,
  hooks: DupMmapHooks = {},
): Proc {
  yield* mmap_write_lock(k, mm);
  yield* dup_mmap(k, mm, hooks);
  yield* unlock(k, mm);
}

/** The 5.18 mmap() of a new anonymous VMA, under mmap_write_lock(). */
export function* mmap_under_mmap_lock(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* vma_mas_store(k, mm, start, end);
  yield* mmap_write_unlock(k, mm);
}

/**
 * madvise(MADV_DONTNEED) as 5.18, 6.4 and 6.6 lock it: under `mmap_read_lock()`
 * (`madvise_need_mmap_write()` is 0 for it), zapping with `zap` (a series may wrap
 * `unmap_page_range()`).
 */
export function* madvise_dontneed_under_mmap_read_lock(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  zap: ZapRange = zapRange,
): Proc {
  yield* mmap_read_lock(k, mm);
  yield* madvise_dontneed(k, mm, start, end, zap);
  yield* mmap_read_unlock(k, mm);
}

/**
 * The 5.18 writers with one change: the VMA is freed after an RCU grace period, as
 * every strategy that looks VMAs up without `mmap_lock` needs.
 */
export const WRITERS_RCU_FREEING_VMAS: Pick<
  Strategy,
  "fork" | "munmap" | "mmap" | "madvise_dontneed" | "mremap" | "khugepaged"
> = {
  fork: (k, mm) => fork_under_mmap_lock(k, mm),
  munmap: (k, mm, start, end) => munmap_under_mmap_lock(k, mm, start, end, vm_area_free_rcu),
  mmap: mmap_under_mmap_lock,
  madvise_dontneed: madvise_dontneed_under_mmap_read_lock,
  mremap: (k, mm, start, end, to, dontunmap) =>
    mremap_under_mmap_lock(k, mm, start, end, to, dontunmap, {
      hooks: { unmapOld: (s, e) => do_munmap_5_18(k, mm, s, e, false, vm_area_free_rcu) },
    }),
  khugepaged: khugepaged_5_18,
};

/**
 * What 5.18's khugepaged gives on the khugepaged scenarios, the same under every design
 * that keeps 5.18's (their faults never touch a file VMA). 5.18's retract_page_tables()
 * frees the PTE table with pte_free() at once after pmdp_collapse_flush(), whose TLB
 * flush sends no IPI it waits for under RCU table freeing: GUP-fast, with IRQs off and
 * no lock, reads the freed table. Jann Horn's 2ba99c5e0881 (6.1, for stable) added
 * tlb_remove_table_sync_one(). The rest is safe: mmap_write_trylock() fails beside
 * every walker that holds mmap_lock.
 */
export const KHUGEPAGED_5_18_EXPECTED: Readonly<Record<string, Expectation>> = {
  "gup-fast-vs-khugepaged": "violation:use-after-free",
  "dontneed-vs-khugepaged": "safe",
  "munmap-vs-khugepaged": "safe",
  "mremap-vs-khugepaged": "safe",
  "uffd-copy-vs-khugepaged": "safe",
  "fault-vs-khugepaged": "safe",
};

/** 5.18's khugepaged: `retract_page_tables()` under `mmap_write_trylock()`. */
export const RETRACT_5_18: RetractLocking = { version: "5.18", mmap_write_unlock };

/** `retract_page_tables()` of the huge page the file VMA at `addr` maps, as 5.18 has it. */
export function khugepaged_5_18(k: Kernel, mm: Mm, addr: number): Proc {
  return retract_page_tables_mmap_trylock(k, mm, addr, RETRACT_5_18);
}

/** Strategy 1. */
export const mmapLock: Strategy = {
  name: "mmap-lock",
  title: "mmap_lock (Linux 5.18 baseline)",
  summary:
    "faults under mmap_read_lock(); mmap under mmap_write_lock(); munmap downgrades it to tear down",
  source: "arch/x86/mm/fault.c and mm/mmap.c, Linux 5.18",
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
    "fork-vs-write-fault-stale-tlb": "safe",
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
    "fault-vs-mremap-dontunmap": "safe",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    "stack-vs-stack-expansion": "safe",
    "stack-expansion-vs-fault": "safe",
    ...KHUGEPAGED_5_18_EXPECTED,
  },
  fault: fault_under_mmap_lock,
  fork: (k, mm) => fork_under_mmap_lock(k, mm),
  munmap: (k, mm, start, end) => munmap_under_mmap_lock(k, mm, start, end),
  mmap: mmap_under_mmap_lock,
  madvise_dontneed: madvise_dontneed_under_mmap_read_lock,
  mremap: (k, mm, start, end, to, dontunmap) =>
    mremap_under_mmap_lock(k, mm, start, end, to, dontunmap),
  khugepaged: khugepaged_5_18,
};
