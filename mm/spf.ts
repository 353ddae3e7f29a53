/**
 * The speculative page fault of Michel Lespinasse's series, v2 ("[PATCH v2 00/35]
 * Speculative page faults", LKML, 2022-01-28, on Linux 5.17-rc1), for an anonymous
 * VMA: the page-table walk that allocates nothing, `do_anonymous_page()` on the
 * speculative path, and `pte_map_lock()`, the commit point.
 *
 * The caller (the architecture's fault handler, `strategies/spf_v2.ts`) has sampled
 * `mmap_seq` and copied the VMA; everything here works on that copy and on the page
 * tables, and answers VM_FAULT_RETRY whenever the classic path must take over:
 *
 * - `__handle_mm_fault()` (patch 16/35, "mm: implement speculative handling in
 *   __handle_mm_fault()"): within `speculative_page_walk_begin()`/`_end()`, read each
 *   level with READ_ONCE() and give up at the first missing one: "The above does not
 *   allocate/instantiate page-tables because doing so would lead to the possibility of
 *   instantiating page-tables after free_pgtables() -- and consequently leaking them.
 *   The result is that we take at least one non-speculative fault per PMD in order to
 *   instantiate it." It records `vmf.orig_pmd` and, if the PTE is none, leaves
 *   `vmf.pte` NULL.
 * - `handle_pte_fault()` (patch 19/35): a PTE that is not none is not handled
 *   speculatively ("catch speculative faults and return VM_FAULT_RETRY"); patch 26/35
 *   handles some of those cases later, which no scenario reaches (every fault is a
 *   first touch).
 * - `do_anonymous_page()` (patches 5/35 and 18/35): unchanged up to the page
 *   allocation, so `pte_alloc(vma->vm_mm, vmf->pmd)` and `pmd_trans_unstable(vmf->pmd)`
 *   load `*vmf->pmd` as on the classic path, after the walk's
 *   `speculative_page_walk_end()`; then "aborting speculative faults if they have to
 *   allocate a new anon_vma", and `pte_map_lock()` instead of `pte_offset_map_lock()`.
 * - `__pte_map_lock()` (patch 17/35, "mm: add pte_map_lock() and pte_spinlock()", as
 *   re-sent in Michel's reply to the kernel test robot, LKML 2022-01-28): within
 *   `speculative_page_walk_begin()`, check `mmap_seq`, check `pmd_same(*vmf->pmd,
 *   vmf->orig_pmd)` (CONFIG_TRANSPARENT_HUGEPAGE), `spin_trylock()` the PTE lock ("we
 *   might race against zap_pte_range() which invalidates TLBs while holding the page
 *   table lock. We are still under the speculative_page_walk_begin() section, and
 *   zap_pte_range() could thus deadlock with us if we tried using spin_lock() here"),
 *   and check `mmap_seq` again under it: "After that point the page table lock
 *   serializes any further races with concurrent mmap lock writers."
 *
 * `speculative_page_walk_begin()` (patch 14/35) is `rcu_read_lock()` with
 * CONFIG_MMU_GATHER_RCU_TABLE_FREE and `local_irq_disable()` without it; both are
 * modelled, chosen by {@linkcode SpeculativeOptions.walk}. The RCU variant holds off
 * only a table freed after a grace period (`tableFree: "rcu"` of `KernelConfig`,
 * kernel.ts); the IRQs-off one holds off the TLB-flush IPI (`"ipi"`, bare-metal x86)
 * and `tlb_remove_table_sync_one()`'s (`"rcu-ipi-fallback"`), and, since RCU flavour
 * consolidation in 5.0 an IRQs-off region also holds up RCU grace periods, the grace
 * period too: it is safe under every configuration, the RCU one only where the
 * series enables it.
 *
 * Left out: huge pages, swap and NUMA entries (`pud_trans_huge()`, `is_swap_pmd()`,
 * ...: the model has none, so those tests are always false), `pud_bad()` and
 * `pmd_bad()`, userfaultfd (`userfaultfd_missing()` is false: no VMA is registered),
 * `check_stable_address_space()` (no OOM reaper), memcg charging, rmap and LRU. The
 * plain reloads of `*vmf->pmd` inside `pte_offset_map()` and `pte_lockptr()`, right
 * after the READ_ONCE() that the walk and `pmd_same()` check, are taken to see what
 * that READ_ONCE() saw; `pte_alloc()` and `pmd_trans_unstable()` are separate loads,
 * as they are separate statements, outside any read-side section.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import type { Kernel } from "./kernel.ts";
import type { FaultResult } from "./memory.ts";
import { put_page, pXd_alloc, set_anon_pte } from "./memory.ts";
import { alloc, GFP_HIGHUSER_MOVABLE, GFP_PGTABLE_USER } from "./page_alloc.ts";
import {
  hex,
  isTable,
  lockless_walk_begin,
  lockless_walk_end,
  type LocklessWalk,
  read_once,
  type Table,
  walk_to_pte,
} from "./pgtable.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { spin_lock, spin_trylock, spin_unlock } from "./spinlock.ts";
import { pte_lockptr } from "./ptlock.ts";
import { mmap_seq_read_check } from "./mmap_lock.ts";

/**
 * The on-stack copy of the VMA (`struct vm_area_struct pvma = *vma;` in the x86 fault
 * handler, patch 13/35): the speculative path reads its fields from here, never from
 * the VMA, which may be freed once the lookup's RCU section ends. `vma` is kept for
 * names only.
 */
export interface VmaCopy {
  readonly vma: Vma;
  readonly vm_start: number;
  readonly vm_end: number;
  readonly anon_vma: string | undefined;
}

/** `struct vm_fault` on the speculative path, as far as the model needs it. */
export interface VmFault {
  readonly mm: Mm;
  readonly vma: VmaCopy;
  readonly address: number;
  /** `vmf->seq`: the `mmap_seq` sampled before the VMA was looked up. */
  readonly seq: number;
  /** The PMD table that `vmf->pmd` points into. */
  readonly pmd: Table;
  /** `vmf->orig_pmd`: the PTE table the PMD entry held during the walk. */
  readonly orig_pmd: Table;
}

/**
 * `speculative_page_walk_begin()` (patch 14/35): `rcu_read_lock()` with
 * CONFIG_MMU_GATHER_RCU_TABLE_FREE, `local_irq_disable()` without (`walk`).
 */
export function* speculative_page_walk_begin(k: Kernel, walk: LocklessWalk = "rcu"): Proc {
  yield* lockless_walk_begin(k, walk);
}

/** `speculative_page_walk_end()`: `rcu_read_unlock()` or `local_irq_enable()`. */
export function* speculative_page_walk_end(k: Kernel, walk: LocklessWalk = "rcu"): Proc {
  yield* lockless_walk_end(k, walk);
}

/** What a variant of the series may change on the speculative path. */
export interface SpeculativeOptions {
  /**
   * Whether `do_anonymous_page()` runs `pte_alloc(vma->vm_mm, vmf->pmd)` and
   * `pmd_trans_unstable(vmf->pmd)` on the speculative path, as the series leaves them
   * (true), or skips them, trusting the walk's `vmf->orig_pmd` until pte_map_lock()
   * checks it again (false; not in any posted version).
   */
  readonly pmdReloads: boolean;
  /**
   * Which `speculative_page_walk_begin()` the walk and `pte_map_lock()` use; `"rcu"`
   * (the CONFIG_MMU_GATHER_RCU_TABLE_FREE one) if absent.
   */
  readonly walk?: LocklessWalk;
  /**
   * How `pte_map_lock()` takes the PTE lock: `"trylock"`, `spin_trylock()` as the series
   * does (the default), or `"spin"`, `spin_lock()`, which the series' comment rules
   * out: with IRQs off it can wait for a `zap_pte_range()` that holds the lock while
   * its TLB flush waits for this CPU (docs/spf-v2.md). Not in any posted version.
   */
  readonly ptlLock?: "trylock" | "spin";
}

/** The series as posted (v2), built with CONFIG_MMU_GATHER_RCU_TABLE_FREE. */
export const SPF_V2: SpeculativeOptions = { pmdReloads: true };

/** The series as posted (v2), built without it: the walk runs with IRQs disabled. */
export const SPF_V2_IRQS_OFF: SpeculativeOptions = { pmdReloads: true, walk: "irqs-off" };

/**
 * `do_handle_mm_fault(vma, address, flags | FAULT_FLAG_SPECULATIVE, seq, regs)` for an
 * anonymous VMA: the speculative `__handle_mm_fault()`. "retry" is VM_FAULT_RETRY,
 * after which the caller takes the classic path.
 */
export function* do_handle_mm_fault_speculative(
  k: Kernel,
  mm: Mm,
  vma: VmaCopy,
  address: number,
  seq: number,
  options: SpeculativeOptions = SPF_V2,
): Proc<FaultResult> {
  const walk = options.walk ?? "rcu";
  yield* speculative_page_walk_begin(k, walk);
  // pgd_offset() / p4d_offset() / pud_offset() / pmd_offset(), each READ_ONCE()'d and
  // given up on when none: `goto spf_fail`.
  const walked = yield* walk_to_pte(k, mm.pgd, address, (level) => `${level}_offset`);
  if (!walked) {
    yield* speculative_page_walk_end(k, walk);
    return "retry";
  }
  // vmf.pte = pte_offset_map(vmf.pmd, address); vmf.orig_pte = READ_ONCE(*vmf.pte);
  const orig_pte = yield* read_once(k, "pte_offset_map", walked.pte, address);
  yield* speculative_page_walk_end(k, walk);
  // handle_pte_fault(): a present PTE is not handled speculatively (patch 19/35).
  if (orig_pte) return "retry";
  const vmf = { mm, vma, address, seq, pmd: walked.pmd, orig_pmd: walked.pte };
  return yield* do_anonymous_page(k, vmf, options);
}

/** `pmd_trans_unstable(vmf->pmd)` with THP: true (so the fault returns 0) if *pmd is none. */
function* pmd_trans_unstable(k: Kernel, vmf: VmFault): Proc<boolean> {
  const entry = yield* read_once(k, "pmd_trans_unstable", vmf.pmd, vmf.address);
  return !isTable(entry);
}

/** `do_anonymous_page()` on the speculative path, for a write fault. */
function* do_anonymous_page(
  k: Kernel,
  vmf: VmFault,
  options: SpeculativeOptions,
): Proc<FaultResult> {
  // (VM_SHARED is never set on the model's anonymous VMAs.)
  if (options.pmdReloads) {
    // pte_alloc(vma->vm_mm, vmf->pmd): `pmd_none(*pmd) && __pte_alloc(mm, pmd)`. The
    // walk saw the entry present; this load comes after speculative_page_walk_end().
    const pte = yield* pXd_alloc(k, vmf.mm, vmf.pmd, vmf.address, GFP_PGTABLE_USER);
    if (!pte) return "oom";
    // "See comment in __handle_mm_fault()": a huge PMD could have appeared, or none.
    if (yield* pmd_trans_unstable(k, vmf)) return "done";
  }
  // Patch 18/35: `if (unlikely(!vma->anon_vma)) { if (vmf->flags &
  // FAULT_FLAG_SPECULATIVE) return VM_FAULT_RETRY; ... }`, on the copy.
  if (!vmf.vma.anon_vma) return "retry";
  return yield* map_anon_page(
    k,
    vmf.mm,
    vmf.address,
    vmf.vma.anon_vma,
    () => pte_map_lock(k, vmf, options.walk ?? "rcu", options.ptlLock),
  );
}

/**
 * The end of the speculative `do_anonymous_page()` of both series (this one and Laurent
 * Dufour's, strategies/spf_dufour_v11.ts): allocate the page; take the PTE lock with
 * the series' `pte_map_lock()`, `map_lock`, which gives the locked PTE table or nothing;
 * without it `ret = VM_FAULT_RETRY; goto release;`, else `if (!pte_none(*vmf->pte))
 * goto unlock;` then `set_pte_at()` under the lock, and unlock.
 */
export function* map_anon_page(
  k: Kernel,
  mm: Mm,
  address: number,
  anon_vma: string | undefined,
  map_lock: () => Proc<Table | undefined>,
): Proc<FaultResult> {
  const page = yield* alloc(
    k,
    "alloc_zeroed_user_highpage_movable",
    "page",
    `page@${hex(address)}`,
    GFP_HIGHUSER_MOVABLE,
  );
  if (!page) return "oom";
  const locked = yield* map_lock();
  if (!locked) {
    yield* put_page(k, page);
    return "retry";
  }
  const ptl = pte_lockptr(k, mm, locked);
  yield* set_anon_pte(k, locked, address, page, ptl, anon_vma);
  yield* spin_unlock(k, ptl);
  return "done";
}

/**
 * `pte_map_lock(vmf)` with FAULT_FLAG_SPECULATIVE (`__pte_map_lock()`): the PTE table,
 * locked, if no mmap writer ran since `vmf->seq` was sampled; undefined (and nothing
 * held) otherwise. `lock` `"spin"` is the variant with `spin_lock()` (see
 * {@linkcode SpeculativeOptions.ptlLock}).
 */
export function* pte_map_lock(
  k: Kernel,
  vmf: VmFault,
  walk: LocklessWalk = "rcu",
  lock: "trylock" | "spin" = "trylock",
): Proc<Table | undefined> {
  yield* speculative_page_walk_begin(k, walk);
  // "The mmap sequence count check guarantees that the page tables are still valid at
  // that point, and speculative_page_walk_begin() ensures that they stay around."
  if (yield* mmap_seq_read_check(k, vmf.mm, vmf.seq)) {
    // pmdval = READ_ONCE(*vmf->pmd); if (!pmd_same(pmdval, vmf->orig_pmd)) goto fail;
    const pmdval = yield* read_once(k, "pmd_same", vmf.pmd, vmf.address);
    if (pmdval === vmf.orig_pmd) {
      // ptl = pte_lockptr(mm, vmf->pmd); pte = pte_offset_map(vmf->pmd, address);
      const pte = vmf.orig_pmd;
      const ptl = pte_lockptr(k, vmf.mm, pte);
      // if (unlikely(!spin_trylock(ptl))) goto fail;
      let locked = true;
      if (lock === "spin") yield* spin_lock(k, ptl);
      else locked = yield* spin_trylock(k, ptl);
      if (locked) {
        if (yield* mmap_seq_read_check(k, vmf.mm, vmf.seq)) {
          yield* speculative_page_walk_end(k, walk);
          return pte;
        }
        // unlock_fail:
        yield* spin_unlock(k, ptl);
      }
    }
  }
  // fail:
  yield* speculative_page_walk_end(k, walk);
  return undefined;
}
