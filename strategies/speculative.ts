/**
 * What the two speculative strategies share: sampling `mmap_seq` to start, checking
 * it again later, and falling back to the mmap_lock fault when a check fails.
 *
 * Follows: Michel Lespinasse, "[PATCH v2 00/35] Speculative page faults" (LKML,
 * 2022-01-28): `mmap_seq_read_start()`, `mmap_seq_read_check()`, and the fallback to
 * the classic path on VM_FAULT_RETRY.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, type Mm, raw_read_seqcount, read_seqcount_retry } from "../mm/mod.ts";

/** `mmap_seq_read_start()`: the count, or undefined if a writer is inside. */
export function* mmap_seq_read_start(k: Kernel, mm: Mm): Proc<number | undefined> {
  const seq = yield* raw_read_seqcount(k, mm.mmap_seq, "mmap_seq_read_start");
  return seq % 2 === 0 ? seq : undefined;
}

/** `mmap_seq_read_check()`: true if no writer ran since `seq` was sampled. */
export function* mmap_seq_read_check(k: Kernel, mm: Mm, seq: number): Proc<boolean> {
  return !(yield* read_seqcount_retry(k, mm.mmap_seq, seq, "mmap_seq_read_check"));
}
