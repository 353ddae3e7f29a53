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
export type ObjKind = "pgd" | "p4d" | "pud" | "pmd" | "pte" | "vma" | "page" | "mm";

/** Where an object is in its life. */
export type Lifetime = "live" | "detached" | "freed";

/** A kernel memory object. Its name is stable across executions. */
export interface KObject {
  readonly name: string;
  readonly kind: ObjKind;
  state: Lifetime;
  readonly history: string[];
}

const TABLE_KINDS: readonly ObjKind[] = ["pgd", "p4d", "pud", "pmd", "pte"];

/** The objects of one execution. `where` says who is acting, for histories. */
export class Slab {
  readonly objects = new Map<string, KObject>();
  readonly #where: () => string;

  constructor(where: () => string) {
    this.#where = where;
  }

  /** Allocates an object named `base`, made unique by a `#n` suffix when reused. */
  create(kind: ObjKind, base: string): KObject {
    let name = base;
    for (let n = 2; this.objects.has(name); n++) name = `${base}#${n}`;
    const obj: KObject = { name, kind, state: "live", history: [`allocated by ${this.#where()}`] };
    this.objects.set(name, obj);
    return obj;
  }

  /** A load from `obj`; `what` names the field, e.g. `"pud[1]"`. */
  read(obj: KObject, what: string): void {
    if (obj.state === "freed") this.#useAfterFree(obj, `reads ${what}`);
  }

  /** A store into `obj`. Storing into a detached page table loses the store. */
  write(obj: KObject, what: string): void {
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

  /** Unlinks a page table from its parent; it may still be read until freed. */
  detach(obj: KObject): void {
    this.write(obj, "(unlink)");
    obj.state = "detached";
    obj.history.push(`unlinked by ${this.#where()}`);
  }

  /** Frees `obj`. */
  free(obj: KObject): void {
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
export class Embedded {
  readonly name: string;
  readonly home: KObject;

  constructor(name: string, home: KObject) {
    this.name = name;
    this.home = home;
  }

  /** As kernel code would write it: `mm->mmap_lock`, `PTE@0x40000000->ptl`. */
  get label(): string {
    return `${this.home.name}->${this.name}`;
  }

  access(kind: Access["kind"]): Access {
    return { obj: this.home.name, part: this.name, kind };
  }
}
