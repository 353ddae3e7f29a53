/**
 * The design-note runner: runs the `ts` blocks of a Markdown note in order, in one
 * shared scope, and checks what each block declares: the verdict of its last
 * exploration (`expect=`), the text it prints (an `output` fence), that it finishes
 * (`timeout=`). `deno test --doc` cannot do this: it runs every block alone.
 *
 * How: each note becomes one TypeScript module under `.faultline/docs/` whose blocks
 * are the steps of an async generator (imports hoisted to the top), so one `next()`
 * runs one block. All modules are type-checked by one `deno check`; each note then runs
 * in its own Web Worker, which is terminated when a block overruns its time. Every
 * generated line remembers its Markdown line, so diagnostics and stack traces point at
 * the note. The same file is the worker's entry point (see the end of the file).
 *
 * @module
 */

import { type ExploreResult, onExplore, type Trace, type Verdict, verdictOf } from "../mod.ts";
import type { DocBlock, DocError, DocPage } from "./doc_page.ts";
import { parseDoc, parseExpectation } from "./parse_doc.ts";

/** The repository root, against which note paths and imports are resolved. */
export const ROOT: URL = new URL("../", import.meta.url);

/** Default time a block may take, in seconds (`timeout=` overrides it per block). */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Options of {@linkcode runDocs} and friends. */
export interface RunOptions {
  /** Repository root. Default: {@linkcode ROOT}. */
  readonly root?: URL;
  /** Where generated modules go. Default: `<root>/.faultline/docs/`. */
  readonly outDir?: URL;
  /** Time a block may take unless it says `timeout=`. Default 60 s. */
  readonly timeoutSeconds?: number;
  /** Time the note's module (and mod.ts behind it) may take to load. Default 120 s. */
  readonly loadTimeoutSeconds?: number;
  /** Run `deno check` on the generated modules first. Default true. */
  readonly typeCheck?: boolean;
}

/** What happened to one block. */
export type BlockStatus = "passed" | "failed" | "skipped" | "not-run";

/** The last exploration a block ran, as the site shows it. */
export interface Exploration {
  readonly verdict: Verdict;
  readonly executions: number;
  readonly exhaustive: boolean;
  /** Kind of the counterexample, or `step-budget` for an inconclusive search. */
  readonly kind?: string;
  readonly message?: string;
  /** The counterexample's schedule, replayable with `replay`. */
  readonly schedule?: string;
  readonly trace?: Trace;
}

/** The outcome of one fenced block of a note. */
export interface BlockOutcome {
  readonly id: string;
  /** Markdown line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** `not-run` for blocks that are not runnable `ts` (other languages, run=false, output). */
  readonly status: BlockStatus;
  /** Why it failed or was skipped; "" when it passed or did not run. */
  readonly message: string;
  /** What it printed (console.log and friends). */
  readonly output: string;
  /** How many explorations it ran; the last one is {@linkcode BlockOutcome.exploration}. */
  readonly explorations: number;
  readonly exploration?: Exploration;
  readonly durationMs: number;
}

/** The outcome of a whole note. */
export interface DocOutcome {
  readonly page: DocPage;
  /** Problems of the note as a whole: malformed Markdown, a type check failing elsewhere. */
  readonly problems: readonly DocError[];
  /** One per block of the page, in page order. */
  readonly blocks: readonly BlockOutcome[];
  /** True when there are no problems and no block failed or was skipped. */
  readonly passed: boolean;
  /** Said of a note that passed without running anything. */
  readonly note?: string;
}

/** A note turned into a module and type-checked, ready for {@linkcode executeDoc}. */
export interface CompiledDoc {
  readonly page: DocPage;
  /** The generated module; undefined when the note is malformed or runs nothing. */
  readonly moduleUrl?: URL;
  /** Compile-time problems (forbidden imports, syntax and type errors) per block id. */
  readonly blockProblems: ReadonlyMap<string, readonly string[]>;
  /** Compile-time problems not tied to one block. */
  readonly problems: readonly DocError[];
  /** Markdown line of each generated line (index = generated line - 1). */
  readonly lineMap: readonly (number | undefined)[];
}

// ---------------------------------------------------------------------------------
// Reading the code of a block: just enough of a tokenizer to find imports and to tell
// whether a block is complete, without a TypeScript dependency.

interface Token {
  readonly kind: "name" | "string" | "punct" | "other";
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Bracket nesting depth at the token. */
  readonly depth: number;
}

interface Lexed {
  readonly tokens: readonly Token[];
  /** Why the block is incomplete (an unclosed bracket, string or comment), if it is. */
  readonly incomplete?: string;
}

/** Words after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = new Set(
  "return typeof instanceof in of new delete void throw case do else yield await".split(" "),
);
const NAME = /[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*/uy;
const CLOSER: Record<string, string> = { ")": "(", "]": "[", "}": "{" };

function lex(code: string): Lexed {
  const tokens: Token[] = [];
  const stack: string[] = [];
  let i = 0;
  const push = (kind: Token["kind"], start: number) =>
    tokens.push({ kind, text: code.slice(start, i), start, end: i, depth: stack.length });
  const regexAllowed = () => {
    const prev = tokens.at(-1);
    if (!prev) return true;
    if (prev.kind === "punct") return !/^[)\]}]$/.test(prev.text);
    return prev.kind === "name" && BEFORE_REGEX.has(prev.text);
  };
  // Scans template text from i up to the closing backtick or the next `${`.
  const template = (start: number): string | undefined => {
    while (i < code.length) {
      const c = code[i];
      if (c === "\\") i += 2;
      else if (c === "`") {
        i++;
        push("other", start);
        return undefined;
      } else if (c === "$" && code[i + 1] === "{") {
        i += 2;
        push("other", start);
        stack.push("${");
        return undefined;
      } else i++;
    }
    return "an unterminated template literal";
  };

  while (i < code.length) {
    const c = code[i];
    const start = i;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "/" && code[i + 1] === "/") {
      const nl = code.indexOf("\n", i);
      i = nl < 0 ? code.length : nl;
    } else if (c === "/" && code[i + 1] === "*") {
      const end = code.indexOf("*/", i + 2);
      if (end < 0) return { tokens, incomplete: "an unterminated comment" };
      i = end + 2;
    } else if (c === '"' || c === "'") {
      i++;
      while (i < code.length && code[i] !== c && code[i] !== "\n") i += code[i] === "\\" ? 2 : 1;
      if (code[i] !== c) return { tokens, incomplete: "an unterminated string" };
      i++;
      push("string", start);
    } else if (c === "`") {
      i++;
      const problem = template(start);
      if (problem) return { tokens, incomplete: problem };
    } else if (c === "}" && stack.at(-1) === "${") {
      stack.pop();
      i++;
      const problem = template(start);
      if (problem) return { tokens, incomplete: problem };
    } else if (c === "/" && regexAllowed()) {
      let inClass = false;
      i++;
      while (i < code.length && code[i] !== "\n" && (code[i] !== "/" || inClass)) {
        if (code[i] === "\\") i++;
        else if (code[i] === "[") inClass = true;
        else if (code[i] === "]") inClass = false;
        i++;
      }
      if (code[i] === "/") {
        i++;
        while (i < code.length && /\w/.test(code[i])) i++;
        push("other", start);
      } else {
        i = start + 1;
        push("punct", start);
      }
    } else if (/[0-9]/.test(c)) {
      while (i < code.length && /[\w.]/.test(code[i])) i++;
      push("other", start);
    } else {
      NAME.lastIndex = i;
      const m = NAME.exec(code);
      if (m) {
        i += m[0].length;
        push("name", start);
      } else if ("([{".includes(c)) {
        i++;
        push("punct", start);
        stack.push(c);
      } else if (c in CLOSER) {
        if (stack.at(-1) !== CLOSER[c]) {
          return { tokens, incomplete: `a "${c}" that closes nothing opened in the block` };
        }
        stack.pop();
        i++;
        push("punct", start);
      } else {
        i++;
        push("punct", start);
      }
    }
  }
  if (stack.length > 0) {
    const open = stack.at(-1) === "${" ? "${" : stack.at(-1);
    return { tokens, incomplete: `a "${open}" that is never closed` };
  }
  return { tokens };
}

/** One name an import statement binds. */
interface Binding {
  /** `default`, `*`, or the exported name as written. */
  readonly imported: string;
  readonly local: string;
  readonly typeOnly: boolean;
}

interface StaticImport {
  readonly start: number;
  readonly end: number;
  readonly spec: Token;
  /** The bindings, or undefined when the clause is beyond this reader (kept verbatim). */
  readonly bindings?: readonly Binding[];
  /** `with { ... }` text, if any. */
  readonly attributes: string;
}

function parseClause(ts: readonly Token[]): Binding[] | undefined {
  const out: Binding[] = [];
  let p = 0;
  let typeOnly = false;
  const at = (k: number) => ts[k]?.text;
  if (at(0) === "type" && ts.length > 1 && at(1) !== ",") {
    typeOnly = true;
    p = 1;
  }
  if (ts[p]?.kind === "name") {
    out.push({ imported: "default", local: ts[p].text, typeOnly });
    p++;
    if (at(p) === ",") p++;
  }
  if (at(p) === "*") {
    if (at(p + 1) !== "as" || ts[p + 2]?.kind !== "name") return undefined;
    out.push({ imported: "*", local: ts[p + 2].text, typeOnly });
    p += 3;
  } else if (at(p) === "{") {
    p++;
    while (at(p) !== "}") {
      let type = typeOnly;
      if (at(p) === "type" && ts[p + 1]?.kind === "name" && at(p + 1) !== "as") {
        type = true;
        p++;
      }
      const name = ts[p];
      if (!name || (name.kind !== "name" && name.kind !== "string")) return undefined;
      let local = name.text;
      p++;
      if (at(p) === "as") {
        if (ts[p + 1]?.kind !== "name") return undefined;
        local = ts[p + 1].text;
        p += 2;
      }
      out.push({ imported: name.text, local, typeOnly: type });
      if (at(p) === ",") p++;
      else if (at(p) !== "}") return undefined;
    }
    p++;
  }
  return p === ts.length && out.length > 0 ? out : undefined;
}

interface BlockImports {
  readonly statics: readonly StaticImport[];
  /** String specifiers of `import("...")`, in code and in types. */
  readonly dynamics: readonly Token[];
  /** Offsets and reasons of imports the runner cannot accept. */
  readonly problems: readonly { readonly offset: number; readonly message: string }[];
}

function findImports(code: string, tokens: readonly Token[]): BlockImports {
  const statics: StaticImport[] = [];
  const dynamics: Token[] = [];
  const problems: { offset: number; message: string }[] = [];
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== "name" || t.text !== "import" || tokens[k - 1]?.text === ".") continue;
    const next = tokens[k + 1];
    if (next?.text === ".") continue; // import.meta
    if (next?.text === "(") {
      const arg = tokens[k + 2];
      if (arg?.kind === "string" && (tokens[k + 3]?.text === ")" || tokens[k + 3]?.text === ",")) {
        dynamics.push(arg);
      } else {
        problems.push({
          offset: t.start,
          message: "import() with a computed specifier: the runner cannot check where it leads",
        });
      }
      continue;
    }
    if (t.depth !== 0) continue; // not a statement: TypeScript will say so
    let j = k + 1;
    let spec: Token | undefined;
    let clause: readonly Token[] = [];
    if (next?.kind === "string") {
      spec = next;
      j = k + 2;
    } else {
      for (let f = k + 1; f < tokens.length && tokens[f].text !== ";"; f++) {
        if (
          tokens[f].text === "from" && tokens[f + 1]?.kind === "string" && tokens[f].depth === 0
        ) {
          spec = tokens[f + 1];
          clause = tokens.slice(k + 1, f);
          j = f + 2;
          break;
        }
      }
    }
    if (!spec) {
      problems.push({ offset: t.start, message: "an import statement the runner cannot read" });
      continue;
    }
    let attributes = "";
    if (
      (tokens[j]?.text === "with" || tokens[j]?.text === "assert") && tokens[j + 1]?.text === "{"
    ) {
      let close = j + 2;
      while (close < tokens.length && !(tokens[close].text === "}" && tokens[close].depth === 0)) {
        close++;
      }
      attributes = " " + code.slice(tokens[j].start, tokens[close]?.end ?? code.length);
      j = close + 1;
    }
    if (tokens[j]?.text === ";") j++;
    const bindings = clause.length > 0 ? parseClause(clause) : [];
    statics.push({
      start: t.start,
      end: tokens[j - 1].end,
      spec,
      ...(bindings ? { bindings } : {}),
      attributes,
    });
    k = j - 1;
  }
  return { statics, dynamics, problems };
}

/** The string value of a string token (quotes and simple escapes removed). */
function stringValue(t: Token): string {
  return t.text.slice(1, -1).replace(/\\(.)/g, "$1");
}

/** The path from directory `from` to `to`, as a relative module specifier. */
function relativeSpecifier(from: URL, to: URL): string {
  const a = from.pathname.split("/").slice(0, -1);
  const b = to.pathname.split("/");
  let common = 0;
  while (common < a.length && common < b.length - 1 && a[common] === b[common]) common++;
  const up = a.length - common;
  const rest = b.slice(common).join("/");
  return up === 0 ? `./${rest}` : `${"../".repeat(up)}${rest}`;
}

/**
 * Where a block's import leads, or why it may not: notes are the public API's examples,
 * so they import mod.ts and other files of the project by relative path, nothing else.
 */
export function resolveImport(
  specifier: string,
  note: URL,
  root: URL,
): { url: URL } | { error: string } {
  const rule = "a note imports only from mod.ts and other files of the project, by relative path";
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    const url = new URL(specifier, note);
    if (url.href.startsWith(root.href)) return { url };
    return { error: `import "${specifier}" leaves the repository (${rule})` };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(specifier)?.[1];
  const what = scheme
    ? `${scheme}: specifiers`
    : specifier.startsWith("/")
    ? "absolute paths"
    : "bare specifiers";
  return { error: `import "${specifier}": ${what} are not allowed (${rule})` };
}

// ---------------------------------------------------------------------------------
// Generating the module of a note.

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

interface Generated {
  readonly lines: readonly GenLine[];
  readonly blockProblems: Map<string, string[]>;
}

function generate(page: DocPage, runnable: readonly DocBlock[], root: URL, outDir: URL): Generated {
  const note = new URL(page.path, root);
  const blockProblems = new Map<string, string[]>();
  const problem = (block: DocBlock, message: string) =>
    blockProblems.set(block.id, [...blockProblems.get(block.id) ?? [], message]);
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
      { text: `// Generated by literate/runner.ts from ${page.path}: edit the note, not this.` },
      { text: "// deno-lint-ignore-file" },
      ...head,
      { text: "export async function* run(): AsyncGenerator<number, void, undefined> {" },
      ...body,
      { text: "}" },
    ],
  };
}

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

function moduleName(path: string): string {
  return `${path.replace(/[^A-Za-z0-9._-]+/g, "_")}.ts`;
}

// ---------------------------------------------------------------------------------
// Type checking.

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

/** Replaces generated-module locations in `text` with Markdown ones. */
function mapLocations(text: string, docs: readonly Checkable[]): string {
  let out = text;
  for (const d of docs) {
    out = out.replaceAll(
      new RegExp(`${escapeRegExp(d.url.href)}(?::(\\d+)(?::(\\d+))?)?`, "g"),
      (_, line?: string, col?: string) => {
        const md = line === undefined ? undefined : d.lineMap[Number(line) - 1];
        if (md === undefined) return d.page.path;
        return `${d.page.path}:${md}${col === undefined ? "" : `:${col}`}`;
      },
    );
  }
  return out;
}

function pathOf(url: URL): string {
  return decodeURIComponent(url.pathname);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
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
      const message = mapLocations(chunk.replace(/^error: /, ""), docs);
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
      d.blockProblems.set(block.id, [...d.blockProblems.get(block.id) ?? [], message]);
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

// ---------------------------------------------------------------------------------
// The worker: runs one note's module block by block.

const WORKER_NAME = "faultline-doc-runner";

type ToWorker = { readonly type: "load"; readonly url: string } | {
  readonly type: "run";
  readonly index: number;
};

type FromWorker =
  | { readonly type: "loaded" }
  | { readonly type: "load-failed"; readonly error: string }
  | {
    readonly type: "ran";
    readonly index: number;
    readonly output: string;
    readonly explorations: number;
    readonly exploration?: Exploration;
    /** What the block threw. */
    readonly error?: string;
    /** The document's generator finished at this block: a top-level `return`. */
    readonly ended: boolean;
    /** Errors thrown outside the block's own flow (unawaited promises, timers). */
    readonly escaped: readonly string[];
  };

interface WorkerScope {
  readonly name: string;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  addEventListener(type: string, listener: (e: Event) => void): void;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return `Uncaught ${Deno.inspect(e)}`;
}

/** What console.log would print for `args`, as Deno formats it. */
function formatArgs(args: readonly unknown[]): string {
  const show = (v: unknown) => typeof v === "string" ? v : Deno.inspect(v, { colors: false });
  const [first, ...rest] = args;
  if (typeof first !== "string" || !first.includes("%")) return args.map(show).join(" ");
  const head = first.replace(/%([sdifoOjc%])/g, (spec, c: string) => {
    if (c === "%") return "%";
    if (rest.length === 0) return spec;
    const v = rest.shift();
    switch (c) {
      case "s":
        return show(v);
      case "d":
        return typeof v === "bigint" ? `${v}n` : String(Number(v));
      case "i":
        return String(parseInt(String(v)));
      case "f":
        return String(parseFloat(String(v)));
      case "c":
        return "";
      default:
        return Deno.inspect(v, { colors: false });
    }
  });
  return [head, ...rest.map(show)].join(" ");
}

function summarize(r: ExploreResult): Exploration {
  const ce = r.counterexample ?? r.inconclusive;
  return {
    verdict: verdictOf(r),
    executions: r.executions,
    exhaustive: r.exhaustive,
    ...(ce
      ? {
        kind: ce.kind,
        message: ce.message,
        schedule: ce.schedule,
        // A trace is plain data; the round trip makes sure it crosses postMessage.
        trace: JSON.parse(JSON.stringify(ce.trace)),
      }
      : {}),
  };
}

function serve(scope: WorkerScope): void {
  let run: AsyncGenerator<number, void, undefined> | undefined;
  let output: string[] = [];
  let escaped: string[] = [];
  let last: ExploreResult | undefined;
  let count = 0;
  onExplore((r) => {
    last = r;
    count++;
  });
  // Everything a block prints is its output, stdout and stderr alike, formatted as
  // Deno's console formats it (console.table is shown as the inspected value).
  let indent = "";
  const print = (text: string) =>
    void output.push(text.split("\n").map((l) => indent + l).join("\n") + "\n");
  const con = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const method of ["log", "info", "debug", "warn", "error", "trace"]) {
    con[method] = (...args) => print(formatArgs(args));
  }
  con.dir = con.table = (v) => print(Deno.inspect(v, { colors: false }));
  con.assert = (ok, ...args) => {
    if (!ok) print(["Assertion failed", ...args.length ? [formatArgs(args)] : []].join(": "));
  };
  con.group = con.groupCollapsed = (...args) => {
    if (args.length > 0) print(formatArgs(args));
    indent += "  ";
  };
  con.groupEnd = () => void (indent = indent.slice(2));
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    escaped.push(describeError((e as PromiseRejectionEvent).reason));
  });
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    escaped.push(describeError((e as ErrorEvent).error ?? (e as ErrorEvent).message));
  });

  scope.onmessage = async ({ data }) => {
    if (data.type === "load") {
      try {
        const mod: { run: () => AsyncGenerator<number, void, undefined> } = await import(data.url);
        run = mod.run();
        scope.postMessage({ type: "loaded" });
      } catch (e) {
        scope.postMessage({ type: "load-failed", error: describeError(e) });
      }
      return;
    }
    output = [];
    indent = "";
    escaped = [];
    last = undefined;
    count = 0;
    let error: string | undefined;
    let ended = false;
    try {
      ended = (await run!.next()).done === true;
    } catch (e) {
      error = describeError(e);
    }
    // Let rejections nobody awaited surface while they are still this block's.
    await new Promise((resolve) => setTimeout(resolve, 0));
    scope.postMessage({
      type: "ran",
      index: data.index,
      output: output.join(""),
      explorations: count,
      ...(last ? { exploration: summarize(last) } : {}),
      ...(error !== undefined ? { error } : {}),
      ended,
      escaped,
    });
  };
}

// ---------------------------------------------------------------------------------
// Running a note and judging its blocks.

type Reply = FromWorker | { readonly type: "timeout" } | {
  readonly type: "crashed";
  readonly error: string;
};

/** The main thread's end of a note's worker: one request at a time, with a deadline. */
class DocWorker {
  readonly #worker: Worker;
  #waiting: ((reply: Reply) => void) | undefined;

  constructor() {
    this.#worker = new Worker(import.meta.url, { type: "module", name: WORKER_NAME });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#waiting?.(e.data);
    this.#worker.onerror = (e) => {
      e.preventDefault();
      this.#waiting?.({ type: "crashed", error: e.message });
    };
    this.#worker.onmessageerror = () =>
      this.#waiting?.({ type: "crashed", error: "a message from the worker could not be read" });
  }

  ask(message: ToWorker, seconds: number): Promise<Reply> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done({ type: "timeout" }), seconds * 1000);
      const done = (reply: Reply) => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve(reply);
      };
      this.#waiting = done;
      this.#worker.postMessage(message);
    });
  }

  close(): void {
    this.#worker.terminate();
  }
}

/** Lines of printed text as compared: trailing spaces and trailing blank lines dropped. */
function comparable(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  return lines;
}

type DiffOp = { kind: " " | "-" | "+"; text: string; expected?: number };

/** A line diff (longest common subsequence) of expected and printed lines. */
function diffLines(expected: readonly string[], actual: readonly string[]): DiffOp[] {
  const n = expected.length;
  const m = actual.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = expected[i] === actual[j]
        ? lcs[i + 1][j + 1] + 1
        : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      ops.push({ kind: " ", text: expected[i], expected: i++ });
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ kind: "-", text: expected[i], expected: i++ });
    } else {
      ops.push({ kind: "+", text: actual[j++] });
    }
  }
  return ops;
}

/**
 * Compares printed output with an `output` fence; undefined when they match, else a
 * diff whose expected lines carry their Markdown line numbers.
 */
export function compareOutput(
  path: string,
  fence: { readonly code: string; readonly line: number },
  printed: string,
): string | undefined {
  const expected = comparable(fence.code);
  const actual = comparable(printed);
  if (expected.length === actual.length && expected.every((l, i) => l === actual[i])) {
    return undefined;
  }
  const ops = diffLines(expected, actual);
  const where = (op: DiffOp) =>
    op.expected === undefined ? "" : `${path}:${fence.line + 1 + op.expected}`;
  const width = Math.max(...ops.map((op) => where(op).length));
  const near = (k: number) => ops.slice(Math.max(0, k - 2), k + 3).some((op) => op.kind !== " ");
  const out = [
    `printed output differs from the output fence at ${path}:${fence.line} ` +
    `(- expected, + printed):`,
  ];
  let elided = false;
  ops.forEach((op, k) => {
    if (!near(k)) {
      if (!elided) out.push("  ...");
      elided = true;
      return;
    }
    elided = false;
    out.push(`${op.kind} ${where(op).padEnd(width)} | ${op.text}`.trimEnd());
  });
  return out.join("\n");
}

function describeExploration(e: Exploration): string {
  const what = e.verdict === "violation" || e.verdict === "error"
    ? `${e.verdict}:${e.kind}`
    : e.verdict;
  const how = `${e.exhaustive ? "exhaustive, " : ""}${e.executions} execution${
    e.executions === 1 ? "" : "s"
  }`;
  return `${what} (${how})${e.message ? `: ${e.message.split("\n")[0]}` : ""}`;
}

/** Judges an `expect=` directive; undefined when it holds. */
export function judgeExpectation(
  expect: string,
  last: Exploration | undefined,
): string | undefined {
  const wanted = parseExpectation(expect);
  if (!wanted) return `expect=${expect} names no verdict`;
  if (!last) {
    return `expect=${expect}, but the block explored nothing (expect= is judged against ` +
      `the last explore() the block runs)`;
  }
  if (last.verdict === wanted.verdict && (wanted.kind === undefined || wanted.kind === last.kind)) {
    return undefined;
  }
  return `expect=${expect}, but the last exploration found ${describeExploration(last)}`;
}

/** Drops the runner's own stack frames from a stack mapped to the note. */
function tidyStack(stack: string): string {
  return stack.split("\n").filter((l) => !/^\s+at .*(literate\/[a-z_]+\.ts|ext:)/.test(l)).join(
    "\n",
  );
}

function notRun(b: DocBlock, status: BlockStatus = "not-run", message = ""): BlockOutcome {
  return {
    id: b.id,
    line: b.line,
    lang: b.lang,
    status,
    message,
    output: "",
    explorations: 0,
    durationMs: 0,
  };
}

/**
 * Runs a compiled note block by block, in a worker of its own: yields one outcome per
 * runnable block, in page order, as soon as that block is done (so that a test step can
 * wrap each block). After a failed block the rest are yielded as skipped.
 */
export async function* runBlocks(
  doc: CompiledDoc,
  options: RunOptions = {},
): AsyncGenerator<BlockOutcome, void, undefined> {
  const { page } = doc;
  const runnable = page.blocks.filter((b) => b.runnable);
  if (page.errors.length > 0) {
    const first = page.errors[0];
    const why = `skipped: the note is malformed (line ${first.line}: ${first.message})`;
    for (const b of runnable) yield notRun(b, "skipped", why);
    return;
  }
  if (runnable.length === 0) return;
  if (doc.blockProblems.size > 0 || doc.problems.length > 0) {
    const firstBad = runnable.find((b) => doc.blockProblems.has(b.id));
    const why = firstBad
      ? `skipped: block at line ${firstBad.line} does not compile`
      : `skipped: the note does not compile (line ${doc.problems[0].line})`;
    for (const b of runnable) {
      const own = doc.blockProblems.get(b.id);
      yield own ? notRun(b, "failed", own.join("\n\n")) : notRun(b, "skipped", why);
    }
    return;
  }

  const moduleUrl = doc.moduleUrl!;
  const toNote = (text: string) =>
    tidyStack(text.replaceAll(
      new RegExp(`${escapeRegExp(moduleUrl.href)}:(\\d+)(?::(\\d+))?`, "g"),
      (_, line: string, col?: string) =>
        `${page.path}:${doc.lineMap[Number(line) - 1] ?? "?"}${col === undefined ? "" : `:${col}`}`,
    ));
  const worker = new DocWorker();
  try {
    let failed: DocBlock | undefined;
    const loaded = await worker.ask(
      { type: "load", url: moduleUrl.href },
      options.loadTimeoutSeconds ?? 120,
    );
    if (loaded.type !== "loaded") {
      // The hoisted imports run at load, before the first block: it fails for them.
      const why = loaded.type === "timeout"
        ? "did not load in time"
        : loaded.type === "load-failed" || loaded.type === "crashed"
        ? `failed to load: ${toNote(loaded.error)}`
        : "failed to load";
      yield notRun(runnable[0], "failed", `the note's module ${why}`);
      failed = runnable[0];
    }
    for (const [index, block] of runnable.entries()) {
      if (failed) {
        if (failed !== block) {
          yield notRun(block, "skipped", `skipped: block at line ${failed.line} failed`);
        }
        continue;
      }
      const seconds = Number(
        block.directives.timeout ?? options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
      );
      const started = performance.now();
      const reply = await worker.ask({ type: "run", index }, seconds);
      const durationMs = Math.round(performance.now() - started);
      if (reply.type !== "ran") {
        const message = reply.type === "timeout"
          ? `block at ${page.path}:${block.line} did not finish within ${seconds} s`
          : reply.type === "crashed"
          ? `the worker running the note crashed: ${toNote(reply.error)}`
          : `unexpected reply from the worker: ${reply.type}`;
        failed = block;
        // A block that never ends leaves the worker spinning: only terminate() stops it.
        worker.close();
        yield { ...notRun(block, "failed", message), durationMs };
        continue;
      }
      const reasons: string[] = [];
      if (reply.error !== undefined) reasons.push(`threw ${toNote(reply.error)}`);
      for (const e of reply.escaped) reasons.push(`an error escaped the block: ${toNote(e)}`);
      if (reply.ended && index < runnable.length - 1) {
        reasons.push(
          "the block ended the note early (a top-level return?): later blocks would never run",
        );
      }
      if (reply.error === undefined && block.directives.expect !== undefined) {
        const wrong = judgeExpectation(block.directives.expect, reply.exploration);
        if (wrong) reasons.push(wrong);
      }
      if (reply.error === undefined && block.expectedOutput) {
        const wrong = compareOutput(page.path, block.expectedOutput, reply.output);
        if (wrong) reasons.push(wrong);
      }
      if (reasons.length > 0) failed = block;
      yield {
        ...notRun(block, reasons.length > 0 ? "failed" : "passed", reasons.join("\n\n")),
        output: reply.output,
        explorations: reply.explorations,
        ...(reply.exploration ? { exploration: reply.exploration } : {}),
        durationMs,
      };
    }
  } finally {
    worker.close();
  }
}

/** Runs a compiled note and judges every block. */
export async function executeDoc(doc: CompiledDoc, options: RunOptions = {}): Promise<DocOutcome> {
  const outcomes = new Map<string, BlockOutcome>();
  for await (const o of runBlocks(doc, options)) outcomes.set(o.id, o);
  const { page } = doc;
  const problems = [...page.errors, ...doc.problems];
  const blocks = page.blocks.map((b) => outcomes.get(b.id) ?? notRun(b));
  const idle = problems.length === 0 && !page.blocks.some((b) => b.runnable);
  return {
    page,
    problems,
    blocks,
    passed: problems.length === 0 &&
      blocks.every((b) => b.status === "passed" || b.status === "not-run"),
    ...(idle ? { note: "no runnable blocks" } : {}),
  };
}

/** Compiles (one type check for all) and runs notes, one after another. */
export async function runDocs(
  pages: readonly DocPage[],
  options: RunOptions = {},
): Promise<DocOutcome[]> {
  const compiled = await compileDocs(pages, options);
  const out: DocOutcome[] = [];
  for (const doc of compiled) out.push(await executeDoc(doc, options));
  return out;
}

/** Runs one note. */
export async function runDoc(page: DocPage, options: RunOptions = {}): Promise<DocOutcome> {
  return (await runDocs([page], options))[0];
}

// ---------------------------------------------------------------------------------
// Test steps.

/** The name of a block's test step: `docs/x.md:42 (Heading)`. */
export function stepName(
  path: string,
  block: { readonly line: number; readonly heading?: string },
): string {
  return `${path}:${block.line}${block.heading ? ` (${block.heading})` : ""}`;
}

/** A failure report: where, why, and the block's code with its Markdown line numbers. */
export function formatFailure(page: DocPage, block: BlockOutcome): string {
  const source = page.blocks.find((b) => b.id === block.id);
  const name = stepName(page.path, { line: block.line, heading: source?.heading });
  const lines = [`${name}: ${block.message}`];
  if (source) {
    const fence = page.markdown.split(/\r\n|\r|\n/)[source.line - 1] ?? "```";
    const code = [fence, ...source.code.split("\n"), fence.trim()[0] === "~" ? "~~~" : "```"];
    const width = String(source.line + code.length).length;
    lines.push(
      "",
      ...code.map((text, k) => `  ${String(source.line + k).padStart(width)} | ${text}`.trimEnd()),
    );
  }
  return lines.join("\n");
}

/** Fails a step without a stack trace into the runner: the message says it all. */
class NoteFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoteFailure";
    this.stack = `${this.name}: ${message}`;
  }
}

function problemStep(t: Deno.TestContext, page: DocPage, p: DocError): Promise<boolean> {
  return t.step(`${page.path}:${p.line} (the note)`, () => {
    throw new NoteFailure(`${page.path}:${p.line}: ${p.message}`);
  });
}

function blockStep(
  t: Deno.TestContext,
  page: DocPage,
  block: DocBlock,
  outcome: () => Promise<BlockOutcome | undefined>,
): Promise<boolean> {
  return t.step(stepName(page.path, block), async () => {
    const o = await outcome();
    if (!o) throw new NoteFailure(`${page.path}:${block.line}: the runner reported nothing`);
    if (o.status !== "passed") throw new NoteFailure(formatFailure(page, o));
  });
}

/**
 * Reports a note already run as test steps: one per problem of the note, one per
 * runnable block (failing unless it passed), and a passing one for a note that runs
 * nothing.
 */
export async function docSteps(t: Deno.TestContext, outcome: DocOutcome): Promise<void> {
  const { page } = outcome;
  for (const p of outcome.problems) await problemStep(t, page, p);
  for (const block of page.blocks.filter((b) => b.runnable)) {
    const o = outcome.blocks.find((b) => b.id === block.id);
    await blockStep(t, page, block, () => Promise.resolve(o));
  }
  if (outcome.note) await t.step(`${page.path}: ${outcome.note}`, () => {});
}

/**
 * Runs a compiled note as test steps, like {@linkcode docSteps}, but each block runs
 * inside its own step, so steps time their block and a slow note shows its progress.
 */
export async function runDocSteps(
  t: Deno.TestContext,
  doc: CompiledDoc,
  options: RunOptions = {},
): Promise<void> {
  const { page } = doc;
  const problems = [...page.errors, ...doc.problems];
  for (const p of problems) await problemStep(t, page, p);
  const runnable = page.blocks.filter((b) => b.runnable);
  const blocks = runBlocks(doc, options);
  try {
    for (const block of runnable) {
      await blockStep(t, page, block, async () => (await blocks.next()).value ?? undefined);
    }
  } finally {
    await blocks.return();
  }
  if (problems.length === 0 && runnable.length === 0) {
    await t.step(`${page.path}: no runnable blocks`, () => {});
  }
}

/** The `.md` files directly in `dir` (relative to `root`), sorted, as root-relative paths. */
export function markdownFiles(dir: string, root: URL = ROOT): string[] {
  const base = dir.replace(/\/*$/, "/");
  const files: string[] = [];
  try {
    for (const entry of Deno.readDirSync(new URL(base, root))) {
      if (entry.isFile && entry.name.endsWith(".md")) files.push(base + entry.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return files.sort();
}

/**
 * Registers one Deno.test per note (paths relative to the root), one step per block. All
 * notes are type-checked together, by the first test to run.
 */
export function testDocs(paths: readonly string[], options: RunOptions = {}): void {
  const root = options.root ?? ROOT;
  let compiled: Promise<Map<string, CompiledDoc>> | undefined;
  const prepare = () =>
    compiled ??= (async () => {
      const pages = await Promise.all(
        paths.map(async (p) => parseDoc(await Deno.readTextFile(new URL(p, root)), p)),
      );
      return new Map((await compileDocs(pages, options)).map((c) => [c.page.path, c]));
    })();
  for (const path of paths) {
    Deno.test(path, async (t) => {
      await runDocSteps(t, (await prepare()).get(path)!, options);
    });
  }
}

// The worker's entry point is this very module, loaded in a worker of that name.
const scope = globalThis as unknown as Partial<WorkerScope>;
if ("WorkerGlobalScope" in globalThis && scope.name === WORKER_NAME) serve(scope as WorkerScope);
