/**
 * zap_pte_range()'s forced TLB flush under the PTE lock, and the deadlock the SPF
 * series' `pte_map_lock()` avoids with `spin_trylock()` (docs/spf-v2.md): with IRQs off
 * (`speculative_page_walk_begin()` without MMU_GATHER_RCU_TABLE_FREE) and tables freed
 * after the TLB-flush IPI, a `spin_lock()` there waits for a holder that waits for
 * this CPU. Verdicts and counts are the explorer's, every search exhaustive.
 */

import assert from "node:assert/strict";
import {
  check,
  faultVsMunmapForceFlush,
  type KernelConfig,
  SPF_V2_IRQS_OFF,
  spfV2IrqsOff,
  type Strategy,
} from "../mod.ts";
import { spfFault } from "../strategies/spf_v2.ts";

const IPI: KernelConfig = { tableFree: "ipi" };

const spinning: Strategy = {
  ...spfV2IrqsOff,
  name: "spf-v2-irqs-off-spin-lock",
  fault: spfFault({ ...SPF_V2_IRQS_OFF, ptlLock: "spin" }),
};

Deno.test("spin_lock() in pte_map_lock() with IRQs off deadlocks against the forced flush", () => {
  const c = check(spinning, faultVsMunmapForceFlush, { config: IPI });
  assert.equal(c.result.exhaustive, true);
  assert.equal(c.outcome, "violation:deadlock");
  const cx = c.result.counterexample!;
  assert.match(
    cx.message,
    /CPU0 waits in spin_lock for PTE@0x40000000->ptl \(held by CPU1\); CPU1 waits in flush_tlb_mm_range for IRQs enabled/,
  );
  const cpu1 = cx.trace.steps.filter((s) => s.threadName === "CPU1").map((s) => s.label);
  // Under the lock: the zap, the failed batch allocation, the IPI.
  assert.deepEqual(cpu1.slice(-4), [
    "spin_lock",
    "zap_pte_range",
    "tlb_next_batch",
    "flush_tlb_mm_range",
  ]);
  const batch = cx.trace.steps.find((s) => s.label === "tlb_next_batch");
  assert.equal(batch?.choice, "fails: force_flush");
});

Deno.test("the series' spin_trylock() never deadlocks there", () => {
  const c = check(spfV2IrqsOff, faultVsMunmapForceFlush, { config: IPI });
  assert.equal(c.result.exhaustive, true);
  assert.equal(c.result.violations.deadlock, undefined);
  // What it does find is the reload of *vmf->pmd after the walk (docs/spf-v2.md).
  assert.equal(c.outcome, "violation:use-after-free");
});

Deno.test("on the walked PMD, spin_trylock() is safe and spin_lock() deadlocks only where the flush waits", () => {
  for (const tableFree of ["rcu", "ipi", "rcu-ipi-fallback"] as const) {
    for (const ptlLock of ["trylock", "spin"] as const) {
      const s: Strategy = {
        ...spfV2IrqsOff,
        fault: spfFault({ pmdReloads: false, walk: "irqs-off", ptlLock }),
      };
      const c = check(s, faultVsMunmapForceFlush, { config: { tableFree } });
      assert.equal(c.result.exhaustive, true);
      const deadlocks = ptlLock === "spin" && tableFree === "ipi";
      assert.equal(c.outcome, deadlocks ? "violation:deadlock" : "safe", `${ptlLock} ${tableFree}`);
    }
  }
});
