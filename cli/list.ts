/**
 * `list`: the strategies and the scenarios, one line each, in the order the matrix
 * shows them.
 *
 * @module
 */

import { type Scenario, scenarios, strategies, type Strategy } from "../mod.ts";
import { type Command, command, EXIT } from "./args.ts";
import { CLI } from "./format.ts";

const USAGE = `Usage: ${CLI} list

Lists the strategies (name, title: what the design does) and the scenarios (name,
the question each asks), in matrix order.

  -h, --help   this text

Exit status: 0, or 2 for bad usage.`;

/** The listing. */
export function formatList(
  strats: readonly Strategy[] = strategies,
  scens: readonly Scenario[] = scenarios,
): string {
  const width = Math.max(...[...strats, ...scens].map((x) => x.name.length));
  return [
    `strategies (${strats.length}):`,
    ...strats.map((s) => `  ${s.name.padEnd(width)}  ${s.title}: ${s.summary}`),
    "",
    `scenarios (${scens.length}):`,
    ...scens.map((w) => `  ${w.name.padEnd(width)}  ${w.question}`),
  ].join("\n") + "\n";
}

/** `list`. */
export const listCommand: Command = command({
  name: "list",
  summary: "the strategies and scenarios, one line each",
  usage: USAGE,
  flags: {},
  run(_parsed, io) {
    io.out(formatList());
    return EXIT.ok;
  },
});
