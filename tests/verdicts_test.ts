/**
 * Every strategy × scenario verdict, as the explorer finds it, against what the
 * strategy declares; the explored counts against the recorded ones; and the two
 * answers the seed mail asks for, checked step by step.
 */

import assert from "node:assert/strict";
import {
  check,
  type MatrixCell,
  replayToken,
  runMatrixInWorkers,
  scenarios,
  strategies,
  type TraceStep,
} from "../mod.ts";
import { recordedCounts } from "./explored_counts.ts";

Deno.test("every strategy declares an expectation for every scenario", () => {
  for (const s of strategies) {
    assert.deepEqual(
      Object.keys(s.expected).sort(),
      scenarios.map((w) => w.name).sort(),
      `${s.name} must declare exactly one expectation per scenario`,
    );
  }
});

Deno.test("verdict matrix", async (t) => {
  const counts = recordedCounts();
  // In workers, every core: a pair stuck in a loop fails its step instead of hanging the suite.
  const cells: MatrixCell[] = await runMatrixInWorkers();
  assert.equal(cells.length, strategies.length * scenarios.length);
  for (const cell of cells) {
    const key = `${cell.strategy}/${cell.scenario}`;
    await t.step(`${key}: ${cell.outcome} (${cell.executions} executions)`, () => {
      // An error (a pair stopped at its time limit, model code that threw) says where.
      assert.notEqual(cell.verdict, "error", `${key}: ${cell.counterexample?.message}`);
      assert.equal(cell.exhaustive, true, `${key} must be explored exhaustively`);
      assert.equal(cell.outcome, cell.expected, `${key}: explorer says ${cell.outcome}`);
      assert.equal(
        cell.executions,
        counts[key],
        `${key}: explored ${cell.executions} executions, recorded ${counts[key]}; ` +
          `if the change is intended, run \`deno task bless\` and explain it in the commit`,
      );
    });
  }
});

/** Splits a trace into runs of consecutive steps by the same column. */
function runs(steps: readonly TraceStep[]): { column: string; labels: string[] }[] {
  const out: { column: string; labels: string[] }[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (last?.column === s.column) last.labels.push(s.label);
    else out.push({ column: s.column, labels: [s.label] });
  }
  return out;
}

Deno.test("Michel's race: CPU0 stores a new PMD into the PUD CPU1's munmap freed", () => {
  const c = check("rcu-gfp-nowait", "fault-vs-munmap");
  const ce = c.result.counterexample!;
  const trace = ce.trace;
  // The shape of the table in the mail: CPU0 up to pud_alloc, all of CPU1's munmap,
  // then CPU0's pmd_alloc storing into the freed PUD.
  const blocks = runs(trace.steps);
  assert.deepEqual(blocks.map((b) => b.column), ["CPU0", "CPU1", "CPU0"]);
  assert.ok(blocks[0].labels.includes("pud_alloc"));
  assert.equal(blocks[1].labels[0], "mmap_write_lock");
  // 5.18's munmap() downgrades mmap_lock before the teardown and ends with a read unlock.
  assert.ok(blocks[1].labels.includes("mmap_write_downgrade"));
  assert.equal(blocks[1].labels.at(-1), "mmap_read_unlock");
  assert.ok(blocks[1].labels.includes("free_pud_range"));
  const bad = trace.steps.at(-1)!;
  assert.equal(trace.violation?.step, bad.step);
  assert.equal(bad.label, "pud_populate");
  assert.match(bad.detail!, /^PUD@0x0\[1\] = PMD@0x40000000$/);
  const pud = trace.violation!.objects.find((o) => o.name === "PUD@0x0")!;
  assert.match(pud.history.join("\n"), /unlinked by CPU1 in free_pud_range/);
  assert.equal(ce.preemptions, 1);
});

Deno.test("the mail's last question: the trylock succeeds on a VMA munmap already removed", () => {
  const c = check("vma-rwsem", "fault-vs-munmap");
  const steps = c.result.counterexample!.trace.steps;
  const upWrite = steps.findIndex((s) => s.column === "CPU1" && s.label === "up_write");
  const trylock = steps.findIndex((s) => s.label === "down_read_trylock");
  const removed = steps.findIndex((s) => s.label === "vma_mas_remove");
  assert.ok(removed >= 0 && removed < upWrite && upWrite < trylock);
  assert.deepEqual(steps[trylock].notes, ["acquired"]);
  assert.equal(c.outcome, "violation:stale-pte");
  // With the range mapped again, the same trylock lets the stale fault map its page
  // into the new VMA, under the old VMA's anon_vma; other schedules free the old VMA
  // under it first.
  const reused = check("vma-rwsem", "fault-vs-munmap-mmap").result;
  const again = reused.counterexample!;
  assert.equal(again.kind, "anon-rmap-unreachable");
  const labels = again.trace.steps.map((s) => s.label);
  assert.ok(labels.indexOf("vma_mas_store") < labels.indexOf("down_read_trylock"));
  assert.ok(labels.indexOf("down_read_trylock") < labels.indexOf("set_pte_at"));
  assert.ok(reused.violations["use-after-free"] > 0, JSON.stringify(reused.violations));
});

Deno.test("a replay token reproduces the counterexample step for step", () => {
  for (
    const [s, w] of [["rcu-gfp-nowait", "fault-vs-munmap"], ["vma-rwsem", "fault-vs-munmap-mmap"]]
  ) {
    const c = check(s, w);
    const replayed = replayToken(c.token!);
    assert.equal(replayed.kind, c.result.counterexample!.kind);
    assert.deepEqual(replayed.trace, c.result.counterexample!.trace);
  }
});
