/**
 * Optimal dynamic partial-order reduction: every Mazurkiewicz trace of the program is
 * explored exactly once, and no execution is abandoned half-way by its sleep set.
 *
 * The algorithm is Optimal-DPOR of Abdulla, Aronis, Jonsson and Sagonas, "Source Sets:
 * A Foundation for Optimal Dynamic Partial Order Reduction" (JACM 64(4), 2017),
 * Algorithm 2, run stateless by re-execution as Nidhugg runs it. After each execution
 * `E` every race `e ≲ e'` (two dependent steps of different threads with nothing that
 * orders them in between) is reversed by a *wakeup sequence* `v = notdep(e, E).e'`,
 * inserted into the wakeup tree at the state before `e` unless a thread asleep there is
 * a weak initial of `v`. A state's wakeup tree says in which order its subtrees are to
 * be explored and, below each, which schedule to follow first; sleep sets make sure no
 * trace is explored twice.
 *
 * What the paper leaves to an implementation, and what this one does:
 *
 * - **Locks.** A blocking acquisition does not conflict with the release it waits for
 *   (they are never enabled together), but a release orders a later acquisition
 *   ({@link ./step.ts}). Two critical sections of one lock are a race between the two
 *   *acquisitions*, not between the first release and the second acquisition: when
 *   looking for the races of a step, edges that only order it after a release are left
 *   out, so the earlier acquisition stays an immediate predecessor. For the same
 *   reason, what a critical section does (`zap_pte_range()` storing into the whole PTE
 *   table, its lock included) does not race with an acquisition that the section
 *   excludes: that acquisition can only come before the section's. A `section` (a whole
 *   critical section in one step, {@link ./step.ts}) races like an acquisition, and its
 *   data accesses are ordered after the releases of its lock.
 * - **Blocked threads, ends that are not the end.** A thread that never ran its pending
 *   step (blocked at a deadlock, cut by a violation or the step budget) still races with
 *   the steps before it: its pending step is analysed like an executed last step.
 * - **A step that throws ends the execution.** It is dependent on every step of every
 *   other thread (as if it wrote a `halt` flag all steps read): the other threads' next
 *   steps are tried before it, and a thread whose step threw is never asleep. Without
 *   this, a second bug in another thread would be hidden by the first one.
 * - **Choices.** A step with alternatives is one event per alternative; when a state
 *   first schedules such a step, all its alternatives are queued next to each other,
 *   and its thread goes to sleep only once all of them are done.
 * - **Spawned threads** are named by {@linkcode Execution.key}, which does not depend on
 *   the order in which independent steps spawned them.
 * - **A wakeup sequence that cannot run** (its next thread is blocked when the state is
 *   reached) is counted in {@linkcode DporStats.unrunnable} and the state is explored as
 *   a leaf. The tests check that this never happens on their random programs, and on
 *   the matrix only where a lock serves its waiters in FIFO order
 *   (tests/full/granularity.ts): two acquisitions race, but the later waiter's cannot
 *   come before the earlier one's, whose turn the order of their registrations fixed;
 *   that race is reversed instead. (A reader's `down_read()` put before another
 *   reader's `up_read()` at a point where a writer already waits is another: writer
 *   fairness blocks it, and the schedule where the reader comes first is the reversal
 *   of its race with the writer's registration.)
 *
 * Races are looked for only among the steps an execution added after the point where it
 * left the previous execution's path: the steps before that point, and their races, are
 * the same as last time.
 *
 * @module
 */

import { type Access, anyConflict, conflicts, ordered, takes } from "./step.ts";
import type { Decision, Event, Execution, ProgramFactory } from "./execution.ts";
import { type Policy, type Run, runExecution } from "./driver.ts";

/** An event as the search remembers it across executions. */
interface Ev {
  /** The thread's stable key ({@linkcode Execution.key}). */
  readonly key: string;
  readonly choice: number;
  readonly accesses: readonly Access[];
  /** The step threw and ended its execution: dependent on everything. */
  halts?: boolean;
}

/** A node of a wakeup tree: an event and the sequences to follow after it. */
interface WakeupNode extends Ev {
  readonly children: WakeupNode[];
}

/** What the search keeps for the state after `depth` steps of the current execution. */
interface State {
  /** Threads asleep here, with their pending step: exploring them now is redundant. */
  readonly sleep: Map<string, Ev>;
  /** The wakeup tree still to explore from here, in order. */
  readonly wakeup: WakeupNode[];
  /** The event taken from here by the current execution, with its wakeup subtree. */
  current: WakeupNode;
  /** `current` was just taken from the wakeup tree and not yet run. */
  fresh: boolean;
  /** Threads whose alternatives have all been queued here. */
  readonly expanded: Set<string>;
}

/** Counters a caller can report. */
export interface DporStats {
  /** Executions abandoned because every runnable thread was asleep (0 if optimal). */
  blocked: number;
  /** Wakeup sequences whose next thread was blocked when reached (see module doc). */
  unrunnable: number;
  /** Races found and reversed (inserted into a wakeup tree). */
  races: number;
}

/** Options of {@linkcode optimalDpor}. */
export interface DporOptions {
  readonly maxSteps: number;
}

/**
 * Explores `factory` with Optimal-DPOR, calling `visit` with each execution (a
 * sleep-set-blocked one has ending `pruned`); stops early when `visit` returns false.
 * Returns true if every trace was explored.
 */
export function optimalDpor(
  factory: ProgramFactory,
  options: DporOptions,
  visit: (run: Run) => boolean,
  stats: DporStats = { blocked: 0, unrunnable: 0, races: 0 },
): boolean {
  const path: State[] = [];
  let from = 0;
  for (;;) {
    const run = runExecution(factory, new WakeupPolicy(path, stats), options.maxSteps);
    analyse(run, path, from, stats);
    if (!visit(run)) return false;
    const next = backtrack(path);
    if (next === undefined) return true;
    from = next;
  }
}

/** Moves to the deepest state with a wakeup subtree left; its depth, or undefined. */
function backtrack(path: State[]): number | undefined {
  for (let depth = path.length - 1; depth >= 0; depth--) {
    const state = path[depth];
    const next = state.wakeup.shift();
    if (!next) continue;
    // The alternatives of one step are explored back to back; the thread sleeps once
    // all of them are done.
    if (next.key !== state.current.key) sleepOn(state, state.current);
    state.current = next;
    state.fresh = true;
    path.length = depth + 1;
    return depth;
  }
  path.length = 0;
  return undefined;
}

function sleepOn(state: State, ev: Ev): void {
  state.sleep.set(ev.key, ev);
}

/** Follows the current path, then the wakeup subtree, then any awake thread. */
class WakeupPolicy implements Policy {
  readonly #path: State[];
  readonly #stats: DporStats;
  #last = -1;

  constructor(path: State[], stats: DporStats) {
    this.#path = path;
    this.#stats = stats;
  }

  decide(exec: Execution, enabled: readonly number[], depth: number): Decision | "prune" {
    let state = this.#path[depth];
    if (!state) {
      const made = this.#newState(exec, enabled, depth);
      if (!made) {
        this.#stats.blocked++;
        return "prune";
      }
      this.#path.push(state = made);
    }
    if (state.fresh) {
      // Only the state the search backtracked to can hold a step that cannot run.
      while (!enabled.includes(exec.idOf(state.current.key) ?? -1)) {
        this.#stats.unrunnable++;
        const next = state.wakeup.shift();
        if (!next) return "prune";
        if (next.key !== state.current.key) sleepOn(state, state.current);
        state.current = next;
      }
      adopt(exec, state);
    }
    const thread = exec.idOf(state.current.key)!;
    this.#last = thread;
    return { thread, choice: state.current.choice };
  }

  #newState(exec: Execution, enabled: readonly number[], depth: number): State | undefined {
    const parent = this.#path[depth - 1];
    const sleep = new Map<string, Ev>();
    if (parent) {
      for (const ev of parent.sleep.values()) {
        if (!dependent(ev, parent.current)) sleep.set(ev.key, ev);
      }
    }
    const wakeup = parent ? parent.current.children : [];
    let current = wakeup.shift();
    const runnable = (key: string) => {
      const id = exec.idOf(key);
      return id !== undefined && enabled.includes(id);
    };
    if (current && !runnable(current.key)) {
      this.#stats.unrunnable++;
      current = undefined;
      wakeup.length = 0;
    }
    if (!current) {
      const awake = enabled.filter((t) => !sleep.has(exec.key(t)));
      if (awake.length === 0) return undefined;
      // Staying on the same thread keeps traces free of needless context switches.
      const thread = awake.includes(this.#last) ? this.#last : awake[0];
      current = { key: exec.key(thread), choice: 0, accesses: [], children: [] };
    }
    const state = { sleep, wakeup, current, fresh: true, expanded: new Set<string>() };
    adopt(exec, state);
    return state;
  }
}

/**
 * Makes `state.current` what is about to run: its accesses as the step declares them
 * now, and every other alternative of the step queued right after it.
 */
function adopt(exec: Execution, state: State): void {
  const { current, wakeup } = state;
  const request = exec.pending(exec.idOf(current.key)!)!;
  state.current = { ...current, accesses: request.accesses };
  state.fresh = false;
  if (state.expanded.has(current.key)) return;
  state.expanded.add(current.key);
  const siblings: WakeupNode[] = [];
  for (let choice = 0; choice < (request.choices?.length ?? 1); choice++) {
    if (choice === current.choice) continue;
    const queued = wakeup.findIndex((w) => w.key === current.key && w.choice === choice);
    if (queued >= 0) siblings.push(...wakeup.splice(queued, 1));
    else siblings.push({ key: current.key, choice, accesses: request.accesses, children: [] });
  }
  wakeup.unshift(...siblings);
}

/** An event of the execution, or the pending step of a thread that did not run it. */
interface RaceEnd {
  readonly thread: number;
  readonly accesses: readonly Access[];
  readonly before: readonly number[];
  /** Index in the execution; `events.length` for a pending step. */
  readonly index: number;
  readonly choice: number;
}

/** Finds the races of the steps from `from` on, and of every pending step. */
function analyse(run: Run, path: State[], from: number, stats: DporStats): void {
  const { exec, ending } = run;
  const events = exec.events;
  const halting = ending.kind === "violation" && !ending.atExit && !ending.deadlock &&
      events.length > 0
    ? events[events.length - 1]
    : undefined;
  if (halting) path[halting.index].current.halts = true;
  for (let j = from; j < events.length; j++) {
    const e = events[j];
    races(exec, path, { ...e, accesses: e.request.accesses }, halting, stats);
  }
  const enabled = exec.enabled();
  for (let t = 0; t < exec.threadCount; t++) {
    const request = exec.pending(t);
    if (!request) continue;
    // A step blocked before the halt and after it cannot be put before it, unless it
    // conflicts with it (the step that threw took the lock it waits for, say). A
    // blocked `section` races by its lock alone: the data it would touch is touched
    // only once the lock's holder has let go, which no reordering of what happened
    // before that release can bring forward (the race with the holder's acquisition
    // does).
    const blocked = !enabled.includes(t);
    const gates = blocked && request.accesses.some((a) => a.kind === "section")
      ? request.accesses.filter((a) => a.kind === "section")
      : request.accesses;
    const blockedThroughout = blocked &&
      !(halting && anyConflict(halting.request.accesses, gates));
    // A step waiting for an object nothing in this execution touched waits for a
    // release still to come (the end of a grace period, say): no reordering of what
    // happened can let it run, so it races with nothing.
    if (
      blocked &&
      request.accesses.some((a) => takes(a.kind) && exec.eventsOn(a.obj).length === 0)
    ) continue;
    const end: RaceEnd = {
      thread: t,
      accesses: gates,
      before: exec.clockOf(t),
      index: events.length,
      choice: 0,
    };
    races(exec, path, end, blockedThroughout ? undefined : halting, stats);
  }
}

/** Whether `e` happens before whatever has clock `clock`. */
function happensBefore(e: Event, clock: readonly number[]): boolean {
  return (clock[e.thread] ?? 0) >= e.clock[e.thread];
}

/** Reverses every race whose later end is `end`. */
function races(
  exec: Execution,
  path: State[],
  end: RaceEnd,
  halting: Event | undefined,
  stats: DporStats,
): void {
  // The steps `end` directly depends on, leaving out edges that only order it after a
  // release (see the module doc): those are the candidates for an immediate race.
  const direct = new Set<Event>();
  /** Releases `end` waits for that end no critical section: see {@linkcode signals}. */
  const awaited: Event[] = [];
  for (const access of end.accesses) {
    for (const e of exec.eventsOn(access.obj)) {
      if (e.index >= end.index || e.thread === end.thread) continue;
      if (e.request.accesses.some((a) => conflicts(a, access))) direct.add(e);
      else if (takes(access.kind) && signals(exec, e, access)) awaited.push(e);
    }
  }
  if (halting && end.index === halting.index) {
    // The step that threw depends on every step of the other threads.
    for (const e of exec.events) if (e.index < end.index && e.thread !== end.thread) direct.add(e);
  } else if (halting && halting.thread !== end.thread && halting.index < end.index) {
    direct.add(halting);
  }
  // What a critical section that excludes `end` did, `end` races with through that
  // section's acquisition alone: neither a candidate nor a step in between.
  for (const e of direct) if (inSection(exec, e, end)) direct.delete(e);
  // And a `section`'s own data accesses come after the lock is free: a step ordered
  // before a release of that lock is ordered before them.
  const released = releasesBefore(exec, end);
  for (const e of direct) {
    if (happensBefore(e, end.before) || awaited.some((r) => happensBefore(e, r.clock))) continue;
    if (released.some((r) => happensBefore(e, r.clock)) && !takesSectionLock(e, end)) continue;
    let immediate = true;
    for (const other of direct) {
      if (other !== e && other.index > e.index && happensBefore(e, other.clock)) {
        immediate = false;
        break;
      }
    }
    if (!immediate) continue;
    const state = path[e.index];
    const v: Ev[] = [];
    for (let i = e.index + 1; i < end.index; i++) {
      const f = exec.events[i];
      if (f === halting || happensBefore(e, f.clock)) continue;
      v.push({ key: exec.key(f.thread), choice: f.choice, accesses: f.request.accesses });
    }
    v.push({
      key: exec.key(end.thread),
      choice: end.choice,
      accesses: end.accesses,
      // The step that threw still throws once `e` is after it, unless it reads what
      // `e` wrote: then it is another step, and may not throw.
      ...(halting && end.index === halting.index && !anyConflict(e.request.accesses, end.accesses)
        ? { halts: true }
        : {}),
    });
    // Reversing a halt for a step that only the halt orders after it: the halted
    // trace is "that step, then the halt", and the sequence must say so, or a thread
    // independent of the step would count as a way to begin it.
    if (e === halting && !halting.request.accesses.some((a) => anyConflict([a], end.accesses))) {
      v.push({
        key: exec.key(e.thread),
        choice: e.choice,
        accesses: e.request.accesses,
        halts: true,
      });
    }
    if ([...state.sleep.values()].some((q) => weakInitial(q, v, true))) continue;
    stats.races++;
    insert(state.wakeup, v);
  }
}

/**
 * Whether `release`, which orders the acquisition `access` after it, is a signal rather
 * than the end of a critical section: its thread never took the object before (the end
 * of an RCU read-side section, which a grace period waits for). The edge from a
 * critical section's end is left out when looking for races, since the section's
 * start is the step to race with; the edge from a signal is kept, since nothing can
 * put the waiter before it.
 */
function signals(exec: Execution, release: Event, access: Access): boolean {
  const taken = exec.eventsOn(access.obj).some((e) =>
    e.thread === release.thread && e.index < release.index &&
    e.request.accesses.some((a) =>
      a.obj === access.obj && a.part === access.part &&
      (a.kind === "write" || takes(a.kind))
    )
  );
  return !taken &&
    release.request.accesses.some((a) => a.kind.startsWith("release") && ordered(a, access));
}

/**
 * Whether `e` lies inside a critical section, of a lock `end` takes, that excludes
 * `end`: `e`'s thread holds the lock exclusively, or shared while `end` takes it
 * exclusively. `end` cannot come before `e` while that thread holds the lock, so the
 * race to reverse is `end`'s with that critical section's acquisition (they conflict),
 * not with what the critical section did: `zap_pte_range()` stores into the whole PTE
 * table, the lock inside it included, while it holds that lock.
 */
function inSection(exec: Execution, e: Event, end: RaceEnd): boolean {
  return end.accesses.some((lock) => {
    if (!takes(lock.kind)) return false;
    const last = exec.eventsOn(lock.obj).filter((f) => f.thread === e.thread && f.index < e.index)
      .flatMap((f) => f.request.accesses.filter((a) => a.obj === lock.obj && a.part === lock.part))
      .at(-1);
    return last?.kind === "acquire" ||
      (last?.kind === "acquire-shared" && lock.kind !== "acquire-shared");
  });
}

/** The releases, before `end`, of the locks `end` takes as a `section`. */
function releasesBefore(exec: Execution, end: RaceEnd): Event[] {
  return end.accesses.filter((lock) => lock.kind === "section").flatMap((lock) =>
    exec.eventsOn(lock.obj).filter((f) =>
      f.index < end.index &&
      f.request.accesses.some((a) =>
        a.obj === lock.obj && a.part === lock.part && a.kind.startsWith("release")
      )
    )
  );
}

/** Whether `e` touches a lock that `end` takes as a `section`. */
function takesSectionLock(e: Event, end: RaceEnd): boolean {
  return end.accesses.some((lock) =>
    lock.kind === "section" &&
    e.request.accesses.some((a) => a.obj === lock.obj && a.part === lock.part)
  );
}

/** Whether two events do not commute. */
function dependent(a: Ev, b: Ev): boolean {
  if (a.key === b.key || a.halts || b.halts) return true;
  return a.accesses.some((x) => b.accesses.some((y) => ordered(x, y) || ordered(y, x)));
}

/**
 * Whether `ev` can come first in some execution equivalent to `v` extended: either its
 * thread's first event in `v` is `ev` and depends on nothing before it, or its thread
 * is absent from `v` and `ev` is independent of all of `v`. `anyChoice` is for a
 * sleeping thread, all of whose alternatives were explored.
 */
function weakInitial(ev: Ev, v: readonly Ev[], anyChoice = false): boolean {
  const at = v.findIndex((x) => x.key === ev.key);
  if (at < 0) return v.every((x) => !dependent(x, ev));
  if (!anyChoice && v[at].choice !== ev.choice) return false;
  for (let i = 0; i < at; i++) if (dependent(v[i], v[at])) return false;
  return true;
}

/** `insert_[E](v, wut(E))` of the paper. */
function insert(wakeup: WakeupNode[], v: Ev[]): void {
  let children = wakeup;
  let rest = v;
  let atRoot = true;
  for (;;) {
    // A leaf below the root: exploring on from it will find what `rest` is after.
    if (!atRoot && children.length === 0) return;
    const match = children.find((c) => weakInitial(c, rest));
    if (!match) {
      children.push(chain(rest));
      return;
    }
    const at = rest.findIndex((x) => x.key === match.key);
    if (at >= 0) rest = [...rest.slice(0, at), ...rest.slice(at + 1)];
    if (rest.length === 0) return;
    children = match.children;
    atRoot = false;
  }
}

function chain(v: readonly Ev[]): WakeupNode {
  let node: WakeupNode | undefined;
  for (let i = v.length - 1; i >= 0; i--) {
    node = { ...v[i], children: node ? [node] : [] };
  }
  return node!;
}
