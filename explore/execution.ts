/**
 * One execution of a program under a chosen schedule.
 *
 * An execution is a pure function of the program and the sequence of decisions (which
 * thread runs each step, which alternative each choice takes): there is no clock and no
 * randomness here, so a recorded schedule replays exactly. Search policies
 * ({@link ./dfs.ts}, {@link ./random.ts}, {@link ./replay.ts}) differ only in how they
 * decide.
 *
 * Each executed step becomes an {@linkcode Event} with a vector clock, so that the search
 * can tell which earlier steps a pending step could have been reordered with.
 *
 * @module
 */

import { type Access, ordered, partKey, type Proc, type StepRequest, type Wait } from "./step.ts";
import { Violation } from "./violation.ts";
import { StateTracker } from "./state.ts";

/** A simulated thread of control: a CPU, or an RCU callback. */
export interface ThreadSpec {
  /** Shown in traces, e.g. `"CPU0"`. */
  readonly name: string;
  /** Trace column; threads may share one (all RCU callbacks run in `"RCU"`). */
  readonly column?: string;
  /** A daemon may still be blocked when the execution ends: that is not a deadlock. */
  readonly daemon?: boolean;
  readonly body: () => Proc<void>;
}

/** What model code can ask of the explorer while a step runs. */
export interface Runtime {
  /** Id of the thread whose step is running. */
  readonly current: number;
  /** Name of a thread, for messages. */
  threadName(id: number): string;
  /** Starts a new thread; its steps happen after the current one. */
  spawn(spec: ThreadSpec): number;
  /** Adds an outcome to the running step's trace row, e.g. `"fails"`. */
  note(text: string): void;
  /** Index of the running step in the trace (1-based, as traces print it). */
  readonly stepNumber: number;
  /**
   * Reports that model code is touching `obj` (or `part` of it) with a load or a store.
   * The running step must have declared an access that covers it (see
   * {@linkcode covers}); otherwise this throws, naming the step and the object, and the
   * execution ends with an `exception`. Outside a step (set-up, `enabled()`) it checks
   * nothing. This is what keeps the declarations honest: the search is only as sound
   * as they are.
   */
  touch(obj: string, part: string | undefined, kind: "read" | "write"): void;
  /**
   * Opens a scope in the running thread for {@linkcode Runtime.summarize}; scopes nest
   * and close with {@linkcode Runtime.scopeEnd}. Outside the stateful search these do
   * nothing.
   */
  scopeBegin(): void;
  /**
   * Declares that from here the running thread's future depends only on what it
   * observed before the innermost open scope began, on `summary`, and on the shared
   * state: the stateful search replaces what the thread observed inside the scope with
   * `summary`, so that two schedules that reach one summary by different paths (a
   * loser of a race that allocated and freed a table, and a thread that found it
   * populated) meet in one state. Like a step's accesses it is a declaration the
   * search trusts: `summary` must name every local the code still uses from inside the
   * scope. stateful_mm_test.ts checks the model's summaries against Optimal-DPOR.
   */
  summarize(summary: string): void;
  /** Closes the innermost scope; what the thread observed inside it stays observed. */
  scopeEnd(): void;
}

/** A model to explore: its threads and an end-of-execution check. */
export interface Program {
  readonly threads: readonly ThreadSpec[];
  /** Runs once all non-daemon threads have finished; throws a Violation on a bad end state. */
  finish?(): void;
  /**
   * The current value of `part` of `obj` (of the whole object when `part` is
   * undefined), as a string equal for equal values and unequal otherwise, covering
   * everything a step could tell apart (an object's lifetime included). Only the
   * stateful search ({@link ./stateful.ts}) asks for it, for the parts a step touches;
   * see {@link ./state.ts} for why that is enough. Undefined: the object is as if it
   * had never been (freed, and its name never reused), so its parts leave the state.
   */
  stateOf?(obj: string, part: string | undefined): string | undefined;
}

/** Builds a fresh program for each execution. */
export type ProgramFactory = (rt: Runtime) => Program;

/** One scheduling decision. */
export interface Decision {
  readonly thread: number;
  readonly choice: number;
}

/** An executed step. */
export interface Event {
  readonly index: number;
  readonly thread: number;
  readonly request: StepRequest;
  readonly choice: number;
  readonly notes: string[];
  /** Vector clock after the step: `clock[t]` counts the steps of `t` that happen before. */
  readonly clock: readonly number[];
  /** The thread's clock before the step: what happens before it by program order. */
  readonly before: readonly number[];
}

interface Thread {
  readonly id: number;
  /** Stable across executions, unlike `id`: see {@linkcode Execution.key}. */
  readonly key: string;
  spawned: number;
  readonly spec: ThreadSpec;
  readonly gen: Proc<void>;
  pending: StepRequest | undefined;
  clock: number[];
}

/** How an execution ended. */
export type Ending =
  | { readonly kind: "done" }
  | {
    readonly kind: "violation";
    readonly violation: Violation;
    /** Found by the end-of-execution check, not by a step. */
    readonly atExit: boolean;
    /** Every live thread is blocked: no step failed, the schedule did. */
    readonly deadlock?: boolean;
  }
  | { readonly kind: "step-budget"; readonly limit: number }
  | { readonly kind: "pruned" };

/** The state a search policy sees when it decides. */
export class Execution {
  readonly events: Event[] = [];
  readonly #threads: Thread[] = [];
  readonly #byObject = new Map<string, Event[]>();
  readonly #byKey = new Map<string, number>();
  /** Events by object and part (`partKey`); whole-object accesses under the bare object. */
  readonly #byPart = new Map<string, Event[]>();
  readonly #program: Program;
  #current = -1;
  /** The request of the step whose body is running, for {@linkcode Runtime.touch}. */
  #running: StepRequest | undefined;
  #notes: string[] = [];
  /** Set when the search keys states ({@linkcode Execution.stateKey}). */
  readonly #states: StateTracker | undefined;

  /** With `states`, the execution tracks its state for {@linkcode Execution.stateKey}. */
  constructor(factory: ProgramFactory, options: { readonly states?: boolean } = {}) {
    // deno-lint-ignore no-this-alias -- the runtime's getters must see this execution.
    const self = this;
    const runtime: Runtime = {
      get current() {
        return self.#current;
      },
      threadName: (id) => this.threadName(id),
      spawn: (spec) =>
        this.#spawn(spec, this.#current >= 0 ? this.#threads[this.#current].clock : []),
      note: (text) => void this.#notes.push(text),
      touch: (obj, part, kind) => this.#touch(obj, part, kind),
      scopeBegin: () => this.#states?.scopeBegin(this.#current),
      summarize: (summary) => this.#states?.summarize(this.#current, summary),
      scopeEnd: () => this.#states?.scopeEnd(this.#current),
      get stepNumber() {
        return self.events.length + 1;
      },
    };
    this.#program = factory(runtime);
    if (options.states) {
      const stateOf = this.#program.stateOf;
      if (!stateOf) {
        throw new Error("a stateful search needs the program's stateOf(), which it lacks");
      }
      this.#states = new StateTracker((obj, part) => stateOf.call(this.#program, obj, part));
    }
    for (const spec of this.#program.threads) this.#spawn(spec, []);
  }

  /**
   * The state reached, as {@link ./state.ts} defines it: equal for two executions of
   * one program exactly when they are in the same state (up to a 128-bit hash).
   * Only for an execution built with `states`.
   */
  stateKey(): string {
    if (!this.#states) throw new Error("stateKey() of an execution built without states");
    return this.#states.key();
  }

  #touch(obj: string, part: string | undefined, kind: "read" | "write"): void {
    const request = this.#running;
    if (!request) return;
    if (request.accesses.some((a) => covers(a, obj, part, kind))) {
      this.#states?.touched(this.#current, obj, part, kind);
      return;
    }
    const what = part === undefined ? obj : `${obj}.${part}`;
    const declared =
      request.accesses.map((a) =>
        `${a.kind} ${a.part === undefined ? a.obj : `${a.obj}.${a.part}`}`
      ).join(", ") || "nothing";
    throw new Error(
      `undeclared access: ${this.threadName(this.#current)} in step ${request.label} ` +
        `${kind === "read" ? "reads" : "writes"} ${what}, but declared ${declared}`,
    );
  }

  #spawn(spec: ThreadSpec, clock: readonly number[]): number {
    const id = this.#threads.length;
    const creator = this.#current;
    const parent = this.#threads[creator];
    const key = parent ? `${parent.key}.${++parent.spawned}` : String(id);
    const gen = spec.body();
    const thread: Thread = {
      id,
      key,
      spawned: 0,
      spec,
      gen,
      pending: undefined,
      clock: [...clock],
    };
    this.#threads.push(thread);
    this.#byKey.set(key, id);
    this.#states?.spawned(id, key, parent ? creator : undefined);
    // The code before a thread's first yield runs as that thread, inside the step
    // (or the set-up) that created it.
    this.#current = id;
    try {
      const first = gen.next(0);
      thread.pending = first.done ? undefined : first.value;
    } finally {
      this.#current = creator;
    }
    return id;
  }

  get threadCount(): number {
    return this.#threads.length;
  }

  /**
   * A name for thread `id` that does not depend on the order of independent steps:
   * the program's threads are `"0"`, `"1"`...; the n-th thread spawned by thread `k`
   * is `"k.n"`. Ids are handed out in spawn order, so two RCU callbacks queued by
   * independent steps swap ids between executions; their keys do not.
   */
  key(id: number): string {
    return this.#threads[id].key;
  }

  /** The thread whose key is `key`, if it exists in this execution. */
  idOf(key: string): number | undefined {
    return this.#byKey.get(key);
  }

  threadName(id: number): string {
    return this.#threads[id]?.spec.name ?? `thread${id}`;
  }

  column(id: number): string {
    const spec = this.#threads[id].spec;
    return spec.column ?? spec.name;
  }

  /** The step thread `id` will run next, or undefined once it has finished. */
  pending(id: number): StepRequest | undefined {
    return this.#threads[id].pending;
  }

  /** Vector clock of thread `id` (the steps that happen before its next one). */
  clockOf(id: number): readonly number[] {
    return this.#threads[id].clock;
  }

  /** Threads whose next step can run now, in id order. */
  enabled(): number[] {
    const out: number[] = [];
    for (const t of this.#threads) {
      if (t.pending && (t.pending.enabled?.() ?? true)) out.push(t.id);
    }
    return out;
  }

  /** Threads that have not finished and are not daemons. */
  liveWorkers(): number[] {
    return this.#threads.filter((t) => t.pending && !t.spec.daemon).map((t) => t.id);
  }

  /** Earlier events that touched `obj`, oldest first. */
  eventsOn(obj: string): readonly Event[] {
    return this.#byObject.get(obj) ?? [];
  }

  /**
   * Earlier events that may overlap `access`, in lists each in execution order: on its
   * part and on the whole object, or on any part for a whole-object access. Saves
   * scanning every event on a busy object (the mm) for each step.
   */
  #eventsOnPart(access: Access): readonly (readonly Event[])[] {
    if (access.part === undefined) return [this.eventsOn(access.obj)];
    return [
      this.#byPart.get(partKey({ obj: access.obj })) ?? [],
      this.#byPart.get(partKey(access)) ?? [],
    ];
  }

  /** What a blocked thread waits for. */
  waitOf(id: number): Wait | undefined {
    return this.#threads[id].pending?.waitingFor?.();
  }

  /**
   * Runs thread `thread`'s pending step, taking alternative `choice`.
   * A Violation thrown by the step is returned; any other exception is wrapped in one
   * of kind `exception`, naming where it came from.
   */
  step(thread: number, choice: number): Violation | undefined {
    const t = this.#threads[thread];
    const request = t.pending;
    if (!request) throw new Error(`${t.spec.name} has finished and cannot step`);
    const before = t.clock;
    const clock = [...before];
    for (const access of request.accesses) {
      for (const list of this.#eventsOnPart(access)) joinOrdered(clock, list, access);
    }
    clock[thread] = (clock[thread] ?? 0) + 1;
    t.clock = clock;
    this.#current = thread;
    this.#running = request;
    this.#notes = [];
    this.#states?.step(thread, request.label, choice);
    let failure: Violation | undefined;
    try {
      const next = t.gen.next(choice);
      t.pending = next.done ? undefined : next.value;
    } catch (err) {
      t.pending = undefined;
      failure = asViolation(err, request);
    }
    this.#running = undefined;
    if (!failure) this.#states?.stepEnded();
    const event: Event = {
      index: this.events.length,
      thread,
      request,
      choice,
      notes: this.#notes,
      clock,
      before,
    };
    this.events.push(event);
    for (const obj of new Set(request.accesses.map((a: Access) => a.obj))) {
      let list = this.#byObject.get(obj);
      if (!list) this.#byObject.set(obj, list = []);
      list.push(event);
    }
    for (const key of new Set(request.accesses.map(partKey))) {
      let list = this.#byPart.get(key);
      if (!list) this.#byPart.set(key, list = []);
      list.push(event);
    }
    this.#current = -1;
    return failure;
  }

  /** Runs the program's end-of-execution check. */
  finish(): Violation | undefined {
    try {
      this.#program.finish?.();
      return undefined;
    } catch (err) {
      return asViolation(err, undefined);
    }
  }

  /** Describes a deadlock: the wait-for cycle if there is one, else every wait. */
  deadlock(): Violation {
    const waits = new Map<number, Wait | undefined>();
    for (const id of this.liveWorkers()) waits.set(id, this.waitOf(id));
    const cycle = findCycle(waits);
    const describe = (id: number) => {
      const w = waits.get(id);
      const holders = w?.holders.map((h) =>
        this.#threads[h]?.pending === undefined
          ? `${this.threadName(h)}, which has finished without releasing it`
          : this.threadName(h)
      ).join(", ");
      return `${this.threadName(id)} waits in ${this.#threads[id].pending?.label} for ` +
        `${w?.resource ?? "something"}${holders ? ` (held by ${holders})` : ""}`;
    };
    const ids = cycle ?? [...waits.keys()];
    const what = cycle ? "deadlock cycle" : "every CPU is blocked";
    return new Violation("deadlock", `${what}: ${ids.map(describe).join("; ")}`);
  }
}

/**
 * Whether declared access `a` covers a load or store of `obj` (`part` of it, or the
 * whole object when `part` is undefined): same object, and either the declaration is
 * for the whole object or for that part; a store needs a declaration that is not a
 * `read` (a lock operation writes the lock's state).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { covers } from "./execution.ts";
 * assert.equal(covers({ obj: "t", part: "1", kind: "write" }, "t", "1", "write"), true);
 * assert.equal(covers({ obj: "t", part: "1", kind: "write" }, "t", undefined, "write"), false);
 * assert.equal(covers({ obj: "t", kind: "read" }, "t", "1", "write"), false);
 * assert.equal(covers({ obj: "m", part: "lock", kind: "acquire" }, "m", "lock", "write"), true);
 * ```
 */
export function covers(
  a: Access,
  obj: string,
  part: string | undefined,
  kind: "read" | "write",
): boolean {
  if (a.obj !== obj) return false;
  if (a.part !== undefined && a.part !== part) return false;
  return kind === "read" || a.kind !== "read";
}

/**
 * Joins into `clock` the clocks of the events in `list` that order `access` after them,
 * newest first. It stops at a store that already happens before `clock` and covers
 * what `access` touches: every earlier event on it conflicts with that store, so
 * happens before it, and is in `clock` already. That keeps a thread that keeps
 * touching one part (a livelock, a loop) from costing quadratic time.
 */
function joinOrdered(clock: number[], list: readonly Event[], access: Access): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const e = list[i];
    if (e.request.accesses.some((a) => ordered(a, access))) join(clock, e.clock);
    if ((clock[e.thread] ?? 0) < e.clock[e.thread]) continue;
    const covering = e.request.accesses.some((a) =>
      a.obj === access.obj && a.kind === "write" &&
      (a.part === undefined || a.part === access.part)
    );
    if (covering) return;
  }
}

function join(into: number[], other: readonly number[]): void {
  for (let i = 0; i < other.length; i++) {
    if ((other[i] ?? 0) > (into[i] ?? 0)) into[i] = other[i];
  }
}

function findCycle(waits: Map<number, Wait | undefined>): number[] | undefined {
  for (const start of waits.keys()) {
    const path: number[] = [];
    let at: number | undefined = start;
    while (at !== undefined && !path.includes(at)) {
      path.push(at);
      at = waits.get(at)?.holders.find((h) => waits.has(h));
    }
    if (at !== undefined) return path.slice(path.indexOf(at));
  }
  return undefined;
}

function asViolation(err: unknown, request: StepRequest | undefined): Violation {
  if (err instanceof Violation) return err;
  const where = request ? ` in step ${request.label}` : " at exit";
  const text = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
  return new Violation("exception", `model code threw${where}: ${text}`);
}
