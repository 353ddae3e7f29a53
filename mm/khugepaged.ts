/**
 * khugepaged's collapse of a file's small pages into a huge page, from the point where
 * `collapse_file()` has the new huge page locked in the page cache and the small pages
 * unmapped: `retract_page_tables()`, which takes the now empty PTE table out of every
 * VMA mapping that huge page, so that the next fault maps it with one PMD.
 *
 * It finds the VMAs through the file (`mapping->i_mmap`, mm/address_space.ts), not
 * through an mm, and what it holds while it takes a table away is what each version
 * changed:
 *
 * - 5.18: `i_mmap_lock_write()`, then per VMA `mmap_write_trylock(mm)` ("We need
 *   exclusive mmap_lock to retract page table. We use trylock due to lock inversion":
 *   the fault takes `mmap_lock`, then the page lock, which khugepaged holds), and
 *   `collapse_and_free_pmd()` under `pmd_lock()`: `pmdp_collapse_flush()`, then
 *   `pte_free()` at once. Nothing waits for GUP-fast, which holds no lock: under the
 *   RCU configurations, whose TLB flush sends no IPI it waits for, it may still be
 *   reading the table. Jann Horn fixed that in 6.1 ("mm/khugepaged: fix GUP-fast
 *   interaction by sending IPI", 2ba99c5e0881, for stable back to 4.x).
 * - 6.4: as 5.18, with `vma_try_start_write(vma)` after the trylock ("trylock for the
 *   same lock inversion as above", 55fd6fccad31 and its fix), the anon_vma test again
 *   under the locks, and 6.1's `collapse_and_free_pmd()`: no `pmd_lock()`
 *   (8d3c106e19e8, "mm/khugepaged: take the right locks for page table retraction")
 *   and `tlb_remove_table_sync_one()` between the flush and `pte_free()`.
 * - 6.6: no `mmap_lock` and no VMA lock at all (Hugh Dickins, "mm/khugepaged:
 *   retract_page_tables() without mmap or vma lock", 1d65b771bc08): `i_mmap_lock_read()`,
 *   then `pmd_lock()` and the PTE lock nested in it, the anon_vma test again under them,
 *   `pmdp_collapse_flush()`, and `pte_free_defer()`. "Users of pte_offset_map_lock() etc
 *   all now allow for them to fail ... But those users do expect the page table to
 *   remain a good page table, until they unlock and rcu_read_unlock(): so the page
 *   table cannot be freed immediately": 6.5's `pte_offset_map_lock()`
 *   (pgtable_generic.ts) is the other half.
 *
 * Follows: mm/khugepaged.c `retract_page_tables()` and `collapse_and_free_pmd()` of
 * 5.18 (as Pasha Tatashin's "[PATCH v4 3/4] mm/khugepaged: unify collapse pmd clear,
 * flush and free", LKML 2022-01-26, writes it; the body is the same before it), of 6.4
 * (as quoted by the removal in Hugh Dickins's "[PATCH v3 09/13]", LKML 2023-07-11, and
 * Jann Horn's 6.1 patches) and of 6.6 (that patch). Left out: the rest of
 * `collapse_file()` (the page cache, the copy, `try_to_unmap()`: set-up leaves the
 * table empty, mm/mm_types.ts `setupEmptyPteTable()`), `khugepaged_add_pte_mapped_thp()`
 * when the trylock fails (a later retry), `collapse_pte_mapped_thp()` and
 * MADV_COLLAPSE, mmu notifiers, `mm_dec_nr_ptes()`, `page_table_check`, userfaultfd
 * (`userfaultfd_wp()` is false), `khugepaged_test_exit()` (the mm never exits). Each
 * file VMA belongs to the scenario's one mm (no fork of a file VMA).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { entrySize, type Table, walk_to_pte } from "./pgtable.ts";
import {
  type AddressSpace,
  fileName,
  i_mmap_lock_read,
  i_mmap_lock_write,
  i_mmap_unlock_read,
  i_mmap_unlock_write,
  mappingOf,
  vma_interval_tree_foreach,
} from "./address_space.ts";
import { mmap_write_trylock } from "./mmap_lock.ts";
import { spin_lock, spin_unlock } from "./spinlock.ts";
import { pte_lockptr } from "./ptlock.ts";
import {
  pmdp_collapse_flush,
  pte_free,
  pte_free_defer,
  tlb_remove_table_sync_one,
} from "./pgtable_generic.ts";

/** HPAGE_PMD_SIZE: what one PMD entry maps, 2 MiB. */
export const HPAGE_PMD_SIZE = entrySize("pmd");

/**
 * What a version up to 6.4 takes around the retraction, after `mmap_write_trylock()`:
 * how it unlocks (6.4's `mmap_write_unlock()` ends the VMA write locks too), and 6.4's
 * `vma_try_start_write()`.
 */
export interface RetractLocking {
  /**
   * "4.17" is 5.18's with `up_write(&mm->mmap_sem)` before `mm_dec_nr_ptes()` and
   * `pte_free()` (4.17's shmem-only `retract_page_tables()`), not after.
   */
  readonly version: "4.17" | "5.18" | "6.4";
  readonly mmap_write_unlock: (k: Kernel, mm: Mm) => Proc;
  /** 6.4: `vma_try_start_write(vma)`, false if a reader holds the VMA lock. */
  readonly vma_try_start_write?: (k: Kernel, mm: Mm, vma: Vma) => Proc<boolean>;
}

/**
 * What `retract_page_tables()` reads of a VMA before it looks for the PMD:
 * `vma->anon_vma` (`READ_ONCE()` from 6.4), and whether the huge page at file offset
 * `pgoff` lies PMD-aligned inside it. The address it maps there, or undefined to skip
 * the VMA.
 */
function* retractable(k: Kernel, vma: Vma, pgoff: number): Proc<number | undefined> {
  return yield* step(k, "retract_page_tables", `${vma.obj.name}: anon_vma? aligned?`, [
    { obj: vma.obj.name, part: "anon_vma", kind: "read" },
    { obj: vma.obj.name, part: "vm_start", kind: "read" },
    { obj: vma.obj.name, part: "vm_end", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "anon_vma");
    k.slab.read(vma.obj, "vm_start");
    k.slab.read(vma.obj, "vm_end");
    // addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT), vm_pgoff 0
    const addr = vma.start + pgoff * entrySize("pte");
    const skip = vma.anon_vma !== undefined
      ? "anon_vma: continue"
      : addr % HPAGE_PMD_SIZE !== 0 || vma.end < addr + HPAGE_PMD_SIZE
      ? "not a whole PMD: continue"
      : undefined;
    k.rt.note(skip ?? "retract");
    return skip ? undefined : addr;
  });
}

/** The anon_vma test again, under the locks the version holds by then. */
function* anonVmaAgain(k: Kernel, vma: Vma): Proc<boolean> {
  return yield* step(k, "retract_page_tables", `${vma.obj.name}->anon_vma?`, [
    { obj: vma.obj.name, part: "anon_vma", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "anon_vma");
    k.rt.note(vma.anon_vma ? "set: skip" : "none");
    return vma.anon_vma !== undefined;
  });
}

/**
 * `mm_find_pmd()` (5.18) / `find_pmd_or_thp_or_none()` (6.4, 6.6): the walk to the PMD
 * entry of `addr` with no lock of the tables, and the PTE table it holds.
 */
function* find_pmd(
  k: Kernel,
  mm: Mm,
  addr: number,
  label: string,
): Proc<{ readonly pmd: Table; readonly pte: Table } | undefined> {
  return yield* walk_to_pte(k, mm.pgd, addr, () => label);
}

/**
 * `collapse_file()`'s last steps for the huge page at file offset 0 of the file VMA
 * the scenario maps at `addr`: `retract_page_tables(mapping, 0)` as `locking`'s version
 * (4.17, 5.18 or 6.4) has it.
 */
export function* retract_page_tables_mmap_trylock(
  k: Kernel,
  mm: Mm,
  addr: number,
  locking: RetractLocking,
): Proc {
  const mapping = mappingOf(k, fileName(addr));
  yield* i_mmap_lock_write(k, mapping);
  for (const vma of yield* vma_interval_tree_foreach(k, mapping, 0)) {
    const at = yield* retractable(k, vma, 0);
    if (at === undefined) continue;
    const walked = yield* find_pmd(
      k,
      mm,
      at,
      locking.version === "6.4" ? "find_pmd_or_thp_or_none" : "mm_find_pmd",
    );
    if (!walked) continue;
    if (!(yield* mmap_write_trylock(k, mm))) continue; // khugepaged_add_pte_mapped_thp()
    const locked = locking.vma_try_start_write
      ? yield* locking.vma_try_start_write(k, mm, vma)
      : true;
    const retract = locked &&
      !(locking.version === "6.4" && (yield* anonVmaAgain(k, vma)));
    // collapse_and_free_pmd(): up to 6.0 under pmd_lock() (mm->page_table_lock here,
    // spinlock.ts), 6.1 on without it and with tlb_remove_table_sync_one().
    let table: Table | undefined;
    if (retract) {
      const pml = locking.version === "6.4" ? undefined : mm.page_table_lock;
      if (pml) yield* spin_lock(k, pml);
      table = yield* pmdp_collapse_flush(k, mm, walked.pmd, at, walked.pte);
      if (pml) yield* spin_unlock(k, pml);
      else yield* tlb_remove_table_sync_one(k);
    }
    if (locking.version === "4.17") yield* locking.mmap_write_unlock(k, mm);
    if (table) yield* pte_free(k, table);
    if (locking.version !== "4.17") yield* locking.mmap_write_unlock(k, mm);
  }
  yield* i_mmap_unlock_write(k, mapping);
}

/**
 * 6.6's `retract_page_tables(mapping, 0)` for the file VMA the scenario maps at `addr`:
 * `i_mmap_lock_read()` and the page-table locks only; the table freed by `free`,
 * `pte_free_defer()` (a note's variant may free it at once).
 */
export function* retract_page_tables_6_6(
  k: Kernel,
  mm: Mm,
  addr: number,
  free: (k: Kernel, table: Table) => Proc = pte_free_defer,
): Proc {
  const mapping: AddressSpace = mappingOf(k, fileName(addr));
  yield* i_mmap_lock_read(k, mapping);
  for (const vma of yield* vma_interval_tree_foreach(k, mapping, 0)) {
    const at = yield* retractable(k, vma, 0);
    if (at === undefined) continue;
    const walked = yield* find_pmd(k, mm, at, "find_pmd_or_thp_or_none");
    if (!walked) continue;
    // pml = pmd_lock(mm, pmd); ptl = pte_lockptr(mm, pmd): with i_mmap_rwsem held nothing
    // empties or moves the entry (munmap() unlinks the VMA from i_mmap first, mremap()
    // moves the table under the rmap locks), so the table found is the one locked.
    const pml = mm.page_table_lock;
    const ptl = pte_lockptr(k, mm, walked.pte);
    yield* spin_lock(k, pml);
    if (ptl !== pml) yield* spin_lock(k, ptl); // spin_lock_nested()
    const table = (yield* anonVmaAgain(k, vma))
      ? undefined
      : yield* pmdp_collapse_flush(k, mm, walked.pmd, at, walked.pte);
    if (ptl !== pml) yield* spin_unlock(k, ptl);
    yield* spin_unlock(k, pml);
    if (table) yield* free(k, table);
  }
  yield* i_mmap_unlock_read(k, mapping);
}
