/**
 * An anonymous user page as fork and copy-on-write see it: its reference count, the
 * `anon_vma` its rmap goes through (`page->mapping`), and the words userspace stored in
 * it.
 *
 * A page gets its state when it is first mapped (`page_add_new_anon_rmap()`: a
 * fault's new page, or set-up's), with one reference, the mapping's. Fork takes one
 * more for the child's PTE (`copy_present_pte()` → `get_page()`, mm/fork.ts), and
 * `do_wp_page()` copies a page only while another reference exists. Dropping the last
 * reference frees the page; a page that was never mapped (a fault's page that lost
 * the race to map it) has one, the allocation's.
 *
 * Follows: include/linux/mm.h (`get_page()`, `put_page()`, `page_count()`),
 * mm/rmap.c (`page_add_new_anon_rmap()`: `page->mapping` is the VMA's anon_vma),
 * Linux 5.18 and 6.4. Modelled loosely: one count stands for `_refcount` and
 * `_mapcount` together (no page here is pinned, in the swap cache or on an LRU
 * list, so they move together), and 5.19's `PageAnonExclusive` is not modelled:
 * `do_wp_page()` reuses a page whose count is 1, as Linux 5.8 to 5.18 did
 * ("mm: do_wp_page() simplification", 09854ba94c6a).
 *
 * @module
 */

import type { Kernel } from "./kernel.ts";
import type { KObject } from "./slab.ts";

/** The state of a mapped anonymous page. */
export interface UserPage {
  /** `page_count()`: mappings plus transient references. */
  refcount: number;
  /** `page->mapping`: the name of the anon_vma the page was mapped under. */
  readonly anon_vma: string | undefined;
  /** What userspace stored: byte offset in the page → value. */
  readonly words: Map<number, string>;
}

const pages = new WeakMap<KObject, UserPage>();

const zappedPages = new WeakSet<KObject>();

/**
 * A teardown took `page` out of the page tables (`zap_pte_range()`, inside its step).
 * Audit-only state, which nothing reads during a run: a store that went into the page
 * may be lost without a bug, as userspace asked for the page to go (check_mm.ts).
 */
export function zapped(page: KObject): void {
  zappedPages.add(page);
}

/** Whether a teardown took `page` out of the page tables. */
export function wasZapped(page: KObject): boolean {
  return zappedPages.has(page);
}

/** The state of `page`, or undefined if it was never mapped. */
export function pageOf(page: KObject): UserPage | undefined {
  return pages.get(page);
}

/** The part of a page that holds the word at `offset`: `"w0x10"`. */
export function wordPart(offset: number): string {
  return `w0x${offset.toString(16)}`;
}

/**
 * `page_add_new_anon_rmap()` (plus the allocation's reference): `page` is mapped for
 * the first time, under `anon_vma`, holding `words` (a copy's, or none: a zeroed page).
 * Called inside the step that maps it, which declares a store to the whole page.
 */
export function page_add_new_anon_rmap(
  k: Kernel,
  page: KObject,
  anon_vma: string | undefined,
  words: ReadonlyMap<number, string> = new Map(),
): void {
  k.slab.write(page, undefined, "page->mapping");
  const state: UserPage = { refcount: 1, anon_vma, words: new Map(words) };
  pages.set(page, state);
  page.contents = {
    parts: () => ["_refcount", "mapping", ...[...state.words.keys()].map(wordPart)],
    value: (part) => {
      if (part === "_refcount") return String(state.refcount);
      if (part === "mapping") return state.anon_vma ?? "none";
      // A word's part is `w` and its offset in hex (wordPart()): a word never stored is 0.
      if (!part.startsWith("w0x")) return undefined;
      return state.words.get(Number(part.slice(1))) ?? "0";
    },
  };
}

/** `get_page()`: one more reference, inside a step that declares a store to the count. */
export function get_page(k: Kernel, page: KObject): void {
  k.slab.write(page, "_refcount");
  const state = pages.get(page);
  if (!state) throw new Error(`get_page(${page.name}): the page was never mapped`);
  state.refcount++;
}

/**
 * `put_page()`: drops a reference, freeing the page with the last one, inside a step
 * that declares a store to the whole page (the free's), or to its count where another
 * reference is known to be held.
 */
export function put_page_ref(k: Kernel, page: KObject): void {
  const state = pages.get(page);
  if (state && state.refcount > 1) {
    k.slab.write(page, "_refcount");
    state.refcount--;
    k.rt.note(`${page.name}: page_count ${state.refcount}`);
    return;
  }
  k.slab.free(page);
}

/** A user store of `value` at `offset` of `page`: the MMU's, through a translation. */
export function storeWord(k: Kernel, page: KObject, offset: number, value: string): void {
  k.slab.write(page, wordPart(offset), `${page.name}+${offset}`);
  const state = pages.get(page);
  if (!state) throw new Error(`store into ${page.name}, which was never mapped`);
  state.words.set(offset, value);
}

/** `copy_user_highpage()`'s load of the whole of `page`: its words. */
export function copyWords(k: Kernel, page: KObject): ReadonlyMap<number, string> {
  k.slab.read(page, undefined, "the page (copy_user_highpage)");
  return new Map(pages.get(page)?.words);
}
