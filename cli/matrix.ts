/**
 * `matrix`: every strategy × scenario pair, as a table (rows strategies, columns
 * scenarios, a `!` where the outcome differs from what the strategy declares) with a
 * summary line and the replay token of every counterexample, or as JSON.
 *
 * @module
 */

import {
  configDependence,
  recordedConfigOutcomes,
  recordedCounts,
} from "../site/recorded_counts.ts";
import { DEFAULT_TIME_LIMIT_SECONDS, type MatrixCell, runMatrixInWorkers } from "../mod.ts";
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
import { CLI, count, duration, outcomeWord, plural, replayCommandLine } from "./format.ts";
import type { Io } from "./io.ts";
import { PairsProgress } from "./pairs_progress.ts";
import { PROGRESS_EVERY } from "./progress.ts";
import { TIME_LIMIT_FLAG, TIME_LIMIT_HELP, timeLimitOf } from "./time_limit.ts";

const FLAGS = {
  ...SEARCH_FLAGS,
  ...TIME_LIMIT_FLAG,
  json: { type: "boolean" },
  traces: { type: "boolean" },
} as const;

const USAGE = `Usage: ${CLI} matrix [flags]

Explores every strategy × scenario pair and prints a table that fits 100 columns:
one row per strategy, one column per scenario (in blocks of scenarios, one under
the other, where they do not fit across), each cell the outcome (shortened where
long; a legend follows) and, under it, the number of executions explored.
"safe" is only ever the verdict of an exhaustive search; "not-exh" is a search cut
short that found nothing: never read it as safe. A "!" marks a cell whose outcome
differs from what the strategy declares. Then the command that replays each
counterexample, and a summary line. Progress (the pair, n of total) goes to stderr.

Flags:
  --json           print the cells as a JSON array on stdout instead (every field,
                   the whole outcome, whether each search was exhaustive)
  --traces         with --json: keep each counterexample's trace (left out otherwise)
${SEARCH_HELP}
${TIME_LIMIT_HELP}
  -h, --help       this text

Exit status:
  0  every outcome is what the strategies declare
  1  some are not (with --budget or --mode random, any pair whose search is cut
     short before it finds what is declared)
  2  bad usage`;

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

/** The widest the table may be, so that it reads in a 100-column terminal. */
export const MATRIX_COLUMNS = 100;

/** Outcomes too long for a column, and what the table writes instead (the legend says). */
const SHORT: Readonly<Record<string, string>> = {
  "store-into-detached-table": "detached",
  "use-after-free": "uaf",
  "not-exhaustive": "not-exh",
};

/** The longest outcome the table writes whole when it has no short form. */
const MAX_WORD = 11;

/** An outcome as the table writes it: `safe`, `stale-pte`, `detached`, `uaf`, … */
export function shortOutcome(outcome: string): string {
  const word = outcomeWord(outcome);
  return SHORT[word] ?? (word.length <= MAX_WORD ? word : word.slice(0, MAX_WORD - 1) + "…");
}

/**
 * A cell as the table shows it, in two lines: the outcome (`! ` first where it differs
 * from the declaration), then the executions explored, `(427)`. Whether the search was
 * exhaustive needs no mark: "safe" is only ever the verdict of an exhaustive search,
 * "not-exh" is the outcome of one cut short, and a violation is real either way.
 */
export function cellLines(cell: MatrixCell, recorded: RecordedCounts = {}): [string, string] {
  const was = recorded[`${cell.strategy}/${cell.scenario}`];
  return [
    `${cell.asExpected ? "" : "! "}${shortOutcome(cell.outcome)}`,
    `(${count(cell.executions)}${was !== undefined && was !== cell.executions ? "*" : ""})`,
  ];
}

/** `strategy/scenario` → executions, as `deno task bless` records them. */
export type RecordedCounts = Readonly<Record<string, number>>;

/**
 * The recorded counts to compare a matrix with: only the default search's, since the
 * counts are recorded for an exhaustive Optimal-DPOR search with no budget.
 */
export function recordedFor(search: Search): RecordedCounts {
  return search.mode === "exhaustive" && search.budget === undefined ? recordedCounts() : {};
}

/**
 * The outcomes recorded under the other kernel configurations, to show where a verdict
 * depends on the configuration: for the default search only, as {@linkcode recordedFor}.
 */
export function recordedOutcomesFor(search: Search): RecordedOutcomes {
  return search.mode === "exhaustive" && search.budget === undefined
    ? recordedConfigOutcomes()
    : {};
}

/** Configuration → `strategy/scenario` → `"<outcome> (<executions>)"`. */
export type RecordedOutcomes = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * What a pull request did to the search, pair by pair: counts that moved since they were
 * recorded, and pairs that are new. A reviewer sees its effect at a glance.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { movedCounts } from "./matrix.ts";
 * const cell = { strategy: "s", scenario: "w", executions: 127 };
 * assert.deepEqual(movedCounts([cell], { "s/w": 427 }), ["s × w: 427 → 127"]);
 * assert.deepEqual(movedCounts([cell], { "s/x": 1 }), ["s × w: new pair, 127"]);
 * ```
 */
export function movedCounts(
  cells: readonly Pick<MatrixCell, "strategy" | "scenario" | "executions">[],
  recorded: RecordedCounts,
): string[] {
  if (Object.keys(recorded).length === 0) return [];
  const out: string[] = [];
  for (const c of cells) {
    const was = recorded[`${c.strategy}/${c.scenario}`];
    const pair = `${c.strategy} × ${c.scenario}`;
    if (was === undefined) out.push(`${pair}: new pair, ${count(c.executions)}`);
    else if (was !== c.executions) out.push(`${pair}: ${count(was)} → ${count(c.executions)}`);
  }
  return out;
}

/** `name` in lines of at most `width`, broken after its hyphens (a longer piece stays whole). */
function wrapName(name: string, width: number): string[] {
  const lines: string[] = [];
  for (const piece of name.split(/(?<=-)/)) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + piece.length <= width) lines[last] += piece;
    else lines.push(piece);
  }
  return lines;
}

/** Words filled into lines of at most `width` (after `indent`). */
function fill(words: readonly string[], width: number, indent = ""): string[] {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(indent + word);
  }
  return lines;
}

/** Column indices 0 to `n` - 1 cut into `parts` consecutive runs, as even in count as can be. */
function split(n: number, parts: number): number[][] {
  return Array.from({ length: parts }, (_, p) => {
    const [from, to] = [Math.round((p * n) / parts), Math.round(((p + 1) * n) / parts)];
    return Array.from({ length: to - from }, (_, i) => from + i);
  });
}

/**
 * The grid: a row of two lines per strategy, a column per scenario, headers wrapped
 * after their hyphens. The strategy names are written whole where that fits
 * {@linkcode MATRIX_COLUMNS}, else each over its row's two lines (broken after a
 * hyphen). Where the scenarios do not fit across even so, the grid is cut into blocks
 * of consecutive scenarios, one under the other, as few and as even as fit, each with
 * the strategy names whole.
 */
function grid(
  rows: readonly string[],
  columns: readonly string[],
  at: (s: string, w: string) => MatrixCell | undefined,
  linesOf: (c: MatrixCell) => [string, string],
): string[] {
  const cells = rows.map((s) =>
    columns.map((w) => {
      const c = at(s, w);
      return c ? linesOf(c) : ["", ""];
    })
  );
  const widths = columns.map((w, j) =>
    Math.max(
      9,
      ...w.split(/(?<=-)/).map((p) => p.length),
      ...cells.flatMap((row) => row[j].map((l) => l.length)),
    )
  );
  const across = (block: readonly number[]) => block.reduce((n, j) => n + 3 + widths[j], 0);
  const rest = across(columns.map((_, j) => j));
  const whole = Math.max("strategy".length, ...rows.map((s) => s.length));
  let first = whole;
  let blocks = [columns.map((_, j) => j)];
  if (first + rest > MATRIX_COLUMNS) {
    // The narrowest first column in which every name takes at most two lines.
    first = Math.max(
      "strategy".length,
      ...rows.flatMap((s) => s.split(/(?<=-)/).map((p) => p.length)),
    );
    while (first < whole && rows.some((s) => wrapName(s, first).length > 2)) first++;
    if (first + rest <= MATRIX_COLUMNS) {
      // Then as wide as the room left allows: the names that fit it stay whole.
      first = Math.max(first, Math.min(whole, MATRIX_COLUMNS - rest));
    } else {
      first = whole;
      let parts = 2;
      while (
        parts < columns.length &&
        split(columns.length, parts).some((b) => first + across(b) > MATRIX_COLUMNS)
      ) parts++;
      blocks = split(columns.length, parts);
    }
  }
  const names = rows.map((s) => wrapName(s, first));
  const heads = columns.map((w, j) => wrapName(w, widths[j]));
  return blocks.flatMap((block, b) => {
    const line = (left: string, values: readonly string[]) =>
      [left.padEnd(first), ...values.map((v, i) => v.padEnd(widths[block[i]]))].join(" | ")
        .trimEnd();
    const height = Math.max(...block.map((j) => heads[j].length));
    const out: string[] = b ? [""] : [];
    for (let k = 0; k < height; k++) {
      out.push(line(k === 0 ? "strategy" : "", block.map((j) => heads[j][k] ?? "")));
    }
    out.push([first, ...block.map((j) => widths[j])].map((n) => "-".repeat(n)).join("-+-"));
    rows.forEach((_, i) => {
      const height = Math.max(2, names[i].length);
      for (let k = 0; k < height; k++) {
        out.push(line(names[i][k] ?? "", block.map((j) => cells[i][j][k] ?? "")));
      }
    });
    return out;
  });
}

/** `line` broken after a `; ` where it is wider than {@linkcode MATRIX_COLUMNS}. */
function clauses(line: string): string[] {
  const out: string[] = [];
  for (const part of line.split(/(?<=; )/)) {
    const last = out.length - 1;
    if (last >= 0 && (out[last] + part).trimEnd().length <= MATRIX_COLUMNS) out[last] += part;
    else out.push(part);
  }
  return out.map((l) => l.trimEnd());
}

/** `head` and the `items`, comma-separated, in lines of at most MATRIX_COLUMNS, indented. */
function wrapped(head: string, items: readonly string[]): string[] {
  const lines = [`    ${head}`];
  items.forEach((item, i) => {
    const piece = `${item}${i < items.length - 1 ? "," : ""}`;
    const last = lines.length - 1;
    if (lines[last].endsWith(" ") || (lines[last] + " " + piece).length > MATRIX_COLUMNS) {
      if (lines[last].endsWith(" ")) lines[last] += piece;
      else lines.push(`      ${piece}`);
    } else lines[last] += ` ${piece}`;
  });
  return lines;
}

/** What the table's short words and marks stand for: only those it uses. */
function legend(cells: readonly MatrixCell[]): string[] {
  const words = [
    'Each cell: the outcome, then how many executions were explored ("safe" only ever',
    "after an exhaustive search);",
  ].join(" ").split(" ");
  const used = new Set(cells.map((c) => outcomeWord(c.outcome)));
  for (const [word, short] of Object.entries(SHORT)) {
    if (used.has(word)) words.push(`${short} = ${word},`);
  }
  for (const word of used) {
    const short = shortOutcome(`violation:${word}`);
    if (!(word in SHORT) && short !== word) words.push(`${short} = ${word},`);
  }
  if (cells.some((c) => !c.asExpected)) {
    words.push(..."! = differs from what the strategy declares,".split(" "));
  }
  words[words.length - 1] = words[words.length - 1].replace(/[,;]$/, ".");
  return fill(words, 88);
}

/**
 * The table (a grid no wider than {@linkcode MATRIX_COLUMNS}, in blocks of scenarios
 * where they do not fit across), its legend, the cells that differ from their
 * declaration, the commands that replay each counterexample, and the summary.
 */
export function formatMatrix(
  cells: readonly MatrixCell[],
  millis: number,
  recorded: RecordedCounts = {},
  outcomes: RecordedOutcomes = {},
): string {
  const rows = [...new Set(cells.map((c) => c.strategy))];
  const columns = [...new Set(cells.map((c) => c.scenario))];
  const byPair = new Map(cells.map((c) => [`${c.strategy}\0${c.scenario}`, c]));
  const at = (s: string, w: string) => byPair.get(`${s}\0${w}`);
  const linesOf = (c: MatrixCell) => cellLines(c, recorded);
  const text = grid(rows, columns, at, linesOf);
  text.push("", ...legend(cells));
  const unexpected = cells.filter((c) => !c.asExpected);
  if (unexpected.length) {
    text.push("", "! differs from what the strategy declares:");
    for (const c of unexpected) {
      text.push(
        `  ${c.strategy} × ${c.scenario}:`,
        `    declared ${c.expected}, found ${c.outcome}`,
      );
      // An error (a pair stopped at its time limit, model code that threw) says where.
      if (c.verdict === "error" && c.counterexample) text.push(`    ${c.counterexample.message}`);
    }
  }
  const moved = movedCounts(cells, recorded);
  if (moved.length) {
    text.push("", "* executions moved since the recorded counts (tests/explored_counts.json):");
    for (const m of moved) text.push(`  ${m}`);
  }
  const dependent = configDependence(cells.filter((c) => c.exhaustive), outcomes);
  if (dependent.length) {
    text.push(
      "",
      "verdicts that depend on the kernel configuration (this table: tableFree rcu, split",
      "PTE locks; the others as deno task bless recorded them in tests/config_outcomes.json):",
    );
    for (const d of dependent) {
      text.push(`  ${d.strategy} × ${d.scenario}: ${d.outcome} here`);
      for (const e of d.elsewhere) text.push(...wrapped(`${e.outcome} under `, e.configs));
    }
  }
  const tokens = cells.filter((c) => c.token);
  if (tokens.length) {
    text.push("", "replay a counterexample's trace:");
    for (const c of tokens) {
      text.push(`  ${c.strategy} × ${c.scenario}:`, `    ${replayCommandLine(c.token!)}`);
    }
  }
  text.push("", ...clauses(matrixSummary(cells, millis)));
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
export async function exploreMatrix(
  io: Io,
  search: Search,
  timeLimitSeconds = DEFAULT_TIME_LIMIT_SECONDS,
): Promise<{ cells: MatrixCell[]; millis: number }> {
  // Each pair in a worker, as many at once as there are cores: a pair stuck in a loop
  // is stopped at the time limit and shows as an error cell; the rest go on.
  let progress: PairsProgress | undefined;
  const start = io.now();
  const cells = await runMatrixInWorkers({
    ...search.options,
    timeLimitSeconds,
    onPairStart: (index, started, total, pair) => {
      progress ??= new PairsProgress(io, total);
      progress.started(index, started, `${pair.strategy} × ${pair.scenario}`);
    },
    onPairProgress: (index, p) => progress?.update(index, p),
    onPairDone: (index, r) => progress?.finished(index, r.check.result.executions),
    progressEvery: PROGRESS_EVERY,
  });
  progress?.done();
  return { cells, millis: io.now() - start };
}

/** `matrix`. */
export const matrixCommand: Command = command({
  name: "matrix",
  summary: "every strategy × scenario pair, as a table or JSON",
  usage: USAGE,
  flags: FLAGS,
  async run({ flags }, io) {
    if (flags.traces && !flags.json) throw new UsageError("--traces goes with --json");
    const search = searchOf(flags);
    const { cells, millis } = await exploreMatrix(io, search, timeLimitOf(flags["time-limit"]));
    io.out(
      flags.json
        ? JSON.stringify(matrixJson(cells, flags.traces === true), null, 2) + "\n"
        : formatMatrix(cells, millis, recordedFor(search), recordedOutcomesFor(search)),
    );
    return matrixExit(cells);
  },
});
