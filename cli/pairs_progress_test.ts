/**
 * Progress of pairs running side by side: each named as it starts, a status line of
 * what is done and what runs every 2 s off a terminal, one live line on a terminal.
 */

import assert from "node:assert/strict";
import { memoryIo } from "./io.ts";
import { PairsProgress } from "./pairs_progress.ts";

const at = (executions: number) => ({ executions, pruned: 0, violations: 0, maxDepth: 9 });

Deno.test("off a terminal: a line per start, a status line every 2 s, a last one", () => {
  let clock = 0;
  const io = memoryIo({ now: () => clock });
  const p = new PairsProgress(io, 3);
  p.started(0, 0, "a × x");
  p.started(1, 1, "b × x");
  clock += 1000;
  p.update(0, at(100));
  p.finished(0, 150);
  p.started(2, 2, "c × x");
  clock += 1000;
  p.update(1, at(250));
  p.finished(1, 250);
  p.finished(2, 0);
  p.done();
  assert.equal(
    io.stderr(),
    "[1/3] a × x\n[2/3] b × x\n[3/3] c × x\n" +
      "matrix: 1/3 done, running b × x (250), c × x (0); 400 executions, 200/s, 2.0 s\n" +
      "matrix: 3/3 done; 400 executions, 200/s, 2.0 s, done\n",
  );
});

Deno.test("on a terminal: one live line, redrawn, cleared at the end", () => {
  let clock = 0;
  const io = memoryIo({ now: () => clock, terminal: true });
  const p = new PairsProgress(io, 2);
  p.started(0, 0, "a × x");
  clock += 50;
  p.update(0, at(10));
  clock += 100;
  p.update(0, at(30));
  p.finished(0, 30);
  p.done();
  assert.equal(
    io.stderr(),
    "\r\x1b[Kmatrix: 0/2 done, running a × x (0); 0 executions, 0/s, 0 ms" +
      "\r\x1b[Kmatrix: 0/2 done, running a × x (30); 30 executions, 200/s, 150 ms" +
      "\r\x1b[Kmatrix: 1/2 done; 30 executions, 200/s, 150 ms" +
      "\r\x1b[K",
  );
});
