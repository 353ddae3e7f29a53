/**
 * Optimal-DPOR against plain DFS, which tries every interleaving: on random programs
 * with data races, steps touching several objects, exclusive and shared locks,
 * deadlocks, choices, steps that throw, and daemon threads spawned inside a step that
 * block until a flag is set, both must reach the same final states, the same violations
 * and the same Mazurkiewicz traces; and DPOR must explore each trace exactly once.
 * The programs are in random_programs_test.ts.
 */

import assert from "node:assert/strict";
import { explore, type Proc, type ProgramFactory, Violation } from "./mod.ts";
import { canonicalTrace } from "./canonical.ts";
import { dfs } from "./dfs.ts";
import { optimalDpor } from "./optimal.ts";
import type { Run } from "./driver.ts";
import { factoryOf, type Op, randomProgram } from "./random_programs_test.ts";

interface Seen {
  readonly outcomes: Set<string>;
  readonly traces: Set<string>;
  executions: number;
  blocked: number;
}

function search(program: Op[][], how: "dpor" | "dfs"): Seen {
  const finals: string[] = [];
  const seen: Seen = { outcomes: new Set(), traces: new Set(), executions: 0, blocked: 0 };
  const visit = (run: Run) => {
    if (run.ending.kind === "pruned") {
      seen.blocked++;
      return true;
    }
    seen.executions++;
    seen.traces.add(canonicalTrace(run.exec));
    if (run.ending.kind === "violation") {
      seen.outcomes.add(`${run.ending.violation.kind}: ${run.ending.violation.message}`);
    }
    return true;
  };
  const factory = factoryOf(program, finals);
  if (how === "dpor") {
    const stats = { blocked: 0, unrunnable: 0, races: 0 };
    optimalDpor(factory, { maxSteps: 1000 }, visit, stats);
    assert.equal(stats.unrunnable, 0, "a wakeup sequence could not run");
  } else dfs(factory, { maxSteps: 1000 }, visit);
  for (const f of finals) seen.outcomes.add(f);
  return seen;
}

Deno.test("optimal DPOR finds every outcome and trace plain DFS finds, each trace once, on 1,200 random programs", () => {
  let executions = 0;
  let traces = 0;
  for (let seed = 1; seed <= 1200; seed++) {
    const program = randomProgram(seed);
    const where = `seed ${seed}: ${JSON.stringify(program)}`;
    const full = search(program, "dfs");
    const dpor = search(program, "dpor");
    assert.deepEqual([...dpor.outcomes].sort(), [...full.outcomes].sort(), where);
    assert.deepEqual([...dpor.traces].sort(), [...full.traces].sort(), where);
    assert.equal(dpor.executions, dpor.traces.size, `${where}: a trace explored twice`);
    assert.equal(dpor.blocked, 0, `${where}: sleep-set blocked executions`);
    executions += full.executions;
    traces += dpor.traces.size;
  }
  // The programs are racy enough for the comparison to mean something.
  assert.ok(traces > 5000, `only ${traces} traces`);
  assert.ok(executions > 2 * traces, `plain DFS ran ${executions} for ${traces} traces`);
});

Deno.test("a step that throws is race-analysed: the run T1.w, T0.w, T1.assert is explored", () => {
  // T0: w x.  T1: w x; assert(x was written by T1 last).
  const program: ProgramFactory = () => {
    let x = 0;
    return {
      threads: [
        {
          name: "T0",
          body: function* (): Proc {
            yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
            x = 1;
          },
        },
        {
          name: "T1",
          body: function* (): Proc {
            yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
            x = 2;
            yield { label: "assert", accesses: [{ obj: "x", kind: "read" }] };
            if (x !== 2) throw new Violation("overwritten", `x is ${x}`);
          },
        },
      ],
    };
  };
  const result = explore(program);
  assert.equal(result.violations["overwritten"], 1);
  assert.equal(result.executions, 3);
});

Deno.test("a violation in one thread does not hide an independent one in another", () => {
  const failing = (kind: string, steps: number) =>
    function* (): Proc {
      for (let i = 0; i < steps; i++) {
        yield {
          label: "work",
          accesses: [{ obj: kind, kind: "write" }],
        };
      }
      yield { label: "BUG", accesses: [] };
      throw new Violation(kind, `${kind} failed`);
    };
  const result = explore(() => ({
    threads: [{ name: "T0", body: failing("first", 0) }, {
      name: "T1",
      body: failing("second", 2),
    }],
  }));
  assert.ok(result.violations["first"] > 0);
  assert.ok(result.violations["second"] > 0);
});

Deno.test("one writer and N readers of one variable: 2^N traces, each explored once", () => {
  for (const n of [1, 2, 4, 6]) {
    const result = explore(() => ({
      threads: [
        {
          name: "W",
          body: function* (): Proc {
            yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
          },
        },
        ...Array.from({ length: n }, (_, i) => ({
          name: `R${i}`,
          body: function* (): Proc {
            yield { label: "r", accesses: [{ obj: "x", kind: "read" }] };
          },
        })),
      ],
    }));
    assert.equal(result.executions, 2 ** n, `n = ${n}`);
    assert.equal(result.pruned, 0, `n = ${n}`);
  }
});
