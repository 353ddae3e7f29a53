/**
 * Strategy: per-VMA locks as Linux 6.6 has them, after the fixes of the 6.4 and 6.5
 * cycles. Everything not listed here is 6.4's (strategies/per_vma_lock.ts).
 *
 * - fork: kernel/fork.c `dup_mmap()` write-locks each parent VMA before copying it,
 *   `vma_start_write(mpnt);` at the top of `for_each_vma(old_vmi, mpnt)` (fb49c455323f,
 *   "fork: lock VMAs of the parent process when forking", Suren Baghdasaryan, July
 *   2023, also in the 6.4.3 stable release). Its message: "When forking a child
 *   process, the parent write-protects anonymous pages and COW-shares them with the
 *   child being forked using copy_present_pte(). We must not take any concurrent page
 *   faults on the source vma's as they are being processed". The earlier -mm version of the fix
 *   (2b4f3b4987b5) names the stale-TLB loss the scenarios here show: a write fault
 *   before `flush_tlb_mm(oldmm)` lets `do_wp_page()` replace the page, leaving "stale
 *   writable TLB entries targeting the wrong (old) page".
 * - the fault: mm/memory.c `lock_vma_under_rcu()` tests `vma->anon_vma` after
 *   `vma_start_read()`, "This check must happen after vma_start_read(); otherwise, a
 *   concurrent mremap() with MREMAP_DONTUNMAP could dissociate the VMA from its
 *   anon_vma" (`goto inval_end_read`). `do_wp_page()` gives up under the VMA lock only
 *   for a VMA without anon_vma (`if ((vmf->flags & FAULT_FLAG_VMA_LOCK) &&
 *   !vma->anon_vma) { ...; return VM_FAULT_RETRY; }`), which lock_vma_under_rcu() has
 *   already excluded, so it is a comment below. `handle_mm_fault()` drops the VMA lock
 *   itself on VM_FAULT_RETRY; no per-VMA fault of the model returns that.
 * - mmap(): `mmap_region()` write-locks the new VMA before it stores it in the tree
 *   (`vma_mas_store(..., writeLocked)`, mm/vma.ts).
 *
 * - munmap(): 6.6.0's `do_vmi_align_munmap()` splits the other way at the start and
 *   write-locks both halves of a split before storing the new one (`MUNMAP_6_6`), and
 *   downgrades `mmap_lock` even below a stack; the rest (`vma_start_write()` of the
 *   part to unmap, detach, `unmap_region()`) is 6.4's.
 * - the fault without a VMA lock: `lock_mm_and_find_vma()`, which expands a stack with
 *   `mmap_lock` held for writing and the VMA write-locked (mm/stack.ts).
 * - madvise(MADV_DONTNEED): under `mmap_read_lock()`, as 6.4 (mm/madvise.c is the same
 *   there in both); mremap(): 6.4's `move_vma()`, which 6.6 has unchanged, the copy
 *   write-locked in `vma_link()` instead of `copy_vma()` (the same step here).
 * - khugepaged: `retract_page_tables()` with no mmap or VMA lock and `pte_free_defer()`
 *   (1d65b771bc08, 6.6-rc1), and so `zap_pte_range()` with 6.5's
 *   `pte_offset_map_lock()`, which may fail (0d940a9b270b), in munmap() and
 *   MADV_DONTNEED (mm/khugepaged.ts, mm/pgtable_generic.ts). The fault path's own
 *   `pte_offset_map_lock()` and `pte_offset_map_nolock()` (also 6.5) are 6.4's here:
 *   the model's faults are all in anonymous VMAs, whose tables only munmap() and
 *   mremap() take away, under the VMA's write lock.
 *
 * Read from a 6.6.0 tree (kernel/fork.c, mm/memory.c, mm/madvise.c, mm/mmap.c) and a
 * 6.6.9 one.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  expand_downwards,
  type FaultCause,
  type FaultResult,
  find_vma,
  handle_mm_fault,
  type Kernel,
  type Mm,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  retract_page_tables_6_6,
  type StackExpansion,
  type Vma,
  vma_mas_store,
  zapRange6_5,
} from "../mm/mod.ts";
import {
  fork_under_mmap_lock,
  madvise_dontneed_under_mmap_read_lock,
  SLEEPING_ALLOCATIONS,
} from "./mmap_lock.ts";
import {
  faultWithVmaLock,
  LINUX_6_4_CHECKS,
  lock_vma_under_rcu,
  type LockVmaChecks,
  mmap_write_downgrade_6_4,
  mmap_write_unlock_6_4,
  mremap_6_4,
  munmap_6_4,
  type MunmapVersion,
  vma_start_write,
} from "./per_vma_lock.ts";
import type { Strategy } from "./strategy.ts";

/**
 * 6.6's `lock_vma_under_rcu()`: 6.4's checks, with the anon_vma test under the VMA lock.
 * (`userfaultfd_armed()`, tested there in 6.4 and elsewhere in 6.6, is false for every
 * VMA of the model either way.)
 */
export const LINUX_6_6_CHECKS: LockVmaChecks = { ...LINUX_6_4_CHECKS, anonVmaLocked: true };

/**
 * 6.6.0's `do_vmi_align_munmap()`: `__split_vma(vmi, vma, start, 1)` and
 * `__split_vma(vmi, next, end, 0)`, `__split_vma()` write-locking both halves before
 * the store ("mm: move vma locking out of vma_prepare and dup_anon_vma" and "mm:
 * always lock new vma before inserting into vma tree", 6.6-rc1), and the downgrade
 * whatever lies above.
 */
export const MUNMAP_6_6: MunmapVersion = {
  split: (k, mm) => ({
    belowAtStart: true,
    belowAtEnd: false,
    prepare: function* (vma, fresh) {
      yield* vma_start_write(k, mm, vma);
      yield* vma_start_write(k, mm, fresh);
    },
  }),
  growsdownKeepsWriteLock: false,
  pteMap: "6.5",
};

/** 6.6's mmap() of a new anonymous VMA: write-locked before it is in the tree. */
function* mmap_6_6(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* vma_mas_store(k, mm, start, end, true);
  yield* mmap_write_unlock_6_4(k, mm);
}

/**
 * 6.6's `expand_downwards()`: the caller holds `mmap_lock` for writing, and the VMA is
 * write-locked before the anon_vma ("Lock the VMA before expanding to prevent
 * concurrent page faults", mm/stack.ts).
 */
export function stack_6_6(k: Kernel, mm: Mm): StackExpansion {
  return {
    version: "6.6",
    writeLocked: true,
    lockVma: (vma) => vma_start_write(k, mm, vma),
  };
}

/**
 * 6.6's `lock_mm_and_find_vma()` (mm/memory.c, CONFIG_LOCK_MM_AND_FIND_VMA): the VMA
 * at `addr` with `mmap_lock` held for reading, or undefined with nothing held. Below
 * a stack it drops the read lock and takes the write lock (`mmap_upgrade_trylock()` is
 * "We don't have this operation yet": false), looks the VMA up again, expands it with
 * `expand_stack_locked()`, and downgrades (`mmap_write_downgrade()`, which is 6.4's).
 * `get_mmap_lock_carefully()` is `mmap_read_lock()` for a user fault.
 */
export function* lock_mm_and_find_vma(k: Kernel, mm: Mm, addr: number): Proc<Vma | undefined> {
  yield* mmap_read_lock(k, mm);
  let slot = yield* find_vma(k, mm, addr);
  if (slot?.vma && slot.start <= addr) return slot.vma;
  if (!slot?.vma || !slot.vma.growsdown) {
    yield* mmap_read_unlock(k, mm);
    return undefined;
  }
  // upgrade_mmap_lock_carefully()
  yield* mmap_read_unlock(k, mm);
  yield* mmap_write_lock(k, mm);
  slot = yield* find_vma(k, mm, addr);
  const vma = slot?.vma;
  const ok = vma !== undefined && (slot!.start <= addr ||
    (vma.growsdown && (yield* expand_downwards(k, mm, vma, addr, stack_6_6(k, mm)))));
  if (!ok) {
    yield* mmap_write_unlock_6_4(k, mm); // fail:
    return undefined;
  }
  yield* mmap_write_downgrade_6_4(k, mm); // success:
  return vma;
}

/**
 * 6.6's fault when `lock_vma_under_rcu()` gives no VMA: `vma = lock_mm_and_find_vma(mm,
 * address, regs); if (unlikely(!vma)) { bad_area_nosemaphore(...); return; }`, then
 * `handle_mm_fault()` and `mmap_read_unlock()` (arch/x86/mm/fault.c).
 */
function* fault_6_6_mmap_lock(
  k: Kernel,
  mm: Mm,
  addr: number,
  cause?: FaultCause,
): Proc<FaultResult> {
  const vma = yield* lock_mm_and_find_vma(k, mm, addr);
  if (!vma) return "sigsegv";
  const result = yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS, cause);
  yield* mmap_read_unlock(k, mm);
  return result;
}

/** Strategy 8. */
export const perVmaLock66: Strategy = {
  name: "per-vma-lock-v6.6",
  title: "Per-VMA locks, Linux 6.6",
  vmaTree: "maple",
  summary:
    "6.4's, with fork write-locking each parent VMA and lock_vma_under_rcu() testing anon_vma under the lock",
  source: "Linux 6.6: kernel/fork.c dup_mmap() (fb49c455323f), mm/memory.c lock_vma_under_rcu()",
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
    "gup-fast-vs-khugepaged": "safe",
    "dontneed-vs-khugepaged": "safe",
    "munmap-vs-khugepaged": "safe",
    // CVE-2024-50066: move_page_tables() reads the old PMD entry before it takes the rmap
    // locks, and 6.6's retract_page_tables(), holding neither mmap_lock nor the VMA lock,
    // clears it in between: move_normal_pmd() then populates the new entry from a none
    // one. Fixed by Jann Horn, "mm/mremap: prevent racing change of old pmd type"
    // (October 2024, for 6.12 and stable; Fixes: 1d65b771bc08).
    "mremap-vs-khugepaged": "violation:bad-pmd",
    // mfill_atomic()'s BUG_ON(pmd_none(*dst_pmd)) assumes no PMD entry is emptied under
    // mmap_read_lock(); 6.6's retraction empties one. Removed by Jann Horn, "userfaultfd:
    // don't BUG_ON() if khugepaged yanks our page table" (August 2024, Fixes:
    // 1d65b771bc08).
    "uffd-copy-vs-khugepaged": "violation:bug-on",
    "fault-vs-khugepaged": "safe",
  },
  fault: faultWithVmaLock(
    (k, mm, address) => lock_vma_under_rcu(k, mm, address, LINUX_6_6_CHECKS),
    fault_6_6_mmap_lock,
  ),
  fork: (k, mm) =>
    fork_under_mmap_lock(k, mm, mmap_write_unlock_6_4, {
      beforeCopy: (vma) => vma_start_write(k, mm, vma),
    }),
  munmap: (k, mm, start, end) => munmap_6_4(k, mm, start, end, true, MUNMAP_6_6),
  mmap: mmap_6_6,
  mremap: (k, mm, start, end, to, dontunmap) =>
    mremap_6_4(k, mm, start, end, to, dontunmap, MUNMAP_6_6),
  madvise_dontneed: (k, mm, start, end) =>
    madvise_dontneed_under_mmap_read_lock(k, mm, start, end, zapRange6_5),
  khugepaged: (k, mm, addr) => retract_page_tables_6_6(k, mm, addr),
};
