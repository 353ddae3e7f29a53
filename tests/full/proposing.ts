/**
 * The guide to proposing a strategy, `docs/proposing-a-strategy.md`, followed to the
 * letter: copy the repository, write every `file=` block of the guide into the copy
 * (a `diff` block is a change to the file it names), then follow its step 4 in order:
 * `task bless`, the command line's commands through `./faultline` (in the copy, with
 * the Deno of `tools/` linked in), the new files formatted and lint-free, and the new
 * note run by the note runner as it is. A step of the guide that stops working fails
 * here, with the step named.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type DocBlock, parseDoc, ROOT, stepName } from "../../literate/mod.ts";
import { scenarios } from "../../mod.ts";
import { recordedCounts } from "../explored_counts.ts";
import { breaches } from "../layers.ts";

const GUIDE = "docs/proposing-a-strategy.md";

/** Not copied: installed packages, generated output, history. */
const SKIP: ReadonlySet<string> = new Set([
  ".git",
  "node_modules",
  ".faultline",
  "_site",
  "coverage",
]);

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (SKIP.has(entry.name)) continue;
    const [src, dst] = [`${from}/${entry.name}`, `${to}/${entry.name}`];
    if (entry.isDirectory) await copyTree(src, dst);
    else if (entry.isFile) await Deno.copyFile(src, dst);
  }
}

/**
 * Applies a diff as a reader would: each hunk (hunks are separated by `@@` lines, and
 * there are no `---`/`+++` headers) is its context and `-` lines, found exactly once in
 * the file, replaced by its context and `+` lines. No line numbers: the guide need not
 * keep them right, and a hunk still applies after other strategies were registered.
 */
function applyDiff(text: string, diff: string, path: string): string {
  const hunks: { old: string[]; new: string[] }[] = [{ old: [], new: [] }];
  for (const line of diff.split("\n")) {
    if (line.startsWith("@@")) {
      hunks.push({ old: [], new: [] });
      continue;
    }
    const [mark, rest] = [line[0] ?? " ", line.slice(1)];
    assert.ok(" +-".includes(mark), `the change to ${path} in ${GUIDE}: not a diff line: ${line}`);
    if (mark !== "+") hunks.at(-1)!.old.push(rest);
    if (mark !== "-") hunks.at(-1)!.new.push(rest);
  }
  let lines = text.split("\n");
  for (const [n, hunk] of hunks.entries()) {
    if (hunk.old.length === 0 && hunk.new.length === 0) continue;
    const at: number[] = [];
    for (let i = 0; i + hunk.old.length <= lines.length; i++) {
      if (hunk.old.every((l, k) => lines[i + k] === l)) at.push(i);
    }
    assert.equal(
      at.length,
      1,
      `hunk ${n + 1} of the guide's change to ${path} matches ${at.length} places, ` +
        `not one: update the diff in ${GUIDE}\n${hunk.old.join("\n")}`,
    );
    lines = [...lines.slice(0, at[0]), ...hunk.new, ...lines.slice(at[0] + hunk.old.length)];
  }
  return lines.join("\n");
}

/** Runs `program` in `cwd`; `shown` is how the transcript names it. */
async function run(program: string, shown: string, cwd: string, args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const out = decode(stdout);
  return { code, out, all: `$ ${shown} ${args.join(" ")}\n${out}\n${decode(stderr)}` };
}

function deno(cwd: string, ...args: string[]) {
  return run(Deno.execPath(), "deno", cwd, args);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** How the guide runs Deno (the one `npm ci --prefix tools` installs) and the command line. */
const DENO = "tools/node_modules/.bin/deno";
const CLI = "./faultline";

/**
 * The guide's shell commands (comments dropped), as argument lists: `deno` and its
 * arguments for a `tools/node_modules/.bin/deno ...` line, `./faultline` and its
 * arguments for a command line one.
 */
function commandsOf(blocks: readonly DocBlock[]): string[][] {
  return blocks.filter((b) => b.lang === "sh").flatMap((b) => b.code.split("\n"))
    .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
    .filter((words) => words[0] === DENO || words[0] === CLI)
    .map((words) => [words[0] === DENO ? "deno" : CLI, ...words.slice(1)]);
}

/** Runs the command line in the copy as the guide does, through its wrapper. */
function faultline(cwd: string, ...args: string[]) {
  return run(`${cwd}/faultline`, CLI, cwd, args);
}

Deno.test("a contributor who follows the guide gets a new strategy and its note running", async (t) => {
  const guide = parseDoc(await Deno.readTextFile(new URL(GUIDE, ROOT)), GUIDE);
  assert.deepEqual(guide.errors, []);
  const files = guide.blocks.filter((b) => b.directives.file !== undefined);
  const one = (what: string, test: (b: DocBlock) => boolean) => {
    const found = files.filter(test);
    assert.equal(found.length, 1, `${GUIDE} must show exactly one ${what} (a file= block)`);
    return found[0];
  };
  const module = one(
    "strategy module",
    (b) => b.lang === "ts" && /^strategies\/\w+\.ts$/.test(b.directives.file),
  );
  one(
    "change to strategies/mod.ts",
    (b) => b.lang === "diff" && b.directives.file === "strategies/mod.ts",
  );
  const note = one("note", (b) => b.lang === "md" && /^docs\/[\w-]+\.md$/.test(b.directives.file));
  const name = /\bname: "([\w-]+)"/.exec(module.code)?.[1];
  assert.ok(name, `the module in ${GUIDE} names no strategy`);
  const notePath = note.directives.file;
  // The site links a strategy's row of the matrix to the note named after it.
  assert.equal(notePath, `docs/${name}.md`, `the note must be named after the strategy`);
  const notePage = parseDoc(note.code, notePath);
  const commands = commandsOf(guide.blocks);
  const cli = commands.filter((c) => c[0] === CLI).map((c) => c.slice(1));
  // `matrix` explores every pair, as `bless` does: the matrix's verdicts are checked by
  // the note's own blocks, its counts by bless. The rest of the deno lines (fmt, check,
  // lint, the whole test suite) are what CI runs; here only the new files are checked.
  const quick = cli.filter((c) => c[0] !== "matrix");
  assert.ok(quick.some((c) => c[0] === "list"), `${GUIDE} shows no \`${CLI} list\``);
  const bless = commands.findIndex((c) => c.join(" ") === "deno task bless");
  assert.ok(bless >= 0, `${GUIDE} shows no \`${DENO} task bless\``);
  const test = commands.findIndex((c) => c.join(" ") === "deno task test");
  assert.ok(
    bless < test,
    `${GUIDE}: \`task bless\` must come before \`task test\`, which needs the counts`,
  );

  const copy = await Deno.makeTempDir({ prefix: "faultline-proposing-" });
  // In the guide's order (step 4: bless first, the tests last); each step needs the one
  // before it: stop at the first that fails.
  const steps: [string, () => Promise<void>][] = [
    ["copy the repository and write the files as the guide shows them", async () => {
      const root = decodeURIComponent(ROOT.pathname).replace(/\/$/, "");
      await copyTree(root, copy);
      // The Deno that `npm ci --prefix tools` installed, for the copy's ./faultline: a
      // link, not a second install (copyTree leaves node_modules out).
      const tools = `${root}/tools/node_modules`;
      if (await Deno.stat(tools).then(() => true, () => false)) {
        await Deno.symlink(tools, `${copy}/tools/node_modules`);
      }
      for (const b of files) {
        const path = `${copy}/${b.directives.file}`;
        if (b.lang === "diff") {
          const text = await Deno.readTextFile(path);
          await Deno.writeTextFile(path, applyDiff(text, b.code, b.directives.file));
        } else {
          await Deno.writeTextFile(path, b.code + "\n");
        }
      }
    }],
    ["deno task bless records the new pairs and changes no other count", async () => {
      const bless = await deno(copy, "task", "bless");
      assert.equal(bless.code, 0, bless.all);
      const before = recordedCounts();
      const after: Record<string, number> = JSON.parse(
        await Deno.readTextFile(`${copy}/tests/explored_counts.json`),
      );
      const added = Object.keys(after).filter((k) => k.startsWith(`${name}/`));
      assert.deepEqual(added.sort(), scenarios.map((w) => `${name}/${w.name}`).sort());
      for (const [key, n] of Object.entries(before)) {
        assert.equal(after[key], n, `bless changed the count of ${key}`);
      }
    }],
    [
      `the guide's commands know ${name}: ${quick.map((c) => c[0]).join(", ")}, replay`,
      async () => {
        // The replay command the note prints, as a reader would copy it.
        const token = notePage.blocks.filter((b) => b.lang === "output")
          .map((b) => /\.\/faultline replay '([^']+)'/.exec(b.code)?.[1]).find((x) => x);
        assert.ok(token, `the note in ${GUIDE} prints no \`${CLI} replay\` line`);
        for (const args of [...quick, ["replay", token]]) {
          const run = await faultline(copy, ...args);
          assert.equal(run.code, 0, run.all);
          if (args[0] === "list") {
            assert.match(run.out, new RegExp(`^  ${escapeRegExp(name)} `, "m"), run.all);
          }
        }
      },
    ],
    ["the new files keep the layer rule, and are formatted and lint-free", async () => {
      const written = files.map((b) => b.directives.file);
      const modules = new Map<string, string>();
      for (const f of written.filter((f) => f.endsWith(".ts"))) {
        modules.set(f, await Deno.readTextFile(`${copy}/${f}`));
      }
      assert.deepEqual(breaches(modules), []);
      const fmt = await deno(copy, "fmt", "--check", ...written);
      assert.equal(fmt.code, 0, fmt.all);
      const lint = await deno(copy, "lint", ...modules.keys());
      assert.equal(lint.code, 0, lint.all);
    }],
    [`deno test runs ${notePath}, every block passing`, async () => {
      const filter = `/^(${escapeRegExp(notePath)}|every strategy declares)/`;
      const run = await deno(
        copy,
        "test",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run",
        "tests/docs_1_test.ts",
        "tests/docs_2_test.ts",
        "tests/verdicts_test.ts",
        "--filter",
        filter,
      );
      assert.equal(run.code, 0, run.all);
      const ok = new Set(
        run.out.split("\n").map((l) => /^\s*(.*?) \.\.\. ok\b/.exec(l)?.[1]).filter((l) => l),
      );
      const blocks = notePage.blocks.filter((b) => b.runnable);
      assert.ok(blocks.length > 0, `the note in ${GUIDE} has no block that runs`);
      for (const b of [notePath, ...blocks.map((s) => stepName(notePath, s))]) {
        assert.ok(ok.has(b), `"${b}" did not pass:\n${run.all}`);
      }
      assert.ok(ok.has("every strategy declares an expectation for every scenario"), run.all);
    }],
  ];
  try {
    for (const [what, fn] of steps) if (!await t.step(what, fn)) break;
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
