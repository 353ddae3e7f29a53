/**
 * Every command the README shows, and every command the CLI prints as a hint, run as
 * written in a clean copy of the repository: the files git tracks or would track (what
 * a clone has once the working tree is committed), without `tools/node_modules`, with
 * no `deno` on PATH. That is the reader's position after a clone: the README's set-up
 * (`npm ci --prefix tools`) installs Deno under `tools/` and puts nothing on PATH, so a
 * bare `deno task cli ...` would fail there, and `./faultline ...` must not.
 *
 * The commands come from the README's fenced `sh` blocks (one command a line, `#`
 * comments dropped) and from what the CLI prints: `help` and each command's `--help`
 * (examples), a usage error ("Run '...' for usage."), `explore`'s "replay it:" line and
 * the replay lines of the matrix. Each runs once, through `bash -c`, and must exit 0.
 * The one README command not run is the default test suite
 * (`tools/node_modules/.bin/deno task test`): `.ci/run` runs it as written, and then
 * `deno task test:full`, of which this test is part.
 *
 * The site the main job built is then checked in Chromium (`site_browser_test.ts`),
 * against the matrix the main job explored, read back from the copy's results store:
 * the one build serves both tests, as building the site is most of either's time.
 *
 * @module
 */

import { repoFiles } from "../../mutate/run.ts";
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cellOf, type MatrixCell, openResults } from "../../mod.ts";
import { CLI } from "../../cli/format.ts";
import { CLI as SITE_CLI, replayCommand } from "../../site/trace_view.ts";
import { checkSiteInBrowser, type Registered } from "../site_browser_test.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const decoder = new TextDecoder();

/** The one README command left out, and why (see the module doc). */
const NOT_RUN = new Map([[
  "tools/node_modules/.bin/deno task test",
  "the default test suite; .ci/run runs it as written, then test:full with this test",
]]);

interface Ran {
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** PATH without any directory that holds a `deno`: the reader has none. */
function pathWithoutDeno(): string {
  return (Deno.env.get("PATH") ?? "").split(":").filter((dir) => {
    try {
      Deno.statSync(`${dir}/deno`);
      return false;
    } catch {
      return dir !== "";
    }
  }).join(":");
}

/** Runs `command` in `cwd` through bash, as a reader pastes it. */
async function sh(cwd: string, command: string): Promise<Ran> {
  const start = performance.now();
  const out = await new Deno.Command("bash", {
    args: ["-c", command],
    cwd,
    // The rest of the environment stays: npm may need its proxy or cache settings.
    env: { PATH: pathWithoutDeno(), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    command,
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - start,
  };
}

/** A failure message: the command, its exit code, and what it printed. */
function report(r: Ran): string {
  return `$ ${r.command}\nexit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
}

/** The commands of the README's `sh` blocks, one a line, comments dropped. */
export function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  let inSh = false;
  for (const line of markdown.split("\n")) {
    const fence = /^\s*(`{3,}|~{3,})\s*(\S*)/.exec(line);
    if (fence) {
      inSh = !inSh && fence[2] === "sh";
      continue;
    }
    // A comment starts at a `#` after blanks; a token never contains one.
    const command = inSh ? line.replace(/(^|\s)#.*$/, "").trim() : "";
    if (command) commands.push(command);
  }
  return commands;
}

/**
 * The commands a text printed by the CLI tells the reader to run: a line that is one
 * (after a label such as `replay it:`), or one quoted in a sentence
 * (`Run './faultline explore --help' for usage.`). Templates are not commands: a
 * `Usage:` line, or one with a placeholder (`[flags]`, `<token>`, `TOKEN`, `S`).
 */
export function hintsIn(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    if (/^\s*Usage:/.test(line)) continue;
    for (const m of line.matchAll(/'(\.\/faultline(?: [^']*)?)'/g)) found.push(m[1]);
    const whole = /^\s*(?:[\w ]+:\s+)?(\.\/faultline(?: .*)?)$/.exec(line)?.[1];
    if (whole) found.push(whole.trim());
  }
  // A placeholder outside quotes: brackets, angle brackets, or a word in capitals.
  const template = (c: string) => /[[<]|\b[A-Z]+\b/.test(c.replace(/'[^']*'/g, "''"));
  return [...new Set(found.filter((c) => !template(c)))];
}

/**
 * The strategies and scenarios `./faultline list` printed: the copy's, which are this
 * process's unless someone registered one since it started.
 */
function listed(text: string): Registered {
  const names = { strategies: [] as string[], scenarios: [] as string[] };
  let into: string[] | undefined;
  for (const line of text.split("\n")) {
    const head = /^(strategies|scenarios) \(\d+\):$/.exec(line);
    if (head) into = names[head[1] === "strategies" ? "strategies" : "scenarios"];
    else if (into && /^ {2}\S/.test(line)) into.push(line.trim().split(/\s+/)[0]);
  }
  return names;
}

/**
 * The matrix the main job explored in `clone`, as it recorded it in the copy's results
 * store (every registered pair, under the main job's options).
 */
function mainJobMatrix(clone: string, names: Registered): MatrixCell[] {
  const store = openResults(pathToFileURL(`${clone}/`));
  return names.strategies.flatMap((s) =>
    names.scenarios.map((w) => {
      const stored = store.get(s, w, { mode: "exhaustive" });
      assert.ok(stored, `the main job stored no result for ${s} × ${w}`);
      return cellOf(stored.check, stored.millis);
    })
  );
}

/** Copies the files git tracks or would track (none under node_modules/) into `to`. */
async function cleanCopy(to: string): Promise<void> {
  for (const file of await repoFiles(ROOT)) {
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(`${to}/${dir}`, { recursive: true });
    try {
      // copyFile keeps the mode: ./faultline stays executable.
      await Deno.copyFile(`${ROOT}${file}`, `${to}/${file}`);
    } catch (e) {
      // Tracked but deleted in the working tree: a commit would delete it too.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

Deno.test("hints: commands on a line or quoted in one; templates are not commands", () => {
  assert.deepEqual(
    hintsIn(
      "Usage: ./faultline replay [--json] TOKEN\n" +
        "Run './faultline replay --help' for usage.\n" +
        "replay it:    ./faultline replay 'faultline1:a:b:0*3'\n" +
        "  ./faultline explore --strategy S --scenario W\n" +
        "  ./faultline list\n",
    ),
    ["./faultline replay --help", "./faultline replay 'faultline1:a:b:0*3'", "./faultline list"],
  );
  assert.deepEqual(
    readmeCommands(
      "x\n```sh\n./faultline list   # a comment\n\n```\n```text\n./faultline x\n```\n",
    ),
    ["./faultline list"],
  );
});

Deno.test("the command line prints the form the site prints", () => {
  assert.equal(CLI, "./faultline");
  assert.equal(SITE_CLI, CLI);
  assert.equal(replayCommand("faultline1:a:b:0"), `${CLI} replay 'faultline1:a:b:0'`);
});

Deno.test("every README command and every CLI hint runs as written in a clean copy", async (t) => {
  const started = performance.now();
  const clone = await Deno.makeTempDir({ prefix: "faultline-readme-" });
  try {
    await cleanCopy(clone);
    const readme = readmeCommands(await Deno.readTextFile(`${clone}/README.md`));
    assert.ok(readme.includes("npm ci --prefix tools"), "the README's set-up");
    assert.ok(readme.includes(CLI), "the README's main job");
    const toRun = readme.filter((c) => !NOT_RUN.has(c));
    for (const skipped of NOT_RUN.keys()) assert.ok(readme.includes(skipped), skipped);
    const done = new Map<string, Ran>();
    const run = async (command: string) => {
      const r = done.get(command) ?? await sh(clone, command);
      done.set(command, r);
      assert.equal(r.code, 0, report(r));
      // A token the model has outgrown still exits 0, but shows no race: not an example.
      if (command.startsWith(`${CLI} replay '`)) {
        assert.doesNotMatch(r.stdout, /ends without a violation/, report(r));
      }
      return r;
    };

    await t.step("./faultline installs Deno under tools/ when it is missing", async () => {
      await assert.rejects(Deno.stat(`${clone}/tools/node_modules`), "a clean copy has no Deno");
      const r = await run(`${CLI} list`);
      assert.match(r.stderr, /installing Deno from npm under tools\//);
      assert.match(r.stdout, /^strategies \(\d+\):/);
    });

    await t.step("and runs from another directory", async () => {
      const r = await sh("/", `${clone}/faultline help`);
      assert.equal(r.code, 0, report(r));
    });

    // In the README's order, except the main job (the matrix, then every note run for
    // the site: most of this test's time), which starts when reached and runs on beside
    // the rest. The set-up (`npm ci`, which replaces tools/node_modules) comes
    // before it in the README, so it never runs while Deno is being replaced.
    let mainJob: Promise<Ran> | undefined;
    for (const command of toRun) {
      if (command === CLI) mainJob = sh(clone, command);
      else await t.step(`README: ${command}`, async () => void await run(command));
    }
    if (mainJob) {
      const r = await mainJob;
      await t.step(`README: ${CLI} (${Math.round(r.ms / 1000)} s)`, () => {
        done.set(r.command, r);
        assert.equal(r.code, 0, report(r));
      });
    }
    const main = done.get(CLI);
    if (main) {
      await t.step("the main job's last line is the site's index.html", async () => {
        const index = main.stdout.trimEnd().split("\n").at(-1)!;
        assert.ok(index.startsWith(clone) && index.endsWith("/index.html"), index);
        await Deno.stat(index);
      });
      await t.step(
        "the site in Chromium: the matrix, a race's trace stepped through, a screenshot",
        (s) => {
          const names = listed(done.get(`${CLI} list`)!.stdout);
          return checkSiteInBrowser(s, `${clone}/_site`, mainJobMatrix(clone, names), names);
        },
      );
    }

    // What the CLI prints for the reader to run next.
    const printed = [
      ...(await Promise.all(
        ["help", "explore", "replay", "matrix", "list"].map((c) =>
          run(c === "help" ? `${CLI} help` : `${CLI} help ${c}`)
        ),
      )).map((r) => r.stdout),
      (await sh(clone, `${CLI} explor`)).stderr,
      (await sh(clone, `${CLI} explore --strategy mmap-lock --scenario nope`)).stderr,
      ...[...done.values()].map((r) => r.stdout),
    ].join("\n");
    const hints = hintsIn(printed);
    await t.step("the CLI's hints include help, examples and replay lines", () => {
      for (
        const expected of [
          `${CLI} --help`,
          `${CLI} explore --help`,
          `${CLI} explore --strategy rcu-gfp-nowait --scenario fault-vs-munmap`,
        ]
      ) {
        assert.ok(hints.includes(expected), `${expected} in ${JSON.stringify(hints)}`);
      }
      assert.ok(hints.filter((h) => h.startsWith(`${CLI} replay 'faultline1:`)).length >= 2);
    });
    for (const hint of hints.filter((h) => !done.has(h))) {
      await t.step(`hint: ${hint}`, async () => void await run(hint));
    }
  } finally {
    await Deno.remove(clone, { recursive: true });
  }
  console.log(
    `README commands and CLI hints: ${Math.round((performance.now() - started) / 1000)} s`,
  );
});
