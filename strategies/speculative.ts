/**
 * What the two speculative GFP_NOWAIT strategies share: sampling `mmap_seq` to start
 * (giving up while a writer is inside), checking it again later, and falling back to
 * the mmap_lock fault when a check fails.
 *
 * Follows: Michel Lespinasse, "[PATCH v2 10/35] mm: add per-mm mmap sequence counter
 * for speculative page fault handling." (LKML, 2022-01-28): `mmap_seq_read_start()`,
 * `mmap_seq_read_check()` (in `mm/mmap_lock.ts`), and the fallback to the classic path
 * on VM_FAULT_RETRY.
 *
 * @module
 */

import type { Proc } from "../explore/mod.ts";
import { type Kernel, type Mm, mmap_seq_read_check, mmap_seq_read_start } from "../mm/mod.ts";

/** `mmap_seq_read_start()`, and `if (seq & 1) goto abort`: undefined while a writer is in. */
export function* mmap_seq_sample(k: Kernel, mm: Mm): Proc<number | undefined> {
  const seq = yield* mmap_seq_read_start(k, mm);
  return seq % 2 === 0 ? seq : undefined;
}

export { mmap_seq_read_check };
