/**
 * Small text helpers the commands share: numbers, durations, plain tables, and the
 * command that replays a token.
 *
 * @module
 */

/** `75033` → `"75,033"`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `plural(1, "execution")` → `"1 execution"`, `plural(3, "execution")` → `"3 executions"`. */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** Milliseconds for people: `"12 ms"`, `"3.4 s"`, `"2 min 5 s"`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * `text` as a live status line: back to the line's start and erase it, then the text,
 * cut to end in "…" where it would fill a terminal `columns` wide (when that is known
 * and at least 20).
 */
export function liveLine(text: string, columns: number | undefined): string {
  const fitted = columns !== undefined && columns >= 20 && text.length >= columns
    ? text.slice(0, Math.max(0, columns - 2)) + "…"
    : text;
  return `\r\x1b[K${fitted}`;
}

/** An outcome without the `violation:` prefix: `"stale-pte"`, `"safe"`, `"error:exception"`. */
export function outcomeWord(outcome: string): string {
  return outcome.startsWith("violation:") ? outcome.slice("violation:".length) : outcome;
}

/**
 * How the command line is run, in every hint, example and replay line it prints: the
 * executable wrapper at the repository root, which works right after a clone (it
 * installs Deno from npm under `tools/` when it is missing). A bare `deno task cli`
 * would not: the README's set-up puts no `deno` on PATH.
 */
export const CLI = "./faultline";

/** The shell command that replays `token` (quoted: a schedule contains `*`). */
export function replayCommandLine(token: string): string {
  return `${CLI} replay '${token}'`;
}

/** A plain-text table: a header row, a rule, then the rows, columns padded to fit. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => c.padEnd(widths[i])).join(" | ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("-+-"), ...rows.map(line)].join(
    "\n",
  );
}
