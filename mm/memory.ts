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
 * Teardown: `unmap_page_range()` zaps PTEs under the PTE lock, and when the gather's
 * batch of pages fills and no batch page can be allocated, flushes the TLB before it
 * drops that lock (`zap_pte_range()`'s `force_flush`); `free_pgd_range()`
 * frees the tables of a range with the floor/ceiling rule, so a table partly covered
 * by another VMA is kept; freed tables are unlinked at once and freed after an RCU
 * grace period (`tlb_remove_table()` with MMU_GATHER_RCU_TABLE_FREE), which is what the
 * seed mail means by "a PUD that will be freed by RCU".
 *
 * Write-protect fault (a store the MMU found a read-only PTE for, mmu.ts):
 * `handle_pte_fault()` loads the PTE, takes the PTE lock and re-checks it (`pte_same()`),
 * then `do_wp_page()` reuses a page no one else holds (`wp_page_reuse()`) or, for a
 * page fork shared with a child, `wp_page_copy()`: copy it unlocked, take the PTE lock,
 * re-check, `ptep_clear_flush()` (which flushes every CPU's translation of the page,
 * tlb.ts), map the copy writable, drop the old page's mapping and the reference taken
 * for the copy.
 *
 * Follows: mm/memory.c and mm/mmu_gather.c, Linux 5.18 (the write-protect fault: 5.18
 * and 6.4, which differ there only in folios and `PageAnonExclusive`, see page.ts).
 * What a teardown queues, the TLB flush and the freeing are mmu_gather.ts's.
 * Left out: file, shared, swap and huge-page faults; the zero page (every fault
 * allocates); a not-present fault's lockless `pte_none()` test in `handle_pte_fault()`
 * (such a fault goes to `do_anonymous_page()`, whose re-check under the PTE lock
 * decides the same).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { alloc, type Gfp, GFP_HIGHUSER_MOVABLE, GFP_PGTABLE_USER } from "./page_alloc.ts";
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
  pageAddr,
  pte_write,
  readEntry,
  type Table,
  tableName,
  tableSize,
  writeEntry,
} from "./pgtable.ts";
import {
  lockdep_assert_held,
  spin_lock,
  spin_locked,
  spin_unlock,
  type SpinLock,
} from "./spinlock.ts";
import { pgtable_pte_page_dtor, pgtable_pte_page_dtor_accesses, pte_lockptr } from "./ptlock.ts";
import { mmap_assert_locked } from "./mmap_lock.ts";
import { pte_offset_map_lock, pte_unmap_unlock, type PteMapVersion } from "./pgtable_generic.ts";
import { give_anon_vma, type Mm, type Vma } from "./mm_types.ts";
import { mt_walk, slotBelow, slotVma } from "./maple_tree.ts";
import type { KObject } from "./slab.ts";
import { copyWords, get_page, page_add_new_anon_rmap, pageOf, put_page_ref } from "./page.ts";
import { flush_tlb, flushAccesses } from "./tlb.ts";
import {
  type MmuGather,
  tlb_flush_mmu_free,
  tlb_flush_mmu_tlbonly,
  tlb_next_batch,
  tlb_remove_page,
} from "./mmu_gather.ts";

/** How a fault ended (`vm_fault_t`, reduced). */
export type FaultResult = "done" | "retry" | "oom" | "sigsegv";

/**
 * Why the MMU faulted (x86's error code): no PTE (`"not-present"`, every scenario's
 * `fault` operation, a first touch), or a store to a read-only PTE (`"write-protect"`:
 * `X86_PF_WRITE | X86_PF_PROT`). Every fault in the model is a write fault
 * (`FAULT_FLAG_WRITE`).
 */
export type FaultCause = "not-present" | "write-protect";

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

/** Today's flags: page tables and the page may sleep for memory. */
export const SLEEPING_ALLOCATIONS: FaultOptions = {
  tableGfp: GFP_PGTABLE_USER,
  pageGfp: GFP_HIGHUSER_MOVABLE,
};

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
  const base = mm.prefix + tableName(level, addr);
  const obj = yield* alloc(k, `${level}_alloc_one`, level, base, gfp);
  if (!obj) return null;
  const fresh = makeTable(k, obj, level, addr);
  return yield* spin_locked(
    k,
    mm.page_table_lock,
    `${parent.level}_populate`,
    `${entryName(parent, addr)} = ${obj.name}`,
    // The new table too: if another CPU populated the entry first, it is freed here,
    // by pte_free() with its pgtable_pte_page_dtor() for a PTE table (ptlock.ts).
    [
      entryAccess(parent, addr, "write"),
      { obj: obj.name, kind: "write" },
      ...(level === "pte" ? pgtable_pte_page_dtor_accesses(k, fresh) : []),
    ],
    () => {
      // __pud_alloc() / __pmd_alloc() populate under mm->page_table_lock, pmd_install()
      // under pmd_lock() (the same lock here, see spinlock.ts), taken around this; the
      // kernel asserts nothing at the populate itself, the model asserts the rule.
      lockdep_assert_held(k, mm.page_table_lock, `${parent.level}_populate`);
      const present = readEntry(k, parent, addr);
      if (isTable(present)) {
        if (level === "pte") pgtable_pte_page_dtor(k, fresh);
        k.slab.free(obj);
        k.rt.note(`already ${present.obj.name}: ${level}_free(${obj.name})`);
        return present;
      }
      writeEntry(k, parent, addr, fresh, `${entryName(parent, addr)} = ${obj.name}`);
      return fresh;
    },
  );
}

/** `handle_mm_fault()` for a write to an anonymous, writable VMA. */
export function* handle_mm_fault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  options: FaultOptions,
  cause: FaultCause = "not-present",
): Proc<FaultResult> {
  if (options.validate && !(yield* options.validate("walk"))) return "retry";
  yield* step(k, "handle_mm_fault", `${vma.obj.name}->vm_flags`, [{
    obj: vma.obj.name,
    part: "vm_flags",
    kind: "read",
  }], () => k.slab.read(vma.obj, "vm_flags"));
  // Between levels the walk's locals are the level and the table reached (its
  // parameters were observed before the scope began): so a fault that lost a populate
  // race and freed its table is, from there on, in the state of one that found the
  // entry populated. Not with `validate`, whose closure keeps what it read.
  const summarized = !options.validate;
  if (summarized) k.rt.scopeBegin();
  let table: Table | null = mm.pgd;
  for (let depth = 0; depth < 4 && table; depth++) {
    table = yield* pXd_alloc(k, mm, table, addr, options.tableGfp);
    if (table && summarized) k.summarize(`walked to ${table.obj.name}`);
  }
  if (summarized) k.rt.scopeEnd();
  if (!table) return "oom";
  if (cause === "write-protect") {
    const orig = yield* read_orig_pte(k, "handle_pte_fault", table, addr);
    if (orig) return yield* do_wp_page(k, mm, vma, table, addr, orig, options);
  }
  return yield* do_anonymous_page(k, mm, vma, table, addr, options);
}

/** A present PTE as a fault loaded it (`vmf->orig_pte`): the page and the write bit. */
interface OrigPte {
  readonly page: KObject;
  readonly writable: boolean;
}

/**
 * `vmf->orig_pte = *vmf->pte;` (no lock): entry `addr` of PTE table `pte`, with its
 * write bit, in one load, as kernel function `label`; undefined if none.
 */
function* read_orig_pte(
  k: Kernel,
  label: string,
  pte: Table,
  addr: number,
): Proc<OrigPte | undefined> {
  return yield* step(k, label, entryName(pte, addr), [entryAccess(pte, addr, "read")], () => {
    const entry = readEntry(k, pte, addr);
    if (!entry || isTable(entry)) {
      k.rt.note("none");
      return undefined;
    }
    const writable = pte_write(pte, addr);
    k.rt.note(`${entry.name}${writable ? "" : " (read-only)"}`);
    return { page: entry, writable };
  });
}

/**
 * `anon_vma_prepare()`: `if (likely(vma->anon_vma)) return 0;`, else the first fault
 * in the VMA sets it in `__anon_vma_prepare()`: `find_mergeable_anon_vma()` looks for
 * an anon_vma to share in the VMAs either side, then the fault sets its own, re-checking
 * under `page_table_lock` (one step here: nothing else touches anon_vma under that
 * lock). The anon_vma is a name, not an object (page.ts, mm_types.ts): its own
 * lifetime is not modelled.
 *
 * `find_mergeable_anon_vma()` is 6.1's: `mas_walk()` at `vma->vm_end` for the VMA
 * just above, `mas_prev()` for the one below, under `mmap_lock` and no RCU section
 * (maple_tree.ts), and `reusable_anon_vma()` of each, which
 * loads the neighbour's bounds and flags (`anon_vma_compatible()`). It holds no lock
 * of the neighbours: "find_mergeable_anon_vma uses adjacent vmas which are not locked"
 * (6.4's `lock_vma_under_rcu()`), so only `mmap_lock` keeps them alive. Modelled
 * loosely: no neighbour is compatible (two VMAs the tree keeps apart differ in what
 * `vma_merge()` compares, or they would be one), so none is shared.
 */
export function* anon_vma_prepare(k: Kernel, mm: Mm, vma: Vma): Proc {
  const anon_vma = yield* step(k, "anon_vma_prepare", `${vma.obj.name}->anon_vma`, [{
    obj: vma.obj.name,
    part: "anon_vma",
    kind: "read",
  }], () => {
    k.slab.read(vma.obj, "anon_vma");
    return vma.anon_vma;
  });
  if (anon_vma) return;
  // mas_walk() and mas_prev() with no RCU section: mmap_lock is what keeps the nodes.
  const neighbours = yield* mt_walk(
    k,
    mm,
    "find_mergeable_anon_vma",
    vma.obj.name,
    "mmap_lock",
    (slots) =>
      [slotVma(slots, vma.end), slotBelow(slots, vma.start)?.vma].filter((v): v is Vma =>
        v !== undefined
      ),
  );
  for (const near of neighbours) {
    yield* step(k, "reusable_anon_vma", `${near.obj.name}: compatible?`, [
      { obj: near.obj.name, part: "vm_start", kind: "read" },
      { obj: near.obj.name, part: "vm_end", kind: "read" },
      { obj: near.obj.name, part: "vm_flags", kind: "read" },
    ], () => {
      k.slab.read(near.obj, "vm_start");
      k.slab.read(near.obj, "vm_end");
      k.slab.read(near.obj, "vm_flags");
    });
  }
  yield* step(k, "__anon_vma_prepare", `${vma.obj.name}->anon_vma = anon_vma`, [{
    obj: vma.obj.name,
    part: "anon_vma",
    kind: "write",
  }], () => {
    k.slab.write(vma.obj, "anon_vma");
    if (!vma.anon_vma) give_anon_vma(vma);
  });
}

/** `do_anonymous_page()`: allocate a page and map it, unless another fault did. */
function* do_anonymous_page(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  pte: Table,
  addr: number,
  options: FaultOptions,
): Proc<FaultResult> {
  yield* anon_vma_prepare(k, mm, vma);
  if (options.validate && !(yield* options.validate("alloc-page"))) return "retry";
  const page = yield* alloc(
    k,
    "alloc_zeroed_user_highpage_movable",
    "page",
    `page@${hex(pageAddr(addr))}`,
    options.pageGfp,
  );
  if (!page) return "oom";
  if (options.validate && !(yield* options.validate("lock-pte"))) {
    yield* put_page(k, page);
    return "retry";
  }
  const ptl = pte_lockptr(k, mm, pte);
  yield* spin_lock(k, ptl);
  if (options.validate && !(yield* options.validate("set-pte"))) {
    yield* spin_unlock(k, ptl);
    yield* put_page(k, page);
    return "retry";
  }
  // A strategy's `validate("set-pte")` runs in between: it must leave the lock held.
  yield* set_anon_pte(k, pte, addr, page, ptl, vma.anon_vma);
  yield* spin_unlock(k, ptl);
  return "done";
}

/**
 * `handle_pte_fault()` for a present PTE, a write, and `do_wp_page()`: under the PTE lock, `if
 * (!pte_same(*vmf->pte, entry)) goto unlock;`, then `do_wp_page()` if it is read-only,
 * else the spurious fault's `ptep_set_access_flags()` (nothing the model tracks). In
 * `do_wp_page()`, an anonymous page whose count is 1 is reused (`wp_page_reuse()`: the
 * PTE made writable); otherwise `get_page(vmf->page); pte_unmap_unlock(vmf->pte,
 * vmf->ptl); return wp_page_copy(vmf);`. A strategy's `validate` stages come in
 * `wp_page_copy()`, in `do_anonymous_page()`'s order (`"alloc-page"`, `"lock-pte"`,
 * `"set-pte"`); this decision runs in its `"walk"` stage, and a reuse, which changes
 * only the write bit of a PTE the fault holds the lock of, is not validated.
 */
function* do_wp_page(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  pte: Table,
  addr: number,
  orig: OrigPte,
  options: FaultOptions,
): Proc<FaultResult> {
  const ptl = pte_lockptr(k, mm, pte);
  yield* spin_lock(k, ptl);
  const decision = yield* step(k, "do_wp_page", `${entryName(pte, addr)}: ${orig.page.name}`, [
    entryAccess(pte, addr, "write"),
    // get_page(): the count only (a mapped page is not freed under the PTE lock).
    { obj: orig.page.name, part: "_refcount", kind: "write" },
  ], () => {
    if (!pte_same(k, pte, addr, orig)) {
      k.rt.note("!pte_same: unlock");
      return "unlock" as const;
    }
    if (orig.writable) {
      k.rt.note("writable: spurious fault");
      return "unlock" as const;
    }
    const state = pageOf(orig.page);
    if (!state || state.refcount === 1) {
      writeEntry(k, pte, addr, orig.page, `${entryName(pte, addr)} writable (wp_page_reuse)`);
      k.rt.note("page_count 1: wp_page_reuse");
      return "unlock" as const;
    }
    get_page(k, orig.page);
    k.rt.note(`page_count ${state.refcount}: wp_page_copy`);
    return "copy" as const;
  });
  yield* spin_unlock(k, ptl);
  if (decision === "unlock") return "done";
  return yield* wp_page_copy(k, mm, vma, pte, addr, orig, options);
}

/** `pte_same(*vmf->pte, vmf->orig_pte)`: the same page, with the same write bit. */
function pte_same(k: Kernel, pte: Table, addr: number, orig: OrigPte): boolean {
  return readEntry(k, pte, addr) === orig.page && pte_write(pte, addr) === orig.writable;
}

/**
 * `wp_page_copy()`: a private copy of the page fork shares, as mm/memory.c writes it
 * (5.18 and 6.4): `anon_vma_prepare()`, allocate, `__wp_page_copy_user()` with no lock
 * held, then under the PTE lock, `if (likely(pte_same(*vmf->pte, vmf->orig_pte)))`:
 * `ptep_clear_flush_notify()`, `page_add_new_anon_rmap()`, `set_pte_at_notify()`,
 * `page_remove_rmap(old_page)`, and `put_page()` of the old page's mapping reference;
 * else the new page is put. Then `put_page(old_page)`, the reference `do_wp_page()`
 * took.
 */
function* wp_page_copy(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  pte: Table,
  addr: number,
  orig: OrigPte,
  options: FaultOptions,
): Proc<FaultResult> {
  const old = orig.page;
  yield* anon_vma_prepare(k, mm, vma);
  /** Gives up with `result`, dropping the reference do_wp_page() took. */
  const release = function* (result: FaultResult): Proc<FaultResult> {
    yield* put_page(k, old);
    return result;
  };
  if (options.validate && !(yield* options.validate("alloc-page"))) {
    return yield* release("retry");
  }
  const base = `page@${hex(pageAddr(addr))}`;
  const page = yield* alloc(k, "alloc_page_vma", "page", base, options.pageGfp);
  if (!page) return yield* release("oom");
  const words = yield* step(k, "__wp_page_copy_user", `${old.name} → ${page.name}`, [
    { obj: old.name, kind: "read" },
  ], () => copyWords(k, old));
  if (options.validate && !(yield* options.validate("lock-pte"))) {
    yield* put_page(k, page);
    return yield* release("retry");
  }
  const ptl = pte_lockptr(k, mm, pte);
  yield* spin_lock(k, ptl);
  if (options.validate && !(yield* options.validate("set-pte"))) {
    yield* spin_unlock(k, ptl);
    yield* put_page(k, page);
    return yield* release("retry");
  }
  const same = yield* step(k, "ptep_clear_flush", entryName(pte, addr), [
    entryAccess(pte, addr, "write"),
    ...flushAccesses(k, addr),
  ], () => {
    lockdep_assert_held(k, ptl, "ptep_clear_flush");
    if (!pte_same(k, pte, addr, orig)) {
      k.rt.note("!pte_same: put the copy");
      return false;
    }
    writeEntry(k, pte, addr, undefined, `${entryName(pte, addr)} cleared`);
    flush_tlb(k, mm, addr);
    return true;
  });
  if (same) {
    yield* step(k, "set_pte_at", `${entryName(pte, addr)} = ${page.name}`, [
      entryAccess(pte, addr, "write"),
      { obj: page.name, kind: "write" },
      // page_remove_rmap(): the count only; the reference do_wp_page() took keeps the
      // old page alive past this step (a free here would be an undeclared store).
      { obj: old.name, part: "_refcount", kind: "write" },
    ], () => {
      lockdep_assert_held(k, ptl, "set_pte_at");
      page_add_new_anon_rmap(k, page, vma.anon_vma, words);
      writeEntry(k, pte, addr, page, `${entryName(pte, addr)} = ${page.name}`);
      // page_remove_rmap(old_page) and the put_page() of its mapping's reference.
      put_page_ref(k, old);
    });
  } else yield* put_page(k, page);
  yield* spin_unlock(k, ptl);
  return yield* release("done");
}

/**
 * The end of `do_anonymous_page()`, under the PTE lock `ptl` (which it asserts): `if
 * (!pte_none(*vmf->pte)) goto release;`, freeing `page`, else `set_pte_at()` maps it
 * at `addr` of `pte`. The speculative faults (spf.ts, strategies/spf_dufour_v11.ts) end
 * the same way once `pte_map_lock()` has taken the lock.
 */
export function* set_anon_pte(
  k: Kernel,
  pte: Table,
  addr: number,
  page: KObject,
  ptl: SpinLock,
  anon_vma: string | undefined,
): Proc {
  yield* step(k, "set_pte_at", `${entryName(pte, addr)} = ${page.name}`, [
    entryAccess(pte, addr, "write"),
    // The page too: if another fault mapped the address first, it is freed here.
    { obj: page.name, kind: "write" },
  ], () => {
    lockdep_assert_held(k, ptl, "set_pte_at");
    if (readEntry(k, pte, addr)) {
      k.slab.free(page);
      k.rt.note("already mapped: put_page");
      return;
    }
    page_add_new_anon_rmap(k, page, anon_vma);
    writeEntry(k, pte, addr, page, `${entryName(pte, addr)} = ${page.name}`);
  });
}

/**
 * `put_page()`: drops a reference to `page`, freeing it with the last (a page a fault
 * allocated and did not map, the speculative fault's too, has only its own).
 */
export function* put_page(k: Kernel, page: KObject): Proc {
  yield* step(
    k,
    "put_page",
    page.name,
    [{ obj: page.name, kind: "write" }],
    () => put_page_ref(k, page),
  );
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
 * PTE table's lock and queues the pages for freeing (`__tlb_remove_page()`).
 *
 * When a page fills the gather's batch and `tlb_next_batch()` cannot allocate another,
 * `zap_pte_range()` stops after that PTE and, as mm/memory.c has it in 5.18 and 6.4,
 * "Do the actual TLB flush before dropping ptl": `if (force_flush)
 * tlb_flush_mmu_tlbonly(tlb); pte_unmap_unlock(start_pte, ptl);`, then frees the
 * batched pages (`tlb_flush_mmu()`) and, `if (addr != end) goto again;`, takes the
 * lock again for the rest. That flush under the PTE lock is what the speculative
 * series' `pte_map_lock()` must not spin against with IRQs off (mm/spf.ts).
 *
 * The caller holds `mmap_lock`, for reading at least: `zap_pud_range()` asserts it
 * (`mmap_assert_locked(tlb->mm)`, Linux 5.8 on) before it splits a huge PUD, the one
 * place the walk changes the tables' layout. The model has no huge pages, so it asserts
 * it once per walk, at its first step. Each PTE table is zapped under its lock, taken
 * by `pte_offset_map_lock()` as `pteMap` says (pgtable_generic.ts): 6.5's may find the
 * PMD entry none (khugepaged took the table away) and zap nothing there, as
 * `zap_pte_range()`'s `if (!pte) return addr;` and `zap_pmd_range()`'s retry, which then
 * finds `pmd_none()`, do.
 */
export function* unmap_page_range(
  k: Kernel,
  tlb: MmuGather,
  mm: Mm,
  start: number,
  end: number,
  pteMap: PteMapVersion = "5.18",
): Proc {
  const walk = function* (table: Table): Proc {
    const label = table.level === "pgd" ? "unmap_page_range" : `zap_${table.level}_range`;
    const check = table === mm.pgd
      ? () => mmap_assert_locked(k, mm, "unmap_page_range")
      : undefined;
    for (const { addr, entry } of yield* scan(k, label, table, start, end, check)) {
      if (!isTable(entry)) continue;
      if (table.level === "pmd") yield* zap_pte_range(k, tlb, mm, table, addr, entry, end, pteMap);
      else yield* walk(entry);
    }
  };
  yield* walk(mm.pgd);
}

/**
 * `zap_pte_range()` of [start, end) in the PTE table the PMD entry `start` of `pmd`
 * held when the walk read it (`found`).
 */
function* zap_pte_range(
  k: Kernel,
  tlb: MmuGather,
  mm: Mm,
  pmd: Table,
  start: number,
  found: Table,
  end: number,
  pteMap: PteMapVersion,
): Proc {
  const label = "zap_pte_range";
  let addr = start;
  // again:
  for (;;) {
    const mapped = yield* pte_offset_map_lock(k, mm, pmd, start, found, pteMap);
    if (!mapped) return;
    const { pte: table, ptl } = mapped;
    let force_flush = false;
    for (;;) {
      // The PTEs from `addr` up to the one whose page fills the batch, or to `end`.
      const from = addr;
      const full = yield* step(
        k,
        label,
        table.obj.name,
        [{ obj: table.obj.name, kind: "write" }],
        () => {
          lockdep_assert_held(k, ptl, label);
          // A load of every PTE (entriesIn()), and a store only where one is cleared:
          // a table with none present is only read, as zap_pte_range() only reads it.
          const present = entriesIn(k, table, from, end);
          if (present.length) k.slab.write(table.obj, undefined, "entries");
          let cleared = 0;
          let filled = false;
          addr = end;
          for (const { addr: at, entry } of present) {
            table.entries.delete(indexOf("pte", at));
            cleared++;
            if (tlb_remove_page(tlb, at, entry as KObject)) {
              filled = true;
              // The loop goes on from the next PTE; past the last present one, it
              // only reads none entries, so the model ends it there.
              if (cleared < present.length) addr = at + entrySize("pte");
              break;
            }
          }
          k.rt.note(
            `${cleared} pte${cleared === 1 ? "" : "s"} cleared${filled ? ", batch full" : ""}`,
          );
          return filled;
        },
      );
      if (!full) break;
      if (!(yield* tlb_next_batch(k, tlb))) {
        force_flush = true;
        break;
      }
      if (addr === end) break;
    }
    // "Do the actual TLB flush before dropping ptl"
    if (force_flush) yield* tlb_flush_mmu_tlbonly(k, tlb, true);
    yield* pte_unmap_unlock(k, mapped, pteMap);
    if (!force_flush) return;
    yield* tlb_flush_mmu_free(k, tlb);
    if (addr === end) return;
  }
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
  // free_pte_range(): `pmd_clear(pmd); pte_free_tlb(tlb, token, addr);`, and x86's
  // ___pte_free_tlb() starts with pgtable_pte_page_dtor() (ptlock.ts).
  const dtor = child.level === "pte" ? pgtable_pte_page_dtor_accesses(k, child) : [];
  yield* step(k, label, `${parent.level}_clear(${entryName(parent, addr)})`, [
    entryAccess(parent, addr, "write"),
    { obj: child.obj.name, kind: "write" },
    ...dtor,
  ], () => {
    const present = readEntry(k, parent, addr);
    if (!isTable(present)) return;
    writeEntry(k, parent, addr, undefined);
    k.slab.detach(present.obj);
    if (present.level === "pte") pgtable_pte_page_dtor(k, present);
    tlb.tables.push(present);
    k.rt.note(`${present.obj.name} unlinked`);
  });
}
