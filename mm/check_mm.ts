/**
 * The end-of-execution audit, run once every CPU has finished and every RCU callback
 * that could run has run: what the kernel's `check_mm()` and lockdep would say about
 * the address space and the tasks.
 *
 * - a task that ended inside an RCU read-side section or holding a lock;
 * - a stale PTE: a page still mapped where no VMA is, which userspace can still reach
 *   after munmap() returned;
 * - a leak: an object neither freed nor reachable from an mm (page tables from the
 *   pgd, user pages from PTEs, VMAs from the tree, a PTE table's lock from the table
 *   under `ALLOC_SPLIT_PTLOCKS`, ptlock.ts), or a CPU's TLB;
 * - after a fork, every mm is audited (the parent and each child), and:
 *   - a lost write: a user store (mmu.ts) that the page its mm maps at the end does
 *     not hold, although no later store to that word came after it: it went into a
 *     page the mm no longer maps, and not one a teardown zapped (a store racing
 *     munmap() or MADV_DONTNEED may be dropped), and for a store to a range mremap()
 *     moved, the page at the new address;
 *   - a page two mms map while one of them may write it (a writable PTE, or a writable
 *     translation left in a TLB): copy-on-write broken;
 *   - a page mapped by a VMA whose anon_vma chain does not hold the page's anon_vma
 *     (`page->mapping`): `rmap_walk_anon()` would not find that mapping, so reclaim or
 *     migration would free or move the page with the mapping left behind.
 *
 * Follows: kernel/fork.c `check_mm()` ("BUG: non-zero pgtables_bytes on freeing mm"),
 * kernel/locking/lockdep.c (`debug_check_no_locks_held()`), mm/rmap.c
 * (`rmap_walk_anon()` walks `page->mapping`'s interval tree of anon_vma_chains), Linux
 * 5.18 and 6.4.
 *
 * @module
 */

import { allMappings } from "./address_space.ts";
import { Violation } from "../explore/mod.ts";
import type { Kernel } from "./kernel.ts";
import { lookup, type Mm, mmsOf } from "./mm_types.ts";
import { entrySize, hex, isTable, pageAddr, pte_write, type Table } from "./pgtable.ts";
import type { KObject } from "./slab.ts";
import { pageOf, wasZapped } from "./page.ts";
import { allTlbs } from "./tlb.ts";
import { storesOf, type UserStore } from "./mmu.ts";
import { movesOf } from "./mremap.ts";

/** A page mapped at the end: by which mm, where, and whether writable. */
interface Mapping {
  readonly mm: Mm;
  readonly addr: number;
  readonly page: KObject;
  readonly writable: boolean;
}

/** Throws the first problem found with the final state. */
export function check_mm(k: Kernel, mm: Mm): void {
  for (const task of k.tasks) {
    if (task.rcuDepth > 0) {
      throw new Violation(
        "rcu-held-at-exit",
        `${task.name} finished inside an rcu_read_lock() section`,
      );
    }
    const held = [...task.spinlocks, ...task.sleepingLocks];
    if (held.length) {
      throw new Violation("lock-held-at-exit", `${task.name} finished holding ${held.join(", ")}`);
    }
  }
  // `mm` and every child fork made of it (mm_types.ts records them all).
  const mms = [mm, ...mmsOf(k).filter((other) => other !== mm)];
  const reachable = new Set<KObject>([
    ...mms.flatMap((m) => [m.obj, ...(m.mt ? [m.mt.root.obj] : []), ...m.vmas.map((v) => v.obj)]),
    ...allTlbs(k).map((tlb) => tlb.obj),
    ...allMappings(k).map((mapping) => mapping.obj),
  ]);
  const mappings: Mapping[] = [];
  for (const space of mms) mappings.push(...walkMm(k, space, reachable));
  const leaked = [...k.slab.objects.values()].filter((o) =>
    o.state !== "freed" && !reachable.has(o)
  );
  if (leaked.length) {
    throw new Violation(
      "leak",
      `${leaked.map((o) => o.name).join(", ")} ${
        leaked.length === 1 ? "is" : "are"
      } neither freed ` +
        `nor reachable from the mm`,
      leaked.map((o) => k.slab.report(o)),
    );
  }
  checkStores(k, mappings);
  checkCow(k, mappings);
  checkRmap(k, mappings);
}

/** Walks `mm`'s page tables, marking what it reaches; throws on a stale PTE. */
function walkMm(k: Kernel, mm: Mm, reachable: Set<KObject>): Mapping[] {
  const mappings: Mapping[] = [];
  const walk = (table: Table) => {
    reachable.add(table.obj);
    // The object the PTE lock lives in: the table itself, or its page->ptl.
    if (table.ptl) reachable.add(table.ptl.home);
    for (const [index, entry] of table.entries) {
      if (isTable(entry)) {
        walk(entry);
        continue;
      }
      reachable.add(entry);
      const addr = table.base + index * entrySize("pte");
      if (!lookup(mm, addr)) {
        throw new Violation(
          "stale-pte",
          `${entry.name} is still mapped at ${hex(addr)} by ${table.obj.name}, but no VMA covers ` +
            `${hex(addr)}: userspace can still reach it after munmap()`,
          [k.slab.report(table.obj), k.slab.report(entry)],
        );
      }
      mappings.push({ mm, addr, page: entry, writable: pte_write(table, addr) });
    }
  };
  walk(mm.pgd);
  return mappings;
}

/**
 * Every mm's last store to each word must be in the page the mm maps there, unless
 * userspace asked for the store to go: the store's page was zapped (munmap(),
 * MADV_DONTNEED: a store that races with the zap may land in the old page before the
 * TLB flush, and the kernel may drop it). A store to a range mremap() moved, into a
 * page that did not stay there, belongs at the new address (a store that completed
 * before mremap() returned was made before the move, or would have faulted), and
 * nothing there is a loss too.
 */
function checkStores(k: Kernel, mappings: readonly Mapping[]): void {
  const last = new Map<string, UserStore>();
  for (const store of storesOf(k)) last.set(`${store.mm.obj.name} ${store.addr}`, store);
  for (const store of last.values()) {
    const stayed = mappings.some((m) =>
      m.mm === store.mm && m.page === store.page && m.addr === pageAddr(store.addr)
    );
    const move = stayed
      ? undefined
      : movesOf(k).find((m) =>
        m.mm === store.mm && m.from <= store.addr && store.addr < m.from + m.len
      );
    const addr = move ? store.addr - move.from + move.to : store.addr;
    const page = pageAddr(addr);
    const offset = addr - page;
    const mapped = mappings.find((m) => m.mm === store.mm && m.addr === page);
    // A page unmapped since took the store with it: nothing left to check.
    if (!move && (!mapped || wasZapped(store.page))) continue;
    const held = mapped ? pageOf(mapped.page)?.words.get(offset) : undefined;
    if (held === store.value) continue;
    const elsewhere = [...k.slab.objects.values()].find((o) =>
      o.kind === "page" && pageOf(o)?.words.get(offset) === store.value
    );
    const moved = move ? `, which mremap() moved to ${hex(addr)}` : "";
    throw new Violation(
      "lost-write",
      `${store.cpu}'s store of ${store.value} to ${hex(store.addr)}${moved} is lost: ` +
        (mapped
          ? `${store.mm.obj.name} maps ${mapped.page.name} there, which holds ${held ?? "0"}`
          : `${store.mm.obj.name} maps no page there`) +
        (elsewhere ? `; the store went into ${elsewhere.name}` : ""),
      [
        ...(mapped ? [k.slab.report(mapped.page)] : []),
        ...(elsewhere ? [k.slab.report(elsewhere)] : []),
      ],
    );
  }
}

/** No page two mms map may be writable by either (a PTE, or a TLB entry left). */
function checkCow(k: Kernel, mappings: readonly Mapping[]): void {
  for (const mapping of mappings) {
    const sharers = mappings.filter((m) => m.page === mapping.page && m.mm !== mapping.mm);
    if (!sharers.length) continue;
    const stale = allTlbs(k).find((tlb) =>
      [...tlb.entries.values()].some((e) => e.page === mapping.page && e.writable)
    );
    if (!mapping.writable && !stale) continue;
    throw new Violation(
      "cow-shared-writable",
      `${mapping.page.name} is mapped by ${mapping.mm.obj.name} and ${sharers[0].mm.obj.name}, ` +
        (mapping.writable
          ? `and ${mapping.mm.obj.name}'s PTE at ${hex(mapping.addr)} lets it write the page`
          : `and ${stale!.obj.name} still holds a writable translation of it`) +
        `: a write would be seen by both`,
      [k.slab.report(mapping.page)],
    );
  }
}

/** Each mapped page must be reachable by rmap from the VMA that maps it. */
function checkRmap(k: Kernel, mappings: readonly Mapping[]): void {
  for (const { mm, addr, page } of mappings) {
    const vma = lookup(mm, addr)!;
    const anon_vma = pageOf(page)?.anon_vma;
    if (anon_vma && vma.avc.includes(anon_vma)) continue;
    throw new Violation(
      "anon-rmap-unreachable",
      `${page.name}, mapped at ${hex(addr)} by ${vma.obj.name} of ${mm.obj.name}, belongs to ` +
        `${anon_vma ?? "no anon_vma"}, which ${vma.obj.name}'s anon_vma chain ` +
        `(${
          vma.avc.join(", ") || "empty"
        }) does not hold: rmap_walk_anon() would miss this mapping`,
      [k.slab.report(page), k.slab.report(vma.obj)],
    );
  }
}
