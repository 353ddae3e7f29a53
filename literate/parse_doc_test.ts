/**
 * Tests of the design-note parser: whole pages compared with what they must parse to,
 * then the CommonMark fence rules, headings, ids, directives and errors one by one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseDoc, parseExpectation, slugify } from "./parse_doc.ts";
import type { DocBlock } from "./doc_page.ts";

const md = (...lines: string[]) => lines.join("\n");

Deno.test("a whole note, golden", () => {
  const markdown = md(
    "Intro text.", // 1
    "", // 2
    "```ts", // 3
    "const a = 1;", // 4
    "```", // 5
    "", // 6
    "# Michel's race", // 7
    "", // 8
    "## Setup", // 9
    "", // 10
    "```ts expect=violation:store-into-detached-table timeout=5", // 11
    "explore(race);", // 12
    "", // 13
    "console.log(1);", // 14
    "```", // 15
    "", // 16
    "Some prose.", // 17
    "", // 18
    "```output", // 19
    "1", // 20
    "```", // 21
    "", // 22
    "~~~c", // 23
    "int x;", // 24
    "~~~", // 25
  );
  const page = parseDoc(markdown, "docs/race.md");
  const blocks: DocBlock[] = [
    {
      id: "top-1",
      lang: "ts",
      info: "ts",
      directives: {},
      code: "const a = 1;",
      line: 3,
      heading: "",
      runnable: true,
    },
    {
      id: "setup-1",
      lang: "ts",
      info: "ts expect=violation:store-into-detached-table timeout=5",
      directives: { expect: "violation:store-into-detached-table", timeout: "5" },
      code: "explore(race);\n\nconsole.log(1);",
      line: 11,
      heading: "Setup",
      runnable: true,
      expectedOutput: { code: "1", line: 19 },
    },
    {
      id: "setup-2",
      lang: "output",
      info: "output",
      directives: {},
      code: "1",
      line: 19,
      heading: "Setup",
      runnable: false,
    },
    {
      id: "setup-3",
      lang: "c",
      info: "c",
      directives: {},
      code: "int x;",
      line: 23,
      heading: "Setup",
      runnable: false,
    },
  ];
  assert.deepEqual(page, {
    path: "docs/race.md",
    title: "Michel's race",
    markdown,
    blocks,
    errors: [],
  });
});

Deno.test("an empty note: no blocks, no errors, titled by its file name", () => {
  assert.deepEqual(parseDoc("", "docs/empty.md"), {
    path: "docs/empty.md",
    title: "empty.md",
    markdown: "",
    blocks: [],
    errors: [],
  });
});

Deno.test("fences", async (t) => {
  const only = (markdown: string) => {
    const page = parseDoc(markdown, "x.md");
    assert.deepEqual(page.errors, []);
    return page.blocks;
  };

  await t.step("tildes, and a closing fence may be longer but not shorter", () => {
    const [block] = only(md("~~~~ts", "~~~", "```", "code", "~~~~~~  "));
    assert.equal(block.code, "~~~\n```\ncode");
  });

  await t.step("only the opening character closes", () => {
    assert.equal(only(md("```", "~~~", "```")).length, 1);
    assert.equal(only(md("```", "~~~", "```"))[0].code, "~~~");
  });

  await t.step("a closing fence has no info string", () => {
    const blocks = only(md("```ts", "``` not a close", "```"));
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].code, "``` not a close");
  });

  await t.step("up to three spaces of indentation, stripped from the content", () => {
    const [block] = only(md("  ```ts", "    indented", " one", "x", "   ```"));
    assert.equal(block.code, "  indented\none\nx");
    assert.equal(block.line, 1);
  });

  await t.step("four spaces make indented code, not a fence", () => {
    assert.deepEqual(only(md("    ```ts", "    x", "    ```")), []);
  });

  await t.step("a backtick fence's info string may not contain a backtick", () => {
    assert.deepEqual(only(md("```ts `x`", "text")), []);
    assert.equal(only(md("~~~text `x`", "~~~"))[0].info, "text `x`");
  });

  await t.step("an empty block, and CRLF line endings", () => {
    const blocks = only("```ts\r\n```\r\n\r\n```ts\r\na\r\nb\r\n```\r\n");
    assert.deepEqual(blocks.map((b) => [b.line, b.code]), [[1, ""], [4, "a\nb"]]);
  });

  await t.step("fences inside an HTML comment are not blocks", () => {
    const blocks = only(md("<!--", "```ts", "hidden", "```", "-->", "```ts", "shown", "```"));
    assert.deepEqual(blocks.map((b) => b.code), ["shown"]);
    assert.deepEqual(only(md("<!-- one line -->", "```ts", "x", "```")).length, 1);
  });
});

Deno.test("headings and ids", async (t) => {
  await t.step("ATX headings, closing hashes dropped; setext headings", () => {
    const page = parseDoc(
      md(
        "## A *fancy* `heading` ##",
        "```ts",
        "```",
        "Setext title",
        "============",
        "```ts",
        "```",
        "Sub",
        "heading",
        "---",
        "```ts",
        "```",
      ),
      "x.md",
    );
    assert.deepEqual(page.blocks.map((b) => [b.heading, b.id]), [
      ["A *fancy* `heading`", "a-fancy-heading-1"],
      ["Setext title", "setext-title-1"],
      ["Sub heading", "sub-heading-1"],
    ]);
    assert.equal(page.title, "Setext title");
  });

  await t.step("a rule after a list item or a blank line is not a heading", () => {
    const page = parseDoc(
      md("# T", "- item", "  more", "---", "```ts", "```", "", "---", "```ts", "```"),
      "x.md",
    );
    assert.deepEqual(page.blocks.map((b) => b.heading), ["T", "T"]);
  });

  await t.step("a heading inside a fence is code", () => {
    const page = parseDoc(md("# Real", "```md", "# Not a heading", "```", "```ts", "```"), "x.md");
    assert.deepEqual(page.blocks.map((b) => b.heading), ["Real", "Real"]);
  });

  await t.step("ids count per slug, so repeated headings stay unique", () => {
    const page = parseDoc(
      md(
        "```ts",
        "```",
        "## Example",
        "```ts",
        "```",
        "```ts",
        "```",
        "## Other",
        "```ts",
        "```",
        "## Example!",
        "```ts",
        "```",
        "## ???",
        "```ts",
        "```",
      ),
      "x.md",
    );
    assert.deepEqual(page.blocks.map((b) => b.id), [
      "top-1",
      "example-1",
      "example-2",
      "other-1",
      "example-3",
      "section-1",
    ]);
  });

  await t.step("slugs", () => {
    assert.equal(slugify("Michel's race: RCU + GFP_NOWAIT"), "michels-race-rcu-gfp_nowait");
    assert.equal(slugify("  Per-VMA  locks (6.4) "), "per-vma-locks-64");
  });

  await t.step("the title is the first level-1 heading", () => {
    assert.equal(parseDoc(md("## Two", "# One", "# Later"), "d/x.md").title, "One");
    assert.equal(parseDoc(md("## Two"), "d/x.md").title, "x.md");
  });
});

Deno.test("languages, directives, runnable", () => {
  const page = parseDoc(
    md(
      "```TS run=false",
      "```",
      "```typescript expect=safe",
      "```",
      "```js",
      "```",
      "```",
      "```",
      "```ts run=true timeout=0.5",
      "```",
    ),
    "x.md",
  );
  assert.deepEqual(page.errors, []);
  assert.deepEqual(page.blocks.map((b) => [b.lang, b.runnable, b.directives]), [
    ["ts", false, { run: "false" }],
    ["typescript", true, { expect: "safe" }],
    ["js", false, {}],
    ["", false, {}],
    ["ts", true, { run: "true", timeout: "0.5" }],
  ]);
});

Deno.test("output fences", async (t) => {
  await t.step("belong to the code block just above, past prose", () => {
    const page = parseDoc(md("```ts", "a", "```", "prose", "", "```output", "A", "```"), "x.md");
    assert.deepEqual(page.errors, []);
    assert.deepEqual(page.blocks[0].expectedOutput, { code: "A", line: 6 });
  });

  await t.step("after a block that does not run they are shown, not checked", () => {
    const page = parseDoc(
      md("```ts", "a", "```", "```sh", "ls", "```", "```output", "x", "```"),
      "x.md",
    );
    assert.deepEqual(page.errors, []);
    assert.equal(page.blocks[0].expectedOutput, undefined);
    assert.equal(page.blocks[1].expectedOutput, undefined);
  });

  await t.step("an output fence with no block before it is an error", () => {
    const page = parseDoc(md("# T", "```output", "x", "```"), "x.md");
    assert.equal(page.errors.length, 1);
    assert.equal(page.errors[0].line, 2);
    assert.match(page.errors[0].message, /must follow the code block/);
  });

  await t.step("two output fences for one block is an error", () => {
    const page = parseDoc(
      md("```ts", "```", "```output", "1", "```", "```output", "2", "```"),
      "x.md",
    );
    assert.deepEqual(page.errors, [{
      line: 6,
      message: "a second output fence for the block at line 1 (the first is at line 3)",
    }]);
    assert.deepEqual(page.blocks[0].expectedOutput, { code: "1", line: 3 });
  });
});

Deno.test("directive mistakes are errors of the note", () => {
  const page = parseDoc(
    md(
      "```ts expct=safe", // 1
      "```",
      "```ts expect=unsafe", // 3
      "```",
      "```ts expect=safe:kind", // 5
      "```",
      "```ts timeout=soon", // 7
      "```",
      "```ts run=false expect=safe", // 9
      "```",
      "```ts run=maybe", // 11
      "```",
      "```sh whatever=1", // 13: other languages are not ours to judge
      "```",
    ),
    "x.md",
  );
  assert.deepEqual(page.errors.map((e) => e.line), [1, 3, 5, 7, 9, 11]);
  const [unknown, unsafe, kindOnSafe, soon, never, maybe] = page.errors.map((e) => e.message);
  assert.match(unknown, /unknown directive "expct"/);
  assert.match(unsafe, /expect=unsafe names no verdict/);
  assert.match(kindOnSafe, /expect=safe:kind names no verdict/);
  assert.match(soon, /timeout=soon is not a positive number/);
  assert.match(never, /expect= on a block with run=false/);
  assert.match(maybe, /run=maybe/);
});

Deno.test("file= blocks are files of the repository: shown, not run", () => {
  const page = parseDoc(
    md(
      "```ts file=strategies/no_lock.ts", // 1
      'import type { Strategy } from "./strategy.ts";',
      "```",
      "````md file=docs/no-lock.md", // 4
      "```ts expect=safe",
      "```",
      "````",
      "```diff file=strategies/mod.ts", // 8
      "+x",
      "```",
      "```ts file=strategies/no_lock.ts expect=safe", // 11
      "```",
      "```ts file", // 13
      "```",
      "```md file=../outside.md", // 15
      "```",
      "```ts file=/etc/passwd", // 17
      "```",
    ),
    "x.md",
  );
  assert.deepEqual(
    page.blocks.slice(0, 3).map((b) => [b.lang, b.runnable, b.directives.file]),
    [
      ["ts", false, "strategies/no_lock.ts"],
      ["md", false, "docs/no-lock.md"],
      ["diff", false, "strategies/mod.ts"],
    ],
  );
  assert.equal(page.blocks[1].code, "```ts expect=safe\n```");
  assert.deepEqual(page.errors.map((e) => e.line), [11, 13, 15, 17]);
  const [expect, bare, outside, absolute] = page.errors.map((e) => e.message);
  assert.match(expect, /expect= on a block with file=strategies\/no_lock\.ts, which never runs/);
  assert.match(bare, /file=true: name a file by its path from the repository root/);
  assert.match(outside, /file=\.\.\/outside\.md/);
  assert.match(absolute, /file=\/etc\/passwd/);
});

Deno.test("an unterminated fence is an error at its opening line", () => {
  const page = parseDoc(
    md("# T", "```ts", "ok", "```", "", "````ts", "x", "```", "~~~~"),
    "x.md",
  );
  assert.equal(page.blocks.length, 1);
  assert.equal(page.blocks[0].code, "ok");
  assert.deepEqual(page.errors.map((e) => e.line), [6]);
  assert.match(page.errors[0].message, /unterminated fence: the ````ts opened at line 6/);
  assert.match(page.errors[0].message, /at least 4 backticks/);
});

Deno.test("parseExpectation", () => {
  assert.deepEqual(parseExpectation("safe"), { verdict: "safe" });
  assert.deepEqual(parseExpectation("not-exhaustive"), { verdict: "not-exhaustive" });
  assert.deepEqual(parseExpectation("violation:store-into-detached-table"), {
    verdict: "violation",
    kind: "store-into-detached-table",
  });
  for (const bad of ["", "Safe", "violation:", "error:exception", "safe extra"]) {
    assert.equal(parseExpectation(bad), undefined, bad);
  }
});
