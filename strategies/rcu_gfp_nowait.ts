/**
 * Strategy 2: fault without mmap_lock under one rcu_read_lock() section, allocating
 * page tables with `GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN`; if an allocation
 * fails, leave the RCU section, reclaim, and retry the fault.
 *
 * As in the seed mail (Matthew Wilcox, LKML, 2022-05-04, quoting his 2022-05-03 mail):
 *
 *     p4d_alloc(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN);
 *     pud_alloc(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN);
 *     pmd_alloc(GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN);
 *     if (failure) { rcu_read_unlock(); do_reclaim(); return FAULT_FLAG_RETRY; }
 *
 * Choices the mail leaves open, and what this module does:
 * - The VMA is found with `vma_lookup()` inside the same RCU section (an RCU-safe VMA
 *   tree is what makes a fault without mmap_lock possible at all), and munmap() frees
 *   VMAs after a grace period (`rcu_free(vma)`, as in the mail's later write side),
 *   since freeing them at once would make every lookup under RCU a use-after-free.
 * - The PTE table and the user page are allocated with GFP_NOWAIT too: the whole
 *   fault is inside the RCU section, where nothing may sleep.
 * - Nothing is re-validated: the mail's snippet has no sequence-count check (that is
 *   what strategies 4 and 5 add). The writer side is the 5.18 one.
 * - `do_reclaim()` is `try_to_free_pages()`; the retry runs the same path again. The
 *   number of failures is the scenario's bound, so the retry loop ends.
 *
 * Michel Lespinasse's reply in the same thread is the race to look for: "you also
 * need the code inserting the new page tables into the mm's page table tree to
 * synchronize with any munmap() that may be concurrently running".
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  type FaultCause,
  type FaultOptions,
  type FaultResult,
  GFP_NOWAIT,
  handle_mm_fault,
  type Kernel,
  type Mm,
  rcu_read_lock,
  rcu_read_unlock,
  try_to_free_pages,
  vma_lookup,
} from "../mm/mod.ts";
import { KHUGEPAGED_5_18_EXPECTED, WRITERS_RCU_FREEING_VMAS } from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

/** Nothing may sleep inside the RCU section. */
export const NOWAIT_ALLOCATIONS: FaultOptions = { tableGfp: GFP_NOWAIT, pageGfp: GFP_NOWAIT };

function* fault(k: Kernel, mm: Mm, addr: number, cause?: FaultCause): Proc<FaultResult> {
  for (;;) {
    yield* rcu_read_lock(k);
    const vma = yield* vma_lookup(k, mm, addr);
    const result = vma
      ? yield* handle_mm_fault(k, mm, vma, addr, NOWAIT_ALLOCATIONS, cause)
      : "sigsegv";
    yield* rcu_read_unlock(k);
    if (result !== "oom") return result;
    yield* try_to_free_pages(k);
  }
}

/** Strategy 2. */
export const rcuGfpNowait: Strategy = {
  name: "rcu-gfp-nowait",
  title: "RCU + GFP_NOWAIT page-table allocation",
  summary:
    "whole fault in rcu_read_lock(); tables allocated GFP_NOWAIT; on failure unlock, reclaim, retry",
  source: "Matthew Wilcox, LKML 2022-05-03/04; race: Michel Lespinasse, LKML 2022-05-04",
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
    "fork-vs-write-fault-stale-tlb": "violation:lost-write",
    "fork-vs-first-fault": "violation:anon-rmap-unreachable",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "violation:stale-pte",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "violation:store-into-detached-table",
    "mremap-vs-stale-tlb-store": "violation:lost-write",
    "store-at-target-vs-mremap": "violation:leak",
    "store-vs-mremap-pmd": "violation:stale-pte",
    "fault-vs-mremap-dontunmap": "violation:anon-rmap-unreachable",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    // The design says nothing of stacks: vma_lookup() finds no VMA below one.
    "stack-vs-stack-expansion": "violation:sigsegv",
    "stack-expansion-vs-fault": "violation:sigsegv",
    ...KHUGEPAGED_5_18_EXPECTED,
  },
  fault,
  ...WRITERS_RCU_FREEING_VMAS,
};
