/**
 * `deno task mutate`: mutation testing of the checker. Generates mutants from the
 * locking code (`mutate/generate.ts`: dropped locks, removed or inverted checks,
 * immediate frees, ...), runs the whole verdict matrix on each in a copy of the
 * repository (`mutate/run.ts`), and reports the mutation score (killed / valid
 * mutants) with every survivor: a mutant no strategy × scenario pair notices is either
 * equivalent or a gap in the scenarios or the checks, and each one is worth a look.
 *
 * Why: the matrix says "safe" for the designs that are; that is only worth as much as
 * the scenarios and checks behind it. A checker that still says "safe" with
 * `spin_lock()` gone has not been shown to check anything.
 *
 * Flags are read with `node:util` `parseArgs`; progress goes to stderr, the report to
 * stdout. Exit status: 0 when every valid mutant is killed, 1 when some survive, 2 for
 * bad usage, 3 when the run itself fails (the unmutated matrix does not run).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CATEGORIES, type Category, generate, isMutated, type Mutant } from "./generate.ts";
import { cleanUp, type MutantResult, runMutants, type RunReport, snapshot, textOf } from "./run.ts";

const USAGE = `Usage: deno task mutate [flags]

Generates mutants of strategies/*.ts and mm/*.ts (one change each: a lock call
dropped, a check removed or inverted, a deferred free made immediate, ...), runs
the whole matrix on each in a temporary copy of the repository, and prints the
mutation score (killed / valid mutants) and every surviving mutant.

Flags:
  --list           only list the mutants (id, file:line, category, diff)
  --filter TEXT    only the mutants whose "id file:line category description"
                   contains TEXT (an id such as M12 matches that mutant only);
                   repeat it for several
  --json           print the report (or, with --list, the mutants) as JSON
  --workers N      mutants run at once, each in its own copy (default 2)
  --timeout S      wall-clock limit of one mutant's matrix run, in seconds
                   (default 600); a mutant that outlasts it is killed by timeout
  -h, --help       this text

Exit status: 0 every valid mutant killed, 1 some survived, 2 bad usage, 3 failure.`;

class UsageError extends Error {}

interface Options {
  readonly list: boolean;
  readonly json: boolean;
  readonly filters: readonly string[];
  readonly workers: number;
  readonly timeoutSeconds: number;
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0)) {
    throw new UsageError(`--${name} must be a number above 0, not "${text}"`);
  }
  return n;
}

function parse(args: readonly string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        list: { type: "boolean" },
        json: { type: "boolean" },
        filter: { type: "string", multiple: true },
        workers: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  if (v.help) return "help";
  return {
    list: v.list === true,
    json: v.json === true,
    filters: v.filter ?? [],
    workers: Math.floor(positive("workers", v.workers, 2)),
    timeoutSeconds: positive("timeout", v.timeout, 600),
  };
}

/** Whether `mutant` is selected by `filters` (all when there are none). */
export function selected(mutant: Mutant, filters: readonly string[]): boolean {
  if (!filters.length) return true;
  const text =
    `${mutant.id} ${mutant.file}:${mutant.line} ${mutant.category} ${mutant.description}`;
  return filters.some((f) => /^M\d+$/.test(f) ? mutant.id === f : text.includes(f));
}

/** `M12 strategies/per_vma_lock.ts:212 lock-dropped: drop rcu_read_lock(k)`. */
function headline(m: Mutant): string {
  return `${m.id} ${m.file}:${m.line} ${m.category}: ${m.description}`;
}

function diffBlock(m: Mutant, indent = "    "): string[] {
  return [
    ...m.diff.map((l) => indent + l),
    ...(m.imports.length ? [`${indent}(and imports ${m.imports.join(", ")})`] : []),
  ];
}

function countsByCategory(mutants: readonly Mutant[]): Record<Category, number> {
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const m of mutants) counts[m.category]++;
  return counts;
}

function formatList(mutants: readonly Mutant[]): string {
  const lines: string[] = [];
  for (const m of mutants) lines.push(headline(m), ...diffBlock(m));
  const counts = countsByCategory(mutants);
  lines.push("", `${mutants.length} mutants:`);
  for (const c of CATEGORIES) lines.push(`  ${c.padEnd(24)} ${String(counts[c]).padStart(4)}`);
  return lines.join("\n") + "\n";
}

function duration(millis: number): string {
  const s = Math.round(millis / 1000);
  return s < 60 ? `${(millis / 1000).toFixed(1)} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The score and the counts of a run. */
export function summary(results: readonly MutantResult[]) {
  const count = (s: MutantResult["status"]) => results.filter((r) => r.status === s).length;
  const killed = count("killed") + count("timeout");
  const survived = count("survived");
  const valid = killed + survived;
  return {
    mutants: results.length,
    valid,
    killed,
    timeouts: count("timeout"),
    survived,
    invalid: count("invalid"),
    score: valid ? killed / valid : 1,
  };
}

function byCategory(results: readonly MutantResult[]) {
  return Object.fromEntries(CATEGORIES.map((c) => {
    const rs = results.filter((r) => r.mutant.category === c);
    const s = summary(rs);
    return [c, {
      mutants: s.mutants,
      killed: s.killed,
      timeouts: s.timeouts,
      survived: s.survived,
      invalid: s.invalid,
    }];
  }));
}

function formatReport(
  report: RunReport,
  files: readonly string[],
  millis: number,
  workers: number,
): string {
  const s = summary(report.results);
  const pct = (s.score * 100).toFixed(1);
  const lines = [
    `mutation score: ${s.killed}/${s.valid} valid mutants killed (${pct}%)` +
    (s.timeouts ? `, ${s.timeouts} of them by timeout` : "") +
    `; ${s.survived} survived; ${s.invalid} invalid (type errors, not counted)`,
    `files: ${files.join(", ")}`,
    "",
    `${"category".padEnd(24)} mutants  killed  survived  invalid`,
  ];
  for (const [c, n] of Object.entries(byCategory(report.results))) {
    if (!n.mutants) continue;
    lines.push(
      `${c.padEnd(24)} ${String(n.mutants).padStart(7)} ${String(n.killed).padStart(7)} ` +
        `${String(n.survived).padStart(9)} ${String(n.invalid).padStart(8)}`,
    );
  }
  const survivors = report.results.filter((r) => r.status === "survived");
  lines.push("", survivors.length ? `survivors (${survivors.length}):` : "no survivors.");
  for (const r of survivors) {
    lines.push(`  ${headline(r.mutant)}`, ...diffBlock(r.mutant, "      "));
  }
  const invalid = report.results.filter((r) => r.status === "invalid");
  if (invalid.length) {
    lines.push("", `invalid (${invalid.length}):`);
    for (const r of invalid) lines.push(`  ${headline(r.mutant)}`, `      ${r.reason}`);
  }
  const timeouts = report.results.filter((r) => r.status === "timeout");
  if (timeouts.length) {
    lines.push("", `killed by timeout (${timeouts.length}):`);
    for (const r of timeouts) lines.push(`  ${headline(r.mutant)}`);
  }
  lines.push(
    "",
    `run time: ${duration(millis)} (${s.mutants} mutants, ${workers} at a time; ` +
      `unmutated matrix ${duration(report.baselineMillis)})`,
  );
  return lines.join("\n") + "\n";
}

/** The mutated files of the tree at `root`, read as they are (for `--list`). */
async function readSources(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const dir of ["strategies", "mm"]) {
    for await (const e of Deno.readDir(`${root}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isFile && isMutated(path)) files.set(path, await Deno.readTextFile(`${root}/${path}`));
    }
  }
  return files;
}

/** Runs the command; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = parse(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`mutate: ${e.message}\nRun 'deno task mutate --help' for usage.`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  const started = performance.now();

  if (options.list) {
    const mutants = generate(await readSources(root)).filter((m) => selected(m, options.filters));
    console.log(
      options.json
        ? JSON.stringify(
          { mutants: mutants.length, byCategory: countsByCategory(mutants), list: mutants },
          null,
          2,
        )
        : formatList(mutants).trimEnd(),
    );
    return 0;
  }

  const files = await snapshot(root);
  const sources = new Map(
    [...files.keys()].filter(isMutated).map((p) => [p, textOf(files, p)] as const),
  );
  const mutants = generate(sources).filter((m) => selected(m, options.filters));
  if (!mutants.length) {
    console.error("mutate: no mutant matches the filter");
    return 2;
  }
  const covered = [...new Set(mutants.map((m) => m.file))].sort();
  console.error(
    `mutate: ${mutants.length} mutants of ${covered.length} files; ` +
      `${options.workers} at a time, ${options.timeoutSeconds} s each at most`,
  );
  const onSignal = () => {
    cleanUp().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  let done = 0;
  let report: RunReport;
  try {
    report = await runMutants({
      files,
      mutants,
      workers: options.workers,
      timeoutSeconds: options.timeoutSeconds,
      onBaseline: (outcomes, millis) =>
        console.error(`mutate: unmutated matrix: ${outcomes.size} pairs in ${duration(millis)}`),
      onResult: (_, r) => {
        done++;
        const what = r.status === "survived" ? "SURVIVED" : r.status;
        console.error(
          `[${done}/${mutants.length}] ${what.padEnd(8)} ${headline(r.mutant)} ` +
            `(${duration(r.millis)})${r.status === "survived" ? "" : `: ${r.reason}`}`,
        );
      },
    });
  } catch (e) {
    console.error(`mutate: ${e instanceof Error ? e.message : String(e)}`);
    return 3;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await cleanUp();
  }
  const millis = performance.now() - started;
  const s = summary(report.results);
  if (options.json) {
    console.log(JSON.stringify(
      {
        ...s,
        files: covered,
        filters: options.filters,
        workers: options.workers,
        timeoutSeconds: options.timeoutSeconds,
        millis: Math.round(millis),
        baselineMillis: Math.round(report.baselineMillis),
        byCategory: byCategory(report.results),
        results: report.results.map((r) => ({
          ...r.mutant,
          status: r.status,
          reason: r.reason,
          differences: r.differences,
          millis: Math.round(r.millis),
        })),
      },
      null,
      2,
    ));
  } else {
    console.log(formatReport(report, covered, millis, options.workers).trimEnd());
  }
  return s.survived ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
