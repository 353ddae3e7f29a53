/**
 * The site's HTML, as pure functions of data: a note (Markdown rendered with `marked`,
 * code highlighted with highlight.js, each code block marked with the outcome it had
 * when the site was built), the verdict matrix, the landing page, and the layout they
 * share. No I/O: {@link ./build.ts} gathers the data and writes the files.
 *
 * Everything from a note or a trace is text, never markup: the {@linkcode markup} tag
 * escapes whatever it interpolates unless it is already {@linkcode Html}, and raw HTML in
 * Markdown is shown as text, not passed through. (The tag is not called `html` because
 * `deno fmt` reformats templates of that name as HTML, whitespace inside `<pre>` included.)
 *
 * @module
 */

import { Marked, type Token, type Tokens } from "marked";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import json from "highlight.js/lib/languages/json";
import typescript from "highlight.js/lib/languages/typescript";
import type { DocBlock, DocPage } from "../literate/mod.ts";
import { slugify } from "../literate/mod.ts";
import { configDependence } from "./recorded_counts.ts";

// ---------------------------------------------------------------------------------
// Escaping.

/** A string that is already HTML: the {@linkcode markup} tag inserts it as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated into {@linkcode markup}: text (escaped), Html, lists of both. */
export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and quoted attribute values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./render.ts";
 * assert.equal(escapeHtml(`<a href="x">&</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

function flatten(part: Part): string {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(flatten).join("");
  if (part === null || part === undefined || typeof part === "boolean") return "";
  return escapeHtml(String(part));
}

/**
 * Template tag for HTML: interpolated strings and numbers are escaped, {@linkcode Html}
 * values go in as they are, arrays are joined, `null`, `undefined` and booleans vanish
 * (so `${cond && markup`...`}` works).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markup } from "./render.ts";
 * const name = "<script>alert(1)</script>";
 * assert.equal(
 *   markup`<td title="${name}">${[markup`<b>`, name, markup`</b>`]}</td>`.value,
 *   '<td title="&lt;script&gt;alert(1)&lt;/script&gt;"><b>&lt;script&gt;alert(1)&lt;/script&gt;</b></td>',
 * );
 * ```
 */
export function markup(strings: TemplateStringsArray, ...values: readonly Part[]): Html {
  let out = strings[0];
  values.forEach((v, i) => out += flatten(v) + strings[i + 1]);
  return new Html(out);
}

/**
 * A link target from a note, or undefined when it could run code: only relative links,
 * `#anchors`, http(s) and mailto are kept. Control characters and spaces are ignored
 * when the scheme is read, as browsers do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { safeHref } from "./render.ts";
 * assert.equal(safeHref("model.md#the-explorer"), "model.md#the-explorer");
 * assert.equal(safeHref("https://lore.kernel.org/"), "https://lore.kernel.org/");
 * assert.equal(safeHref(" java\tscript:alert(1)"), undefined);
 * ```
 */
export function safeHref(href: string): string | undefined {
  const probe = [...href].filter((ch) => ch > " " && ch !== "\x7f").join("");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(probe)?.[1]?.toLowerCase();
  if (scheme === undefined) return href.trim();
  return ["http", "https", "mailto"].includes(scheme) ? href.trim() : undefined;
}

// ---------------------------------------------------------------------------------
// Highlighting.

hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("c", c);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("json", json);

const LANGUAGES: Record<string, string> = {
  ts: "typescript",
  typescript: "typescript",
  js: "typescript",
  javascript: "typescript",
  c: "c",
  h: "c",
  sh: "bash",
  bash: "bash",
  shell: "bash",
  console: "bash",
  json: "json",
};

/**
 * Highlighted HTML of `code`: spans with highlight.js classes for the languages the
 * notes use (ts, c, sh, json), escaped plain text for the rest (text, output, md).
 */
export function highlight(code: string, lang: string): Html {
  const language = LANGUAGES[lang.toLowerCase()];
  if (!language) return new Html(escapeHtml(code));
  return new Html(hljs.highlight(code, { language, ignoreIllegals: true }).value);
}

// ---------------------------------------------------------------------------------
// Layout.

/** A note in the navigation. */
export interface NavNote {
  /** Site-relative path, e.g. `notes/model.html`. */
  readonly href: string;
  readonly title: string;
}

/** What every page shares. */
export interface SiteContext {
  /** The notes, in reading order. */
  readonly notes: readonly NavNote[];
  /** When the site was built (shown in the footer; passed in to keep rendering pure). */
  readonly builtAt: string;
  /**
   * Notes that failed when the site was built (`--allow-failing-notes`): every page
   * says so at the top, so that no reader takes a page of this build as checked.
   */
  readonly failingNotes?: readonly NavNote[];
}

/** One page of the site. */
export interface PageSpec {
  /** Site-relative path of the page, e.g. `traces/x.html`; links are made relative to it. */
  readonly path: string;
  readonly title: string;
  readonly body: Html;
  /** Site-relative paths of scripts the page loads. */
  readonly scripts?: readonly string[];
  /** A class for `<body>`, e.g. `trace-page`. */
  readonly bodyClass?: string;
  /**
   * No notes sidebar: the content takes the whole width (the landing page's matrix, a
   * trace's CPU columns); the notes stay one click away in the top bar.
   */
  readonly wide?: boolean;
}

/** `target` (site-relative) as seen from the page at `from` (site-relative). */
export function relativeTo(from: string, target: string): string {
  const depth = from.split("/").length - 1;
  return "../".repeat(depth) + target;
}

/**
 * The whole document of a page: head (with a Content-Security-Policy that allows only
 * the site's own CSS and JS), top bar, notes sidebar (unless the page is wide), content,
 * footer.
 */
export function layout(ctx: SiteContext, page: PageSpec): string {
  const to = (target: string) => relativeTo(page.path, target);
  const link = (href: string, label: string) =>
    markup`<a href="${to(href)}"${
      href === page.path ? markup` aria-current="page"` : ""
    }>${label}</a>`;
  const title = page.title === "faultline" ? "faultline" : `${page.title} · faultline`;
  const notes = ctx.notes.map((n) => markup`<li>${link(n.href, n.title)}</li>`);
  const failing = ctx.failingNotes ?? [];
  const banner = failing.length > 0 &&
    markup`<p class="failing-notes" role="alert"><strong>Built with failing notes:</strong> ${
      failing.map((n, i) => markup`${i > 0 ? ", " : ""}<a href="${to(n.href)}">${n.title}</a> ✗`)
    }. What those notes show was not confirmed by the checker.</p>
`;
  const scripts = (page.scripts ?? []).map((s) => markup`<script src="${to(s)}"></script>\n`);
  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'">
<title>${title}</title>
<link rel="stylesheet" href="${to("assets/site.css")}">
</head>
<body${page.bodyClass ? markup` class="${page.bodyClass}"` : ""}>
<header class="topbar">
<a class="brand" href="${to("index.html")}">faultline</a>
<nav class="toplinks" aria-label="Site">${link("index.html", "Home")}${
    link("matrix.html", "Verdict matrix")
  }${link("playground.html", "Playground")}${
    ctx.notes[0] ? link(ctx.notes[0].href, "Notes") : ""
  }</nav>
</header>
${banner}<div class="frame${page.wide ? " wide" : ""}">
${
    !page.wide && markup`<nav class="sidebar" aria-label="Notes">
<h2>Notes</h2>
<ol>${notes}</ol>
</nav>
`
  }<main id="content">
${page.body}
</main>
</div>
<footer class="footer">Built ${ctx.builtAt} by <code>deno task site</code>: every verdict and
every block outcome shown is what the model checker found then.</footer>
${scripts}</body>
</html>
`.value;
}

// ---------------------------------------------------------------------------------
// Notes.

/** What a code block of a note did when the site was built. */
export interface BlockView {
  readonly status: "passed" | "failed" | "skipped" | "not-run";
  /** Why it failed or was skipped. */
  readonly message: string;
  readonly durationMs?: number;
  /** The block's last exploration. */
  readonly exploration?: {
    readonly verdict: string;
    readonly kind?: string;
    readonly executions: number;
    readonly exhaustive: boolean;
  };
  /** Site-relative path of the trace page of the exploration's counterexample. */
  readonly traceHref?: string;
}

/** What a note page needs besides the parsed note. */
export interface NoteInput {
  readonly page: DocPage;
  /** Site-relative path of this note's page. */
  readonly path: string;
  /** Outcome per block id. */
  readonly blocks: ReadonlyMap<string, BlockView>;
  /** Problems of the note as a whole (malformed Markdown, a failed type check). */
  readonly problems: readonly { readonly line: number; readonly message: string }[];
  /** Markdown link target (`model.md`) → site-relative page of that note. */
  readonly links: ReadonlyMap<string, string>;
}

/** A rendered note, and what the renderer could not place. */
export interface RenderedNote {
  readonly body: Html;
  /** Blocks of the DocPage that no code block of the rendered Markdown matched. */
  readonly unmatched: readonly string[];
  /** Links to `.md` files that are not notes of the site (shown as text). */
  readonly brokenLinks: readonly string[];
}

function isComment(text: string): boolean {
  const t = text.trim();
  return t.startsWith("<!--") && t.indexOf("-->") === t.length - 3;
}

/** `1,234`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * `1 execution`, `1,234 executions`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { counted } from "./render.ts";
 * assert.equal(counted(1, "execution"), "1 execution");
 * assert.equal(counted(42197, "execution"), "42,197 executions");
 * ```
 */
export function counted(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** `violation store-into-detached-table · 427 executions · exhaustive`. */
function explorationSummary(e: NonNullable<BlockView["exploration"]>): Html {
  return markup`<span class="verdict-word verdict-${e.verdict}">${e.verdict}</span>${
    e.kind ? markup` <code class="kind">${e.kind}</code>` : ""
  } · ${counted(e.executions, "execution")} · ${e.exhaustive ? "exhaustive" : "not exhaustive"}`;
}

const ICONS: Record<BlockView["status"], string> = {
  passed: "✓",
  failed: "✗",
  skipped: "–",
  "not-run": "·",
};

function caption(view: BlockView, from: string): Html {
  const time = view.durationMs !== undefined && view.status !== "not-run"
    ? markup` <span class="duration">${count(Math.round(view.durationMs))} ms</span>`
    : "";
  const e = view.exploration;
  const trace = view.traceHref &&
    markup`<a class="trace-link" href="${
      relativeTo(from, view.traceHref)
    }">step through the trace →</a>`;
  return markup`<figcaption class="outcome">
<span class="status status-${view.status}">${ICONS[view.status]} ${view.status}</span>${time}${
    e && markup`<span class="exploration">last exploration: ${explorationSummary(e)}</span>`
  }${trace}${view.message && markup`<pre class="message">${view.message}</pre>`}
</figcaption>`;
}

function codeBlock(
  token: Tokens.Code,
  block: DocBlock | undefined,
  view: BlockView | undefined,
  from: string,
  isExpectedOutput: boolean,
  notePath: string,
): string {
  const lang = (token.lang ?? "").split(/\s+/)[0].toLowerCase();
  const label = block?.info || lang;
  const shown = view && (block?.runnable || view.status !== "not-run") ? view : undefined;
  const classes = ["block", shown ? `status-${shown.status}` : "static", lang && `lang-${lang}`]
    .filter(Boolean).join(" ");
  const info = label &&
    markup`<div class="info"><code>${label}</code>${
      block ? markup`<span class="line">${notePath}:${block.line}</span>` : ""
    }</div>`;
  const output = isExpectedOutput &&
    markup`<figcaption class="outcome"><span class="status status-output">⇡ what the block above must print; compared when it ran</span></figcaption>`;
  return markup`<figure class="${classes}"${block ? markup` id="block-${block.id}"` : ""}>
${info}<pre><code class="hljs${lang ? ` language-${lang}` : ""}">${
    highlight(token.text, lang)
  }</code></pre>${shown && caption(shown, from)}${output}
</figure>
`.value;
}

/**
 * Renders a note's Markdown to HTML. Code blocks are matched, in order, with the
 * DocPage's blocks (the same code), so each carries its outcome; headings get the
 * anchors the block ids use; links to other notes point at their pages; raw HTML is
 * shown as text; links that could run script are dropped.
 */
export function renderNote(input: NoteInput): RenderedNote {
  const { page, path } = input;
  const marked = new Marked({ gfm: true, async: false });
  const brokenLinks: string[] = [];
  const blockOf = new WeakMap<Tokens.Code, DocBlock>();
  const headingIds = new Map<string, number>();
  const outputLines = new Set(page.blocks.flatMap((b) => b.expectedOutput?.line ?? []));

  marked.use({
    renderer: {
      html(token: Tokens.HTML | Tokens.Tag): string {
        if (isComment(token.text)) return "";
        const text = escapeHtml(token.text);
        return token.block ? `<pre class="raw-html">${text}</pre>\n` : text;
      },
      text(token: Tokens.Text | Tokens.Escape): string {
        if ("tokens" in token && token.tokens) return this.parser.parseInline(token.tokens);
        return escapeHtml(token.text);
      },
      code(token: Tokens.Code): string {
        const block = blockOf.get(token);
        const view = block ? input.blocks.get(block.id) : undefined;
        const isOutput = block !== undefined && outputLines.has(block.line);
        return codeBlock(token, block, view, path, isOutput, page.path);
      },
      heading(token: Tokens.Heading): string {
        const inner = new Html(this.parser.parseInline(token.tokens));
        const plain = this.parser.parseInline(token.tokens, this.parser.textRenderer);
        const base = slugify(plain) || "section";
        const n = headingIds.get(base) ?? 0;
        headingIds.set(base, n + 1);
        const id = n === 0 ? base : `${base}-${n}`;
        const tag = `h${Math.min(6, Math.max(1, token.depth))}`;
        return `<${tag} id="${escapeHtml(id)}">${inner.value} <a class="anchor" href="#${
          escapeHtml(id)
        }" aria-label="Link to this section">#</a></${tag}>\n`;
      },
      link(token: Tokens.Link): string {
        const inner = new Html(this.parser.parseInline(token.tokens));
        const href = rewriteLink(token.href, input, brokenLinks);
        if (href === undefined) return markup`<span class="dead-link">${inner}</span>`.value;
        const title = token.title ? markup` title="${token.title}"` : "";
        return markup`<a href="${href}"${title}>${inner}</a>`.value;
      },
      image(token: Tokens.Image): string {
        const src = safeHref(token.href);
        if (src === undefined || /^[a-z][a-z0-9+.-]*:/i.test(src)) {
          return markup`<span class="dead-link">${token.text}</span>`.value;
        }
        const title = token.title ? markup` title="${token.title}"` : "";
        return markup`<img src="${src}" alt="${token.text}"${title}>`.value;
      },
    },
  });

  const tokens = marked.lexer(page.markdown);
  const unmatched = matchBlocks(marked, tokens, page.blocks, blockOf);
  const problems = input.problems.length > 0 &&
    markup`<section class="problems" role="alert"><h2>This note is broken</h2><ul>${
      input.problems.map((p) => markup`<li>line ${p.line}: <pre>${p.message}</pre></li>`)
    }</ul></section>`;
  return {
    body: markup`${problems}<article class="note">${new Html(marked.parser(tokens))}</article>`,
    unmatched,
    brokenLinks,
  };
}

/** Ties fenced code tokens to DocBlocks with the same code, in order; returns the unmatched. */
function matchBlocks(
  marked: Marked,
  tokens: Token[],
  blocks: readonly DocBlock[],
  blockOf: WeakMap<Tokens.Code, DocBlock>,
): string[] {
  let next = 0;
  const matched = new Set<string>();
  marked.walkTokens(tokens, (token) => {
    if (token.type !== "code" || token.codeBlockStyle === "indented") return;
    const code = token as Tokens.Code;
    const k = blocks.findIndex((b, i) => i >= next && b.code.trimEnd() === code.text.trimEnd());
    if (k < 0) return;
    blockOf.set(code, blocks[k]);
    matched.add(blocks[k].id);
    next = k + 1;
  });
  return blocks.filter((b) => !matched.has(b.id)).map((b) => b.id);
}

function rewriteLink(href: string, input: NoteInput, broken: string[]): string | undefined {
  const safe = safeHref(href);
  if (safe === undefined) return undefined;
  const m = /^([^/:?#]+\.md)(#.*)?$/.exec(safe);
  if (!m) return safe;
  const target = input.links.get(m[1]);
  if (target === undefined) {
    broken.push(m[1]);
    return undefined;
  }
  return relativeTo(input.path, target) + (m[2] ?? "");
}

/** The page of a note: block tally, the rendered note, links to the previous and next. */
export function notePage(ctx: SiteContext, input: NoteInput, rendered: RenderedNote): string {
  const i = ctx.notes.findIndex((n) => n.href === input.path);
  const prev = i > 0 ? ctx.notes[i - 1] : undefined;
  const next = i >= 0 ? ctx.notes[i + 1] : undefined;
  const link = (n: NavNote | undefined, rel: string, text: string) =>
    n ? markup`<a rel="${rel}" href="${relativeTo(input.path, n.href)}">${text}</a>` : "";
  const counts = new Map<string, number>();
  for (const v of input.blocks.values()) {
    if (v.status !== "not-run") counts.set(v.status, (counts.get(v.status) ?? 0) + 1);
  }
  const tally = [...counts].map(([s, n], k) =>
    markup`${k ? ", " : ""}<span class="status status-${s}">${n} ${s}</span>`
  );
  const summary = markup`<p class="note-status">${
    counts.size > 0 ? markup`Code blocks run when the site was built: ${tally}. ` : ""
  }Source: <code>${input.page.path}</code>.</p>`;
  return layout(ctx, {
    path: input.path,
    title: input.page.title,
    body:
      markup`${rendered.body}${summary}<nav class="prevnext" aria-label="Previous and next note">${
        link(prev, "prev", `← ${prev?.title}`)
      }${link(next, "next", `${next?.title} →`)}</nav>`,
  });
}

// ---------------------------------------------------------------------------------
// The verdict matrix.

/** One cell as the matrix shows it (a MatrixCell of mod.ts fits). */
export interface CellView {
  readonly strategy: string;
  readonly scenario: string;
  readonly verdict: string;
  readonly kind?: string;
  readonly expected: string;
  readonly asExpected: boolean;
  readonly executions: number;
  readonly exhaustive: boolean;
}

/** A row header of the matrix. */
export interface StrategyView {
  readonly name: string;
  readonly title?: string;
  readonly summary?: string;
  readonly source?: string;
}

/** A column header of the matrix. */
export interface ScenarioView {
  readonly name: string;
  readonly question?: string;
  readonly layout?: string;
}

/** The matrix and what it links to. */
export interface MatrixInput {
  readonly cells: readonly CellView[];
  readonly strategies: readonly StrategyView[];
  readonly scenarios: readonly ScenarioView[];
  /** Site-relative trace page of a cell, if it has a counterexample. */
  readonly traceOf: (cell: CellView) => string | undefined;
  /** Site-relative note about a strategy, if there is one. */
  readonly noteOf: (strategy: string) => string | undefined;
  /**
   * Executions recorded per `strategy/scenario` (tests/explored_counts.json): a cell whose
   * count moved says from what, so a reviewer of a pull request sees its effect.
   */
  readonly recorded?: Readonly<Record<string, number>>;
  /**
   * Outcomes recorded under the other kernel configurations (tests/config_outcomes.json):
   * the pairs whose verdict depends on the configuration are listed under the matrix.
   */
  readonly configOutcomes?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The recorded count of a cell, if it differs from what was explored. */
function movedFrom(input: MatrixInput, c: CellView): number | undefined {
  const was = input.recorded?.[`${c.strategy}/${c.scenario}`];
  return was !== undefined && was !== c.executions ? was : undefined;
}

/** Counts for the line under the matrix. */
export function matrixTotals(cells: readonly CellView[]): {
  pairs: number;
  executions: number;
  exhaustive: number;
  unsafe: number;
  unexpected: number;
} {
  return {
    pairs: cells.length,
    executions: cells.reduce((a, c) => a + c.executions, 0),
    exhaustive: cells.filter((c) => c.exhaustive).length,
    unsafe: cells.filter((c) => c.verdict !== "safe").length,
    unexpected: cells.filter((c) => !c.asExpected).length,
  };
}

function matrixCell(input: MatrixInput, from: string, s: StrategyView, w: ScenarioView): Html {
  const c = input.cells.find((x) => x.strategy === s.name && x.scenario === w.name);
  if (!c) {
    return markup`<td class="cell missing" data-verdict="none" data-strategy="${s.name}" data-scenario="${w.name}">not run</td>`;
  }
  const trace = input.traceOf(c);
  const head = markup`<span class="verdict-word verdict-${c.verdict}">${c.verdict}</span>${
    c.kind && markup`<span class="kind">${breakable(c.kind)}</span>`
  }`;
  const declared = c.asExpected
    ? markup`<span class="expect ok" title="as declared by the strategy: ${c.expected}">✓</span>`
    : markup`<span class="expect bad">declared: ${c.expected}</span>`;
  return markup`<td class="cell verdict-${c.verdict}${
    c.asExpected ? "" : " unexpected"
  }" data-verdict="${c.verdict}" data-strategy="${c.strategy}" data-scenario="${c.scenario}">${
    trace ? markup`<a class="cell-link" href="${relativeTo(from, trace)}">${head}</a>` : head
  }<span class="stats">${counted(c.executions, "execution")}, ${
    c.exhaustive ? "exhaustive" : "NOT exhaustive"
  }\u00a0${declared}</span>${moved(input, c)}</td>`;
}

function moved(input: MatrixInput, c: CellView): Html | string {
  const was = movedFrom(input, c);
  return was === undefined
    ? ""
    : markup`<span class="moved" title="recorded in tests/explored_counts.json">was ${
      counted(was, "execution")
    }</span>`;
}

/** A hyphenated name that may wrap after its hyphens (long scenario names in a header). */
function breakable(name: string): Html {
  return markup`${name.split("-").map((part, i) => markup`${i ? markup`-<wbr>` : ""}${part}`)}`;
}

/** The strategies × scenarios table; `from` is the page it is on. */
export function matrixTable(input: MatrixInput, from: string): Html {
  const rowHead = (s: StrategyView) => {
    const note = input.noteOf(s.name);
    const name = markup`<code>${breakable(s.name)}</code>`;
    return markup`<th scope="row" data-strategy="${s.name}">${
      note ? markup`<a href="${relativeTo(from, note)}">${name}</a>` : name
    }${s.title && markup`<span class="sub">${s.title}</span>`}</th>`;
  };
  const colHead = (w: ScenarioView) =>
    markup`<th scope="col" data-scenario="${w.name}" title="${w.question ?? ""}"><code>${
      breakable(w.name)
    }</code></th>`;
  const rows = input.strategies.map((s) =>
    markup`<tr data-strategy="${s.name}">${rowHead(s)}${
      input.scenarios.map((w) => matrixCell(input, from, s, w))
    }</tr>\n`
  );
  return markup`<div class="matrix-wrap"><table class="matrix">
<thead><tr><th scope="col" class="corner">strategy ╲ scenario</th>${
    input.scenarios.map(colHead)
  }</tr></thead>
<tbody>
${rows}</tbody>
</table></div>
${totalsLine(input.cells)}${movedLine(input)}${configLines(input)}`;
}

/** The pairs whose verdict is another under some other kernel configuration. */
function configLines(input: MatrixInput): Html | string {
  const cells = input.cells.filter((c) => c.exhaustive).map((c) => ({
    ...c,
    outcome: c.kind ? `${c.verdict}:${c.kind}` : c.verdict,
  }));
  const dependent = configDependence(cells, input.configOutcomes ?? {});
  if (dependent.length === 0) return "";
  const items = dependent.map((d) =>
    markup`<li><strong>${d.strategy}</strong> × <strong>${d.scenario}</strong>: ${d.outcome} here; ${
      d.elsewhere.map((e, i) => markup`${i ? "; " : ""}${e.outcome} under ${e.configs.join(", ")}`)
    }</li>`
  );
  return markup`<details class="totals config"><summary>${counted(dependent.length, "verdict")} ${
    dependent.length === 1 ? "depends" : "depend"
  } on the kernel configuration (this matrix: tableFree rcu, split PTE locks; the others as <code>deno task bless</code> recorded them, in tests/config_outcomes.json)</summary><ul>${items}</ul></details>`;
}

function movedLine(input: MatrixInput): Html | string {
  const moved = input.cells.filter((c) => movedFrom(input, c) !== undefined).length;
  return moved === 0
    ? ""
    : markup`<p class="totals moved">${
      counted(moved, "count")
    } moved since tests/explored_counts.json: each such cell says from what.</p>`;
}

function totalsLine(cells: readonly CellView[]): Html {
  const t = matrixTotals(cells);
  const searches = t.exhaustive === t.pairs
    ? "every search exhaustive"
    : `${t.exhaustive} of ${t.pairs} searches exhaustive`;
  const declared = t.unexpected === 0
    ? "every verdict as its strategy declares (✓)"
    : markup`<strong class="bad">${t.unexpected} verdicts differ from what their strategy declares</strong>`;
  return markup`<p class="totals">${t.pairs} pairs, ${
    counted(t.executions, "execution")
  }, ${searches}; ${t.unsafe} unsafe; ${declared}. Click a violation for its trace;
hover a scenario for the question it asks.</p>`;
}

/** The matrix page: the table, then what each strategy and scenario is. */
export function matrixPage(ctx: SiteContext, input: MatrixInput): string {
  const path = "matrix.html";
  const strategies = input.strategies.map((s) => {
    const note = input.noteOf(s.name);
    return markup`<dt id="strategy-${s.name}"><code>${s.name}</code>${s.title && ` — ${s.title}`}${
      note && markup` (<a href="${note}">note</a>)`
    }</dt><dd>${s.summary ?? ""}${
      s.source && markup` <span class="source">Source: ${s.source}.</span>`
    }</dd>`;
  });
  const scenarios = input.scenarios.map((w) =>
    markup`<dt id="scenario-${w.name}"><code>${w.name}</code></dt><dd>${w.question ?? ""}${
      w.layout && markup` <span class="source">Layout: ${w.layout}.</span>`
    }</dd>`
  );
  return layout(ctx, {
    path,
    title: "Verdict matrix",
    wide: true,
    body: markup`<h1>Verdict matrix</h1>
<p>Every strategy run against every scenario under every schedule that matters. A verdict is
<em>safe</em> only after an exhaustive search; a violation names the rule that broke and links to
the clearest trace found (fewest preemptions, then fewest steps).</p>
${matrixTable(input, path)}
<h2>Strategies</h2><dl class="legend">${strategies}</dl>
<h2>Scenarios</h2><dl class="legend">${scenarios}</dl>`,
  });
}

/** The landing page: what faultline is, in one screen, and the matrix. */
export function indexPage(ctx: SiteContext, input: MatrixInput): string {
  const path = "index.html";
  const notes = ctx.notes.length > 0 &&
    markup`<h2>The notes</h2>
<p>They tell the story, from the mail to the verdicts; every code block in them ran when this site
was built, and says how it went.</p>
<ol class="note-list">${
      ctx.notes.map((n) => markup`<li><a href="${n.href}">${n.title}</a></li>`)
    }</ol>`;
  return layout(ctx, {
    path,
    title: "faultline",
    bodyClass: "landing",
    wide: true,
    body: markup`<h1>faultline</h1>
<p class="lede">An executable design document for Linux page-fault locking. Each way of letting a
page fault run without <code>mmap_lock</code> discussed on LKML in May 2022 (Wilcox and Lespinasse
on speculative page faults) is a module over a small simulated mm core; a model checker runs each
against small named races under every interleaving that matters. The table is what it found when
this site was built: click a violation to step through its trace.</p>
${matrixTable(input, path)}
${notes}`,
  });
}
