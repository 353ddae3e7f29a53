/** get_user_pages_fast(): which path takes the reference, and what it leaves behind. */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
import {
  get_user_pages_fast,
  Kernel,
  type KObject,
  type Mm,
  mm_alloc,
  pageOf,
  setupFault,
  setupVma,
} from "./mod.ts";

const GiB = 0x40000000;
const PAGE = 0x1000;

/**
 * Runs `get_user_pages_fast(addr)` alone on an mm with [GiB, GiB + 4 pages) mapped and
 * its first page faulted in; returns the kernel functions of its steps, the page it
 * got, and that page's count at the end.
 */
function gup(addr: number) {
  const labels: string[] = [];
  let got: KObject | undefined;
  let count: number | undefined;
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(k);
    setupVma(k, mm, GiB, GiB + 4 * PAGE);
    setupFault(k, mm, GiB);
    return {
      threads: [{
        name: "CPU0",
        body: () => recorded(k, mm, addr, labels, (page) => got = page),
      }],
      finish: () => count = got && pageOf(got)?.refcount,
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  return { labels, page: got?.name, count };
}

function* recorded(
  k: Kernel,
  mm: Mm,
  addr: number,
  labels: string[],
  done: (page: KObject | undefined) => void,
): Proc {
  const proc = get_user_pages_fast(k, mm, addr);
  let next = proc.next(0);
  while (!next.done) {
    labels.push(next.value.label);
    next = proc.next(yield next.value);
  }
  done(next.value);
}

Deno.test("a mapped, writable page is GUP-fast's: IRQs off, no mmap_lock", () => {
  const { labels, page, count } = gup(GiB);
  assert.equal(page, "page@0x40000000");
  assert.equal(count, 2, "the mapping's reference and GUP's");
  assert.deepEqual(labels, [
    "local_irq_disable",
    "gup_pgd_range",
    "gup_p4d_range",
    "gup_pud_range",
    "gup_pmd_range",
    "gup_pte_range",
    "try_grab_folio",
    "gup_pte_range",
    "local_irq_enable",
  ]);
});

Deno.test("a page not mapped yet is the slow path's: faulted in under mmap_read_lock()", () => {
  const { labels, page, count } = gup(GiB + PAGE);
  assert.equal(page, "page@0x40001000");
  assert.equal(count, 2);
  assert.ok(labels.includes("mmap_read_lock") && labels.includes("handle_mm_fault"), `${labels}`);
  assert.equal(labels.filter((l) => l === "follow_page_pte").length, 2, "followed, faulted, again");
  assert.equal(labels.at(-1), "mmap_read_unlock");
});

Deno.test("outside every VMA, GUP gets nothing (-EFAULT) and takes no fault", () => {
  const { labels, page } = gup(GiB + 8 * PAGE);
  assert.equal(page, undefined);
  assert.ok(!labels.includes("handle_mm_fault"), `${labels}`);
});
