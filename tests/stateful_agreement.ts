/**
 * The check of tests/stateful_mm_test.ts and tests/full/stateful_mm.ts: the stateful
 * search (explore/stateful.ts) on the mm model reaches exactly the violation kinds
 * Optimal-DPOR reaches. Its states are only as exact as the model's description of them
 * (`Kernel.stateOf()`: every slab object's lifetime and parts, every embedded lock, the
 * tasks' RCU and IRQ state), so the two disagree where that description or a step's
 * declared accesses leave something out.
 *
 * @module
 */

import assert from "node:assert/strict";
import { check, configName, type KernelConfig } from "../mod.ts";

/** A strategy, a scenario and the kernel configuration to search them under. */
export type StatefulPair = readonly [string, string, KernelConfig];

/** One test step per pair: both searches exhaustive, the same violation kinds. */
export async function stepsAgreeingWithStateful(
  t: Deno.TestContext,
  pairs: readonly StatefulPair[],
): Promise<void> {
  for (const [strategy, scenario, config] of pairs) {
    await t.step(`${strategy} × ${scenario} under ${configName(config)}`, () => {
      const dpor = check(strategy, scenario, { config });
      const stateful = check(strategy, scenario, { config, mode: "stateful" });
      assert.ok(dpor.result.exhaustive && stateful.result.exhaustive);
      assert.deepEqual(
        Object.keys(stateful.result.violations).sort(),
        Object.keys(dpor.result.violations).sort(),
      );
      assert.ok((stateful.result.states ?? 0) > 0);
    });
  }
}
