/**
 * munmap() and mmap() of anonymous VMAs, as mm/mmap.c sequences them, without
 * their locking: `__do_munmap()` finds the VMA, splits off the part to unmap
 * (`__split_vma()`) when the range covers only part of it, takes it out of the tree,
 * zaps its PTEs and frees its page tables (`unmap_region()`), then frees the VMA;
 * `mmap_region()` puts a new VMA in the tree. Strategies wrap these in the locks they
 * choose.
 *
 * A split makes a new VMA (`vm_area_dup()`: a copy, sharing the anon_vma chain,
 * `anon_vma_clone()`), changes the old one's bounds and stores the new one in the
 * tree. Which half is the new one differs by version (`SplitPolicy`): 5.18's
 * `__do_munmap()` splits at the start with `new_below = 0` and at the end with 1;
 * 6.4's `do_vmi_align_munmap()` uses 0 at both; 6.6's uses 1 at the start and 0 at
 * the end. What a version locks around it is the policy's too: 6.4's `vma_prepare()`
 * write-locks the old VMA only ("vp->insert is always a newly created VMA, no need
 * for locking"); 6.6's `__split_vma()` write-locks both (`vma_start_write(vma);
 * vma_start_write(new);`, "mm: always lock new vma before inserting into vma tree",
 * 6.6-rc1).
 *
 * Follows: mm/mmap.c (`__do_munmap()`, `__split_vma()`, `__vma_adjust()`,
 * `unmap_region()`, `free_pgtables()`, `mmap_region()`), Linux 5.18; 6.4.0's and
 * 6.6.0's `do_vmi_align_munmap()`, `__split_vma()`, `vma_prepare()`,
 * `vma_complete()`. The locking, `__do_munmap()`'s `mmap_write_downgrade()` before
 * `unmap_region()` included, is the strategies' (`strategies/mmap_lock.ts`).
 * Modelled loosely: the split's change of the old VMA's bounds and the tree store of
 * the new VMA are one step (in the kernel the bounds change first, under the old
 * VMA's write lock from 6.4 on, and `vma_complete()` stores the new one). Left out:
 * merging, accounting, file mappings, `vm_pgoff`, a range across several VMAs.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { insertVma, type Mm, vm_area_alloc, type Vma } from "./mm_types.ts";
import { tree_store } from "./maple_tree.ts";
import { mmap_assert_write_locked } from "./mmap_lock.ts";
import { hex } from "./pgtable.ts";
import { free_pgd_range, unmap_page_range } from "./memory.ts";
import { tlb_finish_mmu, tlb_gather_mmu } from "./mmu_gather.ts";
import type { Neighbours } from "./vma.ts";
import { unlink_file_vma } from "./address_space.ts";
import type { PteMapVersion } from "./pgtable_generic.ts";

/** FIRST_USER_ADDRESS on x86-64. */
export const FIRST_USER_ADDRESS = 0;
/** USER_PGTABLES_CEILING: 0 stands for the top of the address space. */
export const USER_PGTABLES_CEILING = 0;

/**
 * `unmap_region()`: zap the VMA's PTEs (each PTE table mapped by `pteMap`'s
 * `pte_offset_map_lock()`, pgtable_generic.ts), take a file VMA out of its file's
 * `i_mmap` (`free_pgtables()` → `unlink_file_vma()`), free the page tables no neighbour
 * needs (`free_pgtables()` with floor = prev's end, ceiling = next's start), and finish
 * the gather (pages now, tables after a grace period).
 */
export function* unmap_region(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  around: Neighbours,
  pteMap: PteMapVersion = "5.18",
): Proc {
  const tlb = tlb_gather_mmu(mm);
  yield* unmap_page_range(k, tlb, mm, vma.start, vma.end, pteMap);
  yield* unlink_file_vma(k, vma);
  yield* free_pgd_range(
    k,
    tlb,
    mm,
    vma.start,
    vma.end,
    around.prev ? around.prev.end : FIRST_USER_ADDRESS,
    around.next ? around.next.start : USER_PGTABLES_CEILING,
  );
  yield* tlb_finish_mmu(k, tlb);
}

/**
 * `vm_area_dup()`: `*new = *vma` with a lock of its own (6.4 on: `vm_lock_seq = -1`),
 * for [start, end), then `anon_vma_clone(new, vma)`: the same anon_vma, the same chain.
 * The copy is in no tree yet.
 */
export function* vm_area_dup(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): Proc<Vma> {
  return yield* step(k, "vm_area_dup", vma.obj.name, [
    { obj: vma.obj.name, kind: "read" },
  ], () => {
    k.slab.read(vma.obj, undefined, `*${vma.obj.name}`);
    const copy = vm_area_alloc(k, start, end, vma.growsdown, mm.prefix, vma.file);
    copy.anon_vma = vma.anon_vma;
    copy.avc.push(...vma.avc);
    return copy;
  });
}

/** How a version splits a VMA for munmap() (see the module's comment). */
export interface SplitPolicy {
  /**
   * `new_below` of the split at the range's start: true makes the new VMA the part
   * below `start`, false the part from `start` on.
   */
  readonly belowAtStart: boolean;
  /** `new_below` of the split at the range's end. */
  readonly belowAtEnd: boolean;
  /** What the version does to the old VMA and the new one before the split is stored. */
  readonly prepare?: (vma: Vma, fresh: Vma) => Proc;
  /** What it does after. */
  readonly complete?: (vma: Vma, fresh: Vma) => Proc;
}

/** 5.18's `__do_munmap()` (4.17's too): nothing locked beyond `mmap_lock`. */
export const SPLIT_5_18: SplitPolicy = { belowAtStart: false, belowAtEnd: true };

/**
 * `__split_vma(vma, addr, new_below)`: a new VMA for the part of `vma` below `addr`
 * (`new_below`) or from it on, in the tree, and `vma` shrunk to the rest. Returns the
 * new VMA. The caller holds `mmap_lock` for writing.
 */
export function* __split_vma(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  new_below: boolean,
  policy: SplitPolicy,
): Proc<Vma> {
  const [start, end] = new_below ? [vma.start, addr] : [addr, vma.end];
  const fresh = yield* vm_area_dup(k, mm, vma, start, end);
  if (policy.prepare) yield* policy.prepare(vma, fresh);
  const bound = new_below ? "vm_start" : "vm_end";
  yield* tree_store(
    k,
    mm,
    "__split_vma",
    `${vma.obj.name}->${bound} = ${hex(addr)}; store ${fresh.obj.name}`,
    [{ obj: vma.obj.name, part: bound, kind: "write" }],
    () => mmap_assert_write_locked(k, mm, "__split_vma"),
    () => {
      k.slab.write(vma.obj, bound);
      if (new_below) vma.start = addr;
      else vma.end = addr;
      // vma_complete(): "split_vma has split insert from vma, and needs us to insert it".
      insertVma(mm, fresh);
    },
  );
  if (policy.complete) yield* policy.complete(vma, fresh);
  return fresh;
}

/**
 * The splits `__do_munmap()` / `do_vmi_align_munmap()` make before detaching: the VMA
 * that is exactly [start, end) of `vma`, `vma` itself if the range is the whole of it.
 */
export function* split_for_munmap(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
  policy: SplitPolicy,
): Proc<Vma> {
  let target = vma;
  if (start > target.start) {
    const fresh = yield* __split_vma(k, mm, target, start, policy.belowAtStart, policy);
    if (!policy.belowAtStart) target = fresh;
  }
  if (end < target.end) {
    const fresh = yield* __split_vma(k, mm, target, end, policy.belowAtEnd, policy);
    if (policy.belowAtEnd) target = fresh;
  }
  return target;
}
