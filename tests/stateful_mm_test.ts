/**
 * The stateful search (explore/stateful.ts) on the mm model: its states are only as
 * exact as the model's description of them (`Kernel.stateOf()`: every slab object's
 * lifetime and parts, every embedded lock, the tasks' RCU and IRQ state), so on pairs
 * that fail in different ways, and on safe ones, it must reach exactly the violation
 * kinds Optimal-DPOR reaches. The benchmark (bench/dpor.ts, `--part stateful`) does the
 * same for every pair of the matrix.
 *
 * @module
 */

import assert from "node:assert/strict";
import { check, configName, DEFAULT_CONFIG, type KernelConfig } from "../mod.ts";

const IPI: KernelConfig = { ...DEFAULT_CONFIG, tableFree: "ipi" };
const PAIRS: readonly [string, string, KernelConfig][] = [
  ["rcu-gfp-nowait", "fault-vs-munmap", DEFAULT_CONFIG],
  ["rcu-gfp-nowait", "fault-vs-munmap", IPI],
  ["mmap-lock", "fault-vs-fault", DEFAULT_CONFIG],
  ["per-vma-lock", "fault-vs-munmap", DEFAULT_CONFIG],
  // The operations after fork: a split's bounds, mremap()'s moves and the audit's
  // record of them, MADV_DONTNEED's zapped pages and the TLB.
  ["vma-rwsem", "fault-vs-partial-munmap", DEFAULT_CONFIG],
  ["vma-rwsem", "mremap-vs-stale-tlb-store", DEFAULT_CONFIG],
  ["per-vma-lock", "fault-vs-mremap-dontunmap", DEFAULT_CONFIG],
  ["per-vma-lock", "dontneed-vs-write-fault-stale-tlb", DEFAULT_CONFIG],
];

Deno.test("the stateful search finds the violation kinds Optimal-DPOR finds on the mm model", async (t) => {
  for (const [strategy, scenario, config] of PAIRS) {
    await t.step(`${strategy} × ${scenario} under ${configName(config)}`, () => {
      const dpor = check(strategy, scenario, { config });
      const stateful = check(strategy, scenario, { config, mode: "stateful" });
      assert.ok(dpor.result.exhaustive && stateful.result.exhaustive);
      assert.deepEqual(
        Object.keys(stateful.result.violations).sort(),
        Object.keys(dpor.result.violations).sort(),
      );
      assert.ok((stateful.result.states ?? 0) > 0);
    });
  }
});
