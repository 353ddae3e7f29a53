/**
 * Stack expansion: a fault below a `VM_GROWSDOWN` VMA grows it down to the faulting
 * page (`expand_stack()` → `expand_downwards()`), as each version writes it.
 *
 * The function is the same from 5.18 to 6.6 in what it does: find the VMA below
 * (`prev`), refuse to come within `stack_guard_gap` of it unless it is a stack too,
 * `anon_vma_prepare()`, `anon_vma_lock_write(vma->anon_vma)` "to serialize against
 * concurrent expand_stacks", re-check "Somebody else might have raced and expanded it
 * already", and under `mm->page_table_lock` ("We only hold a shared mmap_lock lock
 * here, so we need to protect against concurrent vma expansions") set
 * `vma->vm_start = address` and store the new range in the tree. What differs is the
 * tree and the lock around it:
 *
 * - 5.18: `prev = vma->vm_prev`, the rbtree changed in place (`vma_gap_update()`),
 *   the caller holding `mmap_read_lock()` (arch/x86/mm/fault.c `do_user_addr_fault()`:
 *   `find_vma()`, `if (unlikely(expand_stack(vma, address)))`).
 * - 6.1 to 6.4 (`STACK_UNDER_READ_LOCK` on a maple tree): `prev = mas_prev(&mas, 0)`, a walk of the maple tree, and
 *   `mas_store_prealloc()`, still under `mmap_read_lock()` only. The store replaces
 *   the tree's node when the expansion closes the gap below (maple_tree.ts), and the
 *   old node is freed by RCU while other walkers under `mmap_read_lock()` hold no RCU
 *   section: StackRot, CVE-2023-3269 (Ruihan Li, github.com/lrh2000/StackRot).
 * - 6.5 on (`writeLocked`, read from 6.6.0; strategies/per_vma_lock_6_6.ts): the caller holds `mmap_lock` for writing
 *   (Linus Torvalds, "mm: always expand the stack with the mmap write lock held",
 *   8d7071af8907, and `lock_mm_and_find_vma()`, a050ba1e7422, 6.5-rc1, backported to
 *   6.4.1, 6.3.11 and 6.1.37), and `expand_downwards()` write-locks the VMA first: "Lock
 *   the VMA before expanding to prevent concurrent page faults" (`vma_start_write()`,
 *   Suren Baghdasaryan, "mm: lock a vma before stack expansion", c137381f71ae).
 *
 * Follows: mm/mmap.c `expand_downwards()`, `expand_stack()`, `stack_guard_gap`, Linux
 * 5.18, 6.4.0 and 6.6.0. Modelled loosely: the `prev->vm_end` of the guard-gap test is
 * the range the tree holds for prev (which changes with it, vma.ts `find_vma()`);
 * `vma->anon_vma` after `anon_vma_prepare()` is read without a step of its own (set,
 * it never changes under `mmap_lock`). Left out: `acct_stack_growth()` (rlimits and
 * accounting: every expansion of the scenarios is within them), `vm_pgoff`,
 * `mmap_min_addr` beyond its default, `VM_LOCKED` populating, `VM_GROWSUP`.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { anon_vma_rwsem, type Mm, type Vma } from "./mm_types.ts";
import { entrySize, hex, pageAddr } from "./pgtable.ts";
import { mt_walk, slotBelow, tree_store } from "./maple_tree.ts";
import { anon_vma_prepare } from "./memory.ts";
import { mmap_assert_locked, mmap_assert_write_locked } from "./mmap_lock.ts";
import { spin_lock, spin_unlock } from "./spinlock.ts";
import { down_write, up_write } from "./rwsem.ts";

/** `stack_guard_gap`: 256 pages (1 MiB), "mm: larger stack guard gap, between vmas", 4.12. */
export const STACK_GUARD_GAP = 256 * entrySize("pte");

/** x86's default `mmap_min_addr` (CONFIG_DEFAULT_MMAP_MIN_ADDR, 64 KiB). */
export const MMAP_MIN_ADDR = 0x10000;

/** What a version's `expand_downwards()` needs of its caller and does first. */
export interface StackExpansion {
  /** The version it is, for traces and notes. */
  readonly version: string;
  /** `mmap_lock` held for writing (6.5 on), not only for reading. */
  readonly writeLocked: boolean;
  /** What it locks before `anon_vma_lock_write()`: 6.6's `vma_start_write(vma)`. */
  readonly lockVma?: (vma: Vma) => Proc;
}

/** 5.18's, and 6.1–6.4's on the maple tree: under `mmap_read_lock()`. */
export const STACK_UNDER_READ_LOCK: StackExpansion = {
  version: "5.18–6.4",
  writeLocked: false,
};

/**
 * `expand_downwards(vma, address)`: grows `vma` down to the page of `address`; false if
 * it may not (`-EPERM`, `-ENOMEM`). The caller holds `mmap_lock` as `version` says.
 */
export function* expand_downwards(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  version: StackExpansion,
): Proc<boolean> {
  const address = pageAddr(addr);
  if (address < MMAP_MIN_ADDR) return false;
  // "Enforce stack_guard_gap": prev = vma->vm_prev (5.18) or mas_prev(&mas, 0) (6.1 on),
  // a walk under mmap_lock with no RCU section.
  const prev = yield* mt_walk(
    k,
    mm,
    mm.mt ? "mas_prev" : "expand_downwards",
    mm.mt ? vma.obj.name : `${vma.obj.name}->vm_prev`,
    "mmap_lock",
    (slots) => {
      const slot = slotBelow(slots, vma.start);
      k.rt.note(slot ? `${slot.vma?.obj.name} ends at ${hex(slot.end)}` : "none");
      return slot;
    },
  );
  // "Check that both stack segments have the same anon_vma?" (vm_flags are constant.)
  if (prev?.vma && !prev.vma.growsdown && address - prev.end < STACK_GUARD_GAP) return false;
  // mas_preallocate(): left out, it cannot fail here.
  yield* anon_vma_prepare(k, mm, vma);
  if (version.lockVma) yield* version.lockVma(vma);
  const anon_vma = anon_vma_rwsem(mm, vma.anon_vma!);
  yield* down_write(k, anon_vma, "anon_vma_lock_write");
  // "Somebody else might have raced and expanded it already"
  const grow = yield* step(k, "expand_downwards", `${hex(address)} < ${vma.obj.name}->vm_start?`, [
    { obj: vma.obj.name, part: "vm_start", kind: "read" },
  ], () => {
    k.slab.read(vma.obj, "vm_start");
    const below = address < vma.start;
    k.rt.note(below ? "grow" : "already expanded");
    return below;
  });
  if (grow) {
    yield* spin_lock(k, mm.page_table_lock);
    yield* tree_store(
      k,
      mm,
      "expand_downwards",
      `${vma.obj.name}->vm_start = ${hex(address)}; ${
        mm.mt ? "mas_store_prealloc" : "vma_gap_update"
      }`,
      [{ obj: vma.obj.name, part: "vm_start", kind: "write" }],
      () =>
        version.writeLocked
          ? mmap_assert_write_locked(k, mm, "expand_downwards")
          : mmap_assert_locked(k, mm, "expand_downwards"),
      () => {
        k.slab.write(vma.obj, "vm_start");
        vma.start = address;
      },
    );
    yield* spin_unlock(k, mm.page_table_lock);
  }
  yield* up_write(k, anon_vma, "anon_vma_unlock_write");
  return true;
}
