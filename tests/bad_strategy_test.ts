/**
 * A strategy that throws, one that never finishes, and a name nobody knows: each gets
 * a clear answer naming where, and never a verdict of "safe".
 */

import assert from "node:assert/strict";
import {
  check,
  mmapLock,
  type Proc,
  rcu_read_lock,
  scenarioNamed,
  type Strategy,
  strategyNamed,
} from "../mod.ts";

const throwing: Strategy = {
  ...mmapLock,
  name: "throws",
  *fault(k): Proc<"done"> {
    yield* rcu_read_lock(k);
    throw new TypeError("vma is undefined");
  },
};

const spinning: Strategy = {
  ...mmapLock,
  name: "spins",
  *fault(k): Proc<"done"> {
    for (;;) yield* rcu_read_lock(k);
  },
};

Deno.test("a strategy that throws is an error with its file and line", () => {
  const c = check(throwing, "fault-vs-munmap");
  assert.equal(c.verdict, "error");
  assert.equal(c.outcome, "error:exception");
  assert.match(
    c.result.counterexample!.message,
    /model code threw in step rcu_read_lock: vma is undefined/,
  );
  assert.match(c.result.counterexample!.message, /bad_strategy_test\.ts:\d+:\d+/);
});

Deno.test("a strategy that never finishes is inconclusive, with the trace so far", () => {
  const c = check(spinning, "fault-alloc-failure", { maxSteps: 200 });
  assert.equal(c.verdict, "inconclusive");
  assert.equal(c.result.inconclusive?.trace.steps.length, 200);
  assert.ok(c.token, "a livelock can be replayed");
});

Deno.test("an unknown name says which names are close", () => {
  assert.throws(
    () => strategyNamed("vma-rwsam"),
    /unknown strategy "vma-rwsam"; did you mean "vma-rwsem"\?/,
  );
  assert.throws(() => scenarioNamed("fault-vs-unmap"), /did you mean "fault-vs-munmap"/);
  assert.throws(
    () => check("mmap-lock", "nope"),
    /unknown scenario "nope".*known: fault-vs-munmap/,
  );
});

Deno.test("a strategy written before khugepaged() joined the interface is told so, not crashed", () => {
  const { khugepaged: _, ...rest } = mmapLock;
  const old = { ...rest, name: "no-khugepaged" } as unknown as Strategy;
  const c = check(old, "munmap-vs-khugepaged");
  assert.equal(c.verdict, "error");
  assert.match(
    c.result.counterexample!.message,
    /strategy "no-khugepaged" has no khugepaged\(\) \(strategies\/strategy\.ts\)/,
  );
  assert.equal(check(old, "fault-vs-munmap").outcome, "safe", "the other scenarios still run");
});
