/**
 * The scenario library. Neighbours differ by one change, so a verdict that flips
 * between two of them names its cause.
 *
 * Addresses: A is a VMA that crosses the 1 GiB line, so that it spans two PUD entries;
 * its first page is faulted in before the race, so the PUD exists but has no PMD
 * table for the second GiB — the state of the seed mail, where the fault finds the PUD
 * and allocates a PMD. The 4 KiB VMA at 512 GiB stands for the rest of a process (its
 * stack): it keeps the P4D alive when A goes, as in any real address space, so
 * munmap() frees A's PUD but not the P4D.
 *
 * @module
 */

import type { Scenario } from "./scenario.ts";

const GiB = 0x40000000;
const MiB = 0x100000;
const PAGE = 0x1000;

/** A: [1 GiB − 2 MiB, 1 GiB + 2 MiB). */
const A = [GiB - 2 * MiB, GiB + 2 * MiB] as const;
/** The rest of the process, far away: at 512 GiB. */
const REST = [512 * GiB, 512 * GiB + PAGE] as const;
/** B: the 2 MiB right after A, in the same PMD table. */
const B = [GiB + 2 * MiB, GiB + 4 * MiB] as const;

const NO_FAILURES = { allocFailures: 0 };

/** Every scenario, in the order the matrix shows them. */
export const scenarios: readonly Scenario[] = [
  {
    name: "fault-vs-munmap",
    question: "Can a fault in A race with munmap(A)?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "fault", addr: GiB }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "the fault needs a new PMD table under A's existing PUD, which munmap(A) frees",
  },
  {
    name: "fault-vs-munmap-neighbour",
    question: "Can a fault in B race with munmap(A) when A and B share a PMD table?",
    vmas: [A, B, REST],
    prefault: [A[0], GiB],
    cpus: [[{ op: "fault", addr: B[0] }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "free_pgtables() must keep the PMD table B needs while freeing A's PTE tables",
  },
  {
    name: "fault-vs-fault",
    question: "Can two faults populating the same empty PMD entry lose a table?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "fault", addr: GiB }], [{ op: "fault", addr: GiB + PAGE }]],
    bounds: NO_FAILURES,
    layout: "both faults need the same new PMD table and PTE table",
  },
  {
    name: "fault-alloc-failure",
    question: "Does a fault whose GFP_NOWAIT allocation fails reclaim and retry correctly?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "fault", addr: GiB }]],
    bounds: { allocFailures: 1 },
    layout: "one allocation may fail; strategies that never use GFP_NOWAIT cannot fail",
  },
  {
    name: "fault-vs-mmap",
    question: "Can a fault in a hole race with mmap() filling that hole?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "fault", addr: B[0] }], [{ op: "mmap", start: B[0], end: B[1] }]],
    bounds: NO_FAILURES,
    layout: "the fault either finds no VMA (SIGSEGV) or finds the new one",
  },
  {
    name: "fault-vs-munmap-mmap",
    question: "Can a fault in A race with munmap(A) followed by mmap() of the same range?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "fault", addr: GiB }], [
      { op: "munmap", start: A[0], end: A[1] },
      { op: "mmap", start: A[0], end: A[1] },
    ]],
    bounds: NO_FAILURES,
    layout: "the range is mapped again, so a stale fault would land in the new VMA",
  },
  {
    name: "fault-vs-munmap-pte-present",
    question:
      "Can a fault in A race with munmap(A) when every table the fault needs already exists?",
    vmas: [A, REST],
    prefault: [A[0], GiB + PAGE],
    cpus: [[{ op: "fault", addr: GiB }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "fault-vs-munmap with the page next to the fault's mapped: its PMD and PTE " +
      "tables exist, so a fault that only walks existing tables runs against the teardown",
  },
];
