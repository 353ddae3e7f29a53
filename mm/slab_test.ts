/** Every slab access is checked against the running step's declaration; names are stable. */

import assert from "node:assert/strict";
import { type Access, explore } from "../explore/mod.ts";
import { Kernel, type KObject, Slab, step } from "./mod.ts";

/** Explores one CPU taking one step that declares `declared` and runs `body` on a VMA. */
function oneStep(declared: (vma: KObject) => Access[], body: (k: Kernel, vma: KObject) => void) {
  return explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const vma = k.slab.create("vma", "VMA");
    return {
      threads: [{
        name: "CPU0",
        body: () => step(k, "vma_op", undefined, declared(vma), () => body(k, vma)),
      }],
    };
  });
}

Deno.test("a step that touches what it did not declare ends in an undeclared access", async (t) => {
  const cases: [string, (vma: KObject) => Access[], (k: Kernel, vma: KObject) => void, RegExp][] = [
    [
      "a store to another part",
      (vma) => [{ obj: vma.name, part: "vm_flags", kind: "write" }],
      (k, vma) => k.slab.write(vma, "anon_vma"),
      /CPU0 in step vma_op writes VMA\.anon_vma, but declared write VMA\.vm_flags/,
    ],
    [
      "a store to a part declared read",
      (vma) => [{ obj: vma.name, part: "vm_flags", kind: "read" }],
      (k, vma) => k.slab.write(vma, "vm_flags"),
      /writes VMA\.vm_flags, but declared read VMA\.vm_flags/,
    ],
    [
      "a load of the whole object when one part is declared",
      (vma) => [{ obj: vma.name, part: "vm_flags", kind: "read" }],
      (k, vma) => k.slab.read(vma, undefined),
      /reads VMA, but declared read VMA\.vm_flags/,
    ],
    [
      "a free when one part is declared (a free stores to the whole object)",
      (vma) => [{ obj: vma.name, part: "detached", kind: "write" }],
      (k, vma) => k.slab.free(vma),
      /writes VMA, but declared write VMA\.detached/,
    ],
    [
      "an unlink when nothing is declared",
      () => [],
      (k, vma) => k.slab.detach(vma),
      /writes VMA, but declared nothing/,
    ],
  ];
  for (const [name, declared, body, message] of cases) {
    await t.step(name, () => {
      const result = oneStep(declared, body);
      assert.equal(result.counterexample?.kind, "exception");
      assert.match(result.counterexample!.message, /undeclared access/);
      assert.match(result.counterexample!.message, message);
    });
  }
  await t.step("what is declared passes", () => {
    const result = oneStep((vma) => [
      { obj: vma.name, part: "vm_flags", kind: "write" },
      { obj: vma.name, kind: "read" },
    ], (k, vma) => {
      k.slab.write(vma, "vm_flags");
      k.slab.read(vma, "anon_vma");
    });
    assert.equal(result.counterexample, undefined, result.counterexample?.message);
  });
});

Deno.test("objects created while the CPUs run are named by their creator, not by who ran first", () => {
  let creator: { id: number; name: string } | undefined;
  const slab = new Slab({
    where: () => creator?.name ?? "setup",
    creator: () => creator,
    touch() {},
  });
  const as = (id: number, base: string) => {
    creator = id < 0 ? undefined : { id, name: `CPU${id}` };
    return slab.create("pmd", base).name;
  };
  assert.equal(as(-1, "PUD@0x0"), "PUD@0x0");
  assert.equal(as(-1, "PUD@0x0"), "PUD@0x0#2");
  // CPU1 first: its name does not change when CPU0 allocates after it.
  assert.equal(as(1, "PMD@0x40000000"), "PMD@0x40000000#CPU1");
  assert.equal(as(0, "PMD@0x40000000"), "PMD@0x40000000");
  assert.equal(as(0, "PMD@0x40000000"), "PMD@0x40000000#CPU0.2");
  assert.equal(as(1, "PMD@0x40000000"), "PMD@0x40000000#CPU1.2");
  // A base taken by set-up is never bare at run time, not even for CPU0.
  assert.equal(as(0, "PUD@0x0"), "PUD@0x0#CPU0");
  assert.equal(as(1, "PUD@0x0"), "PUD@0x0#CPU1");
});
