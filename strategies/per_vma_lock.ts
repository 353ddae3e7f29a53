/**
 * Strategy 6: per-VMA locks as merged in Linux 6.4 (Suren Baghdasaryan's series), the
 * design the seed mail's "agreed" approach became. Two additions close the holes the
 * explorer finds in strategy 3:
 *
 * - a VMA stays write-locked until `mmap_write_unlock()`, not until the writer's
 *   `up_write()`: `vma_start_write()` records `vma->vm_lock_seq = mm->mm_lock_seq`,
 *   and `vma_start_read()` refuses a VMA whose `vm_lock_seq` equals the mm's, checked
 *   before and after `down_read_trylock()`; `vma_end_write_all()` bumps
 *   `mm->mm_lock_seq` to release them all;
 * - after locking, `lock_vma_under_rcu()` checks `vma->detached` and retries the
 *   lookup if the VMA was taken out of the tree.
 *
 * Follows: mm/memory.c `lock_vma_under_rcu()`, include/linux/mm.h `vma_start_read()`,
 * `vma_start_write()`, `vma_end_read()`, mm/mmap.c `do_vmi_align_munmap()`,
 * kernel/fork.c `vm_area_free()` (call_rcu), arch/x86/mm/fault.c, Linux 6.4. Left
 * out: the `anon_vma` and userfaultfd checks of `lock_vma_under_rcu()` (the model's
 * VMAs are anonymous with no userfaultfd), the separately allocated `vm_lock`
 * (modelled inside the VMA, freed with it).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import {
  down_read_trylock,
  down_write,
  type FaultResult,
  handle_mm_fault,
  type Kernel,
  type Mm,
  mmap_write_lock,
  mmap_write_unlock,
  rcu_read_lock,
  rcu_read_unlock,
  step,
  unmap_region,
  up_read,
  up_write,
  vm_area_free_rcu,
  type Vma,
  vma_end_write_all,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
} from "../mm/mod.ts";
import { fault_under_mmap_lock, SLEEPING_ALLOCATIONS } from "./mmap_lock.ts";
import type { Strategy } from "./strategy.ts";

/** Whether `vma` is write-locked: `vma->vm_lock_seq == mm->mm_lock_seq`. */
function* isWriteLocked(k: Kernel, mm: Mm, vma: Vma, label: string): Proc<boolean> {
  return yield* step(k, label, `${vma.obj.name}->vm_lock_seq == mm->mm_lock_seq?`, [
    { obj: vma.obj.name, part: "vm_lock_seq", kind: "read" },
    { obj: mm.obj.name, part: "mm_lock_seq", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "vm_lock_seq");
    const locked = vma.vm_lock_seq === mm.mm_lock_seq;
    k.rt.note(locked ? "write-locked" : "not locked");
    return locked;
  });
}

/** `vma_start_read()`. */
function* vma_start_read(k: Kernel, mm: Mm, vma: Vma): Proc<boolean> {
  if (yield* isWriteLocked(k, mm, vma, "vma_start_read")) return false;
  if (!(yield* down_read_trylock(k, vma.sem))) return false;
  if (yield* isWriteLocked(k, mm, vma, "vma_start_read")) {
    yield* up_read(k, vma.sem, "vma_end_read");
    return false;
  }
  return true;
}

/** `lock_vma_under_rcu()`: a read-locked VMA containing `addr`, or undefined. */
function* lock_vma_under_rcu(k: Kernel, mm: Mm, addr: number): Proc<Vma | undefined> {
  yield* rcu_read_lock(k);
  for (;;) {
    const vma = yield* vma_lookup(k, mm, addr, "mas_walk");
    if (!vma || !(yield* vma_start_read(k, mm, vma))) break;
    const detached = yield* step(k, "lock_vma_under_rcu", `${vma.obj.name}->detached?`, [
      { obj: vma.obj.name, part: "detached", kind: "read" },
    ], () => {
      k.slab.read(vma.obj, "detached");
      k.rt.note(vma.detached ? "detached: retry" : "attached");
      return vma.detached;
    });
    if (!detached) {
      yield* rcu_read_unlock(k);
      return vma;
    }
    yield* up_read(k, vma.sem, "vma_end_read");
  }
  yield* rcu_read_unlock(k);
  return undefined;
}

function* fault(k: Kernel, mm: Mm, addr: number): Proc<FaultResult> {
  const vma = yield* lock_vma_under_rcu(k, mm, addr);
  if (vma) {
    const result = yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS);
    yield* up_read(k, vma.sem, "vma_end_read");
    if (result !== "retry") return result;
  }
  return yield* fault_under_mmap_lock(k, mm, addr);
}

/** `vma_start_write()`: lock the VMA until mmap_write_unlock(). */
function* vma_start_write(k: Kernel, mm: Mm, vma: Vma): Proc {
  if (yield* isWriteLocked(k, mm, vma, "vma_start_write")) return;
  yield* down_write(k, vma.sem);
  yield* step(k, "vma_start_write", `${vma.obj.name}->vm_lock_seq = mm->mm_lock_seq`, [
    { obj: vma.obj.name, part: "vm_lock_seq", kind: "write" },
    { obj: mm.obj.name, part: "mm_lock_seq", kind: "read" },
  ], () => {
    k.slab.write(vma.obj, "vm_lock_seq");
    vma.vm_lock_seq = mm.mm_lock_seq;
  });
  yield* up_write(k, vma.sem);
}

function* munmap(k: Kernel, mm: Mm, start: number): Proc {
  yield* mmap_write_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, start, "vma_find");
  if (vma) {
    yield* vma_start_write(k, mm, vma);
    const around = yield* vma_mas_remove(k, mm, vma);
    yield* unmap_region(k, mm, vma, around);
    yield* vm_area_free_rcu(k, vma);
  }
  yield* vma_end_write_all(k, mm);
  yield* mmap_write_unlock(k, mm);
}

function* mmap(k: Kernel, mm: Mm, start: number, end: number): Proc {
  yield* mmap_write_lock(k, mm);
  yield* vma_mas_store(k, mm, start, end);
  yield* vma_end_write_all(k, mm);
  yield* mmap_write_unlock(k, mm);
}

/** Strategy 6. */
export const perVmaLock: Strategy = {
  name: "per-vma-lock",
  title: "Per-VMA locks as merged (Linux 6.4)",
  summary: "lock_vma_under_rcu(): vm_lock_seq checks around the trylock, detached check, retry",
  source: "Suren Baghdasaryan, per-VMA locks, Linux 6.4 (mm/memory.c lock_vma_under_rcu())",
  expected: {
    "fault-vs-munmap": "safe",
    "fault-vs-munmap-neighbour": "safe",
    "fault-vs-fault": "safe",
    "fault-alloc-failure": "safe",
    "fault-vs-mmap": "safe",
    "fault-vs-munmap-mmap": "safe",
  },
  fault,
  munmap: (k, mm, start) => munmap(k, mm, start),
  mmap,
};
