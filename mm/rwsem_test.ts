/** rwsem fairness: a waiting writer blocks new readers and makes trylock fail. */

import assert from "node:assert/strict";
import { explore, type Proc } from "../explore/mod.ts";
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
