/**
 * The stateful search against plain DFS on the random programs of random_programs_test.ts:
 * both must reach the same end states and the same violations (a deadlock by kind:
 * its message names the holders of a shared lock in the order they took it, which
 * the two searches may reach in different orders), and the stateful search must
 * never run more executions than plain DFS.
 */

import assert from "node:assert/strict";
import type { Proc, ProgramFactory } from "./mod.ts";
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
