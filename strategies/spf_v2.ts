/**
 * Strategy 6: speculative page faults as Michel Lespinasse's series wrote them, v2
 * ("[PATCH v2 00/35] Speculative page faults", LKML, 2022-01-28, on 5.17-rc1), for
 * anonymous VMAs.
 *
 * The fault handler (arch/x86/mm/fault.c `do_user_addr_fault()`, patch 13/35 "x86/mm:
 * attempt speculative mm faults first", with 19/35's `vma_is_anonymous()` test):
 *
 *     seq = mmap_seq_read_start(mm);
 *     if (seq & 1)
 *             goto spf_abort;
 *     rcu_read_lock();
 *     vma = __find_vma(mm, address);
 *     if (!vma || vma->vm_start > address || !vma_is_anonymous(vma)) {
 *             rcu_read_unlock();
 *             goto spf_abort;
 *     }
 *     pvma = *vma;
 *     rcu_read_unlock();
 *     if (!mmap_seq_read_check(mm, seq))
 *             goto spf_abort;
 *     vma = &pvma;
 *     if (unlikely(access_error(error_code, vma)))
 *             goto spf_abort;
 *     fault = do_handle_mm_fault(vma, address,
 *                                flags | FAULT_FLAG_SPECULATIVE, seq, regs);
 *     if (!(fault & VM_FAULT_RETRY))
 *             goto done;
 *     ...
 *     spf_abort:
 *     ... the classic fault, under mmap_read_lock() ...
 *
 * `do_handle_mm_fault()` on the speculative path is `mm/spf.ts`: the walk that never
 * allocates a table, `do_anonymous_page()`, and `pte_map_lock()`. The writers are
 * 5.18's (the series changes none but through the mmap_lock hooks of patch 10/35),
 * with its patch 11/35, "mm: rcu safe vma freeing": `vm_area_free()` frees after an
 * RCU grace period, since the lookup and the copy run under RCU alone.
 *
 * Constant in the model, and so written as comments where the code tests them:
 * `vma_is_anonymous()` (every VMA is anonymous) and `access_error()` (every fault is
 * a write to a writable VMA). Left out: patches 28/35 and 29/35, which turn the
 * speculative path off for single-threaded processes (every scenario has two CPUs
 * sharing the mm, or one running alone where it makes no difference to the verdict),
 * the mmu_notifier lock (COW only), statistics.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  do_handle_mm_fault_speculative,
  type FaultCause,
  type FaultResult,
  type Kernel,
  type Mm,
  mmap_seq_read_check,
  mmap_seq_read_start,
  rcu_read_lock,
  rcu_read_unlock,
  type SpeculativeOptions,
  SPF_V2,
  SPF_V2_IRQS_OFF,
  step,
  type Vma,
  vma_lookup,
  type VmaCopy,
} from "../mm/mod.ts";
import {
  fault_under_mmap_lock,
  KHUGEPAGED_5_18_EXPECTED,
  WRITERS_RCU_FREEING_VMAS,
} from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

/** `pvma = *vma;`: one load of the whole VMA, under the lookup's RCU section. */
export function* copy_vma(k: Kernel, vma: Vma): Proc<VmaCopy> {
  return yield* step(k, "do_user_addr_fault", `pvma = *${vma.obj.name}`, [
    { obj: vma.obj.name, kind: "read" },
  ], () => {
    k.slab.read(vma.obj, undefined, `*${vma.obj.name}`);
    return { vma, vm_start: vma.start, vm_end: vma.end, anon_vma: vma.anon_vma };
  });
}

/**
 * The speculative attempt of `do_user_addr_fault()`: "retry" when it must fall back
 * (`spf_abort`), otherwise the fault's result. `options` is the series (v2) unless a
 * variant says otherwise.
 */
export function* speculative_fault(
  k: Kernel,
  mm: Mm,
  address: number,
  options: SpeculativeOptions = SPF_V2,
): Proc<FaultResult> {
  const seq = yield* mmap_seq_read_start(k, mm);
  if (seq % 2 === 1) return "retry";
  yield* rcu_read_lock(k);
  // __find_vma(): the first VMA ending above `address`; `vma->vm_start > address`
  // rules out a VMA above a hole, so this is the VMA containing `address`.
  // (vma_is_anonymous(vma) holds for every VMA of the model.)
  const vma = yield* vma_lookup(k, mm, address, "__find_vma");
  if (!vma) {
    yield* rcu_read_unlock(k);
    return "retry";
  }
  const pvma = yield* copy_vma(k, vma);
  yield* rcu_read_unlock(k);
  if (!(yield* mmap_seq_read_check(k, mm, seq))) return "retry";
  // (access_error() is false: a write to a writable VMA.)
  return yield* do_handle_mm_fault_speculative(k, mm, pvma, address, seq, options);
}

/** The x86 fault with `options`: the speculative attempt, then (`spf_abort`) the classic one. */
export function spfFault(options: SpeculativeOptions = SPF_V2): Strategy["fault"] {
  return function* (k: Kernel, mm: Mm, address: number, cause?: FaultCause): Proc<FaultResult> {
    const result = yield* speculative_fault(k, mm, address, options);
    if (result !== "retry") return result;
    // spf_abort: count_vm_event(SPF_ABORT), then the classic path.
    return yield* fault_under_mmap_lock(k, mm, address, cause);
  };
}

/** Strategy 6. */
export const spfV2: Strategy = {
  name: "spf-v2",
  title: "Speculative page faults as the series wrote them (Michel Lespinasse, v2)",
  summary:
    "mmap_seq + VMA copy under RCU; walk existing tables only; pte_map_lock(): trylock, re-check",
  source: "Michel Lespinasse, [PATCH v2 00/35] Speculative page faults, LKML 2022-01-28",
  // What reading the series alone led to expect (before any exploration): the walk
  // aborts wherever a table is missing, so only a fault whose tables all exist takes
  // the speculative path; there, `pte_alloc()` and `pmd_trans_unstable()` in
  // do_anonymous_page() load *vmf->pmd after speculative_page_walk_end(), when
  // nothing keeps the PMD table from being freed.
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
    "fault-vs-munmap-pte-present": "violation:use-after-free",
    "fault-vs-fault-same-page": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-below-stack": "violation:use-after-free",
    "fork-vs-stale-tlb-store": "safe",
    "fork-vs-write-fault": "safe",
    "fork-vs-write-fault-stale-tlb": "safe",
    "fork-vs-first-fault": "safe",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "safe",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "safe",
    "mremap-vs-stale-tlb-store": "safe",
    "store-at-target-vs-mremap": "safe",
    "store-vs-mremap-pmd": "safe",
    "fault-vs-mremap-dontunmap": "safe",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    "stack-vs-stack-expansion": "safe",
    "stack-expansion-vs-fault": "safe",
    ...KHUGEPAGED_5_18_EXPECTED,
  },
  fault: spfFault(),
  ...WRITERS_RCU_FREEING_VMAS,
};

/**
 * Strategy 6 built without CONFIG_MMU_GATHER_RCU_TABLE_FREE: the same series, with
 * `speculative_page_walk_begin()` as `local_irq_disable()` (patch 14/35), as on
 * bare-metal x86 without PARAVIRT, whose page tables are freed after the TLB-flush IPI
 * (`tableFree: "ipi"` of `KernelConfig`).
 *
 * Which variant is safe under which configuration, as the explorer finds it on
 * fault-vs-munmap (docs/kernel-config.md): the RCU walk (`spfV2`) only under `"rcu"`:
 * the TLB-flush IPI of `"ipi"` and `tlb_remove_table_sync_one()` of
 * `"rcu-ipi-fallback"` do not wait for an RCU reader, and the walk reads a freed PUD.
 * The IRQs-off walk (this one) under all three: the IPI waits for it, and since 5.0 a
 * grace period does too. Neither covers `do_anonymous_page()`'s reload of `*vmf->pmd`
 * after `speculative_page_walk_end()` (fault-vs-munmap-pte-present: a use-after-free
 * under every configuration).
 *
 * Not in the matrix's strategy list (which is explored under the default configuration
 * only); `tests/config_test.ts` and `docs/kernel-config.md` explore it under each
 * configuration. Its expectations are spf-v2's, those of the default configuration,
 * where an IRQs-off section is an RCU reader.
 */
export const spfV2IrqsOff: Strategy = {
  ...spfV2,
  name: "spf-v2-irqs-off",
  title: "Speculative page faults v2, IRQs-off page-table walk (no MMU_GATHER_RCU_TABLE_FREE)",
  summary: "spf-v2 with speculative_page_walk_begin() = local_irq_disable()",
  fault: spfFault(SPF_V2_IRQS_OFF),
};

/**
 * Not the series: faultline's fix for the hole the explorer finds in it. The series'
 * speculative `do_anonymous_page()` runs `pte_alloc(vma->vm_mm, vmf->pmd)` and
 * `pmd_trans_unstable(vmf->pmd)` as the classic path does, loading `*vmf->pmd` after
 * `speculative_page_walk_end()`, when nothing keeps the PMD table from being freed
 * (fault-vs-munmap-pte-present). This design skips both on the speculative path and
 * uses the PMD value the walk validated, `vmf->orig_pmd`, until `pte_map_lock()` loads
 * the entry again under `speculative_page_walk_begin()` and compares it
 * (`pmd_same()`): `pte_alloc()` has nothing to do there (the walk gave up on a none
 * entry) and a huge PMD cannot appear in the model. No posted version of the series
 * does this (`SpeculativeOptions.pmdReloads` in mm/spf.ts).
 *
 * Everything else is spf-v2's, so what keeps this one safe is the series' checks
 * alone: `mmap_seq` after the VMA copy, in `pte_map_lock()` before `pmd_same()` and
 * again under the PTE lock, and the re-check of the PTE under it. Its walk is the RCU
 * one, so, like spf-v2, it is safe only where tables are freed after a grace period
 * (the default configuration; under `"ipi"` and `"rcu-ipi-fallback"` the walk reads a
 * freed PUD, as docs/kernel-config.md shows for spf-v2).
 */
export const spfV2WalkedPmd: Strategy = {
  ...spfV2,
  name: "spf-v2-walked-pmd",
  title: "Speculative page faults v2 on the walked PMD (faultline's fix, not the series')",
  summary:
    "spf-v2 without do_anonymous_page()'s reloads of *vmf->pmd: the walk's orig_pmd until pte_map_lock()",
  source: "faultline, on Michel Lespinasse's [PATCH v2 00/35] Speculative page faults",
  // Before exploring: safe wherever spf-v2 is, and on fault-vs-munmap-pte-present too,
  // since nothing is loaded from a page table outside a speculative_page_walk_begin()
  // section whose entry into it the mmap_seq check validates.
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
    "fault-vs-munmap-pte-present": "safe",
    "fault-vs-fault-same-page": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-below-stack": "safe",
    "fork-vs-stale-tlb-store": "safe",
    "fork-vs-write-fault": "safe",
    "fork-vs-write-fault-stale-tlb": "safe",
    "fork-vs-first-fault": "safe",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "safe",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "safe",
    "mremap-vs-stale-tlb-store": "safe",
    "store-at-target-vs-mremap": "safe",
    "store-vs-mremap-pmd": "safe",
    "fault-vs-mremap-dontunmap": "safe",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    "stack-vs-stack-expansion": "safe",
    "stack-expansion-vs-fault": "safe",
    ...KHUGEPAGED_5_18_EXPECTED,
  },
  fault: spfFault({ pmdReloads: false }),
};
