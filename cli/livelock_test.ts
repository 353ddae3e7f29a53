/**
 * Livelocks as cycles: the shortest round at the end of a trace, in one line, and the
 * trace abridged to the rows before it and the round once; and `explore`'s report of
 * a strategy that yields forever, which shows that instead of every row up to the step
 * budget.
 */

import assert from "node:assert/strict";
import {
  check,
  formatTrace,
  mmapLock,
  type Proc,
  rcu_read_lock,
  rcu_read_unlock,
  type Strategy,
  type TraceStep,
} from "../mod.ts";
import { searchOf } from "./args.ts";
import { checkJson, formatCheck } from "./explore.ts";
import { findCycle, livelockLine, livelockTable } from "./livelock.ts";

/** Steps from `[cpu, label, detail?]` triples, numbered from 1. */
function steps(...specs: readonly (readonly [number, string, string?])[]): TraceStep[] {
  return specs.map(([cpu, label, detail], i) => ({
    step: i + 1,
    thread: cpu,
    threadName: `CPU${cpu}`,
    column: `CPU${cpu}`,
    label,
    ...(detail !== undefined ? { detail } : {}),
    notes: [],
    accesses: [],
  }));
}

/** `times` copies of `round`. */
function repeat<T>(round: readonly T[], times: number): T[] {
  return Array.from({ length: times }, () => round).flat();
}

Deno.test("findCycle: the shortest round the trace ends repeating, from where it starts", async (t) => {
  await t.step("one CPU, one step", () => {
    const c = findCycle(steps([0, "mmap_read_lock"], ...repeat([[0, "spin"] as const], 8)))!;
    assert.deepEqual([c.from, c.round.length, c.times, c.to], [2, 1, 8, 9]);
    assert.equal(livelockLine(c), "livelock: CPU0 repeats spin (8 times) from step 2");
  });

  await t.step("two CPUs taking turns, with set-up first and half a round at the end", () => {
    const round = [[0, "spin_trylock", "ptl"], [1, "spin_lock", "ptl"], [0, "retry"]] as const;
    const trace = steps([1, "mmap_write_lock"], [0, "lookup"], ...repeat(round, 5), round[0]);
    const c = findCycle(trace)!;
    assert.equal(c.from, 3);
    assert.deepEqual(c.round.map((s) => s.label), ["spin_trylock", "spin_lock", "retry"]);
    assert.equal(c.times, 5);
    assert.equal(
      livelockLine(c),
      "livelock: CPU0 repeats spin_trylock ptl, retry and CPU1 repeats spin_lock ptl (5 times) " +
        "from step 3",
    );
  });

  await t.step("the detail counts: a step on another object breaks the round", () => {
    const trace = steps(...repeat([[0, "load", "a"], [0, "load", "b"]] as const, 4));
    assert.equal(findCycle(trace)!.round.length, 2);
    assert.equal(findCycle(steps([0, "load", "a"], [0, "load", "b"], [0, "load", "c"])), undefined);
  });

  await t.step("a long round is listed shortly in the line", () => {
    const round = ["a", "b", "c", "d", "e", "f"].map((l) => [0, l] as const);
    const c = findCycle(steps(...repeat(round, 3)))!;
    assert.equal(
      livelockLine(c),
      "livelock: CPU0 repeats a, b, c, d, … (6 steps in all) (3 times) from step 1",
    );
  });
});

Deno.test("livelockTable: the first rows, a line for what is left out, the round once", () => {
  const trace = {
    columns: ["CPU0", "CPU1"],
    steps: steps(
      ...repeat([[1, "setup"] as const], 14),
      ...repeat([[0, "try"], [0, "fail"]] as const, 40),
    ),
  };
  const c = findCycle(trace.steps)!;
  assert.deepEqual([c.from, c.times], [15, 40]);
  assert.equal(
    livelockTable(trace, c, formatTrace, 3),
    [
      "   step | CPU0 | CPU1",
      "--------+------+------",
      "      1 |      | setup",
      "      2 |      | setup",
      "      3 |      | setup",
      "      … | steps 4 to 14 left out",
      "     15 | try  |",
      "     16 | fail |",
      "      … | the round above again, 39 more times, to step 94 (78 steps left out)",
    ].join("\n"),
  );
});

const yieldsForever: Strategy = {
  ...mmapLock,
  name: "yields-forever",
  *fault(k): Proc<"done"> {
    for (;;) {
      yield* rcu_read_lock(k);
      yield* rcu_read_unlock(k);
    }
  },
};

Deno.test("explore's report of a livelock: the cycle, not every row up to the budget", () => {
  const c = check(yieldsForever, "fault-alloc-failure", { maxSteps: 500 });
  assert.equal(c.verdict, "inconclusive");
  assert.equal(c.result.inconclusive!.trace.steps.length, 500);
  const text = formatCheck(c, searchOf({}), 10);
  assert.match(
    text,
    /^livelock: CPU0 repeats rcu_read_lock, rcu_read_unlock \(250 times\) from step 1$/m,
  );
  assert.match(text, /^ +… \| the round above again, 249 more times, to step 500 /m);
  const rows = text.split("\n").filter((l) => /^(>>| {2}) +\d+ \|/.test(l));
  assert.deepEqual(rows.map((r) => r.split("|")[0].trim()), ["1", "2"]);
  assert.doesNotMatch(text, /^ +exhaustive: /m, "a livelocked search is not exhaustive");
  const json = checkJson(c, 10) as { livelock: { from: number; times: number } };
  assert.deepEqual([json.livelock.from, json.livelock.times], [1, 250]);
});
