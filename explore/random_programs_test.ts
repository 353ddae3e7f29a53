/**
 * Random programs for the tests of the searches (optimal_test.ts, stateful_test.ts):
 * two or three threads with data races, steps touching several objects, exclusive and
 * shared locks, whole critical sections in one step, deadlocks, choices, steps that
 * throw, and daemon threads spawned inside a step that block until a flag is set. Every part a step reads or changes is touched
 * and described (`stateOf`), so that the stateful search can be checked on them too.
 * (A `_test.ts` file with no tests of its own: test support, not part of the explorer.)
 *
 * @module
 */

import { type Access, type Proc, type ProgramFactory, Violation } from "./mod.ts";
import { mulberry32 } from "./random.ts";
import type { Runtime } from "./execution.ts";

export type Op =
  | { kind: "read" | "write"; v: number }
  | { kind: "move"; from: number; to: number }
  | { kind: "lock" | "unlock"; l: number; shared: boolean }
  | { kind: "choose" }
  | { kind: "assert"; v: number }
  | { kind: "spawn"; v: number; waits: number | undefined }
  | { kind: "signal" }
  | { kind: "section"; l: number; v: number };

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
      else if (r === 13) {
        const l = pick(2);
        if (!held.some((h) => h.l === l)) ops.push({ kind: "section", l, v: pick(VARS) });
      }
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
      rt.touch(`x${v}`, undefined, "write");
      vars[v] = vars[v] * 3 + 7;
    }
    const threads = program.map((ops, t) => ({
      name: `T${t}`,
      body: function* (): Proc {
        for (const op of ops) {
          if (op.kind === "read") {
            yield { label: "read", accesses: [x(op.v, "read")] };
            rt.touch(`x${op.v}`, undefined, "read");
            log(vars[op.v]);
          } else if (op.kind === "write") {
            yield { label: "write", accesses: [x(op.v, "write")] };
            rt.touch(`x${op.v}`, undefined, "write");
            vars[op.v] = vars[op.v] * 3 + t + 1;
          } else if (op.kind === "move") {
            yield { label: "move", accesses: [x(op.from, "read"), x(op.to, "write")] };
            rt.touch(`x${op.from}`, undefined, "read");
            rt.touch(`x${op.to}`, undefined, "write");
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
            rt.touch(`l${op.l}`, undefined, "write");
            if (op.shared) readers[op.l].push(rt.current);
            else owner[op.l] = rt.current;
          } else if (op.kind === "unlock") {
            yield {
              label: "unlock",
              accesses: [{ obj: `l${op.l}`, kind: op.shared ? "release-shared" : "release" }],
            };
            rt.touch(`l${op.l}`, undefined, "write");
            if (op.shared) readers[op.l].splice(readers[op.l].indexOf(rt.current), 1);
            else owner[op.l] = undefined;
          } else if (op.kind === "section") {
            // Lock, write, unlock as one step (see "section" in step.ts).
            yield {
              label: "section",
              accesses: [{ obj: `l${op.l}`, kind: "section" }, x(op.v, "write")],
              enabled: () => owner[op.l] === undefined && readers[op.l].length === 0,
              waitingFor: () => ({
                resource: `l${op.l}`,
                holders: [...(owner[op.l] === undefined ? [] : [owner[op.l]!]), ...readers[op.l]],
              }),
            };
            rt.touch(`l${op.l}`, undefined, "write");
            rt.touch(`x${op.v}`, undefined, "write");
            vars[op.v] = vars[op.v] * 7 + t + 2;
          } else if (op.kind === "choose") {
            log(100 + (yield { label: "choose", accesses: [], choices: ["a", "b"] }));
          } else if (op.kind === "assert") {
            yield { label: "assert", accesses: [x(op.v, "read")] };
            rt.touch(`x${op.v}`, undefined, "read");
            if (vars[op.v] % 3 === 2) {
              throw new Violation(`bad-x${op.v}`, `T${t} sees x${op.v} = ${vars[op.v]}`);
            }
          } else if (op.kind === "spawn") {
            yield { label: "spawn", accesses: [] };
            rt.spawn({ name: `D${t}`, daemon: true, body: () => daemon(op.v, op.waits) });
          } else {
            yield { label: "signal", accesses: [{ obj: `flag${t}`, kind: "release" }] };
            rt.touch(`flag${t}`, undefined, "write");
            flags[t] = true;
          }
        }
      },
    }));
    // Every change of state above is touched, so the stateful search can key on it.
    const stateOf = (obj: string): string => {
      const n = Number(obj.slice(obj.startsWith("flag") ? 4 : 1));
      if (obj.startsWith("x")) return String(vars[n]);
      if (obj.startsWith("l")) return `${owner[n]}/${readers[n].join(",")}`;
      return String(flags[n]);
    };
    return {
      threads,
      finish: () => void finals?.push(JSON.stringify({ vars, logs: Object.entries(logs).sort() })),
      stateOf,
    };
  };
}
