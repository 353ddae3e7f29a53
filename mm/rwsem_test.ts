/** rwsem fairness: a waiting writer blocks new readers and makes trylock fail. */

import assert from "node:assert/strict";
import { explore, type Proc, Violation } from "../explore/mod.ts";
import {
  down_read,
  down_read_trylock,
  down_write,
  Kernel,
  RwSem,
  up_read,
  up_write,
} from "./mod.ts";

Deno.test("down_read_trylock() fails while a writer waits, as RWSEM_FLAG_WAITERS makes it", () => {
  const outcomes = new Set<string>();
  const result = explore((rt) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const sem = new RwSem("sem", k.slab.create("vma", "VMA"));
    const seen: string[] = [];
    return {
      threads: [
        {
          name: "CPU0",
          body: function* (): Proc {
            yield* down_read(k, sem);
            // CPU1 may have queued as a writer meanwhile.
            const again = yield* down_read_trylock(k, sem);
            seen.push(`trylock ${again ? "ok" : "failed"} with ${sem.waiters.length} waiting`);
            if (again) yield* up_read(k, sem);
            yield* up_read(k, sem);
          },
        },
        {
          name: "CPU1",
          body: function* (): Proc {
            yield* down_write(k, sem);
            yield* up_write(k, sem);
          },
        },
      ],
      finish: () => seen.forEach((s) => outcomes.add(s)),
    };
  });
  assert.equal(result.counterexample, undefined, result.counterexample?.message);
  assert.equal(result.exhaustive, true);
  assert.deepEqual([...outcomes].sort(), [
    "trylock failed with 1 waiting",
    "trylock ok with 0 waiting",
  ]);
});

Deno.test("readers' critical sections interleave: a race between two down_read() holders is found", () => {
  // Two readers share the lock, so CPU1 can enter while CPU0 is inside: a load and a
  // store of a counter inside each read section lose an update in some schedule. The
  // search must see it, as plain DFS does, although each down_read() of one CPU follows
  // an up_read() of the other in the first schedule explored.
  const program = (rt: Parameters<Parameters<typeof explore>[0]>[0]) => {
    const k = new Kernel(rt, { allocFailures: 0 });
    const sem = new RwSem("sem", k.slab.create("vma", "VMA"));
    let counter = 0;
    function* reader(): Proc {
      yield* down_read(k, sem);
      yield { label: "load", accesses: [{ obj: "counter", kind: "read" }] };
      const seen = counter;
      yield { label: "store", accesses: [{ obj: "counter", kind: "write" }] };
      counter = seen + 1;
      yield* up_read(k, sem);
    }
    return {
      threads: [{ name: "CPU0", body: reader }, { name: "CPU1", body: reader }],
      finish() {
        if (counter !== 2) throw new Violation("lost-update", `counter is ${counter}`);
      },
    };
  };
  const dpor = explore(program);
  const dfs = explore(program, { mode: "bounded" });
  assert.equal(dfs.counterexample?.kind, "lost-update");
  assert.equal(dpor.exhaustive, true);
  assert.equal(dpor.counterexample?.kind, "lost-update", `${dpor.executions} executions`);
});
