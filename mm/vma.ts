/**
 * The VMA tree and VMA lifetimes: looking a VMA up, taking it out of the tree,
 * putting one in, freeing one now or after an RCU grace period.
 *
 * Every lookup and every change goes through maple_tree.ts: for a strategy on Linux
 * 6.3+ the tree is a maple tree in RCU mode whose nodes are replaced and freed by RCU,
 * and each lookup says what protects it, as its kernel caller does; for a strategy on
 * 5.18 it is the rbtree, read and written in place. A lookup reads only the tree (which
 * stores each VMA's range), not the VMA; what the caller then does with the VMA
 * pointer is checked against the VMA's lifetime.
 *
 * Follows: mm/mmap.c (`vma_lookup()`, `find_vma()`, `vm_area_free()`), lib/maple_tree.c,
 * Linux 6.1; kernel/fork.c (`vm_area_free()` by call_rcu with CONFIG_PER_VMA_LOCK),
 * Linux 6.4.
 *
 * @module
 */

import type { Access, Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { hex } from "./pgtable.ts";
import { insertVma, type Mm, vm_area_alloc, type Vma } from "./mm_types.ts";
import { call_rcu } from "./rcu.ts";
import { mmap_assert_write_locked } from "./mmap_lock.ts";
import {
  type MapleSlot,
  mt_walk,
  slotFrom,
  slotVma,
  tree_store,
  type WalkProtection,
} from "./maple_tree.ts";

/**
 * vma_lookup(): the VMA containing `addr`, or undefined, as kernel function `label`
 * (`mas_walk()` in lock_vma_under_rcu(), `vma_find()` in munmap()). `protection` is
 * what keeps the walk's nodes alive (maple_tree.ts): `vma_lookup()`'s own
 * `mtree_load()` takes `rcu_read_lock()` unless the caller says otherwise.
 */
export function* vma_lookup(
  k: Kernel,
  mm: Mm,
  addr: number,
  label = "vma_lookup",
  protection: WalkProtection = "rcu-inside",
): Proc<Vma | undefined> {
  return yield* mt_walk(k, mm, label, hex(addr), protection, (slots) => {
    const vma = slotVma(slots, addr);
    k.rt.note(vma ? vma.obj.name : "none");
    return vma;
  });
}

/**
 * find_vma(): the slot of the first VMA ending above `addr` (the VMA at `addr`, or the
 * next one), with the range the tree holds for it; `mt_find()` takes
 * `rcu_read_lock()` itself. The fault's `vma->vm_start <= address` is tested on that
 * range: the only writer that can change it under the caller's `mmap_lock`, a stack
 * expansion, changes `vm_start` and the tree in one step (stack.ts).
 */
export function* find_vma(k: Kernel, mm: Mm, addr: number): Proc<MapleSlot | undefined> {
  return yield* mt_walk(k, mm, "find_vma", hex(addr), "rcu-inside", (slots) => {
    const slot = slotFrom(slots, addr);
    k.rt.note(slot ? `${slot.vma?.obj.name} [${hex(slot.start)}, ${hex(slot.end)})` : "none");
    return slot;
  });
}

/**
 * `vma->vm_start <= address && address < vma->vm_end`, loaded from the VMA itself (a
 * split changes them, mmap.ts): the test a lockless fault makes of the VMA it found.
 */
export function* vma_contains(k: Kernel, vma: Vma, address: number, label: string): Proc<boolean> {
  return yield* step(k, label, `${vma.obj.name} contains ${hex(address)}?`, [
    { obj: vma.obj.name, part: "vm_start", kind: "read" },
    { obj: vma.obj.name, part: "vm_end", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "vm_start");
    k.slab.read(vma.obj, "vm_end");
    return vma.start <= address && address < vma.end;
  });
}

/** Neighbours of a VMA, for the floor and ceiling of free_pgtables(). */
export interface Neighbours {
  readonly prev: Vma | undefined;
  readonly next: Vma | undefined;
}

/**
 * The rule for changing the tree: `mmap_lock` held for writing. The maple tree checks it
 * with lockdep: kernel/fork.c `mm_init()` makes `mmap_lock` the tree's lock
 * (`mt_set_external_lock(&mm->mm_mt, &mm->mmap_lock)`), and lib/maple_tree.c loads
 * slots on the write side with `rcu_dereference_protected(..., mt_locked(mt))`, later
 * `mt_write_locked(mt)` (held for writing), Linux 6.1; and 6.4's munmap() write-locks
 * the VMA first, `vma_start_write()`, whose `__is_vma_write_locked()` begins with
 * `mmap_assert_write_locked(vma->vm_mm)`.
 */
export function assertTreeWriter(k: Kernel, mm: Mm, fn: string): void {
  mmap_assert_write_locked(k, mm, fn);
}

/**
 * Removes `vma` from the tree (5.18's `detach_vmas_to_be_unmapped()`, 6.1's
 * `vma_mas_remove()`) and returns its neighbours. Needs `mmap_lock` held for writing
 * (`assertTreeWriter()`).
 */
export function* vma_mas_remove(k: Kernel, mm: Mm, vma: Vma): Proc<Neighbours> {
  return yield* tree_store(
    k,
    mm,
    "vma_mas_remove",
    vma.obj.name,
    [
      { obj: vma.obj.name, part: "detached", kind: "write" },
    ],
    () => assertTreeWriter(k, mm, "vma_mas_remove"),
    () => {
      const at = mm.vmas.indexOf(vma);
      if (at < 0) throw new Error(`${vma.obj.name} is not in the tree`);
      mm.vmas.splice(at, 1);
      k.slab.write(vma.obj, "detached");
      vma.detached = true;
      return { prev: mm.vmas[at - 1], next: mm.vmas[at] };
    },
  );
}

/**
 * `vm_area_alloc()` + `vma_mas_store()`: a new VMA for [start, end) in the tree. Needs
 * `mmap_lock` held for writing (`assertTreeWriter()`). With `writeLocked`, the VMA is
 * write-locked before it is stored, as Linux 6.6's `mmap_region()` does
 * (`vma_start_write(vma)` before `vma_iter_store()`: "mm: always lock new vma before
 * inserting into vma tree", 6.6-rc1): no one can see the VMA yet, so the lock is
 * uncontended and its steps are this one (`vm_lock_seq = mm_lock_seq`).
 */
export function* vma_mas_store(
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  writeLocked = false,
): Proc<Vma> {
  const accesses: Access[] = writeLocked
    ? [{ obj: mm.obj.name, part: "mm_lock_seq", kind: "read" }]
    : [];
  return yield* tree_store(
    k,
    mm,
    "vma_mas_store",
    `[${hex(start)}, ${hex(end)})`,
    accesses,
    () => assertTreeWriter(k, mm, "vma_mas_store"),
    () => {
      const vma = vm_area_alloc(k, start, end);
      if (writeLocked) {
        k.slab.read(mm.obj, "mm_lock_seq");
        vma.vm_lock_seq = mm.mm_lock_seq;
      }
      insertVma(mm, vma);
      k.rt.note(vma.obj.name);
      return vma;
    },
  );
}

/**
 * `vma_link()`: puts `vma`, made by `vm_area_dup()` (mremap's copy), in the tree. Needs
 * `mmap_lock` held for writing (`assertTreeWriter()`).
 */
export function* vma_link(k: Kernel, mm: Mm, vma: Vma): Proc {
  yield* tree_store(
    k,
    mm,
    "vma_link",
    vma.obj.name,
    [],
    () => assertTreeWriter(k, mm, "vma_link"),
    () => insertVma(mm, vma),
  );
}

/** vm_area_free() as in 5.18: `kmem_cache_free()` at once. */
export function* vm_area_free(k: Kernel, vma: Vma): Proc {
  yield* step(k, "vm_area_free", vma.obj.name, [{ obj: vma.obj.name, kind: "write" }], () => {
    k.slab.free(vma.obj);
  });
}

/** The seed mail's `rcu_free(vma)`: free after an RCU grace period. */
export function* vm_area_free_rcu(k: Kernel, vma: Vma): Proc {
  yield* call_rcu(
    k,
    "vm_area_free_rcu_cb",
    vma.obj.name,
    [{ obj: vma.obj.name, kind: "write" }],
    () => k.slab.free(vma.obj),
  );
}
