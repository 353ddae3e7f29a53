/**
 * Running compiled notes: each in a worker of its own, block by block, judging every
 * block as it finishes. After the first failure the rest of the note is skipped: the
 * blocks are steps of one generator, which a throw ends, and each builds on those before.
 *
 * @module
 */

import type { DocBlock, DocPage } from "./doc_page.ts";
import { compileDocs, toNoteLocations } from "./compile.ts";
import { compareOutput, judgeExpectation } from "./judge.ts";
import {
  type BlockOutcome,
  type BlockStatus,
  type CompiledDoc,
  DEFAULT_TIMEOUT_SECONDS,
  type DocOutcome,
  type RunOptions,
} from "./outcome.ts";
import { DocWorker } from "./worker.ts";

/**
 * Drops the runner's own stack frames (any module of literate/, worker.ts calling the
 * block first of all) and Deno's internal ones from a stack mapped to the note.
 */
function tidyStack(stack: string): string {
  return stack.split("\n").filter((l) => !/^\s+at .*(literate\/[a-z_]+\.ts|ext:)/.test(l)).join(
    "\n",
  );
}

/** The outcome of a block that did not run (or, spread over, the start of any outcome). */
function notRun(b: DocBlock, status: BlockStatus = "not-run", message = ""): BlockOutcome {
  return {
    id: b.id,
    line: b.line,
    lang: b.lang,
    status,
    message,
    output: "",
    explorations: 0,
    durationMs: 0,
  };
}

/**
 * Runs a compiled note block by block, in a worker of its own: yields one outcome per
 * runnable block, in page order, as soon as that block is done (so that a test step can
 * wrap each block). After a failed block the rest are yielded as skipped.
 */
export async function* runBlocks(
  doc: CompiledDoc,
  options: RunOptions = {},
): AsyncGenerator<BlockOutcome, void, undefined> {
  const { page } = doc;
  const runnable = page.blocks.filter((b) => b.runnable);
  if (page.errors.length > 0) {
    const first = page.errors[0];
    const why = `skipped: the note is malformed (line ${first.line}: ${first.message})`;
    for (const b of runnable) yield notRun(b, "skipped", why);
    return;
  }
  if (runnable.length === 0) return;
  if (doc.blockProblems.size > 0 || doc.problems.length > 0) {
    const firstBad = runnable.find((b) => doc.blockProblems.has(b.id));
    const why = firstBad
      ? `skipped: block at line ${firstBad.line} does not compile`
      : `skipped: the note does not compile (line ${doc.problems[0].line})`;
    for (const b of runnable) {
      const own = doc.blockProblems.get(b.id);
      yield own ? notRun(b, "failed", own.join("\n\n")) : notRun(b, "skipped", why);
    }
    return;
  }

  const moduleUrl = doc.moduleUrl!;
  const toNote = (text: string) =>
    tidyStack(toNoteLocations(text, moduleUrl, page.path, doc.lineMap));
  const worker = new DocWorker();
  try {
    let failed: DocBlock | undefined;
    const loaded = await worker.ask(
      { type: "load", url: moduleUrl.href, reuseResults: options.reuseResults === true },
      options.loadTimeoutSeconds ?? 120,
    );
    if (loaded.type !== "loaded") {
      // The hoisted imports run at load, before the first block: it fails for them.
      const why = loaded.type === "timeout"
        ? "did not load in time"
        : loaded.type === "load-failed" || loaded.type === "crashed"
        ? `failed to load: ${toNote(loaded.error)}`
        : "failed to load";
      yield notRun(runnable[0], "failed", `the note's module ${why}`);
      failed = runnable[0];
    }
    for (const [index, block] of runnable.entries()) {
      if (failed) {
        if (failed !== block) {
          yield notRun(block, "skipped", `skipped: block at line ${failed.line} failed`);
        }
        continue;
      }
      const seconds = Number(
        block.directives.timeout ?? options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      );
      const started = performance.now();
      const reply = await worker.ask({ type: "run", index }, seconds);
      const durationMs = Math.round(performance.now() - started);
      if (reply.type !== "ran") {
        const message = reply.type === "timeout"
          ? `block at ${page.path}:${block.line} did not finish within ${seconds} s`
          : reply.type === "crashed"
          ? `the worker running the note crashed: ${toNote(reply.error)}`
          : `unexpected reply from the worker: ${reply.type}`;
        failed = block;
        // A block that never ends leaves the worker spinning: only terminate() stops it.
        worker.close();
        yield { ...notRun(block, "failed", message), durationMs };
        continue;
      }
      const reasons: string[] = [];
      if (reply.error !== undefined) reasons.push(`threw ${toNote(reply.error)}`);
      for (const e of reply.escaped) reasons.push(`an error escaped the block: ${toNote(e)}`);
      if (reply.ended && index < runnable.length - 1) {
        reasons.push(
          "the block ended the note early (a top-level return?): later blocks would never run",
        );
      }
      if (reply.error === undefined && block.directives.expect !== undefined) {
        const wrong = judgeExpectation(block.directives.expect, reply.exploration);
        if (wrong) reasons.push(wrong);
      }
      if (reply.error === undefined && block.expectedOutput) {
        const wrong = compareOutput(page.path, block.expectedOutput, reply.output);
        if (wrong) reasons.push(wrong);
      }
      if (reasons.length > 0) failed = block;
      yield {
        ...notRun(block, reasons.length > 0 ? "failed" : "passed", reasons.join("\n\n")),
        output: reply.output,
        explorations: reply.explorations,
        ...(reply.exploration ? { exploration: reply.exploration } : {}),
        durationMs,
      };
    }
  } finally {
    worker.close();
  }
}

/** The part of a note's outcome known before any block runs. */
export type NoteHeader = Pick<DocOutcome, "page" | "problems" | "note">;

/** A compiled note's problems as a whole and, for one that runs nothing, a note saying so. */
export function noteHeader(doc: CompiledDoc): NoteHeader {
  const { page } = doc;
  const problems = [...page.errors, ...doc.problems];
  const idle = problems.length === 0 && !page.blocks.some((b) => b.runnable);
  return { page, problems, ...(idle ? { note: "no runnable blocks" } : {}) };
}

/** Runs a compiled note and judges every block. */
export async function executeDoc(doc: CompiledDoc, options: RunOptions = {}): Promise<DocOutcome> {
  const outcomes = new Map<string, BlockOutcome>();
  for await (const o of runBlocks(doc, options)) outcomes.set(o.id, o);
  const header = noteHeader(doc);
  const blocks = doc.page.blocks.map((b) => outcomes.get(b.id) ?? notRun(b));
  return {
    ...header,
    blocks,
    passed: header.problems.length === 0 &&
      blocks.every((b) => b.status === "passed" || b.status === "not-run"),
  };
}

/** Compiles (one type check for all) and runs notes, one after another. */
export async function runDocs(
  pages: readonly DocPage[],
  options: RunOptions = {},
): Promise<DocOutcome[]> {
  const compiled = await compileDocs(pages, options);
  const out: DocOutcome[] = [];
  for (const doc of compiled) out.push(await executeDoc(doc, options));
  return out;
}

/** Runs one note. */
export async function runDoc(page: DocPage, options: RunOptions = {}): Promise<DocOutcome> {
  return (await runDocs([page], options))[0];
}
