/** The layer rule holds for the tree, and the check catches a breach. */

import assert from "node:assert/strict";
import { breaches, coreFiles } from "./layers.ts";

Deno.test("layers only import downwards", async () => {
  assert.deepEqual(breaches(await coreFiles(new URL("../", import.meta.url))), []);
});

Deno.test("the layer check reports an upward import with file and target", () => {
  const found = breaches(
    new Map([
      ["explore/x.ts", 'import { Kernel } from "../mm/kernel.ts";'],
      ["mm/y.ts", 'import type { Strategy } from "../strategies/strategy.ts";\nimport "./z.ts";'],
      ["strategies/z.ts", 'import { marked } from "marked";'],
      ["scenarios/w.ts", 'import { x } from "../strategies/mod.ts";'],
      ["site/v.ts", 'import { marked } from "marked";\nimport { Vma } from "../mm/mm_types.ts";'],
      ["literate/u.ts", 'import { check } from "../mod.ts";\nimport "../site/build.ts";'],
    ]),
  );
  assert.deepEqual(found, [
    "explore/x.ts: imports mm/kernel.ts, but explore/ may only use explore",
    "mm/y.ts: imports strategies/strategy.ts, but mm/ may only use mm, explore",
    'strategies/z.ts: imports "marked"; core layers import only project files and node: built-ins',
    "site/v.ts: imports mm/mm_types.ts, but site/ may only use site, mod.ts, literate",
    "literate/u.ts: imports site/build.ts, but literate/ may only use literate, mod.ts",
  ]);
});
