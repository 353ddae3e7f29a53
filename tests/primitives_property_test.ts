/**
 * Property-based tests of the mm core's primitives against small reference models, with
 * fast-check: random programs, run under random schedules (driving an
 * {@linkcode Execution} step by step) or explored exhaustively, must behave as the
 * reference computed independently from the rules each primitive's module documents.
 *
 * - rwsem: a few tasks run random down_read / down_write / down_read_trylock /
 *   downgrade sections; at every point the runnable tasks, the holders, the waiting
 *   writers and each task's own record of what it holds match a reference FIFO rwsem
 *   with writer preference (readers wait behind a waiting writer, trylock then fails,
 *   writers are served in the order they queued).
 * - RCU: random read-side sections (nested or not), call_rcu() and synchronize_rcu();
 *   a callback (or a synchronize_rcu()) may proceed exactly when every section that was
 *   open when its grace period started has ended, and every callback runs once.
 * - The page allocator: GFP_NOWAIT fails only within each CPU's budget, every pattern
 *   of failures the budget allows is explored, GFP_KERNEL never fails, and a sleeping
 *   allocation in atomic context is reported as `sleep-in-atomic`.
 * - Page tables: random VMAs, random faults, munmap() of one VMA: afterwards exactly the
 *   tables whose span no remaining VMA overlaps are freed (free_pgd_range()'s
 *   floor/ceiling rule, from the VMA ranges alone), exactly the unmapped VMA's pages.
 *
 * Runs are a few hundred per property; a failure prints fast-check's seed and the
 * shrunk counterexample.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Execution } from "../explore/execution.ts";
import {
  alloc,
  call_rcu,
  check_mm,
  down_read,
  down_read_trylock,
  down_write,
  downgrade_write,
  explore,
  type Gfp,
  GFP_NOWAIT,
  GFP_PGTABLE_USER,
  hex,
  Kernel,
  type KObject,
  type Level,
  mm_alloc,
  type Proc,
  type ProgramFactory,
  rcu_read_lock,
  rcu_read_unlock,
  RwSem,
  setupVma,
  spin_lock,
  spin_unlock,
  SpinLock,
  synchronize_rcu,
  tableSize,
  up_read,
  up_write,
  type Violation,
} from "../mod.ts";
import { fault_under_mmap_lock, munmap_under_mmap_lock } from "../strategies/mmap_lock.ts";

const RUNS = 300;

/**
 * Runs `exec` to its end, `picks` choosing among the runnable threads (then the lowest),
 * calling `before(thread)` before each step and `after(thread)` after it. Returns the
 * violation a step threw, if one did.
 */
function drive(
  exec: Execution,
  picks: readonly number[],
  hooks: {
    readonly runnable?: (enabled: readonly number[]) => void;
    readonly before?: (thread: number) => void;
    readonly after?: (thread: number) => void;
  },
): Violation | undefined {
  for (let i = 0;; i++) {
    const enabled = exec.enabled();
    hooks.runnable?.(enabled);
    if (enabled.length === 0) return undefined;
    const thread = enabled[(picks[i] ?? 0) % enabled.length];
    hooks.before?.(thread);
    const violation = exec.step(thread, 0);
    if (violation) return violation;
    hooks.after?.(thread);
  }
}

// ---------------------------------------------------------------------------------
// rwsem

type RwOp = "read" | "write" | "tryread" | "downgrade";

/** The reference: what mm/rwsem.ts's module comment says an rwsem does. */
class ReferenceRwsem {
  readers: number[] = [];
  writer: number | undefined;
  /** Writers that found the lock taken, in the order they queued. */
  queue: number[] = [];
  /** Writers in the order they got the lock, and whether each had to queue. */
  readonly grants: { task: number; queued: boolean }[] = [];

  /** A reader gets in only with no writer holding and none waiting. */
  readerMayEnter(): boolean {
    return this.writer === undefined && this.queue.length === 0;
  }

  /** A queued writer gets in when the lock is free and it is first in line. */
  writerMayEnter(task: number): boolean {
    return this.writer === undefined && this.readers.length === 0 && this.queue[0] === task;
  }

  /** What the pending step of `task` (named `label`, `detail`) is allowed to do now. */
  runnable(task: number, label: string, detail: string | undefined): boolean {
    if (label === "down_read") return this.readerMayEnter();
    if (label === "down_write" && detail?.endsWith("(woken)")) return this.writerMayEnter(task);
    return true;
  }

  /** Applies that step; returns what it must have done. */
  apply(task: number, label: string, detail: string | undefined): string {
    switch (label) {
      case "down_read":
        this.readers.push(task);
        return "read";
      case "down_read_trylock":
        if (!this.readerMayEnter()) return "trylock failed";
        this.readers.push(task);
        return "read";
      case "down_write":
        if (detail?.endsWith("(woken)")) {
          this.queue.shift();
          this.writer = task;
          this.grants.push({ task, queued: true });
          return "write";
        }
        if (this.writer === undefined && this.readers.length === 0 && this.queue.length === 0) {
          this.writer = task;
          this.grants.push({ task, queued: false });
          return "write";
        }
        this.queue.push(task);
        return "queued";
      case "downgrade_write":
        this.writer = undefined;
        this.readers.push(task);
        return "read";
      case "up_read":
        this.readers.splice(this.readers.indexOf(task), 1);
        return "released";
      case "up_write":
        this.writer = undefined;
        return "released";
    }
    throw new Error(`unexpected step ${label}`);
  }
}

function* rwSection(k: Kernel, sem: RwSem, op: RwOp): Proc {
  if (op === "read") {
    yield* down_read(k, sem);
    yield* up_read(k, sem);
  } else if (op === "write") {
    yield* down_write(k, sem);
    yield* up_write(k, sem);
  } else if (op === "tryread") {
    if (yield* down_read_trylock(k, sem)) yield* up_read(k, sem);
  } else {
    yield* down_write(k, sem);
    yield* downgrade_write(k, sem);
    yield* up_read(k, sem);
  }
}

Deno.test("rwsem: holders, waiters and who may run match a reference FIFO rwsem with writer preference", () => {
  const op = fc.constantFrom<RwOp>("read", "write", "tryread", "downgrade");
  fc.assert(
    fc.property(
      fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 80 }),
      (programs, picks) => {
        let k: Kernel | undefined;
        let sem: RwSem | undefined;
        const exec = new Execution((rt) => {
          const kernel = new Kernel(rt, { allocFailures: 0 });
          const lock = new RwSem("sem", kernel.slab.create("vma", "VMA"));
          k = kernel;
          sem = lock;
          return {
            threads: programs.map((ops, i) => ({
              name: `CPU${i}`,
              body: function* (): Proc {
                for (const op of ops) yield* rwSection(kernel, lock, op);
              },
            })),
          };
        });
        const ref = new ReferenceRwsem();
        let expected = "";
        const violation = drive(exec, picks, {
          runnable(enabled) {
            const wanted = programs.map((_, t) => t).filter((t) => {
              const p = exec.pending(t);
              return p !== undefined && ref.runnable(t, p.label, p.detail);
            });
            assert.deepEqual(enabled, wanted, "runnable tasks");
            // Well-formed sections on one lock never deadlock.
            if (enabled.length === 0) assert.deepEqual(exec.liveWorkers(), [], "deadlock");
          },
          before(t) {
            const p = exec.pending(t)!;
            expected = ref.apply(t, p.label, p.detail);
          },
          after(t) {
            const s = sem!;
            assert.deepEqual(
              [...s.readers].sort(),
              [...ref.readers].sort(),
              `readers (${expected})`,
            );
            assert.equal(s.writer, ref.writer, `writer (${expected})`);
            assert.deepEqual(s.waiters, ref.queue, "waiting writers, in queue order");
            // Mutual exclusion, and writer preference: no reader beside a writer.
            assert.ok(s.writer === undefined || s.readers.length === 0);
            // The task's own record (lockdep's held_locks) says what it holds (a task
            // whose only step was a failed trylock has no record yet: it holds nothing).
            const task = k!.tasks.find((task) => task.id === t);
            const holds = ref.readers.includes(t) || ref.writer === t;
            const held = task?.sleepingLocks ?? [];
            assert.equal(held.includes(s.label), holds, "Task.sleepingLocks");
            const written = task?.writeLocks ?? [];
            assert.equal(written.includes(s.label), ref.writer === t, "Task.writeLocks");
          },
        });
        assert.equal(violation, undefined, violation?.message);
        // FIFO: queued writers got the lock in the order they queued.
        const queuedGrants = ref.grants.filter((g) => g.queued).map((g) => g.task);
        assert.deepEqual(
          queuedGrants,
          exec.events
            .filter((e) => e.request.label === "down_write" && e.notes.includes("waits"))
            .map((e) => e.thread),
        );
      },
    ),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------
// RCU

type RcuOp =
  | { readonly op: "section"; readonly nest: 1 | 2; readonly callInside: boolean }
  | { readonly op: "call" }
  | { readonly op: "sync" };

const rcuOp: fc.Arbitrary<RcuOp> = fc.oneof(
  fc.record({
    op: fc.constant("section" as const),
    nest: fc.constantFrom<1 | 2>(1, 2),
    callInside: fc.boolean(),
  }),
  fc.constant({ op: "call" as const }),
  fc.constant({ op: "sync" as const }),
);

Deno.test("RCU: a callback or synchronize_rcu() proceeds exactly when the readers present at its start have left", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(rcuOp, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(), { maxLength: 120 }),
      (programs, picks) => {
        /** The reference: each CPU's nesting depth and the number of its current section. */
        const depth = programs.map(() => 0);
        const section = programs.map(() => 0);
        const open = () => depth.flatMap((d, cpu) => d > 0 ? [`${cpu}#${section[cpu]}`] : []);
        const stillOpen = (snapshot: readonly string[]) =>
          snapshot.filter((s) => open().includes(s));
        /** Callback id → the sections open when it was queued; ran → how often. */
        const waits = new Map<string, readonly string[]>();
        const ran = new Map<string, number>();
        /** Thread name of a callback → its id, learnt when it is spawned. */
        const queuedBy = new Map<number, string>();
        let syncWaits = new Map<number, readonly string[]>();

        const exec = new Execution((rt) => {
          const k = new Kernel(rt, { allocFailures: 0 });
          return {
            threads: programs.map((ops, cpu) => ({
              name: `CPU${cpu}`,
              body: function* (): Proc {
                let n = 0;
                const queue = function* (): Proc {
                  const id = `${cpu}.${++n}`;
                  queuedBy.set(cpu, id);
                  yield* call_rcu(k, "cb", id, [], () => {
                    // The callback runs: no section it waits for may still be open.
                    assert.deepEqual(stillOpen(waits.get(id)!), [], `callback ${id} ran early`);
                    ran.set(id, (ran.get(id) ?? 0) + 1);
                  });
                };
                for (const op of ops) {
                  if (op.op === "call") yield* queue();
                  else if (op.op === "sync") yield* synchronize_rcu(k);
                  else {
                    for (let i = 0; i < op.nest; i++) yield* rcu_read_lock(k);
                    if (op.callInside) yield* queue();
                    for (let i = 0; i < op.nest; i++) yield* rcu_read_unlock(k);
                  }
                }
              },
            })),
          };
        });
        const cpus = programs.length;
        const violation = drive(exec, picks, {
          runnable(enabled) {
            for (let t = 0; t < exec.threadCount; t++) {
              const p = exec.pending(t);
              if (!p) continue;
              let snapshot: readonly string[] | undefined;
              if (t >= cpus) snapshot = waits.get(p.detail!);
              else if (p.label === "synchronize_rcu" && p.detail === "wait for readers") {
                snapshot = syncWaits.get(t);
              }
              if (snapshot === undefined) {
                assert.ok(enabled.includes(t), `${exec.threadName(t)} ${p.label} is blocked`);
                continue;
              }
              assert.equal(
                enabled.includes(t),
                stillOpen(snapshot).length === 0,
                `${exec.threadName(t)} ${p.label}(${p.detail}) runnable while ${
                  stillOpen(snapshot)
                }`,
              );
            }
          },
          before(t) {
            if (t >= cpus) return;
            const p = exec.pending(t)!;
            if (p.label === "rcu_read_lock" && depth[t]++ === 0) section[t]++;
            if (p.label === "rcu_read_unlock") depth[t]--;
            if (p.label === "call_rcu") waits.set(queuedBy.get(t)!, open());
            if (p.label === "synchronize_rcu" && p.detail === "start grace period") {
              syncWaits = new Map([...syncWaits, [t, open()]]);
            }
          },
        });
        assert.equal(violation, undefined, violation?.message);
        // Every reader has left, so every callback has run, once.
        assert.deepEqual([...ran.keys()].sort(), [...waits.keys()].sort());
        assert.ok([...ran.values()].every((n) => n === 1), JSON.stringify([...ran]));
        assert.deepEqual(exec.liveWorkers(), []);
      },
    ),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------
// The page allocator

type Context = "plain" | "rcu" | "spinlock";
interface Allocation {
  readonly gfp: "GFP_NOWAIT" | "GFP_KERNEL";
  readonly context: Context;
}

const allocation: fc.Arbitrary<Allocation> = fc.record({
  gfp: fc.constantFrom<Allocation["gfp"]>("GFP_NOWAIT", "GFP_KERNEL"),
  context: fc.constantFrom<Context>("plain", "rcu", "spinlock"),
});

/** Each CPU makes its allocations in order; `seen` gets each execution's outcomes. */
function allocations(
  programs: readonly (readonly Allocation[])[],
  budget: number,
  seen: string[],
): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, { allocFailures: budget });
    const outcome = programs.map((ops) => ops.map(() => "?"));
    // One lock per CPU: the CPUs never wait for each other.
    const locks = programs.map((_, cpu) => new SpinLock("lock", k.slab.create("mm", `mm${cpu}`)));
    return {
      threads: programs.map((ops, cpu) => ({
        name: `CPU${cpu}`,
        body: function* (): Proc {
          const lock = locks[cpu];
          for (const [i, op] of ops.entries()) {
            if (op.context === "rcu") yield* rcu_read_lock(k);
            if (op.context === "spinlock") yield* spin_lock(k, lock);
            const gfp: Gfp = op.gfp === "GFP_NOWAIT" ? GFP_NOWAIT : GFP_PGTABLE_USER;
            const page: KObject | null = yield* alloc(k, `alloc${i}`, "page", "page", gfp);
            outcome[cpu][i] = page ? "ok" : "fail";
            if (op.context === "rcu") yield* rcu_read_unlock(k);
            if (op.context === "spinlock") yield* spin_unlock(k, lock);
          }
        },
      })),
      finish: () => void seen.push(outcome.map((o) => o.join(",")).join(" | ")),
    };
  };
}

/** Every outcome the rule allows: at most `budget` GFP_NOWAIT failures per CPU. */
function allowedOutcomes(programs: readonly (readonly Allocation[])[], budget: number): string[] {
  const perCpu = programs.map((ops) => {
    let patterns: string[][] = [[]];
    for (const op of ops) {
      patterns = patterns.flatMap((p) =>
        op.gfp === "GFP_KERNEL" ? [[...p, "ok"]] : [[...p, "ok"], [...p, "fail"]]
      );
    }
    return patterns.filter((p) => p.filter((o) => o === "fail").length <= budget)
      .map((p) => p.join(","));
  });
  return perCpu.reduce<string[]>(
    (acc, cpu) => acc.flatMap((a) => cpu.map((c) => a === "" ? c : `${a} | ${c}`)),
    [""],
  );
}

Deno.test("page allocator: GFP_NOWAIT fails exactly within the per-CPU budget, GFP_KERNEL never", () => {
  const legal = fc.record({
    gfp: fc.constantFrom<Allocation["gfp"]>("GFP_NOWAIT", "GFP_KERNEL"),
    context: fc.constantFrom<Context>("plain", "rcu", "spinlock"),
  }).map((a): Allocation => a.gfp === "GFP_KERNEL" ? { ...a, context: "plain" } : a);
  fc.assert(
    fc.property(
      fc.array(fc.array(legal, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 2 }),
      fc.integer({ min: 0, max: 2 }),
      (programs, budget) => {
        const seen: string[] = [];
        const result = explore(allocations(programs, budget, seen));
        assert.equal(result.counterexample, undefined, result.counterexample?.message);
        assert.equal(result.exhaustive, true);
        assert.deepEqual([...new Set(seen)].sort(), allowedOutcomes(programs, budget).sort());
      },
    ),
    { numRuns: RUNS },
  );
});

Deno.test("page allocator: a sleeping allocation in atomic context is sleep-in-atomic, GFP_NOWAIT never is", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(allocation, { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 2,
      }),
      (programs) => {
        const result = explore(allocations(programs, 0, []));
        const offending = programs.flatMap((ops, cpu) =>
          ops.flatMap((op, i) =>
            op.gfp === "GFP_KERNEL" && op.context !== "plain" ? [{ cpu, i, op }] : []
          )
        );
        if (offending.length === 0) {
          assert.equal(result.counterexample, undefined, result.counterexample?.message);
          return;
        }
        assert.deepEqual(Object.keys(result.violations), ["sleep-in-atomic"]);
        const message = result.counterexample!.message;
        assert.ok(
          offending.some(({ cpu, i, op }) =>
            message.startsWith(
              "BUG: sleeping function called from invalid context: " +
                `CPU${cpu} calls alloc${i}(${GFP_PGTABLE_USER.flags}) ` +
                (op.context === "rcu"
                  ? "inside an rcu_read_lock() section"
                  : `holding spinlock mm${cpu}->lock`),
            )
          ),
          message,
        );
      },
    ),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------
// Page tables

const PAGE = 0x1000;
const PMD = 2 ** 21;
const PUD = 2 ** 30;
const P4D = 2 ** 39;

/** Addresses near the boundaries of every level, where the floor/ceiling rule bites. */
const POINTS: readonly number[] = [
  ...new Set(
    [PMD, 2 * PMD, PUD - PMD, PUD, PUD + PMD, 2 * PUD, P4D - PUD, P4D, P4D + PUD, 2 * P4D]
      .flatMap((b) => [b - PAGE, b, b + PAGE]),
  ),
].sort((a, b) => a - b);

interface Layout {
  readonly vmas: readonly (readonly [number, number])[];
  readonly faults: readonly number[];
  readonly unmap: number;
}

/** Up to 4 VMAs between boundary points (adjacent or not), faults in them, one to unmap. */
const layout: fc.Arbitrary<Layout> = fc.uniqueArray(fc.constantFrom(...POINTS), {
  minLength: 2,
  maxLength: 8,
}).chain((points) => {
  const sorted = [...points].sort((a, b) => a - b);
  return fc.array(fc.boolean(), { minLength: sorted.length, maxLength: sorted.length }).map(
    (adjacent) => {
      // Consecutive pairs are VMAs; `adjacent` glues a VMA's end to the next one's start.
      const vmas: [number, number][] = [];
      for (let i = 0; i + 1 < sorted.length; i += 2) {
        const start = vmas.length && adjacent[i] ? vmas[vmas.length - 1][1] : sorted[i];
        if (start < sorted[i + 1]) vmas.push([start, sorted[i + 1]]);
      }
      return vmas;
    },
  );
}).filter((vmas) => vmas.length > 0).chain((vmas) => {
  const candidates = vmas.flatMap(([s, e]) => [
    ...new Set([s, e - PAGE, ...POINTS.filter((p) => s < p && p < e)]),
  ]);
  return fc.record({
    vmas: fc.constant(vmas),
    faults: fc.subarray(candidates, { minLength: 1 }),
    unmap: fc.integer({ min: 0, max: vmas.length - 1 }),
  });
});

const LEVEL_OF: Readonly<Record<string, Level>> = {
  p4d: "p4d",
  pud: "pud",
  pmd: "pmd",
  pte: "pte",
};

Deno.test("page tables: after munmap(), exactly the tables no remaining VMA overlaps are freed", () => {
  fc.assert(
    fc.property(layout, ({ vmas, faults, unmap }) => {
      let k: Kernel | undefined;
      let audit: Violation | undefined;
      const [gone0, gone1] = vmas[unmap];
      const result = explore((rt) => {
        const kernel = new Kernel(rt, { allocFailures: 0 });
        const mm = mm_alloc(kernel);
        for (const [s, e] of vmas) setupVma(kernel, mm, s, e);
        k = kernel;
        return {
          threads: [{
            name: "CPU0",
            body: function* (): Proc {
              for (const addr of faults) {
                assert.equal(yield* fault_under_mmap_lock(kernel, mm, addr), "done");
              }
              yield* munmap_under_mmap_lock(kernel, mm, gone0, gone1);
            },
          }],
          finish() {
            try {
              check_mm(kernel, mm);
            } catch (err) {
              audit = err as Violation;
            }
          },
        };
      });
      assert.equal(result.counterexample, undefined, result.counterexample?.message);
      assert.equal(audit, undefined, audit?.message);
      const remaining = vmas.filter((_, i) => i !== unmap);
      const overlaps = (s: number, e: number) => remaining.some(([a, b]) => a < e && s < b);
      for (const obj of k!.slab.objects.values()) {
        const level = LEVEL_OF[obj.kind];
        const at = Number.parseInt(obj.name.split("@")[1], 16);
        if (level) {
          const span = tableSize(level);
          assert.equal(
            obj.state === "freed",
            !overlaps(at, at + span),
            `${obj.name} (${hex(at)} + ${hex(span)}) is ${obj.state}`,
          );
        } else if (obj.kind === "page") {
          assert.equal(obj.state === "freed", gone0 <= at && at < gone1, `${obj.name}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});
