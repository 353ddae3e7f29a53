/** retract_page_tables() alone, per version: what it takes out, frees, and leaves locked. */

import assert from "node:assert/strict";
import { explore, type Proc, type Runtime } from "../explore/mod.ts";
import {
  fileName,
  isTable,
  Kernel,
  type KObject,
  type Mm,
  mm_alloc,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_unlock,
  pathTo,
  pte_offset_map_lock,
  pte_unmap_unlock,
  retract_page_tables_6_6,
  retract_page_tables_mmap_trylock,
  setupEmptyPteTable,
  setupVma,
  type Table,
} from "./mod.ts";

const GiB = 0x40000000;
const HPAGE = 0x200000;

/** An mm with the file VMA [GiB, GiB + 2 MiB) and its empty PTE table. */
function fileMm(rt: Runtime): { k: Kernel; mm: Mm; pte: Table; pmd: Table } {
  const k = new Kernel(rt, { allocFailures: 0 });
  const mm = mm_alloc(k);
  setupVma(k, mm, GiB, GiB + HPAGE, false, fileName(GiB));
  setupEmptyPteTable(k, mm, GiB);
  const path = pathTo(mm.pgd, GiB);
  return { k, mm, pmd: path.at(-2)!, pte: path.at(-1)! };
}

/**
 * Runs `body` alone on CPU0 over fileMm(); returns the kernel functions of its steps,
 * whether the PMD entry still holds the PTE table at the end, and the table's state.
 */
function alone(body: (k: Kernel, mm: Mm) => Proc) {
  const labels: string[] = [];
  let mapped: boolean | undefined;
  let table: KObject | undefined;
  const result = explore((rt) => {
    const { k, mm, pmd, pte } = fileMm(rt);
    table = pte.obj;
    return {
      threads: [{
        name: "CPU0",
        body: function* () {
          const proc = body(k, mm);
          let next = proc.next(0);
          while (!next.done) {
            labels.push(next.value.label);
            next = proc.next(yield next.value);
          }
        },
      }],
      finish: () => mapped = isTable(pmd.entries.get(0)),
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.executions, 1);
  return { labels, mapped, state: table!.state };
}

Deno.test("5.18: mmap_write_trylock(), pmd_lock(), the table freed at once, then the unlock", () => {
  const { labels, mapped, state } = alone((k, mm) =>
    retract_page_tables_mmap_trylock(k, mm, GiB, { version: "5.18", mmap_write_unlock })
  );
  assert.equal(mapped, false);
  assert.equal(state, "freed");
  const from = labels.indexOf("mmap_write_trylock");
  assert.deepEqual(labels.slice(from), [
    "mmap_write_trylock",
    "mmap_seq_write_begin",
    "spin_lock",
    "pmdp_collapse_flush",
    "spin_unlock",
    "pte_free",
    "mmap_seq_write_end",
    "mmap_write_unlock",
    "i_mmap_unlock_write",
  ]);
  assert.deepEqual(labels.slice(0, 3), [
    "i_mmap_lock_write",
    "vma_interval_tree_foreach",
    "retract_page_tables",
  ]);
});

Deno.test("5.18: with mmap_lock held for reading the trylock fails and the table stays", () => {
  const { labels, mapped, state } = alone(function* (k, mm) {
    yield* mmap_read_lock(k, mm);
    yield* retract_page_tables_mmap_trylock(k, mm, GiB, { version: "5.18", mmap_write_unlock });
    yield* mmap_read_unlock(k, mm);
  });
  assert.equal(mapped, true);
  assert.equal(state, "live");
  assert.equal(labels.includes("pmdp_collapse_flush"), false);
});

Deno.test("6.6: no mmap_lock, the PTE lock nested in pmd_lock(), the free after a grace period", () => {
  const { labels, mapped, state } = alone((k, mm) => retract_page_tables_6_6(k, mm, GiB));
  assert.equal(mapped, false);
  assert.equal(state, "freed", "the RCU callback ran once the CPU left");
  assert.equal(labels.some((l) => l.startsWith("mmap_")), false);
  assert.deepEqual(labels.slice(labels.indexOf("i_mmap_lock_read")), [
    "i_mmap_lock_read",
    "vma_interval_tree_foreach",
    "retract_page_tables",
    "find_pmd_or_thp_or_none",
    "find_pmd_or_thp_or_none",
    "find_pmd_or_thp_or_none",
    "find_pmd_or_thp_or_none",
    "spin_lock",
    "spin_lock",
    "retract_page_tables",
    "pmdp_collapse_flush",
    "spin_unlock",
    "spin_unlock",
    "call_rcu",
    "i_mmap_unlock_read",
  ]);
});

Deno.test("6.5's pte_offset_map_lock() fails on a none PMD entry and goes again on a changed one", () => {
  // Per execution: the table it locked (or "none") and how many times it loaded the entry.
  const outcomes = new Set<string>();
  const result = explore((rt) => {
    const { k, mm, pmd, pte } = fileMm(rt);
    let found = "";
    let loads = 0;
    return {
      threads: [
        {
          name: "CPU0",
          body: function* () {
            const proc = pte_offset_map_lock(k, mm, pmd, GiB, pte, "6.5");
            let next = proc.next(0);
            while (!next.done) {
              if (next.value.label === "__pte_offset_map") loads++;
              next = proc.next(yield next.value);
            }
            found = next.value?.pte.obj.name ?? "none";
            if (next.value) yield* pte_unmap_unlock(k, next.value, "6.5");
          },
        },
        { name: "CPU1", body: () => retract_page_tables_6_6(k, mm, GiB) },
      ],
      finish: () => outcomes.add(`${found} after ${loads}`),
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.exhaustive, true);
  // Locked before the retraction; found none after it; or loaded the table, lost the
  // pmd_same() race to the retraction, and found none the second time.
  assert.deepEqual([...outcomes].sort(), [
    "PTE@0x40000000 after 1",
    "none after 1",
    "none after 2",
  ]);
});
