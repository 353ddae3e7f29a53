/**
 * The command line: the commands, the top-level help, and {@linkcode main}, which
 * picks the command named by the first argument, runs it, and turns what went wrong
 * into an exit code (2 for bad usage, with what is wrong and where to read more).
 *
 * @module
 */

import { closest } from "../mod.ts";
import { type Command, EXIT, UsageError } from "./args.ts";
import { exploreCommand } from "./explore.ts";
import { CLI } from "./format.ts";
import type { Io } from "./io.ts";
import { listCommand } from "./list.ts";
import { matrixCommand } from "./matrix.ts";
import { replayCommand } from "./replay.ts";
import { runStart } from "./start.ts";

export type { Command } from "./args.ts";
export { EXIT, UsageError } from "./args.ts";
export { denoIo, type Io, type MemoryIo, memoryIo } from "./io.ts";

/** Every command, in the order the help lists them. */
export const commands: readonly Command[] = [
  exploreCommand,
  replayCommand,
  matrixCommand,
  listCommand,
];

/** The top-level help. */
export const USAGE = `faultline: Linux page-fault locking strategies, checked against races

Usage: ${CLI} [COMMAND] [flags]

The wrapper at the repository root runs main.ts with the Deno pinned in
tools/package.json, installed from npm under tools/ the first time
(\`tools/node_modules/.bin/deno task cli ...\` runs the same).

With no command: the main job. Explores the whole verdict matrix, prints it as
\`matrix\` does, builds the static site, and prints the path of the site's
index.html as the last line.

Commands:
${commands.map((c) => `  ${c.name.padEnd(8)}  ${c.summary}`).join("\n")}
  help      this text, or a command's: help explore (same as explore --help)

Exit status, for every command:
  0  every verdict is what the strategies declare
  1  a verdict differs from what the strategy declares for that scenario; a search
     that stopped before it was exhaustive and found nothing has the verdict
     "not-exhaustive", never "safe", which differs from any declaration: it has
     neither shown safety nor found the declared violation. For the main job, also
     a design note whose blocks fail
  2  bad usage: unknown command, flag, strategy or scenario (with the closest valid
     names), a bad value, or a bad replay token
  3  faultline itself failed (an internal error, or the site build), or
     the wrapper (${CLI}) could not install Deno

Example:
  ${CLI} explore --strategy rcu-gfp-nowait --scenario fault-vs-munmap`;

/** The command called `name`, or a usage error naming the closest. */
function commandNamed(name: string): Command {
  const found = commands.find((c) => c.name === name);
  if (found) return found;
  const near = closest(name, [...commands.map((c) => c.name), "help"]);
  throw new UsageError(
    `unknown command "${name}"${
      near.length ? `; did you mean ${near.map((n) => `"${n}"`).join(" or ")}?` : ""
    } (commands: ${[...commands.map((c) => c.name), "help"].join(", ")})`,
  );
}

async function dispatch(args: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) return await runStart(io);
  if (first === "--help" || first === "-h") {
    io.out(USAGE + "\n");
    return EXIT.ok;
  }
  if (first.startsWith("-")) {
    throw new UsageError(`unknown flag ${first}: the main job takes none; commands come first`);
  }
  if (first === "help") {
    const topics = rest.filter((a) => a !== "--help" && a !== "-h");
    if (topics.length > 1) {
      throw new UsageError(`help takes one command, not "${topics.join(" ")}"`);
    }
    io.out((topics.length ? commandNamed(topics[0]).usage : USAGE) + "\n");
    return EXIT.ok;
  }
  return await commandNamed(first).run(rest, io);
}

/** Runs the command line `args` (without the program name); returns the exit code. */
export async function main(args: readonly string[], io: Io): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (e) {
    const name = args[0] !== undefined && commands.some((c) => c.name === args[0])
      ? args[0]
      : undefined;
    if (e instanceof UsageError) {
      io.err(
        `faultline${name ? ` ${name}` : ""}: ${e.message}\n` +
          `Run '${CLI} ${name ? `${name} ` : ""}--help' for usage.\n`,
      );
      return EXIT.usage;
    }
    io.err(`faultline: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EXIT.internal;
  }
}
