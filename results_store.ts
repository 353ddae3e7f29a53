/**
 * The results store: what registered strategy × scenario pairs gave when the pool
 * explored them (`checkPairs` of `pool.ts`), kept under `.faultline/results/` so that
 * one build explores each pair once. The main job's matrix and the verdict tests record
 * into it; the site build (`deno task site`) and the notes it runs take their pairs
 * from it; the tests of the verdicts and of the notes never read it.
 *
 * Why it can be trusted: a search is a function of the code it runs, the scenario and
 * the options (nothing random or clock-driven in the explorer or mm), so a result is
 * keyed by {@linkcode sourceKey}, a 128-bit hash of every file that code is made of (the
 * directories of {@linkcode SOURCE_DIRS}, the files of {@linkcode SOURCE_FILES}, and
 * Deno's version), and by the search's options and kernel configuration
 * ({@linkcode optionsKey}). Any byte changed in any of those files is another key, so a
 * result explored before the change is never read after it. Only registered pairs
 * (found by name in `strategies/mod.ts` and `scenarios/mod.ts`, whose code is those
 * files) are stored; a strategy or scenario defined elsewhere (in a note, in a test)
 * is always explored. A pair the pool stopped (time limit, stuck, crashed worker) is
 * never stored: that depends on the clock. A writer computes the key before its
 * workers load the code and again after they are done, and writes nothing if the two
 * differ (a file edited meanwhile).
 *
 * What a stored result holds is the whole {@linkcode CheckResult} (outcome, executions,
 * exhaustive or not, the counterexample and its trace, the replay token), so a reader
 * prints what a fresh exploration would; `tests/results_store_test.ts` checks that the
 * round trip through the store loses nothing, and that the key covers every module
 * the pair worker loads.
 *
 * @module
 */

import { hash128, hex128 } from "./explore/hash.ts";
import { type CheckOptions, type CheckResult, scenarioNamed, strategyNamed } from "./faultline.ts";
import { DEFAULT_CONFIG, type KernelConfig } from "./mm/mod.ts";

/** The directories whose every file a pair's exploration may depend on. */
export const SOURCE_DIRS: readonly string[] = ["explore", "mm", "strategies", "scenarios"];
/** The files outside them that it may depend on: `check()` and the pool's worker. */
export const SOURCE_FILES: readonly string[] = ["faultline.ts", "pair_worker.ts"];

/** Bumped when the stored format changes. */
const FORMAT = 1;

/** The repository this module belongs to. */
const ROOT = new URL("./", import.meta.url);

/** Every file of {@linkcode SOURCE_DIRS} and {@linkcode SOURCE_FILES}, sorted, relative to `root`. */
export function sourceFiles(root: URL = ROOT): string[] {
  const files: string[] = [...SOURCE_FILES];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, root))) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) walk(path);
      else files.push(path);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return files.sort();
}

/**
 * A 128-bit hash (hex) of Deno's version and every source file's path and bytes
 * (explore/hash.ts: an accidental collision is as likely as 2^-128; nothing here needs
 * a cryptographic digest, and `node:crypto` would break the playground's browser
 * bundle, which reaches this module through `mod.ts`).
 */
export function sourceKey(root: URL = ROOT): string {
  // windows-1252, the WHATWG "latin1", gives each byte a code point of its own.
  const bytesAsText = new TextDecoder("latin1");
  let text = `faultline results ${FORMAT}\0deno ${Deno.version.deno}\0`;
  for (const path of sourceFiles(root)) {
    const bytes = Deno.readFileSync(new URL(path, root));
    text += `${path}\0${bytes.length}\0${bytesAsText.decode(bytes)}`;
  }
  return hex128(hash128(text));
}

/** JSON with object keys sorted, so that equal values have one text. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}

/**
 * The part of a search's options that decides its result: every plain option but
 * `progressEvery` (how often progress is told), the mode as `explore()` defaults it,
 * and the kernel configuration as `check()` defaults it.
 */
export function optionsKey(options: CheckOptions & { readonly config?: KernelConfig }): string {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined && typeof v !== "function" && k !== "progressEvery") {
      plain[k] = v;
    }
  }
  return canonical({
    ...plain,
    mode: options.mode ?? "exhaustive",
    config: options.config ?? DEFAULT_CONFIG,
  });
}

/** One stored pair: its result and how long it took when it was explored. */
export interface StoredPair {
  readonly check: CheckResult;
  readonly millis: number;
}

interface StoredFile extends StoredPair {
  readonly format: number;
  readonly key: string;
  readonly options: string;
  readonly strategy: string;
  readonly scenario: string;
}

/** Whether `strategy` and `scenario` are registered names (only those are stored). */
export function isRegistered(strategy: string, scenario: string): boolean {
  try {
    strategyNamed(strategy);
    scenarioNamed(scenario);
    return true;
  } catch {
    return false;
  }
}

/**
 * The store of one repository for the sources as they are when it is opened
 * ({@linkcode openResults}): reads give only what was stored under that key.
 */
export class ResultsStore {
  readonly #root: URL;
  /** The source key at opening. */
  readonly key: string;
  readonly #dir: URL;

  constructor(root: URL = ROOT) {
    this.#root = root;
    this.key = sourceKey(root);
    this.#dir = new URL(`.faultline/results/${this.key}/`, root);
  }

  #file(strategy: string, scenario: string, options: string): URL {
    const name = hex128(hash128(`${options}\0${strategy}\0${scenario}`));
    return new URL(`${name}.json`, this.#dir);
  }

  /** The stored result of a registered pair under these options, if any. */
  get(strategy: string, scenario: string, options: CheckOptions): StoredPair | undefined {
    const opts = optionsKey(options);
    let stored: StoredFile;
    try {
      stored = JSON.parse(Deno.readTextFileSync(this.#file(strategy, scenario, opts)));
    } catch {
      return undefined;
    }
    // The file name is a hash of these; a mismatch is a collision or a damaged file.
    if (
      stored.format !== FORMAT || stored.key !== this.key || stored.options !== opts ||
      stored.strategy !== strategy || stored.scenario !== scenario
    ) return undefined;
    return { check: stored.check, millis: stored.millis };
  }

  /**
   * Stores results explored under `options`, if the sources are still those of the
   * opening (else nothing: the workers may have loaded other code). Returns whether it
   * wrote. Each file is written through a rename, so a reader never sees half of one.
   */
  put(entries: readonly StoredPair[], options: CheckOptions): boolean {
    const registered = entries.filter((e) => isRegistered(e.check.strategy, e.check.scenario));
    if (registered.length === 0) return false;
    const opts = optionsKey(options);
    try {
      if (sourceKey(this.#root) !== this.key) return false;
      Deno.mkdirSync(this.#dir, { recursive: true });
      for (const { check, millis } of registered) {
        const file = this.#file(check.strategy, check.scenario, opts);
        const stored: StoredFile = {
          format: FORMAT,
          key: this.key,
          options: opts,
          strategy: check.strategy,
          scenario: check.scenario,
          check,
          millis,
        };
        const tmp = new URL(`${file.href}.${Deno.pid}.tmp`);
        Deno.writeTextFileSync(tmp, JSON.stringify(stored));
        Deno.renameSync(tmp, file);
      }
      this.#prune();
      return true;
    } catch {
      // A store is a saving, never a condition: a write that fails (another process
      // pruning, a read-only tree) leaves the pairs to be explored next time.
      return false;
    }
  }

  /** Removes what other keys stored: no reader can ever match them again. */
  #prune(): void {
    const parent = new URL("../", this.#dir);
    for (const e of Deno.readDirSync(parent)) {
      if (e.isDirectory && e.name !== this.key && /^[0-9a-f]{64}$/.test(e.name)) {
        try {
          Deno.removeSync(new URL(`${e.name}/`, parent), { recursive: true });
        } catch {
          // Another process pruned it first.
        }
      }
    }
  }
}

/** The store of the repository at `root` (this one by default), keyed by its sources now. */
export function openResults(root: URL = ROOT): ResultsStore {
  return new ResultsStore(root);
}
