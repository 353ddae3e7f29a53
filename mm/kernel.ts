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
import { IRQ_STATE, RCU_READERS, Task, taskStateOf } from "./sched.ts";

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
 *   `native_flush_tlb_multi()`, waiting) each CPU takes only with IRQs enabled. The
 *   same IPI is what `zap_pte_range()`'s forced flush waits for with the PTE lock
 *   held (`tlb_flush_mmu_tlbonly()` in memory.ts); the other two configurations do
 *   not model the TLB flush.
 * - `"rcu-ipi-fallback"`: CONFIG_MMU_GATHER_RCU_TABLE_FREE where the batch page
 *   (`__get_free_page(GFP_NOWAIT | __GFP_NOWARN)` in `tlb_remove_table()`) may fail to
 *   be allocated: then `tlb_remove_table_one()` → `tlb_remove_table_sync_one()`
 *   (`smp_call_function(tlb_remove_table_smp_sync, NULL, 1)`: an IPI, "not an RCU grace
 *   period ... sufficient for software page-table walkers that rely on IRQ disabling")
 *   and the table is freed at once. Both outcomes are explored.
 */
export type TableFree = "rcu" | "ipi" | "rcu-ipi-fallback";

/**
 * Where the PTE-table lock lives, and so how long it lives (`pte_lockptr()`,
 * `ptlock_alloc()`, `ptlock_free()`: mm/ptlock.ts), as include/linux/mm_types_task.h
 * derives it from Kconfig, Linux 5.18 and 6.4:
 *
 * - `"split"`: `USE_SPLIT_PTE_PTLOCKS` (`NR_CPUS >= CONFIG_SPLIT_PTLOCK_CPUS`) without
 *   `ALLOC_SPLIT_PTLOCKS`: the `spinlock_t` is embedded in the table's `struct page`
 *   (`page->ptl`) and lives as long as the table's page, until the table is freed. The
 *   production x86-64 and arm64 configurations (a 4-byte spinlock_t).
 * - `"split-alloc"`: `ALLOC_SPLIT_PTLOCKS` (`SPINLOCK_SIZE > BITS_PER_LONG/8`: a
 *   spinlock_t larger than a long, as with CONFIG_DEBUG_SPINLOCK or
 *   CONFIG_DEBUG_LOCK_ALLOC, lockdep's): `page->ptl` points to an object of
 *   `page_ptl_cachep`, allocated by `pgtable_pte_page_ctor()` and freed by
 *   `pgtable_pte_page_dtor()` → `ptlock_free()`, which `___pte_free_tlb()` calls when
 *   `free_pte_range()` unlinks the table, before the table itself is handed to
 *   `paravirt_tlb_remove_table()` / `tlb_remove_table()`.
 * - `"page-table-lock"`: no `USE_SPLIT_PTE_PTLOCKS`: every PTE table's lock is
 *   `mm->page_table_lock`, the lock `__pXd_alloc()` and `pmd_install()` take too.
 */
export type Ptlocks = "split" | "split-alloc" | "page-table-lock";

/**
 * The kernel configuration an execution runs under, named after Kconfig. Each field is
 * read at the one place its concept lives (`tableFree`: `tlb_finish_mmu()` and the TLB
 * flush of memory.ts; `ptlocks`: mm/ptlock.ts), from {@linkcode Kernel.config}, never
 * passed down call chains.
 */
export interface KernelConfig {
  /** How unlinked page tables are freed; see {@linkcode TableFree}. */
  readonly tableFree: TableFree;
  /** Where the PTE lock lives; see {@linkcode Ptlocks}. `"split"` if absent. */
  readonly ptlocks?: Ptlocks;
}

/**
 * Today's model: RCU table freeing, every batch allocated, split PTE locks embedded in
 * the table's page. Every declared verdict is this one's.
 */
export const DEFAULT_CONFIG: KernelConfig = { tableFree: "rcu", ptlocks: "split" };

/**
 * How a verdict names its configuration: `"ipi"`, or `"rcu + split-alloc"` when the PTE
 * locks are not the default's.
 */
export function configName(config: KernelConfig): string {
  const ptlocks = config.ptlocks ?? "split";
  return ptlocks === "split" ? config.tableFree : `${config.tableFree} + ${ptlocks}`;
}

/**
 * How finely the model is cut into steps where that is the checker's choice, not the
 * kernel's. Every option keeps every behaviour (its doc says why), so no verdict may
 * depend on it; tests/full/granularity.ts checks that none does.
 */
export interface Granularity {
  /**
   * Run a critical section of `mm->page_table_lock` that holds one step (the populate
   * of `__pXd_alloc()`) as one step: spinlock.ts `spin_locked()`, explore/step.ts
   * `section`. Off by default: traces then show the `spin_lock()` and `spin_unlock()`.
   */
  readonly sections: boolean;
}

/** Every step as the kernel's code has it. */
export const FINE_GRAINED: Granularity = { sections: false };

/** One execution's machine. */
export class Kernel {
  readonly rt: Runtime;
  readonly slab: Slab;
  readonly bounds: Bounds;
  readonly config: KernelConfig;
  readonly granularity: Granularity;
  readonly #tasks = new Map<number, Task>();
  /** Kernel function of the running step, for histories. */
  #label = "setup";

  constructor(
    rt: Runtime,
    bounds: Bounds,
    config: KernelConfig = DEFAULT_CONFIG,
    granularity: Granularity = FINE_GRAINED,
  ) {
    this.rt = rt;
    this.bounds = bounds;
    this.config = config;
    this.granularity = granularity;
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

  /**
   * Declares the running task's locals inside the innermost `rt.scopeBegin()` to be
   * `summary` (see `Runtime.summarize`), together with what the task keeps outside
   * any object (its GFP_NOWAIT budget, RCU and IRQ nesting, locks held).
   */
  summarize(summary: string): void {
    this.rt.summarize(`${summary} | ${this.current.stateOf()}`);
  }

  /**
   * The value of `part` of `obj` as the stateful search keys states on it
   * (`Program.stateOf` of a scenario's program): a slab object's (`Slab.stateOf`), or
   * the tasks' RCU or IRQ state.
   */
  stateOf(obj: string, part: string | undefined): string | undefined {
    if (obj === RCU_READERS || obj === IRQ_STATE) return taskStateOf(this.tasks, obj, part);
    return this.slab.stateOf(obj, part, (id) => this.rt.threadName(id));
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
