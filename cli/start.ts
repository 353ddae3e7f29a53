/**
 * The main job, run when no command is given (`./faultline`): the whole verdict
 * matrix, printed as `matrix` prints it, then the static site built from the same
 * cells (the notes run as the site shows them, their blocks taking the pairs the
 * matrix just recorded in the results store, `.faultline/results/`, instead of
 * exploring them again); the last line printed is the path of the site's `index.html`.
 *
 * @module
 */

import { resolve } from "node:path";
import type { BuildOptions, BuildResult } from "../site/build.ts";
import { EXIT, searchOf } from "./args.ts";
import { plural } from "./format.ts";
import type { Io } from "./io.ts";
import { exploreMatrix, formatMatrix, matrixExit } from "./matrix.ts";
import { recordedConfigOutcomes, recordedCounts } from "../site/recorded_counts.ts";

/** The site builder's signature: `buildSite` of `site/build.ts`. */
export type BuildSite = (options?: BuildOptions) => Promise<BuildResult>;

/**
 * The site builder, loaded only when the main job runs, so that `explore`, `replay`
 * and the rest never load the site's npm packages.
 */
export async function loadBuildSite(): Promise<BuildSite> {
  try {
    return (await import("../site/build.ts")).buildSite;
  } catch (e) {
    throw new Error(`cannot load the site builder (site/build.ts): ${e}`, { cause: e });
  }
}

/** Options of {@linkcode runStart}, for tests. */
export interface StartOptions {
  /** Seconds each pair may run before it is stopped (default: the pool's, 600). */
  readonly timeLimitSeconds?: number;
  /** Limit each pair's search; default exhaustive. */
  readonly budget?: number;
  /** The site builder; default the one of `site/build.ts`. */
  readonly buildSite?: BuildSite;
  /** Where the site goes; default the builder's (`_site/`). */
  readonly outDir?: string;
}

/**
 * Runs the matrix, prints it, builds the site, prints index.html's path last. Exit 0
 * when every verdict is as declared and every note passed, else 1.
 */
export async function runStart(io: Io, options: StartOptions = {}): Promise<number> {
  const search = searchOf(options.budget !== undefined ? { budget: String(options.budget) } : {});
  // Loaded first: a builder that does not load fails before the matrix, not after.
  const buildSite = options.buildSite ?? await loadBuildSite();
  const { cells, millis } = await exploreMatrix(io, search, options.timeLimitSeconds);
  io.out(formatMatrix(cells, millis, recordedCounts(), recordedConfigOutcomes()));
  io.err("building the site (the notes take the matrix's pairs from .faultline/results/)…\n");
  const site = await buildSite({
    matrix: cells,
    // The main job reports failing notes itself (and exits 1); the site shows them.
    allowFailingNotes: true,
    log: (line) => io.err(`${line}\n`),
    ...(options.outDir !== undefined ? { outDir: options.outDir } : {}),
  });
  const index = resolve(site.outDir, "index.html");
  try {
    await Deno.stat(index);
  } catch {
    throw new Error(`the site build wrote no ${index}`);
  }
  const failed = site.notes.filter((n) => !n.passed).map((n) => n.page.path);
  io.out(
    `\nsite: ${plural(site.pages.length, "page")}, ` +
      `${site.notes.length - failed.length} of ${plural(site.notes.length, "note")} passed` +
      (failed.length ? ` (failed: ${failed.join(", ")})` : "") +
      `${site.warnings.length ? `, ${plural(site.warnings.length, "warning")}` : ""}\n` +
      `${index}\n`,
  );
  return matrixExit(cells) === EXIT.ok && failed.length === 0 ? EXIT.ok : EXIT.unexpected;
}
