/**
 * The end-of-execution audit, run once every CPU has finished and every RCU callback
 * that could run has run: what the kernel's `check_mm()` and lockdep would say about
 * the address space and the tasks.
 *
 * - a task that ended inside an RCU read-side section or holding a lock;
 * - a stale PTE: a page still mapped where no VMA is, which userspace can still reach
 *   after munmap() returned;
 * - a leak: an object neither freed nor reachable from the mm (page tables from the
 *   pgd, user pages from PTEs, VMAs from the tree, a PTE table's lock from the table
 *   under `ALLOC_SPLIT_PTLOCKS`, ptlock.ts).
 *
 * Follows: kernel/fork.c `check_mm()` ("BUG: non-zero pgtables_bytes on freeing mm"),
 * kernel/locking/lockdep.c (`debug_check_no_locks_held()`), Linux 5.18.
 *
 * @module
 */

import { Violation } from "../explore/mod.ts";
import type { Kernel } from "./kernel.ts";
import { lookup, type Mm } from "./mm_types.ts";
import { entrySize, hex, isTable, type Table } from "./pgtable.ts";
import type { KObject } from "./slab.ts";

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
  const reachable = new Set<KObject>([mm.obj, ...mm.vmas.map((v) => v.obj)]);
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
    }
  };
  walk(mm.pgd);
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
}
