/**
 * The mutant generator on small sources: which mutants a piece of locking code gets,
 * what each changes, that comments and strings are never mistaken for code, that
 * identical mutants are kept once, and that imports a mutant needs are added. The
 * whole run (`deno task mutate`) is not tested here: it takes minutes.
 *
 * @module
 */

import assert from "node:assert/strict";
import { addImport, applyMutant, mutantsOf } from "./generate.ts";
import { mask } from "./source.ts";
import { selected } from "./main.ts";

/** `category line: description` of each mutant of `text` (as `strategies/x.ts`). */
function summaries(text: string, file = "strategies/x.ts"): string[] {
  return mutantsOf(file, text).map((m) => `${m.category} ${m.line}: ${m.description}`);
}

const SECTION = `/** Doc: yield* spin_lock(k, x); is not code. */
function* f(k: Kernel, mm: Mm): Proc {
  yield* spin_lock(k, mm.page_table_lock);
  if (yield* isDetached(k, vma)) return;
  yield* step(k, "spin_lock", "yield* rcu_read_lock(k);", [], () => {});
  yield* spin_unlock(k, mm.page_table_lock);
}
`;

Deno.test("a spinlock section and a check: the mutants, in line order", () => {
  assert.deepEqual(summaries(SECTION, "mm/x.ts"), [
    "lock-dropped 3: drop spin_lock(k, mm.page_table_lock)",
    "section-dropped 3: drop spin_lock(k, mm.page_table_lock) with spin_unlock()",
    "trylock-no-fallback 3: spin_lock() → spin_trylock(), result ignored: " +
    "spin_lock(k, mm.page_table_lock)",
    "check-removed 4: isDetached(k, vma) → false",
    "check-inverted 4: negate isDetached(k, vma)",
    "lock-dropped 6: drop spin_unlock(k, mm.page_table_lock)",
  ]);
});

Deno.test("what each mutant changes, and its diff", () => {
  const [drop, section, trylock, removed, inverted] = mutantsOf("mm/x.ts", SECTION);
  const lines = (m: typeof drop) => applyMutant(SECTION, m).split("\n");
  assert.ok(!lines(drop).includes("  yield* spin_lock(k, mm.page_table_lock);"));
  assert.deepEqual(drop.diff, ["@@ line 3 @@", "-  yield* spin_lock(k, mm.page_table_lock);"]);
  assert.equal(drop.typeCheck, false);
  assert.ok(!applyMutant(SECTION, section).includes("spin_unlock"));
  assert.equal(section.edits.length, 2);
  assert.ok(lines(trylock).includes("  yield* spin_trylock(k, mm.page_table_lock);"));
  assert.equal(lines(trylock)[0], `import { spin_trylock } from "./spinlock.ts";`);
  assert.deepEqual(trylock.imports, ["spin_trylock"]);
  assert.equal(trylock.typeCheck, true);
  assert.ok(lines(removed).includes("  if ((false as boolean)) return;"));
  assert.ok(lines(inverted).includes("  if ((!(yield* isDetached(k, vma)))) return;"));
});

Deno.test("RCU sections with early exits, a downgrade, adjacent locks", () => {
  const text = `function* munmap(k: Kernel, mm: Mm): Proc {
  yield* mmap_write_lock(k, mm);
  if (!vma) {
    yield* mmap_write_unlock(k, mm);
    return;
  }
  yield* vma_end_write_all(k, mm);
  yield* mmap_write_downgrade(k, mm);
  yield* vm_area_free_rcu(k, vma);
  yield* mmap_read_unlock(k, mm);
}
`;
  assert.deepEqual(summaries(text), [
    "lock-dropped 2: drop mmap_write_lock(k, mm)",
    "section-dropped 2: drop mmap_write_lock(k, mm) with mmap_write_unlock(), " +
    "mmap_write_downgrade(), mmap_read_unlock()",
    "exclusive-to-shared 2: mmap_write_lock() → mmap_read_lock(): mmap_write_lock(k, mm); " +
    "mmap_write_unlock() → mmap_read_unlock(), mmap_write_downgrade() dropped",
    "lock-dropped 4: drop mmap_write_unlock(k, mm)",
    "lock-dropped 7: drop vma_end_write_all(k, mm)",
    "lock-order-swapped 7: swap vma_end_write_all(k, mm) and mmap_write_downgrade(k, mm)",
    "lock-dropped 8: drop mmap_write_downgrade(k, mm)",
    "deferred-free-immediate 9: vm_area_free_rcu → vm_area_free (freed at once, no grace period)",
    "lock-dropped 10: drop mmap_read_unlock(k, mm)",
  ]);
  const shared = applyMutant(text, mutantsOf("strategies/x.ts", text)[2]);
  assert.ok(shared.startsWith(
    `import { mmap_read_unlock, mmap_read_lock } from "../mm/mod.ts";\nfunction* munmap(`,
  ));
  assert.ok(
    shared.includes("  yield* mmap_read_lock(k, mm);\n  if (!vma) {\n    yield* mmap_read_unlock"),
  );
  assert.ok(!shared.includes("downgrade"));
});

Deno.test("a trylock in a condition becomes true; guarded calls become {}", () => {
  const text = `function* fault(k: Kernel, mm: Mm): Proc {
  yield* rcu_read_lock(k);
  if (vma && (yield* down_read_trylock(k, vma.sem))) {
    yield* rcu_read_unlock(k);
  } else {
    yield* rcu_read_unlock(k);
  }
  if (vma) yield* up_read(k, vma.sem);
}
`;
  const ms = mutantsOf("strategies/x.ts", text);
  assert.deepEqual(ms.map((m) => `${m.category} ${m.line}`), [
    "lock-dropped 2",
    "section-dropped 2",
    "lock-dropped 3",
    "section-dropped 3",
    "lock-dropped 4",
    "lock-dropped 6",
    "lock-dropped 8",
  ]);
  assert.ok(applyMutant(text, ms[2]).includes("if (vma && (true)) {"));
  assert.equal(ms[1].edits.length, 3, "both unlocks go with the lock");
  assert.ok(applyMutant(text, ms[6]).includes("  if (vma) {}\n"));
});

Deno.test("checks in conditions: removed the way that makes them vanish, and inverted", () => {
  const text = `function* g(k: Kernel): Proc<Table | undefined> {
  if (orig_pte) return "retry";
  if (pmdval === vmf.orig_pmd) {
    if (locked) return pte;
  }
  const sampled = seq % 2 === 0 ? seq : undefined;
  k.rt.note(vma.detached ? "detached" : "attached");
  return undefined;
}
`;
  assert.deepEqual(summaries(text), [
    "check-removed 2: if (orig_pte) → false",
    "check-inverted 2: negate if (orig_pte)",
    "check-removed 3: if (pmdval === vmf.orig_pmd) → true",
    "check-inverted 3: negate if (pmdval === vmf.orig_pmd)",
    "check-removed 6: seq % 2 === 0 ? → true",
    "check-inverted 6: negate seq % 2 === 0 ?",
  ]);
  const [removed, inverted, , , kept] = mutantsOf("strategies/x.ts", text);
  assert.ok(
    applyMutant(text, removed).includes('  if (false as boolean && (orig_pte)) return "retry";'),
  );
  assert.ok(applyMutant(text, inverted).includes('  if (!(orig_pte)) return "retry";'));
  assert.ok(applyMutant(text, kept).includes("= true as boolean || (seq % 2 === 0) ? seq :"));
});

Deno.test("the floor/ceiling rule, only in free_pgd_range() and free_range()", () => {
  const text = `function* free_range(k: Kernel): Proc {
  if (start < floor) return;
  if (end - 1 > below(ceiling)) return;
}
function* other(k: Kernel): Proc {
  if (start < floor) return;
}
`;
  assert.deepEqual(summaries(text, "mm/memory.ts"), [
    "floor-ceiling-ignored 2: free_range(): if (start < floor) → if (false)",
    "floor-ceiling-ignored 3: free_range(): if (end - 1 > below(ceiling)) → if (false)",
  ]);
});

Deno.test("call_rcu() runs its callback at once; identical mutants are kept once", () => {
  const text = `function* tlb(k: Kernel): Proc {
  yield* call_rcu(k, "tlb_remove_table_rcu", "t", [], () => {});
}
function* twice(k: Kernel): Proc {
  yield* rcu_read_lock(k);
  yield* rcu_read_lock(k);
}
`;
  const ms = mutantsOf("mm/memory.ts", text);
  assert.deepEqual(ms.map((m) => `${m.category} ${m.line}`), [
    "deferred-free-immediate 2",
    "lock-dropped 5",
  ]);
  assert.ok(applyMutant(text, ms[0]).includes(`yield* step(k, "tlb_remove_table_rcu"`));
  assert.ok(applyMutant(text, ms[0]).startsWith(`import { step } from "./kernel.ts";\n`));
});

Deno.test("mask: comments, strings, templates and regexes blanked, code and offsets kept", () => {
  const text = 'a("x(") /* yield* b( */ + `t ${c("y")} u` // d(\nconst r = /e(/g; f(1 / 2)';
  const code = mask(text);
  assert.equal(code.length, text.length);
  assert.equal(
    code,
    'a("  ")                 + `  ${c(" ")}  `      \nconst r = /  /g; f(1 / 2)',
  );
});

Deno.test("addImport: into the list from the module, once, never into a type import", () => {
  const text =
    `import type { Proc } from "../mm/mod.ts";\nimport {\n  down_read,\n} from "../mm/mod.ts";\n`;
  const once = addImport("strategies/x.ts", text, "up_read");
  assert.equal(
    once,
    `import type { Proc } from "../mm/mod.ts";\nimport {\n  up_read,\n  down_read,\n} from "../mm/mod.ts";\n`,
  );
  assert.equal(addImport("strategies/x.ts", once, "up_read"), once);
  assert.equal(
    addImport("mm/rwsem.ts", "export function* down_read() {}", "down_read"),
    "export function* down_read() {}",
  );
});

Deno.test("--filter: an id matches that mutant only, other text is a substring", () => {
  const [m] = mutantsOf("mm/x.ts", SECTION);
  const mutant = { ...m, id: "M1" };
  assert.ok(selected(mutant, []));
  assert.ok(selected(mutant, ["M1"]));
  assert.ok(!selected({ ...mutant, id: "M10" }, ["M1"]));
  assert.ok(selected(mutant, ["mm/x.ts:3"]));
  assert.ok(selected(mutant, ["nothing", "lock-dropped"]));
  assert.ok(!selected(mutant, ["check-removed"]));
});
