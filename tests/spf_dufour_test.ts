/**
 * Dufour's SPF v11 (`spf-dufour-v11`, docs/spf-dufour-v11.md): the VMA's reference
 * count keeps it alive across the speculative fault, whichever `put_vma()` comes last;
 * what the explorer finds is the load of `*vmf->pmd` in `handle_pte_fault()` after the
 * last `vm_sequence` check, from a PMD table munmap() has freed since.
 */

import assert from "node:assert/strict";
import { check, spfDufourV11 } from "../mod.ts";

Deno.test("spf-dufour-v11: the VMA outlives every speculative fault that holds a reference", () => {
  // munmap() drops the tree's reference while a fault may hold its own: neither a
  // use-after-free of the VMA nor a leak, on every schedule.
  for (const scenario of ["fault-vs-munmap", "fault-vs-munmap-mmap"]) {
    const c = check(spfDufourV11, scenario);
    assert.equal(c.result.exhaustive, true);
    assert.equal(c.outcome, "safe", `${scenario}: ${c.result.counterexample?.message}`);
  }
});

Deno.test("spf-dufour-v11: handle_pte_fault() reloads *vmf->pmd after the last vm_sequence check", () => {
  const c = check(spfDufourV11, "fault-vs-munmap-pte-present");
  assert.equal(c.result.exhaustive, true);
  const cx = c.result.counterexample!;
  assert.equal(cx.kind, "use-after-free");
  assert.equal(cx.trace.steps.at(-1)?.label, "handle_pte_fault");
  assert.match(cx.message, /reads PMD@0x40000000\[0\] of PMD@0x40000000 after it was freed/);
  const cpu0 = cx.trace.steps.filter((s) => s.threadName === "CPU0").map((s) => s.label);
  // The re-check of vm_sequence passed before munmap() began: the count did its job.
  const retry = cpu0.lastIndexOf("read_seqcount_retry");
  assert.ok(retry >= 0 && cpu0.indexOf("local_irq_enable") < retry);
  const firstCpu1 = cx.trace.steps.findIndex((s) => s.threadName === "CPU1");
  const retryStep = cx.trace.steps.findIndex((s) =>
    s.threadName === "CPU0" && s.label === "read_seqcount_retry"
  );
  assert.ok(retryStep < firstCpu1);
});
