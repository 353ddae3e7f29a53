/**
 * The page fault path and page-table teardown, written as mm/memory.c writes them.
 *
 * Fault: `handle_mm_fault()` → `__handle_mm_fault()` walks pgd → p4d → pud → pmd,
 * allocating each missing table with `__pXd_alloc()` (allocate, take
 * `page_table_lock`, populate unless another CPU did, unlock), then
 * `do_anonymous_page()` allocates the PTE table (`__pte_alloc()` → `pmd_install()`)
 * and the user page, takes the PTE lock and sets the PTE. The fault takes no lock of
 * its own beyond those: who holds what around it is the strategy's business, and the
 * GFP flags and a re-validation hook are the strategy's choice.
 *
 * Teardown: `unmap_page_range()` zaps PTEs under the PTE lock; `free_pgd_range()`
 * frees the tables of a range with the floor/ceiling rule, so a table partly covered
 * by another VMA is kept; freed tables are unlinked at once and freed after an RCU
 * grace period (`tlb_remove_table()` with MMU_GATHER_RCU_TABLE_FREE), which is what the
 * seed mail means by "a PUD that will be freed by RCU".
 *
 * Follows: mm/memory.c and mm/mmu_gather.c, Linux 5.18. Left out: file, shared, COW,
 * swap and huge-page faults; the zero page (every fault allocates); TLB flushes
 * (freeing pages at `tlb_finish_mmu()` stands for them), except for the IPI that frees
 * tables under the `"ipi"` and `"rcu-ipi-fallback"` configurations (`KernelConfig` in
 * kernel.ts, `tlb_finish_mmu()` here).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { choose, type Kernel, step } from "./kernel.ts";
import { alloc, type Gfp } from "./page_alloc.ts";
import {
  alignDown,
  childLevel,
  entriesIn,
  entryAccess,
  entryName,
  entrySize,
  hex,
  indexOf,
  isTable,
  makeTable,
  readEntry,
  type Table,
  tableName,
  tableSize,
  writeEntry,
} from "./pgtable.ts";
import { lockdep_assert_held, spin_lock, spin_unlock } from "./spinlock.ts";
import { mmap_assert_locked } from "./mmap_lock.ts";
import type { Mm, Vma } from "./mm_types.ts";
import type { KObject } from "./slab.ts";
import { call_rcu } from "./rcu.ts";
import { wait_for_ipi } from "./irq.ts";

/** How a fault ended (`vm_fault_t`, reduced). */
export type FaultResult = "done" | "retry" | "oom" | "sigsegv";

/** What a strategy decides about the fault path. */
export interface FaultOptions {
  /** Flags for page-table pages (`pXd_alloc_one()`). */
  readonly tableGfp: Gfp;
  /** Flags for the user page. */
  readonly pageGfp: Gfp;
  /**
   * Called at each stage of the fault; false abandons it with VM_FAULT_RETRY.
   * Speculative faults re-validate here: `set-pte` runs with the PTE lock held, as
   * `pte_map_lock()` does in the speculative page fault series.
   */
  readonly validate?: (stage: FaultStage) => Proc<boolean>;
}

/**
 * Points where a strategy may re-validate: before the fault first reads the VMA and
 * walks the page tables, before the user page is allocated, before the PTE lock is
 * taken, and under it before the PTE is set.
 */
export type FaultStage = "walk" | "alloc-page" | "lock-pte" | "set-pte";

/**
 * `pXd_alloc()`: returns the table below `parent` for `addr`, allocating and
 * populating it if the entry is empty; null if the allocation failed.
 */
export function* pXd_alloc(
  k: Kernel,
  mm: Mm,
  parent: Table,
  addr: number,
  gfp: Gfp,
): Proc<Table | null> {
  const level = childLevel(parent.level);
  const existing = yield* step(
    k,
    `${level}_alloc`,
    `${entryName(parent, addr)} none?`,
    [entryAccess(parent, addr, "read")],
    () => {
      const entry = readEntry(k, parent, addr);
      k.rt.note(isTable(entry) ? entry.obj.name : "none");
      return entry;
    },
  );
  if (isTable(existing)) return existing;
  // __pXd_alloc() / __pte_alloc()
  const obj = yield* alloc(k, `${level}_alloc_one`, level, tableName(level, addr), gfp);
  if (!obj) return null;
  const fresh = makeTable(obj, level, addr);
  yield* spin_lock(k, mm.page_table_lock);
  const installed = yield* step(
    k,
    `${parent.level}_populate`,
    `${entryName(parent, addr)} = ${obj.name}`,
    // The new table too: if another CPU populated the entry first, it is freed here.
    [entryAccess(parent, addr, "write"), { obj: obj.name, kind: "write" }],
    () => {
      // __pud_alloc() / __pmd_alloc() populate under mm->page_table_lock, pmd_install()
      // under pmd_lock() (the same lock here, see spinlock.ts), taken just above; the
      // kernel asserts nothing at the populate itself, the model asserts the rule.
      lockdep_assert_held(k, mm.page_table_lock, `${parent.level}_populate`);
      const present = readEntry(k, parent, addr);
      if (isTable(present)) {
        k.slab.free(obj);
        k.rt.note(`already ${present.obj.name}: ${level}_free(${obj.name})`);
        return present;
      }
      writeEntry(k, parent, addr, fresh, `${entryName(parent, addr)} = ${obj.name}`);
      return fresh;
    },
  );
  yield* spin_unlock(k, mm.page_table_lock);
  return installed;
}

/** `handle_mm_fault()` for an anonymous, writable VMA. */
export function* handle_mm_fault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  options: FaultOptions,
): Proc<FaultResult> {
  if (options.validate && !(yield* options.validate("walk"))) return "retry";
  yield* step(k, "handle_mm_fault", `${vma.obj.name}->vm_flags`, [{
    obj: vma.obj.name,
    part: "vm_flags",
    kind: "read",
  }], () => k.slab.read(vma.obj, "vm_flags"));
  let table = mm.pgd;
  for (let depth = 0; depth < 4; depth++) {
    const next = yield* pXd_alloc(k, mm, table, addr, options.tableGfp);
    if (!next) return "oom";
    table = next;
  }
  return yield* do_anonymous_page(k, vma, table, addr, options);
}

/** `do_anonymous_page()`: allocate a page and map it, unless another fault did. */
function* do_anonymous_page(
  k: Kernel,
  vma: Vma,
  pte: Table,
  addr: number,
  options: FaultOptions,
): Proc<FaultResult> {
  // anon_vma_prepare(): `if (likely(vma->anon_vma)) return 0;`, else the first fault
  // in the VMA sets it in __anon_vma_prepare(), re-checking under page_table_lock (one
  // step here: nothing else touches anon_vma under that lock).
  const hasAnonVma = yield* step(k, "anon_vma_prepare", `${vma.obj.name}->anon_vma`, [{
    obj: vma.obj.name,
    part: "anon_vma",
    kind: "read",
  }], () => {
    k.slab.read(vma.obj, "anon_vma");
    return vma.anon_vma;
  });
  if (!hasAnonVma) {
    yield* step(k, "__anon_vma_prepare", `${vma.obj.name}->anon_vma = anon_vma`, [{
      obj: vma.obj.name,
      part: "anon_vma",
      kind: "write",
    }], () => {
      k.slab.write(vma.obj, "anon_vma");
      vma.anon_vma = true;
    });
  }
  if (options.validate && !(yield* options.validate("alloc-page"))) return "retry";
  const page = yield* alloc(
    k,
    "alloc_zeroed_user_highpage_movable",
    "page",
    `page@${hex(addr)}`,
    options.pageGfp,
  );
  if (!page) return "oom";
  if (options.validate && !(yield* options.validate("lock-pte"))) {
    yield* put_page(k, page);
    return "retry";
  }
  const ptl = pte.ptl!;
  yield* spin_lock(k, ptl);
  if (options.validate && !(yield* options.validate("set-pte"))) {
    yield* spin_unlock(k, ptl);
    yield* put_page(k, page);
    return "retry";
  }
  yield* step(k, "set_pte_at", `${entryName(pte, addr)} = ${page.name}`, [
    entryAccess(pte, addr, "write"),
    // The page too: if another fault mapped the address first, it is freed here.
    { obj: page.name, kind: "write" },
  ], () => {
    // do_anonymous_page() sets the PTE under the lock pte_offset_map_lock() took, and
    // a strategy's `validate("set-pte")` runs in between: it must leave the lock held.
    lockdep_assert_held(k, ptl, "set_pte_at");
    if (readEntry(k, pte, addr)) {
      k.slab.free(page);
      k.rt.note("already mapped: put_page");
      return;
    }
    writeEntry(k, pte, addr, page, `${entryName(pte, addr)} = ${page.name}`);
  });
  yield* spin_unlock(k, ptl);
  return "done";
}

/** `put_page()`: frees a page a fault allocated and did not map (the speculative fault's too). */
export function* put_page(k: Kernel, page: KObject): Proc {
  yield* step(
    k,
    "put_page",
    page.name,
    [{ obj: page.name, kind: "write" }],
    () => k.slab.free(page),
  );
}

/** `struct mmu_gather`: what a teardown frees once it is done. */
export interface MmuGather {
  readonly pages: KObject[];
  readonly tables: Table[];
}

/** `tlb_gather_mmu()`. */
export function tlb_gather_mmu(): MmuGather {
  return { pages: [], tables: [] };
}

/**
 * Reads the entries of `table` within [addr, end) in one step (`label` names the walk),
 * after `check` (an assertion that reads no shared state, so needs no declaration).
 */
function* scan(
  k: Kernel,
  label: string,
  table: Table,
  addr: number,
  end: number,
  check?: () => void,
) {
  return yield* step(
    k,
    label,
    table.obj.name,
    [{ obj: table.obj.name, kind: "read" }],
    () => {
      check?.();
      return entriesIn(k, table, addr, end);
    },
  );
}

/**
 * `unmap_page_range()` → `zap_pte_range()`: clears the PTEs of [start, end) under each
 * PTE table's lock and queues the pages for freeing.
 *
 * The caller holds `mmap_lock`, for reading at least: `zap_pud_range()` asserts it
 * (`mmap_assert_locked(tlb->mm)`, Linux 5.8 on) before it splits a huge PUD, the one
 * place the walk changes the tables' layout. The model has no huge pages, so it asserts
 * it once per walk, at its first step. Each PTE table is zapped under its lock
 * (`pte_offset_map_lock()` in `zap_pte_range()`), asserted there.
 */
export function* unmap_page_range(
  k: Kernel,
  tlb: MmuGather,
  mm: Mm,
  start: number,
  end: number,
): Proc {
  const walk = function* (table: Table): Proc {
    const label = table.level === "pgd" ? "unmap_page_range" : `zap_${table.level}_range`;
    if (table.level !== "pte") {
      const check = table === mm.pgd
        ? () => mmap_assert_locked(k, mm, "unmap_page_range")
        : undefined;
      for (const { entry } of yield* scan(k, label, table, start, end, check)) {
        if (isTable(entry)) yield* walk(entry);
      }
      return;
    }
    yield* spin_lock(k, table.ptl!);
    yield* step(k, label, table.obj.name, [{ obj: table.obj.name, kind: "write" }], () => {
      lockdep_assert_held(k, table.ptl!, label);
      k.slab.write(table.obj, undefined, "entries");
      const zapped = entriesIn(k, table, start, end);
      for (const { addr, entry } of zapped) {
        table.entries.delete(indexOf("pte", addr));
        tlb.pages.push(entry as KObject);
      }
      k.rt.note(`${zapped.length} pte${zapped.length === 1 ? "" : "s"} cleared`);
    });
    yield* spin_unlock(k, table.ptl!);
  };
  yield* walk(mm.pgd);
}

/** `ceiling - 1` in unsigned arithmetic, where ceiling 0 means the top of memory. */
function below(ceiling: number): number {
  return ceiling === 0 ? Infinity : ceiling - 1;
}

/**
 * `free_pgd_range()`: frees the page tables mapping [addr, end) that no address in
 * [floor, ceiling) outside it needs. Ceiling 0 is the top of the address space.
 */
export function* free_pgd_range(
  k: Kernel,
  tlb: MmuGather,
  mm: Mm,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Proc {
  const PMD_SIZE = entrySize("pmd");
  addr = alignDown(addr, PMD_SIZE);
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling) {
    ceiling = alignDown(ceiling, PMD_SIZE);
    if (!ceiling) return;
  }
  if (end - 1 > below(ceiling)) end -= PMD_SIZE;
  if (addr > end - 1) return;
  for (const { addr: at, entry } of yield* scan(k, "free_pgd_range", mm.pgd, addr, end)) {
    const next = Math.min(end, alignDown(at, entrySize("pgd")) + entrySize("pgd"));
    if (isTable(entry)) yield* free_range(k, tlb, mm.pgd, entry, at, next, floor, ceiling);
  }
}

/**
 * `free_p4d_range()`, `free_pud_range()`, `free_pmd_range()` (one function, as they are
 * one pattern): free what hangs below `parent`'s entry for [addr, end), then the table
 * itself if [floor, ceiling) allows.
 */
function* free_range(
  k: Kernel,
  tlb: MmuGather,
  parent: Table,
  table: Table,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): Proc {
  const label = `free_${table.level}_range`;
  for (const { addr: at, entry } of yield* scan(k, label, table, addr, end)) {
    if (!isTable(entry)) continue;
    const next = Math.min(end, alignDown(at, entrySize(table.level)) + entrySize(table.level));
    if (table.level === "pmd") yield* free_table(k, tlb, table, at, entry, "free_pte_range");
    else yield* free_range(k, tlb, table, entry, at, next, floor, ceiling);
  }
  const size = tableSize(table.level);
  const start = alignDown(addr, size);
  if (start < floor) return;
  if (ceiling) {
    ceiling = alignDown(ceiling, size);
    if (!ceiling) return;
  }
  if (end - 1 > below(ceiling)) return;
  yield* free_table(k, tlb, parent, start, table, label);
}

/**
 * `pXd_clear()` + `pXd_free_tlb()`: unlink the table below `parent` at `addr`, queue it.
 * `child` is what the entry held when the caller's walk read it: the step declares a
 * store to the whole of it (unlinking races with any access to any of its entries), and
 * unlinks what the entry holds when the step runs, so a different table there would be
 * an undeclared access, caught as one.
 */
function* free_table(
  k: Kernel,
  tlb: MmuGather,
  parent: Table,
  addr: number,
  child: Table,
  label: string,
): Proc {
  yield* step(k, label, `${parent.level}_clear(${entryName(parent, addr)})`, [
    entryAccess(parent, addr, "write"),
    { obj: child.obj.name, kind: "write" },
  ], () => {
    const present = readEntry(k, parent, addr);
    if (!isTable(present)) return;
    writeEntry(k, parent, addr, undefined);
    k.slab.detach(present.obj);
    tlb.tables.push(present);
    k.rt.note(`${present.obj.name} unlinked`);
  });
}

/**
 * `tlb_finish_mmu()`: frees the zapped pages now, and the unlinked tables as the
 * kernel's configuration says (`k.config.tableFree`, see `TableFree` in kernel.ts):
 *
 * - `"rcu"`: after an RCU grace period (`tlb_remove_table_rcu()`).
 * - `"ipi"`: x86 without CONFIG_PARAVIRT, 5.18 and 6.4, where `___pXd_free_tlb()` →
 *   `paravirt_tlb_remove_table()` is `tlb_remove_page()` (arch/x86/mm/pgtable.c): the
 *   tables are freed with the pages by `tlb_flush_mmu()` → `tlb_flush_mmu_free()`, after
 *   `tlb_flush_mmu_tlbonly()` → `flush_tlb_mm_range()` has sent the TLB-flush IPI and
 *   every other CPU has taken it (`wait_for_ipi()` in irq.ts), so after every IRQs-off
 *   section present at the flush. One step frees them all, pages included.
 * - `"rcu-ipi-fallback"`: `tlb_remove_table()` (mm/mmu_gather.c) allocates its batch
 *   page with GFP_NOWAIT; both outcomes are explored. Allocated: after a grace period,
 *   as `"rcu"`. Not: `tlb_remove_table_one()` → `tlb_remove_table_sync_one()`, an IPI
 *   to every CPU, then `__tlb_remove_table()` at once. Modelled loosely: the kernel
 *   tries the allocation at the first `tlb_remove_table()` of the gather, in
 *   `free_pgtables()`, and frees that table there, and tries again for the next one;
 *   the model decides once for all the gather's tables, here, after the pages.
 *
 * The TLB flush of the `"rcu"` configurations (which may be a hypercall, not an IPI,
 * under PARAVIRT: arch/x86/include/asm/tlb.h) is not waited for: nothing in the model
 * relies on it.
 */
export function* tlb_finish_mmu(k: Kernel, tlb: MmuGather): Proc {
  const tableFree = k.config.tableFree;
  if (tableFree === "ipi" && tlb.tables.length) {
    const pages = tlb.pages.splice(0);
    const tables = tlb.tables.splice(0);
    const names = [...pages.map((p) => p.name), ...tables.map((t) => t.obj.name)];
    yield* wait_for_ipi(
      k,
      "tlb_flush_mmu",
      `free ${names.join(", ")}`,
      names.map((obj) => ({ obj, kind: "write" as const })),
      () => {
        pages.forEach((p) => k.slab.free(p));
        tables.forEach((t) => k.slab.free(t.obj));
      },
    );
    return;
  }
  if (tlb.pages.length) {
    const pages = tlb.pages.splice(0);
    yield* step(
      k,
      "tlb_finish_mmu",
      `free ${pages.map((p) => p.name).join(", ")}`,
      pages.map((p) => ({
        obj: p.name,
        kind: "write" as const,
      })),
      () => pages.forEach((p) => k.slab.free(p)),
    );
  }
  if (tlb.tables.length) {
    const tables = tlb.tables.splice(0);
    if (tableFree === "rcu-ipi-fallback") {
      const failed = yield* choose(
        k,
        "tlb_remove_table",
        "__get_free_page(GFP_NOWAIT | __GFP_NOWARN) for the batch",
        ["batch allocated", "fails: tlb_remove_table_one()"],
      );
      if (failed) {
        yield* wait_for_ipi(
          k,
          "tlb_remove_table_sync_one",
          `__tlb_remove_table(${tables.map((t) => t.obj.name).join(", ")})`,
          tables.map((t) => ({ obj: t.obj.name, kind: "write" as const })),
          () => tables.forEach((t) => k.slab.free(t.obj)),
        );
        return;
      }
    }
    yield* call_rcu(
      k,
      "tlb_remove_table_rcu",
      tables.map((t) => t.obj.name).join(", "),
      tables.map((t) => ({ obj: t.obj.name, kind: "write" as const })),
      () => tables.forEach((t) => k.slab.free(t.obj)),
    );
  }
}
