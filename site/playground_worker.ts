/**
 * The playground's Web Worker, in the browser: the half of `_site/playground.html` that
 * explores. It is bundled at site build (see {@link ./playground_bundle.ts}) together
 * with the explorer, the mm core, the strategies, the scenarios and the trace viewer's
 * rendering, into one script that the page turns into a Blob URL and starts as a
 * worker (Chromium refuses `new Worker("file://…")`, so this is how it runs from disk).
 *
 * An edited strategy arrives inside the worker's own script, not as a string to
 * evaluate (the page's Content-Security-Policy allows no `eval`): the page appends, after
 * the bundle, `faultlinePlayground.define(path, function (require, exports, module) {
 * … })` with the CommonJS that TypeScript's `transpileModule` made of the edited text.
 * Its `require(spec)` resolves `spec` against `path` (e.g. `../mm/mod.ts` from
 * `strategies/per_vma_lock.ts` is `mm/mod.ts`) to one of the bundled modules.
 *
 * The worker answers one `run` message: it explores the pair with `check()`, posts
 * `progress` messages as the search goes (the page's Cancel terminates the worker), and
 * ends with `done` (the verdict, the counts, the counterexample's trace already rendered
 * as the trace viewer renders it) or `error`.
 *
 * @module
 */

import type { CheckResult, Progress, Scenario, Strategy } from "../mod.ts";
import type { Mode } from "../mod.ts";
import { linkSteps, objectsPanel, traceTable } from "./trace_view.ts";

/** The bundled modules, by path from the repository root (`mm/mod.ts`...). */
export type ModuleMap = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** What the page asks the worker. */
export interface RunRequest {
  readonly type: "run";
  readonly scenario: string;
  readonly mode: Mode;
  /** Stop after this many executions (0 or absent: no limit). */
  readonly maxExecutions?: number;
  /** A strategy of the repository, by name... */
  readonly strategy?: string;
  /** ...or the edited module defined in this worker's script, by its path. */
  readonly edited?: string;
}

/** The counterexample, as the page shows it. */
export interface ShownCounterexample {
  readonly kind: string;
  readonly message: string;
  /** The message with `step N` linked, HTML. */
  readonly messageHtml: string;
  readonly schedule: string;
  readonly preemptions: number;
  readonly steps: number;
  /** The violating step, or undefined when the check at exit found it. */
  readonly violationStep?: number;
  /** `traceTable()`, HTML. */
  readonly tableHtml: string;
  /** `objectsPanel()`, HTML. */
  readonly objectsHtml: string;
}

/** What the worker posts. */
export type FromWorker =
  | { readonly type: "progress"; readonly executions: number; readonly violations: number }
  | {
    readonly type: "done";
    readonly strategy: string;
    readonly scenario: string;
    readonly outcome: string;
    readonly expected?: string;
    readonly asExpected: boolean;
    readonly executions: number;
    readonly exhaustive: boolean;
    readonly violations: Readonly<Record<string, number>>;
    readonly millis: number;
    readonly token?: string;
    readonly counterexample?: ShownCounterexample;
  }
  | { readonly type: "error"; readonly message: string };

type Factory = (
  require: (spec: string) => unknown,
  exports: Record<string, unknown>,
  module: { exports: Record<string, unknown> },
) => void;

/** Whether `v` looks like a {@linkcode Strategy}: a name and the three entry points. */
export function isStrategy(v: unknown): v is Strategy {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.name === "string" && typeof s.fault === "function" &&
    typeof s.munmap === "function" && typeof s.mmap === "function" &&
    typeof s.expected === "object" && s.expected !== null;
}

/**
 * The repository path `spec` names when imported from the module at `from`, or
 * undefined when it is not a relative path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveImport } from "./playground_worker.ts";
 * assert.equal(resolveImport("../mm/mod.ts", "strategies/per_vma_lock.ts"), "mm/mod.ts");
 * assert.equal(resolveImport("./mmap_lock.ts", "strategies/x.ts"), "strategies/mmap_lock.ts");
 * assert.equal(resolveImport("npm:marked", "strategies/x.ts"), undefined);
 * ```
 */
export function resolveImport(spec: string, from: string): string | undefined {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return undefined;
  const url = new URL(spec, `file:///root/${from}`);
  return url.pathname.slice("/root/".length);
}

/** Evaluates the edited module defined as `factory` at `path`; its first Strategy export. */
function loadEdited(modules: ModuleMap, path: string, factory: Factory): Strategy {
  const require = (spec: string): unknown => {
    const target = resolveImport(spec, path);
    const found = target === undefined ? undefined : modules[target];
    if (!found) {
      throw new Error(
        `import "${spec}" from ${path}: the playground has only the repository's modules ` +
          `(a relative path to a file of explore/, mm/, strategies/, scenarios/, or ` +
          `faultline.ts), e.g. "../mm/mod.ts" or "./mmap_lock.ts"`,
      );
    }
    return found;
  };
  const module = { exports: {} as Record<string, unknown> };
  factory(require, module.exports, module);
  const strategy = Object.values(module.exports).find(isStrategy);
  if (!strategy) {
    throw new Error(
      `${path} exports no Strategy (an object with name, expected, fault, munmap, mmap); ` +
        `exports: ${Object.keys(module.exports).join(", ") || "none"}`,
    );
  }
  return strategy;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

interface Scope {
  onmessage: ((e: MessageEvent<RunRequest>) => void) | null;
  postMessage(message: FromWorker): void;
}

type Check = (
  s: Strategy,
  w: Scenario | string,
  o: {
    mode: Mode;
    maxExecutions?: number;
    progressEvery: number;
    onProgress: (p: Progress) => void;
  },
) => CheckResult;

/**
 * Installs the worker: `globalThis.faultlinePlayground.define` for the edited module,
 * and the `run` handler. Called by the generated bundle entry with every bundled module.
 */
export function startPlayground(modules: ModuleMap): void {
  const defined = new Map<string, Factory>();
  const g = globalThis as unknown as { faultlinePlayground: unknown };
  g.faultlinePlayground = {
    modules,
    define: (path: string, factory: Factory) => void defined.set(path, factory),
  };
  if (!("WorkerGlobalScope" in globalThis)) return;
  const scope = globalThis as unknown as Scope;
  scope.onmessage = (e) => {
    const req = e.data;
    try {
      const check = modules["faultline.ts"].check as Check;
      const strategies = modules["strategies/mod.ts"].strategies as readonly Strategy[];
      let strategy: Strategy | undefined;
      if (req.edited !== undefined) {
        const factory = defined.get(req.edited);
        if (!factory) throw new Error(`no edited module ${req.edited} in this worker`);
        strategy = loadEdited(modules, req.edited, factory);
      } else {
        strategy = strategies.find((s) => s.name === req.strategy);
        if (!strategy) throw new Error(`unknown strategy "${req.strategy}"`);
      }
      const started = performance.now();
      const c = check(strategy, req.scenario, {
        mode: req.mode,
        ...(req.maxExecutions ? { maxExecutions: req.maxExecutions } : {}),
        progressEvery: 25,
        onProgress: (p) =>
          scope.postMessage({
            type: "progress",
            executions: p.executions,
            violations: p.violations,
          }),
      });
      const r = c.result;
      const ce = r.counterexample ?? r.inconclusive;
      scope.postMessage({
        type: "done",
        strategy: c.strategy,
        scenario: c.scenario,
        outcome: c.outcome,
        ...(c.expected !== undefined ? { expected: c.expected } : {}),
        asExpected: c.asExpected,
        executions: r.executions,
        exhaustive: r.exhaustive,
        violations: r.violations,
        millis: Math.round(performance.now() - started),
        ...(c.token ? { token: c.token } : {}),
        ...(ce
          ? {
            counterexample: {
              kind: ce.kind,
              message: ce.message,
              messageHtml: linkSteps(ce.message).value,
              schedule: ce.schedule,
              preemptions: ce.preemptions,
              steps: ce.trace.steps.length,
              ...(ce.trace.violation?.step !== undefined
                ? { violationStep: ce.trace.violation.step }
                : {}),
              tableHtml: traceTable(ce.trace).value,
              objectsHtml: objectsPanel(ce.trace).value,
            },
          }
          : {}),
      });
    } catch (err) {
      scope.postMessage({ type: "error", message: messageOf(err) });
    }
  };
}
