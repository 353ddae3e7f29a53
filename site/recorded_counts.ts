/**
 * The execution counts `deno task bless` recorded (tests/explored_counts.json), which the
 * site's and the CLI's matrices compare a run with, so that a reviewer sees which counts
 * a change moved. A file of its own so that the CLI can read it without loading the
 * site build (which it imports lazily).
 *
 * @module
 */

/** `strategy/scenario` → executions, or none where the file is not there (an installed copy). */
export function recordedCounts(): Record<string, number> {
  try {
    return JSON.parse(
      Deno.readTextFileSync(new URL("../tests/explored_counts.json", import.meta.url)),
    );
  } catch {
    return {};
  }
}
