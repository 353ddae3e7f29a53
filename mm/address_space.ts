/**
 * A file's `struct address_space`, as far as the VMAs mapping it go: `i_mmap`, the
 * interval tree of the VMAs that map the file, and `i_mmap_rwsem`, which guards it.
 *
 * rmap walkers and khugepaged's `retract_page_tables()` find a file's VMAs, and so the
 * page tables that map it, from here and not from any mm, so they hold neither
 * `mmap_lock` nor a VMA lock; what keeps a VMA and its page tables there while they
 * look is `i_mmap_rwsem`. munmap() takes the VMA out with `unlink_file_vma()`
 * (`i_mmap_lock_write()`) in `free_pgtables()`, before `free_pgd_range()` frees its
 * tables, in 5.18, 6.4 and 6.6 alike.
 *
 * Each file VMA of a scenario maps a file of its own from offset 0 (`vm_pgoff` 0), as
 * a MAP_SHARED mapping: it never gets an anon_vma. Its pages are the huge page
 * khugepaged is collapsing (mm/khugepaged.ts), locked in the page cache, so no fault
 * maps anything in it while the CPUs run: the model has no file faults, and the
 * scenarios touch a file VMA only by munmap(), MADV_DONTNEED, GUP-fast and khugepaged
 * (scenarios/validate.ts).
 *
 * Follows: include/linux/fs.h (`struct address_space`, `i_mmap_lock_read()`,
 * `i_mmap_lock_write()`), mm/mmap.c (`unlink_file_vma()`, `__remove_shared_vm_struct()`),
 * mm/interval_tree.c (`vma_interval_tree_foreach()`), Linux 5.18, 6.4 and 6.6. Left
 * out: the interval tree's nodes (a list), `i_mmap_writable`, the page cache itself, a
 * split of a file VMA (`__vma_adjust()` takes `i_mmap_rwsem` for it; the scenarios unmap
 * file VMAs whole). A file is mapped by one VMA, and by two only while mremap() moves
 * it (the copy is linked before the old VMA is unmapped).
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Vma } from "./mm_types.ts";
import { hex } from "./pgtable.ts";
import type { KObject } from "./slab.ts";
import { down_read, down_write, RwSem, up_read, up_write } from "./rwsem.ts";

/** `struct address_space` of one file. */
export interface AddressSpace {
  readonly obj: KObject;
  /** The VMAs mapping the file (`mapping->i_mmap`). */
  readonly i_mmap: Vma[];
  readonly i_mmap_rwsem: RwSem;
}

const spaces = new WeakMap<Kernel, Map<string, AddressSpace>>();

/** The name of the file a scenario's file VMA at `start` maps: `file@0x40000000`. */
export function fileName(start: number): string {
  return `file@${hex(start)}`;
}

/** The address space of `file`, made on first use (set-up creates every one). */
export function mappingOf(k: Kernel, file: string): AddressSpace {
  let map = spaces.get(k);
  if (!map) spaces.set(k, map = new Map());
  let mapping = map.get(file);
  if (!mapping) {
    const obj = k.slab.create("address_space", `${file}->f_mapping`);
    const i_mmap: Vma[] = [];
    mapping = { obj, i_mmap, i_mmap_rwsem: new RwSem("i_mmap_rwsem", obj) };
    obj.contents = {
      parts: () => ["i_mmap"],
      value: (part) => part === "i_mmap" ? i_mmap.map((v) => v.obj.name).join(",") : undefined,
    };
    map.set(file, mapping);
  }
  return mapping;
}

/** Every file's address space (the files outlive the mm: the audit counts them as reachable). */
export function allMappings(k: Kernel): readonly AddressSpace[] {
  return [...spaces.get(k)?.values() ?? []];
}

/** `i_mmap_lock_read(mapping)`. */
export function* i_mmap_lock_read(k: Kernel, mapping: AddressSpace): Proc {
  yield* down_read(k, mapping.i_mmap_rwsem, "i_mmap_lock_read");
}

/** `i_mmap_unlock_read(mapping)`. */
export function* i_mmap_unlock_read(k: Kernel, mapping: AddressSpace): Proc {
  yield* up_read(k, mapping.i_mmap_rwsem, "i_mmap_unlock_read");
}

/** `i_mmap_lock_write(mapping)`. */
export function* i_mmap_lock_write(k: Kernel, mapping: AddressSpace): Proc {
  yield* down_write(k, mapping.i_mmap_rwsem, "i_mmap_lock_write");
}

/** `i_mmap_unlock_write(mapping)`. */
export function* i_mmap_unlock_write(k: Kernel, mapping: AddressSpace): Proc {
  yield* up_write(k, mapping.i_mmap_rwsem, "i_mmap_unlock_write");
}

/**
 * `vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff)`: the VMAs mapping
 * page `pgoff` of the file, read in one step (the caller holds `i_mmap_rwsem`, so the
 * tree does not change under the loop).
 */
export function* vma_interval_tree_foreach(
  k: Kernel,
  mapping: AddressSpace,
  pgoff: number,
): Proc<Vma[]> {
  return yield* step(k, "vma_interval_tree_foreach", `${mapping.obj.name} pgoff ${pgoff}`, [
    { obj: mapping.obj.name, part: "i_mmap", kind: "read" },
  ], () => {
    k.slab.read(mapping.obj, "i_mmap");
    const found = mapping.i_mmap.filter((v) => pgoff < (v.end - v.start) / 0x1000);
    k.rt.note(found.map((v) => v.obj.name).join(", ") || "none");
    return found;
  });
}

/**
 * `vma_link()`'s `__vma_link_file()` (5.18) / `vma_link_file()` (6.6) of a new file
 * VMA (mremap()'s copy): into its file's `i_mmap`. Nothing for an anonymous VMA.
 */
export function* vma_link_file(k: Kernel, vma: Vma): Proc {
  yield* i_mmap_change(k, vma, "vma_link_file", (i_mmap) => i_mmap.push(vma));
}

/**
 * `unlink_file_vma(vma)`, in `free_pgtables()` before the VMA's tables are freed: the
 * VMA out of its file's `i_mmap`. Nothing for an anonymous VMA.
 */
export function* unlink_file_vma(k: Kernel, vma: Vma): Proc {
  yield* i_mmap_change(k, vma, "unlink_file_vma", (i_mmap) => {
    const at = i_mmap.indexOf(vma);
    if (at >= 0) i_mmap.splice(at, 1);
  });
}

/**
 * A change of the `i_mmap` of `vma`'s file, as kernel function `label`, between
 * `i_mmap_lock_write()` and `i_mmap_unlock_write()`; nothing for an anonymous VMA.
 */
function* i_mmap_change(
  k: Kernel,
  vma: Vma,
  label: string,
  change: (i_mmap: Vma[]) => void,
): Proc {
  if (!vma.file) return;
  const mapping = mappingOf(k, vma.file);
  yield* i_mmap_lock_write(k, mapping);
  yield* step(k, label, vma.obj.name, [
    { obj: mapping.obj.name, part: "i_mmap", kind: "write" },
  ], () => {
    k.slab.write(mapping.obj, "i_mmap");
    change(mapping.i_mmap);
  });
  yield* i_mmap_unlock_write(k, mapping);
}
