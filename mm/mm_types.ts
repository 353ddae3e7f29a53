/**
 * `struct mm_struct` and `struct vm_area_struct`, as far as the model needs them, and
 * the set-up that builds an address space before the CPUs start.
 *
 * The mm holds the page-table root, `mmap_lock`, the sequence count speculative faults
 * validate against, `page_table_lock`, and the VMA tree. A VMA holds its range and the
 * per-VMA lock of the seed mail (`vma->sem`), plus the two fields later per-VMA locking
 * added (`vm_lock_seq`, `detached`) for strategies that follow it.
 *
 * Follows: include/linux/mm_types.h, Linux 5.18 (`anon_vma`, as a flag); the per-VMA
 * lock fields follow include/linux/mm_types.h of Linux 6.4 (`vm_lock_seq`,
 * `mm_lock_seq`, `detached`) and `mmap_seq` follows Michel Lespinasse's speculative page
 * fault series (v2, 2022-01).
 * Left out: file mappings, anon_vma chains, flags other than "anonymous, writable",
 * VMA merging and splitting (scenarios map and unmap whole VMAs).
 *
 * @module
 */

import { hex, indexOf, isTable, LEVELS, makeTable, type Table, tableName } from "./pgtable.ts";
import type { Kernel } from "./kernel.ts";
import type { KObject } from "./slab.ts";
import { RwSem } from "./rwsem.ts";
import { SeqCount } from "./seqlock.ts";
import { SpinLock } from "./spinlock.ts";

/** A virtual memory area: [start, end), anonymous and writable. */
export interface Vma {
  readonly obj: KObject;
  readonly start: number;
  readonly end: number;
  /** The per-VMA read-write semaphore of the seed mail. */
  readonly sem: RwSem;
  /** Linux 6.4: equals `mm->mm_lock_seq` while the VMA is write-locked. */
  vm_lock_seq: number;
  /** Linux 6.4: set once the VMA is removed from the tree. */
  detached: boolean;
  /**
   * Whether `vma->anon_vma` is set: by the first fault that maps a page in the VMA
   * (`__anon_vma_prepare()`), or in set-up for a VMA with a prefaulted page. A fresh
   * VMA has none; the speculative series and 6.4's lock_vma_under_rcu() then fall back
   * to mmap_lock. (The anon_vma itself, its chain and its lock are not modelled.)
   */
  anon_vma: boolean;
}

/** An address space. */
export interface Mm {
  readonly obj: KObject;
  readonly pgd: Table;
  readonly mmap_lock: RwSem;
  /** Odd while mmap_write_lock() is held (speculative page faults, v2). */
  readonly mmap_seq: SeqCount;
  /** Linux 6.4: incremented by mmap_write_unlock(), ending every VMA write lock. */
  mm_lock_seq: number;
  readonly page_table_lock: SpinLock;
  /** The VMA tree (a maple tree in Linux 6.1+), sorted by address. */
  readonly vmas: Vma[];
}

/** The access to the VMA tree (`mm->mm_mt`). */
export const VMA_TREE = "mm_mt";

/** Builds an empty mm: a pgd and no VMAs. */
export function mm_alloc(k: Kernel): Mm {
  const obj = k.slab.create("mm", "mm");
  const pgd = makeTable(k.slab.create("pgd", "PGD"), "pgd", 0);
  return {
    obj,
    pgd,
    mmap_lock: new RwSem("mmap_lock", obj),
    mmap_seq: new SeqCount("mmap_seq", obj),
    mm_lock_seq: 0,
    page_table_lock: new SpinLock("page_table_lock", obj),
    vmas: [],
  };
}

/** Creates a VMA object (not yet in the tree). */
export function vm_area_alloc(k: Kernel, start: number, end: number): Vma {
  const obj = k.slab.create("vma", `VMA@${hex(start)}`);
  return {
    obj,
    start,
    end,
    sem: new RwSem("sem", obj),
    vm_lock_seq: -1,
    detached: false,
    anon_vma: false,
  };
}

/** Inserts `vma` into the tree, keeping it sorted. */
export function insertVma(mm: Mm, vma: Vma): void {
  const at = mm.vmas.findIndex((v) => v.start > vma.start);
  mm.vmas.splice(at < 0 ? mm.vmas.length : at, 0, vma);
}

/** The VMA containing `addr`, as the tree reports it (no access to the VMA itself). */
export function lookup(mm: Mm, addr: number): Vma | undefined {
  return mm.vmas.find((v) => v.start <= addr && addr < v.end);
}

/** Set-up only: maps [start, end) before the CPUs start. */
export function setupVma(k: Kernel, mm: Mm, start: number, end: number): Vma {
  const vma = vm_area_alloc(k, start, end);
  insertVma(mm, vma);
  return vma;
}

/**
 * Set-up only: faults `addr` in directly, building any missing tables; the VMA
 * covering `addr` gets its anon_vma, as the fault that mapped the page would have set.
 */
export function setupFault(k: Kernel, mm: Mm, addr: number): void {
  const vma = lookup(mm, addr);
  if (vma) vma.anon_vma = true;
  let table = mm.pgd;
  for (const level of LEVELS.slice(1)) {
    const i = indexOf(table.level, addr);
    let next = table.entries.get(i);
    if (!isTable(next)) {
      next = makeTable(k.slab.create(level, tableName(level, addr)), level, addr);
      table.entries.set(i, next);
    }
    table = next;
  }
  table.entries.set(indexOf("pte", addr), k.slab.create("page", `page@${hex(addr)}`));
}
