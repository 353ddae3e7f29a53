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
import { spfDufourV11 } from "./spf_dufour_v11.ts";
import { spfV2, spfV2IrqsOff, spfV2WalkedPmd } from "./spf_v2.ts";
import { perVmaLock } from "./per_vma_lock.ts";
import { perVmaLock66 } from "./per_vma_lock_6_6.ts";
import type { Strategy } from "./strategy.ts";

export type { Expectation, Strategy } from "./strategy.ts";
export {
  mmapLock,
  perVmaLock,
  perVmaLock66,
  rcuGfpNowait,
  spfDufourV11,
  spfNowaitOneRcu,
  spfNowaitSeqSections,
  spfV2,
  spfV2IrqsOff,
  spfV2WalkedPmd,
  vmaRwsem,
};

/** All strategies, in the order the matrix shows them. */
export const strategies: readonly Strategy[] = [
  mmapLock,
  rcuGfpNowait,
  vmaRwsem,
  spfNowaitOneRcu,
  spfNowaitSeqSections,
  spfDufourV11,
  spfV2,
  spfV2IrqsOff,
  spfV2WalkedPmd,
  perVmaLock,
  perVmaLock66,
];
