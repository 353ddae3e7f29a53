/**
 * The VMA tree and VMA lifetimes: looking a VMA up, taking it out of the tree,
 * putting one in, freeing one now or after an RCU grace period.
 *
 * The tree is modelled as the maple tree of Linux 6.1, which readers may walk under
 * rcu_read_lock() (the seed mail's `vma_lookup()` under RCU assumes it); Linux 5.18's
 * rbtree could not be walked without mmap_lock. A lookup reads only the tree (which
 * stores each VMA's range), not the VMA; what the caller then does with the VMA
 * pointer is checked against the VMA's lifetime.
 *
 * Follows: mm/mmap.c (`vma_lookup()`, `find_vma()`, `vm_area_free()`), lib/maple_tree.c,
 * Linux 6.1; kernel/fork.c (`vm_area_free()` by call_rcu with CONFIG_PER_VMA_LOCK),
 * Linux 6.4. Left out: the tree's internal nodes and their own RCU freeing (a lookup
 * is one atomic read of the whole tree).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { hex } from "./pgtable.ts";
import { insertVma, lookup, type Mm, vm_area_alloc, type Vma, VMA_TREE } from "./mm_types.ts";
import { call_rcu } from "./rcu.ts";
import { mmap_assert_write_locked } from "./mmap_lock.ts";

function treeAccess(mm: Mm, kind: "read" | "write") {
  return { obj: mm.obj.name, part: VMA_TREE, kind };
}

/** vma_lookup(): the VMA containing `addr`, or undefined. */
export function* vma_lookup(
  k: Kernel,
  mm: Mm,
  addr: number,
  label = "vma_lookup",
): Proc<Vma | undefined> {
  return yield* step(k, label, hex(addr), [treeAccess(mm, "read")], () => {
    k.slab.read(mm.obj, VMA_TREE);
    const vma = lookup(mm, addr);
    k.rt.note(vma ? vma.obj.name : "none");
    return vma;
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
function assertTreeWriter(k: Kernel, mm: Mm, fn: string): void {
  mmap_assert_write_locked(k, mm, fn);
}

/**
 * Removes `vma` from the tree (5.18's `detach_vmas_to_be_unmapped()`, 6.1's
 * `vma_mas_remove()`) and returns its neighbours. Needs `mmap_lock` held for writing
 * (`assertTreeWriter()`).
 */
export function* vma_mas_remove(k: Kernel, mm: Mm, vma: Vma): Proc<Neighbours> {
  return yield* step(k, "vma_mas_remove", vma.obj.name, [
    treeAccess(mm, "write"),
    { obj: vma.obj.name, part: "detached", kind: "write" },
  ], () => {
    assertTreeWriter(k, mm, "vma_mas_remove");
    k.slab.write(mm.obj, VMA_TREE);
    const at = mm.vmas.indexOf(vma);
    if (at < 0) throw new Error(`${vma.obj.name} is not in the tree`);
    mm.vmas.splice(at, 1);
    k.slab.write(vma.obj, "detached");
    vma.detached = true;
    return { prev: mm.vmas[at - 1], next: mm.vmas[at] };
  });
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
  return yield* step(
    k,
    "vma_mas_store",
    `[${hex(start)}, ${hex(end)})`,
    [
      treeAccess(mm, "write"),
      ...(writeLocked ? [{ obj: mm.obj.name, part: "mm_lock_seq", kind: "read" as const }] : []),
    ],
    () => {
      assertTreeWriter(k, mm, "vma_mas_store");
      k.slab.write(mm.obj, VMA_TREE);
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
  yield* step(k, "vma_link", vma.obj.name, [treeAccess(mm, "write")], () => {
    assertTreeWriter(k, mm, "vma_link");
    k.slab.write(mm.obj, VMA_TREE);
    insertVma(mm, vma);
  });
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
