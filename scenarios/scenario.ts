/**
 * A scenario is a small named workload, litmus-style: an address space laid out
 * before the CPUs start, what each CPU then does, and the bounds of the search. Run
 * under a strategy it becomes a program for the explorer; the end-of-execution audit
 * (`check_mm()`) is the same for every pair, so no strategy gets its own assertions.
 *
 * @module
 */

import { type Proc, type ProgramFactory, type StepRequest, Violation } from "../explore/mod.ts";
import {
  type Bounds,
  check_mm,
  DEFAULT_CONFIG,
  fileName,
  FINE_GRAINED,
  get_user_pages_fast,
  get_user_pages_fast_only,
  type Granularity,
  hex,
  Kernel,
  type KernelConfig,
  type KObject,
  mfill_atomic_copy,
  type Mm,
  mm_alloc,
  mt_init,
  put_page,
  setupEmptyPteTable,
  setupFault,
  setupTlb,
  setupVma,
  step,
  tlb_init,
  user_store,
} from "../mm/mod.ts";
import type { Strategy } from "../strategies/strategy.ts";
import { validateScenario } from "./validate.ts";

/**
 * What one CPU does, in order. `fault` is a page fault on a page the CPU never touched
 * (a first touch); `store` is a user store of `value` at `addr` (any 8-byte-aligned
 * address), through the CPU's TLB, faulting as the MMU decides (mm/mmu.ts); `gup` is
 * `get_user_pages_fast()` of the page at `addr` for writing, the kernel's lockless
 * walk, then `put_page()` once the caller is done with it (mm/gup.ts: the same
 * kernel code under every strategy, which chooses only the locks of the others); `fork`
 * copies the address space into a child that does not run; `munmap` unmaps a range
 * inside one VMA, the whole of it or a part (splitting it); `madvise` is
 * madvise(MADV_DONTNEED); `mremap` moves a whole VMA of the layout to a hole at `to`
 * (`MREMAP_MAYMOVE | MREMAP_FIXED`, and `MREMAP_DONTUNMAP` with `dontunmap`);
 * `gup-fast` is `get_user_pages_fast_only()`, GUP-fast with no slow path; `khugepaged`
 * is the end of khugepaged's collapse of the huge page mapped by the file VMA at
 * `addr` (one of `files`), `retract_page_tables()` as the strategy's kernel has it
 * (mm/khugepaged.ts); `uffd-copy` is ioctl(UFFDIO_COPY) of the page at `addr` of a file
 * VMA, which walks to its PMD entry under `mmap_read_lock()` and fails with -EEXIST
 * (mm/userfaultfd.ts).
 */
export type Op =
  | { readonly op: "fault"; readonly addr: number }
  | { readonly op: "store"; readonly addr: number; readonly value: string }
  | { readonly op: "gup"; readonly addr: number }
  | { readonly op: "gup-fast"; readonly addr: number }
  | { readonly op: "khugepaged"; readonly addr: number }
  | { readonly op: "uffd-copy"; readonly addr: number }
  | { readonly op: "fork" }
  | { readonly op: "munmap"; readonly start: number; readonly end: number }
  | { readonly op: "mmap"; readonly start: number; readonly end: number }
  | { readonly op: "madvise"; readonly start: number; readonly end: number }
  | {
    readonly op: "mremap";
    readonly start: number;
    readonly end: number;
    readonly to: number;
    readonly dontunmap?: boolean;
  };

/** A named workload. */
export interface Scenario {
  /** Named after the race it asks about, e.g. `"fault-vs-munmap"`. */
  readonly name: string;
  /** The one-line question it asks. */
  readonly question: string;
  /** VMAs mapped before the CPUs start, as [start, end). */
  readonly vmas: readonly (readonly [number, number])[];
  /** The starts of those of `vmas` that are stacks (`VM_GROWSDOWN`); none if absent. */
  readonly stacks?: readonly number[];
  /**
   * The starts of those of `vmas` that are shared mappings of a file (each its own,
   * from offset 0) whose first huge page khugepaged is collapsing: its small pages are
   * unmapped and their PTE table is empty when the CPUs start, and the locked huge
   * page keeps faults out of the VMA (mm/address_space.ts). None if absent. Such a VMA
   * is touched by munmap() (of all of it), madvise, gup-fast, uffd-copy, khugepaged and
   * mremap() (PMD-aligned), never by a fault, a store, fork() or GUP's slow path.
   */
  readonly files?: readonly number[];
  /** Addresses faulted in before the CPUs start. */
  readonly prefault: readonly number[];
  /**
   * Translations in a CPU's TLB when it starts, as [CPU index, page address]: a page
   * the CPU wrote before the race, of those in `prefault`, cached writable. Every CPU
   * of a scenario with a `store` or a warm TLB has a TLB (mm/tlb.ts); none if absent.
   */
  readonly tlb?: readonly (readonly [number, number])[];
  /** One list of operations per CPU. */
  readonly cpus: readonly (readonly Op[])[];
  /**
   * Addresses of `fault` operations the kernel serves although no VMA covers them when
   * the CPUs start: below a stack, which the fault grows (`expand_stack()`). Such a
   * fault that ends in SIGSEGV is a `sigsegv` violation. None if absent.
   */
  readonly grows?: readonly number[];
  readonly bounds: Bounds;
  /** Why the layout is what it is. */
  readonly layout: string;
}

/**
 * Watches a program's CPUs step by step, for a caller that must know where a run is
 * even when it never comes back: the worker pool publishes the last step each pair
 * took, so that a strategy stuck in a loop that never yields can be named, step and
 * all, after the worker is stopped.
 */
export interface StepWatch {
  /** A new execution starts (the program factory ran). */
  execution(): void;
  /**
   * CPU `cpu` runs the `index`-th operation of its list: `request` is the step that
   * runs now (the thread was resumed to take it), or undefined for the code before the
   * operation's first step.
   */
  step(cpu: number, index: number, request: StepRequest | undefined): void;
}

/** The steps of `op`, run on `mm` with `strategy`'s locking. */
function run(strategy: Strategy, k: Kernel, mm: Mm, op: Op): Proc<unknown> {
  switch (op.op) {
    case "fault":
      return strategy.fault(k, mm, op.addr);
    case "store":
      return user_store(k, mm, op.addr, op.value, (cause) => strategy.fault(k, mm, op.addr, cause));
    case "gup":
      return gup_and_put(k, mm, op.addr);
    case "gup-fast":
      return gup_and_put(k, mm, op.addr, get_user_pages_fast_only);
    case "uffd-copy":
      return mfill_atomic_copy(k, mm, op.addr);
    case "khugepaged":
      // A strategy module written before khugepaged joined the interface has none: an
      // error of the step, so the pair says so and the others still run.
      if (typeof strategy.khugepaged !== "function") {
        return step(k, "khugepaged", undefined, [], () => {
          throw new Error(
            `strategy "${strategy.name}" has no khugepaged() (strategies/strategy.ts)`,
          );
        });
      }
      return strategy.khugepaged(k, mm, op.addr);
    case "fork":
      return strategy.fork(k, mm);
    case "munmap":
      return strategy.munmap(k, mm, op.start, op.end);
    case "mmap":
      return strategy.mmap(k, mm, op.start, op.end);
    case "madvise":
      return strategy.madvise_dontneed(k, mm, op.start, op.end);
    case "mremap":
      return strategy.mremap(k, mm, op.start, op.end, op.to, op.dontunmap ?? false);
  }
}

/**
 * `get_user_pages_fast()` of one page for writing (or `gup`, `get_user_pages_fast_only()`),
 * and `put_page()` when done with it.
 */
function* gup_and_put(
  k: Kernel,
  mm: Mm,
  addr: number,
  gup: (k: Kernel, mm: Mm, addr: number) => Proc<KObject | undefined> = get_user_pages_fast,
): Proc {
  const page = yield* gup(k, mm, addr);
  if (page) yield* put_page(k, page);
}

/** `proc`, delegated step by step as `yield*` would, telling `watch` each step it takes. */
function* watched<T>(
  proc: Proc<T>,
  cpu: number,
  index: number,
  watch: StepWatch,
): Proc<T> {
  watch.step(cpu, index, undefined);
  let next = proc.next(0);
  while (!next.done) {
    const request = next.value;
    const choice: number = yield request;
    // Resumed: the scheduler chose this step, and the code after its yield runs now.
    watch.step(cpu, index, request);
    next = proc.next(choice);
  }
  return next.value;
}

/**
 * The program that runs `scenario` with `strategy`'s locking. Throws if the scenario is
 * malformed (see {@linkcode validateScenario}). With `watch`, every step each CPU takes
 * is reported to it (which costs a little per step; without it, nothing). The kernel
 * runs under `config` (`DEFAULT_CONFIG`, RCU table freeing, unless given), cut into
 * steps as `granularity` says (every step as the kernel has it, unless given).
 */
export function program(
  strategy: Strategy,
  scenario: Scenario,
  watch?: StepWatch,
  config: KernelConfig = DEFAULT_CONFIG,
  granularity: Granularity = FINE_GRAINED,
): ProgramFactory {
  validateScenario(scenario);
  return (rt) => {
    watch?.execution();
    const k = new Kernel(rt, scenario.bounds, config, granularity);
    const mm = mm_alloc(k);
    for (const [start, end] of scenario.vmas) {
      const file = scenario.files?.includes(start) ? fileName(start) : undefined;
      setupVma(k, mm, start, end, scenario.stacks?.includes(start) ?? false, file);
      if (file) setupEmptyPteTable(k, mm, start);
    }
    for (const addr of scenario.prefault) setupFault(k, mm, addr);
    if (strategy.vmaTree === "maple") mm.mt = mt_init(k, mm);
    const refused: string[] = [];
    if (scenario.tlb?.length || scenario.cpus.flat().some((op) => op.op === "store")) {
      const tlbs = scenario.cpus.map((_, cpu) => tlb_init(k, `CPU${cpu}`));
      for (const [cpu, addr] of scenario.tlb ?? []) setupTlb(k, tlbs[cpu], mm, addr);
    }
    return {
      threads: scenario.cpus.map((ops, cpu) => ({
        name: `CPU${cpu}`,
        body: function* () {
          for (const [index, op] of ops.entries()) {
            const proc = run(strategy, k, mm, op);
            const result = watch ? yield* watched(proc, cpu, index, watch) : yield* proc;
            if (op.op === "fault" && result === "sigsegv" && scenario.grows?.includes(op.addr)) {
              refused.push(`CPU${cpu}'s fault at ${hex(op.addr)}`);
            }
          }
        },
      })),
      finish: () => {
        check_mm(k, mm);
        if (refused.length) {
          throw new Violation(
            "sigsegv",
            `${refused.join(" and ")} ended in SIGSEGV, where the kernel grows the stack ` +
              `above down to it (expand_stack())`,
          );
        }
      },
      stateOf: (obj, part) => k.stateOf(obj, part),
    };
  };
}
