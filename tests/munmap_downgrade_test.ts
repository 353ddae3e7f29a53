/**
 * munmap() downgrades `mmap_lock` for the teardown unless the VMA above is a stack
 * (5.18's `detach_vmas_to_be_unmapped()`, 6.4's `do_vmi_align_munmap()`): the one
 * change between `fault-vs-munmap-pte-present` and `fault-vs-munmap-below-stack`.
 */

import assert from "node:assert/strict";
import { program, replay, scenarioNamed, strategyNamed } from "../mod.ts";

/** The labels of CPU1's steps (the munmap()) when `strategy` runs `scenario` alone. */
function munmapSteps(strategy: string, scenario: string): string[] {
  const t = replay(program(strategyNamed(strategy), scenarioNamed(scenario)), "1");
  return t.trace.steps.filter((s) => s.threadName === "CPU1").map((s) => s.label);
}

for (const strategy of ["mmap-lock", "per-vma-lock"]) {
  Deno.test(`${strategy}: munmap() below a stack keeps mmap_lock for writing`, () => {
    const below = munmapSteps(strategy, "fault-vs-munmap-below-stack");
    assert.ok(!below.includes("mmap_write_downgrade"), below.join(" "));
    assert.ok(!below.includes("mmap_read_unlock"), below.join(" "));
    assert.equal(below.at(-1), "mmap_write_unlock");
    assert.ok(below.indexOf("free_pgd_range") < below.indexOf("mmap_seq_write_end"));
    const elsewhere = munmapSteps(strategy, "fault-vs-munmap-pte-present");
    assert.ok(
      elsewhere.indexOf("mmap_write_downgrade") < elsewhere.indexOf("free_pgd_range"),
      elsewhere.join(" "),
    );
    assert.equal(elsewhere.at(-1), "mmap_read_unlock");
  });
}
