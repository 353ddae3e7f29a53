/**
 * Explorer throughput on the scenarios whose searches are largest, and the whole
 * verdict matrix. Numbers go in the README; no test depends on time.
 *
 *     deno task bench
 */

import { check, runMatrix } from "../mod.ts";

Deno.bench("baseline mmap-lock × fault-vs-munmap (3 executions)", () => {
  check("mmap-lock", "fault-vs-munmap");
});

Deno.bench("rcu-gfp-nowait × fault-vs-munmap (Michel's race, 427 executions)", () => {
  check("rcu-gfp-nowait", "fault-vs-munmap");
});

Deno.bench("per-vma-lock × fault-vs-munmap-mmap (3698 executions)", () => {
  check("per-vma-lock", "fault-vs-munmap-mmap");
});

Deno.bench("whole matrix (6 strategies × 6 scenarios)", { n: 1, warmup: 0 }, () => {
  runMatrix();
});
