/**
 * Progress of several searches at once, on stderr: the matrix runs its pairs in
 * workers, a few at a time, so one line per search (what `ProgressReporter`
 * shows) would interleave. Each pair is named as it starts, `[n/total] s × w`, as
 * before; on a terminal that is one live line, rewritten with `\r`, that also says
 * how many pairs are done and what runs; off a terminal (a log, a CI job) each start
 * is a line of its own, and a status line follows every few seconds.
 *
 * @module
 */

import type { Progress } from "../mod.ts";
import type { Io } from "./io.ts";
import { count, duration, liveLine } from "./format.ts";
import type { ProgressOptions } from "./progress.ts";

/** Reports the pairs of a matrix, several running at once. */
export class PairsProgress {
  readonly #io: Io;
  readonly #total: number;
  readonly #liveEvery: number;
  readonly #plainEvery: number;
  readonly #start: number;
  #lastShown: number;
  /** Running pairs: their label and latest progress. */
  readonly #running = new Map<number, { label: string; executions: number }>();
  /** Executions of the pairs that finished. */
  #doneExecutions = 0;
  #done = 0;
  #live = false;
  #printed = false;

  constructor(io: Io, total: number, options: ProgressOptions = {}) {
    this.#io = io;
    this.#total = total;
    this.#liveEvery = options.liveEvery ?? 100;
    this.#plainEvery = options.plainEvery ?? 2000;
    this.#start = io.now();
    this.#lastShown = this.#start;
  }

  /** Pair `index` starts; `label` names it (`strategy × scenario`); `n` is its start order. */
  started(index: number, n: number, label: string): void {
    this.#running.set(index, { label, executions: 0 });
    if (this.#io.errIsTerminal) this.#draw();
    else this.#io.err(`[${n + 1}/${this.#total}] ${label}\n`);
  }

  /** Pair `index` is at `progress`. */
  update(index: number, progress: Progress): void {
    const pair = this.#running.get(index);
    if (!pair) return;
    pair.executions = progress.executions;
    const now = this.#io.now();
    if (this.#io.errIsTerminal) {
      if (now - this.#lastShown >= this.#liveEvery) this.#draw();
    } else if (now - this.#lastShown >= this.#plainEvery) {
      this.#lastShown = now;
      this.#printed = true;
      this.#io.err(`${this.status(now)}\n`);
    }
  }

  /** Pair `index` ended after `executions`. */
  finished(index: number, executions: number): void {
    this.#running.delete(index);
    this.#done++;
    this.#doneExecutions += executions;
    if (this.#io.errIsTerminal) this.#draw();
  }

  /** All pairs ended: clears the live line, or prints a last status line if others were. */
  done(): void {
    if (this.#printed) this.#io.err(`${this.status()}, done\n`);
    if (this.#live) {
      this.#io.err("\r\x1b[K");
      this.#live = false;
    }
  }

  /** `matrix: 12/36 done, running a × b (1,200), c × d (40); 34,000 executions, 4,500/s, 8.0 s`. */
  status(now = this.#io.now()): string {
    const running = [...this.#running.values()];
    const executions = this.#doneExecutions + running.reduce((n, p) => n + p.executions, 0);
    const elapsed = now - this.#start;
    const rate = elapsed > 0 ? Math.round(executions / (elapsed / 1000)) : 0;
    return `matrix: ${this.#done}/${this.#total} done` +
      (running.length
        ? `, running ${running.map((p) => `${p.label} (${count(p.executions)})`).join(", ")}`
        : "") +
      `; ${count(executions)} executions, ${count(rate)}/s, ${duration(elapsed)}`;
  }

  #draw(): void {
    this.#lastShown = this.#io.now();
    const text = this.status(this.#lastShown);
    this.#io.err(liveLine(text, this.#io.columns()));
    this.#live = true;
  }
}
