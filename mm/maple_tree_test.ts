/**
 * The maple tree's nodes: which stores replace the root node (and free the old one by
 * RCU) and which move a pivot in place, and how many steps a walk takes under each
 * protection.
 */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
import {
  expand_downwards,
  Kernel,
  type Mm,
  mm_alloc,
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
  mt_init,
  rcu_read_lock,
  rcu_read_unlock,
  setupFault,
  setupVma,
  STACK_UNDER_READ_LOCK,
  vma_lookup,
  vma_mas_remove,
  vma_mas_store,
} from "./mod.ts";

const GiB = 0x40000000;
const PAGE = 0x1000;

/**
 * Runs `body` alone on a maple mm with two stacks one page apart ([GiB + 4, + 8) and
 * [GiB + 9, + 16) pages, both faulted in); returns the steps it took (label and
 * detail) and, at the end, each object's state and the root node's name.
 */
function run(body: (k: Kernel, mm: Mm) => Proc) {
  const states = new Map<string, string>();
  const trace: string[] = [];
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const mm = mm_alloc(k);
    setupVma(k, mm, GiB + 4 * PAGE, GiB + 8 * PAGE, true);
    setupVma(k, mm, GiB + 9 * PAGE, GiB + 16 * PAGE, true);
    setupFault(k, mm, GiB + 4 * PAGE);
    setupFault(k, mm, GiB + 9 * PAGE);
    mm.mt = mt_init(k, mm);
    return {
      threads: [{ name: "CPU0", body: () => recorded(body(k, mm), trace) }],
      finish: () => {
        k.slab.objects.forEach((o, name) => states.set(name, o.state));
        states.set("root", mm.mt!.root.obj.name);
      },
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.executions, 1);
  return { states, trace };
}

/** `proc`, recording each step it asks for in `trace`. */
function* recorded(proc: Proc, trace: string[]): Proc {
  let next = proc.next(0);
  while (!next.done) {
    trace.push(`${next.value.label} ${next.value.detail ?? ""}`.trim());
    next = proc.next(yield next.value);
  }
}

/** The stack at GiB + 9 pages grows down to `to` under mmap_read_lock(), as 6.4.0's does. */
function grow(to: number) {
  return function* (k: Kernel, mm: Mm): Proc {
    yield* mmap_read_lock(k, mm);
    const stack = (yield* vma_lookup(k, mm, GiB + 9 * PAGE))!;
    assert.equal(yield* expand_downwards(k, mm, stack, to, STACK_UNDER_READ_LOCK), true);
    yield* mmap_read_unlock(k, mm);
  };
}

Deno.test("a store that only moves a pivot writes the node in place", () => {
  // The lower stack grows into the gap below it, which stays: only a pivot moves.
  const { states, trace } = run(function* (k, mm) {
    yield* mmap_read_lock(k, mm);
    const low = (yield* vma_lookup(k, mm, GiB + 4 * PAGE))!;
    assert.equal(yield* expand_downwards(k, mm, low, GiB + 2 * PAGE, STACK_UNDER_READ_LOCK), true);
    yield* mmap_read_unlock(k, mm);
  });
  assert.equal(states.get("root"), "maple_node");
  assert.equal(states.get("maple_node"), "live");
  assert.ok(
    trace.includes("expand_downwards VMA@0x40004000->vm_start = 0x40002000; mas_store_prealloc"),
  );
  assert.ok(!trace.some((s) => s.startsWith("call_rcu")), trace.join("\n"));
});

Deno.test("a store that closes a gap replaces the node and frees the old one by RCU", () => {
  const { states, trace } = run(grow(GiB + 8 * PAGE));
  assert.equal(states.get("root"), "maple_node#CPU0");
  assert.equal(states.get("maple_node"), "freed");
  assert.ok(trace.includes("call_rcu mt_free_rcu(maple_node)"), trace.join("\n"));
});

Deno.test("munmap() and mmap() under the write lock replace the node", () => {
  const { states } = run(function* (k, mm) {
    yield* mmap_write_lock(k, mm);
    const low = (yield* vma_lookup(k, mm, GiB + 4 * PAGE, "vma_find", "mmap_lock"))!;
    yield* vma_mas_remove(k, mm, low);
    yield* vma_mas_store(k, mm, GiB, GiB + PAGE);
    yield* mmap_write_unlock(k, mm);
  });
  assert.equal(states.get("maple_node"), "freed");
  assert.equal(states.get("maple_node#CPU0"), "freed");
  assert.equal(states.get("root"), "maple_node#CPU0.2");
});

Deno.test("a walk is one step under RCU or the write lock, two under the read lock", () => {
  const walkSteps = (trace: readonly string[], label: string) =>
    trace.filter((s) => s.startsWith(`${label} `)).length;
  const rcu = run(function* (k, mm) {
    yield* rcu_read_lock(k);
    yield* vma_lookup(k, mm, GiB, "mas_walk", "rcu");
    yield* rcu_read_unlock(k);
  });
  assert.equal(walkSteps(rcu.trace, "mas_walk"), 1);
  const write = run(function* (k, mm) {
    yield* mmap_write_lock(k, mm);
    yield* vma_lookup(k, mm, GiB, "find_vma_prev", "mmap_lock");
    yield* mmap_write_unlock(k, mm);
  });
  assert.equal(walkSteps(write.trace, "find_vma_prev"), 1);
  const read = run(function* (k, mm) {
    yield* mmap_read_lock(k, mm);
    yield* vma_lookup(k, mm, GiB, "find_vma_prev", "mmap_lock");
    yield* mmap_read_unlock(k, mm);
  });
  assert.deepEqual(read.trace.filter((s) => s.startsWith("find_vma_prev ")), [
    "find_vma_prev 0x40000000: mas_root()",
    "find_vma_prev 0x40000000: maple_node slots",
  ]);
});
