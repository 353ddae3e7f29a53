/**
 * madvise(MADV_DONTNEED) of anonymous memory: zap the PTEs of a range and free its
 * pages, keeping the VMA and every page table. The next touch faults a zeroed page
 * in.
 *
 * `do_madvise()` takes `mmap_read_lock()` for MADV_DONTNEED (`madvise_need_mmap_write()`
 * is 0 for it) in 5.18, 6.4 and 6.6 alike; the lock is the strategies' (it is the same
 * in every one, `madvise_dontneed_under_mmap_read_lock()` in strategies/mmap_lock.ts).
 * `madvise_walk_vmas()` finds the VMA (`find_vma_prev()`), and
 * `madvise_dontneed_single_vma()` zaps the part of the range inside it with
 * `zap_page_range_single()` (6.3 on; 5.18's `zap_page_range()`): `tlb_gather_mmu()`,
 * `unmap_single_vma()` → `unmap_page_range()`, `tlb_finish_mmu()`. Page tables are
 * not freed, so a fault beside it never finds a table gone; what it must get right is
 * the TLB flush between clearing a PTE and freeing its page (mmu_gather.ts), since
 * another thread may still be storing through its translation.
 *
 * Follows: mm/madvise.c (`do_madvise()`, `madvise_walk_vmas()`,
 * `madvise_dontneed_single_vma()`), mm/memory.c (`zap_page_range_single()`), Linux 5.18,
 * 6.4 and 6.6. Left out: `lru_add_drain()`, the mmu notifiers, `update_hiwater_rss()`,
 * userfaultfd's `madvise_dontneed_free_valid_vma()` checks (no VMA here is special), a
 * range across several VMAs or holes (`-ENOMEM` is returned only for a range in no
 * VMA).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import type { Kernel } from "./kernel.ts";
import { unmap_page_range } from "./memory.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { type MmuGather, tlb_finish_mmu, tlb_gather_mmu } from "./mmu_gather.ts";
import { vma_lookup } from "./vma.ts";

/**
 * How a teardown zaps [start, end) of `vma`: `unmap_page_range()`, or a series' wrapper
 * of it (Dufour's v11 brackets its body with `vm_write_begin()`/`vm_write_end()`).
 */
export type ZapRange = (
  k: Kernel,
  tlb: MmuGather,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
) => Proc;

/** `unmap_page_range()` as mm/memory.c has it up to 6.4. */
export const zapRange: ZapRange = (k, tlb, mm, _vma, start, end) =>
  unmap_page_range(k, tlb, mm, start, end);

/** `unmap_page_range()` from 6.5 on, whose `pte_offset_map_lock()` may fail (pgtable_generic.ts). */
export const zapRange6_5: ZapRange = (k, tlb, mm, _vma, start, end) =>
  unmap_page_range(k, tlb, mm, start, end, "6.5");

/**
 * MADV_DONTNEED of [start, end), the caller holding `mmap_read_lock()`: false
 * (`-ENOMEM`) if no VMA contains `start`.
 */
export function* madvise_dontneed(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  zap: ZapRange = zapRange,
): Proc<boolean> {
  // find_vma_prev(): "Note that RCU lock is missing here since the external
  // mmap_lock() is used instead" (mm/mmap.c, 6.4).
  const vma = yield* vma_lookup(k, mm, start, "find_vma_prev", "mmap_lock");
  if (!vma) return false;
  // madvise_dontneed_single_vma() → zap_page_range_single(vma, start, end - start, NULL):
  // the VMA's bounds are stable under mmap_read_lock().
  const tlb = tlb_gather_mmu(mm);
  yield* zap(k, tlb, mm, vma, start, Math.min(end, vma.end));
  yield* tlb_finish_mmu(k, tlb);
  return true;
}
