/**
 * Strategy 3, the approach "agreed" in the seed mail: look the VMA up under RCU and
 * try to read-lock its own rwsem; if that fails, fall back to mmap_lock. The writer
 * takes mmap_write_lock() and the VMA's rwsem for writing around the teardown, and
 * frees the VMA after an RCU grace period. Written as the mail writes it:
 *
 *     rcu_read_lock();
 *     vma = vma_lookup();
 *     if (down_read_trylock(&vma->sem)) {
 *             rcu_read_unlock();
 *     } else {
 *             rcu_read_unlock();
 *             mmap_read_lock(mm);
 *             vma = vma_lookup();
 *             down_read(&vma->sem);
 *     }
 *
 *     mmap_write_lock();
 *     vma = vma_lookup();
 *     down_write(&vma->sem);
 *     ... tear down page tables ...
 *     up_write(&vma->sem);
 *     rcu_free(vma);
 *     mmap_write_unlock();
 *
 * Source: Matthew Wilcox, LKML, 2022-05-04, which ends "Or have I missed something
 * else?". Choices the mail leaves open, and what this module does:
 * - No VMA found (the mail dereferences NULL): leave RCU and take the mmap_lock path,
 *   which answers SIGSEGV.
 * - Page tables and the page are allocated with GFP_KERNEL "under the protection of
 *   the vma->sem", outside RCU, as the mail says.
 * - On the fallback path mmap_read_lock() is held until the fault ends, as today.
 * - "tear down page tables" is 5.18's order: take the VMA out of the tree, then
 *   `unmap_region()`. mmap() takes mmap_write_lock() only (a new VMA has no readers).
 * - Nothing re-checks, after `down_read_trylock()` succeeds, that the VMA is still in
 *   the tree: the mail does not, and that is what the explorer is asked about.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  down_read,
  down_read_trylock,
  down_write,
  type FaultCause,
  type FaultResult,
  handle_mm_fault,
  type Kernel,
  type Mm,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  rcu_read_lock,
  rcu_read_unlock,
  SPLIT_5_18,
  split_for_munmap,
  unmap_region,
  up_read,
  up_write,
  vm_area_free_rcu,
  vma_lookup,
  vma_mas_remove,
} from "../mm/mod.ts";
import {
  fork_under_mmap_lock,
  khugepaged_5_18,
  KHUGEPAGED_5_18_EXPECTED,
  madvise_dontneed_under_mmap_read_lock,
  mmap_under_mmap_lock,
  mremap_under_mmap_lock,
  SLEEPING_ALLOCATIONS,
} from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

function* fault(k: Kernel, mm: Mm, addr: number, cause?: FaultCause): Proc<FaultResult> {
  yield* rcu_read_lock(k);
  let vma = yield* vma_lookup(k, mm, addr);
  let mmapLocked = false;
  if (vma && (yield* down_read_trylock(k, vma.sem))) {
    yield* rcu_read_unlock(k);
  } else {
    yield* rcu_read_unlock(k);
    yield* mmap_read_lock(k, mm);
    mmapLocked = true;
    vma = yield* vma_lookup(k, mm, addr);
    if (vma) yield* down_read(k, vma.sem);
  }
  let result: FaultResult = "sigsegv";
  if (vma) {
    result = yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS, cause);
    yield* up_read(k, vma.sem);
  }
  if (mmapLocked) yield* mmap_read_unlock(k, mm);
  return result;
}

/**
 * The mail's munmap() without its locking: `down_write(&vma->sem)` of the VMA it
 * removes, the teardown, `rcu_free(vma)`, `mmap_lock` held for writing. Of a part of a
 * VMA the mail says nothing: 5.18's split (`SPLIT_5_18`) under `mmap_write_lock()`
 * alone, and the part split off is the VMA removed.
 */
function* do_munmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  const found = yield* vma_lookup(k, mm, start);
  if (!found) return;
  const vma = yield* split_for_munmap(k, mm, found, start, end, SPLIT_5_18);
  yield* down_write(k, vma.sem);
  const around = yield* vma_mas_remove(k, mm, vma);
  yield* unmap_region(k, mm, vma, around);
  yield* up_write(k, vma.sem);
  yield* vm_area_free_rcu(k, vma);
}

/** The mail's munmap(): `mmap_write_lock()` around `do_munmap()`. */
function* munmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* do_munmap(k, mm, start, end);
  yield* mmap_write_unlock(k, mm);
}

/** Strategy 3. */
export const vmaRwsem: Strategy = {
  name: "vma-rwsem",
  title: "Per-VMA rwsem, as agreed in the mail",
  summary:
    "vma_lookup() under RCU + down_read_trylock(&vma->sem), else mmap_read_lock(); writer down_write(&vma->sem)",
  source: 'Matthew Wilcox, LKML 2022-05-04 ("Or have I missed something else?")',
  expected: {
    "fault-vs-munmap": "violation:stale-pte",
    "fault-vs-munmap-neighbour": "violation:use-after-free",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "violation:anon-rmap-unreachable",
    "fault-vs-munmap-pte-present": "violation:stale-pte",
    "fault-vs-fault-same-page": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-below-stack": "violation:stale-pte",
    "fork-vs-stale-tlb-store": "safe",
    "fork-vs-write-fault": "safe",
    "fork-vs-write-fault-stale-tlb": "violation:lost-write",
    "fork-vs-first-fault": "violation:anon-rmap-unreachable",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "violation:stale-pte",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "violation:lost-write",
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
  // The mail says what munmap() takes; fork() it does not mention: 5.18's, under
  // mmap_write_lock() alone (it changes no VMA of the parent, only its page tables).
  fork: (k, mm) => fork_under_mmap_lock(k, mm),
  munmap,
  mmap: mmap_under_mmap_lock,
  madvise_dontneed: madvise_dontneed_under_mmap_read_lock,
  // Of mremap() the mail says nothing either: 5.18's, under mmap_write_lock() alone,
  // unmapping the old range as the mail's munmap() does.
  mremap: (k, mm, start, end, to, dontunmap) =>
    mremap_under_mmap_lock(k, mm, start, end, to, dontunmap, {
      hooks: { unmapOld: (s, e) => do_munmap(k, mm, s, e) },
    }),
  // The mail says nothing of khugepaged: 5.18's, which takes mmap_write_trylock().
  khugepaged: khugepaged_5_18,
};
