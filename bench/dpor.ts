/**
 * How well the exhaustive search reduces, and how fast it runs:
 *
 * 1. the classic DPOR families ({@link ./families.ts}) for growing N: the number of
 *    traces (closed form where one is known, and counted independently by plain DFS
 *    plus {@linkcode canonicalTrace} where plain DFS fits in its budget), Optimal-DPOR's
 *    executions, sleep-set-blocked executions, their ratio to traces, executions per
 *    second, and the heap after the search;
 * 2. the verdict matrix, pair by pair, and its largest pairs;
 * 3. N faults on distinct pages of one fresh VMA, each on its own CPU, racing one
 *    munmap() of it (every fault must allocate the P4D, PUD, PMD and PTE tables), under
 *    `mmap-lock` and `rcu-gfp-nowait`, step by step and with page_table_lock's one-step
 *    critical sections as one step (`Granularity.sections`), with a time budget per N
 *    (`--seconds`, default 300): how far each N gets;
 * 4. the stateful search ({@link ../explore/stateful.ts}) on every pair of the matrix,
 *    against Optimal-DPOR (the same violation kinds, both exhaustive), and on the N
 *    faults: states, executions, time;
 * 5. the largest scenario of fork (`fork-vs-write-fault-stale-tlb`, three CPUs) under
 *    every strategy: executions, time, exhaustive or not, outcome;
 * 6. the same for the largest scenario of mremap(), munmap() of part of a VMA and
 *    MADV_DONTNEED (`store-vs-mremap`), and the three-CPU MADV_DONTNEED one.
 *
 *     deno task bench                 # all six
 *     deno task bench --seconds 60    # quicker third and fourth parts
 *     deno task bench --part stateful # one part (families, matrix, faults, stateful, fork,
 *                                     # operations)
 *
 * Numbers go in the README; no test depends on time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { canonicalTrace } from "../explore/canonical.ts";
import { dfs } from "../explore/dfs.ts";
import { optimalDpor } from "../explore/optimal.ts";
import {
  check,
  type CheckResult,
  type Scenario,
  scenarios,
  strategies,
  strategyNamed,
} from "../mod.ts";
import { families } from "./families.ts";

const PARTS = ["families", "matrix", "faults", "stateful", "fork", "operations"];
const USAGE = `Usage: deno run --allow-read bench/dpor.ts [--part ${PARTS.join(",")}] [--seconds S]
  --part     the parts to run, comma-separated (default: all)
  --seconds  the time limit of each search that may not end (default 300)`;

/** The options, or a usage error naming what is wrong (exit status 2). */
function options(): { seconds: number; parts: string[] } {
  try {
    const { values } = parseArgs({
      options: { seconds: { type: "string", default: "300" }, part: { type: "string" } },
    });
    const seconds = Number(values.seconds);
    if (!(seconds > 0)) {
      throw new Error(`--seconds must be a number above 0, not "${values.seconds}"`);
    }
    const parts = values.part ? values.part.split(",") : PARTS;
    const unknown = parts.filter((p) => !PARTS.includes(p));
    if (unknown.length) throw new Error(`unknown part ${unknown.map((p) => `"${p}"`).join(", ")}`);
    return { seconds, parts };
  } catch (e) {
    console.error(`bench/dpor.ts: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    Deno.exit(2);
  }
}
const { seconds, parts } = options();

/** Plain DFS counts traces only up to this many interleavings. */
const DFS_BUDGET = 20_000;

const fmt = (n: number) => n.toLocaleString("en-US");
const mib = () => `${Math.round(Deno.memoryUsage().heapUsed / 2 ** 20)} MiB`;

function table(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const r of cells.slice(1)) console.log(line(r));
  console.log();
}

if (parts.includes("families")) {
  console.log("## DPOR families\n");
  const rows: (string | number)[][] = [];
  for (const family of families) {
    for (const n of family.sizes) {
      const stats = { blocked: 0, unrunnable: 0, races: 0 };
      let executions = 0;
      const start = performance.now();
      optimalDpor(family.program(n), { maxSteps: 10_000 }, (run) => {
        if (run.ending.kind !== "pruned") executions++;
        return true;
      }, stats);
      const millis = performance.now() - start;
      const heap = mib();
      const seen = new Set<string>();
      let interleavings = 0;
      dfs(family.program(n), { maxSteps: 10_000 }, (run) => {
        seen.add(canonicalTrace(run.exec));
        return ++interleavings < DFS_BUDGET;
      });
      const counted = interleavings < DFS_BUDGET ? fmt(seen.size) : "—";
      const closed = family.traces?.(n);
      const traces = closed ?? (interleavings < DFS_BUDGET ? seen.size : undefined);
      rows.push([
        family.name,
        n,
        closed === undefined ? "—" : fmt(closed),
        counted,
        interleavings < DFS_BUDGET ? fmt(interleavings) : `≥ ${fmt(DFS_BUDGET)}`,
        fmt(executions),
        stats.blocked,
        traces === undefined ? "—" : (executions / traces).toFixed(2),
        fmt(Math.round(executions / (millis / 1000))),
        heap,
      ]);
    }
  }
  table([
    "family",
    "N",
    "traces (closed form)",
    "traces (plain DFS)",
    "interleavings",
    "DPOR executions",
    "blocked",
    "executions / trace",
    "executions/s",
    "heap",
  ], rows);
}

if (parts.includes("matrix")) {
  console.log("## The verdict matrix\n");
  const cells: { name: string; executions: number; millis: number; outcome: string }[] = [];
  const start = performance.now();
  for (const strategy of strategies) {
    for (const scenario of scenarios) {
      const t = performance.now();
      const r = check(strategy, scenario);
      cells.push({
        name: `\`${strategy.name}\` × \`${scenario.name}\``,
        executions: r.result.executions,
        millis: performance.now() - t,
        outcome: r.outcome,
      });
    }
  }
  const millis = performance.now() - start;
  const total = cells.reduce((n, c) => n + c.executions, 0);
  console.log(
    `${cells.length} pairs, ${fmt(total)} executions, ${(millis / 1000).toFixed(1)} s, ` +
      `${fmt(Math.round(total / (millis / 1000)))} executions/s, heap ${mib()}\n`,
  );
  table(
    ["largest pairs", "executions", "time", "outcome"],
    cells.sort((a, b) => b.executions - a.executions).slice(0, 5).map((c) => [
      c.name,
      fmt(c.executions),
      `${(c.millis / 1000).toFixed(2)} s`,
      c.outcome,
    ]),
  );
}

/** N faults on distinct pages of a fresh VMA, one per CPU, and a munmap() of it. */
export function faultsVsMunmap(n: number): Scenario {
  const start = 0x40000000;
  const end = start + n * 0x1000;
  return {
    name: `${n}-faults-vs-munmap`,
    question: `Can ${n} faults that each build the page tables race with munmap()?`,
    vmas: [[start, end]],
    prefault: [],
    cpus: [
      ...Array.from({ length: n }, (_, i) => [{ op: "fault" as const, addr: start + i * 0x1000 }]),
      [{ op: "munmap" as const, start, end }],
    ],
    bounds: { allocFailures: 0 },
    layout: "nothing is mapped before: every fault allocates P4D, PUD, PMD and PTE tables",
  };
}

if (parts.includes("faults")) {
  console.log(`## N faults vs munmap, ${seconds} s per N\n`);
  const rows: (string | number)[][] = [];
  for (const name of ["mmap-lock", "rcu-gfp-nowait"]) {
    for (const sections of [false, true]) {
      for (let n = 1;; n++) {
        const began = performance.now();
        const r = check(strategyNamed(name), faultsVsMunmap(n), {
          granularity: { sections },
          progressEvery: 200,
          onProgress: () => performance.now() - began < seconds * 1000,
        });
        const millis = performance.now() - began;
        rows.push([
          `\`${name}\``,
          sections ? "one-step sections" : "every step",
          n,
          r.result.exhaustive ? "yes" : "no (time)",
          fmt(r.result.executions),
          `${(millis / 1000).toFixed(1)} s`,
          r.outcome,
        ]);
        if (!r.result.exhaustive) break;
      }
    }
  }
  table(["strategy", "granularity", "N", "exhaustive", "executions", "time", "outcome"], rows);
}

if (parts.includes("stateful")) {
  console.log("## The stateful search\n");
  const kinds = (r: CheckResult) => Object.keys(r.result.violations).sort().join(", ") || "none";
  const rows: (string | number)[][] = [];
  let disagreements = 0;
  for (const strategy of strategies) {
    for (const scenario of scenarios) {
      const dpor = check(strategy, scenario);
      const began = performance.now();
      const full = check(strategy, scenario, { mode: "stateful" });
      const millis = performance.now() - began;
      const same = kinds(dpor) === kinds(full) && dpor.result.exhaustive && full.result.exhaustive;
      if (!same) disagreements++;
      rows.push([
        `\`${strategy.name}\` × \`${scenario.name}\``,
        fmt(dpor.result.executions),
        fmt(full.result.states ?? 0),
        fmt(full.result.executions + full.result.pruned),
        `${(millis / 1000).toFixed(2)} s`,
        same ? kinds(full) : `DIFFERS: ${kinds(dpor)} / ${kinds(full)}`,
      ]);
    }
  }
  console.log(
    `${rows.length} pairs, ${disagreements} where the two searches disagree on the ` +
      `violation kinds or on being exhaustive\n`,
  );
  table(
    [
      "pair",
      "DPOR executions",
      "states",
      "stateful executions (incl. pruned)",
      "time",
      "violation kinds",
    ],
    rows.sort((a, b) =>
      Number(String(b[2]).replaceAll(",", "")) - Number(String(a[2]).replaceAll(",", ""))
    ).slice(0, 8),
  );
  const faults: (string | number)[][] = [];
  for (const name of ["mmap-lock", "rcu-gfp-nowait"]) {
    for (let n = 1;; n++) {
      const began = performance.now();
      const r = check(strategyNamed(name), faultsVsMunmap(n), {
        mode: "stateful",
        progressEvery: 200,
        onProgress: () => performance.now() - began < seconds * 1000,
      });
      faults.push([
        `\`${name}\``,
        n,
        r.result.exhaustive ? "yes" : "no (time)",
        fmt(r.result.states ?? 0),
        fmt(r.result.executions + r.result.pruned),
        `${((performance.now() - began) / 1000).toFixed(1)} s`,
        r.outcome,
      ]);
      if (!r.result.exhaustive) break;
    }
  }
  table(
    ["strategy", "N", "exhaustive", "states", "executions (incl. pruned)", "time", "outcome"],
    faults,
  );
}

/** Every strategy on `scenario`: executions, time, exhaustive or not, outcome. */
function everyStrategyOn(scenario: string): void {
  console.log(`## \`${scenario}\`, every strategy\n`);
  const rows: (string | number)[][] = [];
  for (const strategy of strategies) {
    const t = performance.now();
    const r = check(strategy, scenario);
    rows.push([
      `\`${strategy.name}\``,
      fmt(r.result.executions),
      `${((performance.now() - t) / 1000).toFixed(2)} s`,
      r.result.exhaustive ? "yes" : "no",
      r.outcome,
    ]);
  }
  table(["strategy", "executions", "time", "exhaustive", "outcome"], rows);
  console.log(`heap ${mib()}`);
}

if (parts.includes("fork")) everyStrategyOn("fork-vs-write-fault-stale-tlb");
if (parts.includes("operations")) {
  // The largest of the mremap(), split and MADV_DONTNEED scenarios (by executions, the
  // most any strategy takes on it), and the three-CPU one.
  everyStrategyOn("store-vs-mremap");
  everyStrategyOn("dontneed-vs-write-fault-stale-tlb");
}
