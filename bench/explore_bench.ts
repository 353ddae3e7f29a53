/**
 * Explorer throughput on the scenarios whose searches are largest, and the whole
 * verdict matrix. Numbers go in the README (executions per pair are in
 * `tests/explored_counts.json`); no test depends on time.
 *
 *     deno task bench
 */

import { check, runMatrix } from "../mod.ts";

Deno.bench("baseline mmap-lock × fault-vs-munmap", () => {
  check("mmap-lock", "fault-vs-munmap");
});

Deno.bench("rcu-gfp-nowait × fault-vs-munmap (Michel's race)", () => {
  check("rcu-gfp-nowait", "fault-vs-munmap");
});

Deno.bench("per-vma-lock × fault-vs-munmap-mmap", () => {
  check("per-vma-lock", "fault-vs-munmap-mmap");
});

Deno.bench("the whole verdict matrix", { n: 1, warmup: 0 }, () => {
  runMatrix();
});
