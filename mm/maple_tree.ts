/**
 * The VMA tree as the nodes of a maple tree in RCU mode, reduced to one leaf node:
 * what a walker holds while it reads, what a writer replaces, and when the old node
 * is freed.
 *
 * The node holds the tree's ranges as slots: each VMA and each gap between VMAs, with
 * their bounds (pivots), as `lib/maple_tree.c` stores them in a `maple_range_64`
 * (Ruihan Li's StackRot write-up reasons with the same one-node tree). A store that only
 * moves a pivot between a range and its neighbour writes the node in place
 * (`mas_wr_slot_store()`, which `rcu_assign_pointer()`s the slot); a store that changes
 * which ranges the node holds (a VMA or a gap appears or goes) builds a new node, and
 * in RCU mode `mas_wr_node_store()` does `mte_set_node_dead(mas->node)`,
 * `mas_replace()` publishes the new one and `mas_free()` → `ma_free_rcu()` frees the
 * old one with `call_rcu()`. The tree is in RCU mode from Linux 6.3 on (`MM_MT_FLAGS`
 * gained `MT_FLAGS_USE_RCU` in Liam Howlett's "mm: enable maple tree RCU mode by
 * default", 3dd4432549415f3c, also in 6.1.22 and 6.2.9), which is the tree every
 * strategy with `vmaTree: "maple"` runs on.
 *
 * A walker reads `mm->mm_mt`'s root, then the node. Under `rcu_read_lock()` (6.4's
 * `lock_vma_under_rcu()`, and `find_vma()` / `vma_lookup()`, whose `mt_find()` /
 * `mtree_load()` take it themselves) or with `mmap_lock` held for writing, no node it
 * reaches can be freed before it is done: such a walk is one step, which reads the
 * root (`mm_mt`) and the root node's slots as of that step. That is sound: the
 * root node's slots change only in steps that write `mm_mt`, so the one read of
 * `mm_mt` orders the walk against every change, and a walk that in the kernel reads a
 * node already replaced returns what the tree held when it read the root, which the
 * walk ordered before the writer also returns. The argument rests on `ma_free_rcu()`
 * deferring the free past the walker's section, which a one-step walk cannot show
 * (a mutant that frees the node at once survives the matrix: README, "Mutation
 * testing"). A walker that holds only `mmap_lock`
 * for reading (`find_vma_prev()`, `mas_prev()` in `expand_downwards()`,
 * `find_mergeable_anon_vma()`: "Note that RCU lock is missing here since the external
 * mmap_lock() is used instead", mm/mmap.c) is protected only as long as no one writes
 * the tree under the read lock: it reads the root and the node in two steps, and the
 * second is a load from the node object, which the slab checks (a use-after-free if
 * the node was freed in between).
 *
 * Follows: lib/maple_tree.c (`mas_walk()`, `mas_prev()`, `mas_wr_modify()`,
 * `mas_wr_slot_store()`, `mas_wr_node_store()`, `mas_replace()`, `ma_free_rcu()`,
 * `mt_locked()`), include/linux/mm_types.h `MM_MT_FLAGS`, Linux 6.4.0 and 6.6.0.
 * Left out: internal nodes and more than 16 ranges (every scenario's tree fits one
 * leaf), `mas_preallocate()` (its allocation cannot fail here), the append that
 * writes the last slot in place (`mas_wr_append()`; it is modelled as a replacement,
 * which only frees more, and only writers holding `mmap_lock` for writing append),
 * Linux 6.1.0–6.1.21's tree without RCU mode, whose in-place node rewrite under
 * `mmap_read_lock()` was the syzbot report that led to RCU mode.
 *
 * @module
 */

import { type Access, type Proc, Violation } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import type { Mm, Vma } from "./mm_types.ts";
import { VMA_TREE } from "./mm_types.ts";
import type { KObject } from "./slab.ts";
import { hex } from "./pgtable.ts";
import { call_rcu } from "./rcu.ts";
import { rwsem_held } from "./rwsem.ts";

/** One slot of the node: a VMA, or a gap (`vma` undefined), and its bounds. */
export interface MapleSlot {
  readonly start: number;
  /** Exclusive (the kernel's pivot is the last index, `end - 1`). */
  readonly end: number;
  readonly vma: Vma | undefined;
}

/** A maple node: its object and its slots, which a replacement leaves as they were. */
export interface MapleNode {
  readonly obj: KObject;
  slots: readonly MapleSlot[];
}

/** `mm->mm_mt` in RCU mode: its root node. */
export interface MapleTree {
  root: MapleNode;
}

/** The top of the tree's index space, `mas->max` of the root (`ULONG_MAX` + 1 here). */
const TREE_MAX = 2 ** 64;

/** The slots that hold `vmas` (sorted, disjoint): each VMA and each gap, in order. */
function slotsOf(vmas: readonly Vma[]): MapleSlot[] {
  const slots: MapleSlot[] = [];
  let at = 0;
  for (const vma of vmas) {
    if (vma.start > at) slots.push({ start: at, end: vma.start, vma: undefined });
    slots.push({ start: vma.start, end: vma.end, vma });
    at = vma.end;
  }
  if (at < TREE_MAX) slots.push({ start: at, end: TREE_MAX, vma: undefined });
  return slots;
}

/** Whether a store from `before` to `after` only moves pivots: the same ranges, in order. */
function onlyPivotsMove(before: readonly MapleSlot[], after: readonly MapleSlot[]): boolean {
  return before.length === after.length && before.every((s, i) => s.vma === after[i].vma);
}

/** The name of a slot's contents, for traces and state. */
function slotText(s: MapleSlot): string {
  return `[${hex(s.start)}, ${s.end === TREE_MAX ? "max" : hex(s.end)}) ${
    s.vma?.obj.name ?? "gap"
  }`;
}

function makeNode(k: Kernel, mm: Mm, slots: readonly MapleSlot[]): MapleNode {
  const obj = k.slab.create("maple_node", `${mm.prefix}maple_node`);
  const node: MapleNode = { obj, slots };
  obj.contents = {
    parts: () => ["slots"],
    value: (part) => part === "slots" ? node.slots.map(slotText).join(", ") : undefined,
  };
  return node;
}

/**
 * `mt_init_flags(&mm->mm_mt, MM_MT_FLAGS)` and the stores of set-up: a tree whose root
 * node holds `mm`'s VMAs now, for `mm.mt`. Set-up only (the CPUs have not started).
 */
export function mt_init(k: Kernel, mm: Mm): MapleTree {
  return { root: makeNode(k, mm, slotsOf(mm.vmas)) };
}

/** The accesses of a step that changes the tree: the root pointer and the root node. */
function storeAccesses(mm: Mm): Access[] {
  const accesses: Access[] = [{ obj: mm.obj.name, part: VMA_TREE, kind: "write" }];
  if (mm.mt) accesses.push({ obj: mm.mt.root.obj.name, kind: "write" });
  return accesses;
}

/**
 * A step that changes the tree (`mas_store_prealloc()`, `vma_iter_store()`,
 * `vma_iter_clear()`): `body` changes `mm.vmas` (with the other accesses it declares
 * in `accesses`) and `assertWriter` checks the caller's right to write (lockdep's
 * `mt_locked()`). For a maple tree, the root node is then written in place if only
 * pivots moved, or replaced by a new node; the old one is freed by
 * `ma_free_rcu()` as a step of its own right after (`mas_free()` queues it
 * before `mas_wr_node_store()` returns, with the writer still holding its locks).
 */
export function* tree_store<T>(
  k: Kernel,
  mm: Mm,
  label: string,
  detail: string,
  accesses: readonly Access[],
  assertWriter: () => void,
  body: () => T,
): Proc<T> {
  const root = mm.mt?.root;
  let dead: MapleNode | undefined;
  const result = yield* step(k, label, detail, [...storeAccesses(mm), ...accesses], () => {
    assertWriter();
    k.slab.write(mm.obj, VMA_TREE);
    const value = body();
    if (mm.mt && root) {
      // Two writers at once is what the tree's lock rules out (mt_locked()).
      if (mm.mt.root !== root) {
        throw new Violation(
          "tree-write-race",
          `${k.where()}: ${label}() found the tree's root replaced since it began`,
        );
      }
      const slots = slotsOf(mm.vmas);
      k.slab.write(root.obj, undefined, `${root.obj.name} slots`);
      if (onlyPivotsMove(root.slots, slots)) {
        root.slots = slots;
        k.rt.note(`${root.obj.name}: pivot moved in place (mas_wr_slot_store)`);
      } else {
        mm.mt.root = makeNode(k, mm, slots);
        dead = root;
        k.rt.note(`mas_replace: ${mm.mt.root.obj.name} for ${root.obj.name} (dead)`);
      }
    }
    return value;
  });
  if (dead) yield* ma_free_rcu(k, dead);
  return result;
}

/** `ma_free_rcu()`: `call_rcu(&node->rcu, mt_free_rcu)`, the node freed after a grace period. */
function* ma_free_rcu(k: Kernel, node: MapleNode): Proc {
  yield* call_rcu(
    k,
    "mt_free_rcu",
    node.obj.name,
    [{ obj: node.obj.name, kind: "write" }],
    () => k.slab.free(node.obj),
  );
}

/**
 * What keeps a walker's nodes alive, as its kernel caller has it: the caller's RCU
 * read-side section (`"rcu"`), the one the lookup takes itself (`"rcu-inside"`:
 * `mt_find()`, `mtree_load()`), or `mmap_lock` (`"mmap_lock"`, either mode: the tree's
 * external lock).
 */
export type WalkProtection = "rcu" | "rcu-inside" | "mmap_lock";

/**
 * A walk of the tree, as kernel function `label`: `select` picks the answer from the
 * slots. It is one step when `protection` holds (the caller's RCU section, one the
 * lookup takes itself, or `mmap_lock` held for writing), and two when the walker holds
 * only `mmap_lock` for reading, or nothing that protects the tree (see the module
 * comment). A walker with no protection at all is what lockdep's
 * `rcu_dereference_check(..., mt_locked(mt))` reports under CONFIG_PROVE_RCU; the
 * model does not stop there, a debug option's warning, but lets the walk run, so that
 * what it does to the kernel (a load from a freed node) is the verdict under every
 * configuration. Without a maple tree (5.18's rbtree, `mm.mt` undefined) it is one step
 * reading the tree.
 */
export function* mt_walk<T>(
  k: Kernel,
  mm: Mm,
  label: string,
  detail: string,
  protection: WalkProtection,
  select: (slots: readonly MapleSlot[]) => T,
): Proc<T> {
  const readTree: Access = { obj: mm.obj.name, part: VMA_TREE, kind: "read" };
  const mt = mm.mt;
  if (!mt) {
    return yield* step(k, label, detail, [readTree], () => {
      k.slab.read(mm.obj, VMA_TREE);
      return select(slotsOf(mm.vmas));
    });
  }
  // Decided from the task's own record (its RCU depth, the locks it holds), which no
  // other CPU's step changes.
  const task = k.current;
  const protectedWalk = protection === "rcu-inside" ||
    (protection === "rcu" && task.rcuDepth > 0) ||
    rwsem_held(task, mm.mmap_lock, "write");
  if (protectedWalk) {
    return yield* step(k, label, detail, [readTree], () => {
      k.slab.read(mm.obj, VMA_TREE);
      // The root node, read with the root: its slots change only with mm_mt.
      return select(mt.root.slots);
    });
  }
  const node = yield* step(k, label, `${detail}: mas_root()`, [readTree], () => {
    k.slab.read(mm.obj, VMA_TREE);
    k.rt.note(mt.root.obj.name);
    return mt.root;
  });
  return yield* step(k, label, `${detail}: ${node.obj.name} slots`, [
    { obj: node.obj.name, kind: "read" },
  ], () => {
    k.slab.read(node.obj, undefined, `${node.obj.name} slots`);
    return select(node.slots);
  });
}

/** The VMA whose slot holds `addr`, if any (`mas_walk()`). */
export function slotVma(slots: readonly MapleSlot[], addr: number): Vma | undefined {
  return slots.find((s) => s.start <= addr && addr < s.end)?.vma;
}

/** The slot of the first VMA ending above `addr` (`mt_find(..., ULONG_MAX)`, `find_vma()`). */
export function slotFrom(slots: readonly MapleSlot[], addr: number): MapleSlot | undefined {
  return slots.find((s) => s.vma && s.end > addr);
}

/** The slot of the last VMA ending at or below `addr` (`mas_prev()` from `addr`). */
export function slotBelow(slots: readonly MapleSlot[], addr: number): MapleSlot | undefined {
  return slots.findLast((s) => s.vma && s.end <= addr);
}
