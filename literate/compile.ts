/**
 * Compiling notes: each note becomes one TypeScript module under `.faultline/docs/` whose
 * blocks are the steps of an async generator (imports hoisted to the top), so that one
 * `next()` runs one block and all blocks share one scope. Every generated line remembers
 * its Markdown line, so diagnostics and stack traces point at the note. All modules are
 * type-checked by one `deno check`, which is far cheaper than one per note.
 *
 * @module
 */

import type { DocBlock, DocError, DocPage } from "./doc_page.ts";
import {
  findImports,
  lex,
  relativeSpecifier,
  resolveImport,
  stringValue,
  type Token,
} from "./imports.ts";
import { type CompiledDoc, ROOT, type RunOptions } from "./outcome.ts";

// ---------------------------------------------------------------------------------
// Generating the module of a note.

/** A generated line, with the Markdown line and the index of the block it came from. */
interface GenLine {
  readonly text: string;
  readonly md?: number;
  readonly block?: number;
}

/** Markdown line of an offset in a block's code. */
function mdLineOf(block: DocBlock, offset: number): number {
  let line = block.line + 1;
  for (let i = 0; i < offset; i++) if (block.code[i] === "\n") line++;
  return line;
}

/** Adds a problem to those of a block. */
function fileProblem(problems: Map<string, string[]>, block: DocBlock, message: string): void {
  problems.set(block.id, [...problems.get(block.id) ?? [], message]);
}

interface Generated {
  readonly lines: readonly GenLine[];
  readonly blockProblems: Map<string, string[]>;
}

/**
 * The module of a note: its imports hoisted, each block a step of `run()` that ends in
 * a `yield`, and what keeps a block out (it is incomplete, or imports what it may not).
 */
function generate(page: DocPage, runnable: readonly DocBlock[], root: URL, outDir: URL): Generated {
  const note = new URL(page.path, root);
  const blockProblems = new Map<string, string[]>();
  const problem = (block: DocBlock, message: string) => fileProblem(blockProblems, block, message);
  const head: GenLine[] = [];
  const body: GenLine[] = [];
  // Notes often repeat an import so that each block reads alone; in one module that would
  // be a duplicate declaration, so a binding already imported from the same module is
  // dropped. (Value imports subsume type-only ones, not the reverse.)
  const imported = new Map<string, boolean>();

  runnable.forEach((block, index) => {
    const { tokens, incomplete } = lex(block.code);
    if (incomplete) {
      problem(
        block,
        `${page.path}:${block.line}: the block has ${incomplete}; the blocks of a note share ` +
          `one scope, so each must be complete on its own`,
      );
      return;
    }
    const found = findImports(block.code, tokens);
    for (const p of found.problems) {
      problem(block, `${page.path}:${mdLineOf(block, p.offset)}: ${p.message}`);
    }
    const rewrite = (t: Token): string | undefined => {
      const r = resolveImport(stringValue(t), note, root);
      if ("error" in r) {
        problem(block, `${page.path}:${mdLineOf(block, t.start)}: ${r.error}`);
        return undefined;
      }
      return JSON.stringify(relativeSpecifier(outDir, r.url));
    };
    // Edits of the block's code, applied back to front: hoisted imports become blank
    // lines (so later lines keep their numbers), dynamic specifiers are rewritten.
    const edits: { start: number; end: number; text: string }[] = [];
    for (const s of found.statics) {
      const spec = rewrite(s.spec);
      const blank = block.code.slice(s.start, s.end).replace(/[^\n]/g, "");
      edits.push({ start: s.start, end: s.end, text: blank });
      if (spec === undefined) continue;
      const keep = s.bindings?.filter((b) => {
        const key = `${spec}\0${b.imported}\0${b.local}`;
        const seen = imported.get(key);
        if (seen === false || (seen === true && b.typeOnly)) return false;
        imported.set(key, b.typeOnly);
        return true;
      });
      let text: string;
      if (!s.bindings || keep?.length === s.bindings.length) {
        text = block.code.slice(s.start, s.spec.start) + spec + block.code.slice(s.spec.end, s.end);
      } else if (keep && keep.length > 0) {
        text = keep.map((b) => {
          const type = b.typeOnly ? "type " : "";
          const clause = b.imported === "default"
            ? `${type}${b.local}`
            : b.imported === "*"
            ? `${type}* as ${b.local}`
            : `{ ${type}${b.imported === b.local ? b.local : `${b.imported} as ${b.local}`} }`;
          return `import ${clause} from ${spec}${s.attributes};`;
        }).join(" ");
      } else continue;
      const first = mdLineOf(block, s.start);
      text.split("\n").forEach((t, k) => head.push({ text: t, md: first + k, block: index }));
    }
    for (const d of found.dynamics) {
      const spec = rewrite(d);
      if (spec !== undefined) edits.push({ start: d.start, end: d.end, text: spec });
    }
    let code = block.code;
    for (const e of edits.sort((a, b) => b.start - a.start)) {
      code = code.slice(0, e.start) + e.text + code.slice(e.end);
    }
    const lines = code.split("\n");
    body.push({ text: `// ${page.path}:${block.line}`, md: block.line, block: index });
    lines.forEach((text, k) => body.push({ text, md: block.line + 1 + k, block: index }));
    body.push({ text: `;yield ${index};`, md: block.line + lines.length + 1, block: index });
  });

  return {
    blockProblems,
    lines: [
      { text: `// Generated by literate/compile.ts from ${page.path}: edit the note, not this.` },
      { text: "// deno-lint-ignore-file" },
      ...head,
      { text: "export async function* run(): AsyncGenerator<number, void, undefined> {" },
      ...body,
      { text: "}" },
    ],
  };
}

/** Writes `text` to `url` unless the file already holds it. */
async function writeIfChanged(url: URL, text: string): Promise<void> {
  try {
    if (await Deno.readTextFile(url) === text) return;
  } catch {
    // not there yet
  }
  // Through a rename, so that a concurrent run never reads half a file.
  const tmp = new URL(`${url.href}.${Deno.pid}.tmp`);
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, url);
}

/** The generated module's file name: the note's path flattened. */
function moduleName(path: string): string {
  return `${path.replace(/[^A-Za-z0-9._-]+/g, "_")}.ts`;
}

// ---------------------------------------------------------------------------------
// Mapping generated lines back to the note.

/**
 * Replaces the locations in a note's generated module (`url`, `url:line`, `url:line:col`)
 * in `text`, a diagnostic or a stack trace, with the note's (`path:line:col`). A line
 * that no Markdown line produced (the generator's own) is given as the note alone.
 */
export function toNoteLocations(
  text: string,
  url: URL,
  path: string,
  lineMap: readonly (number | undefined)[],
): string {
  return text.replaceAll(
    new RegExp(`${escapeRegExp(url.href)}(?::(\\d+)(?::(\\d+))?)?`, "g"),
    (_, line?: string, col?: string) => {
      const md = line === undefined ? undefined : lineMap[Number(line) - 1];
      if (md === undefined) return path;
      return `${path}:${md}${col === undefined ? "" : `:${col}`}`;
    },
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---------------------------------------------------------------------------------
// Type checking.

/** A generated module on its way through the type check, and where its problems go. */
interface Checkable {
  readonly page: DocPage;
  readonly url: URL;
  readonly runnable: readonly DocBlock[];
  readonly lineMap: readonly (number | undefined)[];
  readonly blockOf: readonly (number | undefined)[];
  readonly blockProblems: Map<string, string[]>;
  readonly problems: DocError[];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Root deno.json settings that matter to type checking, for a config of our own. */
async function checkConfig(root: URL): Promise<Record<string, unknown>> {
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  } catch {
    // no (plain JSON) config: Deno's defaults
  }
  const imports: Record<string, string> = {};
  const raw = config.imports;
  if (raw && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) {
      if (typeof v === "string") imports[k] = v.startsWith(".") ? new URL(v, root).href : v;
    }
  }
  return {
    ...(config.compilerOptions ? { compilerOptions: config.compilerOptions } : {}),
    ...(config.nodeModulesDir ? { nodeModulesDir: config.nodeModulesDir } : {}),
    imports,
    lock: false,
  };
}

/**
 * Type-checks the modules with one `deno check` (more only when a module does not even
 * parse, which stops Deno before any type is checked) and files each diagnostic under
 * the block its line maps to.
 */
async function typeCheck(docs: readonly Checkable[], root: URL, outDir: URL): Promise<void> {
  // The root config excludes .faultline/, and deno check skips excluded files: so the
  // check runs under a config of its own with the same compiler options.
  const config = new URL("check.json", outDir);
  await writeIfChanged(config, JSON.stringify(await checkConfig(root), null, 2) + "\n");
  let pending = [...docs];
  while (pending.length > 0) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", pathOf(config), ...pending.map((d) => pathOf(d.url))],
      cwd: pathOf(root),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code === 0) return;
    const text = (new TextDecoder().decode(stdout) + "\n" + new TextDecoder().decode(stderr))
      .replace(ANSI, "");
    const chunks = text.split(/\n[ \t]*\n/).map((c) =>
      c.split("\n").filter((l) => !/^(Check|Download|Warning) /.test(l)).join("\n").trim()
    );
    let stopped = false;
    let filed = 0;
    const broken = new Set<Checkable>();
    for (const chunk of chunks) {
      const graph = /^error: (?!Type checking failed)/.test(chunk);
      if (!/^TS\d+ \[ERROR\]/.test(chunk) && !graph) continue;
      filed++;
      stopped ||= graph;
      const message = docs.reduce(
        (text, d) => toNoteLocations(text, d.url, d.page.path, d.lineMap),
        chunk.replace(/^error: /, ""),
      );
      const at = [...chunk.matchAll(/(file:\/\/\S+?):(\d+):\d+/g)]
        .map((m) => ({ doc: pending.find((d) => d.url.href === m[1]), line: Number(m[2]) }))
        .find((a) => a.doc);
      if (!at?.doc) {
        for (const d of pending) {
          d.problems.push({ line: d.runnable[0].line, message: `deno check failed: ${message}` });
        }
        continue;
      }
      const d = at.doc;
      let k = at.line - 1;
      while (k > 0 && d.blockOf[k] === undefined) k--;
      const block = d.runnable[d.blockOf[k] ?? 0];
      fileProblem(d.blockProblems, block, message);
      if (graph) broken.add(d);
    }
    if (filed === 0) {
      for (const d of pending) {
        d.problems.push({
          line: d.runnable[0].line,
          message: `deno check failed (exit code ${code}):\n${text.trim()}`,
        });
      }
    }
    // A module that does not parse stops deno check before any type is looked at: check
    // the others again without it. Anything else was a full report.
    if (!stopped || broken.size === 0) return;
    pending = pending.filter((d) => !broken.has(d));
  }
}

/**
 * Generates the modules of the notes and type-checks them together. Malformed notes and
 * notes without runnable blocks get no module.
 */
export async function compileDocs(
  pages: readonly DocPage[],
  options: RunOptions = {},
): Promise<CompiledDoc[]> {
  const root = options.root ?? ROOT;
  const outDir = options.outDir ?? new URL(".faultline/docs/", root);
  await Deno.mkdir(outDir, { recursive: true });
  const checkable: Checkable[] = [];
  const compiled = await Promise.all(pages.map(async (page): Promise<CompiledDoc> => {
    const runnable = page.blocks.filter((b) => b.runnable);
    if (page.errors.length > 0 || runnable.length === 0) {
      return { page, blockProblems: new Map(), problems: [], lineMap: [] };
    }
    const gen = generate(page, runnable, root, outDir);
    const url = new URL(moduleName(page.path), outDir);
    await writeIfChanged(url, gen.lines.map((l) => l.text).join("\n") + "\n");
    const doc: Checkable = {
      page,
      url,
      runnable,
      lineMap: gen.lines.map((l) => l.md),
      blockOf: gen.lines.map((l) => l.block),
      blockProblems: gen.blockProblems,
      problems: [],
    };
    // A note the runner already rejects is not worth a confusing second opinion.
    if (gen.blockProblems.size === 0) checkable.push(doc);
    return {
      page,
      moduleUrl: url,
      blockProblems: doc.blockProblems,
      problems: doc.problems,
      lineMap: doc.lineMap,
    };
  }));
  if ((options.typeCheck ?? true) && checkable.length > 0) {
    await typeCheck(checkable, root, outDir);
  }
  return compiled;
}
