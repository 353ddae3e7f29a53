/**
 * What `deno task bless` recorded, as the site's and the CLI's matrices show it beside
 * a run: the execution counts (tests/explored_counts.json), so that a reviewer sees
 * which counts a change moved, and the outcomes under the other kernel configurations
 * (tests/config_outcomes.json, explored exhaustively and checked against exploration by
 * tests/verdicts_test.ts), so that the matrix, which is the default configuration's,
 * shows where a verdict depends on the configuration. A file of its own so that the CLI
 * can read it without loading the site build (which it imports lazily).
 *
 * @module
 */

/** `strategy/scenario` → executions, or none where the file is not there (an installed copy). */
export function recordedCounts(): Record<string, number> {
  try {
    return JSON.parse(
      Deno.readTextFileSync(new URL("../tests/explored_counts.json", import.meta.url)),
    );
  } catch {
    return {};
  }
}

/**
 * Configuration name (`"ipi"`, `"rcu + split-alloc"`) → `strategy/scenario` → the
 * recorded `"<outcome> (<executions>)"`, or none where the file is not there.
 */
export function recordedConfigOutcomes(): Record<string, Record<string, string>> {
  try {
    return JSON.parse(
      Deno.readTextFileSync(new URL("../tests/config_outcomes.json", import.meta.url)),
    );
  } catch {
    return {};
  }
}

/** A pair whose verdict under some other configuration is not its verdict here. */
export interface ConfigDependence {
  readonly strategy: string;
  readonly scenario: string;
  /** The outcome here, in the default configuration. */
  readonly outcome: string;
  /** Each other outcome, with the configurations it was recorded under. */
  readonly elsewhere: readonly { readonly outcome: string; readonly configs: string[] }[];
}

/**
 * The pairs of `cells` (the default configuration's) whose recorded outcome under some
 * other configuration differs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configDependence } from "./recorded_counts.ts";
 * const cells = [{ strategy: "s", scenario: "w", outcome: "safe" }];
 * assert.deepEqual(configDependence(cells, { ipi: { "s/w": "violation:use-after-free (9)" } }), [
 *   { strategy: "s", scenario: "w", outcome: "safe", elsewhere: [
 *     { outcome: "violation:use-after-free", configs: ["ipi"] },
 *   ] },
 * ]);
 * assert.deepEqual(configDependence(cells, { ipi: { "s/w": "safe (4)" } }), []);
 * ```
 */
export function configDependence(
  cells: readonly {
    readonly strategy: string;
    readonly scenario: string;
    readonly outcome: string;
  }[],
  recorded: Readonly<Record<string, Readonly<Record<string, string>>>>,
): ConfigDependence[] {
  const found: ConfigDependence[] = [];
  for (const c of cells) {
    const elsewhere = new Map<string, string[]>();
    for (const [config, outcomes] of Object.entries(recorded)) {
      const outcome = outcomes[`${c.strategy}/${c.scenario}`]?.replace(/ \(\d+\)$/, "");
      if (outcome !== undefined && outcome !== c.outcome) {
        elsewhere.set(outcome, [...elsewhere.get(outcome) ?? [], config]);
      }
    }
    if (elsewhere.size) {
      found.push({
        strategy: c.strategy,
        scenario: c.scenario,
        outcome: c.outcome,
        elsewhere: [...elsewhere].map(([outcome, configs]) => ({ outcome, configs })),
      });
    }
  }
  return found;
}
