/**
 * Checks that a scenario describes an address space and operations the model can run,
 * before any of it runs. A scenario is plain data, often written by hand in a note or a
 * test; a typo in it (a VMA whose end is before its start, an address in the middle of
 * a page, two VMAs on top of each other) would otherwise not fail: the model would
 * explore something nobody meant and report a verdict on it. So every problem is an
 * error that names the scenario and the field, e.g.
 * `scenario "x": vmas[0]: end 0x1000 is not after start 0x2000`.
 *
 * What is not an error: a fault at an address no VMA covers. A fault outside every VMA
 * ends in SIGSEGV, a legitimate outcome the scenarios ask about (`fault-vs-mmap` faults
 * in a hole). A prefault there is an error: the set-up would build page tables for a
 * page no VMA maps, a state no kernel reaches.
 *
 * @module
 */

import type { Scenario } from "./scenario.ts";

/**
 * Why no operation may fault in a file VMA: the model has no file faults, and the
 * locked huge page of a collapse would hold every one off (mm/address_space.ts).
 */
const NO_FILE_FAULTS = "where the model has no faults (only munmap, madvise, mremap, gup-fast, " +
  "uffd-copy and khugepaged touch one)";

/** The page size: VMA bounds, ranges and fault addresses are multiples of it. */
export const PAGE_SIZE = 0x1000;

/**
 * The end of the user address space the model allows: 2^47, x86-64's user half with
 * 4-level page tables (`TASK_SIZE`, minus its guard page aside). Well below 2^53, so
 * every address is an exact JavaScript number.
 */
export const USER_ADDRESS_LIMIT = 2 ** 47;

/** `0x1000`, or the value as written when it is not a whole number. */
function shown(n: unknown): string {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0
    ? `0x${n.toString(16)}`
    : String(n);
}

/**
 * What is wrong with one address, or undefined. `end` marks an exclusive end, which may
 * be the limit itself.
 */
function addressProblem(value: unknown, end = false): string | undefined {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    return `${shown(value)} is not a whole number`;
  }
  if (value < 0) return `${value} is negative`;
  if (value % PAGE_SIZE !== 0) {
    return `${shown(value)} is not page-aligned (a multiple of 0x${PAGE_SIZE.toString(16)})`;
  }
  if (end ? value > USER_ADDRESS_LIMIT : value >= USER_ADDRESS_LIMIT) {
    return `${shown(value)} is beyond the user address space (2^47 = ${shown(USER_ADDRESS_LIMIT)})`;
  }
  return undefined;
}

/** What is wrong with a range [start, end), or undefined. */
function rangeProblem(start: unknown, end: unknown): string | undefined {
  const s = addressProblem(start);
  if (s) return `start ${s}`;
  const e = addressProblem(end, true);
  if (e) return `end ${e}`;
  if ((end as number) <= (start as number)) {
    return `end ${shown(end)} is not after start ${shown(start)}`;
  }
  return undefined;
}

/**
 * Throws an Error naming the scenario and the field of the first problem found, or
 * returns if there is none. `program()` calls it, so no scenario runs unchecked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scenarioNamed, validateScenario } from "../mod.ts";
 * const ok = scenarioNamed("fault-vs-munmap");
 * validateScenario(ok);
 * assert.throws(
 *   () => validateScenario({ ...ok, name: "x", vmas: [[0x2000, 0x1000]] }),
 *   { message: 'scenario "x": vmas[0]: end 0x1000 is not after start 0x2000' },
 * );
 * ```
 */
export function validateScenario(scenario: Scenario): void {
  const fail = (field: string, problem: string): never => {
    throw new Error(`scenario "${scenario.name}": ${field}: ${problem}`);
  };
  if (typeof scenario.name !== "string" || scenario.name === "") {
    throw new Error(`scenario ${JSON.stringify(scenario.name)}: name: a scenario needs a name`);
  }

  const vmas = scenario.vmas;
  if (!Array.isArray(vmas)) fail("vmas", "not a list of [start, end) ranges");
  for (const [i, vma] of vmas.entries()) {
    if (!Array.isArray(vma) || vma.length !== 2) fail(`vmas[${i}]`, "not a [start, end) pair");
    const problem = rangeProblem(vma[0], vma[1]);
    if (problem) fail(`vmas[${i}]`, problem);
  }
  // Two VMAs may touch (one's end is the other's start) but not share a page.
  for (const [i, [start, end]] of vmas.entries()) {
    for (const [j, [s, e]] of vmas.entries()) {
      if (j < i && start < e && s < end) {
        fail(
          `vmas[${i}]`,
          `[${shown(start)}, ${shown(end)}) overlaps vmas[${j}] [${shown(s)}, ${shown(e)})`,
        );
      }
    }
  }
  const inVma = (addr: number) => vmas.some(([s, e]) => s <= addr && addr < e);

  const stacks: unknown = scenario.stacks ?? [];
  if (!Array.isArray(stacks)) fail("stacks", "not a list of VMA starts");
  for (const [i, start] of (stacks as unknown[]).entries()) {
    if (!vmas.some(([s]) => s === start)) {
      fail(`stacks[${i}]`, `${shown(start)} is the start of no VMA of vmas`);
    }
  }

  const files: unknown = scenario.files ?? [];
  if (!Array.isArray(files)) fail("files", "not a list of VMA starts");
  const fileVma = (addr: number) =>
    vmas.find(([s, e]) => (files as unknown[]).includes(s) && s <= addr && addr < e);
  for (const [i, start] of (files as unknown[]).entries()) {
    if (!vmas.some(([s]) => s === start)) {
      fail(`files[${i}]`, `${shown(start)} is the start of no VMA of vmas`);
    }
    if ((stacks as unknown[]).includes(start)) {
      fail(`files[${i}]`, `${shown(start)} is a stack: a file VMA cannot grow down`);
    }
  }

  const grows: unknown = scenario.grows ?? [];
  if (!Array.isArray(grows)) fail("grows", "not a list of fault addresses");
  const ops = Array.isArray(scenario.cpus) ? scenario.cpus.flat() : [];
  for (const [i, addr] of (grows as unknown[]).entries()) {
    if (!ops.some((op) => op?.op === "fault" && op.addr === addr)) {
      fail(`grows[${i}]`, `${shown(addr)} is the address of no fault operation`);
    }
    const stackAbove = vmas.some(([s]) =>
      (stacks as unknown[]).includes(s) && typeof addr === "number" && addr < s
    );
    if (typeof addr !== "number" || inVma(addr) || !stackAbove) {
      fail(`grows[${i}]`, `${shown(addr)} must lie in no VMA and below a stack (stacks)`);
    }
  }

  if (!Array.isArray(scenario.prefault)) fail("prefault", "not a list of addresses");
  for (const [i, addr] of scenario.prefault.entries()) {
    const problem = addressProblem(addr);
    if (problem) fail(`prefault[${i}]`, problem);
    if (!inVma(addr)) {
      fail(
        `prefault[${i}]`,
        `${shown(addr)} is in no VMA (a fault there is SIGSEGV; set-up cannot fault it in)`,
      );
    }
    if (fileVma(addr)) fail(`prefault[${i}]`, `${shown(addr)} is in a file VMA, ${NO_FILE_FAULTS}`);
  }

  const tlb: unknown = scenario.tlb ?? [];
  if (!Array.isArray(tlb)) fail("tlb", "not a list of [CPU, page address] pairs");
  for (const [i, entry] of (tlb as unknown[]).entries()) {
    const [cpu, addr] = Array.isArray(entry) ? entry : [];
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= (scenario.cpus?.length ?? 0)) {
      fail(`tlb[${i}]`, `${String(cpu)} is not the index of a CPU of cpus`);
    }
    if (!scenario.prefault.includes(addr)) {
      fail(`tlb[${i}]`, `${shown(addr)} is not a prefaulted page (only a mapped page is cached)`);
    }
  }

  if (!Array.isArray(scenario.cpus) || scenario.cpus.length === 0) {
    fail("cpus", "no CPUs: a scenario needs at least one CPU with operations");
  }
  for (const [cpu, ops] of scenario.cpus.entries()) {
    if (!Array.isArray(ops) || ops.length === 0) fail(`cpus[${cpu}]`, "no operations");
    for (const [i, op] of ops.entries()) {
      const field = `cpus[${cpu}][${i}]`;
      switch (op?.op) {
        case "fault":
        case "gup":
        case "gup-fast": {
          // Any page may be faulted, in a VMA or not: outside every VMA it is SIGSEGV.
          // It must be page-aligned: the model names the page after the fault address.
          const problem = addressProblem(op.addr);
          if (problem) fail(`${field} (${op.op}) addr`, problem);
          if (op.op !== "gup-fast" && fileVma(op.addr)) {
            fail(
              `${field} (${op.op}) addr`,
              `${shown(op.addr)} is in a file VMA, ${NO_FILE_FAULTS}`,
            );
          }
          break;
        }
        case "uffd-copy": {
          const problem = addressProblem(op.addr);
          if (problem) fail(`${field} (uffd-copy) addr`, problem);
          if (!fileVma(op.addr)) {
            fail(
              `${field} (uffd-copy) addr`,
              `${shown(op.addr)} is in no file VMA (files): UFFDIO_COPY is modelled only ` +
                "into a shared file VMA",
            );
          }
          break;
        }
        case "khugepaged":
          if (!(files as unknown[]).includes(op.addr)) {
            fail(`${field} (khugepaged) addr`, `${shown(op.addr)} is the start of no VMA of files`);
          }
          break;
        case "store": {
          const a = op.addr;
          if (typeof a !== "number" || !Number.isSafeInteger(a) || a < 0 || a % 8 !== 0) {
            fail(`${field} (store) addr`, `${shown(a)} is not an 8-byte-aligned address`);
          }
          if (a >= USER_ADDRESS_LIMIT) {
            fail(`${field} (store) addr`, `${shown(a)} is beyond the user address space`);
          }
          if (typeof op.value !== "string" || op.value === "") {
            fail(`${field} (store) value`, "a store needs a value (a non-empty string)");
          }
          if (fileVma(a)) {
            fail(`${field} (store) addr`, `${shown(a)} is in a file VMA, ${NO_FILE_FAULTS}`);
          }
          break;
        }
        case "fork":
          if ((files as unknown[]).length) {
            fail(field, "fork() of an mm with file VMAs is not modelled (files)");
          }
          break;
        case "mremap": {
          const PMD = 0x200000;
          if (
            fileVma(op.start) &&
            (op.dontunmap || [op.start, op.end, op.to].some((a) => a % PMD !== 0))
          ) {
            fail(
              `${field} (mremap)`,
              `${shown(op.start)}: a file VMA is moved only PMD-aligned (start, end and to ` +
                "multiples of 2 MiB) and without MREMAP_DONTUNMAP",
            );
          }
          if (!vmas.some(([s, e]) => s === op.start && e === op.end)) {
            fail(
              `${field} (mremap)`,
              `[${shown(op.start)}, ${shown(op.end)}) is not a VMA of vmas (only a whole VMA ` +
                "is moved)",
            );
          }
          const target = rangeProblem(op.to, (op.to as number) + op.end - op.start);
          if (target) fail(`${field} (mremap) to`, target);
          if (vmas.some(([s, e]) => op.to < e && s < op.to + op.end - op.start)) {
            fail(`${field} (mremap) to`, `${shown(op.to)}: the target overlaps a VMA of vmas`);
          }
          if (op.dontunmap !== undefined && typeof op.dontunmap !== "boolean") {
            fail(`${field} (mremap) dontunmap`, "not true or false");
          }
          break;
        }
        case "munmap":
        case "madvise":
        case "mmap": {
          const problem = rangeProblem(op.start, op.end);
          if (problem) fail(`${field} (${op.op})`, problem);
          const file = fileVma(op.start);
          if (op.op === "munmap" && file && (file[0] !== op.start || file[1] !== op.end)) {
            fail(
              `${field} (munmap)`,
              `[${shown(op.start)}, ${shown(op.end)}) is part of a file VMA: a file VMA is ` +
                "unmapped whole (a split of one is not modelled)",
            );
          }
          break;
        }
        default:
          fail(field, `unknown operation ${JSON.stringify((op as { op?: unknown })?.op)}`);
      }
    }
  }

  const bounds: unknown = scenario.bounds;
  if (typeof bounds !== "object" || bounds === null) fail("bounds", "missing");
  for (const [key, value] of Object.entries(bounds as object)) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      fail(`bounds.${key}`, `${String(value)} is not a whole number of at least 0`);
    }
  }
}
