/**
 * The command line, run as a user runs it (`deno run -A main.ts ...` in a subprocess):
 * exit codes, errors for bad arguments, explore's verdict and token, replay of that
 * token, the matrix as JSON and as a table, the listing; and, in-process, progress on
 * a terminal and off it, and the main job with a stand-in site builder.
 */

import assert from "node:assert/strict";
import { resolve } from "node:path";
import {
  check,
  DEFAULT_CONFIG,
  type MatrixCell,
  mmap_read_lock,
  type Replayed,
  replayToken,
  scenarios,
  strategies,
  type Strategy,
  strategyNamed,
  vma_lookup,
} from "../mod.ts";
import { EXIT, main, memoryIo } from "../cli/mod.ts";
import { searchOf } from "../cli/args.ts";
import { formatCheck } from "../cli/explore.ts";
import { outcomeWord } from "../cli/format.ts";
import { cellLines, formatMatrix, MATRIX_COLUMNS, shortOutcome } from "../cli/matrix.ts";
import { ProgressReporter } from "../cli/progress.ts";
import { replayAsExpected } from "../cli/replay.ts";
import { runStart } from "../cli/start.ts";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main.ts` with `args` in a subprocess. */
async function cli(...args: string[]): Promise<Ran> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** The trace table and what follows it (the violation, the objects), as printed. */
function traceBlock(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^ +step \| /.test(l));
  assert.ok(start >= 0, `no trace table in:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("replay token:"));
  return lines.slice(start, end < 0 ? undefined : end).join("\n").trimEnd();
}

const TOKEN = /^replay token: (faultline1:\S+)$/m;
/** Michel's race, as the README replays it. */
const MICHEL = "faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0";
const PAIRS = strategies.length * scenarios.length;

Deno.test("help: every command has --help, exit 0, and the exit codes are documented", async (t) => {
  await t.step("top level", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(...args);
      assert.equal(r.code, EXIT.ok, args.join(" "));
      assert.match(r.stdout, /^Usage: \.\/faultline \[COMMAND\]/m);
      for (const name of ["explore", "replay", "matrix", "list", "help"]) {
        assert.match(r.stdout, new RegExp(`^  ${name} `, "m"), `${name} listed`);
      }
      assert.match(r.stdout, /^ {2}2 {2}bad usage/m);
      assert.equal(r.stderr, "");
    }
  });
  for (const name of ["explore", "replay", "matrix", "list"]) {
    await t.step(name, async () => {
      const [flag, viaHelp] = await Promise.all([cli(name, "--help"), cli("help", name)]);
      for (const r of [flag, viaHelp]) {
        assert.equal(r.code, EXIT.ok);
        assert.match(r.stdout, new RegExp(`^Usage: \\./faultline ${name}\\b`, "m"));
        assert.match(r.stdout, /Exit status/);
      }
      assert.equal(flag.stdout, viaHelp.stdout);
    });
  }
  await t.step("explore's help says a cut-short search is never safe", async () => {
    const r = await cli("explore", "-h");
    assert.match(r.stdout, /"not-exhaustive", never "safe"/);
  });
});

Deno.test("bad usage: exit 2, nothing on stdout, and the error says what is wrong", async (t) => {
  const pair = ["--strategy", "mmap-lock", "--scenario", "fault-vs-munmap"];
  const cases: [string, string[], RegExp][] = [
    ["unknown command", ["explor"], /unknown command "explor"; did you mean "explore"\?/],
    [
      "unknown strategy",
      ["explore", "--strategy", "rcu-gfp-nowiat", "--scenario", "fault-vs-munmap"],
      /unknown strategy "rcu-gfp-nowiat"; did you mean "rcu-gfp-nowait"\?/,
    ],
    [
      "unknown scenario",
      ["explore", "--strategy", "mmap-lock", "--scenario", "fault-vs-munmapp"],
      /unknown scenario "fault-vs-munmapp"; did you mean "fault-vs-munmap/,
    ],
    ["unknown flag", ["explore", ...pair, "--bogus"], /unknown flag --bogus/],
    ["unknown flag, matrix", ["matrix", "--jsno"], /unknown flag --jsno; did you mean --json\?/],
    ["unknown flag, main job", ["--bogus"], /unknown flag --bogus/],
    ["missing strategy", ["explore", "--scenario", "fault-vs-munmap"], /--strategy is required/],
    ["flag without value", ["explore", ...pair, "--budget"], /--budget needs a value/],
    ["zero budget", ["explore", ...pair, "--budget", "0"], /--budget must be a positive integer/],
    ["word budget", ["explore", ...pair, "--budget", "ten"], /--budget must be a positive integer/],
    [
      "negative budget",
      ["explore", ...pair, "--budget", "-5"],
      /--budget must be a positive integer, not "-5"/,
    ],
    ["negative seed", ["explore", ...pair, "--mode", "random", "--seed", "-1"], /0 or more/],
    ["narrow width", ["explore", ...pair, "--width", "10"], /--width must be .* at least 40/],
    ["unknown mode", ["explore", ...pair, "--mode", "randm"], /did you mean "random"\?/],
    ["seed without random", ["explore", ...pair, "--seed", "3"], /--seed applies to --mode random/],
    ["repeated flag", ["explore", ...pair, "--strategy", "x"], /--strategy given twice/],
    ["boolean with value", ["matrix", "--json=yes"], /--json takes no value/],
    ["traces without json", ["matrix", "--traces"], /--traces goes with --json/],
    ["stray argument", ["list", "extra"], /unexpected argument "extra"/],
    ["unknown help topic", ["help", "nope"], /unknown command "nope"/],
    ["no token", ["replay"], /a replay token is required/],
    ["malformed token", ["replay", "faultline1:mmap-lock"], /bad replay token/],
    [
      "token naming an unknown strategy",
      ["replay", "faultline1:mmap-lok:fault-vs-munmap:0"],
      /unknown strategy "mmap-lok"; did you mean "mmap-lock"\?/,
    ],
    ["bad schedule", ["replay", "faultline1:mmap-lock:fault-vs-munmap:0x"], /bad schedule part/],
    [
      "junk after the schedule",
      ["replay", `${MICHEL}junk`],
      /bad schedule part "0junk"[^]*\n {2}faultline1:\S+\n {53}\^{5} not a decision/,
    ],
    [
      "decisions after the run's end",
      ["replay", `${MICHEL}.1.0.1`],
      /the run ends after 32 steps, but the schedule has 35 decisions[^]*\n {55}\^{5} never used/,
    ],
    ["a fifth part", ["replay", `${MICHEL}:junk`], /\^{5} a token has four parts/],
    [
      "schedule that does not fit",
      ["replay", "faultline1:mmap-lock:fault-vs-munmap:7"],
      /bad replay token: schedule diverged at step 1/,
    ],
  ];
  const results = await Promise.all(cases.map(([, args]) => cli(...args)));
  for (const [i, [what, args, error]] of cases.entries()) {
    await t.step(`${what}: ${args.join(" ")}`, () => {
      const r = results[i];
      assert.equal(r.code, EXIT.usage, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, error);
      assert.match(r.stderr, /Run '\.\/faultline .*--help' for usage/);
    });
  }
});

Deno.test("explore finds Michel's race; replay of its token prints the same trace", async (t) => {
  const explored = await cli(
    "explore",
    "--strategy",
    "rcu-gfp-nowait",
    "--scenario",
    "fault-vs-munmap",
  );
  const token = TOKEN.exec(explored.stdout)?.[1];

  await t.step("explore: exit 0 (the violation is the declared one), exhaustive", () => {
    assert.equal(explored.code, EXIT.ok, explored.stderr);
    assert.match(explored.stdout, /^verdict: +violation: store-into-detached-table$/m);
    assert.match(explored.stdout, /^ +exhaustive: every schedule that matters was explored$/m);
    assert.match(explored.stdout, /^declared: violation:store-into-detached-table, as found$/m);
    assert.match(explored.stdout, /^>> +\d+ \| pud_populate /m);
    assert.ok(token?.startsWith("faultline1:rcu-gfp-nowait:fault-vs-munmap:"), "a token");
    assert.ok(
      explored.stdout.includes(`replay it:    ./faultline replay '${token}'`),
      "the command that replays it",
    );
  });

  await t.step("replay: the same table, the same objects", async () => {
    const replayed = await cli("replay", token!);
    assert.equal(replayed.code, EXIT.ok, replayed.stderr);
    assert.equal(traceBlock(replayed.stdout), traceBlock(explored.stdout));
    assert.match(replayed.stdout, /^ending: +store-into-detached-table at step \d+/m);
    assert.ok(
      replayed.stdout.includes("  PUD@0x0:\n    allocated by setup\n    unlinked by CPU1"),
      "the PUD's history",
    );
  });

  await t.step("replay --json: the trace the library replays", async () => {
    const replayed = await cli("replay", "--json", token!);
    assert.equal(replayed.code, EXIT.ok);
    const json = JSON.parse(replayed.stdout) as Replayed & { outcome: string };
    assert.equal(json.outcome, "violation:store-into-detached-table");
    assert.deepEqual(json.trace, replayToken(token!).trace);
  });
});

Deno.test("explore: a search cut short is never safe, and exits 1 where safe is declared", async (t) => {
  const pair = ["explore", "--strategy", "mmap-lock", "--scenario", "fault-vs-munmap"];
  const [full, cut, cutJson, bounded] = await Promise.all([
    cli(...pair),
    cli(...pair, "--budget", "1"),
    cli(...pair, "--budget", "1", "--json"),
    cli(...pair, "--mode", "bounded", "--preemptions", "0"),
  ]);

  await t.step("exhaustive: safe, exit 0, no token", () => {
    assert.equal(full.code, EXIT.ok);
    assert.match(full.stdout, /^verdict: +safe$/m);
    assert.match(full.stdout, /^ +exhaustive: /m);
    assert.doesNotMatch(full.stdout, /replay token/);
  });

  await t.step("--budget 1: not exhaustive, exit 1", () => {
    assert.equal(cut.code, EXIT.unexpected);
    assert.match(cut.stdout, /^ +not exhaustive: stopped after 1 execution \(--budget 1\)$/m);
    assert.match(cut.stdout, /^verdict: +not-exhaustive: .*does not make it safe$/m);
    assert.doesNotMatch(cut.stdout, /^verdict: +safe/m);
    assert.match(cut.stdout, /^declared: safe, not confirmed: no violation found, but only an/m);
    assert.match(cut.stdout, /^ {10}shows safety \(exit 1\)\. Search exhaustively/m);
    assert.doesNotMatch(cut.stdout, /UNEXPECTED/);
  });

  await t.step("--json says the same", () => {
    assert.equal(cutJson.code, EXIT.unexpected);
    const json = JSON.parse(cutJson.stdout);
    assert.equal(json.outcome, "not-exhaustive");
    assert.equal(json.expected, "safe");
    assert.equal(json.asExpected, false);
    assert.equal(json.exhaustive, false);
    assert.equal(json.executions, 1);
  });

  await t.step("a preemption bound that cuts schedules is not exhaustive either", () => {
    assert.equal(bounded.code, EXIT.unexpected);
    assert.match(bounded.stdout, /the preemption bound 0 cut some schedules/);
  });
});

Deno.test("traces: --width fits the table and never cuts an outcome; off a terminal, whole", async (t) => {
  const [plain, full, narrow] = await Promise.all([
    cli("replay", MICHEL),
    cli("replay", "--width", "full", MICHEL),
    cli("replay", "--width", "80", MICHEL),
  ]);
  const rows = (text: string) =>
    traceBlock(text).split("\n").filter((l) => /^(>>| {2}) +\d+ \| /.test(l));
  // The outcome of each row: what follows the arrow in its one non-empty cell.
  const outcomes = (text: string) =>
    rows(text).map((l) => /→ (.*?)\s*(\||$)/.exec(l.split(" | ").slice(1).join(" | "))?.[1]);

  await t.step("stdout not a terminal: the whole trace, as --width full prints it", () => {
    assert.equal(plain.code, EXIT.ok);
    assert.equal(plain.stdout, full.stdout);
    assert.ok(plain.stdout.includes("| free_pud_range p4d_clear(P4D@0x0[0]) → PUD@0x0 unlinked"));
    assert.doesNotMatch(traceBlock(plain.stdout), /…/);
  });

  await t.step("--width 80: every row fits, shortened with …, every outcome whole", () => {
    assert.equal(narrow.code, EXIT.ok);
    for (const l of rows(narrow.stdout)) assert.ok(l.length <= 80, `${l.length}: ${l}`);
    assert.match(traceBlock(narrow.stdout), /…/);
    assert.deepEqual(outcomes(narrow.stdout), outcomes(plain.stdout));
    assert.equal(rows(narrow.stdout).length, 32);
  });

  await t.step("stdout a terminal: the terminal's width", async () => {
    const io = memoryIo({ outColumns: 90 });
    assert.equal(await main(["replay", MICHEL], io), EXIT.ok);
    const fitted = rows(io.stdout());
    assert.equal(fitted.length, 32);
    for (const l of fitted) assert.ok(l.length <= 90, `${l.length}: ${l}`);
    assert.deepEqual(outcomes(io.stdout()), outcomes(plain.stdout));
  });
});

Deno.test("replay: a schedule that misses the declared violation says so, and exits 0", async () => {
  const r = await cli("replay", "faultline1:rcu-gfp-nowait:fault-vs-munmap:0");
  assert.equal(r.code, EXIT.ok, r.stderr);
  assert.match(r.stdout, /^ending: +no violation, after \d+ steps$/m);
  assert.match(
    r.stdout,
    /^declared: violation:store-into-detached-table; this schedule ends without a violation,\n {10}unlike what the strategy declares/m,
  );
  assert.doesNotMatch(r.stdout, /as found/);
});

Deno.test("a deadlock ending names the thread that finished still holding the lock", () => {
  // The fault of mmap-lock that forgets mmap_read_unlock(): munmap() then waits forever.
  const leaky: Strategy = {
    ...strategyNamed("mmap-lock"),
    name: "leaky",
    *fault(k, mm, addr) {
      yield* mmap_read_lock(k, mm);
      return (yield* vma_lookup(k, mm, addr)) ? "done" : "sigsegv";
    },
  };
  const c = check(leaky, "fault-vs-munmap");
  assert.equal(c.outcome, "violation:deadlock");
  const text = formatCheck(c, searchOf({}), 1);
  assert.match(text, /^verdict: +violation: deadlock \(no CPU can go on\)$/m);
  assert.match(text, /held by CPU0, which has finished without releasing it/);
});

Deno.test("matrix --json: one cell per pair, no traces unless --traces", async (t) => {
  const [plain, traced] = await Promise.all([
    cli("matrix", "--json", "--budget", "20"),
    cli("matrix", "--json", "--traces", "--budget", "20"),
  ]);
  const cells = JSON.parse(plain.stdout) as MatrixCell[];

  await t.step(`${PAIRS} cells, each pair once`, () => {
    assert.equal(cells.length, PAIRS);
    const pairs = new Set(cells.map((c) => `${c.strategy}/${c.scenario}`));
    for (const s of strategies) {
      for (const w of scenarios) assert.ok(pairs.has(`${s.name}/${w.name}`), `${s.name}/${w.name}`);
    }
  });

  await t.step("exit 1: a budget of 20 cuts short searches declared safe", () => {
    assert.ok(cells.some((c) => !c.asExpected && c.outcome === "not-exhaustive"));
    assert.ok(cells.every((c) => c.exhaustive || c.outcome !== "safe"), "never safe unless exh.");
    assert.equal(plain.code, EXIT.unexpected);
  });

  await t.step("counterexamples without traces, then with", () => {
    const bad = cells.filter((c) => c.counterexample);
    assert.ok(bad.length > 0);
    for (const c of bad) {
      assert.equal("trace" in c.counterexample!, false);
      assert.ok(c.token?.endsWith(`:${c.counterexample!.schedule}`));
    }
    const full = JSON.parse(traced.stdout) as MatrixCell[];
    assert.equal(full.length, PAIRS);
    for (const c of full.filter((c) => c.counterexample)) {
      assert.ok(c.counterexample!.trace.steps.length > 0);
    }
  });

  await t.step("progress on stderr names each pair, n of total", () => {
    assert.match(plain.stderr, new RegExp(`^\\[1/${PAIRS}\\] ${strategies[0].name} × `, "m"));
    assert.match(plain.stderr, new RegExp(`^\\[${PAIRS}/${PAIRS}\\] `, "m"));
  });
});

Deno.test("matrix table: fits 100 columns, a row per strategy, a column per scenario", async () => {
  const [table, json] = await Promise.all([
    cli("matrix", "--budget", "20"),
    cli("matrix", "--json", "--budget", "20"),
  ]);
  assert.equal(table.code, EXIT.unexpected);
  const cells = JSON.parse(json.stdout) as MatrixCell[];
  const lines = table.stdout.split("\n");
  for (const line of lines) assert.ok(line.length <= MATRIX_COLUMNS, `too wide: ${line}`);
  // (A row ends trimmed, so an empty last cell leaves a bare "|".)
  const split = (line: string) => line.split("|").map((c) => c.trim());
  // One block or more, one under the other, each of some of the scenarios in order: a
  // header of their names wrapped after their hyphens, over a few lines, then two lines
  // per strategy, the outcomes, then the executions.
  const rules = lines.flatMap((l, i) => /^-+(-\+-+)+$/.test(l) ? [i] : []);
  assert.ok(rules.length > 0, table.stdout);
  let seen = 0;
  for (const rule of rules) {
    const top = lines.lastIndexOf("", rule) + 1;
    const heads = lines.slice(top, rule).map(split);
    assert.equal(heads[0][0], "strategy");
    const block = scenarios.slice(seen, seen + heads[0].length - 1);
    assert.ok(block.length > 0, table.stdout);
    assert.deepEqual(
      block.map((_, j) => heads.map((h) => h[1 + j] ?? "").join("")),
      block.map((w) => w.name),
    );
    for (const [i, s] of strategies.entries()) {
      const [outcomes, counts] = [split(lines[rule + 1 + 2 * i]), split(lines[rule + 2 + 2 * i])];
      // A long name goes on over its row's second line, broken after a hyphen.
      assert.equal(outcomes[0] + counts[0], s.name);
      for (const [j, w] of block.entries()) {
        const c = cells.find((c) => c.strategy === s.name && c.scenario === w.name)!;
        assert.deepEqual([outcomes[1 + j], counts[1 + j]], cellLines(c), `${s.name} × ${w.name}`);
        assert.equal(counts[1 + j], `(${c.executions.toLocaleString("en-US")})`);
        assert.ok(
          outcomes[1 + j].startsWith(c.asExpected ? shortOutcome(c.outcome) : "! "),
          `${s.name} × ${w.name}: ${outcomes[1 + j]}`,
        );
      }
    }
    seen += block.length;
  }
  assert.equal(seen, scenarios.length);
  // The legend says what each short form stands for.
  for (const c of cells) {
    const short = shortOutcome(c.outcome);
    if (short !== outcomeWord(c.outcome)) {
      assert.ok(table.stdout.includes(`${short} = ${outcomeWord(c.outcome)}`), short);
    }
  }
  const unexpected = cells.filter((c) => !c.asExpected).length;
  assert.match(
    table.stdout,
    new RegExp(`^${PAIRS} pairs: ${PAIRS - unexpected} as expected, ${unexpected} unexpected`, "m"),
  );
  for (const c of cells.filter((c) => c.token)) {
    assert.ok(table.stdout.includes(`    ./faultline replay '${c.token}'`), c.token);
  }
});

Deno.test("matrix table: blocks of scenarios, as even as fit, where they do not fit across", () => {
  const cells: MatrixCell[] = Array.from({ length: 9 }, (_, j) => ({
    strategy: "a-strategy",
    scenario: `a-rather-long-scenario-name-${j}`,
    config: DEFAULT_CONFIG,
    verdict: "safe",
    outcome: "safe",
    expected: "safe",
    asExpected: true,
    exhaustive: true,
    executions: 12345,
    millis: 1,
  }));
  const text = formatMatrix(cells, 10);
  for (const line of text.split("\n")) assert.ok(line.length <= MATRIX_COLUMNS, line);
  // Seven columns of 12 fit beside the name: two blocks, of five and four.
  const heads = text.split("\n").filter((l) => l.startsWith("strategy "));
  assert.deepEqual(heads.map((h) => h.split(" | ").length - 1), [5, 4]);
  assert.match(text, /^a-strategy +\| safe +\| safe +\| safe +\| safe +\| safe$/m);
  assert.match(text, /^a-strategy +\| safe +\| safe +\| safe +\| safe$/m);
});

Deno.test("matrix table: the verdicts another kernel configuration changes are listed, within 100 columns", () => {
  const cell = (scenario: string, exhaustive = true): MatrixCell => ({
    strategy: "a-strategy",
    scenario,
    config: DEFAULT_CONFIG,
    verdict: "safe",
    outcome: "safe",
    expected: "safe",
    asExpected: true,
    exhaustive,
    executions: 12,
    millis: 1,
  });
  const uaf = "violation:use-after-free (9)";
  const configs = [
    "ipi",
    "ipi + split-alloc",
    "rcu-ipi-fallback",
    "rcu-ipi-fallback + split-alloc",
  ];
  const outcomes = Object.fromEntries(
    configs.map((
      c,
    ) => [c, { "a-strategy/w": uaf, "a-strategy/x": "safe (3)", "a-strategy/y": uaf }]),
  );
  // y is not exhaustive here: it is not compared.
  const text = formatMatrix([cell("w"), cell("x"), cell("y", false)], 10, {}, outcomes);
  for (const line of text.split("\n")) assert.ok(line.length <= MATRIX_COLUMNS, line);
  assert.match(text, /verdicts that depend on the kernel configuration/);
  assert.ok(
    text.includes(
      "\n  a-strategy × w: safe here\n" +
        "    violation:use-after-free under ipi, ipi + split-alloc, rcu-ipi-fallback,\n" +
        "      rcu-ipi-fallback + split-alloc\n",
    ),
    text,
  );
  assert.doesNotMatch(text, /a-strategy × [xy]:/);
  assert.doesNotMatch(formatMatrix([cell("x")], 10, {}, outcomes), /depend on the kernel/);
});

Deno.test("list: every strategy and scenario, one line each", async () => {
  const r = await cli("list");
  assert.equal(r.code, EXIT.ok);
  for (const s of strategies) {
    assert.match(
      r.stdout,
      new RegExp(`^  ${s.name} +${escape(s.title)}: ${escape(s.summary)}$`, "m"),
    );
  }
  for (const w of scenarios) {
    assert.match(r.stdout, new RegExp(`^  ${w.name} +${escape(w.question)}$`, "m"));
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("progress: quiet for short runs, plain lines off a terminal, a live line on one", async (t) => {
  let clock = 0;
  const step = { executions: 100, pruned: 0, violations: 0, maxDepth: 40 };

  await t.step("not a terminal: nothing for a short run", () => {
    const io = memoryIo({ now: () => clock });
    const p = new ProgressReporter(io);
    p.start("a × b");
    clock += 500;
    p.update(step);
    p.done();
    assert.equal(io.stderr(), "");
  });

  await t.step("not a terminal: a line every 2 s, and a last one", () => {
    const io = memoryIo({ now: () => clock });
    const p = new ProgressReporter(io);
    p.start("a × b");
    clock += 2000;
    p.update({ ...step, executions: 9000, violations: 3 });
    clock += 500;
    p.update({ ...step, executions: 10000 });
    clock += 500;
    p.done();
    assert.equal(
      io.stderr(),
      "a × b: 9,000 executions, 4,500/s, 2.0 s, depth 40, 3 violating\n" +
        "a × b: 10,000 executions, 3,333/s, 3.0 s, depth 40, done\n",
    );
  });

  await t.step("not a terminal: an announced task is named at once", () => {
    const io = memoryIo({ now: () => clock });
    const p = new ProgressReporter(io);
    p.start("[1/2] a × b", true);
    p.start("[2/2] a × c", true);
    p.done();
    assert.equal(io.stderr(), "[1/2] a × b\n[2/2] a × c\n");
  });

  await t.step("terminal: one line redrawn with \\r, cleared at the end", () => {
    const io = memoryIo({ now: () => clock, terminal: true });
    const p = new ProgressReporter(io);
    p.start("a × b");
    clock += 100;
    p.update(step);
    assert.equal(io.stderr(), "", "quiet at first");
    clock += 400;
    p.update(step);
    clock += 50;
    p.update(step);
    clock += 100;
    p.update({ ...step, executions: 200 });
    p.done();
    assert.equal(
      io.stderr(),
      "\r\x1b[Ka × b: 100 executions, 200/s, 500 ms, depth 40" +
        "\r\x1b[Ka × b: 200 executions, 308/s, 650 ms, depth 40" +
        "\r\x1b[K",
    );
  });

  await t.step("terminal: the line fits the width", () => {
    const io = memoryIo({ now: () => clock, terminal: true, columns: 30 });
    const p = new ProgressReporter(io);
    p.start("a-long-strategy × a-long-scenario", true);
    const line = io.stderr().slice("\r\x1b[K".length);
    assert.equal(line, "a-long-strategy × a-long-sce…");
    assert.ok(line.length < 30);
  });
});

Deno.test("replay exits 1 only for an outcome the strategy does not declare", () => {
  const run = replayToken("faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0");
  assert.equal(run.kind, "store-into-detached-table");
  assert.equal(replayAsExpected(run), true);
  assert.equal(replayAsExpected({ ...run, kind: "none" }), true, "one schedule refutes nothing");
  assert.equal(replayAsExpected({ ...run, kind: "use-after-free" }), false);
  assert.equal(replayAsExpected({ ...run, scenario: "fault-vs-fault" }), false, "declared safe");
});

Deno.test("the main job: matrix, then the site, index.html's path last", async () => {
  const outDir = await Deno.makeTempDir();
  try {
    const io = memoryIo();
    let built = "";
    const code = await runStart(io, {
      budget: 5,
      outDir,
      buildSite: async (options) => {
        built = options?.outDir ?? "";
        await Deno.writeTextFile(`${built}/index.html`, "<!doctype html>");
        return { outDir: built, pages: ["index.html"], warnings: [], notes: [] };
      },
    });
    assert.equal(built, outDir);
    assert.equal(code, EXIT.unexpected, "a budget of 5 cuts searches short");
    const lines = io.stdout().trimEnd().split("\n");
    assert.match(lines[0], /^strategy +\| fault-vs- +\| /);
    assert.equal(lines.at(-1), resolve(outDir, "index.html"));
    assert.match(io.stdout(), new RegExp(`^${PAIRS} pairs: `, "m"));
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
