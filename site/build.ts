/**
 * Builds the static site (`deno task site`): runs every note in `docs/` with the note
 * runner and the whole verdict matrix, each registered pair taken from the results
 * store (`results_store.ts`) when it holds one for these sources (the notes' blocks
 * record the pairs they explore, the matrix the rest), then writes the landing page, the matrix page,
 * one page per note (each code block marked with its outcome), one trace page per
 * counterexample, and the CSS and JS they use, into `_site/`. Everything is local: the
 * site works from disk, offline.
 *
 * A note that fails stops the build (`deno task site` exits 1, before the matrix runs
 * and before anything is written): the site publishes the notes as checked, so a
 * failing one must not go out unnoticed. `--allow-failing-notes` builds anyway and
 * says on every page which notes failed. An empty note is an error naming its file.
 *
 *     deno task site [--allow-failing-notes] [--docs DIR] [--out DIR]
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type MatrixCell, runMatrixInWorkers, scenarios, strategies, type Trace } from "../mod.ts";
import { type BlockOutcome, type DocOutcome, parseDoc, ROOT, runDocs } from "../literate/mod.ts";
import {
  type BlockView,
  indexPage,
  markup,
  type MatrixInput,
  matrixPage,
  type NavNote,
  type NoteInput,
  notePage,
  renderNote,
  type SiteContext,
} from "./render.ts";
import { type Fact, shellQuote, tracePage, type TracePageInput } from "./trace_view.ts";
import { recordedConfigOutcomes, recordedCounts } from "./recorded_counts.ts";
import { PLAYGROUND_PATH } from "./playground.ts";
import { writePlayground } from "./playground_bundle.ts";

/** Options of {@linkcode buildSite}. */
export interface BuildOptions {
  /** Where the site goes. Default: `_site/` at the repository root. */
  readonly outDir?: string;
  /** Where the notes are (`*.md`, not recursive). Default: `docs/` at the repository root. */
  readonly docsDir?: string;
  /** The matrix to show, instead of running it (the main job passes the one it printed). */
  readonly matrix?: readonly MatrixCell[];
  /** Progress lines (the command line prints them on stderr). */
  readonly log?: (line: string) => void;
  /**
   * Build even when a note fails, and say so on every page. Default false: a failing
   * note throws {@linkcode FailingNotes} before the matrix runs and before anything is
   * written.
   */
  readonly allowFailingNotes?: boolean;
}

/** A note without content: a mistake (a file created and forgotten), not a page. */
export class EmptyNote extends Error {
  constructor(readonly path: string) {
    super(`${path}: the note is empty (a note needs at least a "# Title" line)`);
    this.name = "EmptyNote";
  }
}

/** The notes failed, and the build was not allowed to go on with them. */
export class FailingNotes extends Error {
  /** The failing notes' paths. */
  readonly paths: readonly string[];
  constructor(paths: readonly string[]) {
    super(
      `${paths.length === 1 ? "a note fails" : `${paths.length} notes fail`}: ${
        paths.join(", ")
      }; the site is not built (run their tests: deno task test:notes; ` +
        `or build anyway with --allow-failing-notes)`,
    );
    this.name = "FailingNotes";
    this.paths = paths;
  }
}

/** What {@linkcode buildSite} wrote. */
export interface BuildResult {
  /** Absolute path of the site. */
  readonly outDir: string;
  /** The HTML pages written, relative to `outDir` (`index.html`, `notes/model.html`...). */
  readonly pages: string[];
  /** What the reader would trip on: links to missing notes, blocks without an outcome. */
  readonly warnings: string[];
  /** The outcome of every note, as the pages show it. */
  readonly notes: readonly DocOutcome[];
}

const ROOT_DIR = fileURLToPath(ROOT);
const ASSETS = ["site.css", "trace.js", "playground.js", "playground.css"];
/** What a build owns inside outDir; only these are removed before writing. */
const OWNED = [
  "index.html",
  "matrix.html",
  PLAYGROUND_PATH,
  "notes",
  "traces",
  "assets",
  ".nojekyll",
];

/** A file-name-safe form of a name. */
function fileSlug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

/** Identity of a trace, to give one page to a trace shown in several places. */
function traceKey(kind: string, schedule: string, trace: Trace): string {
  return JSON.stringify([kind, schedule, trace]);
}

/** The notes of `docsDir`, parsed, with paths relative to the repository when inside it. */
async function readNotes(docsDir: string) {
  const files: string[] = [];
  for await (const e of Deno.readDir(docsDir)) {
    if (e.isFile && e.name.endsWith(".md")) files.push(e.name);
  }
  files.sort();
  return await Promise.all(files.map(async (name) => {
    const full = join(docsDir, name);
    const rel = relative(ROOT_DIR, full);
    const path = rel.startsWith("..") || isAbsolute(rel) ? full : rel;
    const text = await Deno.readTextFile(full);
    // An empty note would become a page without a title or a word: a mistake, not a note.
    if (text.trim() === "") throw new EmptyNote(path);
    return { name, page: parseDoc(text, path) };
  }));
}

/** Reading order: the index note, then the notes in the order it links them, then the rest. */
function readingOrder(names: readonly string[], indexMarkdown: string | undefined): string[] {
  const order: string[] = names.includes("index.md") ? ["index.md"] : [];
  for (const m of (indexMarkdown ?? "").matchAll(/\]\(([^)\s/#]+\.md)(?:#[^)]*)?\)/g)) {
    if (names.includes(m[1]) && !order.includes(m[1])) order.push(m[1]);
  }
  for (const n of names) if (!order.includes(n)) order.push(n);
  return order;
}

interface TraceEntry {
  input: Omit<TracePageInput, "shownIn">;
  shownIn: { label: string; href: string }[];
}

function matrixTraceInput(
  cell: MatrixCell,
  path: string,
  noteOf: (s: string) => string | undefined,
): TraceEntry {
  const ce = cell.counterexample!;
  const note = noteOf(cell.strategy);
  const question = scenarios.find((w) => w.name === cell.scenario)?.question;
  const facts: Fact[] = [
    {
      label: "strategy",
      value: note
        ? markup`<a href="../${note}"><code>${cell.strategy}</code></a>`
        : markup`<code>${cell.strategy}</code>`,
    },
    {
      label: "scenario",
      value: markup`<code>${cell.scenario}</code>${question && markup` — ${question}`}`,
    },
    { label: "executions", value: cell.executions.toLocaleString("en-US") },
    { label: "search", value: cell.exhaustive ? "exhaustive" : "not exhaustive" },
    {
      label: "declared",
      value: `${cell.expected}${cell.asExpected ? " (as found)" : " (NOT what was found)"}`,
    },
  ];
  return {
    input: {
      path,
      title: `${cell.strategy} × ${cell.scenario}`,
      kind: ce.kind,
      message: ce.message,
      trace: ce.trace,
      schedule: ce.schedule,
      preemptions: ce.preemptions,
      ...(cell.token ? { token: cell.token } : {}),
      facts,
    },
    shownIn: [{ label: "the verdict matrix", href: "matrix.html" }],
  };
}

function blockView(o: BlockOutcome, traceHref: string | undefined): BlockView {
  const e = o.exploration;
  return {
    status: o.status,
    message: o.message,
    durationMs: o.durationMs,
    ...(e
      ? {
        exploration: {
          verdict: e.verdict,
          ...(e.kind ? { kind: e.kind } : {}),
          executions: e.executions,
          exhaustive: e.exhaustive,
        },
      }
      : {}),
    ...(traceHref ? { traceHref } : {}),
  };
}

async function writePage(outDir: string, path: string, text: string, pages: string[]) {
  const full = join(outDir, path);
  await Deno.mkdir(dirname(full), { recursive: true });
  await Deno.writeTextFile(full, text);
  pages.push(path);
}

async function copyDir(from: string, to: string) {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(from));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  await Deno.mkdir(to, { recursive: true });
  for (const e of entries) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/**
 * Runs the notes and the matrix and writes the site. Returns where it is and what it
 * holds; a note that fails does not stop the build, its page shows the failure.
 */
export async function buildSite(options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const outDir = resolve(options.outDir ?? join(ROOT_DIR, "_site"));
  const docsDir = resolve(options.docsDir ?? join(ROOT_DIR, "docs"));
  const warnings: string[] = [];

  // The notes, run.
  let t = performance.now();
  const notes = await readNotes(docsDir);
  // A directory of its own for the notes' generated modules, so that two builds at once
  // (the tests, `deno task site`) do not overwrite each other's.
  const work = join(ROOT_DIR, ".faultline");
  await Deno.mkdir(work, { recursive: true });
  const workDir = await Deno.makeTempDir({ dir: work, prefix: "site-docs-" });
  let outcomes: DocOutcome[];
  try {
    outcomes = await runDocs(notes.map((n) => n.page), {
      outDir: pathToFileURL(workDir + "/"),
      // What the matrix explored (the main job's, just now, or an earlier build's for
      // the same sources), the notes' blocks take instead of exploring it again.
      reuseResults: true,
    });
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
  const failedBlocks =
    outcomes.flatMap((o) => o.blocks).filter((b) => b.status === "failed" || b.status === "skipped")
      .length;
  log(
    `notes: ${notes.length} run in ${Math.round(performance.now() - t)} ms` +
      (failedBlocks ? `, ${failedBlocks} blocks failed or skipped` : ""),
  );
  const failing = outcomes.filter((o) => !o.passed);
  if (failing.length > 0 && !options.allowFailingNotes) {
    throw new FailingNotes(failing.map((o) => o.page.path));
  }

  // The matrix, in workers (a pair stuck in a loop is stopped and shown as an error),
  // each pair taken from the results store when it holds one for these sources.
  t = performance.now();
  let reused = 0;
  const cells = options.matrix ?? await runMatrixInWorkers({
    results: "reuse",
    onPair: (s, w, i, n) => log(`matrix: ${i + 1}/${n} ${s} × ${w}`),
    onPairDone: (_, r) => void (r.reused && reused++),
  });
  if (!options.matrix) {
    log(
      `matrix: ${cells.length} pairs in ${Math.round(performance.now() - t)} ms` +
        (reused ? ` (${reused} from the results store, .faultline/results/)` : ""),
    );
  }

  // Names and links.
  const order = readingOrder(
    notes.map((n) => n.name),
    notes.find((n) => n.name === "index.md")?.page.markdown,
  );
  const noteHref = new Map(
    notes.map((n) => [n.name, `notes/${fileSlug(basename(n.name, ".md"))}.html`]),
  );
  // The index note's own title is the project's name, which the top bar already shows.
  const titleOf = (name: string) =>
    name === "index.md" ? "Introduction" : notes.find((n) => n.name === name)!.page.title;
  const nav: NavNote[] = order.map((name) => ({ href: noteHref.get(name)!, title: titleOf(name) }));
  // With --allow-failing-notes: the failing notes, named at the top of every page.
  const failingNames = new Set(notes.filter((_, i) => !outcomes[i].passed).map((n) => n.name));
  const failingNav = nav.filter((_, i) => failingNames.has(order[i]));
  const ctx: SiteContext = {
    notes: nav,
    builtAt: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    ...(failingNav.length > 0 ? { failingNotes: failingNav } : {}),
  };
  const noteOf = (strategy: string) => noteHref.get(`${strategy}.md`);

  // Trace pages: one per distinct counterexample, of the matrix or of a note's block.
  const traces = new Map<string, TraceEntry>();
  const usedPaths = new Set<string>();
  const uniquePath = (stem: string) => {
    let path = `traces/${stem}.html`;
    for (let n = 2; usedPaths.has(path); n++) path = `traces/${stem}-${n}.html`;
    usedPaths.add(path);
    return path;
  };
  const cellTrace = new Map<object, string>();
  for (const cell of cells) {
    const ce = cell.counterexample;
    // A pair stopped at its time limit has no trace to show: its cell says why.
    if (!ce || ce.trace.steps.length === 0) continue;
    const key = traceKey(ce.kind, ce.schedule, ce.trace);
    let entry = traces.get(key);
    if (!entry) {
      entry = matrixTraceInput(
        cell,
        uniquePath(`${fileSlug(cell.strategy)}.${fileSlug(cell.scenario)}`),
        noteOf,
      );
      traces.set(key, entry);
    }
    cellTrace.set(cell, entry.input.path);
  }
  const views = new Map<string, Map<string, BlockView>>();
  for (const [i, outcome] of outcomes.entries()) {
    const note = notes[i];
    const href = noteHref.get(note.name)!;
    const title = titleOf(note.name);
    const map = new Map<string, BlockView>();
    for (const o of outcome.blocks) {
      const e = o.exploration;
      let traceHref: string | undefined;
      if (e?.trace && e.kind && e.schedule !== undefined) {
        const key = traceKey(e.kind, e.schedule, e.trace);
        let entry = traces.get(key);
        const block = outcome.page.blocks.find((b) => b.id === o.id);
        if (!entry) {
          entry = {
            input: {
              path: uniquePath(`note-${fileSlug(basename(note.name, ".md"))}.${fileSlug(o.id)}`),
              title: `${title}, line ${o.line}`,
              kind: e.kind,
              message: e.message ?? "",
              trace: e.trace,
              schedule: e.schedule,
              rerun: {
                command: `deno task test:notes --filter ${shellQuote(outcome.page.path)}`,
                why:
                  `This trace comes from a program written in the note itself (${outcome.page.path}, line ${o.line}), not from a strategy × scenario pair, so it has no replay token; the note's test runs it again.`,
              },
              facts: [
                { label: "note", value: markup`<a href="../${href}">${title}</a>` },
                { label: "executions", value: e.executions.toLocaleString("en-US") },
                { label: "search", value: e.exhaustive ? "exhaustive" : "not exhaustive" },
              ],
            },
            shownIn: [],
          };
          traces.set(key, entry);
        }
        const label = `${title}${block?.heading ? ` (“${block.heading}”)` : ""}`;
        entry.shownIn.push({ label, href: `${href}#block-${o.id}` });
        traceHref = entry.input.path;
      }
      map.set(o.id, blockView(o, traceHref));
    }
    views.set(note.name, map);
  }

  // Write.
  await Deno.mkdir(outDir, { recursive: true });
  for (const name of OWNED) {
    await Deno.remove(join(outDir, name), { recursive: true }).catch(() => {});
  }
  const pages: string[] = [];
  const links = new Map([...noteHref]);
  for (const [i, note] of notes.entries()) {
    const input: NoteInput = {
      page: note.page,
      path: noteHref.get(note.name)!,
      blocks: views.get(note.name)!,
      problems: outcomes[i].problems,
      links,
    };
    const rendered = renderNote(input);
    for (const id of rendered.unmatched) {
      warnings.push(`${note.page.path}: block ${id} was not found in the rendered Markdown`);
    }
    for (const l of new Set(rendered.brokenLinks)) {
      warnings.push(`${note.page.path}: links to ${l}, which is not a note`);
    }
    await writePage(outDir, input.path, notePage(ctx, input, rendered), pages);
  }
  for (const entry of traces.values()) {
    await writePage(
      outDir,
      entry.input.path,
      tracePage(ctx, { ...entry.input, shownIn: entry.shownIn }),
      pages,
    );
  }
  const matrix: MatrixInput = {
    cells,
    strategies,
    scenarios,
    traceOf: (c) => cellTrace.get(c),
    noteOf,
    recorded: recordedCounts(),
    configOutcomes: recordedConfigOutcomes(),
  };
  await writePage(outDir, "matrix.html", matrixPage(ctx, matrix), pages);
  await writePage(outDir, "index.html", indexPage(ctx, matrix), pages);
  await Deno.mkdir(join(outDir, "assets"), { recursive: true });
  for (const a of ASSETS) {
    await Deno.copyFile(new URL(`./assets/${a}`, import.meta.url), join(outDir, "assets", a));
  }
  // The playground: the core bundled for the browser, TypeScript's transpiler, the page.
  t = performance.now();
  const playground = await writePlayground(ROOT_DIR, outDir, ctx, strategies, scenarios);
  pages.push(playground.page);
  log(
    `playground: ${
      playground.assets.map((a) => `${a.path} ${(a.bytes / 1024).toFixed(0)} KiB`).join(", ")
    } in ${Math.round(performance.now() - t)} ms`,
  );
  await copyDir(join(docsDir, "img"), join(outDir, "notes", "img"));
  await Deno.writeTextFile(join(outDir, ".nojekyll"), "");
  for (const w of warnings) log(`warning: ${w}`);
  return { outDir, pages: pages.sort(), warnings, notes: outcomes };
}

/**
 * `deno task site [--allow-failing-notes] [--docs DIR] [--out DIR]`: builds the site and
 * returns the exit code: 0 built, 1 a note fails or is empty (nothing written), 2 bad
 * usage.
 */
export async function siteMain(
  args: readonly string[],
  log: (line: string) => void = (line) => console.error(line),
  out: (line: string) => void = (line) => console.log(line),
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        "allow-failing-notes": { type: "boolean" },
        docs: { type: "string" },
        out: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    log(`site: ${e instanceof Error ? e.message : String(e)}`);
    log("usage: deno task site [--allow-failing-notes] [--docs DIR] [--out DIR]");
    return 2;
  }
  const started = performance.now();
  let result: BuildResult;
  try {
    result = await buildSite({
      log,
      allowFailingNotes: values["allow-failing-notes"] === true,
      ...(values.docs !== undefined ? { docsDir: values.docs } : {}),
      ...(values.out !== undefined ? { outDir: values.out } : {}),
    });
  } catch (e) {
    if (!(e instanceof FailingNotes || e instanceof EmptyNote)) throw e;
    log(`site: ${e.message}`);
    return 1;
  }
  const failed = result.notes.filter((n) => !n.passed).map((n) => n.page.path);
  log(
    `site: ${result.pages.length} pages in ${((performance.now() - started) / 1000).toFixed(1)} s` +
      (failed.length ? `, built with failing notes: ${failed.join(", ")}` : ""),
  );
  out(join(result.outDir, "index.html"));
  return 0;
}

if (import.meta.main) Deno.exit(await siteMain(Deno.args));
