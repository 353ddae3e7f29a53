/**
 * Strategy 4: the hybrid the May 2022 thread weighed, a speculative fault that also
 * allocates missing page tables with GFP_NOWAIT, in one large RCU section. Sample
 * `mmap_seq`, look the VMA up, walk and fill the page tables (GFP_NOWAIT, as nothing
 * may sleep), and set the PTE only if `mmap_seq` is unchanged, checked under the PTE
 * lock as the speculative page fault series' `pte_map_lock()` does. Any failed check
 * or failed allocation leaves RCU and falls back to the mmap_lock fault.
 *
 * This is not the series. Michel Lespinasse's v2 ("[PATCH v2 16/35] mm: implement
 * speculative handling in __handle_mm_fault()", LKML 2022-01-28) says "in the
 * speculative path, we do not handle huge pages or wiring new pages tables", and
 * aborts at a missing level, because allocating "would lead to the possibility of
 * instantiating page-tables after free_pgtables() -- and consequently leaking them";
 * `spf-v2` is that series. Here the series' sequence count is combined with Matthew
 * Wilcox's GFP_NOWAIT table allocation (LKML 2022-05-03), the "one large RCU section"
 * option of the seed mail (Michel Lespinasse, LKML 2022-05-04). The writer side is
 * 5.18's, with VMAs freed after a grace period (the lookup runs under RCU).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  type FaultCause,
  type FaultResult,
  handle_mm_fault,
  type Kernel,
  type Mm,
  rcu_read_lock,
  rcu_read_unlock,
  vma_lookup,
} from "../mm/mod.ts";
import {
  fault_under_mmap_lock,
  KHUGEPAGED_5_18_EXPECTED,
  WRITERS_RCU_FREEING_VMAS,
} from "./mmap_lock.ts";
import { NOWAIT_ALLOCATIONS } from "./rcu_gfp_nowait.ts";
import { mmap_seq_read_check, mmap_seq_sample } from "./speculative.ts";
import type { Strategy } from "./strategy.ts";

function* fault(k: Kernel, mm: Mm, addr: number, cause?: FaultCause): Proc<FaultResult> {
  yield* rcu_read_lock(k);
  const seq = yield* mmap_seq_sample(k, mm);
  const vma = seq === undefined ? undefined : yield* vma_lookup(k, mm, addr);
  let result: FaultResult = "retry";
  if (seq !== undefined && vma) {
    result = yield* handle_mm_fault(k, mm, vma, addr, {
      ...NOWAIT_ALLOCATIONS,
      validate: (stage) => stage === "set-pte" ? mmap_seq_read_check(k, mm, seq) : accept(),
    }, cause);
  }
  yield* rcu_read_unlock(k);
  if (result === "done") return result;
  return yield* fault_under_mmap_lock(k, mm, addr, cause);
}

/** A validation that always passes (a stage the strategy does not check). */
// deno-lint-ignore require-yield
export function* accept(): Proc<boolean> {
  return true;
}

/** Strategy 4. */
export const spfNowaitOneRcu: Strategy = {
  name: "spf-nowait-one-rcu",
  title: "SPF + speculative GFP_NOWAIT table allocation, one large RCU section",
  summary: "whole fault under RCU, tables GFP_NOWAIT, mmap_seq re-checked under the PTE lock",
  source: "Michel Lespinasse, LKML 2022-05-04; speculative page faults v2, LKML 2022-01-28",
  expected: {
    "fault-vs-munmap": "violation:store-into-detached-table",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "violation:store-into-detached-table",
    "fault-vs-munmap-pte-present": "violation:store-into-detached-table",
    "fault-vs-fault-same-page": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-below-stack": "violation:store-into-detached-table",
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
  fault,
  ...WRITERS_RCU_FREEING_VMAS,
};
