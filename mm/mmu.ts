/**
 * A user store as the CPU performs it: translated through the CPU's TLB (tlb.ts); on
 * a miss, the page walker reads the page tables and fills the TLB; a missing PTE, or a
 * read-only one, raises a page fault, whose handler (the strategy's, through
 * `do_user_addr_fault()`) returns and the store is tried again.
 *
 * Each completed store is recorded, CPU, mm, address and value, so the audit can check
 * that the mm the store went to still holds it (check_mm.ts: a store that lands in a
 * page the mm no longer maps is lost).
 *
 * Follows: the x86 MMU (Intel SDM vol. 3A, 4.10: a translation cached in the TLB is used
 * until it is invalidated, even after the PTE changes), arch/x86/mm/fault.c
 * (`do_user_addr_fault()`: `X86_PF_WRITE`, `X86_PF_PROT`), Linux 5.18 and 6.4.
 * Modelled loosely: the page walk is one step that reads every level at once (the
 * tables a walk passes are declared as the walk last saw them, and a walk that finds
 * a different table on the way is started again); the model's scenarios with user
 * stores free no page table while one runs (mm/tlb.ts says why no scenario mixes
 * them with munmap()). A read-only TLB entry is treated as a miss, so a store to it
 * walks and faults. Loads are not modelled: every user access is a store.
 *
 * @module
 */

import { type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { FaultCause, FaultResult } from "./memory.ts";
import type { Mm } from "./mm_types.ts";
import {
  entryAccess,
  entryName,
  hex,
  isTable,
  pageAddr,
  pathTo,
  pte_write,
  readEntry,
} from "./pgtable.ts";
import { storeWord, wordPart } from "./page.ts";
import type { KObject } from "./slab.ts";
import { type Tlb, tlb_fill, tlb_lookup, tlbAccess, tlbOf } from "./tlb.ts";

/** A store that completed. */
export interface UserStore {
  readonly cpu: string;
  readonly mm: Mm;
  readonly addr: number;
  readonly value: string;
  /** The page the translation led to. */
  readonly page: KObject;
}

const stores = new WeakMap<Kernel, UserStore[]>();

/** The stores completed in an execution, in order. */
export function storesOf(k: Kernel): readonly UserStore[] {
  return stores.get(k) ?? [];
}

/**
 * How many page faults one store may take before the audit calls it stuck: two are
 * enough for any store here (a not-present fault, then a write-protect one); a
 * handler that returns without making the PTE usable makes the store fault forever,
 * as the kernel would.
 */
export const MAX_FAULTS_PER_STORE = 4;

/**
 * The running CPU stores `value` at `addr` of `mm`, calling `fault` (the strategy's
 * page-fault handler) when the MMU raises one. Returns how the last fault ended, or
 * "done".
 */
export function* user_store(
  k: Kernel,
  mm: Mm,
  addr: number,
  value: string,
  fault: (cause: FaultCause) => Proc<FaultResult>,
): Proc<FaultResult> {
  const cpu = k.current.name;
  const tlb = tlbOf(k, cpu);
  if (!tlb) throw new Error(`${cpu} has no TLB: the scenario must give CPUs that store one`);
  const offset = addr - pageAddr(addr);
  for (let faults = 0;;) {
    const cached = tlb.entries.get(pageAddr(addr));
    const usable = cached?.writable && cached.mm === mm ? cached : undefined;
    if (usable) {
      const stored = yield* step(k, "store", `${hex(addr)} = ${value}`, [
        tlbAccess(tlb, addr, "read"),
        { obj: usable.page.name, part: wordPart(offset), kind: "write" },
      ], () => {
        // The translation is used as it is now: if a flush took it since, walk.
        if (tlb_lookup(k, tlb, addr) !== usable) return false;
        storeWord(k, usable.page, offset, value);
        k.rt.note(`${usable.page.name} (TLB)`);
        return true;
      });
      if (stored) {
        let list = stores.get(k);
        if (!list) stores.set(k, list = []);
        list.push({ cpu, mm, addr, value, page: usable.page });
        return "done";
      }
      continue;
    }
    const cause = yield* page_walk(k, mm, tlb, addr);
    if (cause === "filled" || cause === "changed") continue;
    if (++faults > MAX_FAULTS_PER_STORE) {
      throw new Violation(
        "fault-loop",
        `${cpu}'s store to ${hex(addr)} took ${MAX_FAULTS_PER_STORE} page faults and the ` +
          `PTE still does not let it write: the fault handler returns without fixing it`,
      );
    }
    // do_user_addr_fault(): `error_code & X86_PF_PROT` tells the two faults apart.
    const result = yield* fault(cause);
    if (result === "sigsegv" || result === "oom") return result;
  }
}

/**
 * The page walker, for a store to `addr`: fills the TLB with a writable translation,
 * or names the fault to raise; `"changed"` if a table on the way is not the one the
 * walk was declared with (another CPU changed an entry since), so the store starts
 * again.
 */
function* page_walk(
  k: Kernel,
  mm: Mm,
  tlb: Tlb,
  addr: number,
): Proc<FaultCause | "filled" | "changed"> {
  const path = pathTo(mm.pgd, addr);
  return yield* step(k, "page walk", hex(addr), [
    ...path.map((table) => entryAccess(table, addr, "read")),
    tlbAccess(tlb, addr, "write"),
  ], () => {
    for (const [depth, table] of path.entries()) {
      const entry = readEntry(k, table, addr);
      if (table.level !== "pte") {
        if (!isTable(entry)) {
          k.rt.note(`${entryName(table, addr)} none: page fault`);
          return "not-present";
        }
        if (path[depth + 1] !== entry) return "changed";
        continue;
      }
      if (!entry || isTable(entry)) {
        k.rt.note(`${entryName(table, addr)} none: page fault`);
        return "not-present";
      }
      if (!pte_write(table, addr)) {
        k.rt.note(`${entry.name} read-only: page fault`);
        return "write-protect";
      }
      tlb_fill(k, tlb, addr, { mm, page: entry, writable: true });
      k.rt.note(`${entry.name}: TLB filled`);
      return "filled";
    }
    return "changed";
  });
}
