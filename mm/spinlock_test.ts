/**
 * The split PTE lock of a table munmap() has unlinked: taking and dropping it is not a
 * store into the table (pte_map_lock()'s trylock, then an abort), a store into its
 * entries still is, and touching the lock once the table is freed is a use-after-free.
 */

import assert from "node:assert/strict";
import { explore, type Proc, verdictOf } from "../explore/mod.ts";
import {
  free_pgd_range,
  hex,
  indexOf,
  isTable,
  Kernel,
  type Mm,
  mm_alloc,
  rcu_read_lock,
  rcu_read_unlock,
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
    if (!isTable(next)) throw new Error(`no table below ${table.obj.name} for ${hex(addr)}`);
    table = next;
  }
  return table;
}

/**
 * One CPU inside an RCU read-side section unlinks A's page tables as free_pgtables()
 * does, then runs `after` on A's PTE table (still unlinked, not freed); the tables are
 * queued for freeing after the section.
 */
function explorePteAfterUnlink(after: (k: Kernel, pte: Table) => Proc, freeFirst = false) {
  return explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
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
          const tlb = tlb_gather_mmu();
          if (!freeFirst) yield* rcu_read_lock(k);
          yield* free_pgd_range(k, tlb, mm, GiB, GiB + 2 * MiB, 0, 512 * GiB);
          yield* tlb_finish_mmu(k, tlb);
          yield* after(k, pte);
          if (!freeFirst) yield* rcu_read_unlock(k);
        },
      }],
    };
  });
}

/** `spin_trylock()` of the PTE lock and, as pte_map_lock() does when its check fails, unlock. */
function* trylockThenAbort(k: Kernel, pte: Table): Proc {
  assert.equal(yield* spin_trylock(k, pte.ptl!), true);
  yield* spin_unlock(k, pte.ptl!);
}

Deno.test("the PTE lock of an unlinked table can be taken and dropped (pte_map_lock's abort)", () => {
  const result = explorePteAfterUnlink(trylockThenAbort);
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(verdictOf(result), "safe");
});

Deno.test("a store into an unlinked table's entries is still caught, lock held or not", () => {
  const result = explorePteAfterUnlink(function* (k, pte) {
    assert.equal(yield* spin_trylock(k, pte.ptl!), true);
    yield* step(k, "set_pte_at", `${pte.obj.name}[1]`, [{
      obj: pte.obj.name,
      part: String(indexOf("pte", GiB + PAGE)),
      kind: "write",
    }], () => writeEntry(k, pte, GiB + PAGE, k.slab.create("page", "page@0x40001000")));
    yield* spin_unlock(k, pte.ptl!);
  });
  assert.equal(result.counterexample?.kind, "store-into-detached-table");
  assert.equal(result.counterexample?.trace.steps.at(-1)?.label, "set_pte_at");
});

Deno.test("the PTE lock of a freed table is a use-after-free", () => {
  // Outside any RCU section the grace period ends at once, and the table is freed by
  // the time the lock is tried (on some schedule: the RCU callback is its own thread).
  const result = explorePteAfterUnlink(function* (k, pte) {
    if (yield* spin_trylock(k, pte.ptl!)) yield* spin_unlock(k, pte.ptl!);
  }, true);
  assert.equal(result.counterexample?.kind, "use-after-free");
  assert.equal(result.counterexample?.trace.steps.at(-1)?.label, "spin_trylock");
});
