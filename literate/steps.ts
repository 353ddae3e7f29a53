/**
 * Notes as Deno tests: one `Deno.test` per note, one step per runnable block, named by
 * file, line and heading, so that `deno test` says which block of which note failed and
 * prints the block with its Markdown line numbers.
 *
 * @module
 */

import type { DocBlock, DocPage } from "./doc_page.ts";
import { compileDocs } from "./compile.ts";
import {
  type BlockOutcome,
  type CompiledDoc,
  type DocOutcome,
  ROOT,
  type RunOptions,
} from "./outcome.ts";
import { parseDoc } from "./parse_doc.ts";
import { type NoteHeader, noteHeader, runBlocks } from "./run.ts";

/** The name of a block's test step: `docs/x.md:42 (Heading)`. */
export function stepName(
  path: string,
  block: { readonly line: number; readonly heading?: string },
): string {
  return `${path}:${block.line}${block.heading ? ` (${block.heading})` : ""}`;
}

/** A failure report: where, why, and the block's code with its Markdown line numbers. */
export function formatFailure(page: DocPage, block: BlockOutcome): string {
  const source = page.blocks.find((b) => b.id === block.id);
  const name = stepName(page.path, { line: block.line, heading: source?.heading });
  const lines = [`${name}: ${block.message}`];
  if (source) {
    const fence = page.markdown.split(/\r\n|\r|\n/)[source.line - 1] ?? "```";
    const code = [fence, ...source.code.split("\n"), fence.trim()[0] === "~" ? "~~~" : "```"];
    const width = String(source.line + code.length).length;
    lines.push(
      "",
      ...code.map((text, k) => `  ${String(source.line + k).padStart(width)} | ${text}`.trimEnd()),
    );
  }
  return lines.join("\n");
}

/** Fails a step without a stack trace into the runner: the message says it all. */
class NoteFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoteFailure";
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * The steps of a note: one per problem of the note, one per runnable block (failing
 * unless it passed), and a passing one for a note that runs nothing. `outcomeOf` is
 * asked for each block's outcome inside that block's step, in page order.
 */
async function noteSteps(
  t: Deno.TestContext,
  { page, problems, note }: NoteHeader,
  outcomeOf: (block: DocBlock) => Promise<BlockOutcome | undefined>,
): Promise<void> {
  for (const p of problems) {
    await t.step(`${page.path}:${p.line} (the note)`, () => {
      throw new NoteFailure(`${page.path}:${p.line}: ${p.message}`);
    });
  }
  for (const block of page.blocks.filter((b) => b.runnable)) {
    await t.step(stepName(page.path, block), async () => {
      const o = await outcomeOf(block);
      if (!o) throw new NoteFailure(`${page.path}:${block.line}: the runner reported nothing`);
      if (o.status !== "passed") throw new NoteFailure(formatFailure(page, o));
    });
  }
  if (note) await t.step(`${page.path}: ${note}`, () => {});
}

/** Reports a note already run as test steps (see {@linkcode runDocSteps}). */
export async function docSteps(t: Deno.TestContext, outcome: DocOutcome): Promise<void> {
  await noteSteps(
    t,
    outcome,
    (block) => Promise.resolve(outcome.blocks.find((b) => b.id === block.id)),
  );
}

/**
 * Runs a compiled note as test steps: one per problem of the note, one per runnable
 * block (failing unless it passed), and a passing one for a note that runs nothing. Each
 * block runs inside its own step, so steps time their block and a slow note shows its
 * progress.
 */
export async function runDocSteps(
  t: Deno.TestContext,
  doc: CompiledDoc,
  options: RunOptions = {},
): Promise<void> {
  const blocks = runBlocks(doc, options);
  try {
    await noteSteps(t, noteHeader(doc), async () => (await blocks.next()).value ?? undefined);
  } finally {
    await blocks.return();
  }
}

/** The `.md` files directly in `dir` (relative to `root`), sorted, as root-relative paths. */
export function markdownFiles(dir: string, root: URL = ROOT): string[] {
  const base = dir.replace(/\/*$/, "/");
  const files: string[] = [];
  try {
    for (const entry of Deno.readDirSync(new URL(base, root))) {
      if (entry.isFile && entry.name.endsWith(".md")) files.push(base + entry.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return files.sort();
}

/**
 * The `index`-th of `count` groups of notes of about equal total length, longest note
 * first into the group with the least so far: a note's length stands in for its running
 * time, so that test files each running one group (`deno test --parallel`) end at about
 * the same time. Every note is in exactly one group.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownFiles, notesShard } from "./steps.ts";
 * const all = markdownFiles("docs");
 * const halves = [notesShard(all, 0, 2), notesShard(all, 1, 2)];
 * assert.deepEqual([...halves[0], ...halves[1]].sort(), all);
 * ```
 */
export function notesShard(
  paths: readonly string[],
  index: number,
  count: number,
  root: URL = ROOT,
): string[] {
  const sized = paths.map((p) => ({ p, size: Deno.statSync(new URL(p, root)).size }))
    .sort((a, b) => b.size - a.size || (a.p < b.p ? -1 : 1));
  const load = new Array<number>(count).fill(0);
  const mine: string[] = [];
  for (const { p, size } of sized) {
    const lightest = load.indexOf(Math.min(...load));
    load[lightest] += size;
    if (lightest === index) mine.push(p);
  }
  return mine.sort();
}

/**
 * Registers one Deno.test per note (paths relative to the root), one step per block. All
 * notes are type-checked together, by the first test to run.
 */
export function testDocs(paths: readonly string[], options: RunOptions = {}): void {
  const root = options.root ?? ROOT;
  let compiled: Promise<Map<string, CompiledDoc>> | undefined;
  const prepare = () =>
    compiled ??= (async () => {
      const pages = await Promise.all(
        paths.map(async (p) => parseDoc(await Deno.readTextFile(new URL(p, root)), p)),
      );
      return new Map((await compileDocs(pages, options)).map((c) => [c.page.path, c]));
    })();
  for (const path of paths) {
    Deno.test(path, async (t) => {
      await runDocSteps(t, (await prepare()).get(path)!, options);
    });
  }
}
