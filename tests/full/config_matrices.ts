/**
 * The verdict matrix under each kernel configuration other than the default (the
 * default's is tests/verdicts_test.ts): every pair exhaustive, its outcome as
 * tests/config_outcomes.json records it. Part of `deno task test:full`: it explores the
 * whole matrix eight times over.
 */

import assert from "node:assert/strict";
import { configName, runMatricesInWorkers, scenarios, strategies } from "../../mod.ts";
import { OTHER_CONFIGS, outcomeRecord, recordedConfigOutcomes } from "../explored_counts.ts";

Deno.test("verdict matrix under the other kernel configurations", async (t) => {
  const recorded = recordedConfigOutcomes();
  // Every configuration's pairs in one pool, each pair explored as it is alone.
  const matrices = await runMatricesInWorkers(OTHER_CONFIGS);
  for (const [k, config] of OTHER_CONFIGS.entries()) {
    const name = configName(config);
    const cells = matrices[k];
    assert.equal(cells.length, strategies.length * scenarios.length);
    for (const cell of cells) {
      const key = `${cell.strategy}/${cell.scenario}`;
      await t.step(`${name}: ${key}: ${outcomeRecord(cell)}`, () => {
        assert.notEqual(cell.verdict, "error", `${key}: ${cell.counterexample?.message}`);
        assert.equal(cell.exhaustive, true, `${key} under ${name} must be exhaustive`);
        assert.deepEqual(cell.config, config);
        assert.equal(
          outcomeRecord(cell),
          recorded[name]?.[key],
          `${key} under ${name}: if the change is intended, run \`deno task bless\` and ` +
            `explain it in the commit and in docs/kernel-config.md`,
        );
      });
    }
  }
});
