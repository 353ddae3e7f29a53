/**
 * The interface every locking strategy meets: how a page fault, fork(), munmap(),
 * mmap(), madvise(MADV_DONTNEED), mremap() and khugepaged's page-table retraction take
 * their locks around the mm core's operations.
 *
 * A strategy also declares, per scenario, the verdict its author expects
 * (`"safe"` or `"violation:<kind>"`), the way litmus tests declare `Result: Never`;
 * the explorer decides the actual verdict and the tests judge one against the other.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import type { FaultCause, FaultResult, Kernel, Mm } from "../mm/mod.ts";

/** What the author expects the explorer to find for one scenario. */
export type Expectation = "safe" | `violation:${string}`;

/** A locking design for page faults. */
export interface Strategy {
  /** Short stable name, e.g. `"vma-rwsem"`. */
  readonly name: string;
  readonly title: string;
  /** One line: what the design does. */
  readonly summary: string;
  /** Where it comes from (mail, patch series, kernel version). */
  readonly source: string;
  /**
   * The VMA tree of the design's kernel: 5.18's rbtree (the default), or from 6.3 on
   * the maple tree in RCU mode, whose nodes are replaced and freed by RCU
   * (mm/maple_tree.ts).
   */
  readonly vmaTree?: "rbtree" | "maple";
  /** Scenario name → expected verdict. Every scenario must have one. */
  readonly expected: Readonly<Record<string, Expectation>>;
  /**
   * The page fault at `addr`: a first touch unless `cause` says the MMU found a
   * read-only PTE for a store (`"write-protect"`, mm/memory.ts `FaultCause`).
   */
  fault(k: Kernel, mm: Mm, addr: number, cause?: FaultCause): Proc<FaultResult>;
  /** fork(): `dup_mmap()` (mm/fork.ts) with the locks the design takes around it. */
  fork(k: Kernel, mm: Mm): Proc;
  /** munmap() of [start, end), which lies in one VMA: the whole of it, or a part (a split). */
  munmap(k: Kernel, mm: Mm, start: number, end: number): Proc;
  mmap(k: Kernel, mm: Mm, start: number, end: number): Proc;
  /** madvise(MADV_DONTNEED) of [start, end): `madvise_dontneed()` (mm/madvise.ts) and its lock. */
  madvise_dontneed(k: Kernel, mm: Mm, start: number, end: number): Proc;
  /**
   * mremap() of the whole VMA [start, end) to the hole at `to` (`MREMAP_MAYMOVE |
   * MREMAP_FIXED`, plus `MREMAP_DONTUNMAP` if `dontunmap`): `move_vma()`
   * (mm/mremap.ts) and its locks.
   */
  mremap(k: Kernel, mm: Mm, start: number, end: number, to: number, dontunmap: boolean): Proc;
  /**
   * khugepaged's `retract_page_tables()` for the huge page the file VMA at `addr` maps,
   * as the design's kernel has it (mm/khugepaged.ts: 5.18's and 6.4's take
   * `mmap_write_trylock()`, 6.6's no mmap or VMA lock).
   */
  khugepaged(k: Kernel, mm: Mm, addr: number): Proc;
}
