/**
 * `ioctl(UFFDIO_COPY)` of one page into a shared file VMA registered with userfaultfd,
 * up to where the page cache refuses it: `mfill_atomic()` (`__mcopy_atomic()` before
 * 6.4) under `mmap_read_lock()`, the walk to the PMD entry, allocating what is missing
 * (`mm_alloc_pmd()`, `__pte_alloc()`), and its checks of the entry before
 * `mfill_atomic_pte()`:
 *
 * ```c
 * dst_pmdval = pmdp_get_lockless(dst_pmd);
 * ...
 * if (unlikely(pmd_none(dst_pmdval)) &&
 *     unlikely(__pte_alloc(dst_mm, dst_pmd))) {
 * ...
 * if (unlikely(pmd_trans_huge(*dst_pmd))) {
 * ...
 * BUG_ON(pmd_none(*dst_pmd));
 * ```
 *
 * The `BUG_ON()` assumed that nothing empties a PMD entry under `mmap_read_lock()`;
 * from 6.6 khugepaged's `retract_page_tables()` does, for shmem and file THPs, with no
 * mmap lock at all (mm/khugepaged.ts). Jann Horn removed it ("userfaultfd: don't
 * BUG_ON() if khugepaged yanks our page table", August 2024, Fixes: 1d65b771bc08, for
 * stable): "On newer kernels (>=6.5), for shmem mappings, khugepaged is allowed to yank
 * page tables out from under us". The same code is in 4.17, 5.18, 6.4 and 6.6; what
 * differs is whether khugepaged can run beside it.
 *
 * Follows: mm/userfaultfd.c (`mfill_atomic()`, `mm_alloc_pmd()`, `find_dst_vma()`),
 * Linux 6.6.0, and `__mcopy_atomic()` of 5.18. Left out: the uffd context and its
 * registration (the VMA is taken as registered for missing faults), the source copy,
 * `shmem_mfill_atomic_pte()`, which finds the page cache already holding khugepaged's
 * huge page at that index and fails with -EEXIST (the model ends there), every other
 * mode and VMA kind, the `mmap_changing` retry.
 *
 * @module
 */

import { type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import { pXd_alloc } from "./memory.ts";
import { GFP_PGTABLE_USER } from "./page_alloc.ts";
import { mmap_read_lock, mmap_read_unlock } from "./mmap_lock.ts";
import { vma_lookup } from "./vma.ts";
import { entryAccess, entryName, isTable, readEntry, type Table } from "./pgtable.ts";

/**
 * UFFDIO_COPY of the page at `addr` of a shared file VMA: false (-ENOENT) if no VMA is
 * there, else the walk and the checks, then -EEXIST from the page cache (true: the
 * ioctl reached `mfill_atomic_pte()`).
 */
export function* mfill_atomic_copy(k: Kernel, mm: Mm, addr: number): Proc<boolean> {
  yield* mmap_read_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, addr, "find_dst_vma", "mmap_lock");
  let reached = false;
  if (vma) {
    // mm_alloc_pmd(): p4d_alloc(), pud_alloc(), pmd_alloc().
    let table: Table | null = mm.pgd;
    for (let depth = 0; depth < 3 && table; depth++) {
      table = yield* pXd_alloc(k, mm, table, addr, GFP_PGTABLE_USER);
    }
    // dst_pmdval = pmdp_get_lockless(dst_pmd); if none, __pte_alloc().
    if (table && (yield* pXd_alloc(k, mm, table, addr, GFP_PGTABLE_USER))) {
      yield* check_dst_pmd(k, table, addr);
      reached = true;
    }
  }
  yield* mmap_read_unlock(k, mm);
  return reached;
}

/** `pmd_trans_huge(*dst_pmd)` (never, here) and `BUG_ON(pmd_none(*dst_pmd))`. */
function* check_dst_pmd(k: Kernel, pmd: Table, addr: number): Proc {
  yield* step(k, "mfill_atomic", `BUG_ON(pmd_none(*${entryName(pmd, addr)}))`, [
    entryAccess(pmd, addr, "read"),
  ], () => {
    if (!isTable(readEntry(k, pmd, addr))) {
      throw new Violation(
        "bug-on",
        `${k.where()}: BUG_ON(pmd_none(*dst_pmd)) in mfill_atomic(): ` +
          `${entryName(pmd, addr)} held a PTE table when pmdp_get_lockless() read it ` +
          `and is none now (the kernel oopses)`,
      );
    }
  });
}
