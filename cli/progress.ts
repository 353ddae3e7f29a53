/**
 * Progress of a long search, on stderr: executions done, rate, elapsed time and the
 * deepest execution so far. On a terminal it is one live line rewritten with `\r` and
 * cleared at the end; otherwise (a log, a CI job) plain lines every few seconds, and a
 * last one when the task that printed them ends. Short runs print nothing, unless the
 * task is announced (the matrix names each pair as it starts).
 *
 * @module
 */

import type { Progress } from "../mod.ts";
import type { Io } from "./io.ts";
import { count, duration, liveLine } from "./format.ts";

/** Options of {@linkcode ProgressReporter}. */
export interface ProgressOptions {
  /** Terminal: milliseconds between redraws of the live line. Default 100. */
  readonly liveEvery?: number;
  /** Not a terminal: milliseconds between plain lines. Default 2000. */
  readonly plainEvery?: number;
  /** Terminal: an unannounced task shows no line before this many milliseconds. Default 300. */
  readonly quietFor?: number;
}

/** How often `explore` should call `onProgress`, in executions. */
export const PROGRESS_EVERY = 50;

/** Reports one task (a search) at a time. */
export class ProgressReporter {
  readonly #io: Io;
  readonly #liveEvery: number;
  readonly #plainEvery: number;
  readonly #quietFor: number;
  #label = "";
  #start = 0;
  #lastShown = 0;
  #progress: Progress = { executions: 0, pruned: 0, violations: 0, maxDepth: 0 };
  /** Whether the live line is on screen. */
  #live = false;
  /** Whether plain lines were printed for the current task. */
  #printed = false;
  #active = false;

  constructor(io: Io, options: ProgressOptions = {}) {
    this.#io = io;
    this.#liveEvery = options.liveEvery ?? 100;
    this.#plainEvery = options.plainEvery ?? 2000;
    this.#quietFor = options.quietFor ?? 300;
  }

  /**
   * Starts a task called `label`, ending the one before. `announce` shows the label at
   * once (a new line when not on a terminal) instead of only once the task is long.
   */
  start(label: string, announce = false): void {
    this.#end(false);
    this.#label = label;
    this.#start = this.#io.now();
    this.#lastShown = this.#start;
    this.#progress = { executions: 0, pruned: 0, violations: 0, maxDepth: 0 };
    this.#printed = false;
    this.#active = true;
    if (!announce) return;
    if (this.#io.errIsTerminal) this.#draw(this.#label);
    else this.#io.err(`${this.#label}\n`);
  }

  /** The callback for `ExploreOptions.onProgress`. */
  readonly update = (progress: Progress): void => {
    if (!this.#active) return;
    this.#progress = progress;
    const now = this.#io.now();
    if (this.#io.errIsTerminal) {
      if (now - this.#start < this.#quietFor && !this.#live) return;
      if (this.#live && now - this.#lastShown < this.#liveEvery) return;
      this.#lastShown = now;
      this.#draw(this.status(now));
    } else if (now - this.#lastShown >= this.#plainEvery) {
      this.#lastShown = now;
      this.#printed = true;
      this.#io.err(`${this.status(now)}\n`);
    }
  };

  /** Ends the last task: clears the live line, or prints a last plain line if needed. */
  done(): void {
    this.#end(true);
  }

  /** The status line of the current task at time `now`. */
  status(now = this.#io.now()): string {
    const p = this.#progress;
    const elapsed = now - this.#start;
    const rate = elapsed > 0 ? Math.round(p.executions / (elapsed / 1000)) : 0;
    return `${this.#label}: ${count(p.executions)} executions, ${count(rate)}/s, ` +
      `${duration(elapsed)}, depth ${p.maxDepth}` +
      (p.violations ? `, ${count(p.violations)} violating` : "");
  }

  #draw(text: string): void {
    this.#io.err(liveLine(text, this.#io.columns()));
    this.#live = true;
  }

  #end(clear: boolean): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#printed) this.#io.err(`${this.status()}, done\n`);
    if (this.#live && clear) {
      this.#io.err("\r\x1b[K");
      this.#live = false;
    }
  }
}
