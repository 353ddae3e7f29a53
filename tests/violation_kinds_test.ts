/**
 * Every kind of violation the model can report is pinned here: for each, a small
 * deliberately broken program (or strategy, run on a scenario as the matrix runs one)
 * whose exhaustive search reports that kind and no other, with a fragment of its
 * message, and a corrected twin that explores exhaustively and is safe. The list of
 * pinned kinds must be the set of kinds the core's source can throw (`new Violation(`
 * in explore/, mm/, strategies/, scenarios/), so a new kind without a case here fails
 * the suite. The explorer's one other outcome, `step-budget` (a livelock), is pinned
 * the same way at the end.
 */

import assert from "node:assert/strict";
import {
  alloc,
  check_mm,
  down_write,
  downgrade_write,
  dup_mmap,
  explore,
  type ExploreResult,
  free_pgd_range,
  GFP_NOWAIT,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  hex,
  indexOf,
  insertVma,
  Kernel,
  type KObject,
  local_irq_disable,
  local_irq_enable,
  lockdep_assert_held,
  type Mm,
  mm_alloc,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_downgrade,
  mmap_write_lock,
  mmap_write_unlock,
  mt_init,
  type Neighbours,
  pathTo,
  type Proc,
  type ProgramFactory,
  pXd_alloc,
  rcu_read_lock,
  rcu_read_unlock,
  type Scenario,
  scenarioNamed,
  setupFault,
  setupVma,
  spin_lock,
  spin_trylock,
  spin_unlock,
  step,
  type Strategy,
  tlb_finish_mmu,
  tlb_gather_mmu,
  tree_store,
  unmap_page_range,
  unmap_region,
  up_write,
  verdictOf,
  vm_area_alloc,
  vm_area_free,
  vm_area_free_rcu,
  vma_end_write_all,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
  vmaRwsem,
  writeEntry,
} from "../mod.ts";
import { program } from "../scenarios/scenario.ts";
import {
  fault_under_mmap_lock,
  mmap_under_mmap_lock,
  mmapLock,
  SLEEPING_ALLOCATIONS,
} from "../strategies/mmap_lock.ts";
import { mremap_6_4, perVmaLock } from "../strategies/per_vma_lock.ts";
import { MUNMAP_6_6, perVmaLock66 } from "../strategies/per_vma_lock_6_6.ts";
import { NOWAIT_ALLOCATIONS } from "../strategies/rcu_gfp_nowait.ts";

const GiB = 0x40000000;
const MiB = 0x100000;
const PAGE = 0x1000;
/** The scenarios' A and the rest of the process (scenarios/library.ts). */
const A = [GiB - 2 * MiB, GiB + 2 * MiB] as const;
const REST = [512 * GiB, 512 * GiB + PAGE] as const;
const NO_FAILURES = { allocFailures: 0 };

/** One fault in A, alone: for mistakes that need no race to show. */
const ONE_FAULT: Scenario = {
  name: "one-fault",
  question: "Does one fault in A, alone, leave the mm and the task clean?",
  vmas: [A, REST],
  prefault: [A[0]],
  cpus: [[{ op: "fault", addr: GiB }]],
  bounds: NO_FAILURES,
  layout: "the fault needs a new PMD table under A's existing PUD",
};

/** The 5.18 baseline with `change` applied: a strategy with one deliberate difference. */
function variant(name: string, change: Partial<Strategy>): Strategy {
  return { ...mmapLock, name, title: name, summary: name, expected: {}, ...change };
}

/**
 * A program on a fresh mm with A and REST mapped and A's first page faulted in, its
 * VMA tree 5.18's rbtree or a maple tree (mm/maple_tree.ts).
 */
function machine(
  cpus: readonly ((k: Kernel, mm: Mm) => Proc)[],
  finish: "check_mm" | "none" = "check_mm",
  tree: "rbtree" | "maple" = "rbtree",
): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, NO_FAILURES);
    const mm = mm_alloc(k);
    setupVma(k, mm, A[0], A[1]);
    setupVma(k, mm, REST[0], REST[1]);
    setupFault(k, mm, A[0]);
    if (tree === "maple") mm.mt = mt_init(k, mm);
    return {
      threads: cpus.map((body, i) => ({ name: `CPU${i}`, body: () => body(k, mm) })),
      ...(finish === "check_mm" ? { finish: () => check_mm(k, mm) } : {}),
    };
  };
}

/** One broken program and its corrected twin. */
interface Case {
  readonly name: string;
  readonly buggy: ProgramFactory;
  readonly fixed: ProgramFactory;
  /** A fragment of the counterexample's message. */
  readonly message: RegExp;
}

function summary(r: ExploreResult): string {
  return `${r.executions} executions, violations ${JSON.stringify(r.violations)}` +
    (r.counterexample ? `: ${r.counterexample.message.split("\n")[0]}` : "");
}

/** Explores both programs of `c`: the buggy one reports `kind` only, the twin is safe. */
async function pin(t: Deno.TestContext, kind: string, c: Case): Promise<void> {
  await t.step(c.name, () => {
    const bad = explore(c.buggy);
    assert.equal(bad.counterexample?.kind, kind, summary(bad));
    assert.deepEqual(Object.keys(bad.violations), [kind], summary(bad));
    assert.match(bad.counterexample!.message, c.message);
    const good = explore(c.fixed);
    assert.equal(good.counterexample, undefined, summary(good));
    assert.equal(good.exhaustive, true, summary(good));
    assert.equal(verdictOf(good), "safe", summary(good));
  });
}

/**
 * munmap() as 5.18 does it but without the downgrade (the write lock throughout), with
 * `teardown` in place of `unmap_region()` (none: the page tables are left alone).
 */
function* munmapWriteLocked(
  k: Kernel,
  mm: Mm,
  start: number,
  teardown?: (k: Kernel, mm: Mm, start: number, end: number, around: Neighbours) => Proc,
): Proc {
  yield* mmap_write_lock(k, mm);
  const vma = yield* vma_lookup(k, mm, start, "find_vma");
  if (vma) {
    const around = yield* vma_mas_remove(k, mm, vma);
    if (teardown) yield* teardown(k, mm, vma.start, vma.end, around);
    yield* vm_area_free(k, vma);
  }
  yield* mmap_write_unlock(k, mm);
}

/** `unmap_region()` spelled out, with `finish` false leaving out `tlb_finish_mmu()`. */
function teardown(finish: boolean) {
  return function* (k: Kernel, mm: Mm, start: number, end: number, around: Neighbours): Proc {
    const tlb = tlb_gather_mmu(mm);
    yield* unmap_page_range(k, tlb, mm, start, end);
    yield* free_pgd_range(
      k,
      tlb,
      mm,
      start,
      end,
      around.prev ? around.prev.end : 0,
      around.next ? around.next.start : 0,
    );
    if (finish) yield* tlb_finish_mmu(k, tlb);
  };
}

/** A one-step load of `vma->vm_flags`, as handle_mm_fault() begins. */
function* loadFlags(k: Kernel, vma: { readonly obj: KObject }): Proc {
  yield* step(k, "handle_mm_fault", `${vma.obj.name}->vm_flags`, [{
    obj: vma.obj.name,
    part: "vm_flags",
    kind: "read",
  }], () => k.slab.read(vma.obj, "vm_flags"));
}

/** The VMA of A out of the tree under mmap_write_lock(), freed after a grace period. */
function* removeA(k: Kernel, mm: Mm): Proc {
  yield* mmap_write_lock(k, mm);
  const vma = (yield* vma_lookup(k, mm, A[0], "find_vma"))!;
  yield* vma_mas_remove(k, mm, vma);
  yield* vm_area_free_rcu(k, vma);
  yield* mmap_write_unlock(k, mm);
}

/** Every kind, by name: its cases. */
const CASES: Readonly<Record<string, readonly Case[]>> = {
  "lost-write": [{
    name: "6.4's fork takes no VMA lock: a write fault copies the page before fork's TLB flush",
    buggy: program(perVmaLock, scenarioNamed("fork-vs-write-fault-stale-tlb")),
    fixed: program(perVmaLock66, scenarioNamed("fork-vs-write-fault-stale-tlb")),
    message:
      /CPU2's store of 2 to 0x40000010 is lost: mm maps page@0x40000000#CPU1 there, which holds 0; the store went into page@0x40000000/,
  }],
  "bad-pmd": [{
    name: "6.6's mremap() reads the old PMD entry before the rmap locks (CVE-2024-50066)",
    buggy: program(perVmaLock66, scenarioNamed("mremap-vs-khugepaged")),
    fixed: program(
      {
        ...perVmaLock66,
        mremap: (k, mm, start, end, to, dontunmap) =>
          mremap_6_4(k, mm, start, end, to, dontunmap, MUNMAP_6_6, true),
      },
      scenarioNamed("mremap-vs-khugepaged"),
    ),
    message:
      /CPU0 in move_normal_pmd \(step \d+\) moves PMD@0x40000000\[0\], which get_old_pmd\(\) found holding a PTE table and is none now/,
  }],
  "bug-on": [{
    name: "UFFDIO_COPY's BUG_ON(pmd_none()) beside 6.6's khugepaged, which empties the entry",
    buggy: program(perVmaLock66, scenarioNamed("uffd-copy-vs-khugepaged")),
    fixed: program(perVmaLock, scenarioNamed("uffd-copy-vs-khugepaged")),
    message:
      /CPU0 in mfill_atomic \(step \d+\): BUG_ON\(pmd_none\(\*dst_pmd\)\) in mfill_atomic\(\): PMD@0x40000000\[0\] held a PTE table/,
  }],
  "anon-rmap-unreachable": [{
    name: "the mail's per-VMA rwsem: a first fault sets anon_vma while fork copies the VMA",
    buggy: program(vmaRwsem, scenarioNamed("fork-vs-first-fault")),
    fixed: program(mmapLock, scenarioNamed("fork-vs-first-fault")),
    message:
      /page@0x40000000#CPU1, mapped at 0x40000000 by child VMA@0x3fe00000 of child mm, belongs to anon_vma\(VMA@0x3fe00000\)/,
  }],
  "cow-shared-writable": [{
    name: "a fork that leaves the child's PTE writable",
    ...(() => {
      const fork = (broken: boolean) =>
        machine([function* (k, mm) {
          yield* mmap_write_lock(k, mm);
          const child = yield* dup_mmap(k, mm);
          if (broken) {
            const pte = "child PTE@0x3fe00000";
            yield* step(k, "set_pte_at", `${pte} writable`, [{ obj: pte, kind: "write" }], () => {
              const table = pathTo(child.pgd, A[0]).at(-1)!;
              const page = table.entries.get(indexOf("pte", A[0])) as KObject;
              writeEntry(k, table, A[0], page);
            });
          }
          yield* mmap_write_unlock(k, mm);
        }]);
      return { buggy: fork(true), fixed: fork(false) };
    })(),
    message:
      /page@0x3fe00000 is mapped by child mm and mm, and child mm's PTE at 0x3fe00000 lets it write the page/,
  }],
  "fault-loop": [{
    name: "a fault handler that returns without mapping anything",
    buggy: program(
      variant("fault-does-nothing", {
        fault: function* (k) {
          yield* step(k, "handle_mm_fault", "nothing", [], () => {});
          return "done";
        },
      }),
      scenarioNamed("fork-vs-write-fault"),
    ),
    fixed: program(mmapLock, scenarioNamed("fork-vs-write-fault")),
    message:
      /CPU1's store to 0x40000008 took 4 page faults and the PTE still does not let it write/,
  }],
  "use-after-free": [{
    name: "a VMA found without rcu_read_lock() is read after its RCU-delayed free",
    buggy: machine([
      function* (k, mm) {
        const vma = yield* vma_lookup(k, mm, GiB);
        if (vma) yield* loadFlags(k, vma);
      },
      removeA,
    ], "none"),
    fixed: machine([
      function* (k, mm) {
        yield* rcu_read_lock(k);
        const vma = yield* vma_lookup(k, mm, GiB);
        if (vma) yield* loadFlags(k, vma);
        yield* rcu_read_unlock(k);
      },
      removeA,
    ], "none"),
    message:
      /CPU0 in handle_mm_fault \(step \d+\) reads vm_flags of VMA@0x3fe00000 after it was freed/,
  }],

  "double-free": [{
    name: "two CPUs load a pointer, clear it and free what they loaded (not xchg())",
    ...(() => {
      const program = (atomic: boolean): ProgramFactory => (rt) => {
        const k = new Kernel(rt, NO_FAILURES);
        const page = k.slab.create("page", `page@${hex(GiB)}`);
        let gp: KObject | undefined = page;
        const gpAccess = (kind: "read" | "write") => [{ obj: "gp", kind }];
        function* put(): Proc {
          let p: KObject | undefined;
          if (atomic) {
            // p = xchg(&gp, NULL): one step.
            p = yield* step(k, "xchg", "gp = NULL", gpAccess("write"), () => {
              k.touch("gp", undefined, "write");
              const old = gp;
              gp = undefined;
              return old;
            });
          } else {
            p = yield* step(k, "READ_ONCE", "gp", gpAccess("read"), () => {
              k.touch("gp", undefined, "read");
              return gp;
            });
            yield* step(k, "WRITE_ONCE", "gp = NULL", gpAccess("write"), () => {
              k.touch("gp", undefined, "write");
              gp = undefined;
            });
          }
          const got = p;
          if (got) {
            yield* step(
              k,
              "put_page",
              got.name,
              [{ obj: got.name, kind: "write" }],
              () => k.slab.free(got),
            );
          }
        }
        return { threads: [{ name: "CPU0", body: put }, { name: "CPU1", body: put }] };
      };
      return { buggy: program(false), fixed: program(true) };
    })(),
    message: /CPU\d in put_page \(step \d+\) frees page@0x40000000 a second time/,
  }],

  "store-into-detached-table": [{
    name: "a walk under rcu_read_lock() populates a PUD that a teardown has unlinked",
    // No end-of-execution audit: the question is only where the store lands (a PMD
    // populated just before the unlink is lost with the PUD, a leak this program
    // does not ask about).
    ...(() => {
      const walker = (locked: boolean) =>
        function* (k: Kernel, mm: Mm): Proc {
          if (locked) yield* mmap_read_lock(k, mm);
          else yield* rcu_read_lock(k);
          let table = mm.pgd;
          for (let depth = 0; depth < 3; depth++) {
            const next = yield* pXd_alloc(k, mm, table, GiB, GFP_NOWAIT);
            if (!next) break;
            table = next;
          }
          if (locked) yield* mmap_read_unlock(k, mm);
          else yield* rcu_read_unlock(k);
        };
      const teardown = (locked: boolean) =>
        function* (k: Kernel, mm: Mm): Proc {
          if (locked) yield* mmap_write_lock(k, mm);
          const tlb = tlb_gather_mmu(mm);
          yield* free_pgd_range(k, tlb, mm, A[0], A[1], 0, REST[0]);
          yield* tlb_finish_mmu(k, tlb);
          if (locked) yield* mmap_write_unlock(k, mm);
        };
      return {
        buggy: machine([walker(false), teardown(false)], "none"),
        fixed: machine([walker(true), teardown(true)], "none"),
      };
    })(),
    message:
      /CPU0 in pud_populate \(step \d+\) stores PUD@0x0\[1\] = PMD@0x40000000, but PUD@0x0 was unlinked by CPU1 in free_pud_range/,
  }],

  "stale-pte": [{
    name: "munmap() takes the VMA out of the tree and frees it, but zaps nothing",
    buggy: program(
      variant("munmap-without-teardown", {
        munmap: (k, mm, start) => munmapWriteLocked(k, mm, start),
      }),
      scenarioNamed("fault-vs-munmap"),
    ),
    fixed: program(mmapLock, scenarioNamed("fault-vs-munmap")),
    message:
      /page@0x3fe00000 is still mapped at 0x3fe00000 by PTE@0x3fe00000, but no VMA covers 0x3fe00000/,
  }],

  "leak": [{
    name: "munmap() zaps and unlinks, but never calls tlb_finish_mmu()",
    buggy: program(
      variant("munmap-without-tlb-finish", {
        munmap: (k, mm, start) => munmapWriteLocked(k, mm, start, teardown(false)),
      }),
      scenarioNamed("fault-vs-munmap"),
    ),
    fixed: program(
      variant("munmap-write-locked", {
        munmap: (k, mm, start) => munmapWriteLocked(k, mm, start, teardown(true)),
      }),
      scenarioNamed("fault-vs-munmap"),
    ),
    message:
      /^PUD@0x0, PMD@0x0, PTE@0x3fe00000, page@0x3fe00000(, .*)? are neither freed nor reachable from the mm$/,
  }],

  "deadlock": [{
    name: "ABBA: mmap_lock then vma->sem on one CPU, vma->sem then mmap_lock on the other",
    ...(() => {
      const both = (abba: boolean) =>
        machine([
          function* (k, mm) {
            const vma = mm.vmas[0];
            yield* mmap_write_lock(k, mm);
            yield* down_write(k, vma.sem);
            yield* up_write(k, vma.sem);
            yield* mmap_write_unlock(k, mm);
          },
          function* (k, mm) {
            const vma = mm.vmas[0];
            if (!abba) yield* mmap_write_lock(k, mm);
            yield* down_write(k, vma.sem);
            if (abba) yield* mmap_write_lock(k, mm);
            yield* up_write(k, vma.sem);
            yield* mmap_write_unlock(k, mm);
          },
        ]);
      return { buggy: both(true), fixed: both(false) };
    })(),
    message:
      /deadlock cycle: CPU\d waits in (mmap_write_lock|down_write) for (mm->mmap_lock|VMA@0x3fe00000->sem) \(held by CPU\d\); CPU\d waits/,
  }],

  "lock-held-at-exit": [{
    name: "a fault that forgets mmap_read_unlock()",
    buggy: program(
      variant("fault-keeps-mmap-lock", {
        fault: function* (k, mm, addr) {
          yield* mmap_read_lock(k, mm);
          const vma = yield* vma_lookup(k, mm, addr);
          return vma ? yield* handle_mm_fault(k, mm, vma, addr, SLEEPING_ALLOCATIONS) : "sigsegv";
        },
      }),
      ONE_FAULT,
    ),
    fixed: program(mmapLock, ONE_FAULT),
    message: /^CPU0 finished holding mm->mmap_lock$/,
  }],

  "rcu-held-at-exit": [{
    name: "an RCU fault that forgets rcu_read_unlock()",
    ...(() => {
      const fault = (unlock: boolean): Strategy["fault"] =>
        function* (k, mm, addr) {
          yield* rcu_read_lock(k);
          const vma = yield* vma_lookup(k, mm, addr);
          const result = vma
            ? yield* handle_mm_fault(k, mm, vma, addr, NOWAIT_ALLOCATIONS)
            : "sigsegv";
          if (unlock) yield* rcu_read_unlock(k);
          return result;
        };
      return {
        buggy: program(variant("rcu-fault-keeps-rcu", { fault: fault(false) }), ONE_FAULT),
        fixed: program(variant("rcu-fault", { fault: fault(true) }), ONE_FAULT),
      };
    })(),
    message: /^CPU0 finished inside an rcu_read_lock\(\) section$/,
  }],

  "lock-imbalance": [
    {
      name: "a fault that calls mmap_read_unlock() twice",
      buggy: program(
        variant("fault-unlocks-twice", {
          fault: function* (k, mm, addr) {
            const result = yield* fault_under_mmap_lock(k, mm, addr);
            yield* mmap_read_unlock(k, mm);
            return result;
          },
        }),
        ONE_FAULT,
      ),
      fixed: program(mmapLock, ONE_FAULT),
      message:
        /CPU0 in mmap_read_unlock \(step \d+\) releases mm->mmap_lock \(read\) it does not hold/,
    },
    {
      name: "downgrade_write() of an rwsem held for reading",
      buggy: machine([function* (k, mm) {
        yield* mmap_read_lock(k, mm);
        yield* downgrade_write(k, mm.mmap_lock, "mmap_write_downgrade");
        yield* mmap_read_unlock(k, mm);
      }]),
      fixed: machine([function* (k, mm) {
        yield* mmap_write_lock(k, mm);
        yield* mmap_write_downgrade(k, mm);
        yield* mmap_read_unlock(k, mm);
      }]),
      message: /downgrades mm->mmap_lock, which it does not hold for writing/,
    },
    {
      name: "spin_unlock() of a spinlock another CPU holds",
      ...(() => {
        const pair = (own: boolean) =>
          machine([
            function* (k, mm) {
              yield* spin_lock(k, mm.page_table_lock);
              yield* spin_unlock(k, mm.page_table_lock);
            },
            function* (k, mm) {
              if (own) yield* spin_lock(k, mm.page_table_lock);
              yield* spin_unlock(k, mm.page_table_lock);
            },
          ]);
        return { buggy: pair(false), fixed: pair(true) };
      })(),
      message:
        /CPU1 in spin_unlock \(step \d+\) releases mm->page_table_lock, which it does not hold/,
    },
  ],

  "rcu-imbalance": [{
    name: "rcu_read_unlock() once more than rcu_read_lock()",
    buggy: machine([function* (k) {
      yield* rcu_read_lock(k);
      yield* rcu_read_unlock(k);
      yield* rcu_read_unlock(k);
    }]),
    fixed: machine([function* (k) {
      yield* rcu_read_lock(k);
      yield* rcu_read_unlock(k);
    }]),
    message: /CPU0 in rcu_read_unlock \(step 3\): rcu_read_unlock\(\) without rcu_read_lock\(\)/,
  }],

  "irq-imbalance": [{
    name: "local_irq_enable() once more than local_irq_disable()",
    buggy: machine([function* (k) {
      yield* local_irq_disable(k);
      yield* local_irq_enable(k);
      yield* local_irq_enable(k);
    }]),
    fixed: machine([function* (k) {
      yield* local_irq_disable(k);
      yield* local_irq_enable(k);
    }]),
    message:
      /CPU0 in local_irq_enable \(step 3\): local_irq_enable\(\) without local_irq_disable\(\)/,
  }],

  "sleep-in-atomic": [
    {
      name: "a GFP_KERNEL page-table allocation under page_table_lock",
      ...(() => {
        const pmd = (underLock: boolean) =>
          machine([function* (k, mm) {
            if (!underLock) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
            yield* spin_lock(k, mm.page_table_lock);
            if (underLock) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
            yield* spin_unlock(k, mm.page_table_lock);
          }], "none");
        return { buggy: pmd(true), fixed: pmd(false) };
      })(),
      message:
        /BUG: sleeping function called from invalid context: CPU0 calls pmd_alloc_one\(GFP_KERNEL \| __GFP_ZERO \| __GFP_ACCOUNT\) holding spinlock mm->page_table_lock/,
    },
    {
      name: "mmap_read_lock() inside rcu_read_lock() (the fallback before the RCU unlock)",
      ...(() => {
        const fallback = (unlockFirst: boolean) =>
          machine([function* (k, mm) {
            yield* rcu_read_lock(k);
            if (unlockFirst) yield* rcu_read_unlock(k);
            yield* mmap_read_lock(k, mm);
            if (!unlockFirst) yield* rcu_read_unlock(k);
            yield* mmap_read_unlock(k, mm);
          }]);
        return { buggy: fallback(false), fixed: fallback(true) };
      })(),
      message: /CPU0 calls mmap_read_lock\(mm->mmap_lock\) inside an rcu_read_lock\(\) section/,
    },
    {
      name: "a GFP_KERNEL allocation with IRQs disabled",
      ...(() => {
        const irqsOff = (inside: boolean) =>
          machine([function* (k) {
            if (!inside) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
            yield* local_irq_disable(k);
            if (inside) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
            yield* local_irq_enable(k);
          }], "none");
        return { buggy: irqsOff(true), fixed: irqsOff(false) };
      })(),
      message:
        /CPU0 calls pmd_alloc_one\(GFP_KERNEL \| __GFP_ZERO \| __GFP_ACCOUNT\) with IRQs disabled/,
    },
  ],

  "exception": [
    {
      name: "a step that stores to a part of the VMA it did not declare",
      ...(() => {
        const declared = (part: string) =>
          machine([function* (k, mm) {
            const vma = mm.vmas[0];
            yield* step(k, "__anon_vma_prepare", vma.obj.name, [{
              obj: vma.obj.name,
              part,
              kind: "write",
            }], () => k.slab.write(vma.obj, "anon_vma"));
          }]);
        return { buggy: declared("vm_flags"), fixed: declared("anon_vma") };
      })(),
      message:
        /^model code threw in step __anon_vma_prepare: undeclared access: CPU0 in step __anon_vma_prepare writes VMA@0x3fe00000\.anon_vma, but declared write VMA@0x3fe00000\.vm_flags/,
    },
    {
      name: "strategy code that throws an Error",
      buggy: program(
        variant("throwing-fault", {
          fault: function* (k, mm, addr) {
            const vma = yield* vma_lookup(k, mm, addr);
            if (vma) throw new Error(`no fault handler for ${vma.obj.name}`);
            return "sigsegv";
          },
        }),
        ONE_FAULT,
      ),
      fixed: program(mmapLock, ONE_FAULT),
      message: /^model code threw in step vma_lookup: no fault handler for VMA@0x3fe00000/,
    },
  ],

  "lock-not-held": [
    {
      name: "mmap() puts the VMA in the tree under mmap_read_lock() (vma_mas_store)",
      buggy: program(
        variant("mmap-read-locked", {
          mmap: function* (k, mm, start, end) {
            yield* mmap_read_lock(k, mm);
            yield* vma_mas_store(k, mm, start, end);
            yield* mmap_read_unlock(k, mm);
          },
        }),
        scenarioNamed("fault-vs-mmap"),
      ),
      fixed: program(
        variant("mmap-write-locked", { mmap: mmap_under_mmap_lock }),
        scenarioNamed("fault-vs-mmap"),
      ),
      message:
        /CPU1 in vma_mas_store \(step \d+\): vma_mas_store\(\) needs mm->mmap_lock held for writing \(mmap_assert_write_locked\(\)\), but CPU1 holds it only for reading/,
    },
    {
      name: "munmap() takes the VMA out of the tree after downgrading (vma_mas_remove)",
      buggy: program(
        variant("munmap-removes-after-downgrade", {
          munmap: function* (k, mm, start) {
            yield* mmap_write_lock(k, mm);
            const vma = yield* vma_lookup(k, mm, start, "find_vma");
            if (!vma) return yield* mmap_write_unlock(k, mm);
            yield* mmap_write_downgrade(k, mm);
            yield* unmap_region(k, mm, vma, yield* vma_mas_remove(k, mm, vma));
            yield* vm_area_free(k, vma);
            yield* mmap_read_unlock(k, mm);
          },
        }),
        scenarioNamed("fault-vs-munmap"),
      ),
      fixed: program(mmapLock, scenarioNamed("fault-vs-munmap")),
      message:
        /CPU1 in vma_mas_remove \(step \d+\): vma_mas_remove\(\) needs mm->mmap_lock held for writing/,
    },
    {
      name: "munmap() tears the page tables down after mmap_write_unlock() (unmap_page_range)",
      buggy: program(
        variant("munmap-tears-down-unlocked", {
          munmap: function* (k, mm, start) {
            yield* mmap_write_lock(k, mm);
            const vma = yield* vma_lookup(k, mm, start, "find_vma");
            if (!vma) return yield* mmap_write_unlock(k, mm);
            const around = yield* vma_mas_remove(k, mm, vma);
            yield* mmap_write_unlock(k, mm);
            yield* unmap_region(k, mm, vma, around);
            yield* vm_area_free(k, vma);
          },
        }),
        scenarioNamed("fault-vs-munmap"),
      ),
      fixed: program(mmapLock, scenarioNamed("fault-vs-munmap")),
      message:
        /CPU1 in unmap_page_range \(step \d+\): unmap_page_range\(\) needs mm->mmap_lock held \(mmap_assert_locked\(\)\), but CPU1 does not hold it/,
    },
    {
      name: "6.4's mmap() bumps mm_lock_seq after mmap_write_unlock() (vma_end_write_all)",
      buggy: program(
        {
          ...perVmaLock,
          expected: {},
          mmap: function* (k, mm, start, end) {
            yield* mmap_write_lock(k, mm);
            yield* vma_mas_store(k, mm, start, end);
            yield* mmap_write_unlock(k, mm);
            yield* vma_end_write_all(k, mm);
          },
        },
        scenarioNamed("fault-vs-mmap"),
      ),
      fixed: program(perVmaLock, scenarioNamed("fault-vs-mmap")),
      message:
        /CPU1 in vma_end_write_all \(step \d+\): vma_end_write_all\(\) needs mm->mmap_lock held for writing \(mmap_assert_write_locked\(\)\), but CPU1 does not hold it/,
    },
    {
      name: "a populate written without page_table_lock (the rule pXd_alloc() asserts)",
      ...(() => {
        const populate = (locked: boolean) =>
          machine([function* (k, mm) {
            if (locked) yield* spin_lock(k, mm.page_table_lock);
            yield* step(k, "pud_populate", "PUD@0x0[1]", [], () => {
              lockdep_assert_held(k, mm.page_table_lock, "pud_populate");
            });
            if (locked) yield* spin_unlock(k, mm.page_table_lock);
          }]);
        return { buggy: populate(false), fixed: populate(true) };
      })(),
      message:
        /CPU0 in pud_populate \(step 1\): pud_populate\(\) needs mm->page_table_lock held \(lockdep_assert_held\(\)\), but CPU0 does not hold it/,
    },
  ],

  "sigsegv": [{
    name: "the mail's fault, which looks the VMA up with vma_lookup() and never grows a stack",
    buggy: program(vmaRwsem, scenarioNamed("stack-expansion-vs-fault")),
    fixed: program(mmapLock, scenarioNamed("stack-expansion-vs-fault")),
    message:
      /CPU0's fault at 0x40008000 ended in SIGSEGV, where the kernel grows the stack above down to it/,
  }],

  "tree-write-race": [{
    name: "two CPUs store into a maple tree with no lock between them",
    ...(() => {
      const stores = (locked: boolean) =>
        machine(
          [0, 1].map((cpu) =>
            function* (k: Kernel, mm: Mm): Proc {
              if (locked) yield* mmap_write_lock(k, mm);
              const at = GiB + (20 + cpu) * PAGE;
              yield* tree_store(k, mm, "vma_mas_store", hex(at), [], () => {}, () => {
                insertVma(mm, vm_area_alloc(k, at, at + PAGE));
              });
              if (locked) yield* mmap_write_unlock(k, mm);
            }
          ),
          "check_mm",
          "maple",
        );
      return { buggy: stores(false), fixed: stores(true) };
    })(),
    message: /vma_mas_store\(\) found the tree's root replaced since it began/,
  }],
};

/** The kinds `new Violation(` can throw in the core's source, read from the files. */
async function kindsInSource(): Promise<Set<string>> {
  const kinds = new Set<string>();
  for (const layer of ["explore", "mm", "strategies", "scenarios"]) {
    const dir = new URL(`../${layer}/`, import.meta.url);
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) {
        continue;
      }
      // Comments hold examples (explore.ts's "lost-update"), not kinds the model reports.
      const code = (await Deno.readTextFile(new URL(entry.name, dir)))
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/^\s*\/\/.*$/gm, "");
      for (const m of code.matchAll(/new Violation\(\s*(\S)/g)) {
        const at = m.index! + m[0].length - 1;
        const literal = /^"([a-z-]+)"/.exec(code.slice(at));
        assert.ok(
          literal,
          `${layer}/${entry.name}: new Violation( with a kind that is not a string literal: ` +
            `this test cannot see which kind it is`,
        );
        kinds.add(literal[1]);
      }
    }
  }
  return kinds;
}

Deno.test("the pinned kinds are exactly the kinds the core's source can report", async () => {
  const found = [...await kindsInSource()].sort();
  assert.deepEqual(
    Object.keys(CASES).sort(),
    found,
    "a kind found in the source needs a broken program and a fixed twin here (and a kind " +
      "pinned here that no source throws any more must go)",
  );
  assert.ok(found.length >= 14, `only ${found.length} kinds found: is the grep still right?`);
});

for (const [kind, cases] of Object.entries(CASES)) {
  Deno.test(`${kind}: found in the broken program, not in its twin`, async (t) => {
    for (const c of cases) await pin(t, kind, c);
  });
}

Deno.test("step-budget: a CPU spinning on a lock no one releases is inconclusive, not safe", () => {
  /** CPU0 takes page_table_lock; CPU1 spins with spin_trylock() for it (`fixed`: spin_lock()). */
  const spinner = (fixed: boolean): ProgramFactory => (rt) => {
    const k = new Kernel(rt, NO_FAILURES);
    const mm = mm_alloc(k);
    return {
      threads: [
        {
          name: "CPU0",
          body: function* () {
            yield* spin_lock(k, mm.page_table_lock);
            // Broken: never released. CPU0 ends; CPU1 spins for ever on some schedules.
            if (fixed) yield* spin_unlock(k, mm.page_table_lock);
          },
        },
        {
          name: "CPU1",
          body: function* () {
            if (fixed) yield* spin_lock(k, mm.page_table_lock);
            else while (!(yield* spin_trylock(k, mm.page_table_lock)));
            yield* spin_unlock(k, mm.page_table_lock);
          },
        },
      ],
    };
  };
  const spins = explore(spinner(false), { maxSteps: 60 });
  assert.equal(spins.counterexample, undefined, summary(spins));
  assert.equal(spins.inconclusive?.kind, "step-budget", summary(spins));
  assert.match(spins.inconclusive!.message, /^no end after 60 steps: a livelock/);
  assert.equal(spins.exhaustive, false);
  assert.equal(verdictOf(spins), "inconclusive");
  const waits = explore(spinner(true), { maxSteps: 60 });
  assert.equal(verdictOf(waits), "safe", summary(waits));
});
