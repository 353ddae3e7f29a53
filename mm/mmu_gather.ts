/**
 * The mmu_gather of a teardown: the pages and page tables it has taken out of the
 * page tables, and the TLB flush that must come between taking them out and freeing
 * them, so that no CPU goes on using a translation of a page that is free.
 *
 * `zap_pte_range()` (memory.ts) clears PTEs and queues their pages
 * (`__tlb_remove_page()`, which widens the gather's range, `tlb->start`/`tlb->end`);
 * `free_pgtables()` queues the tables it unlinks. `tlb_finish_mmu()` →
 * `tlb_flush_mmu()` flushes the range from every CPU's TLB
 * (`tlb_flush_mmu_tlbonly()` → `flush_tlb_mm_range()`), then frees the pages
 * (`tlb_batch_pages_flush()`) and the tables as the configuration says (`TableFree`,
 * kernel.ts). A full batch with no page for the next one forces the flush early, under
 * the PTE lock (`zap_pte_range()`'s `force_flush`).
 *
 * The flush empties the TLB entries (tlb.ts) of the gather's range in one step. Under
 * `"ipi"` (bare-metal x86, `native_flush_tlb_multi()` with `wait = true`) it waits
 * for every CPU with IRQs off first (`wait_for_ipi()`, irq.ts). Under the RCU
 * configurations the flush is not waited for (it may be a hypercall under PARAVIRT, a
 * broadcast TLBI on arm64), and in a scenario without TLBs it is no step at all, as
 * nothing could observe it.
 *
 * Follows: mm/mmu_gather.c (`tlb_gather_mmu()`, `tlb_next_batch()`,
 * `tlb_flush_mmu()`, `tlb_finish_mmu()`, `tlb_remove_table()`),
 * include/asm-generic/tlb.h (`__tlb_adjust_range()`, `tlb_flush_mmu_tlbonly()`),
 * arch/x86/include/asm/tlb.h (`tlb_flush()` → `flush_tlb_mm_range()`), Linux 5.18
 * and 6.4. Left out: the flush of the `"ipi"` configuration when no table is freed
 * is not waited for either (pages are not what an IRQs-off walker reads), and
 * `tlb->fullmm`.
 *
 * @module
 */

import type { Access, Proc } from "../explore/mod.ts";
import { choose, type Kernel, step } from "./kernel.ts";
import type { Mm } from "./mm_types.ts";
import { entrySize, type Table } from "./pgtable.ts";
import type { KObject } from "./slab.ts";
import { call_rcu } from "./rcu.ts";
import { wait_for_ipi } from "./irq.ts";
import { put_page_ref, zapped } from "./page.ts";
import { allTlbs, flush_tlb_range, flush_tlb_range_step, flushAccesses } from "./tlb.ts";

/** `struct mmu_gather`: what a teardown frees once it is done. */
export interface MmuGather {
  readonly mm: Mm;
  readonly pages: KObject[];
  readonly tables: Table[];
  /**
   * How many pages the gather's batches hold: `tlb->local` (MMU_GATHER_BUNDLE pages),
   * plus MAX_GATHER_BATCH for each batch page `tlb_next_batch()` allocated. Batches
   * stay allocated after a flush (`batch->next` is reused), so this only grows.
   */
  batchPages: number;
  /** `tlb->start`, `tlb->end`: the range of the PTEs cleared since the last flush. */
  start: number;
  end: number;
}

/** `MMU_GATHER_BUNDLE`, the pages of the on-stack batch `tlb->local` (include/asm-generic/tlb.h). */
export const MMU_GATHER_BUNDLE = 8;
/** `MAX_GATHER_BATCH` with 4 KiB pages and 8-byte pointers: `(4096 - 16) / 8`. */
export const MAX_GATHER_BATCH = 510;

/** `tlb_gather_mmu()`: an empty gather for `mm`. */
export function tlb_gather_mmu(mm: Mm): MmuGather {
  return { mm, pages: [], tables: [], batchPages: MMU_GATHER_BUNDLE, start: Infinity, end: 0 };
}

/**
 * `tlb_remove_tlb_entry()` + `__tlb_remove_page()`, inside the step that cleared the
 * PTE at `addr`: widen the range to flush, queue `page`, mark it zapped for the audit.
 * True when the page fills the batch.
 */
export function tlb_remove_page(tlb: MmuGather, addr: number, page: KObject): boolean {
  tlb.start = Math.min(tlb.start, addr);
  tlb.end = Math.max(tlb.end, addr + entrySize("pte"));
  tlb.pages.push(page);
  zapped(page);
  return tlb.pages.length === tlb.batchPages;
}

/**
 * `tlb_next_batch()`, when `__tlb_remove_page()` has filled the active batch: a new
 * batch page, `__get_free_pages(GFP_NOWAIT | __GFP_NOWARN, 0)`, which may fail (both
 * outcomes explored, within the CPU's `allocFailures` bound, as in page_alloc.ts).
 * False: `__tlb_remove_page()` returns true and `zap_pte_range()` must force a flush.
 * (`tlb->batch_count == MAX_GATHER_BATCH_COUNT` is never reached by the model's few
 * pages.)
 */
export function* tlb_next_batch(k: Kernel, tlb: MmuGather): Proc<boolean> {
  const task = k.current;
  if (task.allocFailuresLeft > 0) {
    const failed = yield* choose(
      k,
      "tlb_next_batch",
      "GFP_NOWAIT",
      ["batch allocated", "fails: force_flush"],
    );
    if (failed) {
      task.allocFailuresLeft--;
      return false;
    }
  }
  tlb.batchPages += MAX_GATHER_BATCH;
  return true;
}

/**
 * `tlb_flush_mmu_tlbonly()` → `tlb_flush()` → `flush_tlb_mm_range()` for the range
 * cleared since the last flush (none: nothing to do, as the kernel's `if
 * (!(tlb->freed_tables || tlb->cleared_ptes ...)) return;`). `zap_pte_range()`'s
 * forced flush (`forced`) runs it with the PTE lock held, and under `"ipi"` waits for
 * its IPI even in a scenario without TLBs: a CPU with IRQs off then holds it, and the
 * PTE lock with it, until it enables IRQs, which the speculative series'
 * `pte_map_lock()` must not spin against (mm/spf.ts).
 */
export function* tlb_flush_mmu_tlbonly(k: Kernel, tlb: MmuGather, forced = false): Proc {
  if (tlb.start >= tlb.end) return;
  const [start, end] = [tlb.start, tlb.end];
  tlb.start = Infinity;
  tlb.end = 0;
  const tlbs = allTlbs(k).length > 0;
  const flush = () => flush_tlb_range(k, tlb.mm, start, end);
  const accesses = tlbs ? flushAccesses(k) : [];
  if (k.config.tableFree === "ipi" && (forced || tlbs)) {
    yield* wait_for_ipi(k, "flush_tlb_mm_range", "TLB flushed", accesses, flush);
  } else {
    yield* flush_tlb_range_step(k, "flush_tlb_mm_range", tlb.mm, start, end);
  }
}

/** `tlb_flush_mmu_free()` → `tlb_batch_pages_flush()`: frees the gathered pages now. */
export function* tlb_flush_mmu_free(k: Kernel, tlb: MmuGather, label = "tlb_flush_mmu_free"): Proc {
  const pages = tlb.pages.splice(0);
  if (!pages.length) return;
  yield* step(
    k,
    label,
    `free ${pages.map((p) => p.name).join(", ")}`,
    pages.map((p) => ({ obj: p.name, kind: "write" as const })),
    () => pages.forEach((p) => put_page_ref(k, p)),
  );
}

/**
 * `tlb_finish_mmu()`: flushes the TLB, frees the zapped pages, and frees the unlinked
 * tables as the kernel's configuration says (`k.config.tableFree`, see `TableFree` in
 * kernel.ts):
 *
 * - `"rcu"`: after an RCU grace period (`tlb_remove_table_rcu()`).
 * - `"ipi"`: x86 without CONFIG_PARAVIRT, 5.18 and 6.4, where `___pXd_free_tlb()` →
 *   `paravirt_tlb_remove_table()` is `tlb_remove_page()` (arch/x86/mm/pgtable.c): the
 *   tables are freed with the pages by `tlb_flush_mmu()` → `tlb_flush_mmu_free()`, after
 *   `tlb_flush_mmu_tlbonly()` → `flush_tlb_mm_range()` has sent the TLB-flush IPI and
 *   every other CPU has taken it (`wait_for_ipi()` in irq.ts), so after every IRQs-off
 *   section present at the flush. One step flushes and frees them all, pages included.
 * - `"rcu-ipi-fallback"`: `tlb_remove_table()` (mm/mmu_gather.c) allocates its batch
 *   page with GFP_NOWAIT; both outcomes are explored. Allocated: after a grace period,
 *   as `"rcu"`. Not: `tlb_remove_table_one()` → `tlb_remove_table_sync_one()`, an IPI
 *   to every CPU, then `__tlb_remove_table()` at once. Modelled loosely: the kernel
 *   tries the allocation at the first `tlb_remove_table()` of the gather, in
 *   `free_pgtables()`, and frees that table there, and tries again for the next one;
 *   the model decides once for all the gather's tables, here, after the pages.
 */
export function* tlb_finish_mmu(k: Kernel, tlb: MmuGather): Proc {
  const tableFree = k.config.tableFree;
  if (tableFree === "ipi" && tlb.tables.length) {
    const pages = tlb.pages.splice(0);
    const tables = tlb.tables.splice(0);
    const names = [...pages.map((p) => p.name), ...tables.map((t) => t.obj.name)];
    const [start, end] = [tlb.start, tlb.end];
    const flush: Access[] = start < end ? flushAccesses(k) : [];
    yield* wait_for_ipi(
      k,
      "tlb_flush_mmu",
      `free ${names.join(", ")}`,
      [...flush, ...names.map((obj) => ({ obj, kind: "write" as const }))],
      () => {
        if (flush.length) flush_tlb_range(k, tlb.mm, start, end);
        pages.forEach((p) => put_page_ref(k, p));
        tables.forEach((t) => k.slab.free(t.obj));
      },
    );
    return;
  }
  yield* tlb_flush_mmu_tlbonly(k, tlb);
  yield* tlb_flush_mmu_free(k, tlb, "tlb_finish_mmu");
  if (!tlb.tables.length) return;
  const tables = tlb.tables.splice(0);
  if (tableFree === "rcu-ipi-fallback") {
    const failed = yield* choose(
      k,
      "tlb_remove_table",
      "__get_free_page(GFP_NOWAIT | __GFP_NOWARN) for the batch",
      ["batch allocated", "fails: tlb_remove_table_one()"],
    );
    if (failed) {
      yield* wait_for_ipi(
        k,
        "tlb_remove_table_sync_one",
        `__tlb_remove_table(${tables.map((t) => t.obj.name).join(", ")})`,
        tables.map((t) => ({ obj: t.obj.name, kind: "write" as const })),
        () => tables.forEach((t) => k.slab.free(t.obj)),
      );
      return;
    }
  }
  yield* call_rcu(
    k,
    "tlb_remove_table_rcu",
    tables.map((t) => t.obj.name).join(", "),
    tables.map((t) => ({ obj: t.obj.name, kind: "write" as const })),
    () => tables.forEach((t) => k.slab.free(t.obj)),
  );
}
