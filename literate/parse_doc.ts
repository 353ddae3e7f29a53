/**
 * The one Markdown parser of faultline's design notes: it finds the fenced code blocks
 * (with the heading each sits under and the directives of its info string), ties each
 * `output` fence to the block whose printout it is, and reports what is malformed.
 * Pure: no I/O, so the doc runner and the site see exactly the same blocks.
 *
 * Fences follow CommonMark: three or more backticks or tildes, indented at most three
 * spaces, closed by a fence of the same character at least as long. Headings are ATX
 * (`## Title`) or setext (a line of `=` or `-` under a paragraph). Fences inside HTML
 * comments are not blocks. Unlike CommonMark, a fence left open to the end of the file
 * is an error, not a block: it would otherwise swallow the rest of the note silently.
 *
 * @module
 */

import type { DocBlock, DocError, DocPage } from "./doc_page.ts";

/** The verdicts an `expect=` directive may name; `violation` may add `:<kind>`. */
export const EXPECTABLE = ["safe", "violation", "error", "inconclusive", "not-exhaustive"] as const;

/**
 * The directives a runnable (`ts`) block understands. `file=<path>` says the block is that
 * file of the repository, written out in full (a `diff` block: a change to it), as a guide
 * tells a contributor to write it: a module with imports relative to its own place, so it
 * is shown, not run. Any block may carry it.
 */
export const DIRECTIVES = ["expect", "timeout", "run", "file"] as const;

/** An `expect=` directive, split: the verdict and, for a violation, its kind. */
export interface Expectation {
  readonly verdict: (typeof EXPECTABLE)[number];
  readonly kind?: string;
}

/**
 * Parses the value of an `expect=` directive; `undefined` when it names no verdict.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseExpectation } from "./parse_doc.ts";
 * assert.deepEqual(parseExpectation("violation:use-after-free"), {
 *   verdict: "violation",
 *   kind: "use-after-free",
 * });
 * assert.equal(parseExpectation("unsafe"), undefined);
 * ```
 */
export function parseExpectation(value: string): Expectation | undefined {
  const m = /^([a-z-]+)(?::(\S+))?$/.exec(value);
  if (!m) return undefined;
  const verdict = EXPECTABLE.find((v) => v === m[1]);
  if (!verdict || (m[2] !== undefined && verdict !== "violation")) return undefined;
  return m[2] === undefined ? { verdict } : { verdict, kind: m[2] };
}

/** GitHub-style heading slug: lower case, punctuation dropped, spaces to hyphens. */
export function slugify(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").trim().replace(/\s+/g, "-");
}

interface OpenFence {
  readonly char: string;
  readonly length: number;
  readonly indent: number;
  readonly info: string;
  readonly line: number;
  readonly body: string[];
}

interface Draft {
  id: string;
  lang: string;
  info: string;
  directives: Record<string, string>;
  code: string;
  line: number;
  heading: string;
  runnable: boolean;
  expectedOutput?: { code: string; line: number };
}

const OPENING = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
/** Lines that start some other block (quote, list, table, HTML), ending any paragraph. */
const OTHER_BLOCK = /^ {0,3}(?:[>|<]|[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$))/;

function directivesOf(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq < 0) out[word] = "true";
    else out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

/** What is wrong with the directives of a `ts` block, one message each. */
function directiveProblems(lang: string, d: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(d)) {
    if (!(DIRECTIVES as readonly string[]).includes(key)) {
      problems.push(
        `unknown directive "${key}" in a \`${lang}\` block (known: ${DIRECTIVES.join(", ")})`,
      );
    }
  }
  if (d.run !== undefined && d.run !== "true" && d.run !== "false") {
    problems.push(`run=${d.run}: write run=false (or leave it out)`);
  }
  if (d.expect !== undefined && !parseExpectation(d.expect)) {
    problems.push(
      `expect=${d.expect} names no verdict (one of ${EXPECTABLE.join(", ")}, or violation:<kind>)`,
    );
  }
  if (d.timeout !== undefined && !(Number(d.timeout) > 0)) {
    problems.push(`timeout=${d.timeout} is not a positive number of seconds`);
  }
  for (const off of ["run", "file"]) {
    if (off === "run" ? d.run !== "false" : d.file === undefined) continue;
    for (const key of ["expect", "timeout"]) {
      if (d[key] !== undefined) {
        problems.push(`${key}= on a block with ${off}=${d[off]}, which never runs`);
      }
    }
  }
  return problems;
}

/** What is wrong with a `file=` directive, in a block of any language. */
function fileProblem(d: Readonly<Record<string, string>>): string | undefined {
  const path = d.file;
  if (path === undefined) return undefined;
  const parts = path.split("/");
  if (
    path === "true" || path.startsWith("/") || path.includes("\\") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    return `file=${path}: name a file by its path from the repository root, ` +
      `e.g. file=strategies/no_lock.ts`;
  }
  return undefined;
}

/**
 * Parses a design note. `path` is only used in the result (and so in messages).
 *
 * @example A note with a checked block and the output it must print.
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDoc } from "./parse_doc.ts";
 *
 * const page = parseDoc(
 *   [
 *     "# Counters",
 *     "## Lost update",
 *     "~~~ts expect=violation:lost-update",
 *     'console.log("racy");',
 *     "~~~",
 *     "~~~output",
 *     "racy",
 *     "~~~",
 *   ].join("\n"),
 *   "docs/counters.md",
 * );
 * assert.equal(page.title, "Counters");
 * assert.deepEqual(page.errors, []);
 * const [block, output] = page.blocks;
 * assert.equal(block.id, "lost-update-1");
 * assert.equal(block.line, 3);
 * assert.equal(block.runnable, true);
 * assert.deepEqual(block.directives, { expect: "violation:lost-update" });
 * assert.deepEqual(block.expectedOutput, { code: "racy", line: 6 });
 * assert.equal(output.lang, "output");
 *
 * const broken = parseDoc("text\n~~~ts\nlet x = 1;\n", "docs/broken.md");
 * assert.equal(broken.blocks.length, 0);
 * assert.equal(broken.errors[0].line, 2);
 * assert.match(broken.errors[0].message, /unterminated fence/);
 * ```
 */
export function parseDoc(markdown: string, path: string): DocPage {
  const lines = markdown.split(/\r\n|\r|\n/);
  const blocks: Draft[] = [];
  const errors: DocError[] = [];
  const counters = new Map<string, number>();
  let heading = "";
  let title: string | undefined;
  // The paragraph a setext underline would turn into a heading; null inside a list,
  // quote or indented code, where an underline is a thematic break instead.
  let paragraph: string[] | null = [];
  let fence: OpenFence | undefined;
  let inComment = false;

  const setHeading = (text: string, level: number) => {
    heading = text;
    if (level === 1 && title === undefined) title = text;
  };

  const close = (f: OpenFence) => {
    const words = f.info.split(/\s+/).filter((w) => w !== "");
    const lang = (words[0] ?? "").toLowerCase();
    const directives = directivesOf(words.slice(1));
    const isTs = lang === "ts" || lang === "typescript";
    if (isTs) {
      for (const message of directiveProblems(lang, directives)) {
        errors.push({ line: f.line, message });
      }
    }
    const badFile = fileProblem(directives);
    if (badFile) errors.push({ line: f.line, message: badFile });
    const slug = slugify(heading) || (heading === "" ? "top" : "section");
    const n = (counters.get(slug) ?? 0) + 1;
    counters.set(slug, n);
    const block: Draft = {
      id: `${slug}-${n}`,
      lang,
      info: f.info,
      directives,
      code: f.body.join("\n"),
      line: f.line,
      heading,
      runnable: isTs && directives.run !== "false" && directives.file === undefined,
    };
    if (lang === "output") {
      // The output belongs to the code block just above it; after a block that does not
      // run (a shell command, run=false) it is only shown, not checked.
      const owner = blocks.findLast((b) => b.lang !== "output");
      if (!owner) {
        errors.push({
          line: f.line,
          message: "an output fence must follow the code block it is the output of",
        });
      } else if (owner.runnable && owner.expectedOutput) {
        errors.push({
          line: f.line,
          message: `a second output fence for the block at line ${owner.line} ` +
            `(the first is at line ${owner.expectedOutput.line})`,
        });
      } else if (owner.runnable) {
        owner.expectedOutput = { code: block.code, line: f.line };
      }
    }
    blocks.push(block);
  };

  lines.forEach((text, index) => {
    const line = index + 1;
    if (fence) {
      const closing = /^( {0,3})(`{3,}|~{3,})[ \t]*$/.exec(text);
      if (closing && closing[2][0] === fence.char && closing[2].length >= fence.length) {
        close(fence);
        fence = undefined;
      } else {
        const strip = Math.min(fence.indent, /^ */.exec(text)![0].length);
        fence.body.push(text.slice(strip));
      }
      return;
    }
    if (inComment) {
      if (text.includes("-->")) inComment = false;
      return;
    }
    const opening = OPENING.exec(text);
    if (opening && !(opening[2][0] === "`" && opening[3].includes("`"))) {
      fence = {
        char: opening[2][0],
        length: opening[2].length,
        indent: opening[1].length,
        info: opening[3].trim(),
        line,
        body: [],
      };
      paragraph = [];
      return;
    }
    if (/^ {0,3}<!--/.test(text)) {
      inComment = !text.slice(text.indexOf("<!--") + 4).includes("-->");
      paragraph = [];
      return;
    }
    const atx = ATX.exec(text);
    if (atx) {
      const content = (atx[2] ?? "").replace(/(?:^|[ \t]+)#+[ \t]*$/, "").trim();
      setHeading(content, atx[1].length);
      paragraph = [];
      return;
    }
    const setext = SETEXT.exec(text);
    if (setext && paragraph !== null && paragraph.length > 0) {
      setHeading(paragraph.map((p) => p.trim()).join(" "), setext[1][0] === "=" ? 1 : 2);
      paragraph = [];
      return;
    }
    if (text.trim() === "") paragraph = [];
    else if (OTHER_BLOCK.test(text)) paragraph = null;
    else if (paragraph?.length === 0 && /^ {4}/.test(text)) paragraph = null;
    else paragraph?.push(text);
  });

  if (fence) {
    const marker = fence.char.repeat(fence.length);
    errors.push({
      line: fence.line,
      message: `unterminated fence: the ${marker}${fence.info} opened at line ${fence.line} ` +
        `is never closed (close it with a line of at least ${fence.length} ${
          fence.char === "`" ? "backticks" : "tildes"
        })`,
    });
  }
  errors.sort((a, b) => a.line - b.line);

  return {
    path,
    title: title ?? path.slice(path.lastIndexOf("/") + 1),
    markdown,
    blocks: blocks.map((b): DocBlock => ({
      id: b.id,
      lang: b.lang,
      info: b.info,
      directives: b.directives,
      code: b.code,
      line: b.line,
      heading: b.heading,
      runnable: b.runnable,
      ...(b.expectedOutput ? { expectedOutput: b.expectedOutput } : {}),
    })),
    errors,
  };
}
