/**
 * fork()'s copy of an address space: `dup_mmap()` copies each VMA of the parent into a
 * new mm, links the copy to the parent's anon_vmas (`anon_vma_fork()`), and copies the
 * page tables (`copy_page_range()`), write-protecting every anonymous page in parent
 * and child alike (`copy_present_pte()`) so that the first write on either side copies
 * it (`do_wp_page()`, memory.ts). Only after every VMA is copied does
 * `flush_tlb_mm(oldmm)` drop the parent's CPUs' writable translations of the pages now
 * shared: until then a CPU of the parent can still write through one (tlb.ts).
 *
 * The caller holds `mmap_lock` of the parent for writing, as `dup_mmap()` takes it
 * (`mmap_write_lock_killable(oldmm)`) and drops it after the flush; the locking is the
 * strategies' (`fork` in strategies/strategy.ts), and so is what else a version locks:
 * Linux 6.6 write-locks each parent VMA before copying it ({@linkcode DupMmapHooks}).
 *
 * Follows: kernel/fork.c `dup_mmap()` (`mmap_write_unlock(mm); flush_tlb_mm(oldmm);
 * mmap_write_unlock(oldmm);`), mm/rmap.c `anon_vma_fork()` / `anon_vma_clone()`,
 * mm/memory.c `copy_page_range()` (`if (!(src_vma->vm_flags & (VM_HUGETLB |
 * VM_PFNMAP | VM_MIXEDMAP)) && !src_vma->anon_vma) return 0;`), `copy_pte_range()` (the
 * child's PTE table by `pte_alloc_map_lock()`, then the parent's PTE lock,
 * `spin_lock_nested()`), `copy_present_pte()` (`if (is_cow_mapping(vm_flags) &&
 * pte_write(pte)) { ptep_set_wrprotect(src_mm, addr, src_pte); pte = pte_wrprotect(pte); }`),
 * Linux 6.4 and 6.6 (read from 6.4.0 and 6.6.0 trees; they agree on all of it).
 * Left out: `mmap_write_lock_nested(mm)` on the child (no one else can see it yet),
 * `write_protect_seq` and the MMU notifiers (no GUP-fast or secondary MMU runs here),
 * VM_DONTCOPY and VM_WIPEONFORK, file VMAs, the child's own tasks (the child never
 * runs), and `anon_vma_fork()`'s reuse of an existing anon_vma. One step copies the
 * PTEs of one PTE table, under both PTE locks, as `copy_pte_range()`'s loop does.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { GFP_PGTABLE_USER } from "./page_alloc.ts";
import {
  give_anon_vma,
  insertVma,
  type Mm,
  mm_alloc,
  vm_area_alloc,
  type Vma,
  VMA_TREE,
} from "./mm_types.ts";
import {
  entriesIn,
  hex,
  isTable,
  pte_write,
  type Table,
  tableSize,
  writeEntry,
} from "./pgtable.ts";
import { pXd_alloc } from "./memory.ts";
import { spin_lock, spin_unlock } from "./spinlock.ts";
import { pte_lockptr } from "./ptlock.ts";
import { get_page } from "./page.ts";
import { flush_tlb, flushAccesses } from "./tlb.ts";
import { mmap_assert_write_locked } from "./mmap_lock.ts";
import type { KObject } from "./slab.ts";

/** What a version of `dup_mmap()` does besides the copy. */
export interface DupMmapHooks {
  /**
   * Called for each parent VMA before it is copied: Linux 6.6's `vma_start_write(mpnt)`
   * at the top of the loop (fb49c455323f, "fork: lock VMAs of the parent process when
   * forking", July 2023, in 6.5 and 6.4.3). Linux 6.4.0 has none.
   */
  readonly beforeCopy?: (vma: Vma) => Proc;
}

/**
 * `dup_mmap()`: the child's mm, a copy of `oldmm`'s VMAs and page tables, with the
 * parent's TLBs flushed at the end. The caller holds `oldmm`'s `mmap_lock` for writing.
 */
export function* dup_mmap(k: Kernel, oldmm: Mm, hooks: DupMmapHooks = {}): Proc<Mm> {
  const mm = yield* step(k, "dup_mm", "allocate the child's mm", [], () => {
    const child = mm_alloc(k, "child ");
    k.rt.note(child.obj.name);
    return child;
  });
  // for_each_vma(old_vmi, mpnt): the tree cannot change under mmap_write_lock(oldmm).
  const vmas = yield* step(k, "for_each_vma", `${oldmm.obj.name}->mm_mt`, [
    { obj: oldmm.obj.name, part: VMA_TREE, kind: "read" },
  ], () => {
    k.slab.read(oldmm.obj, VMA_TREE);
    mmap_assert_write_locked(k, oldmm, "dup_mmap");
    return [...oldmm.vmas];
  });
  for (const mpnt of vmas) {
    if (hooks.beforeCopy) yield* hooks.beforeCopy(mpnt);
    const tmp = yield* vm_area_dup(k, mm, mpnt);
    yield* anon_vma_fork(k, tmp, mpnt);
    yield* copy_page_range(k, mm, oldmm, mpnt);
  }
  yield* step(k, "flush_tlb_mm", `${oldmm.obj.name}: every CPU`, flushAccesses(k), () => {
    flush_tlb(k, oldmm);
  });
  return mm;
}

/** `vm_area_dup()` + `vma_iter_bulk_store()`: the child's copy of `mpnt`, in its tree. */
function* vm_area_dup(k: Kernel, mm: Mm, mpnt: Vma): Proc<Vma> {
  return yield* step(k, "vm_area_dup", mpnt.obj.name, [
    { obj: mpnt.obj.name, part: "vm_flags", kind: "read" },
  ], () => {
    k.slab.read(mpnt.obj, "vm_flags");
    const tmp = vm_area_alloc(k, mpnt.start, mpnt.end, mpnt.growsdown, mm.prefix);
    insertVma(mm, tmp);
    k.rt.note(tmp.obj.name);
    return tmp;
  });
}

/**
 * `anon_vma_fork(tmp, mpnt)`: `if (!pvma->anon_vma) return 0;` (the child's first
 * fault will make one); else `anon_vma_clone()` links the child to every anon_vma of
 * the parent's chain, and the child gets an anon_vma of its own, last in its chain.
 */
function* anon_vma_fork(k: Kernel, vma: Vma, pvma: Vma): Proc {
  yield* step(k, "anon_vma_fork", `${pvma.obj.name}->anon_vma`, [
    { obj: pvma.obj.name, part: "anon_vma", kind: "read" },
  ], () => {
    k.slab.read(pvma.obj, "anon_vma");
    if (!pvma.anon_vma) {
      k.rt.note("none: the child gets none");
      return;
    }
    vma.avc.push(...pvma.avc);
    give_anon_vma(vma);
    k.rt.note(vma.avc.join(", "));
  });
}

/**
 * `copy_page_range(dst_vma, src_vma)` into `mm`: nothing for a VMA without an
 * anon_vma (it has no anonymous page: "Don't copy ptes where a page fault will fill
 * them correctly"), else the page tables of [start, end), level by level (the child's
 * VMA has the same range, so only `src_vma` is needed).
 */
function* copy_page_range(k: Kernel, mm: Mm, oldmm: Mm, pvma: Vma): Proc {
  const anon = yield* step(k, "copy_page_range", `${pvma.obj.name}->anon_vma`, [
    { obj: pvma.obj.name, part: "anon_vma", kind: "read" },
  ], () => {
    k.slab.read(pvma.obj, "anon_vma");
    // is_cow_mapping(): private and writable, so the copy write-protects.
    mmap_assert_write_locked(k, oldmm, "copy_page_range");
    return pvma.anon_vma;
  });
  if (!anon) return;
  yield* copy_range(k, mm, oldmm, mm.pgd, oldmm.pgd, pvma.start, pvma.end);
}

/**
 * `copy_p4d_range()` down to `copy_pmd_range()` (one function, one pattern): for each
 * present entry of `src` in [addr, end), the child's table below `dst` (`pXd_alloc()`
 * on the child's mm), then the level below; at the PMD level, `copy_pte_range()`.
 */
function* copy_range(
  k: Kernel,
  mm: Mm,
  oldmm: Mm,
  dst: Table,
  src: Table,
  addr: number,
  end: number,
): Proc {
  const present = yield* step(k, `copy_${src.level}_range`, src.obj.name, [
    { obj: src.obj.name, kind: "read" },
  ], () => entriesIn(k, src, addr, end));
  for (const { addr: at, entry } of present) {
    if (!isTable(entry)) continue;
    const child = yield* pXd_alloc(k, mm, dst, at, GFP_PGTABLE_USER);
    if (!child) throw new Error("a GFP_KERNEL page-table allocation failed");
    const next = Math.min(end, entry.base + tableSize(entry.level));
    if (entry.level === "pte") yield* copy_pte_range(k, mm, oldmm, child, entry, at, next);
    else yield* copy_range(k, mm, oldmm, child, entry, at, next);
  }
}

/**
 * `copy_pte_range()`: under the child's PTE lock and the parent's, `copy_present_pte()`
 * for each present PTE: `get_page()` for the child's mapping (`page_try_dup_anon_rmap()`
 * in 6.4), write-protect the parent's PTE if it was writable, and set the child's,
 * read-only.
 */
function* copy_pte_range(
  k: Kernel,
  mm: Mm,
  oldmm: Mm,
  dst: Table,
  src: Table,
  addr: number,
  end: number,
): Proc {
  const dst_ptl = pte_lockptr(k, mm, dst);
  const src_ptl = pte_lockptr(k, oldmm, src);
  yield* spin_lock(k, dst_ptl);
  yield* spin_lock(k, src_ptl);
  // Held under src_ptl from here: the entries cannot change, so they are read now to
  // declare the step.
  const pages = [...src.entries].filter(([, e]) => !isTable(e)).map(([, e]) => e as KObject);
  yield* step(k, "copy_present_pte", `${src.obj.name} → ${dst.obj.name}`, [
    { obj: src.obj.name, kind: "write" },
    { obj: dst.obj.name, kind: "write" },
    ...pages.map((page) => ({ obj: page.name, part: "_refcount", kind: "write" as const })),
  ], () => {
    const copied: string[] = [];
    for (const { addr: at, entry } of entriesIn(k, src, addr, end)) {
      if (isTable(entry)) continue;
      get_page(k, entry);
      if (pte_write(src, at)) writeEntry(k, src, at, entry, `${hex(at)} wrprotect`, false);
      writeEntry(k, dst, at, entry, `${hex(at)} = ${entry.name} (read-only)`, false);
      copied.push(`${hex(at)} ${entry.name}`);
    }
    k.rt.note(copied.length ? copied.join(", ") : "no PTE");
  });
  yield* spin_unlock(k, src_ptl);
  yield* spin_unlock(k, dst_ptl);
}
