/**
 * The stateful search against plain DFS on the random programs of random_programs_test.ts:
 * both must reach the same end states and the same violations (a deadlock by kind:
 * its message names the holders of a shared lock in the order they took it, which
 * the two searches may reach in different orders), and the stateful search must
 * never run more executions than plain DFS.
 */

import assert from "node:assert/strict";
import { type Proc, type ProgramFactory, Violation } from "./mod.ts";
import { dfs } from "./dfs.ts";
import type { Run } from "./driver.ts";
import { factoryOf, randomProgram } from "./random_programs_test.ts";
import { stateful } from "./stateful.ts";

function outcomes(factory: ProgramFactory, finals: string[], how: "dfs" | "stateful") {
  const seen = new Set<string>();
  let executions = 0;
  const visit = (run: Run) => {
    if (run.ending.kind !== "pruned") executions++;
    if (run.ending.kind === "violation") {
      const { kind, message } = run.ending.violation;
      seen.add(kind === "deadlock" ? kind : `${kind}: ${message}`);
    }
    return true;
  };
  const complete = how === "dfs"
    ? dfs(factory, { maxSteps: 1000 }, visit) === "exhaustive"
    : stateful(factory, { maxSteps: 1000 }, visit) === "exhaustive";
  assert.ok(complete);
  for (const f of finals) seen.add(f);
  return { outcomes: [...seen].sort(), executions };
}

Deno.test("the stateful search reaches every end state and violation plain DFS reaches, on 600 random programs", () => {
  let full = 0;
  let reduced = 0;
  for (let seed = 1; seed <= 600; seed++) {
    const program = randomProgram(seed);
    const where = `seed ${seed}: ${JSON.stringify(program)}`;
    const dfsFinals: string[] = [];
    const statefulFinals: string[] = [];
    const reference = outcomes(factoryOf(program, dfsFinals), dfsFinals, "dfs");
    const found = outcomes(factoryOf(program, statefulFinals), statefulFinals, "stateful");
    assert.deepEqual(found.outcomes, reference.outcomes, where);
    assert.ok(found.executions <= reference.executions, where);
    full += reference.executions;
    reduced += found.executions;
  }
  // The programs branch enough for the comparison to mean something.
  assert.ok(full > 10000, `plain DFS ran only ${full} executions`);
  assert.ok(reduced * 3 < full, `the stateful search ran ${reduced} of ${full}`);
});

Deno.test("a program without stateOf() cannot be searched statefully: the error says why", () => {
  const factory: ProgramFactory = () => ({
    threads: [{
      name: "T0",
      body: function* (): Proc {
        yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
      },
    }],
  });
  assert.throws(
    () => stateful(factory, { maxSteps: 10 }, () => true),
    /needs the program's stateOf/,
  );
});

/**
 * Three threads race to populate one slot, as page-table walks do: each reads it and,
 * finding it empty, allocates its own object and publishes it under a lock unless
 * another thread was first, freeing it then. The losers end where the threads that
 * found the slot populated end; with a summary of their locals the search merges them.
 */
function populateRace(
  summary: ((got: string) => string) | undefined,
  finals: string[],
  reportsLoss = false,
): ProgramFactory {
  return (rt) => {
    let slot: string | undefined;
    const freed = new Set<string>();
    const cpu = (me: number) =>
      function* (): Proc {
        rt.scopeBegin();
        yield { label: "none?", accesses: [{ obj: "slot", kind: "read" }] };
        rt.touch("slot", undefined, "read");
        let got = slot;
        let lost = false;
        if (got === undefined) {
          const mine = `table${me}`;
          yield {
            label: "populate",
            accesses: [{ obj: "slot", kind: "write" }, { obj: mine, kind: "write" }],
          };
          rt.touch("slot", undefined, "write");
          rt.touch(mine, undefined, "write");
          if (slot === undefined) slot = mine;
          else {
            freed.add(mine);
            lost = true;
          }
          got = slot;
        }
        if (summary) rt.summarize(summary(got));
        rt.scopeEnd();
        yield { label: "use", accesses: [{ obj: got, kind: "read" }] };
        rt.touch(got, undefined, "read");
        if (freed.has(got)) throw new Violation("use-after-free", `CPU${me} uses ${got}`);
        if (reportsLoss && lost) throw new Violation("lost-race", `CPU${me} lost`);
      };
    return {
      threads: [0, 1, 2].map((me) => ({ name: `CPU${me}`, body: cpu(me) })),
      finish: () => void finals.push(`slot=${slot}`),
      stateOf: (obj: string) => obj === "slot" ? `${slot}` : freed.has(obj) ? undefined : "live",
    };
  };
}

Deno.test("a summary of a thread's locals merges the losers of a populate race with the threads that found it populated", () => {
  const search = (summary: ((got: string) => string) | undefined, reportsLoss = false) => {
    const finals: string[] = [];
    return outcomes(populateRace(summary, finals, reportsLoss), finals, "stateful");
  };
  const reference: string[] = [];
  const expected = outcomes(populateRace(undefined, reference), reference, "dfs").outcomes;
  assert.deepEqual(expected, ["slot=table0", "slot=table1", "slot=table2"]);
  const plain = search(undefined);
  const summarized = search((got) => `walked to ${got}`);
  assert.deepEqual(plain.outcomes, expected);
  assert.deepEqual(summarized.outcomes, expected);
  assert.ok(
    summarized.executions < plain.executions,
    `${summarized.executions} of ${plain.executions}`,
  );
  // A summary that leaves out a local the thread still uses (here, whether it lost)
  // merges states it must not: the search is only as sound as the summaries, as it is
  // only as sound as the accesses.
  const lossReference: string[] = [];
  const losses = outcomes(populateRace(undefined, lossReference, true), lossReference, "dfs");
  assert.deepEqual(search(undefined, true).outcomes, losses.outcomes);
  assert.notDeepEqual(search((got) => `walked to ${got}`, true).outcomes, losses.outcomes);
});

Deno.test("summarize() and scopeEnd() outside a scope are errors, not silent merges", () => {
  for (const misuse of ["summarize", "scopeEnd"] as const) {
    const factory: ProgramFactory = (rt) => ({
      threads: [{
        name: "T0",
        body: function* (): Proc {
          yield { label: "w", accesses: [{ obj: "x", kind: "write" }] };
          if (misuse === "summarize") rt.summarize("nothing");
          else rt.scopeEnd();
        },
      }],
      stateOf: () => "0",
    });
    const messages: string[] = [];
    stateful(factory, { maxSteps: 10 }, (run) => {
      if (run.ending.kind === "violation") messages.push(run.ending.violation.message);
      return true;
    });
    assert.ok(messages.some((m) => m.includes(`${misuse}() outside a scope`)), messages.join("\n"));
  }
});
