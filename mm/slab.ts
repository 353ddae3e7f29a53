/**
 * Kernel memory objects and their lifetimes: what KASAN checks in a real kernel.
 *
 * Every page table, VMA and user page in the model is a {@linkcode KObject} that is
 * `live`, `detached` (a page table unlinked from its parent, waiting for its RCU grace
 * period) or `freed`. Every access from a step is checked here, so a use-after-free,
 * a double free or a store into a detached page table is reported at the step where it
 * happens, with the object's history (who allocated, unlinked and freed it, at which
 * step).
 *
 * Every load and store also goes to the explorer ({@linkcode SlabContext.touch}), with
 * the part of the object it touches: the part a step declares for it (a table entry's
 * index, a VMA field such as `"vm_flags"`, a lock's name), or none for the whole object.
 * A free or an unlink is a store to the whole object. A step that touches what it did
 * not declare ends the execution, so the declarations the search relies on cannot lie.
 *
 * Names. An object's name is how the explorer tells objects apart across executions,
 * so it must not depend on the order of independent steps. Set-up objects get their
 * base name (`PUD@0x0`; a base reused during set-up gets `#2`, `#3`, in set-up order,
 * which is fixed). An object created while the CPUs run is named after its creating
 * thread and how many objects of that base name the thread created before: the n-th
 * one `base#CPU1` (n = 1) or `base#CPU1.n`. The one exception keeps the common traces
 * readable: the first object of a base name created by the program's first thread
 * (CPU0) is just `base`, unless set-up already took it. So when CPU0 and CPU1 both
 * allocate the PMD for one address, CPU0's is `PMD@0x40000000` and CPU1's is
 * `PMD@0x40000000#CPU1` whichever allocates first.
 *
 * Follows: mm/slab_common.c (kmem_cache_alloc/free), mm/kasan/ (use-after-free
 * reports), Linux 5.18. Left out: object contents beyond the fields the model needs,
 * allocator caches, memory ordering (every store is immediately visible: the model is
 * sequentially consistent; the kernel code it follows orders its publications with
 * smp_wmb(), see pmd_install()).
 *
 * @module
 */

import { type Access, type ObjectReport, Violation } from "../explore/mod.ts";

/** What an object is. Page-table levels are named as in the kernel. */
export type ObjKind =
  | "pgd"
  | "p4d"
  | "pud"
  | "pmd"
  | "pte"
  | "vma"
  | "page"
  | "mm"
  | "ptl"
  | "tlb"
  | "maple_node"
  | "address_space";

/** Where an object is in its life. */
export type Lifetime = "live" | "detached" | "freed";

/** A kernel memory object. Its name is stable across executions. */
export interface KObject {
  readonly name: string;
  readonly kind: ObjKind;
  state: Lifetime;
  readonly history: string[];
  /** The locks and counters that live in it, by part name (see {@linkcode Embedded}). */
  readonly embedded: Map<string, Embedded>;
  /** Its other parts (a table's entries, a VMA's fields), set by what wraps it. */
  contents?: Contents;
}

/**
 * The parts of an object other than its embedded locks, and their values, for the
 * stateful search ({@linkcode Slab.stateOf}).
 */
export interface Contents {
  /** The parts that hold something now, in any order. */
  parts(): readonly string[];
  /** The value of `part`, or undefined if the object has no such part. */
  value(part: string): string | undefined;
}

const TABLE_KINDS: readonly ObjKind[] = ["pgd", "p4d", "pud", "pmd", "pte"];

/** What the slab needs from the machine it is part of. */
export interface SlabContext {
  /** Who is acting, for histories: `"CPU0 in pmd_alloc (step 7)"`, or `"setup"`. */
  where(): string;
  /** The thread creating objects now (its id and name), or undefined during set-up. */
  creator(): { readonly id: number; readonly name: string } | undefined;
  /** Reports a load or store to the explorer, which checks the running step declared it. */
  touch(obj: string, part: string | undefined, kind: "read" | "write"): void;
}

/** The objects of one execution. */
export class Slab {
  readonly objects = new Map<string, KObject>();
  readonly #context: SlabContext;
  /** Set-up names, which objects created while the CPUs run never take. */
  readonly #setup = new Set<string>();
  /** `thread name + base` → objects of that base the thread has created. */
  readonly #created = new Map<string, number>();

  constructor(context: SlabContext) {
    this.#context = context;
  }

  /**
   * Allocates an object named after `base`, as the module comment says: by the
   * creating thread and its own count, so that the name is the same whichever CPU
   * allocates first.
   */
  create(kind: ObjKind, base: string): KObject {
    const name = this.#nameFor(base);
    // Only a set-up base that looks like a run-time name (`X#CPU1`) could collide.
    if (this.objects.has(name)) throw new Error(`object name ${name} is taken`);
    const obj: KObject = {
      name,
      kind,
      state: "live",
      history: [`allocated by ${this.#where()}`],
      embedded: new Map(),
    };
    this.objects.set(name, obj);
    return obj;
  }

  #nameFor(base: string): string {
    const creator = this.#context.creator();
    if (!creator) {
      let name = base;
      for (let n = 2; this.#setup.has(name); n++) name = `${base}#${n}`;
      this.#setup.add(name);
      return name;
    }
    const key = `${creator.name} ${base}`;
    const n = (this.#created.get(key) ?? 0) + 1;
    this.#created.set(key, n);
    if (n === 1 && creator.id === 0 && !this.#setup.has(base)) return base;
    return n === 1 ? `${base}#${creator.name}` : `${base}#${creator.name}.${n}`;
  }

  /**
   * A load from `part` of `obj` (undefined: the whole object); `what` names it in
   * messages, e.g. `"PUD@0x0[1]"`.
   */
  read(obj: KObject, part: string | undefined, what: string = part ?? "entries"): void {
    this.#context.touch(obj.name, part, "read");
    if (obj.state === "freed") this.#useAfterFree(obj, `reads ${what}`);
  }

  /**
   * A store into `part` of `obj` (undefined: the whole object). Storing into a detached
   * page table loses the store.
   */
  write(obj: KObject, part: string | undefined, what: string = part ?? "entries"): void {
    this.#context.touch(obj.name, part, "write");
    if (obj.state === "freed") this.#useAfterFree(obj, `writes ${what}`);
    if (obj.state === "detached" && TABLE_KINDS.includes(obj.kind)) {
      const unlinked = obj.history.find((h) => h.startsWith("unlinked by "));
      throw new Violation(
        "store-into-detached-table",
        `${this.#where()} stores ${what}, but ${obj.name} was ${unlinked ?? "unlinked"} ` +
          `and is only waiting for its RCU grace period to be freed: the new entry is lost with it`,
        [this.report(obj)],
      );
    }
  }

  /**
   * An atomic operation on the lock embedded in `obj` at `part` (taking or releasing a
   * spinlock): a store to that part, and a use-after-free once `obj` is freed, but not
   * a store into a detached page table. Unlinking a table keeps it in memory until it
   * is freed, and a lock embedded in it stays usable until then: taking the split PTE
   * lock of a table munmap() has unlinked, and dropping it again when the check made
   * under it fails, is what the speculative series' `pte_map_lock()` does
   * (`spin_trylock()`, then `mmap_seq_read_check()`, then `spin_unlock()`), and nothing
   * that needs keeping is stored. A store to the table's entries under that lock
   * (set_pte_at()) goes through {@linkcode Slab.write} and is still caught. How long
   * the PTE lock lives is the configuration's (ptlock.ts): under
   * `ALLOC_SPLIT_PTLOCKS` it is an object of its own, freed when the table is
   * unlinked, and the same trylock is a use-after-free of it.
   */
  lockOp(obj: KObject, part: string, what: string = part): void {
    this.#context.touch(obj.name, part, "write");
    if (obj.state === "freed") this.#useAfterFree(obj, `writes ${what}`);
  }

  /**
   * Unlinks a page table from its parent; it may still be read until freed. A store to
   * the whole table: it races with any access to any entry.
   */
  detach(obj: KObject): void {
    this.write(obj, undefined, "(unlink)");
    obj.state = "detached";
    obj.history.push(`unlinked by ${this.#where()}`);
  }

  /** Frees `obj`: a store to the whole object. */
  free(obj: KObject): void {
    this.#context.touch(obj.name, undefined, "write");
    if (obj.state === "freed") {
      throw new Violation(
        "double-free",
        `${this.#where()} frees ${obj.name} a second time`,
        [this.report(obj)],
      );
    }
    obj.state = "freed";
    obj.history.push(`freed by ${this.#where()}`);
  }

  #where(): string {
    return this.#context.where();
  }

  /**
   * The value of `part` of the object named `name` (undefined: the whole object), for
   * the explorer's stateful search (`Program.stateOf`): its lifetime, then the part's
   * value, or every part's. Thread ids in lock states are written as `threadName`
   * gives them, which does not depend on the order threads were spawned in. A part
   * the object does not have is an internal error, not a value: it would mean a step
   * touched something this description does not know, and states could merge wrongly.
   * The histories are left out: they only word the reports. A freed object has no
   * value (undefined): touching it again is a use-after-free whatever it held, and
   * whatever still points at it says so in its own value, so the state of a loser of
   * a populate race, which allocated and freed a table, is the state of a thread that
   * found the entry populated (their names differ only in a counter of the creator's).
   */
  stateOf(
    name: string,
    part: string | undefined,
    threadName: (id: number) => string,
  ): string | undefined {
    const obj = this.objects.get(name);
    if (!obj) throw new Error(`stateOf(): there is no object ${name}`);
    if (obj.state === "freed") return undefined;
    const valueOf = (p: string): string => {
      const value = obj.embedded.get(p)?.stateOf(threadName) ?? obj.contents?.value(p);
      if (value === undefined) throw new Error(`stateOf(): ${name} has no part ${p}`);
      return value;
    };
    if (part !== undefined) return `${obj.state} ${valueOf(part)}`;
    const parts = [...obj.embedded.keys(), ...(obj.contents?.parts() ?? [])].sort();
    return `${obj.state} ${parts.map((p) => `${p}=${valueOf(p)}`).join(" ")}`;
  }

  report(obj: KObject): ObjectReport {
    return { name: obj.name, history: [...obj.history] };
  }

  #useAfterFree(obj: KObject, action: string): never {
    throw new Violation(
      "use-after-free",
      `${this.#where()} ${action} of ${obj.name} after it was freed`,
      [this.report(obj)],
    );
  }
}

/**
 * A lock or counter that lives inside an object (the mm, a VMA, a page-table page): its
 * accesses are a part of that object, so freeing the object conflicts with them and
 * touching them after the free is a use-after-free.
 */
export abstract class Embedded {
  readonly name: string;
  readonly home: KObject;

  constructor(name: string, home: KObject) {
    this.name = name;
    this.home = home;
    home.embedded.set(name, this);
  }

  /** Its state, naming threads as `threadName` does (see {@linkcode Slab.stateOf}). */
  abstract stateOf(threadName: (id: number) => string): string;

  /** As kernel code would write it: `mm->mmap_lock`, `PTE@0x40000000->ptl`. */
  get label(): string {
    return `${this.home.name}->${this.name}`;
  }

  access(kind: Access["kind"]): Access {
    return { obj: this.home.name, part: this.name, kind };
  }
}
