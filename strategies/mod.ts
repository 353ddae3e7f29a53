/**
 * Every locking strategy, in the order of the seed mail, then later ones.
 *
 * @module
 */

import { mmapLock } from "./mmap_lock.ts";
import { rcuGfpNowait } from "./rcu_gfp_nowait.ts";
import { vmaRwsem } from "./vma_rwsem.ts";
import { spfNowaitOneRcu } from "./spf_nowait_one_rcu.ts";
import { spfNowaitSeqSections } from "./spf_nowait_seq_sections.ts";
import { spfV2, spfV2IrqsOff } from "./spf_v2.ts";
import { perVmaLock } from "./per_vma_lock.ts";
import type { Strategy } from "./strategy.ts";

export type { Expectation, Strategy } from "./strategy.ts";
export {
  mmapLock,
  perVmaLock,
  rcuGfpNowait,
  spfNowaitOneRcu,
  spfNowaitSeqSections,
  spfV2,
  spfV2IrqsOff,
  vmaRwsem,
};

/** All strategies, in the order the matrix shows them. */
export const strategies: readonly Strategy[] = [
  mmapLock,
  rcuGfpNowait,
  vmaRwsem,
  spfNowaitOneRcu,
  spfNowaitSeqSections,
  spfV2,
  spfV2IrqsOff,
  perVmaLock,
];
