/**
 * Running mutants: a snapshot of the repository (the files git tracks, plus untracked
 * ones it does not ignore), copied once into a temporary directory per worker; for each
 * mutant, the one mutated file written there, type-checked (`deno check` of that
 * file's module graph: a type error makes the mutant invalid, not killed; skipped for
 * a mutant that only drops or swaps whole call statements, which cannot), the whole
 * matrix run (`deno run -A main.ts matrix --json`) under a wall-clock limit, and the
 * file put back. A mutant is killed when some strategy × scenario pair's outcome
 * differs from the unmutated run's (another verdict or violation kind, an error), when
 * the matrix fails, or when it outlasts the limit (reported as a timeout).
 *
 * Why a copy: other people edit the working tree while a run goes on; the copy is
 * taken once, so the baseline and every mutant see the same code, and nothing is
 * ever written into the working tree.
 *
 * @module
 */

import { applyMutant, type Mutant } from "./generate.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The repository's files as they are now: path relative to the root → contents. */
export type Snapshot = ReadonlyMap<string, Uint8Array>;

/**
 * The paths, relative to `root`, of every file git tracks or would track
 * (`git ls-files -co --exclude-standard`): what a clean clone of the working tree has.
 */
export async function repoFiles(root: string): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`git ls-files failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout).split("\0").filter((p) => p);
}

/** Reads every file git tracks or would track ({@linkcode repoFiles}). */
export async function snapshot(root: string): Promise<Snapshot> {
  const files = new Map<string, Uint8Array>();
  for (const path of await repoFiles(root)) {
    try {
      files.set(path, await Deno.readFile(`${root}/${path}`));
    } catch (e) {
      // Tracked but deleted in the working tree: not part of what is run.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return files;
}

/** The text of `path` in the snapshot. */
export function textOf(files: Snapshot, path: string): string {
  const bytes = files.get(path);
  if (!bytes) throw new Error(`${path} is not in the snapshot`);
  return decoder.decode(bytes);
}

/** Writes the snapshot into a new temporary directory; returns its path. */
export async function materialize(files: Snapshot): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "faultline-mutate-" });
  for (const [path, bytes] of files) {
    const slash = path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(`${dir}/${path.slice(0, slash)}`, { recursive: true });
    await Deno.writeFile(`${dir}/${path}`, bytes);
  }
  // ./faultline and scripts keep working if anything runs them.
  for (const path of files.keys()) {
    if (path === "faultline" || path.endsWith(".sh")) await Deno.chmod(`${dir}/${path}`, 0o755);
  }
  return dir;
}

/** Outcome of every pair: `"strategy × scenario"` → `"safe"`, `"violation:stale-pte"`, ... */
export type Outcomes = ReadonlyMap<string, string>;

/** What one matrix run gave. */
export type MatrixRun =
  | { readonly kind: "ok"; readonly outcomes: Outcomes; readonly millis: number }
  | { readonly kind: "timeout"; readonly millis: number }
  | { readonly kind: "failed"; readonly message: string; readonly millis: number };

/** A subprocess's output, or that it was stopped at `timeoutMs`. */
async function runDeno(
  dir: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<
  { timedOut: boolean; code: number; stdout: string; stderr: string; millis: number }
> {
  const start = performance.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...args],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    return {
      timedOut,
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      millis: performance.now() - start,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The last non-empty lines of `text`, joined: what a failure message quotes. */
function tail(text: string, lines = 2): string {
  return text.trim().split("\n").filter((l) => l.trim()).slice(-lines).join(" | ");
}

/** Runs `deno run -A main.ts matrix --json` in `dir`. */
export async function runMatrix(dir: string, timeoutMs: number): Promise<MatrixRun> {
  const r = await runDeno(dir, ["run", "-A", "main.ts", "matrix", "--json"], timeoutMs);
  if (r.timedOut) return { kind: "timeout", millis: r.millis };
  // 0: every outcome as declared; 1: some are not. Both print the cells.
  if (r.code === 0 || r.code === 1) {
    try {
      const cells: unknown = JSON.parse(r.stdout);
      if (Array.isArray(cells)) {
        const outcomes = new Map<string, string>();
        for (const cell of cells) {
          const { strategy, scenario, outcome } = cell as Record<string, unknown>;
          if (typeof strategy !== "string" || typeof scenario !== "string") continue;
          outcomes.set(`${strategy} × ${scenario}`, String(outcome));
        }
        return { kind: "ok", outcomes, millis: r.millis };
      }
    } catch {
      // Not JSON: reported below.
    }
  }
  return {
    kind: "failed",
    message: `matrix exited ${r.code}: ${tail(r.stderr) || tail(r.stdout) || "no output"}`,
    millis: r.millis,
  };
}

/** `deno check` of `file`'s module graph in `dir`: the first type error, or undefined. */
export async function typeCheck(
  dir: string,
  file: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const r = await runDeno(dir, ["check", "--quiet", file], timeoutMs);
  if (r.timedOut) return "deno check timed out";
  if (r.code === 0) return undefined;
  const text = `${r.stderr}\n${r.stdout}`;
  const error = text.split("\n").find((l) => /TS\d+|error:/.test(l)) ?? tail(text);
  return error.trim();
}

/** The pairs whose outcome differs: `"per-vma-lock × fault-vs-munmap: safe → violation:uaf"`. */
export function differences(baseline: Outcomes, mutant: Outcomes): string[] {
  const out: string[] = [];
  for (const [pair, outcome] of baseline) {
    const now = mutant.get(pair);
    if (now !== outcome) out.push(`${pair}: ${outcome} → ${now ?? "(missing)"}`);
  }
  for (const pair of mutant.keys()) if (!baseline.has(pair)) out.push(`${pair}: (new pair)`);
  return out;
}

/** How a mutant fared. */
export type Status = "killed" | "timeout" | "survived" | "invalid";

/** One mutant's result. */
export interface MutantResult {
  readonly mutant: Mutant;
  readonly status: Status;
  /** Why: the pairs that differ, the failure, the timeout, or the type error. */
  readonly reason: string;
  /** Every pair that differs (killed mutants). */
  readonly differences: readonly string[];
  readonly millis: number;
}

/** Options of {@linkcode runMutants}. */
export interface RunOptions {
  readonly files: Snapshot;
  readonly mutants: readonly Mutant[];
  /** Mutants run at once, each in its own copy. */
  readonly workers: number;
  /** Wall-clock limit of one mutant's matrix run. */
  readonly timeoutSeconds: number;
  /** Told once the unmutated matrix has run. */
  readonly onBaseline?: (outcomes: Outcomes, millis: number) => void;
  /** Told of each mutant as it finishes: its index in `mutants` and its result. */
  readonly onResult?: (index: number, result: MutantResult) => void;
}

/** What a whole run gave. */
export interface RunReport {
  readonly baseline: Outcomes;
  readonly baselineMillis: number;
  /** In the order of `mutants`. */
  readonly results: readonly MutantResult[];
}

/** The directories made so far, removed by {@linkcode cleanUp} (also on Ctrl-C). */
const made = new Set<string>();

/** Removes every temporary copy this process made. */
export async function cleanUp(): Promise<void> {
  for (const dir of made) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    made.delete(dir);
  }
}

async function runOne(
  dir: string,
  files: Snapshot,
  mutant: Mutant,
  baseline: Outcomes,
  timeoutMs: number,
): Promise<MutantResult> {
  const start = performance.now();
  const path = `${dir}/${mutant.file}`;
  const original = files.get(mutant.file);
  if (!original) throw new Error(`${mutant.file} is not in the snapshot`);
  const result = (status: Status, reason: string, diffs: readonly string[] = []) => ({
    mutant,
    status,
    reason,
    differences: diffs,
    millis: performance.now() - start,
  });
  await Deno.writeFile(path, encoder.encode(applyMutant(decoder.decode(original), mutant)));
  try {
    const error = mutant.typeCheck ? await typeCheck(dir, mutant.file, timeoutMs) : undefined;
    if (error) return result("invalid", error);
    const run = await runMatrix(dir, timeoutMs);
    if (run.kind === "timeout") {
      return result("timeout", `matrix still running after ${timeoutMs / 1000} s`);
    }
    if (run.kind === "failed") return result("killed", run.message);
    const diffs = differences(baseline, run.outcomes);
    if (!diffs.length) return result("survived", "every pair's outcome is unchanged");
    return result(
      "killed",
      diffs[0] + (diffs.length > 1 ? ` (+${diffs.length - 1} more)` : ""),
      diffs,
    );
  } finally {
    await Deno.writeFile(path, original);
  }
}

/**
 * Runs the unmutated matrix, then every mutant, `workers` at a time, each worker in
 * its own copy of the snapshot.
 */
export async function runMutants(options: RunOptions): Promise<RunReport> {
  const workers = Math.max(1, Math.min(options.workers, options.mutants.length || 1));
  const timeoutMs = options.timeoutSeconds * 1000;
  const dirs: string[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      const dir = await materialize(options.files);
      made.add(dir);
      dirs.push(dir);
    }
    // The baseline gets a longer limit: it must finish for anything to be compared.
    const base = await runMatrix(dirs[0], Math.max(timeoutMs, 600_000));
    if (base.kind !== "ok") {
      throw new Error(
        `the unmutated matrix did not run: ${base.kind === "timeout" ? "timed out" : base.message}`,
      );
    }
    options.onBaseline?.(base.outcomes, base.millis);
    const results: MutantResult[] = new Array(options.mutants.length);
    let next = 0;
    await Promise.all(dirs.map(async (dir) => {
      while (next < options.mutants.length) {
        const index = next++;
        const r = await runOne(
          dir,
          options.files,
          options.mutants[index],
          base.outcomes,
          timeoutMs,
        );
        results[index] = r;
        options.onResult?.(index, r);
      }
    }));
    return { baseline: base.outcomes, baselineMillis: base.millis, results };
  } finally {
    for (const dir of dirs) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      made.delete(dir);
    }
  }
}
