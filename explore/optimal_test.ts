/**
 * Optimal-DPOR against plain DFS, which tries every interleaving: on random programs
 * with data races, steps touching several objects, exclusive and shared locks,
 * deadlocks, choices, steps that throw, and daemon threads spawned inside a step that
 * block until a flag is set, both must reach the same final states, the same violations
 * and the same Mazurkiewicz traces; and DPOR must explore each trace exactly once.
 */

import assert from "node:assert/strict";
import { type Access, explore, type Proc, type ProgramFactory, Violation } from "./mod.ts";
import { canonicalTrace } from "./canonical.ts";
import { dfs } from "./dfs.ts";
import { optimalDpor } from "./optimal.ts";
import { mulberry32 } from "./random.ts";
import type { Run } from "./driver.ts";
import type { Runtime } from "./execution.ts";

type Op =
  | { kind: "read" | "write"; v: number }
  | { kind: "move"; from: number; to: number }
  | { kind: "lock" | "unlock"; l: number; shared: boolean }
  | { kind: "choose" }
  | { kind: "assert"; v: number }
  | { kind: "spawn"; v: number; waits: number | undefined }
  | { kind: "signal" };

const VARS = 2;

/**
 * A random program: each thread a list of ops, locks properly nested, at most one
 * daemon, and at most `MAX_STEPS` steps in all, so that plain DFS stays quick.
 */
export function randomProgram(seed: number): Op[][] {
  for (let attempt = 0;; attempt++) {
    const program = draw(mulberry32(seed * 7919 + attempt));
    const ops = program.flat();
    const spawns = ops.filter((op) => op.kind === "spawn");
    const steps = ops.length + spawns.reduce((n, op) => n + (op.waits === undefined ? 1 : 2), 0);
    if (spawns.length <= 1 && steps <= MAX_STEPS) return program;
  }
}

const MAX_STEPS = 9;

function draw(next: () => number): Op[][] {
  const pick = (n: number) => Math.floor(next() * n);
  const threads = 2 + pick(2);
  return Array.from({ length: threads }, () => {
    const ops: Op[] = [];
    const held: { l: number; shared: boolean }[] = [];
    for (let i = 0, n = 1 + pick(threads === 2 ? 5 : 3); i < n; i++) {
      const r = pick(14);
      if (r < 2) ops.push({ kind: "read", v: pick(VARS) });
      else if (r < 5) ops.push({ kind: "write", v: pick(VARS) });
      else if (r === 5) ops.push({ kind: "move", from: pick(VARS), to: pick(VARS) });
      else if (r < 8 && held.length < 2) {
        const l = held.some((h) => h.l === 0) ? 1 : pick(2);
        if (!held.some((h) => h.l === l)) {
          const lock = { l, shared: pick(3) === 0 };
          held.push(lock);
          ops.push({ kind: "lock", ...lock });
        }
      } else if (r < 9 && held.length) ops.push({ kind: "unlock", ...held.pop()! });
      else if (r === 9) ops.push({ kind: "choose" });
      else if (r === 10) ops.push({ kind: "assert", v: pick(VARS) });
      else if (r === 11) {
        const waits = pick(threads + 1);
        ops.push({ kind: "spawn", v: pick(VARS), waits: waits < threads ? waits : undefined });
      } else if (r === 12 && !ops.some((op) => op.kind === "signal")) ops.push({ kind: "signal" });
    }
    while (held.length) ops.push({ kind: "unlock", ...held.pop()! });
    return ops;
  });
}

/** The program; `finals` records each execution's final state. */
export function factoryOf(program: Op[][], finals?: string[]): ProgramFactory {
  return (rt: Runtime) => {
    const vars = Array(VARS).fill(0);
    const owner: (number | undefined)[] = [undefined, undefined];
    const readers: number[][] = [[], []];
    // Thread t's signal sets flag t, once: like the end of an RCU read-side section, a
    // release that no other thread could also make (see "acquire" in step.ts).
    const flags = program.map(() => false);
    const logs: Record<string, number[]> = {};
    const log = (value: number) => (logs[rt.threadName(rt.current)] ??= []).push(value);
    const x = (v: number, kind: Access["kind"]): Access => ({ obj: `x${v}`, kind });
    function* daemon(v: number, waits: number | undefined): Proc {
      if (waits !== undefined) {
        yield {
          label: "wait",
          accesses: [{ obj: `flag${waits}`, kind: "acquire" }],
          enabled: () => flags[waits],
          waitingFor: () => ({ resource: `flag${waits}`, holders: [waits] }),
        };
      }
      yield { label: "write", accesses: [x(v, "write")] };
      vars[v] = vars[v] * 3 + 7;
    }
    const threads = program.map((ops, t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (const op of ops) {
          if (op.kind === "read") {
            yield { label: "read", accesses: [x(op.v, "read")] };
            log(vars[op.v]);
          } else if (op.kind === "write") {
            yield { label: "write", accesses: [x(op.v, "write")] };
            vars[op.v] = vars[op.v] * 3 + t + 1;
          } else if (op.kind === "move") {
            yield { label: "move", accesses: [x(op.from, "read"), x(op.to, "write")] };
            vars[op.to] = vars[op.to] * 5 + vars[op.from] + 1;
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
          } else if (op.kind === "choose") {
            log(100 + (yield { label: "choose", accesses: [], choices: ["a", "b"] }));
          } else if (op.kind === "assert") {
            yield { label: "assert", accesses: [x(op.v, "read")] };
            if (vars[op.v] % 3 === 2) {
              throw new Violation(`bad-x${op.v}`, `T${t} sees x${op.v} = ${vars[op.v]}`);
            }
          } else if (op.kind === "spawn") {
            yield { label: "spawn", accesses: [] };
            rt.spawn({ name: `D${t}`, daemon: true, body: () => daemon(op.v, op.waits) });
          } else {
            yield { label: "signal", accesses: [{ obj: `flag${t}`, kind: "release" }] };
            flags[t] = true;
          }
        }
      },
    }));
    return {
      threads,
      finish: () => void finals?.push(JSON.stringify({ vars, logs: Object.entries(logs).sort() })),
    };
  };
}

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
