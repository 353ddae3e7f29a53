/**
 * The speculative series as written (`spf-v2`): its speculative path is taken where the
 * tables exist, its commit point survives a teardown, and what the explorer finds is
 * the PMD reload in do_anonymous_page() after the walk's RCU section; and 6.4's
 * lock_vma_under_rcu() falls back for a VMA without an anon_vma.
 */

import assert from "node:assert/strict";
import {
  check,
  program,
  replay,
  replayToken,
  scenarioNamed,
  spfV2WalkedPmd,
  strategyNamed,
  type TraceStep,
} from "../mod.ts";

const labels = (steps: readonly TraceStep[], thread: string) =>
  steps.filter((s) => s.threadName === thread).map((s) => s.label);

Deno.test("spf-v2 commits speculatively when the tables exist, and falls back when one is missing", () => {
  const run = (scenario: string) =>
    replay(program(strategyNamed("spf-v2"), scenarioNamed(scenario)), "");
  const present = labels(run("fault-vs-munmap-pte-present").trace.steps, "CPU0");
  assert.deepEqual(present.slice(-6), [
    "pmd_same",
    "spin_trylock",
    "mmap_seq_read_check",
    "rcu_read_unlock",
    "set_pte_at",
    "spin_unlock",
  ]);
  assert.ok(!present.includes("mmap_read_lock"));
  const missing = labels(run("fault-vs-munmap").trace.steps, "CPU0");
  assert.equal(missing[missing.indexOf("pud_offset") + 1], "rcu_read_unlock");
  assert.ok(missing.includes("mmap_read_lock"));
  // No table is allocated before the fallback.
  assert.ok(!missing.slice(0, missing.indexOf("mmap_read_lock")).some((l) => l.endsWith("_one")));
});

Deno.test("spf-v2: pte_alloc() reloads *vmf->pmd after the walk's RCU section and reads a freed table", () => {
  const c = check("spf-v2", "fault-vs-munmap-pte-present");
  assert.equal(c.result.exhaustive, true);
  assert.equal(c.outcome, "violation:use-after-free");
  const steps = c.result.counterexample!.trace.steps;
  const bad = steps.at(-1)!;
  assert.equal(bad.label, "pte_alloc");
  assert.match(bad.detail!, /^PMD@0x40000000\[0\]/);
  // The walk's read-side section ended before munmap() started.
  const cpu0 = labels(steps, "CPU0");
  assert.deepEqual(cpu0.slice(-3), ["pte_offset_map", "rcu_read_unlock", "pte_alloc"]);
  assert.ok(steps.some((s) => s.label === "tlb_remove_table_rcu"));
  // The same reload also wires a table after free_pgtables(), as the series feared.
  assert.ok((c.result.violations["leak"] ?? 0) > 0);
  assert.equal(
    replayToken("faultline1:spf-v2:fault-vs-munmap-pte-present:0*13.1*25.0*5.1").kind,
    "leak",
  );
});

Deno.test("spf-v2: pte_map_lock()'s trylock on an unlinked PTE table, then its abort, is clean", () => {
  const late = replayToken("faultline1:spf-v2:fault-vs-munmap-pte-present:0*19.1*31.0");
  assert.equal(late.kind, "none");
  const cpu0 = late.trace.steps.filter((s) => s.threadName === "CPU0");
  const trylock = cpu0.find((s) => s.label === "spin_trylock")!;
  assert.deepEqual(trylock.notes, ["acquired"]);
  const unlinked = late.trace.steps.findIndex((s) =>
    s.label === "free_pte_range" && /PTE@0x40000000 unlinked/.test(s.notes.join(" "))
  );
  assert.ok(unlinked >= 0 && unlinked < late.trace.steps.indexOf(trylock));
  const next = cpu0[cpu0.indexOf(trylock) + 1];
  assert.equal(next.label, "mmap_seq_read_check");
  assert.match(next.notes.join(" "), /changed/);
});

Deno.test("spf-v2-walked-pmd, without the two PMD reloads, is safe where the series is not", () => {
  const c = check(spfV2WalkedPmd, "fault-vs-munmap-pte-present");
  assert.equal(c.outcome, "safe");
  assert.equal(c.result.exhaustive, true);
});

Deno.test("6.4: a VMA without an anon_vma goes to mmap_lock (lock_vma_under_rcu's inval)", () => {
  // fault-vs-mmap faults in the VMA mmap() creates, which no fault has touched.
  const t = replay(program(strategyNamed("per-vma-lock"), scenarioNamed("fault-vs-mmap")), "1*6");
  const cpu0 = t.trace.steps.filter((s) => s.threadName === "CPU0");
  const anon = cpu0.find((s) => s.detail?.endsWith("->anon_vma?"))!;
  assert.match(anon.notes.join(" "), /none/);
  assert.ok(!cpu0.some((s) => s.label === "down_read_trylock"));
  assert.ok(cpu0.some((s) => s.label === "mmap_read_lock"));
});
