/**
 * The check of tests/stateful_mm_test.ts, tests/full/stateful_mm.ts and
 * tests/full/granularity.ts: the stateful
 * search (explore/stateful.ts) on the mm model reaches exactly the violation kinds
 * Optimal-DPOR reaches. Its states are only as exact as the model's description of them
 * (`Kernel.stateOf()`: every slab object's lifetime and parts, every embedded lock, the
 * tasks' RCU and IRQ state), so the two disagree where that description or a step's
 * declared accesses leave something out.
 *
 * @module
 */

import assert from "node:assert/strict";
import { check, configName, DEFAULT_CONFIG, type KernelConfig } from "../mod.ts";

/** A strategy, a scenario and the kernel configuration to search them under. */
export type StatefulPair = readonly [string, string, KernelConfig];

/** Both searches exhaustive on `strategy` × `scenario` under `config`, the same violation kinds. */
export function assertAgreesWithStateful(
  strategy: string,
  scenario: string,
  config: KernelConfig = DEFAULT_CONFIG,
): void {
  const dpor = check(strategy, scenario, { config });
  const stateful = check(strategy, scenario, { config, mode: "stateful" });
  assert.ok(dpor.result.exhaustive && stateful.result.exhaustive);
  assert.deepEqual(
    Object.keys(stateful.result.violations).sort(),
    Object.keys(dpor.result.violations).sort(),
  );
  assert.ok((stateful.result.states ?? 0) > 0);
}

/** One test step per pair: {@linkcode assertAgreesWithStateful}. */
export async function stepsAgreeingWithStateful(
  t: Deno.TestContext,
  pairs: readonly StatefulPair[],
): Promise<void> {
  for (const [strategy, scenario, config] of pairs) {
    await t.step(
      `${strategy} × ${scenario} under ${configName(config)}`,
      () => assertAgreesWithStateful(strategy, scenario, config),
    );
  }
}
