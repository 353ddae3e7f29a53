/**
 * Mapping a PTE table to walk it, and taking one out from under its PMD entry: the
 * generic page-table helpers that a table freed without `mmap_lock` needs.
 *
 * `pte_offset_map_lock()` is the lock a walker under `mmap_lock` (or a VMA lock)
 * takes before it reads or clears the PTEs of a table it found through its PMD entry
 * (`zap_pte_range()`, `follow_page_pte()`, ...). Up to Linux 6.4 it is a macro: lock
 * `pte_lockptr(mm, pmd)`, map `*pmd`, no check, since nothing took a PTE table away
 * while the walker held `mmap_lock` (`"5.18"`; khugepaged took it for writing,
 * mm/khugepaged.ts). Linux 6.5 made it fail instead (`"6.5"`, Hugh Dickins, "mm/pgtable:
 * allow pte_offset_map[_lock]() to fail", 0d940a9b270b): `__pte_offset_map()` takes
 * `rcu_read_lock()` and loads the PMD entry once (`pmdp_get_lockless()`), giving NULL
 * for none; `__pte_offset_map_lock()` takes that table's lock and checks the entry is
 * still the same (`pmd_same()`), going `again` if not; `pte_unmap()` ends the RCU
 * section. It is what lets 6.6's `retract_page_tables()` take a table away with no
 * `mmap_lock` at all, freeing it only after a grace period (`pte_free_defer()`).
 *
 * Follows: include/linux/mm.h (`pte_offset_map_lock()`, `pte_unmap_unlock()`), Linux
 * 5.18 and 6.4; mm/pgtable-generic.c (`__pte_offset_map()`, `__pte_offset_map_lock()`,
 * `pmdp_collapse_flush()`, `pte_free_defer()`), include/linux/pgtable.h (`pte_unmap()`),
 * Linux 6.6; include/asm-generic/pgalloc.h `pte_free()`; mm/mmu_gather.c
 * `tlb_remove_table_sync_one()`, Linux 6.1 on (2ba99c5e0881). Left out: huge PMDs
 * (`pmd_trans_huge()` is never true), `pmd_bad()`, `pmdp_get_lockless_sync()` (a no-op
 * but on 32-bit PAE), mmu notifiers.
 *
 * @module
 */

import type { Access, Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import {
  entryAccess,
  entryName,
  entrySize,
  hex,
  isTable,
  read_once,
  readEntry,
  type Table,
  writeEntry,
} from "./pgtable.ts";
import { call_rcu, rcu_read_lock, rcu_read_unlock } from "./rcu.ts";
import { spin_lock, spin_unlock, type SpinLock } from "./spinlock.ts";
import { pgtable_pte_page_dtor, pgtable_pte_page_dtor_accesses, pte_lockptr } from "./ptlock.ts";
import { wait_for_ipi } from "./irq.ts";
import { flush_tlb_range, flush_tlb_range_step, flushAccesses } from "./tlb.ts";

/**
 * Which `pte_offset_map_lock()` a walker has: `"5.18"`, the macro of 5.18 to 6.4, or
 * `"6.5"`, which may fail and re-checks the PMD entry under the lock.
 */
export type PteMapVersion = "5.18" | "6.5";

/** A PTE table mapped and locked. */
export interface MappedPte {
  readonly pte: Table;
  readonly ptl: SpinLock;
}

/**
 * `pte_offset_map_lock(mm, pmd, addr, &ptl)` for the PMD entry `addr` of `pmd`, whose
 * load by the caller's walk found `found`. `"5.18"`: `found`, locked. `"6.5"`: the
 * table the entry holds now, locked and re-checked, inside an RCU read-side section
 * that {@linkcode pte_unmap_unlock} ends; undefined, with no section, if the entry is
 * none.
 */
export function* pte_offset_map_lock(
  k: Kernel,
  mm: Mm,
  pmd: Table,
  addr: number,
  found: Table,
  version: PteMapVersion,
): Proc<MappedPte | undefined> {
  if (version === "5.18") {
    const ptl = pte_lockptr(k, mm, found);
    yield* spin_lock(k, ptl);
    return { pte: found, ptl };
  }
  for (;;) {
    // __pte_offset_map(): rcu_read_lock(); pmdval = pmdp_get_lockless(pmd);
    yield* rcu_read_lock(k);
    const pmdval = yield* read_once(k, "__pte_offset_map", pmd, addr);
    if (!isTable(pmdval)) {
      yield* rcu_read_unlock(k); // nomap:
      return undefined;
    }
    const ptl = pte_lockptr(k, mm, pmdval);
    yield* spin_lock(k, ptl);
    const same = yield* step(
      k,
      "__pte_offset_map_lock",
      `pmd_same(pmdval, *${entryName(pmd, addr)})?`,
      [entryAccess(pmd, addr, "read")],
      () => {
        const now = readEntry(k, pmd, addr);
        k.rt.note(now === pmdval ? "same" : "changed: again");
        return now === pmdval;
      },
    );
    if (same) return { pte: pmdval, ptl };
    yield* pte_unmap_unlock(k, { pte: pmdval, ptl }, version);
  }
}

/** `pte_unmap_unlock(pte, ptl)`: the lock, then (6.5 on) `pte_unmap()`'s `rcu_read_unlock()`. */
export function* pte_unmap_unlock(k: Kernel, mapped: MappedPte, version: PteMapVersion): Proc {
  yield* spin_unlock(k, mapped.ptl);
  if (version === "6.5") yield* rcu_read_unlock(k);
}

/**
 * `pmdp_collapse_flush(vma, addr, pmdp)` for the PMD entry `addr` of `pmd`, which the
 * caller found holding `found`: `pmdp_huge_get_and_clear()`, the table it held
 * unlinked, then `flush_tlb_range(vma, addr, addr + HPAGE_PMD_SIZE)`. The clear
 * declares a store to the whole of `found` (unlinking races with any access to its
 * entries), so a different table there would be an undeclared access, caught as one.
 * The flush is what waits for IRQs-off walkers under `"ipi"` (bare-metal x86's
 * `native_flush_tlb_multi()` IPIs with `wait`), and not under the RCU configurations
 * (mmu_gather.ts says why). Returns the table the entry held.
 */
export function* pmdp_collapse_flush(
  k: Kernel,
  mm: Mm,
  pmd: Table,
  addr: number,
  found: Table,
): Proc<Table | undefined> {
  const table = yield* step(
    k,
    "pmdp_collapse_flush",
    `pmdp_huge_get_and_clear(${entryName(pmd, addr)})`,
    [entryAccess(pmd, addr, "write"), { obj: found.obj.name, kind: "write" }],
    () => {
      const entry = readEntry(k, pmd, addr);
      writeEntry(k, pmd, addr, undefined);
      if (isTable(entry)) k.slab.detach(entry.obj);
      k.rt.note(isTable(entry) ? `${entry.obj.name} unlinked` : "none");
      return isTable(entry) ? entry : undefined;
    },
  );
  const end = addr + entrySize("pmd");
  if (k.config.tableFree === "ipi") {
    yield* wait_for_ipi(
      k,
      "flush_tlb_range",
      `[${hex(addr)}, ${hex(end)}) flushed`,
      flushAccesses(k),
      () => flush_tlb_range(k, mm, addr, end),
    );
  } else yield* flush_tlb_range_step(k, "flush_tlb_range", mm, addr, end);
  return table;
}

/**
 * `tlb_remove_table_sync_one()`: with CONFIG_MMU_GATHER_RCU_TABLE_FREE (the RCU
 * configurations), an IPI to every CPU, waited for (`smp_call_function(...,
 * 1)`), so that no IRQs-off walker (GUP-fast) is still in a table about to be freed
 * at once; a no-op under `"ipi"`, whose TLB flush already waited.
 */
export function* tlb_remove_table_sync_one(k: Kernel): Proc {
  if (k.config.tableFree === "ipi") return;
  yield* wait_for_ipi(k, "tlb_remove_table_sync_one", "IPI taken", [], () => {});
}

/** What freeing PTE table `pte` stores to: the table, and its lock's object (ptlock.ts). */
function pteFreeAccesses(k: Kernel, pte: Table): Access[] {
  return [{ obj: pte.obj.name, kind: "write" }, ...pgtable_pte_page_dtor_accesses(k, pte)];
}

/** The free itself, inside a step declaring {@linkcode pteFreeAccesses}. */
function free_pte_table(k: Kernel, pte: Table): void {
  pgtable_pte_page_dtor(k, pte);
  k.slab.free(pte.obj);
}

/**
 * `pte_free(mm, pte)`: `pgtable_pte_page_dtor()` (ptlock.ts) and the table's page
 * freed, now.
 */
export function* pte_free(k: Kernel, pte: Table): Proc {
  yield* step(k, "pte_free", pte.obj.name, pteFreeAccesses(k, pte), () => free_pte_table(k, pte));
}

/**
 * `pte_free_defer(mm, pte)`: `call_rcu(&page->rcu_head, pte_free_now)`, the table and
 * its lock freed after a grace period, so that a `pte_offset_map()` walker, inside
 * `rcu_read_lock()`, and GUP-fast, with IRQs off, keep it until they leave.
 */
export function* pte_free_defer(k: Kernel, pte: Table): Proc {
  yield* call_rcu(
    k,
    "pte_free_now",
    pte.obj.name,
    pteFreeAccesses(k, pte),
    () => free_pte_table(k, pte),
  );
}
