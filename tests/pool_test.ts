/**
 * The worker pool: a strategy stuck in a loop that never yields is stopped at its time
 * limit and reported as an error naming the strategy, the scenario and its last step,
 * while the other pairs complete; results cross the worker boundary whole; progress
 * reaches the caller; strategy values no worker can import run in-process.
 */

import assert from "node:assert/strict";
import {
  cellOf,
  check,
  checkPairs,
  type CheckResult,
  mmapLock,
  type PairResult,
  type Proc,
  rcu_read_lock,
  type Strategy,
} from "../mod.ts";
import { EXIT, main, memoryIo } from "../cli/mod.ts";
import { searchOf } from "../cli/args.ts";
import { formatCheck } from "../cli/explore.ts";
import { formatMatrix } from "../cli/matrix.ts";

/** The strategies that never give control back, loaded by URL in the workers. */
const STUCK = new URL("./fixtures/stuck_strategy.ts", import.meta.url);

Deno.test("a pair stuck without yielding is stopped at its limit; the others complete", async () => {
  const started = performance.now();
  const progressed = new Set<number>();
  const results = await checkPairs([
    { strategy: "stuck", scenario: "fault-vs-munmap", module: STUCK },
    { strategy: "mmap-lock", scenario: "fault-vs-munmap" },
    { strategy: "stuck-at-start", scenario: "fault-vs-fault", module: STUCK },
    { strategy: "mmap-lock", scenario: "fault-vs-munmap-mmap" },
  ], {
    timeLimitSeconds: 2,
    workers: 2,
    progressEvery: 1,
    onPairProgress: (i) => progressed.add(i),
  });
  const seconds = (performance.now() - started) / 1000;

  const [stuck, fine, stuckAtStart, fine2] = results.map((r) => r.check);
  assert.equal(stuck.verdict, "error");
  assert.equal(stuck.outcome, "error:timeout");
  assert.equal(stuck.expected, "safe", "what the strategy declares (mmap-lock's)");
  assert.equal(stuck.asExpected, false);
  assert.equal(stuck.result.exhaustive, false);
  assert.match(
    stuck.result.counterexample!.message,
    /^strategy "stuck" × scenario "fault-vs-munmap": no result within 2 s \(the time limit\), so it was stopped; last step: CPU0 rcu_read_lock in fault\(0x40000000\) \(step \d+ of execution 1\)$/,
  );
  assert.match(
    stuckAtStart.result.counterexample!.message,
    /^strategy "stuck-at-start" × scenario "fault-vs-fault": no result within 2 s \(the time limit\), so it was stopped; last step: CPU0 before the first step of fault\(0x40000000\) \(step 0 of execution 1\)$/,
  );
  assert.equal(stuck.token, undefined, "no schedule to replay");
  // The command line's reports say the same, and show no (empty) trace.
  const message = stuck.result.counterexample!.message;
  const report = formatCheck(stuck, searchOf({}), 2000);
  assert.ok(report.includes(`verdict:  error: ${message}\n`), report);
  assert.match(
    report,
    /^ +not exhaustive: stopped after \d+ executions? \(stopped at the time limit\)$/m,
  );
  assert.doesNotMatch(report, /^trace /m);
  assert.ok(formatMatrix([cellOf(stuck, 2000)], 2000).includes(`    ${message}\n`));

  for (const c of [fine, fine2]) {
    assert.equal(c.outcome, "safe", `${c.strategy} × ${c.scenario}`);
    assert.equal(c.asExpected, true);
  }
  assert.ok(results.every((r) => r.inWorker));
  assert.ok(progressed.has(1) && progressed.has(3), "progress of the pairs that ran");
  // Two stuck pairs on two workers, 2 s each, side by side; the rest take milliseconds.
  assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
});

Deno.test("a pair that takes no step for its stall limit is stopped long before its time limit", async () => {
  const started = performance.now();
  const [r] = await checkPairs(
    [{ strategy: "stuck", scenario: "fault-vs-munmap-mmap", module: STUCK }],
    { timeLimitSeconds: 600, stallSeconds: 1 },
  );
  assert.equal(r.check.outcome, "error:stuck");
  assert.match(
    r.check.result.counterexample!.message,
    /^strategy "stuck" × scenario "fault-vs-munmap-mmap": took no step for 1 s \(a loop that never yields\?\), so it was stopped; last step: CPU0 rcu_read_lock in fault\(0x40000000\) \(step \d+ of execution 1\)$/,
  );
  assert.ok(performance.now() - started < 60_000, "stopped for standing still, not at 600 s");
});

Deno.test("a result crosses the worker boundary whole", async () => {
  const here = check("rcu-gfp-nowait", "fault-vs-munmap");
  assert.deepEqual(structuredClone(here), here, "structured clone keeps every field");
  const [there] = await checkPairs([{ strategy: "rcu-gfp-nowait", scenario: "fault-vs-munmap" }]);
  assert.equal(there.inWorker, true);
  assert.deepEqual(there.check, here, "the worker's result is the in-process one");
});

const throwing: Strategy = {
  ...mmapLock,
  name: "throws-in-pool",
  *fault(k): Proc<"done"> {
    yield* rcu_read_lock(k);
    throw new TypeError("vma is undefined");
  },
};

Deno.test("a strategy value no worker can import runs in-process", async () => {
  const [r]: PairResult[] = await checkPairs([{ strategy: throwing, scenario: "fault-vs-munmap" }]);
  assert.equal(r.inWorker, false);
  const c: CheckResult = r.check;
  assert.equal(c.outcome, "error:exception");
  assert.match(c.result.counterexample!.message, /vma is undefined/);
});

Deno.test("a pair that cannot start rejects, naming it", async () => {
  await assert.rejects(
    checkPairs([{ strategy: "nope", scenario: "fault-vs-munmap" }]),
    /^Error: strategy "nope" × scenario "fault-vs-munmap": unknown strategy "nope"/,
  );
  await assert.rejects(
    checkPairs([{ strategy: "nope", scenario: "fault-vs-munmap", module: STUCK }]),
    /stuck_strategy\.ts exports no strategy named "nope"/,
  );
});

Deno.test("--time-limit must be a positive number of seconds", async () => {
  const pair = ["--strategy", "mmap-lock", "--scenario", "fault-vs-munmap"];
  for (const bad of ["0", "-1", "soon"]) {
    const io = memoryIo();
    const code = await main(["explore", ...pair, "--time-limit", bad], io);
    assert.equal(code, EXIT.usage, io.stderr());
    assert.match(
      io.stderr(),
      new RegExp(`--time-limit must be a number of seconds above 0, not "${bad}"`),
    );
  }
  const io = memoryIo();
  assert.equal(await main(["explore", ...pair, "--time-limit", "30"], io), EXIT.ok);
  assert.match(io.stdout(), /^verdict: +safe$/m);
});
