/**
 * `get_user_pages_fast()` of one page for writing (`FOLL_WRITE | FOLL_GET`): GUP-fast's
 * walk of the page tables with no lock at all, and the slow path it falls back to.
 *
 * GUP-fast (`lockless_pages_from_mm()`, mm/gup.c) disables interrupts and walks pgd →
 * p4d → pud → pmd with one `READ_ONCE()` per level, then `gup_pte_range()` loads the
 * PTE (`ptep_get_lockless()`), takes a reference on its page if the PTE allows the
 * access (`try_grab_folio()`, which fails on a page whose count has dropped to 0), and
 * checks that neither the PMD entry nor the PTE changed meanwhile (`if
 * (unlikely(pmd_val(pmd) != pmd_val(*pmdp)) || unlikely(pte_val(pte) !=
 * pte_val(*ptep)))`, dropping the reference if one did). What keeps the tables alive is
 * the IRQs-off section: "With interrupts disabled, we block page table pages from
 * being freed from under us. See struct mmu_table_batch comments in
 * include/asm-generic/tlb.h for more details. We do not adopt an rcu_read_lock() here
 * as we also want to block IPIs that come from THPs splitting." It holds off the
 * TLB-flush IPI (`tableFree: "ipi"`), `tlb_remove_table_sync_one()` (`"rcu-ipi-fallback"`)
 * and, since RCU flavour consolidation in 5.0, an RCU grace period (`"rcu"`): every
 * table-freeing configuration of `KernelConfig`. `walk: "rcu"` is the variant the
 * comment declines, for the notes (docs/gup-fast.md).
 *
 * Whatever GUP-fast does not get, `__gup_longterm_unlocked()` gets under
 * `mmap_read_lock()`: `__get_user_pages()` looks the VMA up, `follow_page_mask()` walks
 * to the PTE and takes the reference under the PTE lock, and if there is no writable
 * PTE, `faultin_page()` runs `handle_mm_fault()` and it follows the page again.
 *
 * Follows: mm/gup.c (`internal_get_user_pages_fast()`, `lockless_pages_from_mm()`,
 * `gup_pgd_range()` … `gup_pte_range()`, `try_grab_folio()`, `__get_user_pages()`,
 * `follow_page_pte()`, `faultin_page()`), Linux 6.4.0; the same in 5.18 and 6.6 in what
 * is modelled. Left out: `FOLL_PIN` and its `write_protect_seq` retry against fork()
 * (`get_user_pages_fast()` takes plain references), huge pages, `FOLL_LONGTERM`,
 * `gup_must_unshare()` (every GUP here is a write), 6.4's `find_extend_vma()`, which
 * can grow a stack from GUP (the slow path here looks the VMA up with `vma_lookup()`,
 * as 6.5 on does), `pte_offset_map()` in 6.6's `gup_pte_range()` and
 * `follow_page_pte()`: in GUP-fast its `rcu_read_lock()` nests in the IRQs-off
 * section, which is already an RCU reader; the slow path is never run on a file VMA,
 * the only kind 6.6's khugepaged takes a table from under `mmap_read_lock()`
 * (mm/khugepaged.ts; the model has no file faults).
 *
 * `get_user_pages_fast_only()` (`FOLL_FAST_ONLY`) is GUP-fast alone, with no slow path:
 * what KVM's `hva_to_pfn_fast()` uses, and the walker the khugepaged scenarios race.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import type { KObject } from "./slab.ts";
import {
  entryAccess,
  entryName,
  hex,
  isTable,
  lockless_walk_begin,
  lockless_walk_end,
  type LocklessWalk,
  pte_write,
  readEntry,
  type Table,
  walk_to_pte,
} from "./pgtable.ts";
import { get_page } from "./page.ts";
import { handle_mm_fault, put_page, SLEEPING_ALLOCATIONS } from "./memory.ts";
import { mmap_read_lock, mmap_read_unlock } from "./mmap_lock.ts";
import { vma_lookup } from "./vma.ts";
import { spin_lock, spin_unlock } from "./spinlock.ts";
import { pte_lockptr } from "./ptlock.ts";

/**
 * `get_user_pages_fast(addr, 1, FOLL_WRITE, &page)`: a reference on the page mapped
 * writable at `addr`, from GUP-fast or else the slow path; undefined (`-EFAULT`) if no
 * VMA covers `addr`. GUP-fast's tables are kept by IRQs off (`walk`; `"rcu"` is the
 * variant mm/gup.c declines).
 */
export function* get_user_pages_fast(
  k: Kernel,
  mm: Mm,
  addr: number,
  walk: LocklessWalk = "irqs-off",
): Proc<KObject | undefined> {
  const page = yield* lockless_pages_from_mm(k, mm, addr, walk);
  return page ?? (yield* get_user_pages_slow(k, mm, addr));
}

/**
 * `get_user_pages_fast_only(addr, 1, FOLL_WRITE, &page)`: GUP-fast alone, a reference
 * on the page or undefined, never the slow path.
 */
export function* get_user_pages_fast_only(
  k: Kernel,
  mm: Mm,
  addr: number,
): Proc<KObject | undefined> {
  return yield* lockless_pages_from_mm(k, mm, addr, "irqs-off");
}

/**
 * `pte_access_permitted(pte, FOLL_WRITE)` for entry `addr` of `pte`: its page if the PTE
 * maps one writable, else why not. A load of the entry, inside the caller's step.
 */
function pteForWrite(k: Kernel, pte: Table, addr: number): KObject | "none" | "read-only" {
  const entry = readEntry(k, pte, addr);
  if (!entry || isTable(entry)) return "none";
  return pte_write(pte, addr) ? entry : "read-only";
}

/** `lockless_pages_from_mm()` for one page: the page it took a reference on, if any. */
function* lockless_pages_from_mm(
  k: Kernel,
  mm: Mm,
  addr: number,
  walk: LocklessWalk,
): Proc<KObject | undefined> {
  yield* lockless_walk_begin(k, walk); // local_irq_save(flags)
  const page = yield* gup_pgd_range(k, mm, addr);
  yield* lockless_walk_end(k, walk); // local_irq_restore(flags)
  return page;
}

/** `gup_pgd_range()` down to `gup_pte_range()`: a READ_ONCE() per level, then the PTE. */
function* gup_pgd_range(k: Kernel, mm: Mm, addr: number): Proc<KObject | undefined> {
  const walked = yield* walk_to_pte(k, mm.pgd, addr, (level) => `gup_${level}_range`);
  if (!walked) return undefined; // pXd_none(): the slow path
  const { pmd, pte } = walked;
  // pte_t pte = ptep_get_lockless(ptep); the access test, then try_grab_folio().
  const page = yield* step(k, "gup_pte_range", entryName(pte, addr), [
    entryAccess(pte, addr, "read"),
  ], () => {
    const found = pteForWrite(k, pte, addr);
    k.rt.note(typeof found === "string" ? found : found.name);
    return typeof found === "string" ? undefined : found;
  });
  if (!page) return undefined;
  if (!(yield* try_grab_folio(k, page))) return undefined;
  const same = yield* step(
    k,
    "gup_pte_range",
    `pmd_val(pmd) == pmd_val(*pmdp) && pte_val(pte) == pte_val(*ptep)?`,
    [entryAccess(pmd, addr, "read"), entryAccess(pte, addr, "read")],
    () => {
      const unchanged = readEntry(k, pmd, addr) === pte && pteForWrite(k, pte, addr) === page;
      k.rt.note(unchanged ? "unchanged" : "changed: gup_put_folio");
      return unchanged;
    },
  );
  if (same) return page;
  yield* put_page(k, page); // gup_put_folio()
  return undefined;
}

/**
 * `try_grab_folio(page, 1, FOLL_GET)` → `folio_try_get_rcu()`: one more reference,
 * unless the count has dropped to 0. The `struct page` itself is never freed (it is
 * the memmap), so a page the model has freed is one whose count is 0: the grab fails,
 * and nothing is read from the freed page.
 */
function* try_grab_folio(k: Kernel, page: KObject): Proc<boolean> {
  return yield* step(k, "try_grab_folio", page.name, [
    { obj: page.name, part: "_refcount", kind: "write" },
  ], () => {
    if (page.state === "freed") {
      k.touch(page.name, "_refcount", "read");
      k.rt.note("page_count 0: fails");
      return false;
    }
    get_page(k, page);
    return true;
  });
}

/**
 * The slow path, `__gup_longterm_unlocked()` → `__get_user_pages()` under
 * `mmap_read_lock()`: the VMA, `follow_page_mask()`, and `faultin_page()` until the
 * PTE is there and writable.
 */
function* get_user_pages_slow(k: Kernel, mm: Mm, addr: number): Proc<KObject | undefined> {
  yield* mmap_read_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, addr, "gup_vma_lookup");
  let page: KObject | undefined;
  while (vma) {
    const found = yield* follow_page_pte(k, mm, addr);
    if (typeof found !== "string") {
      page = found;
      break;
    }
    // faultin_page(): FAULT_FLAG_WRITE, a first touch or a write to a read-only PTE; a
    // fault that fails (OOM) ends the GUP.
    const result = yield* handle_mm_fault(
      k,
      mm,
      vma,
      addr,
      SLEEPING_ALLOCATIONS,
      found === "read-only" ? "write-protect" : "not-present",
    );
    if (result !== "done") break;
  }
  yield* mmap_read_unlock(k, mm);
  return page;
}

/**
 * `follow_page_mask()` → `follow_page_pte()`: the walk under `mmap_lock` (plain loads),
 * then `pte_offset_map_lock()`, and a reference on the page of a writable PTE.
 */
function* follow_page_pte(
  k: Kernel,
  mm: Mm,
  addr: number,
): Proc<KObject | "none" | "read-only"> {
  const walked = yield* walk_to_pte(k, mm.pgd, addr, (level) => `follow_${level}_mask`);
  if (!walked) return "none"; // no_page_table()
  const { pte } = walked;
  const ptl = pte_lockptr(k, mm, pte);
  yield* spin_lock(k, ptl);
  const page = yield* step(k, "follow_page_pte", `${entryName(pte, addr)} (${hex(addr)})`, [
    entryAccess(pte, addr, "read"),
  ], () => {
    const found = pteForWrite(k, pte, addr);
    k.rt.note(typeof found === "string" ? `${found}: faultin_page` : found.name);
    return found;
  });
  // try_grab_page(): the PTE lock is held, so the page is mapped and its count above 0.
  if (typeof page !== "string") {
    yield* step(k, "try_grab_page", page.name, [
      { obj: page.name, part: "_refcount", kind: "write" },
    ], () => get_page(k, page));
  }
  yield* spin_unlock(k, ptl);
  return page;
}
