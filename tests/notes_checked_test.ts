/**
 * A trace written in a design note is checked, not pasted: the real note on Michel's
 * race with one step of its expected trace changed fails, at that note's lines, with
 * the difference between the trace in the note and the one the explorer printed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseDoc, ROOT, runDoc } from "../literate/mod.ts";

const NOTE = "docs/rcu-gfp-nowait.md";

Deno.test(`${NOTE} with one step of its trace changed fails at that line`, async () => {
  const lines = Deno.readTextFileSync(new URL(NOTE, ROOT)).split("\n");
  // The step before the violating one: the last step CPU1 takes in munmap().
  const marked = lines.findIndex((l) => l.startsWith(">>"));
  assert.ok(marked > 0, `${NOTE} has no trace with a >> step`);
  const changed = marked - 1;
  const original = lines[changed];
  const step = /^ +(\d+) \|/.exec(original);
  assert.ok(step, `line ${changed + 1} is not a trace row: ${original}`);
  // Renumber that step as if the trace had one step more before it.
  lines[changed] = original.replace(step[1], String(Number(step[1]) + 1).padStart(step[1].length));

  // Its module in a directory of its own: the default one holds the real note's, which
  // tests/docs_*_test.ts may be running at the same time (deno test --parallel).
  const work = new URL(".faultline/", ROOT);
  await Deno.mkdir(work, { recursive: true });
  const outDir = await Deno.makeTempDir({ dir: work.pathname, prefix: "notes-checked-" });
  let outcome;
  try {
    outcome = await runDoc(parseDoc(lines.join("\n"), NOTE), {
      outDir: new URL(`file://${outDir}/`),
    });
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
  const failed = outcome.blocks.filter((b) => b.status === "failed");
  assert.equal(outcome.passed, false);
  assert.equal(failed.length, 1, failed.map((b) => b.message).join("\n\n"));
  const [block] = failed;
  assert.equal(block.status, "failed");
  assert.ok(block.line < changed + 1, "the failing block is the one above the trace");
  // The block's trace is the one the note expects, apart from the changed row.
  assert.match(block.message, new RegExp(`output fence at ${NOTE.replace(".", "\\.")}:\\d+`));
  const removed = block.message.split("\n").filter((l) => l.startsWith("- "));
  const added = block.message.split("\n").filter((l) => l.startsWith("+ "));
  assert.deepEqual(
    removed.map((l) => l.replace(/ +\|.*/s, "")),
    [`- ${NOTE}:${changed + 1}`],
    block.message,
  );
  assert.ok(removed[0].endsWith(lines[changed].trimEnd()), removed[0]);
  assert.equal(added.length, 1, block.message);
  assert.ok(added[0].endsWith(original.trimEnd()), added[0]);
});
