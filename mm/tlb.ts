/**
 * Each CPU's TLB: the translations a CPU's user accesses use without walking the page
 * tables, so a CPU can go on writing through a translation the page tables no longer
 * allow until someone flushes it.
 *
 * A CPU's TLB is one object (`TLB@CPU1`), a part per page address it caches. The MMU
 * fills it on a page walk (mmu.ts); `flush_tlb_mm()` empties every CPU's entries for
 * an mm (fork, after write-protecting the parent's pages), and `flush_tlb_page()` one
 * address on every CPU (`ptep_clear_flush()` in `wp_page_copy()`). A flush is one
 * step that empties the other CPUs' entries at once: x86's `flush_tlb_mm_range()`
 * sends an IPI and waits for every CPU to take it, and a CPU running user code has
 * IRQs enabled, so no user access of that CPU falls between the flush's start and its
 * end.
 *
 * Follows: arch/x86/mm/tlb.c (`flush_tlb_mm_range()`, `flush_tlb_mm()`,
 * `flush_tlb_page()`), mm/pgtable-generic.c (`ptep_clear_flush()`), Linux 5.18 and 6.4.
 * Left out: PCIDs and lazy TLB (a CPU's entries are the mm's it runs), paging-structure
 * caches (a miss walks from the pgd), the flush's wait for a CPU with IRQs off under the
 * `"ipi"` configuration (the flush here is atomic under every configuration, so no
 * fork verdict depends on one). A teardown's flush, `flush_tlb_mm_range()` for the
 * range it zapped before it frees the pages, is mmu_gather.ts's.
 *
 * @module
 */

import type { Access, Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import { hex, mappingAt, pageAddr } from "./pgtable.ts";
import type { KObject } from "./slab.ts";

/** One cached translation. */
export interface TlbEntry {
  readonly mm: Mm;
  readonly page: KObject;
  readonly writable: boolean;
}

/** A CPU's TLB. */
export interface Tlb {
  readonly obj: KObject;
  /** Page address → translation. */
  readonly entries: Map<number, TlbEntry>;
}

const tlbs = new WeakMap<Kernel, Map<string, Tlb>>();

function tlbsOf(k: Kernel): Map<string, Tlb> {
  let map = tlbs.get(k);
  if (!map) tlbs.set(k, map = new Map());
  return map;
}

/** Set-up only: an empty TLB for the CPU named `cpu`. */
export function tlb_init(k: Kernel, cpu: string): Tlb {
  const obj = k.slab.create("tlb", `TLB@${cpu}`);
  const entries = new Map<number, TlbEntry>();
  obj.contents = {
    parts: () => [...entries.keys()].map(hex),
    // A part is a page address in hex, which Number() reads back.
    value: (part) => {
      if (!part.startsWith("0x")) return undefined;
      const entry = entries.get(Number(part));
      return entry ? `${entry.page.name} ${entry.writable ? "rw" : "ro"}` : "none";
    },
  };
  const tlb = { obj, entries };
  tlbsOf(k).set(cpu, tlb);
  return tlb;
}

/**
 * Set-up only: `tlb` holds a writable translation of `addr` of `mm`, as after a store
 * there (the page must be mapped writable).
 */
export function setupTlb(k: Kernel, tlb: Tlb, mm: Mm, addr: number): void {
  const mapped = mappingAt(mm.pgd, addr);
  if (!mapped) throw new Error(`setupTlb: ${hex(addr)} is not mapped`);
  tlb_fill(k, tlb, addr, { mm, page: mapped.page, writable: true });
}

/** The TLB of the CPU named `cpu`, if it has one (scenarios without user accesses have none). */
export function tlbOf(k: Kernel, cpu: string): Tlb | undefined {
  return tlbsOf(k).get(cpu);
}

/** Every CPU's TLB. */
export function allTlbs(k: Kernel): readonly Tlb[] {
  return [...tlbsOf(k).values()];
}

/** The access to `tlb`'s entry for `addr`. */
export function tlbAccess(tlb: Tlb, addr: number, kind: Access["kind"]): Access {
  return { obj: tlb.obj.name, part: hex(pageAddr(addr)), kind };
}

/** A CPU's lookup of `addr` in its own TLB (inside a step declaring `tlbAccess`). */
export function tlb_lookup(k: Kernel, tlb: Tlb, addr: number): TlbEntry | undefined {
  k.slab.read(tlb.obj, hex(pageAddr(addr)));
  return tlb.entries.get(pageAddr(addr));
}

/** The page walker's fill of `addr` (inside a step declaring `tlbAccess`). */
export function tlb_fill(k: Kernel, tlb: Tlb, addr: number, entry: TlbEntry): void {
  k.slab.write(tlb.obj, hex(pageAddr(addr)));
  tlb.entries.set(pageAddr(addr), entry);
}

/** What `flush_tlb_mm()` or `flush_tlb_page()` stores to: every CPU's TLB. */
export function flushAccesses(k: Kernel, addr?: number): Access[] {
  return allTlbs(k).map((tlb) =>
    addr === undefined ? { obj: tlb.obj.name, kind: "write" } : tlbAccess(tlb, addr, "write")
  );
}

/**
 * The flush itself, inside a step declaring {@linkcode flushAccesses}: every CPU's
 * entries for `mm`, or only for the page of `addr`.
 */
export function flush_tlb(k: Kernel, mm: Mm, addr?: number): void {
  if (addr === undefined) flush_tlb_range(k, mm, 0, Infinity);
  else flush_tlb_range(k, mm, pageAddr(addr), pageAddr(addr) + 1);
}

/** `flush_tlb_mm_range()`: every CPU's entries for `mm` in [start, end). */
export function flush_tlb_range(k: Kernel, mm: Mm, start: number, end: number): void {
  for (const tlb of allTlbs(k)) {
    for (const [at, entry] of [...tlb.entries]) {
      if (entry.mm !== mm || at < start || at >= end) continue;
      k.slab.write(tlb.obj, hex(at));
      tlb.entries.delete(at);
    }
  }
}

/**
 * `flush_tlb_range()` of [start, end) of `mm` as one step named `label`, declaring
 * {@linkcode flushAccesses}; no step in a scenario without TLBs, where nothing could
 * observe it.
 */
export function* flush_tlb_range_step(
  k: Kernel,
  label: string,
  mm: Mm,
  start: number,
  end: number,
): Proc {
  if (!allTlbs(k).length) return;
  yield* step(
    k,
    label,
    `[${hex(start)}, ${hex(end)})`,
    flushAccesses(k),
    () => flush_tlb_range(k, mm, start, end),
  );
}
