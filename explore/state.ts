/**
 * The state an execution has reached, as a key that is equal for two executions only
 * when they are in the same state: what {@link ./stateful.ts} caches.
 *
 * The explorer cannot look inside a thread (a generator's locals are closed to it) nor
 * into the model's objects (they are opaque names). It does not need to. It sees every
 * load and store the model makes, through {@linkcode Runtime.touch}, because the
 * declarations are checked there; and the program tells it, on request, the value of
 * what was touched ({@linkcode Program.stateOf}). So the state is:
 *
 * - **shared**: for each object part any step has stored into, its value after the
 *   last such step (a part never stored into still holds its set-up value, which every
 *   execution shares);
 * - **per thread**: its key and a hash of everything it has observed: each step's
 *   label and choice, and the value of every part it touched, as it was when touched.
 *   A thread's code is deterministic, and what it touches is all it can read, so two
 *   threads with equal observations are in equal states, locals and pending step
 *   included. A store is an observation too: a trylock or a counter
 *   increment is declared as a store, yet its result depends on the old value.
 *
 * A spawned thread starts from its creator's observations (its closure captured them)
 * and its own key.
 *
 * Observations are exact and often too many: a fault that lost a populate race read the
 * empty entry, allocated a table and freed it, and from then on is where a fault that
 * found the entry populated is. So model code may declare what it still needs
 * ({@linkcode Runtime.summarize}): inside a scope, the observations made since the scope
 * began are replaced by a summary of the locals the code still uses. And a part whose
 * object is gone ({@linkcode Program.stateOf} gives undefined: freed, its name never
 * reused) leaves the state, as if never stored into.
 *
 * This is exact only if every change of state goes through `touch` and `stateOf`
 * describes the part completely; both are the model's side of the contract, like the
 * declarations themselves. Recording more than a thread depends on (a whole table's
 * value where it reads one entry) is sound: it only merges fewer states.
 *
 * @module
 */

import { type Hash128, hash128, hex128 } from "./hash.ts";
import { partKey } from "./step.ts";

/** Tracks one execution's state for {@linkcode StateTracker.key}. */
export class StateTracker {
  readonly #stateOf: (obj: string, part: string | undefined) => string | undefined;
  /** Stored parts: `partKey` → value after the last store. */
  readonly #values = new Map<string, string>();
  /** The stored parts of each object, whole object included. */
  readonly #partsOf = new Map<string, Map<string, string | undefined>>();
  /** Lane-wise sum of the hashes of `#values` entries: a hash of the map in any order. */
  readonly #sum = [0, 0, 0, 0];
  /** Per thread id: its key, and the hash of its observations. */
  readonly #seen: string[] = [];
  readonly #keys: string[] = [];
  /** Objects the running step stored into. */
  readonly #dirty = new Set<string>();

  /** Per thread id: its observations when each open scope began, innermost last. */
  readonly #scopes: string[][] = [];

  constructor(stateOf: (obj: string, part: string | undefined) => string | undefined) {
    this.#stateOf = stateOf;
  }

  /** A new thread `id` with key `key`, created by `creator` (undefined in set-up). */
  spawned(id: number, key: string, creator: number | undefined): void {
    this.#keys[id] = key;
    this.#seen[id] = hex128(hash128(`${creator === undefined ? "" : this.#seen[creator]}>${key}`));
  }

  /** Thread `id` opens a scope: see {@linkcode Runtime.scopeBegin}. */
  scopeBegin(id: number): void {
    (this.#scopes[id] ??= []).push(this.#seen[id]);
  }

  /** Thread `id` summarizes its innermost scope: see {@linkcode Runtime.summarize}. */
  summarize(id: number, summary: string): void {
    const scopes = this.#scopes[id];
    if (!scopes?.length) throw new Error("summarize() outside a scope");
    this.#seen[id] = hex128(hash128(`${scopes[scopes.length - 1]}{${summary}}`));
  }

  /** Thread `id` closes its innermost scope. */
  scopeEnd(id: number): void {
    if (!this.#scopes[id]?.pop()) throw new Error("scopeEnd() outside a scope");
  }

  /** Thread `id` takes the step `label` with alternative `choice`. */
  step(id: number, label: string, choice: number): void {
    this.#observe(id, `${label}#${choice}`);
  }

  /** Thread `id`'s running step touches `part` of `obj`. */
  touched(id: number, obj: string, part: string | undefined, kind: "read" | "write"): void {
    this.#observe(id, `${kind[0]} ${partKey({ obj, part })}=${this.#stateOf(obj, part)}`);
    if (kind === "write") {
      this.#dirty.add(obj);
      this.#track(obj, part);
    }
  }

  /** The running step has ended: the parts it stored into get their new values. */
  stepEnded(): void {
    // A store into one part changes the whole object's value, and a store to the whole
    // object (a free) can change every part's (their lifetime): recompute them all.
    for (const obj of this.#dirty) {
      for (const [key, part] of this.#partsOf.get(obj) ?? []) {
        this.#set(key, this.#stateOf(obj, part));
      }
    }
    this.#dirty.clear();
  }

  /**
   * The state, as 32 hex digits. A finished thread keeps its observations in it: what
   * it did without a store (an object it allocated and never published, a leak the
   * end-of-execution check looks for) is known only through them.
   */
  key(): string {
    const threads = this.#keys.map((key, id) => `${key}:${this.#seen[id]}`).sort();
    return hex128(hash128(`${this.#sum.join(",")}|${threads.join("|")}`));
  }

  #track(obj: string, part: string | undefined): void {
    let parts = this.#partsOf.get(obj);
    if (!parts) this.#partsOf.set(obj, parts = new Map());
    parts.set(partKey({ obj, part }), part);
  }

  /** A part's value; undefined (its object is as if it had never been) removes it. */
  #set(key: string, value: string | undefined): void {
    const old = this.#values.get(key);
    if (old === value) return;
    if (old !== undefined) this.#add(hash128(`${key}=${old}`), -1);
    if (value === undefined) {
      this.#values.delete(key);
      return;
    }
    this.#values.set(key, value);
    this.#add(hash128(`${key}=${value}`), 1);
  }

  #add(h: Hash128, sign: 1 | -1): void {
    for (let i = 0; i < 4; i++) this.#sum[i] = (this.#sum[i] + sign * h[i]) >>> 0;
  }

  #observe(id: number, what: string): void {
    this.#seen[id] = hex128(hash128(`${this.#seen[id]}|${what}`));
  }
}
