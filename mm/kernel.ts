/**
 * The simulated machine of one execution: its CPUs (tasks), its objects, and the one
 * helper through which mm code takes a step.
 *
 * Every function in `mm/` that touches shared state does it inside {@linkcode step}:
 * the step is announced to the explorer with the kernel function's name and what it
 * touches, and its body runs when the scheduler picks it. Code between steps only
 * handles local variables, as kernel code between two shared accesses does. Each load
 * and store in a body goes through {@linkcode Kernel.touch} (the slab's accessors call
 * it), which checks it against what the step declared.
 *
 * @module
 */

import type { Access, Proc, Runtime, Wait } from "../explore/mod.ts";
import { Slab } from "./slab.ts";
import { Task } from "./sched.ts";

/** Bounds of a scenario that the mm core obeys. Named, never magic numbers inside mm. */
export interface Bounds {
  /**
   * How many GFP_NOWAIT allocations of each CPU may fail in one execution (each failure
   * is explored).
   */
  readonly allocFailures: number;
}

/**
 * How page tables unlinked by a teardown are freed (`tlb_remove_table()`, see
 * `tlb_finish_mmu()` in memory.ts):
 *
 * - `"rcu"`: CONFIG_MMU_GATHER_RCU_TABLE_FREE, the batch always allocated: freed by
 *   `tlb_remove_table_rcu()` after an RCU grace period (mm/mmu_gather.c
 *   `tlb_remove_table_free()` → `call_rcu()`). x86 with CONFIG_PARAVIRT, arm64, ppc...
 * - `"ipi"`: bare-metal x86 without CONFIG_PARAVIRT, Linux 5.18 and 6.4:
 *   arch/x86/mm/pgtable.c `paravirt_tlb_remove_table()` is `tlb_remove_page()`, so a
 *   table is freed with the pages, by `tlb_flush_mmu_free()`, after
 *   `tlb_flush_mmu_tlbonly()`'s TLB flush, whose IPI (`flush_tlb_mm_range()` →
 *   `native_flush_tlb_multi()`, waiting) each CPU takes only with IRQs enabled.
 * - `"rcu-ipi-fallback"`: CONFIG_MMU_GATHER_RCU_TABLE_FREE where the batch page
 *   (`__get_free_page(GFP_NOWAIT | __GFP_NOWARN)` in `tlb_remove_table()`) may fail to
 *   be allocated: then `tlb_remove_table_one()` → `tlb_remove_table_sync_one()`
 *   (`smp_call_function(tlb_remove_table_smp_sync, NULL, 1)`: an IPI, "not an RCU grace
 *   period ... sufficient for software page-table walkers that rely on IRQ disabling")
 *   and the table is freed at once. Both outcomes are explored.
 */
export type TableFree = "rcu" | "ipi" | "rcu-ipi-fallback";

/**
 * The kernel configuration an execution runs under, named after Kconfig. Each field is
 * read at the one place its concept lives (`tableFree`: `tlb_finish_mmu()`), from
 * {@linkcode Kernel.config}, never passed down call chains.
 */
export interface KernelConfig {
  /** How unlinked page tables are freed; see {@linkcode TableFree}. */
  readonly tableFree: TableFree;
}

/** Today's model: RCU table freeing, every batch allocated. Every verdict is this one's. */
export const DEFAULT_CONFIG: KernelConfig = { tableFree: "rcu" };

/** One execution's machine. */
export class Kernel {
  readonly rt: Runtime;
  readonly slab: Slab;
  readonly bounds: Bounds;
  readonly config: KernelConfig;
  readonly #tasks = new Map<number, Task>();
  /** Kernel function of the running step, for histories. */
  #label = "setup";

  constructor(rt: Runtime, bounds: Bounds, config: KernelConfig = DEFAULT_CONFIG) {
    this.rt = rt;
    this.bounds = bounds;
    this.config = config;
    this.slab = new Slab({
      where: () => this.where(),
      creator: () => rt.current < 0 ? undefined : { id: rt.current, name: this.current.name },
      touch: (obj, part, kind) => this.touch(obj, part, kind),
    });
  }

  /** The task running now (a CPU or an RCU callback). */
  get current(): Task {
    const id = this.rt.current;
    let task = this.#tasks.get(id);
    if (!task) {
      const name = id < 0 ? "setup" : this.rt.threadName(id);
      this.#tasks.set(id, task = new Task(id, name, this.bounds.allocFailures));
    }
    return task;
  }

  /** Every task that has run. */
  get tasks(): readonly Task[] {
    return [...this.#tasks.values()];
  }

  /** "CPU0 in pmd_alloc (step 7)", for messages and histories. */
  where(): string {
    if (this.rt.current < 0) return "setup";
    return `${this.current.name} in ${this.#label} (step ${this.rt.stepNumber})`;
  }

  /**
   * A load or store of shared state that is not a slab object (RCU's reader state):
   * `part` of `obj`, as the running step must have declared it. Outside a step it
   * checks nothing.
   */
  touch(obj: string, part: string | undefined, kind: "read" | "write"): void {
    this.rt.touch(obj, part, kind);
  }

  /** Names the running step; used by {@linkcode step}. */
  enter(label: string): void {
    this.#label = label;
  }
}

/** Options of a step that may block. */
export interface Blocking {
  readonly enabled: () => boolean;
  readonly waitingFor: () => Wait;
}

/**
 * Takes one step: announces `label`, `detail` and `accesses` to the explorer, then runs
 * `body` atomically when scheduled and returns its value.
 */
export function* step<T>(
  k: Kernel,
  label: string,
  detail: string | undefined,
  accesses: readonly Access[],
  body: () => T,
  blocking?: Blocking,
): Proc<T> {
  yield { label, ...(detail !== undefined ? { detail } : {}), accesses, ...blocking };
  k.enter(label);
  return body();
}

/**
 * A step that tries every alternative in `choices` (e.g. an allocation that succeeds or
 * fails) and returns the index taken. It touches nothing shared.
 */
export function* choose(
  k: Kernel,
  label: string,
  detail: string,
  choices: readonly string[],
): Proc<number> {
  const choice = yield { label, detail, accesses: [], choices };
  k.enter(label);
  return choice;
}
