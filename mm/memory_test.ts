/** free_pgd_range()'s floor/ceiling rule, and the fault path on one CPU. */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
import {
  GFP_HIGHUSER_MOVABLE,
  GFP_PGTABLE_USER,
  handle_mm_fault,
  Kernel,
  type Lifetime,
  type Mm,
  mm_alloc,
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

function* munmap(k: Kernel, mm: Mm, addr: number): Proc {
  const vma = (yield* vma_lookup(k, mm, addr))!;
  yield* unmap_region(k, mm, vma, yield* vma_mas_remove(k, mm, vma));
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
