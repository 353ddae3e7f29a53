/**
 * Blessing a note's `output` fences: after a deliberate change to the model or the
 * explorer (a new count, a changed trace), `deno task bless-notes` runs the notes and
 * writes what each block printed into its `output` fence, for review in the diff, as
 * rust-analyzer's `expect-test` does with `UPDATE_EXPECT=1`. Only fences whose block ran
 * to the end and failed on its output alone are rewritten; a block that throws, times
 * out or finds another verdict keeps its fence and stays failing. A fence whose block
 * was skipped (an earlier block failed) is reached by running the note again, which
 * {@linkcode blessNote} does until nothing changes.
 *
 * @module
 */

import { comparable, compareOutput, OUTPUT_DIFFERS } from "./judge.ts";
import type { DocOutcome, RunOptions } from "./outcome.ts";
import { parseDoc } from "./parse_doc.ts";
import { runDoc } from "./run.ts";
import { markdownFiles } from "./steps.ts";

const FENCE = /^\s*(`{3,}|~{3,})\s*$/;

/**
 * `markdown` with the `output` fence of every block of `outcome` that failed only on
 * its output rewritten to what the block printed; `lines` are the fences' lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blessOutputs, parseDoc, runDoc } from "./mod.ts";
 * const f = "`".repeat(3);
 * const note = `# N\n\n${f}ts\nconsole.log(6 * 7);\n${f}\n\n${f}output\n41\n${f}\n`;
 * const outcome = await runDoc(parseDoc(note, "docs/n.md"), { typeCheck: false });
 * const blessed = blessOutputs(note, outcome);
 * assert.deepEqual(blessed.lines, [7]);
 * assert.equal(blessed.text, note.replace("41", "42"));
 * ```
 */
export function blessOutputs(
  markdown: string,
  outcome: DocOutcome,
): { text: string; lines: number[] } {
  const lines = markdown.split("\n");
  const rewritten: number[] = [];
  // From the bottom up, so that earlier line numbers stay right.
  const blocks = [...outcome.page.blocks].reverse();
  for (const block of blocks) {
    const fence = block.expectedOutput;
    const ran = outcome.blocks.find((b) => b.id === block.id);
    if (!fence || ran?.status !== "failed" || !ran.message.startsWith(OUTPUT_DIFFERS)) continue;
    if (compareOutput(outcome.page.path, fence, ran.output) === undefined) continue;
    const open = fence.line - 1;
    let close = open + 1;
    while (close < lines.length && !FENCE.test(lines[close])) close++;
    lines.splice(open + 1, close - open - 1, ...comparable(ran.output));
    rewritten.push(fence.line);
  }
  return { text: lines.join("\n"), lines: rewritten.reverse() };
}

/**
 * Runs the note at `path` and blesses its fences, again until a run changes nothing
 * (at most as many runs as the note has fences). Returns the fence lines rewritten and
 * the last outcome, which says what still fails.
 */
export async function blessNote(
  path: string,
  options: RunOptions = {},
): Promise<{ lines: number[]; outcome: DocOutcome }> {
  const all = new Set<number>();
  let text = await Deno.readTextFile(path);
  for (;;) {
    const outcome = await runDoc(parseDoc(text, path), options);
    const blessed = blessOutputs(text, outcome);
    const fences = outcome.page.blocks.filter((b) => b.expectedOutput).length;
    if (blessed.lines.length === 0 || all.size > fences) return { lines: [...all], outcome };
    blessed.lines.forEach((l) => all.add(l));
    text = blessed.text;
    await Deno.writeTextFile(path, text);
  }
}

if (import.meta.main) {
  const paths = Deno.args.length ? Deno.args : markdownFiles("docs");
  let failing = 0;
  for (const path of paths) {
    const { lines, outcome } = await blessNote(path);
    const still = outcome.blocks.filter((b) => b.status === "failed");
    failing += still.length;
    console.log(
      `${path}: ${
        lines.length ? `rewrote the output fences at lines ${lines.join(", ")}` : "unchanged"
      }` +
        (still.length ? `; still failing: ${still.map((b) => `line ${b.line}`).join(", ")}` : ""),
    );
  }
  if (failing) Deno.exit(1);
}
