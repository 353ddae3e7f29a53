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
 *    `mmap-lock` and `rcu-gfp-nowait`, with a time budget per N (`--seconds`, default
 *    300): how far each N gets.
 *
 *     deno task bench                 # all three
 *     deno task bench --seconds 60    # a quicker third part
 *
 * Numbers go in the README; no test depends on time.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { canonicalTrace } from "../explore/canonical.ts";
import { dfs } from "../explore/dfs.ts";
import { optimalDpor } from "../explore/optimal.ts";
import { check, type Scenario, scenarios, strategies, strategyNamed } from "../mod.ts";
import { families } from "./families.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "300" },
    part: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const parts = values.part ? values.part.split(",") : ["families", "matrix", "faults"];

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
    for (let n = 1;; n++) {
      const began = performance.now();
      const r = check(strategyNamed(name), faultsVsMunmap(n), {
        progressEvery: 200,
        onProgress: () => performance.now() - began < seconds * 1000,
      });
      const millis = performance.now() - began;
      rows.push([
        `\`${name}\``,
        n,
        r.result.exhaustive ? "yes" : "no (time)",
        fmt(r.result.executions),
        `${(millis / 1000).toFixed(1)} s`,
        r.outcome,
      ]);
      if (!r.result.exhaustive) break;
    }
  }
  table(["strategy", "N", "exhaustive", "executions", "time", "outcome"], rows);
}
