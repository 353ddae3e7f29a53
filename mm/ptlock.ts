/**
 * The PTE-table lock: where it lives and how long it lives, under the kernel
 * configuration's `ptlocks` (`Ptlocks` in kernel.ts), read here and nowhere else.
 *
 * - `pte_lockptr(mm, pmd)`: with split PTE locks, `ptlock_ptr(pmd_page(*pmd))`, the
 *   lock of that PTE table; without them, `&mm->page_table_lock`.
 * - `pgtable_pte_page_ctor()` → `ptlock_init()` → `ptlock_alloc()`, when
 *   `pte_alloc_one()` allocates a table: nothing to allocate when the `spinlock_t` is
 *   embedded in the table's `struct page` (`"split"`); under `ALLOC_SPLIT_PTLOCKS`
 *   (`"split-alloc"`), `page->ptl = kmem_cache_alloc(page_ptl_cachep, GFP_KERNEL)`, a
 *   separate object, here `PTE@0x40000000->ptl`.
 * - `pgtable_pte_page_dtor()` → `pte_lock_deinit()` → `ptlock_free()`: under
 *   `ALLOC_SPLIT_PTLOCKS`, `kmem_cache_free(page_ptl_cachep, page->ptl)`. x86's
 *   `___pte_free_tlb()` calls it first thing (arch/x86/mm/pgtable.c, 5.18 and 6.4:
 *   `pgtable_pte_page_dtor(pte); paravirt_release_pte(...);
 *   paravirt_tlb_remove_table(tlb, pte);`), as arm64's `__pte_free_tlb()` does, so
 *   when `free_pte_range()` unlinks the table (`pmd_clear(); pte_free_tlb();`), long
 *   before the table itself is freed. The embedded lock dies with the table's page;
 *   `mm->page_table_lock` with the mm.
 *
 * So taking and dropping the PTE lock of a table that is unlinked but not yet freed,
 * which is what the speculative series' `__pte_map_lock()` does when its second
 * `mmap_seq` check fails (`spin_trylock()`, then `spin_unlock()`), is harmless with the
 * lock embedded in the page and a use-after-free of the lock under
 * `ALLOC_SPLIT_PTLOCKS`. (Qi Zheng's "[PATCH v4 11/15] x86: pgtable: move
 * pagetable_dtor() to __tlb_remove_table()", LKML 2024-12-30, and its siblings for
 * arm, arm64 and riscv, later moved the destructor after the grace period; the model
 * follows 5.18 and 6.4.)
 *
 * Follows: include/linux/mm.h (`pte_lockptr()`, `ptlock_ptr()`, `ptlock_init()`,
 * `pgtable_pte_page_ctor()`/`_dtor()`), include/linux/mm_types_task.h
 * (`USE_SPLIT_PTE_PTLOCKS`, `ALLOC_SPLIT_PTLOCKS`), mm/memory.c (`ptlock_alloc()`,
 * `ptlock_free()`, `free_pte_range()`), arch/x86/mm/pgtable.c (`___pte_free_tlb()`),
 * Linux 5.18 and 6.4. Left out: the split PMD lock (`pmd_lock()` is
 * `mm->page_table_lock`, spinlock.ts), `ptlock_alloc()` failing (GFP_KERNEL: too small
 * to fail), the lock's `spin_lock_init()`.
 *
 * @module
 */

import type { Access } from "../explore/mod.ts";
import type { Kernel, Ptlocks } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import type { Table } from "./pgtable.ts";
import type { KObject } from "./slab.ts";
import { SpinLock } from "./spinlock.ts";

function ptlocks(k: Kernel): Ptlocks {
  return k.config.ptlocks ?? "split";
}

/**
 * The lock `page->ptl` points to under `ALLOC_SPLIT_PTLOCKS`: its own object, named for
 * the table it locks, and shown in traces as that table's `->ptl`.
 */
class AllocatedPtlock extends SpinLock {
  readonly #table: KObject;

  constructor(obj: KObject, table: KObject) {
    super("spinlock_t", obj);
    this.#table = table;
  }

  override get label(): string {
    return `${this.#table.name}->ptl`;
  }
}

/**
 * `pgtable_pte_page_ctor()`'s `ptlock_init()` for the new PTE table `table`: the lock
 * the table carries with split PTE locks (`Table.ptl`), none without them.
 */
export function ptlock_init(k: Kernel, table: KObject): SpinLock | undefined {
  switch (ptlocks(k)) {
    case "split":
      return new SpinLock("ptl", table);
    case "split-alloc":
      // ptlock_alloc(): a slab object of its own, created with the table (no other
      // step can touch it before the table is published, as in page_alloc.ts).
      return new AllocatedPtlock(k.slab.create("ptl", `${table.name}->ptl`), table);
    case "page-table-lock":
      return undefined;
  }
}

/** `pte_lockptr(mm, pmd)`: the lock of PTE table `pte`. */
export function pte_lockptr(k: Kernel, mm: Mm, pte: Table): SpinLock {
  return ptlocks(k) === "page-table-lock" ? mm.page_table_lock : pte.ptl!;
}

/**
 * What `pgtable_pte_page_dtor(pte)` touches: the lock's object under
 * `ALLOC_SPLIT_PTLOCKS`, which it frees; nothing otherwise. For the declaration of the
 * step that unlinks the table.
 */
export function pgtable_pte_page_dtor_accesses(k: Kernel, pte: Table): Access[] {
  if (ptlocks(k) !== "split-alloc") return [];
  return [{ obj: pte.ptl!.home.name, kind: "write" }];
}

/**
 * `pgtable_pte_page_dtor(pte)` → `ptlock_free()`, in `___pte_free_tlb()` when
 * `free_pte_range()` unlinks the table: frees the lock under `ALLOC_SPLIT_PTLOCKS`
 * (`kmem_cache_free(page_ptl_cachep, page->ptl)`); a no-op otherwise.
 */
export function pgtable_pte_page_dtor(k: Kernel, pte: Table): void {
  if (ptlocks(k) !== "split-alloc") return;
  k.slab.free(pte.ptl!.home);
}
