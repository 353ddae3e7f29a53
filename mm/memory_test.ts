/**
 * free_pgd_range()'s floor/ceiling rule, and the fault path on one CPU; what teardown
 * declares; names of tables two faults allocate.
 */

import assert from "node:assert/strict";
import { explore, type Proc, type ProgramFactory } from "../explore/mod.ts";
import { Execution } from "../explore/execution.ts";
import {
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  Kernel,
  type Lifetime,
  type Mm,
  mm_alloc,
  mmap_write_lock,
  mmap_write_unlock,
  setupFault,
  setupVma,
  unmap_region,
  vma_lookup,
  vma_mas_remove,
} from "./mod.ts";

const GiB = 0x40000000;
const MiB = 0x100000;

/** Runs `body` on one CPU over a fresh mm built by `setup`; returns every object's state. */
function run(setup: (k: Kernel, mm: Mm) => void, body: (k: Kernel, mm: Mm) => Proc) {
  const states = new Map<string, Lifetime>();
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(k);
    setup(k, mm);
    return {
      threads: [{ name: "CPU0", body: () => body(k, mm) }],
      finish: () => k.slab.objects.forEach((o, name) => states.set(name, o.state)),
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  return states;
}

/** munmap() of the VMA at `addr` under mmap_write_lock(), which the tree and the teardown assert. */
function* munmap(k: Kernel, mm: Mm, addr: number): Proc {
  yield* mmap_write_lock(k, mm);
  const vma = (yield* vma_lookup(k, mm, addr))!;
  yield* unmap_region(k, mm, vma, yield* vma_mas_remove(k, mm, vma));
  yield* mmap_write_unlock(k, mm);
}

Deno.test("munmap frees the tables only its VMA used, keeping what a neighbour needs", () => {
  // A spans [1 GiB - 2 MiB, 1 GiB + 2 MiB); the rest of the process sits at 512 GiB.
  const layout = (k: Kernel, mm: Mm) => {
    setupVma(k, mm, GiB - 2 * MiB, GiB + 2 * MiB);
    setupVma(k, mm, 512 * GiB, 512 * GiB + 0x1000);
    setupFault(k, mm, GiB - 2 * MiB);
    setupFault(k, mm, 512 * GiB);
  };
  const states = run(layout, (k, mm) => munmap(k, mm, GiB - 2 * MiB));
  assert.equal(states.get("PTE@0x3fe00000"), "freed");
  assert.equal(states.get("PMD@0x0"), "freed");
  assert.equal(states.get("PUD@0x0"), "freed");
  // The P4D maps 512 GiB as well: the ceiling keeps it.
  assert.equal(states.get("P4D@0x0"), "live");
  assert.equal(states.get("PUD@0x8000000000"), "live");
  assert.equal(states.get("page@0x3fe00000"), "freed");
});

Deno.test("a table partly covered by another VMA is not freed", () => {
  // B starts in the same 2 MiB PTE table where A ends.
  const layout = (k: Kernel, mm: Mm) => {
    setupVma(k, mm, GiB, GiB + 0x1000);
    setupVma(k, mm, GiB + 0x1000, GiB + 0x2000);
    setupFault(k, mm, GiB);
    setupFault(k, mm, GiB + 0x1000);
  };
  const states = run(layout, (k, mm) => munmap(k, mm, GiB));
  assert.equal(states.get("page@0x40000000"), "freed");
  assert.equal(states.get("page@0x40001000"), "live");
  assert.equal(states.get("PTE@0x40000000"), "live");
});

Deno.test("a fault fills every missing level and maps the page", () => {
  const states = run(
    (k, mm) => void setupVma(k, mm, GiB, GiB + 2 * MiB),
    function* (k, mm) {
      const vma = (yield* vma_lookup(k, mm, GiB))!;
      const options = { tableGfp: GFP_PGTABLE_USER, pageGfp: GFP_HIGHUSER_MOVABLE };
      assert.equal(yield* handle_mm_fault(k, mm, vma, GiB, options), "done");
    },
  );
  for (
    const name of ["P4D@0x0", "PUD@0x0", "PMD@0x40000000", "PTE@0x40000000", "page@0x40000000"]
  ) {
    assert.equal(states.get(name), "live", name);
  }
});

/**
 * Runs `factory` as `plan` says: each `[thread, label]` runs that thread until it has
 * taken a step named `label`; then the lowest runnable thread runs, to the end.
 */
function runInOrder(factory: ProgramFactory, plan: readonly (readonly [number, string])[]) {
  const exec = new Execution(factory);
  const run = (thread: number) => {
    assert.ok(exec.enabled().includes(thread), `${exec.threadName(thread)} is not runnable`);
    const violation = exec.step(thread, 0);
    assert.equal(violation, undefined, violation?.message);
  };
  for (const [thread, label] of plan) {
    for (let last = false; !last;) {
      last = exec.pending(thread)?.label === label;
      run(thread);
    }
  }
  for (let ids = exec.enabled(); ids.length; ids = exec.enabled()) run(ids[0]);
  const violation = exec.finish();
  assert.equal(violation, undefined, violation?.message);
  return exec;
}

Deno.test("unlinking a table declares a store to the whole table, not only the parent's entry", () => {
  const exec = runInOrder((rt) => {
    const kernel = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(kernel);
    setupVma(kernel, mm, GiB - 2 * MiB, GiB + 2 * MiB);
    setupVma(kernel, mm, 512 * GiB, 512 * GiB + 0x1000);
    setupFault(kernel, mm, GiB - 2 * MiB);
    return { threads: [{ name: "CPU0", body: () => munmap(kernel, mm, GiB - 2 * MiB) }] };
  }, []);
  const unlinks = exec.events.filter((e) => e.request.detail?.match(/^p\w+_clear\(/));
  const unlinked = unlinks.flatMap((e) => e.notes).map((n) => n.replace(/ unlinked$/, ""));
  assert.deepEqual(unlinked, ["PTE@0x3fe00000", "PMD@0x0", "PUD@0x0"]);
  for (const [i, e] of unlinks.entries()) {
    assert.ok(
      e.request.accesses.some((a) =>
        a.obj === unlinked[i] && a.part === undefined && a.kind === "write"
      ),
      `${e.request.label} ${e.request.detail} must declare a store to ${unlinked[i]}`,
    );
  }
});

Deno.test("two faults allocating the same table name it the same way in either order", () => {
  /** Both CPUs find no PMD table for 1 GiB and allocate one; CPU0 populates first. */
  const allocated = (first: number, second: number) => {
    let k: Kernel | undefined;
    runInOrder((rt) => {
      k = new Kernel(rt, { allocFailures: 0 });
      const kernel = k;
      const mm = mm_alloc(kernel);
      const vma = setupVma(kernel, mm, GiB - 2 * MiB, GiB + 2 * MiB);
      setupFault(kernel, mm, GiB - 2 * MiB);
      const options = { tableGfp: GFP_PGTABLE_USER, pageGfp: GFP_HIGHUSER_MOVABLE };
      const fault = (addr: number) =>
        function* (): Proc {
          assert.equal(yield* handle_mm_fault(kernel, mm, vma, addr, options), "done");
        };
      return {
        threads: [{ name: "CPU0", body: fault(GiB) }, { name: "CPU1", body: fault(GiB + 0x1000) }],
      };
    }, [[first, "pmd_alloc_one"], [second, "pmd_alloc_one"]]);
    // Name → the CPU that allocated it.
    return new Map(
      [...k!.slab.objects.values()].map((o) => [o.name, o.history[0].split(" ")[2]]),
    );
  };
  const cpu0First = allocated(0, 1);
  assert.equal(cpu0First.get("PMD@0x40000000"), "CPU0");
  assert.equal(cpu0First.get("PMD@0x40000000#CPU1"), "CPU1");
  assert.deepEqual(allocated(1, 0), cpu0First);
});
