/**
 * The same scenario, strategy, mode and seed give the same search: the same executions,
 * each with the same steps in the same order, the same counts and the same
 * counterexample, schedule and trace, whether run twice in one process (with another
 * search in between, so no state left behind by one search can change the next) or in
 * two processes (`deno run tests/fixtures/schedules.ts`, for `exhaustive` and
 * `random`). A replay token is only worth what this guarantee is.
 */

import assert from "node:assert/strict";
import type { Mode } from "../mod.ts";
import { schedulesOf } from "./fixtures/schedules.ts";

/** Pairs with a counterexample, with RCU callbacks (spawned threads), and a safe one. */
const PAIRS: readonly (readonly [string, string])[] = [
  ["rcu-gfp-nowait", "fault-vs-munmap"],
  ["per-vma-lock", "fault-vs-munmap"],
];

/** A search: its mode, seed, execution budget and (bounded) preemption bound. */
interface Search {
  readonly mode: Mode;
  readonly seed: number;
  readonly budget?: number;
  readonly preemptions?: number;
}

const MODES: readonly Search[] = [
  { mode: "exhaustive", seed: 1 },
  { mode: "random", seed: 7, budget: 60 },
  { mode: "pct", seed: 3, budget: 40 },
  { mode: "bounded", seed: 1, preemptions: 1 },
];

function search(strategy: string, scenario: string, m: Search): string[] {
  return schedulesOf(strategy, scenario, {
    mode: m.mode,
    seed: m.seed,
    ...(m.budget ? { maxExecutions: m.budget } : {}),
    ...(m.preemptions !== undefined ? { preemptionBound: m.preemptions } : {}),
  });
}

/** The first line where two texts differ, for a readable failure. */
function firstDifference(a: readonly string[], b: readonly string[]): string {
  const i = a.findIndex((line, j) => line !== b[j]);
  const at = i < 0 ? Math.min(a.length, b.length) : i;
  return `line ${at + 1}:\n  ${a[at]?.slice(0, 300)}\n  ${b[at]?.slice(0, 300)}`;
}

Deno.test("the same search twice in one process explores the same executions in the same order", async (t) => {
  for (const m of MODES) {
    await t.step(m.mode, () => {
      const [first, other] = PAIRS;
      const a = search(first[0], first[1], m);
      search(other[0], other[1], m);
      const b = search(first[0], first[1], m);
      assert.ok(a.length > 3, a.join("\n"));
      assert.deepEqual(a, b, firstDifference(a, b));
    });
  }
  await t.step("a different seed gives a different random search", () => {
    const [s, w] = PAIRS[0];
    const a = search(s, w, MODES[1]);
    const b = search(s, w, { ...MODES[1], seed: MODES[1].seed + 1 });
    assert.notDeepEqual(a, b);
  });
});

/** The text of the search as another Deno process prints it. */
async function inAnotherProcess(strategy: string, scenario: string, m: Search): Promise<string[]> {
  const script = new URL("./fixtures/schedules.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      script.pathname,
      m.mode,
      strategy,
      scenario,
      String(m.seed),
      m.budget ? String(m.budget) : "",
      m.preemptions !== undefined ? String(m.preemptions) : "",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout).replace(/\n$/, "").split("\n");
}

Deno.test("the same search in two processes explores the same executions in the same order", async (t) => {
  for (const [strategy, scenario] of PAIRS) {
    for (const m of MODES.filter((m) => m.mode === "exhaustive" || m.mode === "random")) {
      await t.step(`${strategy} × ${scenario}, ${m.mode}`, async () => {
        const [a, b] = await Promise.all([
          inAnotherProcess(strategy, scenario, m),
          inAnotherProcess(strategy, scenario, m),
        ]);
        assert.ok(a.length > 3, a.join("\n"));
        assert.deepEqual(a, b, firstDifference(a, b));
        // And what this process finds is the same again.
        const here = search(strategy, scenario, m);
        assert.deepEqual(here, a, firstDifference(here, a));
      });
    }
  }
});
