/**
 * munmap() and mmap() of whole anonymous VMAs, as mm/mmap.c sequences them, without
 * their locking: `__do_munmap()` finds the VMA, takes it out of the tree, zaps its PTEs
 * and frees its page tables (`unmap_region()`), then frees the VMA; `mmap_region()`
 * puts a new VMA in the tree. Strategies wrap these in the locks they choose.
 *
 * Follows: mm/mmap.c (`__do_munmap()`, `unmap_region()`, `free_pgtables()`,
 * `mmap_region()`), Linux 5.18. The locking, `__do_munmap()`'s `mmap_write_downgrade()`
 * before `unmap_region()` included, is the strategies' (`strategies/mmap_lock.ts`).
 * Left out: splitting a VMA (scenarios unmap whole VMAs), merging, accounting, file
 * mappings.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import type { Kernel } from "./kernel.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { free_pgd_range, unmap_page_range } from "./memory.ts";
import { tlb_finish_mmu, tlb_gather_mmu } from "./mmu_gather.ts";
import type { Neighbours } from "./vma.ts";

/** FIRST_USER_ADDRESS on x86-64. */
export const FIRST_USER_ADDRESS = 0;
/** USER_PGTABLES_CEILING: 0 stands for the top of the address space. */
export const USER_PGTABLES_CEILING = 0;

/**
 * `unmap_region()`: zap the VMA's PTEs, free the page tables no neighbour needs
 * (`free_pgtables()` with floor = prev's end, ceiling = next's start), and finish the
 * gather (pages now, tables after a grace period).
 */
export function* unmap_region(k: Kernel, mm: Mm, vma: Vma, around: Neighbours): Proc {
  const tlb = tlb_gather_mmu(mm);
  yield* unmap_page_range(k, tlb, mm, vma.start, vma.end);
  yield* free_pgd_range(
    k,
    tlb,
    mm,
    vma.start,
    vma.end,
    around.prev ? around.prev.end : FIRST_USER_ADDRESS,
    around.next ? around.next.start : USER_PGTABLES_CEILING,
  );
  yield* tlb_finish_mmu(k, tlb);
}
