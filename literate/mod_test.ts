/**
 * Tests of the note runner, on the notes in `literate/testdata/` (outside `docs/`, so
 * not part of the real suite): each fixture shows one thing the runner must do, and the
 * tests assert the outcome of every block.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type BlockOutcome,
  compareOutput,
  compileDocs,
  type DocOutcome,
  docSteps,
  judgeExpectation,
  markdownFiles,
  resolveImport,
  ROOT,
  runDoc,
  runDocs,
  runDocSteps,
} from "./mod.ts";
import { parseDoc } from "./parse_doc.ts";

const FIXTURES = "literate/testdata";

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

// All fixtures run once, with one type check, by the first test that needs them.
let all: Promise<Map<string, DocOutcome>> | undefined;
function outcomes(): Promise<Map<string, DocOutcome>> {
  return all ??= (async () => {
    const pages = markdownFiles(FIXTURES).map((p) => parseDoc(read(p), p));
    const done = await runDocs(pages, { timeoutSeconds: 30 });
    return new Map(done.map((o) => [o.page.path.slice(FIXTURES.length + 1), o]));
  })();
}

async function fixture(name: string): Promise<DocOutcome> {
  const outcome = (await outcomes()).get(name);
  assert.ok(outcome, `no fixture ${name}`);
  return outcome;
}

/** The 1-based line of the first line of `name` containing `needle`. */
function lineOf(name: string, needle: string, from = 1): number {
  const lines = read(`${FIXTURES}/${name}`).split("\n");
  const k = lines.findIndex((l, i) => i + 1 >= from && l.includes(needle));
  assert.ok(k >= 0, `${needle} not in ${name}`);
  return k + 1;
}

function runnable(outcome: DocOutcome): BlockOutcome[] {
  return outcome.blocks.filter((b) => b.status !== "not-run");
}

function statuses(outcome: DocOutcome): string[] {
  return runnable(outcome).map((b) => b.status);
}

Deno.test("blocks share one scope, imports are hoisted and rewritten", async () => {
  const o = await fixture("shared-scope.md");
  assert.deepEqual(o.problems, []);
  assert.deepEqual(statuses(o), ["passed", "passed", "passed"], runnable(o)[1].message);
  assert.equal(o.passed, true);
  const [, using, dynamic] = runnable(o);
  assert.equal(using.output, "hello, 1 call\n0.1:1\nfunction\n{ answer: 42 } %d%% 7\n");
  assert.equal(dynamic.output, "same module and 7%\n");
  assert.equal(
    using.line,
    lineOf("shared-scope.md", "```ts", lineOf("shared-scope.md", "## Using")),
  );
  assert.equal(using.explorations, 0);
  assert.equal(using.exploration, undefined);
});

Deno.test("an output mismatch fails with a diff that names the Markdown lines", async () => {
  const o = await fixture("output-mismatch.md");
  const [block] = runnable(o);
  assert.equal(block.status, "failed");
  assert.equal(o.passed, false);
  const fence = lineOf("output-mismatch.md", "```output");
  assert.equal(fence, lineOf("output-mismatch.md", "SECOND") - 2);
  assert.match(
    block.message,
    new RegExp(`output fence at ${FIXTURES}/output-mismatch\\.md:${fence}`),
  );
  assert.match(
    block.message,
    new RegExp(`^- ${FIXTURES}/output-mismatch\\.md:${fence + 2} +\\| SECOND$`, "m"),
  );
  assert.match(block.message, /^\+ +\| second$/m);
  assert.match(
    block.message,
    new RegExp(`^  ${FIXTURES}/output-mismatch\\.md:${fence + 1} +\\| first$`, "m"),
  );
  assert.equal(block.output, "first\nsecond\nthird\n");
});

Deno.test("a syntax error fails its block, names the line, and the rest is skipped", async () => {
  const o = await fixture("syntax-error.md");
  const broken = lineOf("syntax-error.md", "fine +;");
  assert.deepEqual(statuses(o), ["skipped", "failed", "skipped"]);
  const [before, block, after] = runnable(o);
  assert.match(block.message, /SyntaxError/);
  assert.match(block.message, new RegExp(`${FIXTURES}/syntax-error\\.md:${broken}:\\d+`));
  assert.doesNotMatch(block.message, /\.faultline/);
  assert.equal(before.message, `skipped: block at line ${block.line} does not compile`);
  assert.equal(after.message, `skipped: block at line ${block.line} does not compile`);
});

Deno.test("a type error fails its block with the diagnostic at the Markdown line", async () => {
  const o = await fixture("type-error.md");
  assert.deepEqual(statuses(o), ["skipped", "failed", "skipped"]);
  const block = runnable(o)[1];
  const line = lineOf("type-error.md", "const label: string");
  assert.match(block.message, /TS2322/);
  assert.match(block.message, new RegExp(`at ${FIXTURES}/type-error\\.md:${line}:7`));
  assert.equal(block.output, "");
});

Deno.test("a block that throws fails with a stack mapped to the note", async () => {
  const o = await fixture("throws.md");
  assert.deepEqual(statuses(o), ["passed", "failed", "skipped"]);
  const [before, boom, after] = runnable(o);
  assert.equal(before.output, "before\n");
  assert.equal(boom.output, "about to throw\n");
  assert.match(boom.message, /^threw Error: boom/);
  const thrownAt = lineOf("throws.md", 'throw new Error("boom")');
  const calledAt = lineOf("throws.md", "explode();");
  assert.match(boom.message, new RegExp(`${FIXTURES}/throws\\.md:${thrownAt}:9`));
  assert.match(boom.message, new RegExp(`${FIXTURES}/throws\\.md:${calledAt}:1`));
  assert.doesNotMatch(boom.message, /literate\/[a-z_]+\.ts|\.faultline/);
  assert.equal(after.message, `skipped: block at line ${boom.line} failed`);
});

Deno.test("a block that never ends is stopped at its timeout", async () => {
  const o = await fixture("infinite-loop.md");
  assert.deepEqual(statuses(o), ["failed", "skipped"]);
  const [spin, after] = runnable(o);
  assert.equal(
    spin.message,
    `block at ${FIXTURES}/infinite-loop.md:${spin.line} did not finish within 0.5 s`,
  );
  assert.ok(spin.durationMs >= 500 && spin.durationMs < 10_000, `${spin.durationMs} ms`);
  assert.equal(after.message, `skipped: block at line ${spin.line} failed`);
});

Deno.test("an unterminated fence is a problem of the note, and nothing runs", async () => {
  const o = await fixture("unterminated.md");
  const open = lineOf("unterminated.md", "````ts");
  assert.equal(o.problems.length, 1);
  assert.equal(o.problems[0].line, open);
  assert.match(o.problems[0].message, /unterminated fence/);
  assert.equal(o.passed, false);
  const [closed] = runnable(o);
  assert.equal(closed.status, "skipped");
  assert.match(closed.message, new RegExp(`malformed \\(line ${open}: unterminated`));
  assert.equal(closed.output, "");
});

Deno.test("an empty note passes, with a note saying so", async () => {
  const o = await fixture("empty.md");
  assert.deepEqual(o.blocks, []);
  assert.deepEqual(o.problems, []);
  assert.equal(o.passed, true);
  assert.equal(o.note, "no runnable blocks");
});

Deno.test("blocks in other languages and run=false blocks do not run", async () => {
  const o = await fixture("other-languages.md");
  assert.deepEqual(o.blocks.map((b) => [b.lang, b.status]), [
    ["text", "not-run"],
    ["c", "not-run"],
    ["sh", "not-run"],
    ["output", "not-run"],
    ["ts", "not-run"],
    ["typescript", "passed"],
    ["output", "not-run"],
  ]);
  assert.equal(o.passed, true);
  assert.equal(o.blocks[5].output, "typescript runs\n");
});

Deno.test("imports other than the project's are rejected with file and line", async () => {
  const o = await fixture("forbidden-import.md");
  const [block] = runnable(o);
  assert.equal(block.status, "failed");
  const at = (needle: string) =>
    `${FIXTURES}/forbidden-import.md:${lineOf("forbidden-import.md", needle)}: `;
  const expected = [
    [at("npm:marked"), /import "npm:marked@18\.2\.1": npm: specifiers are not allowed/],
    [at("jsr:@std"), /import "jsr:@std\/assert": jsr: specifiers/],
    [at("https://"), /: https: specifiers/],
    [at('"lodash"'), /import "lodash": bare specifiers/],
    [at("outside.ts"), /leaves the repository/],
    [at("node:assert"), /: node: specifiers/],
  ] as const;
  for (const [where, what] of expected) {
    const line = block.message.split("\n").find((l) => l.startsWith(where));
    assert.ok(line, `no message at ${where} in:\n${block.message}`);
    assert.match(line, what);
  }
  // The one allowed import is not among the complaints.
  assert.ok(!block.message.includes(at("../../mod.ts")), block.message);
});

Deno.test("expect= holds against the verdict of the block's last exploration", async () => {
  const o = await fixture("expect-match.md");
  assert.deepEqual(o.problems, []);
  const blocks = runnable(o);
  for (const b of blocks) assert.equal(b.status, "passed", `${b.line}: ${b.message}`);
  const [, kind, , , last, partial, error, livelock] = blocks;
  assert.equal(kind.exploration?.verdict, "violation");
  assert.equal(kind.exploration?.kind, "lost-update");
  assert.equal(kind.exploration?.exhaustive, true);
  assert.ok((kind.exploration?.executions ?? 0) >= 2);
  assert.match(kind.exploration?.schedule ?? "", /^[0-9.:*]+$/);
  assert.deepEqual(kind.exploration?.trace?.columns, ["CPU0", "CPU1"]);
  assert.equal(kind.exploration?.trace?.violation?.kind, "lost-update");
  assert.equal(last.explorations, 2);
  assert.equal(last.exploration?.verdict, "safe");
  assert.equal(partial.exploration?.exhaustive, false);
  assert.equal(error.exploration?.kind, "exception");
  assert.equal(livelock.exploration?.kind, "step-budget");
});

Deno.test("expect= that does not hold fails, and so do the blocks after it", async () => {
  const wrongVerdict = await fixture("expect-mismatch.md");
  assert.deepEqual(statuses(wrongVerdict), ["failed", "skipped"]);
  assert.match(
    runnable(wrongVerdict)[0].message,
    /^expect=safe, but the last exploration found violation:lost-update \(exhaustive, \d+ executions\): counter is 1$/,
  );

  const wrongKind = await fixture("expect-kind.md");
  assert.deepEqual(statuses(wrongKind), ["failed"]);
  assert.match(
    runnable(wrongKind)[0].message,
    /^expect=violation:use-after-free, but .* violation:lost-update/,
  );

  const nothing = await fixture("expect-nothing.md");
  assert.deepEqual(statuses(nothing), ["failed"]);
  assert.match(runnable(nothing)[0].message, /^expect=safe, but the block explored nothing/);
  assert.equal(runnable(nothing)[0].output, "no explore() here\n");
});

Deno.test("an error escaping a block (an unawaited rejection) fails that block", async () => {
  const o = await fixture("escaped-error.md");
  assert.deepEqual(statuses(o), ["failed", "skipped"]);
  const [block] = runnable(o);
  assert.equal(block.output, "the block itself completes\n");
  assert.match(block.message, /^an error escaped the block: Error: nobody awaited me/);
  assert.match(block.message, new RegExp(`${FIXTURES}/escaped-error\\.md:${block.line + 1}:`));
});

Deno.test("a top-level return that would end the note early fails its block", async () => {
  const o = await fixture("early-return.md");
  assert.deepEqual(statuses(o), ["failed", "skipped"]);
  assert.match(runnable(o)[0].message, /ended the note early/);
});

Deno.test("console methods print into the block's output", async () => {
  const o = await fixture("console.md");
  assert.deepEqual(statuses(o), ["passed"], runnable(o)[0].message);
});

Deno.test("every fixture is accounted for", async () => {
  // A new fixture without a test would pass or fail unseen.
  assert.deepEqual([...(await outcomes()).keys()].sort(), [
    "console.md",
    "early-return.md",
    "empty.md",
    "escaped-error.md",
    "expect-kind.md",
    "expect-match.md",
    "expect-mismatch.md",
    "expect-nothing.md",
    "forbidden-import.md",
    "infinite-loop.md",
    "other-languages.md",
    "output-mismatch.md",
    "shared-scope.md",
    "syntax-error.md",
    "throws.md",
    "type-error.md",
    "unterminated.md",
  ]);
});

/** A stand-in for Deno.TestContext that records steps and what they threw. */
function recorder(): { t: Deno.TestContext; steps: { name: string; error?: string }[] } {
  const steps: { name: string; error?: string }[] = [];
  const t = {
    async step(name: string, fn: () => void | Promise<void>) {
      try {
        await fn();
        steps.push({ name });
      } catch (e) {
        steps.push({ name, error: e instanceof Error ? e.message : String(e) });
      }
      return true;
    },
  } as unknown as Deno.TestContext;
  return { t, steps };
}

Deno.test("docSteps: one step per runnable block, named by file, line and heading", async () => {
  const o = await fixture("throws.md");
  const { t, steps } = recorder();
  await docSteps(t, o);
  const [first, boom, after] = runnable(o);
  assert.deepEqual(steps.map((s) => s.name), [
    `${FIXTURES}/throws.md:${first.line} (Throwing block)`,
    `${FIXTURES}/throws.md:${boom.line} (Boom)`,
    `${FIXTURES}/throws.md:${after.line} (After)`,
  ]);
  assert.equal(steps[0].error, undefined);
  // The failure shows the block's code with its Markdown line numbers.
  assert.match(steps[1].error ?? "", /threw Error: boom/);
  assert.match(steps[1].error ?? "", new RegExp(`^ +${boom.line + 5} \\| explode\\(\\);$`, "m"));
  assert.match(steps[2].error ?? "", /skipped: block at line \d+ failed/);
});

Deno.test("docSteps: a malformed note fails a step of its own", async () => {
  const o = await fixture("unterminated.md");
  const { t, steps } = recorder();
  await docSteps(t, o);
  const open = lineOf("unterminated.md", "````ts");
  assert.ok(steps.every((s) => s.error !== undefined));
  assert.equal(steps[0].name, `${FIXTURES}/unterminated.md:${open} (the note)`);
  assert.equal(steps.length, 2);
});

Deno.test("runDocSteps: each block runs inside its own step", async () => {
  const names = ["throws.md", "unterminated.md", "empty.md", "shared-scope.md"];
  const pages = names.map((n) => parseDoc(read(`${FIXTURES}/${n}`), `${FIXTURES}/${n}`));
  const [throws, unterminated, empty, shared] = await compileDocs(pages);

  const a = recorder();
  await runDocSteps(a.t, throws);
  assert.deepEqual(
    a.steps.map((s) => [s.name.replace(/.*:(\d+).*/, "$1"), s.error !== undefined]),
    [
      [String(lineOf("throws.md", "```ts")), false],
      [String(lineOf("throws.md", "```ts", lineOf("throws.md", "## Boom"))), true],
      [String(lineOf("throws.md", "```ts", lineOf("throws.md", "## After"))), true],
    ],
  );
  assert.match(a.steps[1].error ?? "", /threw Error: boom/);
  assert.match(a.steps[2].error ?? "", /^.*: skipped: block at line \d+ failed/);

  const b = recorder();
  await runDocSteps(b.t, unterminated);
  assert.equal(b.steps.length, 2);
  assert.match(b.steps[0].name, /unterminated\.md:\d+ \(the note\)$/);
  assert.match(b.steps[0].error ?? "", /unterminated fence/);
  assert.match(b.steps[1].error ?? "", /skipped: the note is malformed/);

  const c = recorder();
  await runDocSteps(c.t, empty);
  assert.deepEqual(c.steps, [{ name: `${FIXTURES}/empty.md: no runnable blocks` }]);

  const d = recorder();
  await runDocSteps(d.t, shared);
  assert.deepEqual(d.steps.map((s) => s.error), [undefined, undefined, undefined]);
});

Deno.test("a failing note fails deno test, skipped blocks included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/notes_test.ts`;
    await Deno.writeTextFile(
      file,
      `import { testDocs } from ${JSON.stringify(new URL("literate/mod.ts", ROOT).href)};\n` +
        `testDocs(${JSON.stringify([`${FIXTURES}/throws.md`, `${FIXTURES}/empty.md`])});\n`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-read", "--allow-write", "--allow-env", "--allow-run", file],
      cwd: new URL(".", ROOT).pathname,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 1, text);
    const boom = lineOf("throws.md", "```ts", lineOf("throws.md", "## Boom"));
    const after = lineOf("throws.md", "```ts", lineOf("throws.md", "## After"));
    assert.match(text, new RegExp(`throws\\.md:${boom} \\(Boom\\) \\.\\.\\. FAILED`));
    assert.match(text, new RegExp(`throws\\.md:${after} \\(After\\) \\.\\.\\. FAILED`));
    assert.match(text, new RegExp(`skipped: block at line ${boom} failed`));
    assert.match(text, /empty\.md: no runnable blocks \.\.\. ok/);
    assert.match(text, /1 passed \(\d+ steps?\) \| 1 failed \(2 steps\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDoc on a page parsed from a string", async () => {
  const page = parseDoc(
    "# Inline\n\n```ts\nconst x: number = 40;\n```\n\n```ts\nconsole.log(x + 2);\n```\n\n```output\n42   \n\n\n```\n",
    `${FIXTURES}/inline.md`,
  );
  const o = await runDoc(page);
  assert.deepEqual(statuses(o), ["passed", "passed"], o.blocks.map((b) => b.message).join("\n"));
  assert.equal(o.passed, true);
});

Deno.test("compareOutput ignores trailing spaces and trailing blank lines, nothing else", () => {
  const fence = { code: "a  \nb\n\n", line: 10 };
  assert.equal(compareOutput("x.md", fence, "a\nb\n"), undefined);
  assert.equal(compareOutput("x.md", fence, "a\nb   \n\n\n\n"), undefined);
  assert.match(compareOutput("x.md", fence, " a\nb\n") ?? "", /^- x\.md:11 \| a$/m);
  assert.match(compareOutput("x.md", fence, "\na\nb\n") ?? "", /^\+ +\|$/m);
  assert.match(compareOutput("x.md", fence, "a\n") ?? "", /^- x\.md:12 \| b$/m);
});

Deno.test("judgeExpectation", () => {
  const safe = { verdict: "safe", executions: 3, exhaustive: true } as const;
  const race = {
    verdict: "violation",
    executions: 4,
    exhaustive: true,
    kind: "lost-update",
    message: "counter is 1",
  } as const;
  assert.equal(judgeExpectation("safe", safe), undefined);
  assert.equal(judgeExpectation("violation", race), undefined);
  assert.equal(judgeExpectation("violation:lost-update", race), undefined);
  assert.match(judgeExpectation("violation:deadlock", race) ?? "", /found violation:lost-update/);
  assert.match(judgeExpectation("safe", race) ?? "", /found violation:lost-update/);
  assert.match(
    judgeExpectation("violation", safe) ?? "",
    /found safe \(exhaustive, 3 executions\)/,
  );
  assert.match(judgeExpectation("safe", undefined) ?? "", /explored nothing/);
});

Deno.test("resolveImport", () => {
  const note = new URL("docs/note.md", ROOT);
  assert.equal(
    (resolveImport("../mod.ts", note, ROOT) as { url: URL }).url.href,
    new URL("mod.ts", ROOT).href,
  );
  assert.equal(
    (resolveImport("./other.ts", note, ROOT) as { url: URL }).url.href,
    new URL("docs/other.ts", ROOT).href,
  );
  for (
    const bad of [
      "npm:x",
      "jsr:@a/b",
      "node:fs",
      "https://x.y/z.ts",
      "x",
      "/etc/x.ts",
      "../../x.ts",
    ]
  ) {
    assert.ok("error" in resolveImport(bad, note, ROOT), bad);
  }
});
