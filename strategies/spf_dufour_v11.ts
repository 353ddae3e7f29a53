/**
 * Strategy: speculative page faults as Laurent Dufour's series wrote them, v11
 * ("[PATCH v11 00/26] Speculative page faults", LKML 2018-05-17,
 * <1526555193-7242-1-git-send-email-ldufour@linux.vnet.ibm.com>, on 4.17-rc), for
 * anonymous VMAs: no `mmap_sem`, a VMA held by a reference count and validated by its
 * own sequence count, `vm_sequence`, instead of the mm-wide `mmap_seq` of Michel
 * Lespinasse's later v2 (strategies/spf_v2.ts).
 *
 * The pieces, as the series has them (the patches read for this module):
 *
 * - "[PATCH v11 09/26] mm: VMA sequence count" (Peter Zijlstra): `seqcount_t
 *   vm_sequence` in the VMA, and `vm_write_begin(vma)` / `vm_write_end(vma)` around
 *   `unmap_page_range()`'s body, "used to detect when a VMA is being unmap and thus that
 *   new page fault should not be satisfied for this VMA".
 * - "mm: protect mm_rb tree with a rwlock" (v10 17/25, re-posted in v11): `get_vma()`
 *   looks the VMA up under `read_lock(&mm->mm_rb_lock)` and takes a reference
 *   (`atomic_inc(&vma->vm_ref_count)`); `put_vma()` drops one and frees the VMA at 0;
 *   `remove_vma()` drops the tree's; `__vma_rb_erase()` erases under
 *   `write_lock(&mm->mm_rb_lock)`, then `RB_CLEAR_NODE(&vma->vm_rb)`, "Matched by
 *   vma_has_changed()".
 * - "mm: provide speculative fault infrastructure" (Peter Zijlstra; read as posted in
 *   v10 18/25, quoted in full in Vinayak Menon's reply of 2018-05-15, and in v7 18/24):
 *   `__handle_speculative_fault()`: `get_vma()`; `seq =
 *   raw_read_seqcount(&vma->vm_sequence)`, odd → give up; `!vma->anon_vma` → give up;
 *   the walk with `local_irq_disable()`, `READ_ONCE()` of each level, giving up at a
 *   missing one ("The above does not allocate/instantiate page-tables because doing so
 *   would lead to the possibility of instantiating page-tables after free_pgtables()");
 *   `local_irq_enable()`; `read_seqcount_retry(&vma->vm_sequence, seq)`; then
 *   `handle_pte_fault()`, whose speculative `pmd_none(*vmf->pmd)` answers
 *   VM_FAULT_RETRY; `put_vma()`. `vma_has_changed(vmf)`: `RB_EMPTY_NODE(&vma->vm_rb) ||
 *   vma->vm_sequence.sequence != vmf->sequence`. `pte_map_lock()`:
 *   `local_irq_disable()`, `vma_has_changed()`, `pmd_same()`, `spin_trylock()` ("to
 *   avoid race with unmap path which may have the lock and wait for this CPU to
 *   invalidate TLB but this CPU has irq disabled"), `vma_has_changed()` again,
 *   `local_irq_enable()`. `do_anonymous_page()` is 4.17's, `pte_alloc()` and
 *   `pmd_trans_unstable()` included, with `pte_map_lock()` for the commit.
 * - A present PTE: the series handles write-protect and spurious faults speculatively
 *   ("mm: prepare for FAULT_FLAG_SPECULATIVE", Peter Zijlstra, and "mm: make
 *   pte_unmap_same compatible with SPF", both v10 of 2018-04-17, read as carried in the
 *   msm-4.9 backport, gerrit-public.fairphone.software kernel/msm-4.9 c3e62fff04c8 and
 *   6b73321e16b3): `handle_pte_fault()` takes the PTE lock with `pte_spinlock()`, and
 *   `wp_page_copy()` re-takes it with `pte_map_lock()`, both validating `vm_sequence`,
 *   which fork does not touch. That path is left out: here a present PTE falls back
 *   to `mmap_sem`. Modelled (with `pte_map_lock()`'s checks standing for
 *   `pte_spinlock()`'s) it loses a store on fork-vs-write-fault-stale-tlb, as
 *   Dufour's own v12 says v11 could ("[PATCH v12 18/31] mm: protect against PTE changes
 *   done by dup_mmap()", 2019-04-16), but that one pair then takes 134,276 executions
 *   (78 s), nearly three times the rest of the matrix together, so it is not kept, and this
 *   module's verdicts on the fork scenarios are not the series' (docs/fork.md).
 * - "[PATCH v11 24/26] x86/mm: add speculative pagefault handling": `__do_page_fault()`
 *   tries `handle_speculative_fault()` first and falls back to the classic path on
 *   VM_FAULT_RETRY.
 *
 * The writers are 4.17's, with the series' changes: munmap() holds `mmap_sem` for
 * writing throughout (`do_munmap()` had no `downgrade_write()` before 4.20), splits as
 * 4.17 does with `__vma_adjust()`'s `vm_raw_write_begin()` of the VMA it shrinks, erases
 * the VMA under `mm_rb_lock`, zaps inside `vm_write_begin()`/`vm_write_end()`, frees the
 * page tables, and drops the tree's reference (`remove_vma()` → `put_vma()`); mmap()
 * links the new VMA under `mm_rb_lock`; MADV_DONTNEED zaps under `down_read()` inside
 * the same brackets; mremap() follows "mm: protect mremap() against SPF hanlder" (read
 * in its v7 09/24 and v12 11/31 postings: the v11 mail was not found), and answers
 * `-EINVAL` to `MREMAP_DONTUNMAP`, which 4.17 does not have.
 *
 * Constant in the model, so written as comments where the code tests them:
 * `vma->vm_ops` (none: anonymous), `vm_flags` (read, for `VM_GROWSDOWN`), `anon_vma_prepare()` (the VMA's `anon_vma`
 * was checked set, and it is never cleared), userfaultfd, NUMA policy. Left out: the
 * VMA the series hands back to the classic path (`can_reuse_spf_vma()`: the fallback
 * looks the VMA up again), the
 * memcg OOM hooks, trace events and vmstats (patches 20/26 to 23/26). `mm_rb_lock` is
 * a spinning rwlock in the kernel and an rwsem here (mm/rwsem.ts); `RB_CLEAR_NODE()`
 * happens in the same step as the erase (`vma_mas_remove()`, which sets
 * `vma->detached`). Where a detail of v11 was not read (only v10's or v7's posting of
 * a patch), this module follows the posting it cites.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  down_read,
  down_write,
  entryAccess,
  entryName,
  type FaultCause,
  type FaultResult,
  free_pgd_range,
  GFP_PGTABLE_USER,
  isTable,
  type Kernel,
  local_irq_disable,
  local_irq_enable,
  madvise_dontneed,
  map_anon_page,
  type Mm,
  mmap_write_unlock,
  pte_lockptr,
  pXd_alloc,
  raw_read_seqcount,
  read_seqcount_retry,
  readEntry,
  retract_page_tables_mmap_trylock,
  type RetractLocking,
  spin_trylock,
  spin_unlock,
  SPLIT_5_18,
  split_for_munmap,
  type SplitPolicy,
  step,
  type Table,
  tlb_finish_mmu,
  tlb_gather_mmu,
  unlink_file_vma,
  unmap_page_range,
  up_read,
  up_write,
  type Vma,
  vma_contains,
  vma_link,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
  write_seqcount,
  type ZapRange,
} from "../mm/mod.ts";
import {
  fault_under_mmap_lock,
  fork_under_mmap_lock,
  KHUGEPAGED_5_18_EXPECTED,
  mremap_under_mmap_lock,
} from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

/** `struct vm_fault` on the speculative path, as far as the model needs it. */
interface VmFault {
  readonly mm: Mm;
  readonly vma: Vma;
  readonly address: number;
  /** `vmf->sequence`: the `vm_sequence` sampled before the walk. */
  readonly sequence: number;
  /** The PMD table that `vmf->pmd` points into. */
  readonly pmd: Table;
  /** `vmf->orig_pmd`: the PTE table the PMD entry held during the walk. */
  readonly orig_pmd: Table;
}

/** `get_vma(mm, addr)`: the VMA at `addr` with a reference taken, under `mm_rb_lock`. */
function* get_vma(k: Kernel, mm: Mm, address: number): Proc<Vma | undefined> {
  yield* down_read(k, mm.mm_rb_lock, "read_lock");
  // __find_vma() returns the first VMA ending above `address`; one starting above it
  // fails handle_speculative_fault()'s bounds check at once, which is this `lookup`.
  const vma = yield* vma_lookup(k, mm, address, "__find_vma");
  if (vma) {
    yield* step(k, "atomic_inc", `${vma.obj.name}->vm_ref_count`, [
      { obj: vma.obj.name, part: "vm_ref_count", kind: "write" },
    ], () => {
      k.slab.write(vma.obj, "vm_ref_count");
      vma.vm_ref_count++;
    });
  }
  yield* up_read(k, mm.mm_rb_lock, "read_unlock");
  return vma;
}

/**
 * `put_vma(vma)`: `if (atomic_dec_and_test(&vma->vm_ref_count)) __free_vma(vma);`, two
 * steps as the two statements are: only the reference that reaches 0 goes on to free,
 * and no one can take one after it (get_vma() finds the VMA in the tree, which holds a
 * reference until munmap() drops it).
 */
function* put_vma(k: Kernel, vma: Vma): Proc {
  const last = yield* step(k, "atomic_dec_and_test", `${vma.obj.name}->vm_ref_count`, [
    { obj: vma.obj.name, part: "vm_ref_count", kind: "write" },
  ], () => {
    k.slab.write(vma.obj, "vm_ref_count");
    return --vma.vm_ref_count === 0;
  });
  if (!last) return;
  yield* step(k, "__free_vma", vma.obj.name, [{ obj: vma.obj.name, kind: "write" }], () => {
    k.slab.free(vma.obj);
  });
}

/** `pXdval = READ_ONCE(*pXd)`: one load of entry `address` of `table`, named `label`. */
function* readOnce(k: Kernel, label: string, table: Table, address: number) {
  return yield* step(
    k,
    label,
    entryName(table, address),
    [entryAccess(table, address, "read")],
    () => {
      const entry = readEntry(k, table, address);
      k.rt.note(isTable(entry) ? entry.obj.name : entry ? entry.name : "none");
      return entry;
    },
  );
}

/**
 * `vma_has_changed(vmf)`: `RB_EMPTY_NODE(&vmf->vma->vm_rb)`, then
 * `READ_ONCE(vmf->vma->vm_sequence.sequence) != vmf->sequence`, two loads.
 */
function* vma_has_changed(k: Kernel, vmf: VmFault): Proc<boolean> {
  const vma = vmf.vma;
  const erased = yield* step(k, "vma_has_changed", `RB_EMPTY_NODE(${vma.obj.name})`, [
    { obj: vma.obj.name, part: "detached", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "detached");
    k.rt.note(vma.detached ? "erased" : "in the tree");
    return vma.detached;
  });
  const changed = yield* read_seqcount_retry(k, vma.vm_sequence, vmf.sequence, "vma_has_changed");
  return erased || changed;
}

/**
 * `pte_map_lock(vmf)` with FAULT_FLAG_SPECULATIVE: the PTE table, locked, if the VMA
 * has not changed; undefined, nothing held, otherwise.
 */
function* pte_map_lock(k: Kernel, vmf: VmFault): Proc<Table | undefined> {
  // "The first vma_has_changed() guarantees the page-tables are still valid, having
  // IRQs disabled ensures they stay around, hence the second vma_has_changed() to make
  // sure they are still valid once we've got the lock."
  yield* local_irq_disable(k);
  let locked: Table | undefined;
  if (!(yield* vma_has_changed(k, vmf))) {
    const pmdval = yield* readOnce(k, "pmd_same", vmf.pmd, vmf.address);
    if (pmdval === vmf.orig_pmd) {
      // ptl = pte_lockptr(mm, vmf->pmd); pte = pte_offset_map(vmf->pmd, address);
      const pte = vmf.orig_pmd;
      const ptl = pte_lockptr(k, vmf.mm, pte);
      if (yield* spin_trylock(k, ptl)) {
        if (yield* vma_has_changed(k, vmf)) yield* spin_unlock(k, ptl);
        else locked = pte;
      }
    }
  }
  // out:
  yield* local_irq_enable(k);
  return locked;
}

/** 4.17's `do_anonymous_page()` on the speculative path, for a write fault. */
function* do_anonymous_page(k: Kernel, vmf: VmFault): Proc<FaultResult> {
  // (VM_SHARED is never set on the model's anonymous VMAs.)
  // if (pte_alloc(vma->vm_mm, vmf->pmd, vmf->address)) return VM_FAULT_OOM;
  const pte = yield* pXd_alloc(k, vmf.mm, vmf.pmd, vmf.address, GFP_PGTABLE_USER);
  if (!pte) return "oom";
  // if (unlikely(pmd_trans_unstable(vmf->pmd))) return 0;
  if (!isTable(yield* readOnce(k, "pmd_trans_unstable", vmf.pmd, vmf.address))) return "done";
  // anon_vma_prepare(vma): `if (likely(vma->anon_vma)) return 0;`, checked set above.
  return yield* map_anon_page(
    k,
    vmf.mm,
    vmf.address,
    vmf.vma.anon_vma,
    () => pte_map_lock(k, vmf),
  );
}

/**
 * The part of `__handle_speculative_fault()` between the checks on the VMA and
 * `put_vma()`: the IRQs-off walk, the re-check of `vm_sequence`, `handle_pte_fault()`.
 */
function* speculative_walk(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  sequence: number,
): Proc<FaultResult> {
  // "Do a speculative lookup of the PTE entry."
  yield* local_irq_disable(k);
  let table = mm.pgd;
  let pmd: Table | undefined;
  while (table.level !== "pte") {
    const entry = yield* readOnce(k, `${table.level}_offset`, table, address);
    if (!isTable(entry)) {
      // out_walk:
      yield* local_irq_enable(k);
      return "retry";
    }
    if (entry.level === "pte") pmd = table;
    table = entry;
  }
  const orig_pte = yield* readOnce(k, "pte_offset_map", table, address);
  yield* local_irq_enable(k);
  // "We need to re-validate the VMA after checking the bounds, otherwise we might have
  // a false positive on the bounds."
  if (yield* read_seqcount_retry(k, vma.vm_sequence, sequence)) return "retry";
  // handle_pte_fault(): `if (unlikely(pmd_none(*vmf->pmd)))`, speculative: RETRY.
  const vmf: VmFault = { mm, vma, address, sequence, pmd: pmd!, orig_pmd: table };
  if (!isTable(yield* readOnce(k, "handle_pte_fault", vmf.pmd, address))) return "retry";
  // A present PTE is handled under pte_spinlock() by the series; here it falls back
  // (see the module comment).
  if (orig_pte) return "retry";
  return yield* do_anonymous_page(k, vmf);
}

/** `__handle_speculative_fault(mm, address, flags)` for a write to an anonymous VMA. */
function* handle_speculative_fault(k: Kernel, mm: Mm, address: number): Proc<FaultResult> {
  const vma = yield* get_vma(k, mm, address);
  if (!vma) return "retry";
  let result: FaultResult = "retry";
  // seq = raw_read_seqcount(&vma->vm_sequence); if (seq & 1) goto out_put;
  const seq = yield* raw_read_seqcount(k, vma.vm_sequence);
  if (seq % 2 === 0) {
    // (vma->vm_ops is NULL: anonymous.) if (unlikely(!vma->anon_vma)) goto out_put;
    const anon = yield* step(k, "handle_speculative_fault", `${vma.obj.name}->anon_vma`, [
      { obj: vma.obj.name, part: "anon_vma", kind: "read" },
    ], () => {
      k.slab.read(vma.obj, "anon_vma");
      return vma.anon_vma;
    });
    // vmf.vma_flags = READ_ONCE(vma->vm_flags); ... if (vmf.vma_flags & VM_GROWSDOWN ||
    // vmf.vma_flags & VM_GROWSUP) goto out_put;
    const growsdown = anon &&
      (yield* step(k, "handle_speculative_fault", `${vma.obj.name}->vm_flags`, [
        { obj: vma.obj.name, part: "vm_flags", kind: "read" },
      ], () => {
        k.slab.read(vma.obj, "vm_flags");
        return vma.growsdown;
      }));
    // if (address < READ_ONCE(vma->vm_start) || READ_ONCE(vma->vm_end) <= address)
    //   goto out_put;
    const inside = anon && !growsdown &&
      (yield* vma_contains(k, vma, address, "handle_speculative_fault"));
    if (inside) result = yield* speculative_walk(k, mm, vma, address, seq);
  }
  // out_put:
  yield* put_vma(k, vma);
  return result;
}

/** Patch 09/26's `unmap_page_range()`: its body inside `vm_write_begin()`/`vm_write_end()`. */
const zapInVmWrite: ZapRange = function* (k, tlb, mm, vma, start, end) {
  yield* write_seqcount(k, vma.vm_sequence, "vm_write_begin");
  yield* unmap_page_range(k, tlb, mm, start, end);
  yield* write_seqcount(k, vma.vm_sequence, "vm_write_end");
};

/**
 * 4.17's madvise(MADV_DONTNEED): under `down_read(&mm->mmap_sem)`, the zap inside
 * `vm_write_begin()`/`vm_write_end()` as patch 09/26 has every `unmap_page_range()`.
 */
function* madvise_dontneed_v11(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* down_read(k, mm.mmap_lock, "down_read");
  yield* madvise_dontneed(k, mm, start, end, zapInVmWrite);
  yield* up_read(k, mm.mmap_lock, "up_read");
}

/**
 * 4.17's split with patch 09/26's hooks: `__vma_adjust()` brackets the change of `vma`
 * with `vm_raw_write_begin(vma)` / `vm_raw_write_end(vma)` (and of `next`, the VMA
 * after, which no scenario's split touches); the new VMA, `insert`, is not bracketed:
 * it enters the tree with an even `vm_sequence` of its own (`INIT_VMA()`, 08/26).
 */
function splitV11(k: Kernel): SplitPolicy {
  return {
    ...SPLIT_5_18,
    prepare: (vma) => write_seqcount(k, vma.vm_sequence, "vm_raw_write_begin"),
    complete: (vma) => write_seqcount(k, vma.vm_sequence, "vm_raw_write_end"),
  };
}

/**
 * 4.17's munmap() of [start, end) in one VMA with the series' changes: under
 * `mmap_sem` for writing throughout, the split (`splitV11()`), erase under
 * `mm_rb_lock`, zap inside `vm_write_begin()` / `vm_write_end()`, free the page
 * tables, drop the tree's reference.
 */
function* munmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* down_write(k, mm.mmap_lock, "down_write");
  yield* do_munmap(k, mm, start, end);
  yield* up_write(k, mm.mmap_lock, "up_write");
}

/** `do_munmap()` with the series' changes, `mmap_sem` held for writing (see munmap()). */
function* do_munmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  const found = yield* vma_lookup(k, mm, start, "find_vma");
  if (found) {
    const vma = yield* split_for_munmap(k, mm, found, start, end, splitV11(k));
    // detach_vmas_to_be_unmapped() → vma_rb_erase(): write_lock(&mm->mm_rb_lock), ...
    yield* down_write(k, mm.mm_rb_lock, "write_lock");
    const around = yield* vma_mas_remove(k, mm, vma);
    yield* up_write(k, mm.mm_rb_lock, "write_unlock");
    // unmap_region(): unmap_vmas() → unmap_page_range(), with patch 09/26's hooks.
    const tlb = tlb_gather_mmu(mm);
    yield* zapInVmWrite(k, tlb, mm, vma, vma.start, vma.end);
    // free_pgtables(): unlink_anon_vmas(), unlink_file_vma(), then the tables.
    yield* unlink_file_vma(k, vma);
    yield* free_pgd_range(
      k,
      tlb,
      mm,
      vma.start,
      vma.end,
      around.prev ? around.prev.end : 0,
      around.next ? around.next.start : 0,
    );
    yield* tlb_finish_mmu(k, tlb);
    // remove_vma_list() → remove_vma() → put_vma()
    yield* put_vma(k, vma);
  }
}

/** 4.17's mmap() of a new anonymous VMA: linked under `mm_rb_lock`, `mmap_sem` held. */
function* mmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* down_write(k, mm.mmap_lock, "down_write");
  // vma_link() → __vma_link_rb(): mm_rb_write_lock(mm) around the insertion.
  yield* down_write(k, mm.mm_rb_lock, "write_lock");
  yield* vma_mas_store(k, mm, start, end);
  yield* up_write(k, mm.mm_rb_lock, "write_unlock");
  yield* up_write(k, mm.mmap_lock, "up_write");
}

/** Strategy: Dufour's speculative page faults, v11. */
/**
 * 4.17's khugepaged: `retract_page_tables()` (shmem only) under
 * `down_write_trylock(&mm->mmap_sem)`, released before `pte_free()`.
 */
const RETRACT_4_17: RetractLocking = { version: "4.17", mmap_write_unlock };

export const spfDufourV11: Strategy = {
  name: "spf-dufour-v11",
  title: "Speculative page faults, per-VMA sequence count (Laurent Dufour, v11)",
  summary: "get_vma() refcount; vm_sequence + RB_EMPTY_NODE; IRQs-off walk; pte_map_lock() trylock",
  source: "Laurent Dufour, [PATCH v11 00/26] Speculative page faults, LKML 2018-05-17",
  // Recorded from exploration (docs/spf-dufour-v11.md), then checked against the
  // series' code: safe wherever a table the fault needs is missing (the walk gives up)
  // and against another fault or mmap(); where the tables exist, handle_pte_fault()'s
  // `pmd_none(*vmf->pmd)` and do_anonymous_page()'s pte_alloc() load the PMD entry
  // after local_irq_enable(), as spf-v2's reloads do. The fork scenarios are safe only
  // because the speculative write-protect path is left out (the module comment).
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-munmap-shared-pte-tables": "safe",
    "fault-vs-munmap-low-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-vs-fault-same-page": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
    "munmap-vs-munmap": "safe",
    "fault-vs-munmap-pte-present": "violation:use-after-free",
    "fault-vs-munmap-below-stack": "violation:use-after-free",
    "fork-vs-stale-tlb-store": "safe",
    "fork-vs-write-fault": "safe",
    "fork-vs-write-fault-stale-tlb": "safe",
    "fork-vs-first-fault": "safe",
    "dontneed-vs-stale-tlb-store": "safe",
    "dontneed-vs-write-fault": "safe",
    "dontneed-vs-write-fault-stale-tlb": "safe",
    "fault-vs-partial-munmap": "safe",
    "fault-vs-partial-munmap-kept": "safe",
    "store-vs-mremap": "violation:lost-write",
    "mremap-vs-stale-tlb-store": "violation:lost-write",
    "store-at-target-vs-mremap": "safe",
    "store-vs-mremap-pmd": "safe",
    "fault-vs-mremap-dontunmap": "safe",
    "gup-fast-vs-munmap": "safe",
    "gup-slow-vs-munmap": "safe",
    "gup-slow-vs-dontneed": "safe",
    "stack-vs-stack-expansion": "safe",
    "stack-expansion-vs-fault": "safe",
    // 4.17's retraction (RETRACT_4_17) frees the table at once, as 5.18's does.
    ...KHUGEPAGED_5_18_EXPECTED,
  },
  fault: function* (k: Kernel, mm: Mm, address: number, cause?: FaultCause): Proc<FaultResult> {
    const result = yield* handle_speculative_fault(k, mm, address);
    if (result !== "retry") return result;
    // __do_page_fault(): the classic path, under mmap_sem.
    return yield* fault_under_mmap_lock(k, mm, address, cause);
  },
  // 4.17's dup_mmap() under down_write(&oldmm->mmap_sem); v11 adds nothing there (its
  // v12 did: "[PATCH v12 18/31] mm: protect against PTE changes done by dup_mmap()").
  fork: (k, mm) => fork_under_mmap_lock(k, mm),
  munmap,
  mmap,
  madvise_dontneed: madvise_dontneed_v11,
  // 4.17 has no MREMAP_DONTUNMAP (5.7): `if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE))
  // return ret;`, -EINVAL before any lock.
  mremap: (k, mm, start, end, to, dontunmap) =>
    dontunmap ? (function* () {})() : mremap_under_mmap_lock(k, mm, start, end, to, false, {
      hooks: {
        // "mm: protect mremap() against SPF hanlder": copy_vma() write-begins the new
        // VMA before vma_link() (under mm_rb_lock, as every link here), move_vma() the
        // old one before the PTEs move, and both end once they have.
        lockNew: (copy) => write_seqcount(k, copy.vm_sequence, "vm_raw_write_begin"),
        link: function* (copy) {
          yield* down_write(k, mm.mm_rb_lock, "write_lock");
          yield* vma_link(k, mm, copy);
          yield* up_write(k, mm.mm_rb_lock, "write_unlock");
        },
        beforeMove: (vma) => write_seqcount(k, vma.vm_sequence, "vm_raw_write_begin"),
        afterMove: function* (vma, copy) {
          yield* write_seqcount(k, vma.vm_sequence, "vm_raw_write_end");
          yield* write_seqcount(k, copy.vm_sequence, "vm_raw_write_end");
        },
        unmapOld: (s, e) => do_munmap(k, mm, s, e),
      },
      lock: (k, mm) => down_write(k, mm.mmap_lock, "down_write"),
      unlock: (k, mm) => up_write(k, mm.mmap_lock, "up_write"),
    }),
  // 4.17's shmem-only retract_page_tables(): v11 does not touch it.
  khugepaged: (k, mm, addr) => retract_page_tables_mmap_trylock(k, mm, addr, RETRACT_4_17),
};
