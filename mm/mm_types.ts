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
 * fault series (v2, 2022-01); `vm_sequence`, `vm_ref_count` and `mm_rb_lock` follow
 * Laurent Dufour's (v11, 2018-05: "[PATCH v11 09/26] mm: VMA sequence count", and
 * "mm: protect mm_rb tree with a rwlock", v10 17/25).
 * File VMAs are shared mappings that never fault (mm/address_space.ts).
 * Left out: private file mappings, the anon_vma objects themselves (names, see `anon_vma`),
 * flags other than "anonymous, writable", VMA merging and splitting (scenarios map and
 * unmap whole VMAs). Every mm created, the first and every fork's child, is recorded
 * with the kernel ({@linkcode mmsOf}), for the audit.
 *
 * @module
 */

import { hex, indexOf, isTable, LEVELS, makeTable, type Table, tableName } from "./pgtable.ts";
import type { Kernel } from "./kernel.ts";
import type { Contents, KObject } from "./slab.ts";
import { RwSem } from "./rwsem.ts";
import { SeqCount } from "./seqlock.ts";
import { SpinLock } from "./spinlock.ts";
import { page_add_new_anon_rmap } from "./page.ts";
import type { MapleTree } from "./maple_tree.ts";
import { mappingOf } from "./address_space.ts";

/**
 * A virtual memory area: [start, end), anonymous and writable. The bounds change only
 * when munmap() splits the VMA (`__split_vma()`, mmap.ts), as parts `vm_start` and
 * `vm_end` of its object.
 */
export interface Vma {
  readonly obj: KObject;
  start: number;
  end: number;
  /** The per-VMA read-write semaphore of the seed mail. */
  readonly sem: RwSem;
  /** Linux 6.4: equals `mm->mm_lock_seq` while the VMA is write-locked. */
  vm_lock_seq: number;
  /**
   * Linux 6.4: set once the VMA is removed from the tree. It also stands for Dufour's
   * `RB_CLEAR_NODE(&vma->vm_rb)` after `vma_rb_erase()`, which his `vma_has_changed()`
   * tests with `RB_EMPTY_NODE()`.
   */
  detached: boolean;
  /**
   * Dufour's SPF: odd while `vm_write_begin()`/`vm_write_end()` bracket a change of the
   * VMA, `unmap_page_range()` included.
   */
  readonly vm_sequence: SeqCount;
  /**
   * Dufour's SPF: `atomic_t vm_ref_count`, 1 for the tree's reference (`INIT_VMA()`),
   * taken by `get_vma()`, dropped by `put_vma()`, which frees the VMA at 0.
   */
  vm_ref_count: number;
  /**
   * `vma->anon_vma`, by name, once set: by the first fault that maps a page in the VMA
   * (`__anon_vma_prepare()`), in set-up for a VMA with a prefaulted page, or by fork
   * for the child's copy (`anon_vma_fork()`, fork.ts). A fresh VMA has none; the
   * speculative series and 6.4's lock_vma_under_rcu() then fall back to mmap_lock.
   * (The anon_vma is a name: its own lifetime, its lock and its interval tree are not
   * modelled.)
   */
  anon_vma: string | undefined;
  /**
   * The anon_vmas the VMA is linked to by its `anon_vma_chain`, its own last: the
   * parent's chain and a new anon_vma for a fork's child (`anon_vma_clone()`). An rmap
   * walk from a page's `page->mapping` reaches exactly the VMAs whose chain holds it.
   */
  readonly avc: string[];
  /**
   * `VM_GROWSDOWN`: a stack, which a fault below it grows down (`expand_stack()`,
   * stack.ts), under `mmap_read_lock()` before Linux 6.5, so munmap() of the VMA below
   * it keeps `mmap_lock` for writing (5.18's `detach_vmas_to_be_unmapped()`). Set in
   * set-up only (`vm_flags` never change).
   */
  readonly growsdown: boolean;
  /**
   * `vma->vm_file`, by name: the file a MAP_SHARED file VMA maps from offset 0, whose
   * `struct address_space` (mm/address_space.ts) lists the VMA in its `i_mmap`; undefined
   * for an anonymous VMA. Set in set-up only.
   */
  readonly file: string | undefined;
}

/** An address space. */
export interface Mm {
  readonly obj: KObject;
  /**
   * What the names of its objects begin with: nothing for the process, `"child "` for
   * the copy fork makes (`child PUD@0x0`, `child VMA@0x3fe00000`), so a trace tells
   * the two apart.
   */
  readonly prefix: string;
  readonly pgd: Table;
  readonly mmap_lock: RwSem;
  /** Odd while mmap_write_lock() is held (speculative page faults, v2). */
  readonly mmap_seq: SeqCount;
  /** Linux 6.4: incremented by mmap_write_unlock(), ending every VMA write lock. */
  mm_lock_seq: number;
  readonly page_table_lock: SpinLock;
  /** Dufour's SPF: `rwlock_t mm_rb_lock`, modelled as a read-write semaphore. */
  readonly mm_rb_lock: RwSem;
  /** The VMAs of the tree, sorted by address: what a writer changes. */
  readonly vmas: Vma[];
  /**
   * The tree's nodes, for a strategy on Linux 6.3+'s maple tree in RCU mode
   * (maple_tree.ts), set in set-up; undefined for 5.18's rbtree, whose nodes live in
   * the VMAs, and for a fork's child (built by `dup_mmap()` before anyone walks it).
   */
  mt: MapleTree | undefined;
  /**
   * Each anon_vma's `rwsem` (`anon_vma_lock_write()`), by anon_vma name, made when
   * first taken: the lock lives here because the anon_vma's own lifetime is not
   * modelled.
   */
  readonly anon_vma_locks: Map<string, RwSem>;
}

/** The access to the VMA tree (`mm->mm_mt`). */
export const VMA_TREE = "mm_mt";

const mms = new WeakMap<Kernel, Mm[]>();

/** Every mm of an execution, in the order they were created: the process, then its children. */
export function mmsOf(k: Kernel): readonly Mm[] {
  return mms.get(k) ?? [];
}

/** Builds an empty mm: a pgd and no VMAs; its objects' names begin with `prefix`. */
export function mm_alloc(k: Kernel, prefix = ""): Mm {
  const obj = k.slab.create("mm", `${prefix}mm`);
  const pgd = makeTable(k, k.slab.create("pgd", `${prefix}PGD`), "pgd", 0);
  const mm: Mm = {
    obj,
    prefix,
    pgd,
    mmap_lock: new RwSem("mmap_lock", obj),
    mmap_seq: new SeqCount("mmap_seq", obj),
    mm_lock_seq: 0,
    page_table_lock: new SpinLock("page_table_lock", obj),
    mm_rb_lock: new RwSem("mm_rb_lock", obj),
    vmas: [],
    mt: undefined,
    anon_vma_locks: new Map(),
  };
  mms.set(k, [...mmsOf(k), mm]);
  obj.contents = fields({
    mm_lock_seq: () => String(mm.mm_lock_seq),
    [VMA_TREE]: () => mm.mt?.root.obj.name ?? mm.vmas.map((v) => v.obj.name).join(","),
  });
  return mm;
}

/**
 * Creates a VMA object (not yet in the tree), a stack if `growsdown`, its name
 * beginning with `prefix` (its mm's).
 */
export function vm_area_alloc(
  k: Kernel,
  start: number,
  end: number,
  growsdown = false,
  prefix = "",
  file?: string,
): Vma {
  const obj = k.slab.create("vma", `${prefix}VMA@${hex(start)}`);
  const vma: Vma = {
    obj,
    start,
    end,
    sem: new RwSem("sem", obj),
    vm_lock_seq: -1,
    detached: false,
    vm_sequence: new SeqCount("vm_sequence", obj),
    vm_ref_count: 1,
    anon_vma: undefined,
    avc: [],
    growsdown,
    file,
  };
  const flags = `VM_READ|VM_WRITE${growsdown ? "|VM_GROWSDOWN" : ""}${file ? "|VM_SHARED" : ""}`;
  obj.contents = fields({
    // Every VMA of the model is writable, anonymous or a shared file mapping: vm_flags
    // never changes.
    vm_start: () => hex(vma.start),
    vm_end: () => hex(vma.end),
    vm_flags: () => flags,
    vm_file: () => file ?? "none",
    vm_lock_seq: () => String(vma.vm_lock_seq),
    detached: () => String(vma.detached),
    anon_vma: () => vma.anon_vma ?? "none",
    vm_ref_count: () => String(vma.vm_ref_count),
  });
  return vma;
}

/** The contents of an object whose parts are named fields. */
function fields(values: Readonly<Record<string, () => string>>): Contents {
  return { parts: () => Object.keys(values), value: (part) => values[part]?.() };
}

/**
 * Gives `vma` an anon_vma of its own, `anon_vma(VMA@0x0)`, last in its chain: what a
 * first fault's `__anon_vma_prepare()`, set-up's prefault and fork's `anon_vma_fork()`
 * do. The caller makes the access (inside a step that declares it, or in set-up).
 */
export function give_anon_vma(vma: Vma): void {
  vma.anon_vma = `anon_vma(${vma.obj.name})`;
  vma.avc.push(vma.anon_vma);
}

/** `anon_vma->rwsem` of the anon_vma named `anon_vma`, in `mm`. */
export function anon_vma_rwsem(mm: Mm, anon_vma: string): RwSem {
  let sem = mm.anon_vma_locks.get(anon_vma);
  if (!sem) mm.anon_vma_locks.set(anon_vma, sem = new RwSem(`${anon_vma}->rwsem`, mm.obj));
  return sem;
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

/**
 * Set-up only: maps [start, end) before the CPUs start, a stack if `growsdown`, a
 * shared mapping of `file` if given, listed in the file's `i_mmap`.
 */
export function setupVma(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  growsdown = false,
  file?: string,
): Vma {
  const vma = vm_area_alloc(k, start, end, growsdown, "", file);
  insertVma(mm, vma);
  if (file) mappingOf(k, file).i_mmap.push(vma);
  return vma;
}

/** Set-up only: builds the tables down to the PTE table for `addr`, and returns it. */
function setupTables(k: Kernel, mm: Mm, addr: number): Table {
  let table = mm.pgd;
  for (const level of LEVELS.slice(1)) {
    const i = indexOf(table.level, addr);
    let next = table.entries.get(i);
    if (!isTable(next)) {
      next = makeTable(k, k.slab.create(level, tableName(level, addr)), level, addr);
      table.entries.set(i, next);
    }
    table = next;
  }
  return table;
}

/**
 * Set-up only: the empty PTE table at `addr` of a file VMA whose small pages
 * `collapse_file()` has replaced by a huge page and unmapped (`try_to_unmap()`),
 * leaving their table for `retract_page_tables()` (mm/khugepaged.ts).
 */
export function setupEmptyPteTable(k: Kernel, mm: Mm, addr: number): void {
  setupTables(k, mm, addr);
}

/**
 * Set-up only: faults `addr` in directly, building any missing tables; the VMA
 * covering `addr` gets its anon_vma, as the fault that mapped the page would have set.
 */
export function setupFault(k: Kernel, mm: Mm, addr: number): void {
  const vma = lookup(mm, addr);
  if (vma && !vma.anon_vma) give_anon_vma(vma);
  const table = setupTables(k, mm, addr);
  const page = k.slab.create("page", `page@${hex(addr)}`);
  page_add_new_anon_rmap(k, page, vma?.anon_vma);
  table.entries.set(indexOf("pte", addr), page);
}
