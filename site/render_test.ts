/**
 * Tests of the site's rendering: nothing from a note or a trace can inject markup, the
 * matrix and trace pages show everything they are given, code is highlighted, and a
 * whole build on a small docs folder with a given matrix writes the pages it should.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { check, type MatrixCell, scenarios, strategies, type Trace } from "../mod.ts";
import { parseDoc, ROOT } from "../literate/mod.ts";
import { buildSite } from "./build.ts";
import {
  type BlockView,
  type CellView,
  highlight,
  indexPage,
  type MatrixInput,
  matrixPage,
  matrixTable,
  notePage,
  renderNote,
  type SiteContext,
} from "./render.ts";
import { tracePage } from "./trace_view.ts";

const EVIL = `<script>alert(1)</script><img src=x onerror="alert(2)">`;

const ctx: SiteContext = {
  notes: [{ href: "notes/evil.html", title: `Evil ${EVIL}` }, {
    href: "notes/other.html",
    title: "Other",
  }],
  builtAt: "2022-05-04 00:00 UTC",
};

/** Attributes the site's own markup uses; anything else in a tag was injected. */
const ATTRIBUTES = new Set([
  "href",
  "id",
  "class",
  "title",
  "lang",
  "charset",
  "name",
  "content",
  "http-equiv",
  "rel",
  "src",
  "alt",
  "type",
  "scope",
  "colspan",
  "hidden",
  "role",
  "aria-label",
  "aria-current",
  "aria-live",
  "aria-pressed",
]);

/**
 * Fails if `page` holds live markup that its inputs could have put there: a script other
 * than the site's own, a `javascript:` URL in an attribute, an attribute the site never
 * writes (`onerror=`...), or a tag the site never writes.
 */
function assertInert(page: string, ownScripts: readonly string[] = []): void {
  const scripts = [...page.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
  assert.deepEqual(scripts, ownScripts.map((s) => `<script src="${s}">`), "scripts");
  for (const tag of page.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>/g)) {
    assert.notEqual(tag[1].toLowerCase(), "img", `an <img> from a note: ${tag[0]}`);
    assert.notEqual(tag[1].toLowerCase(), "iframe", tag[0]);
    for (const attr of tag[2].matchAll(/\s([^\s="'>]+)(?:="([^"]*)")?/g)) {
      const name = attr[1].toLowerCase();
      assert.ok(ATTRIBUTES.has(name) || name.startsWith("data-"), `attribute ${name} in ${tag[0]}`);
      assert.doesNotMatch(attr[2] ?? "", /^\s*(javascript|data|vbscript):/i, tag[0]);
    }
  }
  assert.doesNotMatch(page, /<[a-z]+[^>]*\sjavascript:/i);
}

Deno.test("a note cannot inject markup", async (t) => {
  const markdown = [
    `# Heading ${EVIL}`,
    "",
    `Prose ${EVIL} and <b onclick="alert(3)">bold</b> and \`${EVIL}\` in code.`,
    "",
    `<div onmouseover="alert(4)">a raw HTML block</div>`,
    "",
    "[a link](javascript:alert(5)) [another](JaVaScRiPt:alert(6)) [data](data:text/html,x)",
    "[entity](&#106;avascript:alert(11)) [tab](<java\tscript:alert(12)>)",
    `[titled](https://example.org/ "x\\" onmouseover=\\"alert(7)") [note](other.md#part)`,
    "![image](javascript:alert(8)) <javascript:alert(9)> [missing](missing.md)",
    "",
    `## ${EVIL} again`,
    "",
    "```ts expect=safe",
    `const s = "${EVIL}";`,
    "```",
    "",
    "```html",
    EVIL,
    "```",
  ].join("\n");
  const page = parseDoc(markdown, "docs/evil.md");
  const tsBlock = page.blocks.find((b) => b.lang === "ts")!;
  const view: BlockView = {
    status: "failed",
    message: `expected safe, found ${EVIL}`,
    durationMs: 12,
    exploration: { verdict: "violation", kind: EVIL, executions: 3, exhaustive: true },
    traceHref: `traces/x.html" onclick="alert(10)`,
  };
  const input = {
    page,
    path: "notes/evil.html",
    blocks: new Map([[tsBlock.id, view]]),
    problems: [{ line: 1, message: EVIL }],
    links: new Map([["other.md", "notes/other.html"]]),
  };
  const rendered = renderNote(input);
  const html = notePage(ctx, input, rendered);

  await t.step("no live script, handler, or javascript: URL", () => assertInert(html));
  await t.step("the hostile text is still there, as text", () => {
    assert.match(html, /Prose &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /<h1 id="[^"]*">Heading &lt;script&gt;/);
    assert.match(html, /&lt;div onmouseover=&quot;alert\(4\)&quot;&gt;/);
    assert.match(html, /<code>&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });
  await t.step("unsafe links are dropped, safe ones kept", () => {
    assert.match(html, /<span class="dead-link">a link<\/span>/);
    assert.match(html, /<span class="dead-link">another<\/span>/);
    assert.match(html, /<span class="dead-link">data<\/span>/);
    // Not decoded, so not a scheme: the browser reads `&#106;avascript:...` as a file name.
    assert.match(html, /<a href="&amp;#106;avascript:alert\(11\)">entity<\/a>/);
    assert.match(html, /<span class="dead-link">tab<\/span>/);
    assert.match(html, /<a href="\.\.\/notes\/other.html#part">note<\/a>/);
    assert.match(html, /<a href="https:\/\/example.org\/" title="x&quot; onmouseover=/);
    assert.deepEqual(rendered.brokenLinks, ["missing.md"]);
  });
  await t.step("the block carries its outcome, escaped", () => {
    assert.deepEqual(rendered.unmatched, []);
    assert.match(
      html,
      new RegExp(`<figure class="block status-failed[^"]*" id="block-${tsBlock.id}"`),
    );
    assert.match(html, /<pre class="message">expected safe, found &lt;script&gt;/);
    assert.match(html, /href="\.\.\/traces\/x.html&quot; onclick=&quot;alert\(10\)"/);
  });
});

/** A trace whose every name is hostile. */
function evilTrace(): Trace {
  const step = (n: number, column: string) => ({
    step: n,
    thread: column === EVIL ? 1 : 0,
    threadName: column,
    column,
    label: `label ${EVIL}`,
    detail: `detail ${EVIL}`,
    choice: `choice ${EVIL}`,
    notes: [`note ${EVIL}`],
    accesses: [{ kind: "write" as const, obj: `PUD@${EVIL}`, part: EVIL }],
  });
  return {
    columns: ["CPU0", EVIL],
    steps: [step(1, "CPU0"), step(2, EVIL), step(3, "CPU0")],
    violation: {
      kind: `kind ${EVIL}`,
      message: `message ${EVIL} (step 2)`,
      objects: [{ name: `PUD@${EVIL}`, history: [`freed by ${EVIL} (step 2)`] }],
      step: 3,
    },
  };
}

Deno.test("a trace cannot inject markup, and shows every step and object", () => {
  const page = tracePage(ctx, {
    path: "traces/evil.html",
    title: `title ${EVIL}`,
    kind: `kind ${EVIL}`,
    message: `message ${EVIL} (step 2)`,
    trace: evilTrace(),
    schedule: `0*1.${EVIL}`,
    token: `faultline1:${EVIL}:'quoted':0`,
    facts: [{ label: `fact ${EVIL}`, value: EVIL }],
    shownIn: [{ label: EVIL, href: `notes/evil.html#${EVIL}` }],
  });
  assertInert(page, ["../assets/trace.js"]);
  for (const n of [1, 2, 3]) assert.match(page, new RegExp(`<tr id="step-${n}" data-step="${n}"`));
  assert.match(page, /<tr id="step-3" data-step="3" data-column="CPU0" class="violation">/);
  assert.match(page, /<th scope="col">&lt;script&gt;/);
  assert.match(page, /<h3><code>PUD@&lt;script&gt;/);
  assert.match(page, /freed by &lt;script&gt;alert\(1\)&lt;\/script&gt;.*\(<a class="step-ref"/);
  // The replay command survives the shell: the quote inside the token is escaped for it.
  assert.match(page, /\.\/faultline replay &#39;faultline1:.*&#39;\\&#39;&#39;quoted/);
});

function cellsFor(names: readonly string[], works: readonly string[]): CellView[] {
  return names.flatMap((s, i) =>
    works.map((w, j) => ({
      strategy: s,
      scenario: w,
      verdict: (i + j) % 2 ? "violation" : "safe",
      ...((i + j) % 2 ? { kind: `use-after-free ${EVIL}` } : {}),
      expected: "safe",
      asExpected: (i + j) % 2 === 0,
      executions: i * 10 + j + 1,
      exhaustive: j !== 1,
    }))
  );
}

Deno.test("the matrix shows every strategy and scenario it is given, each with a verdict", async (t) => {
  const input = (
    ss: readonly { name: string }[],
    ws: readonly { name: string }[],
  ): MatrixInput => ({
    cells: cellsFor(ss.map((s) => s.name), ws.map((w) => w.name)),
    strategies: ss,
    scenarios: ws,
    traceOf: (c) => c.verdict === "violation" ? `traces/${c.strategy}.html` : undefined,
    noteOf: (s) => s === strategies[0].name ? "notes/x.html" : undefined,
  });
  await t.step("the real strategies and scenarios", () => {
    const m = input(strategies, scenarios);
    for (const page of [matrixPage(ctx, m), indexPage(ctx, m)]) {
      assertInert(page);
      for (const s of strategies) {
        assert.match(page, new RegExp(`<th scope="row" data-strategy="${s.name}">`));
        for (const w of scenarios) {
          assert.match(
            page,
            new RegExp(
              `data-verdict="(safe|violation)" data-strategy="${s.name}" data-scenario="${w.name}"`,
            ),
          );
        }
      }
      for (const w of scenarios) assert.match(page, new RegExp(`data-scenario="${w.name}" title=`));
      const cells = page.match(/<td class="cell /g) ?? [];
      assert.equal(cells.length, strategies.length * scenarios.length);
      assert.match(page, /1 execution, exhaustive/);
      assert.match(page, /NOT exhaustive/);
    }
  });
  await t.step("hostile names stay text", () => {
    const m = input([{ name: `s ${EVIL}` }], [{ name: `w-${EVIL}` }, { name: "w2" }]);
    const page = matrixPage(ctx, m);
    assertInert(page);
    assert.equal((page.match(/<td class="cell /g) ?? []).length, 2);
  });
  await t.step("a pair that was not run says so", () => {
    const m = { ...input(strategies, scenarios), cells: [] };
    assert.match(
      matrixPage(ctx, m),
      /<td class="cell missing" data-verdict="none" data-strategy="[^"]+" data-scenario="[^"]+">not run<\/td>/,
    );
  });
});

Deno.test("highlight: hljs spans for the notes' languages, escaped text for the rest", () => {
  const ts = highlight(`const a = "<b>"; // ${EVIL}`, "ts").value;
  assert.match(ts, /<span class="hljs-keyword">const<\/span>/);
  assert.match(ts, /<span class="hljs-string">&quot;&lt;b&gt;&quot;<\/span>/);
  assert.doesNotMatch(ts, /<script/);
  assert.match(highlight("if (pte_none(*pte)) return;", "c").value, /hljs-keyword/);
  assert.equal(
    highlight(EVIL, "text").value,
    EVIL.replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;"),
  );
});

Deno.test("buildSite on a small docs folder and a given matrix", async () => {
  // Inside the repository (in the ignored .faultline/), as a note imports only from it.
  const work = fileURLToPath(new URL(".faultline/", ROOT));
  await Deno.mkdir(work, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: work, prefix: "site-test-" });
  try {
    const docs = join(tmp, "docs");
    await Deno.mkdir(join(docs, "img"), { recursive: true });
    await Deno.writeTextFile(join(docs, "img", "x.png"), "not really a png");
    await Deno.writeTextFile(
      join(docs, "index.md"),
      `# Start\n\nRead [the race](race.md) first; ${EVIL}; [gone](gone.md).\n`,
    );
    await Deno.writeTextFile(
      join(docs, "race.md"),
      [
        "# The race",
        "",
        "## Found",
        "",
        "```ts expect=violation:store-into-detached-table",
        'import { check } from "../../../mod.ts";',
        'const c = check("rcu-gfp-nowait", "fault-vs-munmap");',
        "console.log(c.outcome);",
        "```",
        "",
        "```output",
        "violation:store-into-detached-table",
        "```",
      ].join("\n"),
    );
    const matrix = ["mmap-lock", "rcu-gfp-nowait"].map((s) => cellOf(s, "fault-vs-munmap"));
    const out = join(tmp, "site");
    const result = await buildSite({ outDir: out, docsDir: docs, matrix });
    assert.deepEqual(result.pages, [
      "index.html",
      "matrix.html",
      "notes/index.html",
      "notes/race.html",
      "playground.html",
      "traces/rcu-gfp-nowait.fault-vs-munmap.html",
    ]);
    assert.deepEqual(result.warnings, [
      `${
        relative(fileURLToPath(ROOT), join(docs, "index.md"))
      }: links to gone.md, which is not a note`,
    ]);
    assert.deepEqual(result.notes.map((n) => n.passed), [true, true]);
    const read = (p: string) => Deno.readTextFileSync(join(out, p));
    // The playground is the site's own form and scripts, not a note's text.
    for (const p of result.pages.filter((p) => p !== "playground.html")) {
      assertInert(read(p), p.startsWith("traces/") ? ["../assets/trace.js"] : []);
    }
    const race = read("notes/race.html");
    assert.match(race, /✓ passed/);
    assert.match(race, /store-into-detached-table<\/code> · 127 executions · exhaustive/);
    // The note's exploration found the matrix's trace: one page, linked from both.
    assert.match(race, /href="\.\.\/traces\/rcu-gfp-nowait.fault-vs-munmap.html">step through/);
    const trace = read("traces/rcu-gfp-nowait.fault-vs-munmap.html");
    assert.match(
      trace,
      /Shown in <a href="\.\.\/matrix.html">the verdict matrix<\/a>, <a href="\.\.\/notes\/race.html#block-found-1">/,
    );
    assert.match(trace, /faultline1:rcu-gfp-nowait:fault-vs-munmap:/);
    // Reading order: the index note first, then the notes in the order it links them.
    assert.match(
      read("index.html"),
      /<ol class="note-list"><li><a href="notes\/index.html">Introduction<\/a><\/li><li><a href="notes\/race.html">The race<\/a>/,
    );
    assert.match(
      race,
      /<ol><li><a href="\.\.\/notes\/index.html">Introduction<\/a><\/li><li><a href="\.\.\/notes\/race.html" aria-current="page">The race<\/a>/,
    );
    assert.match(race, /<a rel="prev" href="\.\.\/notes\/index.html">← Introduction<\/a>/);
    assert.equal(read("notes/img/x.png"), "not really a png");
    for (const a of ["assets/site.css", "assets/trace.js", ".nojekyll"]) {
      await Deno.stat(join(out, a));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** A cell of the matrix, as runMatrix makes it, for one pair. */
function cellOf(strategy: string, scenario: string): MatrixCell {
  const c = check(strategy, scenario);
  const ce = c.result.counterexample;
  return {
    strategy,
    scenario,
    config: c.config,
    verdict: c.verdict,
    ...(ce ? { kind: ce.kind, counterexample: ce } : {}),
    outcome: c.outcome,
    expected: c.expected ?? "(none declared)",
    asExpected: c.asExpected,
    executions: c.result.executions,
    exhaustive: c.result.exhaustive,
    ...(c.token ? { token: c.token } : {}),
    millis: 0,
  };
}

Deno.test("a matrix cell whose count moved since it was recorded says from what", () => {
  const cell = {
    strategy: "s",
    scenario: "w",
    verdict: "safe",
    expected: "safe",
    asExpected: true,
    executions: 127,
    exhaustive: true,
  };
  const input = {
    cells: [cell],
    strategies: [{ name: "s" }],
    scenarios: [{ name: "w" }],
    traceOf: () => undefined,
    noteOf: () => undefined,
  };
  const moved = String(matrixTable({ ...input, recorded: { "s/w": 427 } }, "matrix.html"));
  assert.match(moved, /<span class="moved"[^>]*>was 427 executions<\/span>/);
  assert.match(moved, /1 count moved since tests\/explored_counts.json/);
  const same = String(matrixTable({ ...input, recorded: { "s/w": 127 } }, "matrix.html"));
  assert.doesNotMatch(same, /class="moved"/);
});
