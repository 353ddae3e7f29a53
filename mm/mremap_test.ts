/**
 * mremap(), munmap() of part of a VMA and MADV_DONTNEED on one CPU: where the pages
 * and tables end up, what the TLB holds, and what the audit then says, down to the
 * words a store left.
 */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
import {
  check_mm,
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  Kernel,
  type KObject,
  lookup,
  madvise_dontneed,
  mappingAt,
  type Mm,
  mm_alloc,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  move_vma,
  pageOf,
  pathTo,
  setupFault,
  setupTlb,
  setupVma,
  SPLIT_5_18,
  split_for_munmap,
  type Table,
  tlb_init,
  tlbOf,
  unmap_region,
  user_store,
  vm_area_free,
  vma_lookup,
  vma_mas_remove,
} from "./mod.ts";

const GiB = 0x40000000;
const MiB = 0x100000;
const PAGE = 0x1000;

/**
 * Runs `body` on CPU0 over an mm with one VMA [1 GiB, 1 GiB + `size`) whose first page
 * is mapped and cached writable in CPU0's TLB; `after` sees the end state, which the
 * audit has passed (or `audit` gets its error).
 */
function run(
  size: number,
  body: (k: Kernel, mm: Mm) => Proc,
  after: (k: Kernel, mm: Mm) => void,
  audit?: (message: string) => void,
) {
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(k);
    setupVma(k, mm, GiB, GiB + size);
    setupVma(k, mm, 512 * GiB, 512 * GiB + PAGE);
    setupFault(k, mm, GiB);
    setupTlb(k, tlb_init(k, "CPU0"), mm, GiB);
    return {
      threads: [{ name: "CPU0", body: () => body(k, mm) }],
      finish: () => {
        check_mm(k, mm);
        after(k, mm);
      },
    };
  });
  if (audit) {
    assert.ok(result.counterexample, "the audit finds the broken run");
    audit(result.counterexample.message);
    return;
  }
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.executions, 1);
}

/** The 5.18 unmap of [start, end) under the write lock already held. */
function* unmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  const found = yield* vma_lookup(k, mm, start);
  const vma = yield* split_for_munmap(k, mm, found!, start, end, SPLIT_5_18);
  const around = yield* vma_mas_remove(k, mm, vma);
  yield* unmap_region(k, mm, vma, around);
  yield* vm_area_free(k, vma);
}

function* store(k: Kernel, mm: Mm, addr: number, value: string): Proc {
  assert.equal(
    yield* user_store(k, mm, addr, value, () => {
      throw new Error("no fault expected");
    }),
    "done",
  );
}

Deno.test("mremap() moves PTE by PTE, flushes the old translation and takes the stores along", () => {
  run(4 * PAGE, function* (k, mm) {
    yield* store(k, mm, GiB + 0x10, "7");
    yield* mmap_write_lock(k, mm);
    const vma = yield* vma_lookup(k, mm, GiB);
    yield* move_vma(k, mm, vma!, GiB + 4 * MiB, false, {
      unmapOld: (s, e) => unmap(k, mm, s, e),
    });
    yield* mmap_write_unlock(k, mm);
  }, (k, mm) => {
    assert.equal(mappingAt(mm.pgd, GiB), undefined, "nothing left at the old address");
    const moved = mappingAt(mm.pgd, GiB + 4 * MiB);
    assert.ok(moved, "the page is at the new address");
    assert.equal(pageOf(moved.page)?.words.get(0x10), "7");
    assert.equal(lookup(mm, GiB), undefined);
    assert.equal(lookup(mm, GiB + 4 * MiB)?.end, GiB + 4 * MiB + 4 * PAGE);
    assert.equal(tlbOf(k, "CPU0")!.entries.size, 0, "move_ptes() flushed the old translation");
  });
});

Deno.test("mremap() of a whole PMD extent moves the PTE table itself", () => {
  let table: Table | undefined;
  run(2 * MiB, function* (k, mm) {
    table = mappingAt(mm.pgd, GiB)!.pte;
    yield* mmap_write_lock(k, mm);
    const vma = yield* vma_lookup(k, mm, GiB);
    yield* move_vma(k, mm, vma!, GiB + 4 * MiB, false, {
      unmapOld: (s, e) => unmap(k, mm, s, e),
    });
    yield* mmap_write_unlock(k, mm);
  }, (_k, mm) => {
    const moved = mappingAt(mm.pgd, GiB + 4 * MiB);
    assert.equal(moved?.pte, table, "move_normal_pmd() moved the table, not its entries");
    assert.equal(moved!.pte.base, GiB + 4 * MiB);
  });
});

Deno.test("MREMAP_DONTUNMAP keeps the old VMA, empty and without an anon_vma", () => {
  run(4 * PAGE, function* (k, mm) {
    yield* mmap_write_lock(k, mm);
    const vma = yield* vma_lookup(k, mm, GiB);
    yield* move_vma(k, mm, vma!, GiB + 4 * MiB, true, {
      unmapOld: () => {
        throw new Error("DONTUNMAP unmaps nothing");
      },
    });
    yield* mmap_write_unlock(k, mm);
  }, (_k, mm) => {
    const old = lookup(mm, GiB)!;
    assert.equal(old.anon_vma, undefined);
    assert.deepEqual(old.avc, []);
    assert.equal(mappingAt(mm.pgd, GiB), undefined);
    const copy = lookup(mm, GiB + 4 * MiB)!;
    assert.equal(copy.anon_vma, `anon_vma(${old.obj.name})`, "the copy shares the anon_vma");
  });
});

Deno.test("a store into the old range after its PTEs moved, unmapped with it, is a lost write", () => {
  run(
    4 * PAGE,
    function* (k, mm) {
      yield* mmap_write_lock(k, mm);
      const vma = (yield* vma_lookup(k, mm, GiB))!;
      // A move whose old range stays mapped for a while, as the mail's design lets a
      // fault see it: the store faults a page into the old VMA, and the unmap takes it.
      yield* move_vma(k, mm, vma, GiB + 4 * MiB, false, { unmapOld: function* () {} });
      yield* mmap_write_unlock(k, mm);
      const addr = GiB + PAGE + 0x8;
      yield* user_store(k, mm, addr, "1", (cause) =>
        handle_mm_fault(k, mm, vma, addr, {
          tableGfp: GFP_PGTABLE_USER,
          pageGfp: GFP_HIGHUSER_MOVABLE,
        }, cause));
      yield* mmap_write_lock(k, mm);
      yield* unmap(k, mm, GiB, GiB + 4 * PAGE);
      yield* mmap_write_unlock(k, mm);
    },
    () => {},
    (message) => {
      assert.match(
        message,
        /store of 1 to 0x40001008, which mremap\(\) moved to 0x40401008 is lost/,
      );
      assert.match(message, /maps no page there/);
    },
  );
});

Deno.test("munmap() of the upper half splits the VMA: the lower half keeps its page and tables", () => {
  run(8 * PAGE, function* (k, mm) {
    yield* mmap_write_lock(k, mm);
    yield* unmap(k, mm, GiB + 4 * PAGE, GiB + 8 * PAGE);
    yield* mmap_write_unlock(k, mm);
  }, (_k, mm) => {
    const kept = lookup(mm, GiB)!;
    assert.equal(kept.start, GiB);
    assert.equal(kept.end, GiB + 4 * PAGE);
    assert.equal(lookup(mm, GiB + 5 * PAGE), undefined);
    assert.ok(mappingAt(mm.pgd, GiB), "the lower half's page is still mapped");
  });
});

Deno.test("munmap() of the lower half (5.18's new_below = 1 at the end) leaves the upper half", () => {
  run(8 * PAGE, function* (k, mm) {
    yield* mmap_write_lock(k, mm);
    yield* unmap(k, mm, GiB, GiB + 4 * PAGE);
    yield* mmap_write_unlock(k, mm);
  }, (_k, mm) => {
    assert.equal(lookup(mm, GiB), undefined);
    const kept = lookup(mm, GiB + 4 * PAGE)!;
    assert.equal(kept.start, GiB + 4 * PAGE);
    assert.equal(kept.obj.name, "VMA@0x40000000", "the old VMA object is the upper half");
    assert.equal(mappingAt(mm.pgd, GiB), undefined, "the unmapped page is gone");
  });
});

Deno.test("MADV_DONTNEED frees the page, keeps the tables and flushes the TLB", () => {
  let pte: Table | undefined;
  let old: KObject | undefined;
  run(4 * PAGE, function* (k, mm) {
    ({ pte, page: old } = mappingAt(mm.pgd, GiB)!);
    yield* store(k, mm, GiB + 0x8, "1");
    yield* mmap_read_lock(k, mm);
    assert.equal(yield* madvise_dontneed(k, mm, GiB, GiB + PAGE), true);
    yield* mmap_read_unlock(k, mm);
    assert.equal(tlbOf(k, "CPU0")!.entries.size, 0, "the zap flushed the translation");
  }, (k, mm) => {
    assert.equal(mappingAt(mm.pgd, GiB), undefined);
    assert.equal(pathTo(mm.pgd, GiB).at(-1), pte, "the PTE table stays");
    assert.equal(k.slab.objects.get(old!.name)?.state, "freed");
  });
});

Deno.test("MADV_DONTNEED of a range in no VMA is -ENOMEM and zaps nothing", () => {
  run(4 * PAGE, function* (k, mm) {
    yield* mmap_read_lock(k, mm);
    assert.equal(yield* madvise_dontneed(k, mm, 2 * GiB, 2 * GiB + PAGE), false);
    yield* mmap_read_unlock(k, mm);
  }, (_k, mm) => assert.ok(mappingAt(mm.pgd, GiB)));
});
