/**
 * Kernel configuration as an explored axis (`KernelConfig` in mm/kernel.ts): how page
 * tables unlinked by munmap() are freed, `tableFree`, under each of its values.
 *
 * - The primitives: an IRQs-off section holds off the TLB-flush IPI (`wait_for_ipi()`,
 *   mm/irq.ts) and, as an RCU reader, a grace period; the Optimal-DPOR reduction finds
 *   the same outcomes as plain DFS on small programs using them, so the accesses they
 *   declare keep it sound.
 * - The verdicts: rcu-gfp-nowait, spf-v2 (both `speculative_page_walk_begin()`
 *   variants) and per-vma-lock on fault-vs-munmap and fault-vs-munmap-pte-present,
 *   under each configuration, as the explorer finds them (docs/kernel-config.md tells
 *   why each flips or does not).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  call_rcu,
  check,
  DEFAULT_CONFIG,
  explore,
  Kernel,
  type KernelConfig,
  local_irq_disable,
  local_irq_enable,
  might_sleep,
  type Proc,
  type ProgramFactory,
  spfV2IrqsOff,
  step,
  strategyNamed,
  type TableFree,
  wait_for_ipi,
} from "../mod.ts";

/**
 * CPU0 runs two IRQs-off sections, each loading X; CPU1 sends an IPI, then frees X.
 * `outcomes` collects, per execution, what each load saw and whether its section began
 * before the IPI was sent.
 */
function ipiLitmus(outcomes: Set<string>): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    let freed = false;
    let sent = false;
    const seen: string[] = [];
    function* section(): Proc {
      yield* local_irq_disable(k);
      const early = yield* step(k, "sample", undefined, [{ obj: "sent", kind: "read" }], () => {
        k.touch("sent", undefined, "read");
        return sent;
      });
      yield* step(k, "load", "X", [{ obj: "X", kind: "read" }], () => {
        k.touch("X", undefined, "read");
        seen.push(`${early ? "after" : "before"}-send:${freed ? "freed" : "live"}`);
      });
      yield* local_irq_enable(k);
    }
    return {
      threads: [
        {
          name: "CPU0",
          body: function* () {
            yield* section();
            yield* section();
          },
        },
        {
          name: "CPU1",
          body: function* () {
            yield* step(k, "mark", undefined, [{ obj: "sent", kind: "write" }], () => {
              k.touch("sent", undefined, "write");
              sent = true;
            });
            yield* wait_for_ipi(k, "flush", "free X", [{ obj: "X", kind: "write" }], () => {
              k.touch("X", undefined, "write");
              freed = true;
            });
          },
        },
      ],
      finish: () => void outcomes.add(seen.join(" ")),
    };
  };
}

Deno.test("the IPI waits for the IRQs-off sections present when it is sent; the reduction finds what DFS finds", () => {
  const reduced = new Set<string>();
  const all = new Set<string>();
  const a = explore(ipiLitmus(reduced));
  const b = explore(ipiLitmus(all), { mode: "dfs" });
  assert.ok(a.exhaustive && b.exhaustive);
  assert.deepEqual([...reduced].sort(), [...all].sort());
  // A section that began before the IPI was sent never sees X freed...
  for (const o of all) assert.ok(!o.includes("before-send:freed"), o);
  // ...and one that began after may (the model waits for no later section).
  assert.ok([...all].some((o) => o.includes("after-send:freed")));
  assert.ok(a.executions < b.executions);
});

/** CPU0: an IRQs-off section loading Y; CPU1: call_rcu() freeing Y. */
function rcuLitmus(outcomes: Set<string>): ProgramFactory {
  return (rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    let freed = false;
    let began = false;
    let queued = false;
    const seen: string[] = [];
    return {
      threads: [
        {
          name: "CPU0",
          body: function* () {
            yield* local_irq_disable(k);
            yield* step(k, "sample", undefined, [{ obj: "queued", kind: "read" }], () => {
              k.touch("queued", undefined, "read");
              began = !queued;
            });
            yield* step(k, "load", "Y", [{ obj: "Y", kind: "read" }], () => {
              k.touch("Y", undefined, "read");
              seen.push(`${began ? "before" : "after"}-call_rcu:${freed ? "freed" : "live"}`);
            });
            yield* local_irq_enable(k);
          },
        },
        {
          name: "CPU1",
          body: function* () {
            yield* step(k, "mark", undefined, [{ obj: "queued", kind: "write" }], () => {
              k.touch("queued", undefined, "write");
              queued = true;
            });
            yield* call_rcu(k, "free_y", "Y", [{ obj: "Y", kind: "write" }], () => {
              k.touch("Y", undefined, "write");
              freed = true;
            });
          },
        },
      ],
      finish: () => void outcomes.add(seen.join(" ")),
    };
  };
}

Deno.test("an IRQs-off section holds up an RCU grace period (5.0's flavour consolidation)", () => {
  const reduced = new Set<string>();
  const all = new Set<string>();
  assert.ok(explore(rcuLitmus(reduced)).exhaustive);
  assert.ok(explore(rcuLitmus(all), { mode: "dfs" }).exhaustive);
  assert.deepEqual([...reduced].sort(), [...all].sort());
  for (const o of all) assert.ok(!o.includes("before-call_rcu:freed"), o);
});

Deno.test("sleeping with IRQs disabled is sleep-in-atomic", () => {
  const r = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    return {
      threads: [{
        name: "CPU0",
        body: function* () {
          yield* local_irq_disable(k);
          yield* step(k, "msleep", undefined, [], () => might_sleep(k.current, "msleep()"));
        },
      }],
    };
  });
  assert.deepEqual(r.violations, { "sleep-in-atomic": 1 });
  assert.match(r.counterexample!.message, /CPU0 calls msleep\(\) with IRQs disabled/);
});

const CONFIGS: readonly TableFree[] = ["rcu", "ipi", "rcu-ipi-fallback"];
const SCENARIOS = ["fault-vs-munmap", "fault-vs-munmap-pte-present"] as const;

/**
 * Outcome and executions of each pair under each configuration, as the explorer found
 * them (every search exhaustive); `rcu` is the default configuration, whose counts are
 * those of tests/explored_counts.json.
 */
const FOUND: Record<string, Record<string, Record<TableFree, [string, number]>>> = {
  "rcu-gfp-nowait": {
    "fault-vs-munmap": {
      "rcu": ["violation:store-into-detached-table", 127],
      "ipi": ["violation:use-after-free", 128],
      "rcu-ipi-fallback": ["violation:use-after-free", 251],
    },
    "fault-vs-munmap-pte-present": {
      "rcu": ["violation:store-into-detached-table", 67],
      "ipi": ["violation:use-after-free", 63],
      "rcu-ipi-fallback": ["violation:use-after-free", 130],
    },
  },
  "spf-v2": {
    "fault-vs-munmap": {
      "rcu": ["safe", 82],
      "ipi": ["violation:use-after-free", 45],
      "rcu-ipi-fallback": ["violation:use-after-free", 127],
    },
    "fault-vs-munmap-pte-present": {
      "rcu": ["violation:use-after-free", 504],
      "ipi": ["violation:use-after-free", 262],
      "rcu-ipi-fallback": ["violation:use-after-free", 766],
    },
  },
  "spf-v2-irqs-off": {
    "fault-vs-munmap": {
      "rcu": ["safe", 82],
      "ipi": ["safe", 46],
      "rcu-ipi-fallback": ["safe", 128],
    },
    "fault-vs-munmap-pte-present": {
      "rcu": ["violation:use-after-free", 504],
      "ipi": ["violation:use-after-free", 298],
      "rcu-ipi-fallback": ["violation:use-after-free", 802],
    },
  },
  "per-vma-lock": {
    "fault-vs-munmap": {
      "rcu": ["safe", 132],
      "ipi": ["safe", 52],
      "rcu-ipi-fallback": ["safe", 184],
    },
    "fault-vs-munmap-pte-present": {
      "rcu": ["safe", 132],
      "ipi": ["safe", 52],
      "rcu-ipi-fallback": ["safe", 184],
    },
  },
};

const STRATEGIES = [
  strategyNamed("rcu-gfp-nowait"),
  strategyNamed("spf-v2"),
  spfV2IrqsOff,
  strategyNamed("per-vma-lock"),
];

Deno.test("verdicts per kernel configuration", async (t) => {
  for (const s of STRATEGIES) {
    for (const w of SCENARIOS) {
      for (const tableFree of CONFIGS) {
        await t.step(`${s.name} × ${w} under tableFree: ${tableFree}`, () => {
          const config: KernelConfig = { tableFree };
          const c = check(s, w, { config });
          assert.deepEqual(c.config, config);
          assert.equal(c.result.exhaustive, true);
          assert.deepEqual([c.outcome, c.result.executions], FOUND[s.name][w][tableFree]);
        });
      }
    }
  }
});

Deno.test("without a config, check() runs the default one and says so", () => {
  const c = check("rcu-gfp-nowait", "fault-vs-munmap");
  assert.deepEqual(c.config, DEFAULT_CONFIG);
  assert.equal(c.outcome, "violation:store-into-detached-table");
});

Deno.test("Michel's race under ipi: the walker reads a table the IPI flush freed", () => {
  const c = check("rcu-gfp-nowait", "fault-vs-munmap", { config: { tableFree: "ipi" } });
  const cx = c.result.counterexample!;
  assert.equal(cx.kind, "use-after-free");
  const labels = cx.trace.steps.map((s) => s.label);
  // The free comes from the flush that waited for the IPI, not from an RCU callback.
  assert.ok(labels.includes("tlb_flush_mmu"));
  assert.ok(!labels.includes("tlb_remove_table_rcu"));
  assert.match(cx.message, /reads PUD@0x0\[1\] of PUD@0x0 after it was freed/);
});
