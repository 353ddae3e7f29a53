/**
 * Explored execution counts are recorded (tests/explored_counts.json) and compared in
 * tests, as TLA+ examples record state counts: a change in a count is noticed and
 * must be explained in the commit. Run this file to re-record after such a change:
 *
 *     deno task bless
 *
 * @module
 */

import {
  configName,
  DEFAULT_CONFIG,
  type KernelConfig,
  type MatrixCell,
  type Ptlocks,
  runMatricesInWorkers,
  type TableFree,
} from "../mod.ts";

/** Where the counts live. */
export const COUNTS_FILE = new URL("./explored_counts.json", import.meta.url);

/** `strategy/scenario` → executions. */
export type Counts = Record<string, number>;

/** Reads the recorded counts. */
export function recordedCounts(): Counts {
  return JSON.parse(Deno.readTextFileSync(COUNTS_FILE));
}

/**
 * Where the outcomes under the other kernel configurations live: configuration (as
 * `configName()` names it: `"ipi"`, `"rcu + split-alloc"`) → `strategy/scenario` →
 * `"<outcome> (<executions>)"`. Strategies declare what they
 * expect under the default configuration; under the others the explorer's findings are
 * recorded here by `deno task bless`, reviewed in the diff, and compared by the tests.
 */
export const CONFIG_OUTCOMES_FILE = new URL("./config_outcomes.json", import.meta.url);

const TABLE_FREES: readonly TableFree[] = ["rcu", "ipi", "rcu-ipi-fallback"];
const PTLOCKS: readonly Ptlocks[] = ["split", "split-alloc", "page-table-lock"];

/**
 * The configurations besides the default that the matrix is explored under: every
 * `tableFree` × `ptlocks`.
 */
export const OTHER_CONFIGS: readonly KernelConfig[] = TABLE_FREES.flatMap((tableFree) =>
  PTLOCKS.map((ptlocks): KernelConfig => ({ tableFree, ptlocks }))
).filter((c) => configName(c) !== "rcu");

/** One cell as `config_outcomes.json` records it. */
export function outcomeRecord(cell: MatrixCell): string {
  return `${cell.outcome} (${cell.executions})`;
}

/** Reads the recorded outcomes under the other configurations. */
export function recordedConfigOutcomes(): Record<string, Record<string, string>> {
  return JSON.parse(Deno.readTextFileSync(CONFIG_OUTCOMES_FILE));
}

if (import.meta.main) {
  // Every configuration's matrix in one pool (the default's first), as the tests run them.
  const [main, ...others] = await runMatricesInWorkers([DEFAULT_CONFIG, ...OTHER_CONFIGS]);
  const counts: Counts = {};
  for (const cell of main) {
    counts[`${cell.strategy}/${cell.scenario}`] = cell.executions;
  }
  Deno.writeTextFileSync(COUNTS_FILE, JSON.stringify(counts, null, 2) + "\n");
  console.log(`recorded ${Object.keys(counts).length} counts in ${COUNTS_FILE.pathname}`);
  const outcomes: Record<string, Record<string, string>> = {};
  for (const [k, config] of OTHER_CONFIGS.entries()) {
    const cells = others[k];
    outcomes[configName(config)] = Object.fromEntries(
      cells.map((c) => [`${c.strategy}/${c.scenario}`, outcomeRecord(c)]),
    );
  }
  Deno.writeTextFileSync(CONFIG_OUTCOMES_FILE, JSON.stringify(outcomes, null, 2) + "\n");
  console.log(
    `recorded the outcomes under ${OTHER_CONFIGS.map(configName).join(", ")} in ` +
      CONFIG_OUTCOMES_FILE.pathname,
  );
}
