/**
 * `matrix`: every strategy × scenario pair, as a table (rows strategies, columns
 * scenarios, a `!` where the outcome differs from what the strategy declares) with a
 * summary line and the replay token of every counterexample, or as JSON.
 *
 * @module
 */

import { type MatrixCell, runMatrix } from "../mod.ts";
import {
  type Command,
  command,
  EXIT,
  type Search,
  SEARCH_FLAGS,
  SEARCH_HELP,
  searchOf,
  UsageError,
} from "./args.ts";
import { count, duration, outcomeWord, plural, table } from "./format.ts";
import type { Io } from "./io.ts";
import { PROGRESS_EVERY, ProgressReporter } from "./progress.ts";

const FLAGS = {
  ...SEARCH_FLAGS,
  json: { type: "boolean" },
  traces: { type: "boolean" },
} as const;

const USAGE = `Usage: deno task cli matrix [flags]

Explores every strategy × scenario pair and prints a table: one row per strategy,
one column per scenario, each cell the outcome, the number of executions, and
"exh" if the search was exhaustive ("not exh" if not: never read that as safe).
A "!" marks a cell whose outcome differs from what the strategy declares. Then a
summary line, and the replay token of every counterexample. Progress (the pair, n of
total) goes to stderr.

Flags:
  --json           print the cells as a JSON array on stdout instead
  --traces         with --json: keep each counterexample's trace (left out otherwise)
${SEARCH_HELP}
  -h, --help       this text

Exit status:
  0  every outcome is what the strategies declare
  1  some are not (with --budget or --mode random, any pair whose search is cut
     short where "safe" is declared)
  2  bad usage`;

/** A cell as the table shows it: `store-into-detached-table (427, exh)`, `! safe (3, exh)`. */
export function cellText(cell: MatrixCell): string {
  return `${cell.asExpected ? "" : "! "}${outcomeWord(cell.outcome)} ` +
    `(${count(cell.executions)}, ${cell.exhaustive ? "exh" : "not exh"})`;
}

/** The summary line. */
export function matrixSummary(cells: readonly MatrixCell[], millis: number): string {
  const unexpected = cells.filter((c) => !c.asExpected).length;
  const exhaustive = cells.filter((c) => c.exhaustive).length;
  const executions = cells.reduce((n, c) => n + c.executions, 0);
  return `${plural(cells.length, "pair")}: ${count(cells.length - unexpected)} as expected, ` +
    `${count(unexpected)} unexpected${unexpected ? " (marked !)" : ""}; ` +
    (exhaustive === cells.length
      ? "all exhaustive"
      : `${count(exhaustive)} exhaustive, ${count(cells.length - exhaustive)} not`) +
    `; ${plural(executions, "execution")} in ${duration(millis)}`;
}

/** The table, the cells that differ from their declaration, the tokens, the summary. */
export function formatMatrix(cells: readonly MatrixCell[], millis: number): string {
  const rows = [...new Set(cells.map((c) => c.strategy))];
  const columns = [...new Set(cells.map((c) => c.scenario))];
  const at = new Map(cells.map((c) => [`${c.strategy}\0${c.scenario}`, c]));
  const text = [
    table(
      ["strategy", ...columns],
      rows.map((s) => [
        s,
        ...columns.map((w) => {
          const cell = at.get(`${s}\0${w}`);
          return cell ? cellText(cell) : "";
        }),
      ]),
    ),
  ];
  const unexpected = cells.filter((c) => !c.asExpected);
  if (unexpected.length) {
    text.push("", "! differs from what the strategy declares:");
    for (const c of unexpected) {
      text.push(`  ${c.strategy} × ${c.scenario}: declared ${c.expected}, found ${c.outcome}`);
    }
  }
  const tokens = cells.filter((c) => c.token);
  if (tokens.length) {
    text.push("", "replay tokens (deno task cli replay '<token>'):");
    const width = Math.max(...tokens.map((c) => `${c.strategy} × ${c.scenario}`.length));
    for (const c of tokens) {
      text.push(`  ${`${c.strategy} × ${c.scenario}`.padEnd(width)}  ${c.token}`);
    }
  }
  text.push("", matrixSummary(cells, millis));
  return text.join("\n") + "\n";
}

/** The cells for JSON: without counterexample traces unless `traces`. */
export function matrixJson(cells: readonly MatrixCell[], traces: boolean): unknown[] {
  return cells.map((cell) => {
    if (traces || !cell.counterexample) return cell;
    const { trace: _trace, ...counterexample } = cell.counterexample;
    return { ...cell, counterexample };
  });
}

/** Exit code of a matrix: 0 if every cell is as expected, else 1. */
export function matrixExit(cells: readonly MatrixCell[]): number {
  return cells.every((c) => c.asExpected) ? EXIT.ok : EXIT.unexpected;
}

/** Runs the matrix with progress on stderr; returns the cells and the time it took. */
export function exploreMatrix(
  io: Io,
  search: Search,
): { cells: MatrixCell[]; millis: number } {
  const progress = new ProgressReporter(io);
  const start = io.now();
  const cells = runMatrix({
    ...search.options,
    onPair: (s, w, index, total) => progress.start(`[${index + 1}/${total}] ${s} × ${w}`, true),
    onProgress: progress.update,
    progressEvery: PROGRESS_EVERY,
  });
  progress.done();
  return { cells, millis: io.now() - start };
}

/** `matrix`. */
export const matrixCommand: Command = command({
  name: "matrix",
  summary: "every strategy × scenario pair, as a table or JSON",
  usage: USAGE,
  flags: FLAGS,
  run({ flags }, io) {
    if (flags.traces && !flags.json) throw new UsageError("--traces goes with --json");
    const { cells, millis } = exploreMatrix(io, searchOf(flags));
    io.out(
      flags.json
        ? JSON.stringify(matrixJson(cells, flags.traces === true), null, 2) + "\n"
        : formatMatrix(cells, millis),
    );
    return matrixExit(cells);
  },
});
