/**
 * The one yield point of the explorer.
 *
 * A simulated CPU is a generator. Every operation that another CPU could observe
 * or be blocked by (a load, a store, a lock, an RCU call) is announced by yielding a
 * {@linkcode StepRequest} *before* it happens; the scheduler decides which CPU's
 * pending step runs next, and the code between this yield and the next one runs
 * atomically. So "where can an interleaving happen" is `grep yield`, as loom's
 * `branch()` makes it in Rust.
 *
 * A request declares what it touches ({@linkcode Access}), which the search uses for
 * partial-order reduction, and may declare that it is blocked ({@linkcode StepRequest.enabled})
 * or that it chooses among alternatives ({@linkcode StepRequest.choices}). The explorer
 * knows nothing else about what a step means: objects are opaque names.
 *
 * @module
 */

/**
 * How a step touches an object.
 *
 * - `read` / `write`: plain data. Two accesses conflict unless both read.
 * - `acquire`: a blocking lock acquisition. It conflicts with other acquisitions and
 *   with `write`, but not with `release`: a blocking acquire is never enabled at the
 *   same time as the release of the same lock, so the two cannot be reordered directly
 *   (Flanagan and Godefroid's "may be co-enabled", POPL 2005). A release still orders a
 *   later acquire (it is a happens-before edge).
 * - `release`: a lock release. Conflicts only with `write` (a trylock or a waiter
 *   registering), which can see it or not depending on the order.
 * - `acquire-shared` / `release-shared`: the same for a lock taken shared (a reader of
 *   an rwsem). A shared acquisition *is* enabled while other CPUs hold the lock shared
 *   and can release it, so `acquire-shared` conflicts with `release-shared` (and with
 *   `write` and `acquire`), but not with an exclusive `release` (no reader gets in
 *   while a writer holds the lock) nor with another `acquire-shared`, which commutes
 *   with it. Declaring a shared acquisition as `acquire` would hide every schedule in
 *   which two read-side critical sections overlap.
 * - `section`: a whole critical section of an exclusive lock in one step: the lock is
 *   taken, the step's other accesses made and the lock dropped, atomically, and the
 *   step is enabled only while the lock is free. Two sections of one lock commute (each
 *   leaves the lock as it found it; whether they race is up to their other accesses); a
 *   section conflicts with an `acquire` of the lock (the two critical sections are
 *   ordered by it) and with a `write` (a trylock would see the lock held or not); a
 *   `release` orders it, as it orders an acquisition. Folding a critical section into
 *   one step is Lipton's reduction (R. J. Lipton, "Reduction: a method of proving
 *   properties of parallel programs", CACM 18(12), 1975; Flanagan and Qadeer,
 *   "Transactions for software model checking", 2003): an acquisition commutes to the
 *   right and a release to the left past every other thread's step, so a critical
 *   section with one step in it loses no behaviour by being atomic, provided no thread
 *   ever looks at the lock without taking it (a trylock), which the model must check.
 */
export type AccessKind =
  | "read"
  | "write"
  | "acquire"
  | "release"
  | "acquire-shared"
  | "release-shared"
  | "section";

/** Whether `kind` takes a lock: an acquisition, or a whole critical section. */
export function takes(kind: AccessKind): boolean {
  return kind.startsWith("acquire") || kind === "section";
}

/** One object touched by a step. `part` narrows it (a field, a table entry). */
export interface Access {
  /** Stable name of the object, e.g. `"PUD@0x0"`; the same in every execution. */
  readonly obj: string;
  /** Optional part of the object; accesses to different parts never conflict. */
  readonly part?: string;
  readonly kind: AccessKind;
}

/** What a blocked step waits for, used to name the cycle of a deadlock. */
export interface Wait {
  /** The resource, in the model's words, e.g. `"mmap_lock"`. */
  readonly resource: string;
  /** Thread ids that must move before the waiter can. */
  readonly holders: readonly number[];
}

/** A step announced by a thread before it runs. */
export interface StepRequest {
  /** The kernel function performing the step, e.g. `"pud_alloc"`. */
  readonly label: string;
  /** What the step does to what, e.g. `"PUD@0x0[1] = PMD@0x40000000"`. */
  readonly detail?: string;
  /** Everything the step (whatever choice is taken) may touch. */
  readonly accesses: readonly Access[];
  /** Absent means always enabled. Must depend only on state written by steps. */
  readonly enabled?: () => boolean;
  /** For a step that may block: what it waits for. */
  readonly waitingFor?: () => Wait;
  /**
   * Alternatives the explorer must try, all of them, as it tries schedules: the index
   * of the chosen one is the value of the `yield`.
   */
  readonly choices?: readonly string[];
}

/** A simulated CPU's code. The value sent back into a `yield` is the choice index. */
export type Proc<T = void> = Generator<StepRequest, T, number>;

/**
 * The key of `part` of `obj` (the bare object for a whole-object access), as the
 * explorer's per-part indexes hold it.
 */
export function partKey(a: { readonly obj: string; readonly part?: string }): string {
  return a.part === undefined ? a.obj : `${a.obj}\u0000${a.part}`;
}

function overlaps(a: Access, b: Access): boolean {
  return a.obj === b.obj &&
    (a.part === undefined || b.part === undefined || a.part === b.part);
}

/**
 * Whether two accesses may race: touch the same object, may be enabled together, and
 * do not commute.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conflicts } from "./step.ts";
 * assert.equal(conflicts({ obj: "x", kind: "read" }, { obj: "x", kind: "write" }), true);
 * assert.equal(conflicts({ obj: "l", kind: "acquire" }, { obj: "l", kind: "release" }), false);
 * assert.equal(conflicts({ obj: "l", kind: "acquire-shared" }, { obj: "l", kind: "release-shared" }), true);
 * assert.equal(conflicts({ obj: "t", part: "0", kind: "write" }, { obj: "t", part: "1", kind: "write" }), false);
 * assert.equal(conflicts({ obj: "l", kind: "section" }, { obj: "l", kind: "section" }), false);
 * assert.equal(conflicts({ obj: "l", kind: "section" }, { obj: "l", kind: "acquire" }), true);
 * ```
 */
export function conflicts(a: Access, b: Access): boolean {
  if (!overlaps(a, b)) return false;
  if (a.kind === "read" && b.kind === "read") return false;
  if (a.kind === "acquire-shared" && b.kind === "acquire-shared") return false;
  if (a.kind === "section" && b.kind === "section") return false;
  for (const [release, other] of [[a.kind, b.kind], [b.kind, a.kind]]) {
    if (release === "release") return other === "write";
    if (release === "release-shared") return other === "write" || other === "acquire-shared";
  }
  return true;
}

/**
 * Whether a step with access `later` must happen after one with `earlier`:
 * a conflict, or a release followed by an acquisition of the same lock.
 */
export function ordered(earlier: Access, later: Access): boolean {
  return conflicts(earlier, later) ||
    (earlier.kind.startsWith("release") && takes(later.kind) &&
      overlaps(earlier, later));
}

/** Whether any access of `a` conflicts with any of `b`. */
export function anyConflict(a: readonly Access[], b: readonly Access[]): boolean {
  return a.some((x) => b.some((y) => conflicts(x, y)));
}
