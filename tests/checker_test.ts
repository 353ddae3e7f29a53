/**
 * The checker can fail: small programs with a known bug are reported with a trace,
 * and their corrected versions explore exhaustively without a violation. Execution
 * counts are in the step names.
 */

import assert from "node:assert/strict";
import {
  alloc,
  call_rcu,
  explore,
  formatTrace,
  GFP_PGTABLE_USER,
  Kernel,
  type Proc,
  type ProgramFactory,
  rcu_read_lock,
  rcu_read_unlock,
  spin_lock,
  spin_unlock,
  SpinLock,
  step,
  synchronize_rcu,
  Violation,
} from "../mod.ts";

type Cpu = (k: Kernel) => Proc;

/** A two-CPU program written against the mm core; `setup` builds shared state. */
function cpus(setup: (k: Kernel) => { cpus: Cpu[]; finish?: () => void }): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const built = setup(k);
    return {
      threads: built.cpus.map((body, i) => ({ name: `CPU${i}`, body: () => body(k) })),
      ...(built.finish ? { finish: built.finish } : {}),
    };
  };
}

/** Explores the buggy and the corrected program as two named steps. */
async function judge(
  t: Deno.TestContext,
  kind: string,
  buggy: ProgramFactory,
  fixed: ProgramFactory,
): Promise<void> {
  const bad = explore(buggy);
  await t.step(`buggy: ${kind} found (${bad.executions} executions)`, () => {
    assert.equal(bad.counterexample?.kind, kind, JSON.stringify(bad.violations));
    const table = formatTrace(bad.counterexample!.trace);
    assert.match(table, /\| CPU0/);
    assert.match(table, new RegExp(`^${kind}`, "m"));
  });
  const good = explore(fixed);
  await t.step(`corrected: safe (${good.executions} executions, exhaustive)`, () => {
    assert.equal(good.counterexample, undefined, good.counterexample?.message);
    assert.equal(good.exhaustive, true);
  });
}

Deno.test("lost update: two increments without the lock", async (t) => {
  const counter = (locked: boolean) =>
    cpus((k) => {
      const lock = new SpinLock("lock", k.slab.create("mm", "counter"));
      let value = 0;
      const increment: Cpu = function* (k) {
        if (locked) yield* spin_lock(k, lock);
        const seen = yield* step(k, "load", "value", [{
          obj: "counter",
          part: "value",
          kind: "read",
        }], () => value);
        yield* step(k, "store", "value", [{ obj: "counter", part: "value", kind: "write" }], () => {
          value = seen + 1;
        });
        if (locked) yield* spin_unlock(k, lock);
      };
      return {
        cpus: [increment, increment],
        finish: () => {
          if (value !== 2) throw new Violation("lost-update", `counter is ${value}, not 2`);
        },
      };
    });
  await judge(t, "lost-update", counter(false), counter(true));
});

Deno.test("use-after-free: a reader outside rcu_read_lock() while call_rcu() frees", async (t) => {
  const reader = (underRcu: boolean) =>
    cpus((k) => {
      const obj = k.slab.create("vma", "obj");
      let published: typeof obj | undefined = obj;
      const read: Cpu = function* (k) {
        if (underRcu) yield* rcu_read_lock(k);
        const p = yield* step(k, "rcu_dereference", "gp", [{ obj: "gp", kind: "read" }], () =>
          published);
        if (p) {
          yield* step(k, "load", p.name, [{ obj: p.name, kind: "read" }], () =>
            k.slab.read(p, "field"));
        }
        if (underRcu) {
          yield* rcu_read_unlock(k);
        }
      };
      const remove: Cpu = function* (k) {
        yield* step(k, "rcu_assign_pointer", "gp = NULL", [{ obj: "gp", kind: "write" }], () => {
          published = undefined;
        });
        yield* call_rcu(k, "kfree_rcu_cb", obj.name, [{ obj: obj.name, kind: "write" }], () =>
          k.slab.free(obj));
      };
      return { cpus: [read, remove] };
    });
  await judge(t, "use-after-free", reader(false), reader(true));
});

Deno.test("deadlock: ABBA between two spinlocks", async (t) => {
  const abba = (sameOrder: boolean) =>
    cpus((k) => {
      const home = k.slab.create("mm", "locks");
      const a = new SpinLock("A", home);
      const b = new SpinLock("B", home);
      const take = (first: SpinLock, second: SpinLock): Cpu =>
        function* (k) {
          yield* spin_lock(k, first);
          yield* spin_lock(k, second);
          yield* spin_unlock(k, second);
          yield* spin_unlock(k, first);
        };
      return { cpus: [take(a, b), sameOrder ? take(a, b) : take(b, a)] };
    });
  await judge(t, "deadlock", abba(false), abba(true));
  const cycle = explore(abba(false)).counterexample!.message;
  assert.match(
    cycle,
    /deadlock cycle: CPU\d waits in spin_lock for locks->[AB] \(held by CPU\d\); CPU\d waits/,
  );
});

Deno.test("sleeping under RCU: a GFP_KERNEL allocation inside rcu_read_lock()", async (t) => {
  const allocate = (insideRcu: boolean) =>
    cpus(() => {
      const cpu: Cpu = function* (k) {
        if (!insideRcu) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
        yield* rcu_read_lock(k);
        if (insideRcu) yield* alloc(k, "pmd_alloc_one", "pmd", "PMD", GFP_PGTABLE_USER);
        yield* rcu_read_unlock(k);
      };
      return { cpus: [cpu] };
    });
  await judge(t, "sleep-in-atomic", allocate(true), allocate(false));
});

Deno.test("synchronize_rcu() inside a read-side section", async (t) => {
  const sync = (inside: boolean) =>
    cpus(() => {
      const reader: Cpu = function* (k) {
        yield* rcu_read_lock(k);
        if (inside) yield* synchronize_rcu(k);
        yield* rcu_read_unlock(k);
        if (!inside) yield* synchronize_rcu(k);
      };
      const other: Cpu = function* (k) {
        yield* rcu_read_lock(k);
        yield* rcu_read_unlock(k);
      };
      return { cpus: [reader, other] };
    });
  await judge(t, "sleep-in-atomic", sync(true), sync(false));
});
