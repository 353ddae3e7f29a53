/**
 * A malformed scenario fails before it runs, with an error naming the scenario and
 * the field; the library's scenarios are all well formed; a fault outside every VMA is
 * allowed (SIGSEGV is an outcome), a prefault there is not.
 */

import assert from "node:assert/strict";
import { check, program, type Scenario, scenarioNamed, scenarios, strategyNamed } from "../mod.ts";
import { validateScenario } from "../scenarios/validate.ts";

const GiB = 0x40000000;
const PAGE = 0x1000;

/** A well-formed scenario to break one field of. */
const base: Scenario = {
  name: "x",
  question: "?",
  vmas: [[GiB, GiB + 4 * PAGE]],
  prefault: [GiB],
  cpus: [[{ op: "fault", addr: GiB + PAGE }], [{ op: "munmap", start: GiB, end: GiB + PAGE }]],
  bounds: { allocFailures: 0 },
  layout: "",
};

Deno.test("every scenario of the library is well formed", () => {
  for (const w of scenarios) validateScenario(w);
  validateScenario(base);
});

Deno.test("a fault outside every VMA is allowed: it is SIGSEGV", () => {
  validateScenario({ ...base, cpus: [[{ op: "fault", addr: 8 * GiB }]] });
  const c = check("mmap-lock", { ...base, cpus: [[{ op: "fault", addr: 8 * GiB }]] });
  assert.equal(c.outcome, "safe");
});

Deno.test("each malformed field is an error naming the scenario and the field", async (t) => {
  const cases: [string, Partial<Scenario>, string][] = [
    [
      "a store that is not 8-byte aligned",
      { cpus: [[{ op: "store", addr: GiB + 4, value: "1" }]] },
      'scenario "x": cpus[0][0] (store) addr: 0x40000004 is not an 8-byte-aligned address',
    ],
    [
      "a store with no value",
      { cpus: [[{ op: "store", addr: GiB, value: "" }]] },
      'scenario "x": cpus[0][0] (store) value: a store needs a value (a non-empty string)',
    ],
    [
      "a warm TLB entry for a page that is not mapped",
      { tlb: [[0, GiB + PAGE]] },
      'scenario "x": tlb[0]: 0x40001000 is not a prefaulted page (only a mapped page is cached)',
    ],
    [
      "a warm TLB entry for a CPU that does not exist",
      { tlb: [[2, GiB]] },
      'scenario "x": tlb[0]: 2 is not the index of a CPU of cpus',
    ],
    [
      "an mremap() of part of a VMA",
      { cpus: [[{ op: "mremap", start: GiB, end: GiB + PAGE, to: 2 * GiB }]] },
      'scenario "x": cpus[0][0] (mremap): [0x40000000, 0x40001000) is not a VMA of vmas (only a ' +
      "whole VMA is moved)",
    ],
    [
      "an mremap() onto a VMA",
      { cpus: [[{ op: "mremap", start: GiB, end: GiB + 4 * PAGE, to: GiB + PAGE }]] },
      'scenario "x": cpus[0][0] (mremap) to: 0x40001000: the target overlaps a VMA of vmas',
    ],
    [
      "an mremap() whose dontunmap is not a boolean",
      {
        cpus: [[{
          op: "mremap",
          start: GiB,
          end: GiB + 4 * PAGE,
          to: 2 * GiB,
          dontunmap: "yes" as unknown as boolean,
        }]],
      },
      'scenario "x": cpus[0][0] (mremap) dontunmap: not true or false',
    ],
    [
      "an madvise() whose end is before its start",
      { cpus: [[{ op: "madvise", start: GiB + PAGE, end: GiB }]] },
      'scenario "x": cpus[0][0] (madvise): end 0x40000000 is not after start 0x40001000',
    ],
    [
      "a stack that is no VMA's start",
      { stacks: [GiB + PAGE] },
      'scenario "x": stacks[0]: 0x40001000 is the start of no VMA of vmas',
    ],
    [
      "end before start",
      { vmas: [[0x2000, 0x1000]] },
      'scenario "x": vmas[0]: end 0x1000 is not after start 0x2000',
    ],
    [
      "empty VMA",
      { vmas: [[GiB, GiB]] },
      'scenario "x": vmas[0]: end 0x40000000 is not after start 0x40000000',
    ],
    ["negative start", { vmas: [[-PAGE, PAGE]] }, 'scenario "x": vmas[0]: start -4096 is negative'],
    [
      "unaligned end",
      { vmas: [[GiB, GiB + 10]] },
      'scenario "x": vmas[0]: end 0x4000000a is not page-aligned (a multiple of 0x1000)',
    ],
    [
      "not a whole number",
      { vmas: [[GiB + 0.5, GiB + PAGE]] },
      'scenario "x": vmas[0]: start 1073741824.5 is not a whole number',
    ],
    [
      "beyond 2^47",
      { vmas: [[2 ** 47, 2 ** 47 + PAGE]], prefault: [] },
      'scenario "x": vmas[0]: start 0x800000000000 is beyond the user address space ' +
      "(2^47 = 0x800000000000)",
    ],
    [
      "end beyond 2^47",
      { vmas: [[2 ** 47 - PAGE, 2 ** 47 + PAGE]], prefault: [] },
      'scenario "x": vmas[0]: end 0x800000001000 is beyond the user address space ' +
      "(2^47 = 0x800000000000)",
    ],
    [
      "overlapping VMAs",
      { vmas: [[GiB, GiB + 4 * PAGE], [GiB + 2 * PAGE, GiB + 8 * PAGE]] },
      'scenario "x": vmas[1]: [0x40002000, 0x40008000) overlaps vmas[0] [0x40000000, 0x40004000)',
    ],
    [
      "prefault outside every VMA",
      { prefault: [GiB, 2 * GiB] },
      'scenario "x": prefault[1]: 0x80000000 is in no VMA (a fault there is SIGSEGV; ' +
      "set-up cannot fault it in)",
    ],
    [
      "unaligned prefault",
      { prefault: [GiB + 1] },
      'scenario "x": prefault[0]: 0x40000001 is not page-aligned (a multiple of 0x1000)',
    ],
    [
      "negative fault address",
      { cpus: [[{ op: "fault", addr: -PAGE }]] },
      'scenario "x": cpus[0][0] (fault) addr: -4096 is negative',
    ],
    [
      "unaligned fault address",
      { cpus: [[{ op: "fault", addr: GiB + 8 }]] },
      'scenario "x": cpus[0][0] (fault) addr: 0x40000008 is not page-aligned (a multiple of 0x1000)',
    ],
    [
      "fault beyond 2^47",
      { cpus: [[{ op: "fault", addr: 2 ** 48 }]] },
      'scenario "x": cpus[0][0] (fault) addr: 0x1000000000000 is beyond the user address space ' +
      "(2^47 = 0x800000000000)",
    ],
    [
      "empty munmap",
      { cpus: [[{ op: "munmap", start: GiB, end: GiB }]] },
      'scenario "x": cpus[0][0] (munmap): end 0x40000000 is not after start 0x40000000',
    ],
    [
      "unaligned munmap",
      { cpus: [[{ op: "fault", addr: GiB }, { op: "munmap", start: GiB + 1, end: 2 * GiB }]] },
      'scenario "x": cpus[0][1] (munmap): start 0x40000001 is not page-aligned (a multiple of 0x1000)',
    ],
    [
      "mmap ending before it starts",
      { cpus: [[{ op: "fault", addr: GiB }], [{ op: "mmap", start: 2 * GiB, end: GiB }]] },
      'scenario "x": cpus[1][0] (mmap): end 0x40000000 is not after start 0x80000000',
    ],
    [
      "no CPUs",
      { cpus: [] },
      'scenario "x": cpus: no CPUs: a scenario needs at least one CPU with operations',
    ],
    ["a CPU with nothing to do", { cpus: [[]] }, 'scenario "x": cpus[0]: no operations'],
    [
      "unknown operation",
      {
        cpus: [[{ op: "mprotect", start: GiB, end: 2 * GiB } as unknown as Scenario["cpus"][0][0]]],
      },
      'scenario "x": cpus[0][0]: unknown operation "mprotect"',
    ],
    [
      "a file VMA that is no VMA",
      { files: [2 * GiB] },
      'scenario "x": files[0]: 0x80000000 is the start of no VMA of vmas',
    ],
    [
      "a file VMA that is a stack",
      { files: [GiB], stacks: [GiB], prefault: [] },
      'scenario "x": files[0]: 0x40000000 is a stack: a file VMA cannot grow down',
    ],
    [
      "a prefault in a file VMA",
      { files: [GiB] },
      'scenario "x": prefault[0]: 0x40000000 is in a file VMA, where the model has no faults ' +
      "(only munmap, madvise, mremap, gup-fast, uffd-copy and khugepaged touch one)",
    ],
    [
      "a fault in a file VMA",
      { files: [GiB], prefault: [] },
      'scenario "x": cpus[0][0] (fault) addr: 0x40001000 is in a file VMA, where the model has ' +
      "no faults (only munmap, madvise, mremap, gup-fast, uffd-copy and khugepaged touch one)",
    ],
    [
      "khugepaged at no file VMA",
      { cpus: [[{ op: "khugepaged", addr: GiB }]] },
      'scenario "x": cpus[0][0] (khugepaged) addr: 0x40000000 is the start of no VMA of files',
    ],
    [
      "munmap() of part of a file VMA",
      { files: [GiB], prefault: [], cpus: [[{ op: "munmap", start: GiB, end: GiB + PAGE }]] },
      'scenario "x": cpus[0][0] (munmap): [0x40000000, 0x40001000) is part of a file VMA: a ' +
      "file VMA is unmapped whole (a split of one is not modelled)",
    ],
    [
      "mremap() of a file VMA to an address that is not PMD-aligned",
      {
        vmas: [[GiB, GiB + 0x200000]],
        files: [GiB],
        prefault: [],
        cpus: [[{ op: "mremap", start: GiB, end: GiB + 0x200000, to: 2 * GiB + PAGE }]],
      },
      'scenario "x": cpus[0][0] (mremap): 0x40000000: a file VMA is moved only PMD-aligned ' +
      "(start, end and to multiples of 2 MiB) and without MREMAP_DONTUNMAP",
    ],
    [
      "UFFDIO_COPY outside every file VMA",
      { cpus: [[{ op: "uffd-copy", addr: GiB }]] },
      'scenario "x": cpus[0][0] (uffd-copy) addr: 0x40000000 is in no file VMA (files): ' +
      "UFFDIO_COPY is modelled only into a shared file VMA",
    ],
    [
      "fork() of an mm with a file VMA",
      { files: [GiB], prefault: [], cpus: [[{ op: "fork" }]] },
      'scenario "x": cpus[0][0]: fork() of an mm with file VMAs is not modelled (files)',
    ],
    [
      "negative bound",
      { bounds: { allocFailures: -1 } },
      'scenario "x": bounds.allocFailures: -1 is not a whole number of at least 0',
    ],
    [
      "fractional bound",
      { bounds: { allocFailures: 1.5 } },
      'scenario "x": bounds.allocFailures: 1.5 is not a whole number of at least 0',
    ],
  ];
  for (const [what, change, message] of cases) {
    await t.step(what, () => {
      assert.throws(() => validateScenario({ ...base, ...change }), { message });
    });
  }
});

Deno.test("program() and check() refuse a malformed scenario before it runs", () => {
  const bad: Scenario = { ...scenarioNamed("fault-vs-munmap"), name: "typo", vmas: [[GiB, 0]] };
  const message = 'scenario "typo": vmas[0]: end 0x0 is not after start 0x40000000';
  assert.throws(() => program(strategyNamed("mmap-lock"), bad), { message });
  assert.throws(() => check("mmap-lock", bad), { message });
});
