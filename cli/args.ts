/**
 * Argument parsing for every command: flags declared per command and read with
 * `node:util` `parseArgs`, checked strictly (unknown flags, missing values, repeats and
 * stray arguments are usage errors that say what is wrong), the search flags
 * `explore` and `matrix` share, and strategy and scenario names with the closest valid
 * names when one is wrong.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  closest,
  type ExploreOptions,
  type Mode,
  MODES,
  type Scenario,
  scenarioNamed,
  type Strategy,
  strategyNamed,
} from "../mod.ts";
import type { Io } from "./io.ts";

/** One subcommand. */
export interface Command {
  readonly name: string;
  /** One line, for the list of commands. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly usage: string;
  /** Runs the command on the arguments after its name; returns the exit code. */
  run(args: readonly string[], io: Io): number | Promise<number>;
}

/** What a command declares; {@linkcode command} makes it a {@linkcode Command}. */
export interface CommandSpec<S extends FlagSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: S;
  /** How many plain arguments the command takes. Default 0. */
  readonly maxPositionals?: number;
  /** Runs the command on its parsed arguments; returns the exit code. */
  run(
    parsed: { readonly flags: Flags<S>; readonly positionals: readonly string[] },
    io: Io,
  ): number | Promise<number>;
}

/** A command that parses its flags strictly and answers `--help`/`-h` with its usage. */
export function command<S extends FlagSpecs>(spec: CommandSpec<S>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    run(args, io) {
      const parsed = parseFlags(args, spec.flags, spec.maxPositionals ?? 0);
      if (parsed.help) {
        io.out(spec.usage + "\n");
        return EXIT.ok;
      }
      return spec.run(parsed, io);
    },
  };
}

/** Exit codes, the same for every command. */
export const EXIT = {
  /** Every verdict is what the strategies declare. */
  ok: 0,
  /** A verdict differs from what the strategy declares. */
  unexpected: 1,
  /** Bad usage: unknown command, flag, name or value, or a bad token. */
  usage: 2,
  /** faultline itself failed. */
  internal: 3,
} as const;

/** Bad usage: the message says what is wrong; the exit code is 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** How one flag is written. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
}

/** The flags a command accepts, by long name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** Parsed flags: a string for a string flag, `true` for a boolean one, absent if not given. */
export type Flags<S extends FlagSpecs> = {
  -readonly [K in keyof S]?: S[K]["type"] extends "string" ? string : true;
};

/** What {@linkcode parseFlags} found. */
export interface Parsed<S extends FlagSpecs> {
  readonly flags: Flags<S>;
  readonly positionals: readonly string[];
  /** `--help` or `-h` was given (it wins over every other problem). */
  readonly help: boolean;
}

/**
 * Parses `args` against `specs`; `--help`/`-h` is always accepted. At most
 * `maxPositionals` plain arguments are allowed.
 */
export function parseFlags<S extends FlagSpecs>(
  args: readonly string[],
  specs: S,
  maxPositionals = 0,
): Parsed<S> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, spec] of Object.entries(specs)) options[name] = { ...spec };
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  if (tokens.some((t) => t.kind === "option" && t.name === "help")) {
    return { flags: {}, positionals: [], help: true };
  }
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  const known = Object.keys(specs).map((n) => `--${n}`);
  for (const t of tokens) {
    if (t.kind === "positional") {
      if (positionals.length >= maxPositionals) {
        throw new UsageError(`unexpected argument "${t.value}"`);
      }
      positionals.push(t.value);
    } else if (t.kind === "option") {
      const spec = specs[t.name];
      if (!spec) {
        const near = closest(t.rawName, known);
        throw new UsageError(
          `unknown flag ${t.rawName}${near.length ? `; did you mean ${near.join(" or ")}?` : ""}`,
        );
      }
      if (t.name in values) throw new UsageError(`${t.rawName} given twice`);
      if (spec.type === "string") {
        // A flag where the value should be (`--budget --json`) means the value is
        // missing; a negative number (`--budget -5`) is a value, and a bad one.
        if (
          t.value === undefined ||
          (!t.inlineValue && t.value.startsWith("-") && !/^-\d/.test(t.value))
        ) {
          throw new UsageError(`${t.rawName} needs a value`);
        }
        values[t.name] = t.value;
      } else {
        if (t.value !== undefined) throw new UsageError(`${t.rawName} takes no value`);
        values[t.name] = true;
      }
    }
  }
  return { flags: values as Flags<S>, positionals, help: false };
}

/** A whole number from a flag's text, at least `min`. */
export function integerFlag(flag: string, text: string, min: number): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    const what = min === 1
      ? "a positive integer"
      : min === 0
      ? "an integer, 0 or more"
      : `an integer, at least ${min}`;
    throw new UsageError(`--${flag} must be ${what}, not "${text}"`);
  }
  return n;
}

/** The strategy called `name`, or a usage error with the closest names. */
export function strategyArg(name: string | undefined): Strategy {
  if (name === undefined) throw new UsageError("--strategy is required (see `list`)");
  return asUsage(RangeError, () => strategyNamed(name));
}

/** The scenario called `name`, or a usage error with the closest names. */
export function scenarioArg(name: string | undefined): Scenario {
  if (name === undefined) throw new UsageError("--scenario is required (see `list`)");
  return asUsage(RangeError, () => scenarioNamed(name));
}

/** `run()`, with an error of class `kind` (a bad name, a bad token) as a usage error. */
export function asUsage<T>(kind: new (message?: string) => Error, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof kind) throw new UsageError(e.message);
    throw e;
  }
}

/** The flags that choose how to search, shared by `explore` and `matrix`. */
export const SEARCH_FLAGS = {
  mode: { type: "string" },
  budget: { type: "string" },
  seed: { type: "string" },
  preemptions: { type: "string" },
  depth: { type: "string" },
} as const satisfies FlagSpecs;

/** The `--help` lines of {@linkcode SEARCH_FLAGS}. */
export const SEARCH_HELP = `  --mode M         exhaustive (default: Optimal-DPOR, every trace once),
                   stateful (every reachable state once: a visited-state
                   table and sleep sets; slower than exhaustive on today's
                   scenarios, see the README's benchmarks),
                   dfs (every interleaving, no reduction: the reference),
                   bounded (0, 1, ... up to --preemptions preemptions: the first
                   counterexample has the fewest), pct (--budget PCT runs, bug
                   depth --depth, prints its probability bound), or random
                   (--budget random schedules, default 1000)
  --budget N       stop after N executions (per pair); the result then says
                   "not exhaustive" and is never called safe
  --seed N         random and pct modes: the seed (default 1)
  --preemptions K  bounded mode: the largest preemption bound (default 2)
  --depth D        pct mode: the bug depth (default 2)`;

/** A search, as the flags ask for it. */
export interface Search {
  readonly mode: Mode;
  /** Executions allowed per pair, if bounded (random mode always is). */
  readonly budget?: number;
  readonly preemptions?: number;
  readonly seed?: number;
  /** The options to pass to `check` or `runMatrix` (progress callbacks aside). */
  readonly options: ExploreOptions;
}

/** Reads the search flags; a flag that does not apply to the mode is a usage error. */
export function searchOf(flags: Flags<typeof SEARCH_FLAGS>): Search {
  const modeText = flags.mode ?? "exhaustive";
  const mode = MODES.find((m) => m === modeText);
  if (!mode) {
    const near = closest(modeText, MODES);
    throw new UsageError(
      `unknown mode "${modeText}"${near.length ? `; did you mean "${near[0]}"?` : ""} ` +
        `(modes: ${MODES.join(", ")})`,
    );
  }
  if (flags.seed !== undefined && mode !== "random" && mode !== "pct") {
    throw new UsageError("--seed applies to --mode random and --mode pct only");
  }
  if (flags.depth !== undefined && mode !== "pct") {
    throw new UsageError("--depth applies to --mode pct only");
  }
  const depth = flags.depth !== undefined ? integerFlag("depth", flags.depth, 1) : undefined;
  if (flags.preemptions !== undefined && mode !== "bounded") {
    throw new UsageError("--preemptions applies to --mode bounded only");
  }
  const budget = flags.budget !== undefined
    ? integerFlag("budget", flags.budget, 1)
    : mode === "random" || mode === "pct"
    ? 1000
    : undefined;
  const seed = flags.seed !== undefined ? integerFlag("seed", flags.seed, 0) : undefined;
  const preemptions = flags.preemptions !== undefined
    ? integerFlag("preemptions", flags.preemptions, 0)
    : mode === "bounded"
    ? 2
    : undefined;
  return {
    mode,
    ...(budget !== undefined ? { budget } : {}),
    ...(preemptions !== undefined ? { preemptions } : {}),
    ...(seed !== undefined ? { seed } : {}),
    options: {
      mode,
      ...(budget !== undefined ? { maxExecutions: budget } : {}),
      ...(preemptions !== undefined ? { preemptionBound: preemptions } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(depth !== undefined ? { depth } : {}),
    },
  };
}
