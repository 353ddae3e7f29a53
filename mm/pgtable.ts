/**
 * Five-level page tables: pgd → p4d → pud → pmd → pte, with x86-64's geometry
 * (LA57: 512 entries per table, shifts 48/39/30/21/12).
 *
 * A table is a {@linkcode KObject} whose entries map an index to the next table (or, in
 * a PTE table, to the user page). Each entry is its own part for conflict detection,
 * so two CPUs filling different entries of one table do not race. A PTE table carries
 * its split page-table lock (`ptl`), when the configuration has split PTE locks
 * (ptlock.ts).
 *
 * A PTE maps its page writable unless it is write-protected (`_PAGE_RW` clear): fork
 * write-protects the anonymous pages it shares with the child (`ptep_set_wrprotect()`
 * in `copy_present_pte()`, mm/fork.ts), and a write to such a PTE faults
 * (`do_wp_page()`, memory.ts).
 *
 * Follows: arch/x86/include/asm/pgtable_64_types.h, include/linux/pgtable.h
 * (`pXd_offset`, `pXd_none`, `pXd_addr_end`, `ptep_set_wrprotect`), include/linux/mm.h
 * (`pte_lockptr`), Linux 5.18. Left out: huge pages, swap and migration entries,
 * access/dirty bits and every permission bit but `_PAGE_RW`,
 * folded levels (all five levels always exist), addresses above 2^53 (JavaScript
 * numbers; the scenarios use low user addresses).
 *
 * @module
 */

import type { Access, Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { local_irq_disable, local_irq_enable } from "./irq.ts";
import { rcu_read_lock, rcu_read_unlock } from "./rcu.ts";
import type { KObject } from "./slab.ts";
import type { SpinLock } from "./spinlock.ts";
import { ptlock_init } from "./ptlock.ts";

/** A page-table level. */
export type Level = "pgd" | "p4d" | "pud" | "pmd" | "pte";

/** Top to bottom. */
export const LEVELS: readonly Level[] = ["pgd", "p4d", "pud", "pmd", "pte"];

/** Address bits mapped by one entry at each level. */
export const SHIFT: Readonly<Record<Level, number>> = {
  pgd: 48,
  p4d: 39,
  pud: 30,
  pmd: 21,
  pte: 12,
};

/** Entries per table. */
export const PTRS_PER_TABLE = 512;

/** A page table. Entries hold the next table, or the user page in a PTE table. */
export interface Table {
  readonly obj: KObject;
  readonly level: Level;
  /**
   * First address the table maps. It changes only when mremap() moves a whole PTE
   * table to another PMD entry (`move_normal_pmd()`, mremap.ts).
   */
  base: number;
  readonly entries: Map<number, Table | KObject>;
  /**
   * The split PTE lock, in PTE tables only, and only with split PTE locks: take it
   * through `pte_lockptr()` (ptlock.ts), which knows where the lock is.
   */
  readonly ptl?: SpinLock;
  /** In PTE tables: the indices of the write-protected PTEs (`!pte_write()`). */
  readonly wrprotected?: Set<number>;
}

/** Bytes mapped by one entry of a `level` table (PUD_SIZE for "pud"...). */
export function entrySize(level: Level): number {
  return 2 ** SHIFT[level];
}

/** Bytes mapped by a whole `level` table (the mask a `free_*_range()` rounds to). */
export function tableSize(level: Level): number {
  return entrySize(level) * PTRS_PER_TABLE;
}

/** `pXd_index()`. */
export function indexOf(level: Level, addr: number): number {
  return Math.floor(addr / entrySize(level)) % PTRS_PER_TABLE;
}

/** Rounds `addr` down to a multiple of `size` (a power of two): `addr & MASK`. */
export function alignDown(addr: number, size: number): number {
  return Math.floor(addr / size) * size;
}

/** The address of the page `addr` is in: `addr & PAGE_MASK`. */
export function pageAddr(addr: number): number {
  return alignDown(addr, entrySize("pte"));
}

/**
 * The tables a walk of `addr` down from `pgd` passes through now, `pgd` first, as deep
 * as they go (a PTE table last when every level is there). No access: for callers
 * that declare what they then read, and for set-up.
 */
export function pathTo(pgd: Table, addr: number): Table[] {
  const path = [pgd];
  for (let next = pgd.entries.get(indexOf(pgd.level, addr)); isTable(next);) {
    path.push(next);
    next = next.entries.get(indexOf(next.level, addr));
  }
  return path;
}

/**
 * The PTE table a walk to `addr` reaches and the page its entry maps, if the walk gets
 * that far and a page is mapped there (set-up's and the tests' view, outside any step).
 */
export function mappingAt(pgd: Table, addr: number): { pte: Table; page: KObject } | undefined {
  const pte = pathTo(pgd, addr).at(-1)!;
  const page = pte.level === "pte" ? pte.entries.get(indexOf("pte", addr)) : undefined;
  return page && !isTable(page) ? { pte, page } : undefined;
}

/** The level below `level`. */
export function childLevel(level: Level): Level {
  return LEVELS[LEVELS.indexOf(level) + 1];
}

/** `0x40000000`. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Wraps an allocated object as the empty `level` table that maps `addr`; a PTE table
 * gets its lock from `pgtable_pte_page_ctor()` (`ptlock_init()`, ptlock.ts).
 */
export function makeTable(k: Kernel, obj: KObject, level: Level, addr: number): Table {
  const ptl = level === "pte" ? ptlock_init(k, obj) : undefined;
  const entries = new Map<number, Table | KObject>();
  const wrprotected = level === "pte" ? new Set<number>() : undefined;
  obj.contents = {
    parts: () => [...entries.keys()].map(String),
    // An entry holds the next table or the page, by name; an empty one is "none".
    value: (part) => {
      const index = Number(part);
      if (!Number.isInteger(index) || index < 0 || index >= PTRS_PER_TABLE) return undefined;
      const entry = entries.get(index);
      if (entry === undefined) return "none";
      if (isTable(entry)) return entry.obj.name;
      return wrprotected?.has(index) ? `${entry.name} (read-only)` : entry.name;
    },
  };
  return {
    obj,
    level,
    base: alignDown(addr, tableSize(level)),
    entries,
    ...(ptl ? { ptl } : {}),
    ...(wrprotected ? { wrprotected } : {}),
  };
}

/** The name a new table gets: `PMD@0x40000000`. */
export function tableName(level: Level, addr: number): string {
  return `${level.toUpperCase()}@${hex(alignDown(addr, tableSize(level)))}`;
}

/** The access to entry `addr` of `table`. */
export function entryAccess(table: Table, addr: number, kind: Access["kind"]): Access {
  return { obj: table.obj.name, part: entryPart(table, addr), kind };
}

/** `PUD@0x0[1]`. */
export function entryName(table: Table, addr: number): string {
  return `${table.obj.name}[${indexOf(table.level, addr)}]`;
}

/** The part of `table` that entry `addr` is: its index, as {@linkcode entryAccess} declares. */
export function entryPart(table: Table, addr: number): string {
  return String(indexOf(table.level, addr));
}

/** Reads entry `addr` of `table`, checking the table is still alive. */
export function readEntry(k: Kernel, table: Table, addr: number): Table | KObject | undefined {
  k.slab.read(table.obj, entryPart(table, addr), entryName(table, addr));
  return table.entries.get(indexOf(table.level, addr));
}

/**
 * Sets entry `addr` of `table` to `value`, or clears it (`undefined`); `what` says what
 * is stored, for a store into a detached table. A page is mapped writable unless
 * `writable` is false (`pte_wrprotect()`).
 */
export function writeEntry(
  k: Kernel,
  table: Table,
  addr: number,
  value: Table | KObject | undefined,
  what = entryName(table, addr),
  writable = true,
): void {
  k.slab.write(table.obj, entryPart(table, addr), what);
  const index = indexOf(table.level, addr);
  if (value) table.entries.set(index, value);
  else table.entries.delete(index);
  if (value && !writable) table.wrprotected?.add(index);
  else table.wrprotected?.delete(index);
}

/**
 * `pte_write()` of entry `addr` of PTE table `pte`, read with the entry itself (the
 * caller's `readEntry()` is the load).
 */
export function pte_write(pte: Table, addr: number): boolean {
  return !pte.wrprotected?.has(indexOf(pte.level, addr));
}

/**
 * Present entries of `table` that map part of [addr, end), with the address each starts
 * at: a load of the whole table (a walk reads every entry it passes).
 */
export function entriesIn(
  k: Kernel,
  table: Table,
  addr: number,
  end: number,
): { addr: number; entry: Table | KObject }[] {
  k.slab.read(table.obj, undefined, "entries");
  const size = entrySize(table.level);
  const out: { addr: number; entry: Table | KObject }[] = [];
  for (const [index, entry] of [...table.entries].sort((a, b) => a[0] - b[0])) {
    const start = table.base + index * size;
    if (start + size > addr && start < end) out.push({ addr: Math.max(start, addr), entry });
  }
  return out;
}

/** Whether an entry is a table (not a user page). */
export function isTable(entry: Table | KObject | undefined): entry is Table {
  return entry !== undefined && "level" in entry;
}

/**
 * `pXdval = READ_ONCE(*pXd)`: one load of entry `addr` of `table`, as kernel function
 * `label`, by a walker that holds no lock of the table (a speculative fault, GUP-fast).
 */
export function* read_once(
  k: Kernel,
  label: string,
  table: Table,
  addr: number,
): Proc<Table | KObject | undefined> {
  return yield* step(k, label, entryName(table, addr), [entryAccess(table, addr, "read")], () => {
    const entry = readEntry(k, table, addr);
    k.rt.note(isTable(entry) ? entry.obj.name : entry ? entry.name : "none");
    return entry;
  });
}

/**
 * What keeps a lockless walker's tables from being freed under it: an RCU read-side
 * section (`"rcu"`: enough when tables are freed after a grace period,
 * MMU_GATHER_RCU_TABLE_FREE) or IRQs off (`"irqs-off"`: it also holds off the TLB-flush
 * IPI and, since 5.0, a grace period).
 */
export type LocklessWalk = "rcu" | "irqs-off";

/** Enters the section `walk` names: `rcu_read_lock()` or `local_irq_disable()`. */
export function* lockless_walk_begin(k: Kernel, walk: LocklessWalk): Proc {
  if (walk === "irqs-off") yield* local_irq_disable(k);
  else yield* rcu_read_lock(k);
}

/** Leaves it: `rcu_read_unlock()` or `local_irq_enable()`. */
export function* lockless_walk_end(k: Kernel, walk: LocklessWalk): Proc {
  if (walk === "irqs-off") yield* local_irq_enable(k);
  else yield* rcu_read_unlock(k);
}

/**
 * The walk from `pgd` down to the PTE table for `addr`, one `read_once()` per level as
 * kernel function `label(level)` (`pmd_offset`, `gup_pmd_range`, ...): the PMD table and
 * the PTE table, or undefined at the first level with no table.
 */
export function* walk_to_pte(
  k: Kernel,
  pgd: Table,
  addr: number,
  label: (level: Level) => string,
): Proc<{ readonly pmd: Table; readonly pte: Table } | undefined> {
  let table = pgd;
  let pmd = pgd;
  while (table.level !== "pte") {
    const entry = yield* read_once(k, label(table.level), table, addr);
    if (!isTable(entry)) return undefined;
    pmd = table;
    table = entry;
  }
  return { pmd, pte: table };
}
