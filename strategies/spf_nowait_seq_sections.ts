/**
 * Strategy 5: the hybrid of the May 2022 thread (a speculative fault that also
 * allocates missing page tables with GFP_NOWAIT) in several small RCU sections, each
 * starting with a check that `mmap_seq` has not moved, so that the VMA found in the
 * first section is still valid in the next. Between sections the fault may sleep: the
 * user page is allocated there with GFP_KERNEL. Michel Lespinasse's series never
 * allocated tables speculatively ("we do not handle huge pages or wiring new pages
 * tables", v2 16/35, LKML 2022-01-28); `spf-v2` is the series as written.
 *
 *   1. RCU: sample `mmap_seq`, `vma_lookup()`.
 *   2. RCU: check `mmap_seq`; walk and fill the page tables (GFP_NOWAIT).
 *   3. no RCU: allocate the page (may sleep).
 *   4. RCU: check `mmap_seq`; take the PTE lock; check again; set the PTE.
 *
 * Source: the "several small [RCU sections] linked by sequence count checks to verify
 * the validity of the vma at the start of each RCU section" option of the seed mail
 * (Michel Lespinasse, LKML 2022-05-04). Choices this module makes: the section
 * boundaries above (the mail does not draw them); page tables are filled in section 2
 * under RCU with GFP_NOWAIT; any failed check leaves RCU and falls back to the
 * mmap_lock fault. The writer side is 5.18's, with VMAs freed after a grace period.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  type FaultCause,
  type FaultResult,
  type FaultStage,
  GFP_HIGHUSER_MOVABLE,
  GFP_NOWAIT,
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
import { mmap_seq_read_check, mmap_seq_sample } from "./speculative.ts";
import type { Strategy } from "./strategy.ts";

function* fault(k: Kernel, mm: Mm, addr: number, cause?: FaultCause): Proc<FaultResult> {
  yield* rcu_read_lock(k);
  const seq = yield* mmap_seq_sample(k, mm);
  const vma = seq === undefined ? undefined : yield* vma_lookup(k, mm, addr);
  yield* rcu_read_unlock(k);
  if (seq === undefined || !vma) return yield* fault_under_mmap_lock(k, mm, addr, cause);
  let inRcu = false;
  const validate = function* (stage: FaultStage): Proc<boolean> {
    if (stage === "alloc-page") {
      yield* rcu_read_unlock(k);
      inRcu = false;
      return true;
    }
    if (stage === "walk" || stage === "lock-pte") {
      yield* rcu_read_lock(k);
      inRcu = true;
    }
    return yield* mmap_seq_read_check(k, mm, seq);
  };
  const result = yield* handle_mm_fault(k, mm, vma, addr, {
    tableGfp: GFP_NOWAIT,
    pageGfp: GFP_HIGHUSER_MOVABLE,
    validate,
  }, cause);
  if (inRcu) yield* rcu_read_unlock(k);
  if (result === "done") return result;
  return yield* fault_under_mmap_lock(k, mm, addr, cause);
}

/** Strategy 5. */
export const spfNowaitSeqSections: Strategy = {
  name: "spf-nowait-seq-sections",
  title: "SPF + speculative GFP_NOWAIT table allocation, small RCU sections linked by mmap_seq",
  summary:
    "RCU sections for lookup, table walk and PTE install, each starting with an mmap_seq check",
  source: "Michel Lespinasse, LKML 2022-05-04",
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
