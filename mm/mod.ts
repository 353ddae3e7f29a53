/**
 * The simulated mm core: one kernel concept per file, each citing the Linux source it
 * follows. Strategies use it as kernel code uses the kernel; it knows nothing about
 * them.
 *
 * @module
 */

export * from "./kernel.ts";
export * from "./sched.ts";
export * from "./slab.ts";
export * from "./page_alloc.ts";
export * from "./rcu.ts";
export * from "./irq.ts";
export * from "./spinlock.ts";
export * from "./ptlock.ts";
export * from "./rwsem.ts";
export * from "./seqlock.ts";
export * from "./mmap_lock.ts";
export * from "./pgtable.ts";
export * from "./pgtable_generic.ts";
export * from "./address_space.ts";
export * from "./mm_types.ts";
export * from "./maple_tree.ts";
export * from "./vma.ts";
export * from "./memory.ts";
export * from "./mmu_gather.ts";
export * from "./madvise.ts";
export * from "./page.ts";
export * from "./tlb.ts";
export * from "./mmu.ts";
export * from "./fork.ts";
export * from "./mmap.ts";
export * from "./mremap.ts";
export * from "./stack.ts";
export * from "./gup.ts";
export * from "./khugepaged.ts";
export * from "./userfaultfd.ts";
export * from "./check_mm.ts";
export * from "./spf.ts";
