/**
 * fork() on one CPU: what `dup_mmap()` leaves shared and write-protected, and what a
 * store after it does (a write-protect fault that copies the page), down to the words
 * each mm then holds; the audit on both.
 */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
import {
  check_mm,
  dup_mmap,
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  Kernel,
  mappingAt,
  type Mm,
  mm_alloc,
  mmap_write_lock,
  mmap_write_unlock,
  pageOf,
  pte_write,
  setupFault,
  setupTlb,
  setupVma,
  tlb_init,
  user_store,
  vma_lookup,
} from "./mod.ts";

const GiB = 0x40000000;
const PAGE = 0x1000;

/** Runs `body` on CPU0 over an mm with one VMA whose page at 1 GiB is mapped and cached. */
function run(body: (k: Kernel, mm: Mm) => Proc, after: (k: Kernel, mm: Mm, child: Mm) => void) {
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(k);
    setupVma(k, mm, GiB, GiB + 2 * PAGE);
    setupFault(k, mm, GiB);
    setupTlb(k, tlb_init(k, "CPU0"), mm, GiB);
    return {
      threads: [{ name: "CPU0", body: () => body(k, mm) }],
      finish: () => {
        check_mm(k, mm);
        after(k, mm, children.get(k)!);
      },
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.executions, 1);
}

const children = new WeakMap<Kernel, Mm>();

function* fork(k: Kernel, mm: Mm): Proc {
  yield* mmap_write_lock(k, mm);
  children.set(k, yield* dup_mmap(k, mm));
  yield* mmap_write_unlock(k, mm);
}

/** The write-protect fault itself: on one CPU no lock changes what it does. */
function* fault(k: Kernel, mm: Mm, addr: number) {
  const vma = (yield* vma_lookup(k, mm, addr))!;
  return yield* handle_mm_fault(
    k,
    mm,
    vma,
    addr,
    { tableGfp: GFP_PGTABLE_USER, pageGfp: GFP_HIGHUSER_MOVABLE },
    "write-protect",
  );
}

Deno.test("dup_mmap() shares the page read-only in both mms and links the child's anon_vma", () => {
  run(fork, (_k, mm, child) => {
    const parent = mappingAt(mm.pgd, GiB)!;
    const copy = mappingAt(child.pgd, GiB)!;
    assert.equal(copy.page, parent.page, "one page, two mappings");
    assert.equal(pte_write(parent.pte, GiB), false);
    assert.equal(pte_write(copy.pte, GiB), false);
    assert.equal(pageOf(parent.page)!.refcount, 2);
    assert.notEqual(copy.pte, parent.pte, "the child has page tables of its own");
    assert.deepEqual(child.vmas[0].avc, [
      "anon_vma(VMA@0x40000000)",
      "anon_vma(child VMA@0x40000000)",
    ]);
    assert.equal(child.vmas[0].anon_vma, "anon_vma(child VMA@0x40000000)");
  });
});

Deno.test("a store after fork copies the page: the parent has the store, the child the old page", () => {
  run(function* (k, mm) {
    // The TLB holds the page writable: this store takes no fault.
    yield* user_store(k, mm, GiB + 8, "before", () => fault(k, mm, GiB + 8));
    yield* fork(k, mm);
    // flush_tlb_mm() emptied the TLB: the store walks, finds the PTE read-only, faults.
    yield* user_store(k, mm, GiB + 8, "after", () => fault(k, mm, GiB + 8));
  }, (_k, mm, child) => {
    const parent = mappingAt(mm.pgd, GiB)!;
    const old = mappingAt(child.pgd, GiB)!;
    assert.notEqual(parent.page, old.page, "wp_page_copy() gave the parent a copy");
    assert.equal(pte_write(parent.pte, GiB), true);
    assert.equal(pageOf(parent.page)!.words.get(8), "after");
    assert.equal(pageOf(old.page)!.words.get(8), "before");
    assert.equal(pageOf(old.page)!.refcount, 1, "the child's mapping is the old page's last");
    assert.equal(pageOf(parent.page)!.anon_vma, "anon_vma(VMA@0x40000000)");
  });
});
