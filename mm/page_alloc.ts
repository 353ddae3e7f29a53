/**
 * The page allocator and GFP flags, reduced to what decides correctness here: whether
 * an allocation may sleep (and so must not happen in atomic context) and whether it may
 * fail.
 *
 * A GFP_NOWAIT allocation may fail: the explorer tries both outcomes, as many times per
 * CPU as the scenario's `allocFailures` bound allows (see `Task.allocFailuresLeft` for
 * why the budget is the CPU's own). GFP_KERNEL allocations of a page or a page table
 * do not fail in the model (the kernel's "too small to fail" rule for order-0
 * allocations) but may sleep.
 *
 * Follows: include/linux/gfp.h (GFP_KERNEL, GFP_NOWAIT, __GFP_NOMEMALLOC,
 * __GFP_NOWARN), include/asm-generic/pgalloc.h (GFP_PGTABLE_USER), mm/page_alloc.c,
 * Linux 5.18. Left out: reclaim itself (see `try_to_free_pages`, which only sleeps),
 * watermarks, memory reserves, NUMA.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { choose, type Kernel, step } from "./kernel.ts";
import type { KObject, ObjKind } from "./slab.ts";
import { might_sleep } from "./sched.ts";

/** The GFP flags that matter to the model. */
export interface Gfp {
  /** Short name for traces, e.g. `"GFP_NOWAIT"`. */
  readonly name: string;
  /** As written in kernel source, e.g. `"GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN"`. */
  readonly flags: string;
  readonly maySleep: boolean;
  readonly mayFail: boolean;
}

/** GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT: what pXd_alloc_one() uses. */
export const GFP_PGTABLE_USER: Gfp = {
  name: "GFP_PGTABLE_USER",
  flags: "GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT",
  maySleep: true,
  mayFail: false,
};
/** What do_anonymous_page() uses for the user page. */
export const GFP_HIGHUSER_MOVABLE: Gfp = {
  name: "GFP_HIGHUSER_MOVABLE",
  flags: "GFP_HIGHUSER | __GFP_MOVABLE",
  maySleep: true,
  mayFail: false,
};
/** The flags the seed mail proposes for page tables allocated under rcu_read_lock(). */
export const GFP_NOWAIT: Gfp = {
  name: "GFP_NOWAIT",
  flags: "GFP_NOWAIT | __GFP_NOMEMALLOC | __GFP_NOWARN",
  maySleep: false,
  mayFail: true,
};

/**
 * Allocates an object of `kind` named after `base` with `gfp`, as kernel function
 * `label` (e.g. `"pmd_alloc_one"`). Returns null when a GFP_NOWAIT allocation fails.
 */
export function* alloc(
  k: Kernel,
  label: string,
  kind: ObjKind,
  base: string,
  gfp: Gfp,
): Proc<KObject | null> {
  const task = k.current;
  const canFail = gfp.mayFail && task.allocFailuresLeft > 0;
  const failed = canFail
    ? (yield* choose(k, label, gfp.name, ["succeeds", "fails"])) === 1
    : yield* step(k, label, gfp.name, [], () => false);
  if (failed) {
    task.allocFailuresLeft--;
    return null;
  }
  if (gfp.maySleep) might_sleep(task, `${label}(${gfp.flags})`);
  // No declared access: the new object's name is the allocating CPU's own (see
  // slab.ts), so no other step can touch it until it is published.
  const obj = k.slab.create(kind, base);
  k.rt.note(obj.name);
  return obj;
}

/** try_to_free_pages(): direct reclaim. Sleeps; frees nothing the model tracks. */
export function* try_to_free_pages(k: Kernel): Proc {
  yield* step(k, "try_to_free_pages", undefined, [], () => {
    might_sleep(k.current, "try_to_free_pages()");
  });
}
