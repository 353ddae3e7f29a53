/**
 * The Web Worker that runs one note's module block by block, and the main thread's end
 * of it. A note runs in a worker of its own so that a block that never finishes can be
 * stopped (only `terminate()` stops a spinning loop) and so that what one note leaves
 * behind (globals, timers, console patches) cannot reach the next. Inside, the worker
 * captures what each block prints and the explorations it runs, and reports them.
 *
 * This module is the worker's entry point: {@linkcode DocWorker} starts it by its own
 * URL, under a name that makes the guard at the end start serving. Imported anywhere
 * else, the guard does nothing.
 *
 * @module
 */

import {
  type ExploreResult,
  onExplore,
  openResults,
  scenarios,
  strategies,
  useCheckStore,
  verdictOf,
} from "../mod.ts";
import type { Exploration } from "./outcome.ts";

// ---------------------------------------------------------------------------------
// The protocol, and the main thread's end.

/** The worker's name, by which the guard at the end knows it is the worker. */
const WORKER_NAME = "faultline-doc-runner";

/**
 * Requests: load the note's module (answering registered pairs from the results store
 * if `reuseResults`), then run its blocks by index, one at a time.
 */
export type ToWorker = {
  readonly type: "load";
  readonly url: string;
  readonly reuseResults: boolean;
} | {
  readonly type: "run";
  readonly index: number;
};

/** Replies, one per request. */
export type FromWorker =
  | { readonly type: "loaded" }
  | { readonly type: "load-failed"; readonly error: string }
  | {
    readonly type: "ran";
    readonly index: number;
    readonly output: string;
    readonly explorations: number;
    readonly exploration?: Exploration;
    /** What the block threw. */
    readonly error?: string;
    /** The document's generator finished at this block: a top-level `return`. */
    readonly ended: boolean;
    /** Errors thrown outside the block's own flow (unawaited promises, timers). */
    readonly escaped: readonly string[];
  };

/** A reply, or what the main thread says when none came. */
export type Reply = FromWorker | { readonly type: "timeout" } | {
  readonly type: "crashed";
  readonly error: string;
};

/** The main thread's end of a note's worker: one request at a time, with a deadline. */
export class DocWorker {
  readonly #worker: Worker;
  #waiting: ((reply: Reply) => void) | undefined;

  constructor() {
    this.#worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#waiting?.(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#waiting?.({ type: "crashed", error: e.message });
    };
    this.#worker.onmessageerror = () =>
      this.#waiting?.({ type: "crashed", error: "a message from the worker could not be read" });
  }

  ask(message: ToWorker, seconds: number): Promise<Reply> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ type: "timeout" }), seconds * 1000);
      const done = (reply: Reply) => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve(reply);
      };
      this.#waiting = done;
      this.#worker.postMessage(message);
    });
  }

  close(): void {
    this.#worker.terminate();
  }
}

// ---------------------------------------------------------------------------------
// Inside the worker.

interface WorkerScope {
  readonly name: string;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  addEventListener(type: string, listener: (e: Event) => void): void;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return `Uncaught ${Deno.inspect(e)}`;
}

/** What console.log would print for `args`, as Deno formats it. */
function formatArgs(args: readonly unknown[]): string {
  const show = (v: unknown) => typeof v === "string" ? v : Deno.inspect(v, { colors: false });
  const [first, ...rest] = args;
  if (typeof first !== "string" || !first.includes("%")) return args.map(show).join(" ");
  const head = first.replace(/%([sdifoOjc%])/g, (spec, c: string) => {
    if (c === "%") return "%";
    if (rest.length === 0) return spec;
    const v = rest.shift();
    switch (c) {
      case "s":
        return show(v);
      case "d":
        return typeof v === "bigint" ? `${v}n` : String(Number(v));
      case "i":
        return String(parseInt(String(v)));
      case "f":
        return String(parseFloat(String(v)));
      case "c":
        return "";
      default:
        return Deno.inspect(v, { colors: false });
    }
  });
  return [head, ...rest.map(show)].join(" ");
}

/** An exploration as the outcome reports it: plain data, to cross postMessage. */
function summarize(r: ExploreResult): Exploration {
  const ce = r.counterexample ?? r.inconclusive;
  return {
    verdict: verdictOf(r),
    executions: r.executions,
    exhaustive: r.exhaustive,
    ...(ce
      ? {
        kind: ce.kind,
        message: ce.message,
        schedule: ce.schedule,
        // A trace is plain data; the round trip makes sure it crosses postMessage.
        trace: JSON.parse(JSON.stringify(ce.trace)),
      }
      : {}),
  };
}

/**
 * Freezes `value` and every plain object and array in it (not functions' insides, not
 * class instances): what the registered strategies and scenarios are made of.
 */
function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** Serves the requests of {@linkcode DocWorker} inside the worker. */
function serve(scope: WorkerScope): void {
  let run: AsyncGenerator<number, void, undefined> | undefined;
  let output: string[] = [];
  let escaped: string[] = [];
  let last: ExploreResult | undefined;
  let count = 0;
  onExplore((r) => {
    last = r;
    count++;
  });
  // Everything a block prints is its output, stdout and stderr alike, formatted as
  // Deno's console formats it (console.table is shown as the inspected value).
  let indent = "";
  const print = (text: string) =>
    void output.push(text.split("\n").map((l) => indent + l).join("\n") + "\n");
  const con = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const method of ["log", "info", "debug", "warn", "error", "trace"]) {
    con[method] = (...args) => print(formatArgs(args));
  }
  con.dir = con.table = (v) => print(Deno.inspect(v, { colors: false }));
  con.assert = (ok, ...args) => {
    if (!ok) print(["Assertion failed", ...args.length ? [formatArgs(args)] : []].join(": "));
  };
  con.group = con.groupCollapsed = (...args) => {
    if (args.length > 0) print(formatArgs(args));
    indent += "  ";
  };
  con.groupEnd = () => void (indent = indent.slice(2));
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    escaped.push(describeError((e as PromiseRejectionEvent).reason));
  });
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    escaped.push(describeError((e as ErrorEvent).error ?? (e as ErrorEvent).message));
  });

  scope.onmessage = async ({ data }) => {
    if (data.type === "load") {
      try {
        if (data.reuseResults) {
          // The store holds what the registered strategies and scenarios give as their
          // files define them; frozen, a note cannot change one in place and then be
          // answered for, or record, the original (it gets a TypeError instead).
          deepFreeze(strategies);
          deepFreeze(scenarios);
          const store = openResults();
          useCheckStore({
            get(strategy, scenario, options) {
              const found = store.get(strategy, scenario, options)?.check;
              // Counted as the exploration it stands for (expect= judges the last one).
              if (found) {
                last = found.result;
                count++;
              }
              return found;
            },
            put: (check, millis, options) => void store.put([{ check, millis }], options),
          });
        }
        const mod: { run: () => AsyncGenerator<number, void, undefined> } = await import(data.url);
        run = mod.run();
        scope.postMessage({ type: "loaded" });
      } catch (e) {
        scope.postMessage({ type: "load-failed", error: describeError(e) });
      }
      return;
    }
    output = [];
    indent = "";
    escaped = [];
    last = undefined;
    count = 0;
    let error: string | undefined;
    let ended = false;
    try {
      ended = (await run!.next()).done === true;
    } catch (e) {
      error = describeError(e);
    }
    // Let rejections nobody awaited surface while they are still this block's.
    await new Promise((resolve) => setTimeout(resolve, 0));
    scope.postMessage({
      type: "ran",
      index: data.index,
      output: output.join(""),
      explorations: count,
      ...(last ? { exploration: summarize(last) } : {}),
      ...(error !== undefined ? { error } : {}),
      ended,
      escaped,
    });
  };
}

// The worker's entry point: this very module, loaded in a worker of that name.
const scope = globalThis as unknown as Partial<WorkerScope>;
if ("WorkerGlobalScope" in globalThis && scope.name === WORKER_NAME) serve(scope as WorkerScope);
