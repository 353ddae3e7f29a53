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
 * The floor/ceiling scenarios need VMAs that are not 2 MiB-aligned, since
 * `free_pgd_range()` rounds the floor and ceiling to PMD entries: A2 shares the PTE
 * table of its first PMD entry with P below it and that of its last with N above it;
 * LOW and LOW_NEXT lie in the lowest 2 MiB (above x86's default `mmap_min_addr`, 64
 * KiB), where the ceiling rounds down to 0.
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

/** P, A2, N: A2 = [1 GiB − 3 MiB, 1 GiB + 3 MiB), not 2 MiB-aligned at either end. */
const P = [GiB - 4 * MiB, GiB - 3 * MiB] as const;
const A2 = [GiB - 3 * MiB, GiB + 3 * MiB] as const;
const N = [GiB + 3 * MiB, GiB + 4 * MiB] as const;
/** S: eight pages at 1 GiB, which munmap() of its upper half splits. */
const S = [GiB, GiB + 8 * PAGE] as const;
/** M: the 2 MiB PMD extent at 1 GiB, which mremap() moves with move_normal_pmd(). */
const M = [GiB, GiB + 2 * MiB] as const;
/** V and X: two four-page VMAs at 1 GiB, X right above V. */
const V = [GiB, GiB + 4 * PAGE] as const;
const X = [GiB + 4 * PAGE, GiB + 8 * PAGE] as const;
/** Where mremap() moves a VMA: a hole at 1 GiB + 4 MiB, another PMD entry. */
const MOVED = GiB + 4 * MiB;
/**
 * Two stacks one page apart: LOW_STACK [1 GiB + 4 pages, + 8) and STACK [1 GiB + 9
 * pages, + 16). A stack below a stack keeps no guard gap, so STACK may grow down to
 * LOW_STACK's end, closing the gap.
 */
const LOW_STACK = [GiB + 4 * PAGE, GiB + 8 * PAGE] as const;
const STACK = [GiB + 9 * PAGE, GiB + 16 * PAGE] as const;
/** A low VMA and its neighbour above, both in the lowest 2 MiB: one PTE table. */
const LOW = [MiB, MiB + 16 * PAGE] as const;
const LOW_NEXT = [MiB + 16 * PAGE, 2 * MiB] as const;

/**
 * F: a shared file mapping of the 2 MiB PMD extent at 1 GiB, whose huge page
 * khugepaged is collapsing (`files`): its PTE table is there and empty. B, the 2 MiB
 * above it, shares F's PMD table.
 */
const F = [GiB, GiB + 2 * MiB] as const;

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
    name: "fault-vs-munmap-shared-pte-tables",
    question: "Can a fault in N race with munmap(A) when A shares its first PTE table with " +
      "the VMA below it and its last with N?",
    vmas: [P, A2, N, REST],
    prefault: [P[0], A2[0], GiB, A2[1] - PAGE, N[0]],
    cpus: [[{ op: "fault", addr: N[0] + PAGE }], [{ op: "munmap", start: A2[0], end: A2[1] }]],
    bounds: NO_FAILURES,
    layout: "A = [1 GiB - 3 MiB, 1 GiB + 3 MiB) starts and ends inside a PMD entry: " +
      "free_pgd_range() must move its start up past the entry P shares (floor) and its end " +
      "down below the one N shares (ceiling), and keep both PMD tables, while the PTE " +
      "table of the whole entry at 1 GiB goes",
  },
  {
    name: "fault-vs-munmap-low-neighbour",
    question: "Can a fault in N race with munmap(A) when both lie in the lowest 2 MiB, in " +
      "one PTE table?",
    vmas: [LOW, LOW_NEXT, REST],
    prefault: [LOW[0], LOW_NEXT[0]],
    cpus: [[{ op: "fault", addr: LOW_NEXT[0] + PAGE }], [{
      op: "munmap",
      start: LOW[0],
      end: LOW[1],
    }]],
    bounds: NO_FAILURES,
    layout: "N's start, the ceiling, rounds down to the PMD boundary 0, which would mean " +
      "no ceiling at all: free_pgd_range() must free nothing",
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
    name: "fault-vs-fault-same-page",
    question: "Can two faults on the same page, whose tables exist, both map a page there?",
    vmas: [A, REST],
    prefault: [A[0], GiB + PAGE],
    cpus: [[{ op: "fault", addr: GiB }], [{ op: "fault", addr: GiB }]],
    bounds: NO_FAILURES,
    layout: "fault-vs-munmap-pte-present with munmap(A) replaced by a second fault on the " +
      "same page: both find the PTE none, and only the re-check under the PTE lock keeps " +
      "the second from mapping its page over the first's",
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
    name: "munmap-vs-munmap",
    question: "Can two munmap()s of the same VMA race?",
    vmas: [A, REST],
    prefault: [A[0]],
    cpus: [[{ op: "munmap", start: A[0], end: A[1] }], [{
      op: "munmap",
      start: A[0],
      end: A[1],
    }]],
    bounds: NO_FAILURES,
    layout: "fault-vs-munmap with the fault replaced by a second munmap(A): whichever " +
      "comes second finds no VMA there and must return with nothing held and nothing " +
      "freed twice",
  },
  {
    name: "fault-vs-munmap-below-stack",
    question: "Can a fault in A race with munmap(A) when the VMA above A is a stack, so " +
      "that munmap() tears A down holding mmap_lock for writing?",
    vmas: [A, REST],
    stacks: [REST[0]],
    prefault: [A[0], GiB + PAGE],
    cpus: [[{ op: "fault", addr: GiB }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "fault-vs-munmap-pte-present with the rest of the process a stack " +
      "(VM_GROWSDOWN): munmap() does not downgrade, so mmap_seq stays odd, and the " +
      "write lock held, over the whole teardown",
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
  {
    name: "fork-vs-stale-tlb-store",
    question: "Can a thread's store through a writable TLB entry race with fork() " +
      "write-protecting the page it writes?",
    vmas: [A, REST],
    prefault: [GiB],
    tlb: [[1, GiB]],
    cpus: [[{ op: "fork" }], [{ op: "store", addr: GiB + 0x10, value: "1" }]],
    bounds: NO_FAILURES,
    layout: "CPU1 wrote the page at 1 GiB before the fork, so its TLB maps it writable: " +
      "until fork's flush_tlb_mm() it may store through it into the page now shared " +
      "with the child, which the child then sees, as it would had the store come first",
  },
  {
    name: "fork-vs-write-fault",
    question: "Can a write fault on a page fork() has just write-protected race with the " +
      "rest of fork()?",
    vmas: [A, REST],
    prefault: [GiB],
    cpus: [[{ op: "fork" }], [{ op: "store", addr: GiB + 0x8, value: "1" }]],
    bounds: NO_FAILURES,
    layout: "fork-vs-stale-tlb-store with CPU1's TLB cold: its store walks the page tables, " +
      "and once fork has write-protected the PTE it takes a write fault, do_wp_page(), " +
      "which copies the page fork shares with the child",
  },
  {
    name: "fork-vs-write-fault-stale-tlb",
    question: "Can a write fault copying a page fork() shares race with another thread's " +
      "store through a TLB entry fork has not flushed yet?",
    vmas: [A, REST],
    prefault: [GiB],
    tlb: [[2, GiB]],
    cpus: [
      [{ op: "fork" }],
      [{ op: "store", addr: GiB + 0x8, value: "1" }],
      [{ op: "store", addr: GiB + 0x10, value: "2" }],
    ],
    bounds: NO_FAILURES,
    layout: "fork-vs-write-fault and fork-vs-stale-tlb-store at once, on three CPUs: " +
      "wp_page_copy() on CPU1 copies the page while CPU2 may still store into it through " +
      "its stale writable translation, which only fork's flush_tlb_mm() or the copy's " +
      "ptep_clear_flush() removes",
  },
  {
    name: "fork-vs-first-fault",
    question: "Can the first fault in a VMA, which gives it its anon_vma, race with fork() " +
      "copying that VMA?",
    vmas: [A, REST],
    prefault: [REST[0]],
    cpus: [[{ op: "fork" }], [{ op: "fault", addr: GiB }]],
    bounds: NO_FAILURES,
    layout: "A has no page and so no anon_vma: anon_vma_fork() gives the child's copy " +
      "none, but if the fault's anon_vma_prepare() and page come before " +
      "copy_page_range() reads src_vma->anon_vma, the page is copied into a child " +
      "whose anon_vma chain does not hold its anon_vma",
  },
  {
    name: "dontneed-vs-stale-tlb-store",
    question: "Can a thread's store through a writable TLB entry race with " +
      "madvise(MADV_DONTNEED) zapping the page it writes?",
    vmas: [A, REST],
    prefault: [GiB],
    tlb: [[1, GiB]],
    cpus: [
      [{ op: "madvise", start: GiB, end: GiB + PAGE }],
      [{ op: "store", addr: GiB + 0x8, value: "1" }],
    ],
    bounds: NO_FAILURES,
    layout: "CPU1 wrote the page at 1 GiB before, so its TLB maps it writable: until " +
      "tlb_finish_mmu() flushes it, CPU1 may store into the page zap_pte_range() has " +
      "taken out, which the kernel may drop, but not once the page is freed",
  },
  {
    name: "dontneed-vs-write-fault",
    question: "Can a store that faults the page back in race with madvise(MADV_DONTNEED) " +
      "zapping it?",
    vmas: [A, REST],
    prefault: [GiB],
    cpus: [
      [{ op: "madvise", start: GiB, end: GiB + PAGE }],
      [{ op: "store", addr: GiB + 0x8, value: "1" }],
    ],
    bounds: NO_FAILURES,
    layout: "dontneed-vs-stale-tlb-store with CPU1's TLB cold: its store walks the page " +
      "tables and either writes the old page (then the zap takes it) or finds the PTE " +
      "gone and faults a new page in beside the zap, both under mmap_read_lock() or less",
  },
  {
    name: "dontneed-vs-write-fault-stale-tlb",
    question: "Can a store through a stale TLB entry race with MADV_DONTNEED and with " +
      "another thread's fault that maps the page back in?",
    vmas: [A, REST],
    prefault: [GiB],
    tlb: [[2, GiB]],
    cpus: [
      [{ op: "madvise", start: GiB, end: GiB + PAGE }],
      [{ op: "store", addr: GiB + 0x8, value: "1" }],
      [{ op: "store", addr: GiB + 0x10, value: "2" }],
    ],
    bounds: NO_FAILURES,
    layout: "both dontneed neighbours at once, on three CPUs: CPU2's store may land in " +
      "the zapped page, which the kernel may drop, while CPU1 faults a new page in; a " +
      "store that comes after the flush must be in the page mapped at the end",
  },
  {
    name: "fault-vs-partial-munmap",
    question: "Can a fault in the part of a VMA that munmap() splits off and unmaps race " +
      "with the split?",
    vmas: [S, REST],
    prefault: [S[0]],
    cpus: [
      [{ op: "fault", addr: S[0] + 6 * PAGE }],
      [{ op: "munmap", start: S[0] + 4 * PAGE, end: S[1] }],
    ],
    bounds: NO_FAILURES,
    layout: "munmap() of S's upper half splits S in two and unmaps the upper part; the " +
      "fault may have found S before the split, whose bounds then no longer hold its " +
      "address. No page table is freed (the lower half keeps them), so what a stale " +
      "fault leaves is a PTE where no VMA is",
  },
  {
    name: "fault-vs-partial-munmap-kept",
    question: "Can a fault in the part of a VMA that stays race with munmap() splitting " +
      "off the rest?",
    vmas: [S, REST],
    prefault: [S[0]],
    cpus: [
      [{ op: "fault", addr: S[0] + 2 * PAGE }],
      [{ op: "munmap", start: S[0] + 4 * PAGE, end: S[1] }],
    ],
    bounds: NO_FAILURES,
    layout: "fault-vs-partial-munmap with the fault in the lower half, which the split " +
      "leaves in the old VMA object",
  },
  {
    name: "store-vs-mremap",
    question: "Can a store that faults a page in race with mremap() moving its VMA PTE by " +
      "PTE?",
    vmas: [S, REST],
    prefault: [S[0]],
    cpus: [
      [{ op: "store", addr: S[0] + PAGE + 0x8, value: "1" }],
      [{ op: "mremap", start: S[0], end: S[1], to: MOVED }],
    ],
    bounds: NO_FAILURES,
    layout: "S's first page is mapped, its second is not: the store faults it in while " +
      "move_ptes() moves S's PTEs to a new PTE table at 1 GiB + 4 MiB. A store that " +
      "returned before mremap() did must be found at the new address",
  },
  {
    name: "mremap-vs-stale-tlb-store",
    question: "Can a store through a TLB entry for the old address race with mremap() " +
      "moving the page it writes?",
    vmas: [S, REST],
    prefault: [S[0]],
    tlb: [[0, S[0]]],
    cpus: [
      [{ op: "store", addr: S[0] + 0x10, value: "1" }],
      [{ op: "mremap", start: S[0], end: S[1], to: MOVED }],
    ],
    bounds: NO_FAILURES,
    layout: "CPU0 wrote S's first page before, so its TLB maps it writable: its store goes " +
      "into the page before move_ptes() flushes it (and the page moves, store and all), " +
      "or walks after, finds the old PTE gone and faults on the old address",
  },
  {
    name: "store-at-target-vs-mremap",
    question: "Can a store to the address mremap() moves a VMA to fault there before the " +
      "PTEs arrive?",
    vmas: [S, REST],
    prefault: [S[0]],
    cpus: [
      [{ op: "store", addr: MOVED + 0x8, value: "1" }],
      [{ op: "mremap", start: S[0], end: S[1], to: MOVED }],
    ],
    bounds: NO_FAILURES,
    layout: "CPU0 stores to where S's first page will be: before copy_vma() puts the copy in " +
      "the tree it is SIGSEGV; after, its fault finds the copy, whose PTE move_ptes() has " +
      "not set yet (Dufour's 2018 race: \"the moved ptes will overwrite those create by the " +
      'page fault handler")',
  },
  {
    name: "store-vs-mremap-pmd",
    question: "Can a store that faults a page in race with mremap() moving its VMA's " +
      "whole PTE table (move_normal_pmd())?",
    vmas: [M, REST],
    prefault: [M[0]],
    cpus: [
      [{ op: "store", addr: M[0] + PAGE + 0x8, value: "1" }],
      [{ op: "mremap", start: M[0], end: M[1], to: MOVED }],
    ],
    bounds: NO_FAILURES,
    layout: "store-vs-mremap with a VMA of one whole, aligned PMD extent (2 MiB at 1 " +
      "GiB): mremap() moves its PTE table from one PMD entry to the other, and the " +
      "store's fault may find either",
  },
  {
    name: "fault-vs-mremap-dontunmap",
    question: "Can a fault that found its VMA with an anon_vma race with " +
      "mremap(MREMAP_DONTUNMAP) taking the anon_vma away, and with munmap() of the " +
      "VMA next to it?",
    vmas: [V, X, REST],
    prefault: [V[0]],
    cpus: [
      [{ op: "fault", addr: V[0] + PAGE }],
      [
        { op: "mremap", start: V[0], end: V[1], to: MOVED, dontunmap: true },
        { op: "munmap", start: X[0], end: X[1] },
      ],
    ],
    bounds: NO_FAILURES,
    layout: "V has a page and so an anon_vma, which MREMAP_DONTUNMAP's unlink_anon_vmas() " +
      "takes away once the page has moved; a fault in V that then needs an anon_vma " +
      "looks at V's neighbours (find_mergeable_anon_vma()), and X above it is munmap()ed " +
      "next (Jann Horn's race, 657b5146955e)",
  },
  {
    name: "gup-fast-vs-munmap",
    question: "Can GUP-fast, which walks the page tables with no lock, race with munmap() " +
      "freeing them?",
    vmas: [A, REST],
    prefault: [A[0], GiB],
    cpus: [[{ op: "gup", addr: GiB }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "the page at 1 GiB is mapped, so GUP-fast finds every level and takes a " +
      "reference on the page while munmap(A) zaps it and frees the PMD and PTE tables " +
      "under it (and the PUD): only GUP-fast's IRQs-off section holds the freeing off",
  },
  {
    name: "gup-slow-vs-munmap",
    question: "Can GUP of a page that is not mapped yet, which GUP-fast leaves to the slow " +
      "path, race with munmap()?",
    vmas: [A, REST],
    prefault: [A[0], GiB],
    cpus: [[{ op: "gup", addr: GiB + PAGE }], [{ op: "munmap", start: A[0], end: A[1] }]],
    bounds: NO_FAILURES,
    layout: "gup-fast-vs-munmap with the page GUP asks for not there: GUP-fast finds the " +
      "PTE none and the slow path faults it in under mmap_read_lock() (faultin_page()), " +
      "then follows it under the PTE lock, while munmap(A) takes the VMA away",
  },
  {
    name: "gup-slow-vs-dontneed",
    question: "Can GUP's slow path take a reference on a page that madvise(MADV_DONTNEED) " +
      "is zapping?",
    vmas: [A, REST],
    prefault: [A[0], GiB],
    cpus: [
      [{ op: "gup", addr: GiB + PAGE }],
      [{ op: "madvise", start: GiB + PAGE, end: GiB + 2 * PAGE }],
    ],
    bounds: NO_FAILURES,
    layout: "gup-slow-vs-munmap with MADV_DONTNEED of the page instead: both hold " +
      "mmap_read_lock(), so only the PTE lock orders follow_page_pte()'s look at the PTE " +
      "and its try_grab_page() against zap_pte_range() clearing the PTE and the page's " +
      "free after the TLB flush",
  },
  {
    name: "stack-vs-stack-expansion",
    question: "Can a fault that grows a stack down to the stack below it race with a " +
      "fault that grows the lower stack?",
    vmas: [LOW_STACK, STACK],
    stacks: [LOW_STACK[0], STACK[0]],
    prefault: [LOW_STACK[0], STACK[0]],
    cpus: [
      [{ op: "fault", addr: STACK[0] - PAGE }],
      [{ op: "fault", addr: LOW_STACK[0] - PAGE }],
    ],
    grows: [STACK[0] - PAGE, LOW_STACK[0] - PAGE],
    bounds: NO_FAILURES,
    layout: "StackRot's layout (CVE-2023-3269): STACK grows into the one-page gap above " +
      "LOW_STACK and closes it, which on a maple tree replaces the tree's node; the other " +
      "fault's expand_downwards() walks the tree to LOW_STACK's neighbour below (mas_prev())",
  },
  {
    name: "stack-expansion-vs-fault",
    question: "Can a fault that grows a stack race with a fault inside the stack?",
    vmas: [STACK],
    stacks: [STACK[0]],
    prefault: [STACK[0]],
    cpus: [
      [{ op: "fault", addr: STACK[0] - PAGE }],
      [{ op: "fault", addr: STACK[0] + PAGE }],
    ],
    grows: [STACK[0] - PAGE],
    bounds: NO_FAILURES,
    layout: "STACK has a page, so an anon_vma, and the fault inside it may take the VMA " +
      "lock; the expansion changes STACK's vm_start and the tree (in place: a pivot moves) " +
      "beside it",
  },
  {
    name: "gup-fast-vs-khugepaged",
    question: "Can GUP-fast walk into the PTE table khugepaged takes out of a file VMA?",
    vmas: [F, REST],
    files: [F[0]],
    prefault: [],
    cpus: [[{ op: "gup-fast", addr: F[0] }], [{ op: "khugepaged", addr: F[0] }]],
    bounds: NO_FAILURES,
    layout: "collapse_file() has unmapped F's small pages, so GUP-fast (FOLL_FAST_ONLY) " +
      "finds every level down to F's empty PTE table, which retract_page_tables() clears " +
      "from the PMD and frees: only GUP-fast's IRQs-off section holds the free off",
  },
  {
    name: "dontneed-vs-khugepaged",
    question: "Can MADV_DONTNEED zap the PTE table khugepaged is taking out of a file VMA?",
    vmas: [F, REST],
    files: [F[0]],
    prefault: [],
    cpus: [
      [{ op: "madvise", start: F[0], end: F[0] + PAGE }],
      [{ op: "khugepaged", addr: F[0] }],
    ],
    bounds: NO_FAILURES,
    layout: "zap_pte_range() takes the lock of the table it found in F's PMD entry, under " +
      "mmap_read_lock(), which up to 6.4 kept khugepaged's mmap_write_trylock() out and " +
      "from 6.6 keeps nothing out: 6.5's pte_offset_map_lock() re-checks the entry",
  },
  {
    name: "munmap-vs-khugepaged",
    question: "Can munmap() of a file VMA race with khugepaged taking its PTE table?",
    vmas: [F, REST],
    files: [F[0]],
    prefault: [],
    cpus: [[{ op: "munmap", start: F[0], end: F[1] }], [{ op: "khugepaged", addr: F[0] }]],
    bounds: NO_FAILURES,
    layout: "both would free F's PTE table: munmap() through free_pgtables() after " +
      "unlink_file_vma() takes F out of the file's i_mmap, khugepaged through the VMAs " +
      "it finds in i_mmap under i_mmap_rwsem",
  },
  {
    name: "mremap-vs-khugepaged",
    question: "Can mremap() move the PTE table of a file VMA that khugepaged is taking away?",
    vmas: [F, REST],
    files: [F[0]],
    prefault: [],
    cpus: [
      [{ op: "mremap", start: F[0], end: F[1], to: MOVED }],
      [{ op: "khugepaged", addr: F[0] }],
    ],
    bounds: NO_FAILURES,
    layout: "F is one PMD extent, so move_page_tables() moves its table whole " +
      "(move_normal_pmd()) under mmap_write_lock() and the rmap locks, after get_old_pmd() " +
      "read the entry; retract_page_tables() finds the same table through the file " +
      "(Jann Horn's CVE-2024-50066 race)",
  },
  {
    name: "uffd-copy-vs-khugepaged",
    question: "Can UFFDIO_COPY walk to a file VMA's PMD entry while khugepaged empties it?",
    vmas: [F, REST],
    files: [F[0]],
    prefault: [],
    cpus: [[{ op: "uffd-copy", addr: F[0] }], [{ op: "khugepaged", addr: F[0] }]],
    bounds: NO_FAILURES,
    layout: "mfill_atomic() finds F's PTE table in its PMD entry under mmap_read_lock(), " +
      "then checks the entry again, BUG_ON(pmd_none()), before the page cache refuses the " +
      "page khugepaged has replaced; the retraction may clear the entry in between",
  },
  {
    name: "fault-vs-khugepaged",
    question: "Can a fault that fills the PMD entry next to a file VMA's race with " +
      "khugepaged clearing that VMA's?",
    vmas: [F, B, REST],
    files: [F[0]],
    prefault: [],
    cpus: [[{ op: "fault", addr: B[0] }], [{ op: "khugepaged", addr: F[0] }]],
    bounds: NO_FAILURES,
    layout: "B shares F's PMD table: the fault's __pte_alloc() installs B's PTE table " +
      "under pmd_lock() (mm->page_table_lock) while retract_page_tables() clears F's " +
      "entry of the same table, under that lock or none",
  },
];

/**
 * fault-vs-munmap-pte-present with the fault's PTE table full enough that munmap(A)'s
 * `zap_pte_range()` fills the gather's on-stack batch (MMU_GATHER_BUNDLE, 8 pages: A's
 * first page and seven next to the fault's) and may fail to allocate the next one
 * (one GFP_NOWAIT failure per CPU): then it flushes the TLB with the PTE lock held.
 * Not in the matrix (`scenarios`): it asks about the one thing that flush changes, the
 * deadlock SPF's `spin_trylock()` avoids, and docs/spf-v2.md runs it.
 */
export const faultVsMunmapForceFlush: Scenario = {
  name: "fault-vs-munmap-force-flush",
  question: "Can a fault in A wait for the PTE lock that munmap(A) holds while its TLB " +
    "flush waits for the fault's CPU?",
  vmas: [A, REST],
  prefault: [A[0], ...Array.from({ length: 7 }, (_, i) => GiB + (i + 1) * PAGE)],
  cpus: [[{ op: "fault", addr: GiB }], [{ op: "munmap", start: A[0], end: A[1] }]],
  bounds: { allocFailures: 1 },
  layout: "the 8th page zapped fills tlb->local; if tlb_next_batch() fails, zap_pte_range() " +
    "calls tlb_flush_mmu_tlbonly() before it drops the PTE lock of the fault's table",
};

/**
 * stack-expansion-vs-fault with the stack unmapped by a third CPU. Not in the matrix
 * (`scenarios`): its 11 pairs took 170,864 executions, twice the rest of the matrix,
 * for verdicts the two-CPU scenarios already give (the designs that lose it lose
 * `fault-vs-munmap-pte-present`); docs/stack-expansion.md runs it on the per-VMA
 * designs and on a variant of 6.6 without its second `find_vma()`.
 */
export const stackExpansionVsMunmapVsFault: Scenario = {
  name: "stack-expansion-vs-munmap-vs-fault",
  question: "Can a fault that grows a stack race with munmap() of the stack and with a " +
    "fault inside it?",
  vmas: [STACK, REST],
  stacks: [STACK[0]],
  prefault: [STACK[0]],
  cpus: [
    [{ op: "fault", addr: STACK[0] - PAGE }],
    [{ op: "munmap", start: STACK[0], end: STACK[1] }],
    [{ op: "fault", addr: STACK[0] + PAGE }],
  ],
  bounds: NO_FAILURES,
  layout: "stack-expansion-vs-fault with STACK unmapped by a third CPU: the growing fault " +
    "may find the stack, lose it (6.6's lock_mm_and_find_vma() drops mmap_lock to take " +
    "it for writing, and looks again) or find nothing; either fault may end in SIGSEGV",
};
