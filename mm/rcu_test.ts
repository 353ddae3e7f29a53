/** RCU callbacks are named after the task that queued them, whichever CPU queued first. */

import assert from "node:assert/strict";
import { Execution } from "../explore/execution.ts";
import { call_rcu, Kernel } from "./mod.ts";

Deno.test("an RCU callback is named by who queued it, not by when", () => {
  /** CPU `first` queues its callback, then the other CPU; each callback frees that CPU's object. */
  const run = (first: number) => {
    const seen: string[] = [];
    const exec = new Execution((rt) => {
      const k = new Kernel(rt, { allocFailures: 0 });
      const queue = (cpu: number) => {
        const obj = k.slab.create("vma", `VMA${cpu}`);
        return () =>
          call_rcu(k, "free_cb", obj.name, [{ obj: obj.name, kind: "write" }], () => {
            k.slab.free(obj);
            seen.push(`${k.current.name} frees ${obj.name}; ${obj.history.at(-1)}`);
          });
      };
      return { threads: [{ name: "CPU0", body: queue(0) }, { name: "CPU1", body: queue(1) }] };
    });
    for (const thread of [first, 1 - first]) assert.equal(exec.step(thread, 0), undefined);
    for (let ids = exec.enabled(); ids.length; ids = exec.enabled()) {
      assert.equal(exec.step(ids[0], 0), undefined);
    }
    return seen.sort();
  };
  const cpu0First = run(0);
  assert.deepEqual(cpu0First, [
    "RCU(CPU0#1) frees VMA0; freed by RCU(CPU0#1) in free_cb (step 3)",
    "RCU(CPU1#1) frees VMA1; freed by RCU(CPU1#1) in free_cb (step 4)",
  ]);
  assert.deepEqual(run(1).map((s) => s.replace(/ \(step \d\)$/, "")), [
    "RCU(CPU0#1) frees VMA0; freed by RCU(CPU0#1) in free_cb",
    "RCU(CPU1#1) frees VMA1; freed by RCU(CPU1#1) in free_cb",
  ]);
});
