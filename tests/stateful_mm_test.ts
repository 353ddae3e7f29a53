/**
 * The stateful search finds the violation kinds Optimal-DPOR finds, on pairs that fail
 * in different ways and on safe ones (tests/stateful_agreement.ts). A pair whose stateful
 * search takes a minute is in tests/full/stateful_mm.ts; the benchmark (bench/dpor.ts,
 * `--part stateful`) does the same for every pair of the matrix.
 *
 * @module
 */

import { DEFAULT_CONFIG, type KernelConfig } from "../mod.ts";
import { type StatefulPair, stepsAgreeingWithStateful } from "./stateful_agreement.ts";

const IPI: KernelConfig = { ...DEFAULT_CONFIG, tableFree: "ipi" };
const PAIRS: readonly StatefulPair[] = [
  ["rcu-gfp-nowait", "fault-vs-munmap", DEFAULT_CONFIG],
  ["rcu-gfp-nowait", "fault-vs-munmap", IPI],
  ["mmap-lock", "fault-vs-fault", DEFAULT_CONFIG],
  ["per-vma-lock", "fault-vs-munmap", DEFAULT_CONFIG],
  // The operations after fork: a split's bounds, mremap()'s moves and the audit's
  // record of them, MADV_DONTNEED's zapped pages and the TLB.
  ["vma-rwsem", "fault-vs-partial-munmap", DEFAULT_CONFIG],
  ["vma-rwsem", "mremap-vs-stale-tlb-store", DEFAULT_CONFIG],
  ["per-vma-lock", "dontneed-vs-write-fault-stale-tlb", DEFAULT_CONFIG],
  // khugepaged: a file's i_mmap and its rwsem, a table freed at once or after a grace
  // period, and a PMD entry moved from under the retraction.
  ["mmap-lock", "gup-fast-vs-khugepaged", DEFAULT_CONFIG],
  ["per-vma-lock-v6.6", "munmap-vs-khugepaged", DEFAULT_CONFIG],
  ["per-vma-lock-v6.6", "mremap-vs-khugepaged", DEFAULT_CONFIG],
];

Deno.test("the stateful search finds the violation kinds Optimal-DPOR finds on the mm model", (t) =>
  stepsAgreeingWithStateful(t, PAIRS));
