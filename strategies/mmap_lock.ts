/**
 * Strategy 1, the Linux 5.18 baseline: every fault runs under `mmap_read_lock()`,
 * munmap() and mmap() under `mmap_write_lock()`. Page tables are allocated with
 * GFP_KERNEL (faults may sleep), VMAs are freed at once.
 *
 * Its writer and its fault are also the fallbacks other strategies use.
 *
 * Follows: arch/x86/mm/fault.c `do_user_addr_fault()`, mm/mmap.c `__do_munmap()` and
 * `mmap_region()`, Linux 5.18.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  type FaultOptions,
  type FaultResult,
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  type Kernel,
  type Mm,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  unmap_region,
  vm_area_free,
  vm_area_free_rcu,
  type Vma,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
} from "../mm/mod.ts";
import type { Strategy } from "./strategy.ts";

/** Today's flags: page tables and the page may sleep for memory. */
export const SLEEPING_ALLOCATIONS: FaultOptions = {
  tableGfp: GFP_PGTABLE_USER,
  pageGfp: GFP_HIGHUSER_MOVABLE,
};

/** The 5.18 fault: find the VMA and handle the fault under mmap_read_lock(). */
export function* fault_under_mmap_lock(k: Kernel, mm: Mm, addr: number): Proc<FaultResult> {
  yield* mmap_read_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, addr);
  const result = vma ? yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS) : "sigsegv";
  yield* mmap_read_unlock(k, mm);
  return result;
}

/**
 * The 5.18 munmap() of a whole VMA, under mmap_write_lock(): take the VMA out of the
 * tree, tear down its page tables, free it with `free`.
 */
export function* munmap_under_mmap_lock(
  k: Kernel,
  mm: Mm,
  start: number,
  free: (k: Kernel, vma: Vma) => Proc = vm_area_free,
): Proc {
  yield* mmap_write_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, start, "find_vma");
  if (vma) {
    const around = yield* vma_mas_remove(k, mm, vma);
    yield* unmap_region(k, mm, vma, around);
    yield* free(k, vma);
  }
  yield* mmap_write_unlock(k, mm);
}

/** The 5.18 mmap() of a new anonymous VMA, under mmap_write_lock(). */
export function* mmap_under_mmap_lock(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* vma_mas_store(k, mm, start, end);
  yield* mmap_write_unlock(k, mm);
}

/**
 * The 5.18 writers with one change: the VMA is freed after an RCU grace period, as
 * every strategy that looks VMAs up without `mmap_lock` needs.
 */
export const WRITERS_RCU_FREEING_VMAS: Pick<Strategy, "munmap" | "mmap"> = {
  munmap: (k, mm, start) => munmap_under_mmap_lock(k, mm, start, vm_area_free_rcu),
  mmap: mmap_under_mmap_lock,
};

/** Strategy 1. */
export const mmapLock: Strategy = {
  name: "mmap-lock",
  title: "mmap_lock (Linux 5.18 baseline)",
  summary: "faults under mmap_read_lock(); munmap/mmap under mmap_write_lock()",
  source: "arch/x86/mm/fault.c and mm/mmap.c, Linux 5.18",
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
  },
  fault: fault_under_mmap_lock,
  munmap: (k, mm, start) => munmap_under_mmap_lock(k, mm, start),
  mmap: mmap_under_mmap_lock,
};
