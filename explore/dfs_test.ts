/**
 * The search itself: partial-order reduction must explore every outcome that the
 * unreduced search reaches, on random programs with data races, exclusive and shared
 * (reader) locks, blocking and choices; and it must actually reduce.
 */

import assert from "node:assert/strict";
import { explore, type Proc, type ProgramFactory, Violation } from "./mod.ts";
import { dfs } from "./dfs.ts";
import { mulberry32 } from "./random.ts";
import type { Run } from "./driver.ts";

type Op =
  | { kind: "read" | "write"; v: number }
  | { kind: "lock" | "unlock"; l: number; shared: boolean }
  | { kind: "choose" };

/**
 * A random program: each thread a list of ops, locks properly nested. With `readers`,
 * two threads whose locks are mostly taken shared, so that read-side critical sections
 * overlap.
 */
function randomProgram(seed: number, readers = false): Op[][] {
  const next = mulberry32(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const threads = readers ? 2 : 2 + pick(2);
  return Array.from({ length: threads }, () => {
    const ops: Op[] = [];
    const held: { l: number; shared: boolean }[] = [];
    for (let i = 0, n = 1 + pick(threads === 2 ? 5 : 3); i < n; i++) {
      const r = readers && i === 0 ? 6 : pick(10);
      if (r < 3) ops.push({ kind: "read", v: pick(2) });
      else if (r < 6) ops.push({ kind: "write", v: pick(2) });
      else if (r < 8 && held.length < 2) {
        const l = held.some((h) => h.l === 0) ? 1 : pick(2);
        if (!held.some((h) => h.l === l)) {
          const lock = { l, shared: pick(readers ? 4 : 2) !== 0 };
          held.push(lock);
          ops.push({ kind: "lock", ...lock });
        }
      } else if (r < 9 && held.length) ops.push({ kind: "unlock", ...held.pop()! });
      else if (r === 9) ops.push({ kind: "choose" });
    }
    while (held.length) ops.push({ kind: "unlock", ...held.pop()! });
    return ops;
  });
}

/** The program, and a record of each execution's final state. */
function factoryOf(program: Op[][], finals: string[]): ProgramFactory {
  return (rt) => {
    const vars = [0, 0];
    const owner: (number | undefined)[] = [undefined, undefined];
    const readers: number[][] = [[], []];
    const logs: number[][] = program.map(() => []);
    const threads = program.map((ops, t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (const op of ops) {
          if (op.kind === "read") {
            yield { label: "read", accesses: [{ obj: `x${op.v}`, kind: "read" }] };
            logs[t].push(vars[op.v]);
          } else if (op.kind === "write") {
            yield { label: "write", accesses: [{ obj: `x${op.v}`, kind: "write" }] };
            vars[op.v] = vars[op.v] * 3 + t + 1;
          } else if (op.kind === "lock") {
            const holders =
              () => [...(owner[op.l] === undefined ? [] : [owner[op.l]!]), ...readers[op.l]];
            yield {
              label: op.shared ? "read_lock" : "lock",
              accesses: [{ obj: `l${op.l}`, kind: op.shared ? "acquire-shared" : "acquire" }],
              enabled: () => owner[op.l] === undefined && (op.shared || readers[op.l].length === 0),
              waitingFor: () => ({ resource: `l${op.l}`, holders: holders() }),
            };
            if (op.shared) readers[op.l].push(rt.current);
            else owner[op.l] = rt.current;
          } else if (op.kind === "unlock") {
            yield {
              label: "unlock",
              accesses: [{ obj: `l${op.l}`, kind: op.shared ? "release-shared" : "release" }],
            };
            if (op.shared) readers[op.l].splice(readers[op.l].indexOf(rt.current), 1);
            else owner[op.l] = undefined;
          } else {
            logs[t].push(100 + (yield { label: "choose", accesses: [], choices: ["a", "b"] }));
          }
        }
      },
    }));
    return {
      threads,
      finish: () => void finals.push(JSON.stringify({ vars, logs })),
    };
  };
}

function outcomes(program: Op[][], reduction: "dpor" | "none"): Set<string> {
  const finals: string[] = [];
  const ends: string[] = [];
  dfs(factoryOf(program, finals), { reduction, maxSteps: 1000 }, (run: Run) => {
    if (run.ending.kind === "violation") ends.push(run.ending.violation.kind);
    return true;
  });
  return new Set([...finals, ...ends]);
}

for (const readers of [false, true]) {
  Deno.test(
    `dpor reaches every outcome plain DFS reaches, on 400 random programs${
      readers ? " whose threads start with a lock, mostly shared" : ""
    }`,
    () => {
      let reduced = 0;
      for (let seed = 1; seed <= 400; seed++) {
        const program = randomProgram(seed, readers);
        const full = outcomes(program, "none");
        const dpor = outcomes(program, "dpor");
        assert.deepEqual(
          [...dpor].sort(),
          [...full].sort(),
          `seed ${seed}: ${JSON.stringify(program)}`,
        );
        reduced += dpor.size;
      }
      assert.ok(reduced > 400);
    },
  );
}

Deno.test("dpor explores one execution for independent threads, all for conflicting ones", () => {
  const writes = (objs: (t: number) => string, n: number): ProgramFactory => () => ({
    threads: [0, 1].map((t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (let i = 0; i < n; i++) {
          yield { label: "w", accesses: [{ obj: objs(t), kind: "write" }] };
        }
      },
    })),
  });
  assert.equal(explore(writes((t) => `x${t}`, 8)).executions, 1);
  // Two threads of n conflicting writes have C(2n, n) distinct interleavings.
  assert.equal(explore(writes(() => "x", 4)).executions, 70);
  assert.equal(
    explore(writes(() => "x", 4), { mode: "bounded", preemptionBound: 99 }).executions,
    70,
  );
});

Deno.test("a livelock is inconclusive with its trace, never safe", () => {
  const result = explore(() => ({
    threads: [{
      name: "CPU0",
      body: function* (): Proc {
        for (;;) yield { label: "cpu_relax", accesses: [] };
      },
    }],
  }), { maxSteps: 50 });
  assert.equal(result.inconclusive?.kind, "step-budget");
  assert.equal(result.inconclusive?.trace.steps.length, 50);
  assert.equal(result.counterexample, undefined);
});

Deno.test("a thread that throws is an error naming the step, not a race", () => {
  const result = explore(() => ({
    threads: [{
      name: "CPU0",
      body: function* (): Proc {
        yield { label: "buggy_step", accesses: [] };
        throw new TypeError("oops");
      },
    }],
  }));
  assert.equal(result.counterexample?.kind, "exception");
  assert.match(result.counterexample!.message, /in step buggy_step: oops/);
});

Deno.test("bounded and random searches say they are not exhaustive", () => {
  const racy: ProgramFactory = () => ({
    threads: [0, 1, 2].map((t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (let i = 0; i < 3; i++) yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
      },
    })),
    finish() {
      throw new Violation("never-ok", "always fails");
    },
  });
  const bounded = explore(racy, { mode: "bounded", preemptionBound: 0 });
  assert.equal(bounded.exhaustive, false);
  assert.equal(bounded.executions, 6);
  const random = explore(racy, { mode: "random", maxExecutions: 5, seed: 7 });
  assert.equal(random.exhaustive, false);
  assert.equal(random.executions, 5);
  assert.equal(random.violations["never-ok"], 5);
});
