/**
 * Sequence counts: a writer makes the count odd while it changes things and even
 * again after; a reader samples the count before and re-checks it after, and retries
 * (or gives up) if it changed. Speculative page faults use one on the mm to notice
 * that an `mmap_write_lock()` section ran while they were looking.
 *
 * Follows: include/linux/seqlock.h (`raw_read_seqcount()`, `read_seqcount_retry()`,
 * `write_seqcount_begin()/end()`), Linux 5.18. Left out: the memory barriers, since the
 * model is sequentially consistent; `read_seqcount_begin()` spinning on an odd count
 * (callers here sample with `raw_read_seqcount()` and treat odd as "writer active").
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, step } from "./kernel.ts";
import { Embedded } from "./slab.ts";

/** A sequence count embedded in `home`. */
export class SeqCount extends Embedded {
  sequence = 0;

  override stateOf(): string {
    return String(this.sequence);
  }
}

/** raw_read_seqcount(): the count now (odd while a writer is inside). */
export function* raw_read_seqcount(
  k: Kernel,
  seq: SeqCount,
  label = "raw_read_seqcount",
): Proc<number> {
  return yield* step(k, label, seq.label, [seq.access("read")], () => {
    k.slab.read(seq.home, seq.name);
    k.rt.note(String(seq.sequence));
    return seq.sequence;
  });
}

/** read_seqcount_retry(): true if a writer ran since `start` was sampled. */
export function* read_seqcount_retry(
  k: Kernel,
  seq: SeqCount,
  start: number,
  label = "read_seqcount_retry",
): Proc<boolean> {
  return yield* step(k, label, `${seq.label} == ${start}?`, [seq.access("read")], () => {
    k.slab.read(seq.home, seq.name);
    const changed = seq.sequence !== start;
    k.rt.note(changed ? `changed (${seq.sequence}): retry` : "unchanged");
    return changed;
  });
}

/** write_seqcount_begin() / write_seqcount_end(): one increment each. */
export function* write_seqcount(k: Kernel, seq: SeqCount, label: string): Proc {
  yield* step(k, label, seq.label, [seq.access("write")], () => {
    k.slab.write(seq.home, seq.name);
    seq.sequence++;
  });
}
