/**
 * mremap() of a whole anonymous VMA to a hole (`MREMAP_MAYMOVE | MREMAP_FIXED`), as
 * mm/mremap.c `move_vma()` sequences it, without the syscall's locking: copy the VMA to
 * the new range (`copy_vma()`), move its page tables there (`move_page_tables()`), then
 * unmap the old range, or, with `MREMAP_DONTUNMAP`, keep the old VMA, empty, and cut
 * it from its anon_vma (`unlink_anon_vmas()`).
 *
 * `move_page_tables()` goes a PMD extent at a time: where the extent is a whole
 * PMD-aligned 2 MiB at both ends, `move_normal_pmd()` moves the PTE table itself from
 * the old PMD entry to the new one under `pmd_lock()`, flushing the old range from
 * every TLB before it unlocks; otherwise `move_ptes()` moves each PTE under both PTE
 * locks, flushing before it unlocks ("make sure to flush TLB before we drop the PTL
 * for the PTE", commit eb66ae030829, 6.1 on).
 *
 * What each version locks is the caller's (`MremapHooks`): 6.4 and 6.6
 * `vma_start_write(vma)` at the top of `move_vma()` and write-lock the copy before it
 * is in the tree (6.4 in `copy_vma()`, 6.6 in `vma_link()`); Dufour's SPF v11 brackets
 * both with `vm_raw_write_begin()` / `vm_raw_write_end()` ("mm: protect mremap()
 * against SPF hanlder", read in its v7 and v12 postings); 5.18 has only `mmap_lock`.
 *
 * A shared file VMA moves the same way (the copy joins the file's `i_mmap`, and the rmap
 * locks guard the PMD move against khugepaged's `retract_page_tables()`, which finds
 * the table through the file): scenarios move one only whole and PMD-aligned, so its
 * table moves by `move_normal_pmd()`, never by `move_ptes()`.
 *
 * Follows: mm/mremap.c (`move_vma()`, `move_page_tables()`, `get_old_pmd()`,
 * `alloc_new_pmd()`, `move_normal_pmd()`, `move_ptes()`), mm/mmap.c (`copy_vma()`,
 * `vma_link()`), mm/rmap.c (`unlink_anon_vmas()`), Linux 5.18, 6.4.0 and 6.6.0, which
 * agree in all of this but the locks. Left out: `mremap_to()`'s `do_munmap()` of the
 * target (scenarios move to a hole), growing or shrinking, `vma_merge()` with a
 * neighbour of the target (none is compatible), the anon_vma half of the rmap locks
 * (no anon rmap walker runs), the mmu notifiers, huge PMDs and PUDs, `move_ptes()`' error
 * path and its 6.6 `-EAGAIN` retry (no table is freed under it here), and the
 * accounting.
 *
 * @module
 */

import { type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { pXd_alloc } from "./memory.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { vm_area_dup } from "./mmap.ts";
import { mmap_assert_write_locked } from "./mmap_lock.ts";
import { GFP_PGTABLE_USER } from "./page_alloc.ts";
import {
  alignDown,
  entriesIn,
  entryAccess,
  entryName,
  entrySize,
  isTable,
  pte_write,
  readEntry,
  type Table,
  writeEntry,
} from "./pgtable.ts";
import type { KObject } from "./slab.ts";
import { pte_lockptr } from "./ptlock.ts";
import { spin_lock, spin_unlock } from "./spinlock.ts";
import { flush_tlb_range_step } from "./tlb.ts";
import { vma_link } from "./vma.ts";
import {
  i_mmap_lock_write,
  i_mmap_unlock_write,
  mappingOf,
  vma_link_file,
} from "./address_space.ts";

/** What a version adds to `move_vma()` (see the module's comment). */
export interface MremapHooks {
  /** Before `copy_vma()`: 6.4's and 6.6's `vma_start_write(vma)`. */
  readonly lockOld?: (vma: Vma) => Proc;
  /** The copy, before it is in the tree: 6.4's `vma_start_write(new_vma)`. */
  readonly lockNew?: (copy: Vma) => Proc;
  /** How the copy goes in the tree: `vma_link()`, or a series' wrapper of it. */
  readonly link?: (copy: Vma) => Proc;
  /** After `copy_vma()`, before the page tables move: Dufour's `vm_raw_write_begin(vma)`. */
  readonly beforeMove?: (vma: Vma, copy: Vma) => Proc;
  /** Once they have moved. */
  readonly afterMove?: (vma: Vma, copy: Vma) => Proc;
  /** The munmap() of the old range, `mmap_lock` held for writing, no downgrade. */
  readonly unmapOld: (start: number, end: number) => Proc<unknown>;
  /**
   * Jann Horn's fix for CVE-2024-50066 (October 2024, for 6.12 and stable: "mm/mremap: prevent
   * racing change of old pmd type"): `move_page_tables()` holds the rmap locks from
   * before it reads the old PMD entry to after it moved the table, not only around
   * `move_normal_pmd()`. No version the strategies follow has it.
   */
  readonly rmapLocksAcrossWalk?: boolean;
}

/** A move mremap() made: [from, from + len) went to [to, to + len). */
export interface Move {
  readonly mm: Mm;
  readonly from: number;
  readonly to: number;
  readonly len: number;
}

const moves = new WeakMap<Kernel, Move[]>();

/**
 * The moves of an execution, for the audit: a store made to the old range before the
 * move must be found at the new address (check_mm.ts). Audit-only state, which
 * nothing reads during a run.
 */
export function movesOf(k: Kernel): readonly Move[] {
  return moves.get(k) ?? [];
}

/**
 * `move_vma()` of the whole of `vma` to `new_addr`, the caller holding `mmap_lock` for
 * writing, with `MREMAP_DONTUNMAP` if `dontunmap`.
 */
export function* move_vma(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  new_addr: number,
  dontunmap: boolean,
  hooks: MremapHooks,
): Proc {
  const [old_addr, old_len] = [vma.start, vma.end - vma.start];
  moves.set(k, [...movesOf(k), { mm, from: old_addr, to: new_addr, len: old_len }]);
  if (hooks.lockOld) yield* hooks.lockOld(vma);
  const copy = yield* copy_vma(k, mm, vma, new_addr, hooks);
  if (hooks.beforeMove) yield* hooks.beforeMove(vma, copy);
  yield* move_page_tables(k, mm, vma, new_addr, old_len, hooks.rmapLocksAcrossWalk ?? false);
  if (hooks.afterMove) yield* hooks.afterMove(vma, copy);
  if (dontunmap) {
    // "anon_vma links of the old vma is no longer needed after its page table has been
    // moved": vm_flags_clear(vma, VM_LOCKED_MASK) (whose vma_start_write() finds the VMA
    // locked already, where a version locks it), then unlink_anon_vmas(vma).
    yield* unlink_anon_vmas(k, vma);
    return;
  }
  yield* hooks.unmapOld(old_addr, old_addr + old_len);
}

/**
 * `copy_vma()` with no merge: `vm_area_dup()` (the anon_vma chain cloned), then
 * `vma_link()`, with `hooks.lockNew` between.
 */
function* copy_vma(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  new_addr: number,
  hooks: MremapHooks,
): Proc<Vma> {
  const copy = yield* vm_area_dup(k, mm, vma, new_addr, new_addr + vma.end - vma.start);
  if (hooks.lockNew) yield* hooks.lockNew(copy);
  if (hooks.link) yield* hooks.link(copy);
  else yield* vma_link(k, mm, copy);
  yield* vma_link_file(k, copy);
  return copy;
}

/** `unlink_anon_vmas(vma)`: the VMA's anon_vma chain emptied, `vma->anon_vma = NULL`. */
function* unlink_anon_vmas(k: Kernel, vma: Vma): Proc {
  yield* step(k, "unlink_anon_vmas", `${vma.obj.name}->anon_vma = NULL`, [
    { obj: vma.obj.name, part: "anon_vma", kind: "write" },
  ], () => {
    k.slab.write(vma.obj, "anon_vma");
    vma.anon_vma = undefined;
    vma.avc.splice(0);
  });
}

/** The end of the PMD extent from `addr`: `pmd_addr_end()`. */
function pmdEnd(addr: number): number {
  return alignDown(addr, entrySize("pmd")) + entrySize("pmd");
}

/**
 * `move_page_tables()`: the PTEs of `vma`, [old_addr, old_addr + len), moved to
 * `new_addr`, a PMD extent at a time (`get_extent(NORMAL_PMD, ...)`). The rmap locks
 * (`take_rmap_locks()`: here a file VMA's `i_mmap_rwsem`, for writing) are taken
 * around `move_normal_pmd()` (`move_pgt_entry(NORMAL_PMD, ..., true)`), after the old
 * entry was read, or across the whole walk with the 2024 fix (`acrossWalk`).
 */
function* move_page_tables(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  new_addr: number,
  len: number,
  acrossWalk: boolean,
): Proc {
  let old_addr = vma.start;
  const old_end = old_addr + len;
  if (acrossWalk) yield* take_rmap_locks(k, vma);
  for (let extent = 0; old_addr < old_end; old_addr += extent, new_addr += extent) {
    extent = Math.min(pmdEnd(old_addr), old_end, old_addr + pmdEnd(new_addr) - new_addr) -
      old_addr;
    const old_pmd = yield* get_old_pmd(k, mm, old_addr);
    if (!old_pmd) continue;
    const new_pmd = yield* alloc_new_pmd(k, mm, new_addr);
    if (!new_pmd) break;
    // CONFIG_HAVE_MOVE_PMD (x86-64): "If the extent is PMD-sized, try to speed the move
    // by moving at the PMD level if possible."
    if (extent === entrySize("pmd")) {
      if (!acrossWalk) yield* take_rmap_locks(k, vma);
      const moved = yield* move_normal_pmd(k, mm, old_pmd, old_addr, new_pmd, new_addr);
      if (!acrossWalk) yield* drop_rmap_locks(k, vma);
      if (moved) continue;
    }
    const new_pte = yield* pXd_alloc(k, mm, new_pmd, new_addr, GFP_PGTABLE_USER);
    if (!new_pte) break;
    yield* move_ptes(k, mm, old_pmd, old_addr, old_addr + extent, new_pte, new_addr);
  }
  if (acrossWalk) yield* drop_rmap_locks(k, vma);
}

/**
 * `take_rmap_locks(vma)`: `i_mmap_lock_write()` of a file VMA's mapping. (Its
 * `anon_vma_lock_write()` is left out: no anon rmap walker runs.)
 */
function* take_rmap_locks(k: Kernel, vma: Vma): Proc {
  if (vma.file) yield* i_mmap_lock_write(k, mappingOf(k, vma.file));
}

/** `drop_rmap_locks(vma)`. */
function* drop_rmap_locks(k: Kernel, vma: Vma): Proc {
  if (vma.file) yield* i_mmap_unlock_write(k, mappingOf(k, vma.file));
}

/**
 * `get_old_pmd()`: the PMD table whose entry maps `addr`, if that entry holds a PTE
 * table (`if (pmd_none(*pmd)) return NULL;`), each level a load of its own.
 */
function* get_old_pmd(k: Kernel, mm: Mm, addr: number): Proc<Table | undefined> {
  let table = mm.pgd;
  for (;;) {
    const entry = yield* step(k, "get_old_pmd", entryName(table, addr), [
      entryAccess(table, addr, "read"),
    ], () => readEntry(k, table, addr));
    if (!isTable(entry)) return undefined;
    if (entry.level === "pte") return table;
    table = entry;
  }
}

/** `alloc_new_pmd()`: `p4d_alloc()`, `pud_alloc()`, `pmd_alloc()` for `addr`. */
function* alloc_new_pmd(k: Kernel, mm: Mm, addr: number): Proc<Table | null> {
  let table: Table | null = mm.pgd;
  for (let depth = 0; depth < 3 && table; depth++) {
    table = yield* pXd_alloc(k, mm, table, addr, GFP_PGTABLE_USER);
  }
  return table;
}

/**
 * `move_normal_pmd()`: moves the PTE table in `old_pmd`'s entry for `old_addr` to
 * `new_pmd`'s entry for `new_addr`, under `pmd_lock()` (here `page_table_lock`, as in
 * pmd_install(): spinlock.ts), flushing the old range before it unlocks. False if the
 * new entry is not empty (`WARN_ON_ONCE(!pmd_none(*new_pmd))`, read before the lock).
 */
function* move_normal_pmd(
  k: Kernel,
  mm: Mm,
  old_pmd: Table,
  old_addr: number,
  new_pmd: Table,
  new_addr: number,
): Proc<boolean> {
  const taken = yield* step(k, "move_normal_pmd", `${entryName(new_pmd, new_addr)} none?`, [
    entryAccess(new_pmd, new_addr, "read"),
  ], () => readEntry(k, new_pmd, new_addr) !== undefined);
  if (taken) return false;
  yield* spin_lock(k, mm.page_table_lock);
  yield* step(
    k,
    "move_normal_pmd",
    `${entryName(old_pmd, old_addr)} → ${entryName(new_pmd, new_addr)}`,
    [entryAccess(old_pmd, old_addr, "write"), entryAccess(new_pmd, new_addr, "write")],
    () => {
      mmap_assert_write_locked(k, mm, "move_normal_pmd");
      // pmd = *old_pmd; pmd_clear(old_pmd); pmd_populate(mm, new_pmd, pmd_pgtable(pmd));
      const pte = readEntry(k, old_pmd, old_addr);
      writeEntry(k, old_pmd, old_addr, undefined);
      if (!isTable(pte)) {
        // The entry get_old_pmd() found a table in is none now: pmd_pgtable() of it is
        // the page at physical address 0, which pmd_populate() installs as a PTE table.
        throw new Violation(
          "bad-pmd",
          `${k.where()} moves ${entryName(old_pmd, old_addr)}, which get_old_pmd() found ` +
            `holding a PTE table and is none now: pmd_populate(mm, new_pmd, ` +
            `pmd_pgtable(pmd)) makes ${entryName(new_pmd, new_addr)} map physical address 0 ` +
            `as a page table`,
        );
      }
      pte.base = alignDown(new_addr, entrySize("pmd"));
      writeEntry(k, new_pmd, new_addr, pte, `${entryName(new_pmd, new_addr)} = ${pte.obj.name}`);
    },
  );
  yield* flush_tlb_range_step(k, "flush_tlb_range", mm, old_addr, old_addr + entrySize("pmd"));
  yield* spin_unlock(k, mm.page_table_lock);
  return true;
}

/**
 * `move_ptes()`: each present PTE of [old_addr, old_end) moved to the same offset from
 * `new_addr` in `new_pte`, under the old table's PTE lock and the new one's, with
 * `flush_tlb_range()` of the old range before either is dropped (`force_flush`: some
 * PTE was present).
 */
function* move_ptes(
  k: Kernel,
  mm: Mm,
  old_pmd: Table,
  old_addr: number,
  old_end: number,
  new_pte: Table,
  new_addr: number,
): Proc {
  // old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl)
  const old_pte = yield* step(k, "move_ptes", entryName(old_pmd, old_addr), [
    entryAccess(old_pmd, old_addr, "read"),
  ], () => readEntry(k, old_pmd, old_addr));
  if (!isTable(old_pte)) return;
  const old_ptl = pte_lockptr(k, mm, old_pte);
  const new_ptl = pte_lockptr(k, mm, new_pte);
  yield* spin_lock(k, old_ptl);
  if (new_ptl !== old_ptl) yield* spin_lock(k, new_ptl);
  const moved = yield* step(k, "move_ptes", `${old_pte.obj.name} → ${new_pte.obj.name}`, [
    { obj: old_pte.obj.name, kind: "write" },
    { obj: new_pte.obj.name, kind: "write" },
  ], () => {
    let count = 0;
    for (const { addr, entry } of entriesIn(k, old_pte, old_addr, old_end)) {
      const at = new_addr + addr - old_addr;
      // pte = ptep_get_and_clear(mm, old_addr, old_pte); ... set_pte_at(mm, new_addr, new_pte, pte)
      const writable = pte_write(old_pte, addr);
      writeEntry(k, old_pte, addr, undefined);
      const page = entry as KObject;
      writeEntry(k, new_pte, at, page, `${entryName(new_pte, at)} = ${page.name}`, writable);
      count++;
    }
    k.rt.note(`${count} pte${count === 1 ? "" : "s"} moved`);
    return count;
  });
  if (moved) yield* flush_tlb_range_step(k, "flush_tlb_range", mm, old_addr, old_end);
  if (new_ptl !== old_ptl) yield* spin_unlock(k, new_ptl);
  yield* spin_unlock(k, old_ptl);
}
