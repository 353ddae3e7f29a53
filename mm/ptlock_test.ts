/**
 * The PTE lock of a table free_pgtables() has unlinked but not yet freed, under each
 * `ptlocks` configuration: `pte_map_lock()`'s trylock-then-abort is harmless where the
 * lock is embedded in the table's page or is `mm->page_table_lock`, and a
 * use-after-free of the lock under `ALLOC_SPLIT_PTLOCKS`, where
 * `pgtable_pte_page_dtor()` freed it at the unlink; a store into the table's entries
 * is caught under every one; and, with the lock in the table's page, taking the lock
 * of a table that is freed is a use-after-free.
 */

import assert from "node:assert/strict";
import { explore, type ExploreResult, type Proc, verdictOf } from "../explore/mod.ts";
import {
  free_pgd_range,
  indexOf,
  isTable,
  Kernel,
  type Mm,
  mm_alloc,
  pte_lockptr,
  type Ptlocks,
  setupFault,
  setupVma,
  spin_trylock,
  spin_unlock,
  step,
  type Table,
  tlb_finish_mmu,
  tlb_gather_mmu,
  writeEntry,
} from "./mod.ts";

const GiB = 0x40000000;
const MiB = 0x100000;
const PAGE = 0x1000;

/** The PTE table mapping `addr`, found during set-up. */
function pteTable(mm: Mm, addr: number): Table {
  let table = mm.pgd;
  while (table.level !== "pte") {
    const next = table.entries.get(indexOf(table.level, addr));
    assert.ok(isTable(next));
    table = next;
  }
  return table;
}

/**
 * One CPU unlinks the page tables of [1 GiB, 1 GiB + 2 MiB) as free_pgtables() does,
 * without `tlb_finish_mmu()`, so the tables stay unlinked and unfreed (with `freed`,
 * with it, outside any RCU section: the tables' grace period can end at once), then
 * runs `after` on the PTE table that was there.
 */
function afterUnlink(
  ptlocks: Ptlocks,
  after: (k: Kernel, mm: Mm, pte: Table) => Proc,
  freed = false,
): ExploreResult {
  return explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 }, { tableFree: "rcu", ptlocks });
    const mm = mm_alloc(k);
    setupVma(k, mm, GiB, GiB + 2 * MiB);
    setupVma(k, mm, 512 * GiB, 512 * GiB + PAGE);
    setupFault(k, mm, GiB);
    setupFault(k, mm, 512 * GiB);
    const pte = pteTable(mm, GiB);
    return {
      threads: [{
        name: "CPU0",
        body: function* () {
          const tlb = tlb_gather_mmu(mm);
          yield* free_pgd_range(k, tlb, mm, GiB, GiB + 2 * MiB, 0, 512 * GiB);
          if (freed) yield* tlb_finish_mmu(k, tlb);
          yield* after(k, mm, pte);
        },
      }],
    };
  });
}

/** `__pte_map_lock()` whose second `mmap_seq` check fails: trylock, then unlock. */
function* trylockThenAbort(k: Kernel, mm: Mm, pte: Table): Proc {
  const ptl = pte_lockptr(k, mm, pte);
  assert.equal(yield* spin_trylock(k, ptl), true);
  yield* spin_unlock(k, ptl);
}

/** `set_pte_at()` into the unlinked table, under its lock. */
function* storeUnderLock(k: Kernel, mm: Mm, pte: Table): Proc {
  const ptl = pte_lockptr(k, mm, pte);
  if (!(yield* spin_trylock(k, ptl))) return;
  yield* step(k, "set_pte_at", `${pte.obj.name}[1]`, [{
    obj: pte.obj.name,
    part: String(indexOf("pte", GiB + PAGE)),
    kind: "write",
  }], () => writeEntry(k, pte, GiB + PAGE, k.slab.create("page", "page@0x40001000")));
  yield* spin_unlock(k, ptl);
}

for (const ptlocks of ["split", "page-table-lock"] as const) {
  Deno.test(`${ptlocks}: trylock then abort on an unlinked PTE table is clean`, () => {
    const r = afterUnlink(ptlocks, trylockThenAbort);
    assert.equal(r.counterexample, undefined, r.counterexample?.message);
    assert.equal(verdictOf(r), "safe");
  });
}

for (const ptlocks of ["split", "split-alloc", "page-table-lock"] as const) {
  Deno.test(`${ptlocks}: a store into an unlinked PTE table is still caught`, () => {
    const r = afterUnlink(ptlocks, storeUnderLock);
    // Under split-alloc the lock itself is gone before the store is reached.
    const kind = ptlocks === "split-alloc" ? "use-after-free" : "store-into-detached-table";
    assert.equal(r.counterexample?.kind, kind);
  });
}

Deno.test("split-alloc: the same trylock is a use-after-free of the lock ptlock_free() freed", () => {
  const r = afterUnlink("split-alloc", trylockThenAbort);
  const cx = r.counterexample!;
  assert.equal(cx.kind, "use-after-free");
  assert.equal(cx.trace.steps.at(-1)?.label, "spin_trylock");
  assert.match(cx.message, /spin_trylock .* of PTE@0x40000000->ptl after it was freed/);
  // Freed at the unlink (free_pte_range → ___pte_free_tlb → pgtable_pte_page_dtor),
  // while the table itself is only detached.
  const objects = cx.trace.violation?.objects ?? [];
  const lock = objects.find((o) => o.name === "PTE@0x40000000->ptl");
  assert.ok(lock, JSON.stringify(objects));
  assert.match(lock.history.at(-1)!, /^freed by CPU0 in free_pte_range/);
});

Deno.test("page-table-lock: every PTE table's lock is mm->page_table_lock", () => {
  const r = afterUnlink("page-table-lock", function* (k, mm, pte) {
    assert.equal(pte.ptl, undefined);
    assert.equal(pte_lockptr(k, mm, pte), mm.page_table_lock);
    yield* trylockThenAbort(k, mm, pte);
  });
  assert.equal(verdictOf(r), "safe");
});

Deno.test("split: the PTE lock of a freed table is a use-after-free", () => {
  // The RCU callback that frees the tables is its own thread: on some schedule the
  // table is freed by the time the lock is tried.
  const r = afterUnlink("split", function* (k, mm, pte) {
    const ptl = pte_lockptr(k, mm, pte);
    if (yield* spin_trylock(k, ptl)) yield* spin_unlock(k, ptl);
  }, true);
  assert.equal(r.counterexample?.kind, "use-after-free");
  assert.equal(r.counterexample?.trace.steps.at(-1)?.label, "spin_trylock");
});
