/**
 * The runner's vocabulary: its options and what it reports of a note and of each block.
 * Plain records, so that the site can mark blocks with the very outcomes the tests
 * judge, and so that an outcome crosses a worker boundary or a JSON file unchanged.
 *
 * @module
 */

import type { Trace, Verdict } from "../mod.ts";
import type { DocError, DocPage } from "./doc_page.ts";

/** The repository root, against which note paths and imports are resolved. */
export const ROOT: URL = new URL("../", import.meta.url);

/** Default time a block may take, in seconds (`timeout=` overrides it per block). */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Options of {@linkcode runDocs} and friends. */
export interface RunOptions {
  /** Repository root. Default: {@linkcode ROOT}. */
  readonly root?: URL;
  /** Where generated modules go. Default: `<root>/.faultline/docs/`. */
  readonly outDir?: URL;
  /** Time a block may take unless it says `timeout=`. Default {@linkcode DEFAULT_TIMEOUT_SECONDS}. */
  readonly timeoutSeconds?: number;
  /** Time the note's module (and mod.ts behind it) may take to load. Default 120 s. */
  readonly loadTimeoutSeconds?: number;
  /** Run `deno check` on the generated modules first. Default true. */
  readonly typeCheck?: boolean;
  /**
   * Answer a block's `check()` of a registered pair from the results store
   * (`results_store.ts`) when it holds the pair for the sources as they are, instead of
   * exploring it again. Default false: the notes' tests explore; the site build, which
   * runs the notes after the matrix, sets it.
   */
  readonly reuseResults?: boolean;
}

/** What happened to one block. */
export type BlockStatus = "passed" | "failed" | "skipped" | "not-run";

/** The last exploration a block ran, as the site shows it. */
export interface Exploration {
  readonly verdict: Verdict;
  readonly executions: number;
  readonly exhaustive: boolean;
  /** Kind of the counterexample, or `step-budget` for an inconclusive search. */
  readonly kind?: string;
  readonly message?: string;
  /** The counterexample's schedule, replayable with `replay`. */
  readonly schedule?: string;
  readonly trace?: Trace;
}

/** The outcome of one fenced block of a note. */
export interface BlockOutcome {
  readonly id: string;
  /** Markdown line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** `not-run` for blocks that are not runnable `ts` (other languages, run=false, output). */
  readonly status: BlockStatus;
  /** Why it failed or was skipped; "" when it passed or did not run. */
  readonly message: string;
  /** What it printed (console.log and friends). */
  readonly output: string;
  /** How many explorations it ran; the last one is {@linkcode BlockOutcome.exploration}. */
  readonly explorations: number;
  readonly exploration?: Exploration;
  readonly durationMs: number;
}

/** The outcome of a whole note. */
export interface DocOutcome {
  readonly page: DocPage;
  /** Problems of the note as a whole: malformed Markdown, a type check failing elsewhere. */
  readonly problems: readonly DocError[];
  /** One per block of the page, in page order. */
  readonly blocks: readonly BlockOutcome[];
  /** True when there are no problems and no block failed or was skipped. */
  readonly passed: boolean;
  /** Said of a note that passed without running anything. */
  readonly note?: string;
}

/** A note turned into a module and type-checked, ready for {@linkcode executeDoc}. */
export interface CompiledDoc {
  readonly page: DocPage;
  /** The generated module; undefined when the note is malformed or runs nothing. */
  readonly moduleUrl?: URL;
  /** Compile-time problems (forbidden imports, syntax and type errors) per block id. */
  readonly blockProblems: ReadonlyMap<string, readonly string[]>;
  /** Compile-time problems not tied to one block. */
  readonly problems: readonly DocError[];
  /** Markdown line of each generated line (index = generated line - 1). */
  readonly lineMap: readonly (number | undefined)[];
}
