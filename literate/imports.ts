/**
 * Reading the code of a block without a TypeScript dependency: just enough of a lexer to
 * tell whether a block is complete on its own (the blocks of a note share one scope, so
 * a block may not leave a bracket open for the next), and to find its imports, which
 * the compiler hoists to the top of the note's module and points at the project.
 *
 * @module
 */

/** A token of a block's code, with its offsets in the code. */
export interface Token {
  readonly kind: "name" | "string" | "punct" | "other";
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Bracket nesting depth at the token. */
  readonly depth: number;
}

/** What {@linkcode lex} makes of a block's code. */
export interface Lexed {
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

/** The tokens of a block's code, or how far they got and why the block is incomplete. */
export function lex(code: string): Lexed {
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
export interface Binding {
  /** `default`, `*`, or the exported name as written. */
  readonly imported: string;
  readonly local: string;
  readonly typeOnly: boolean;
}

/** An import statement: its span in the block's code and what it imports. */
export interface StaticImport {
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

/** What {@linkcode findImports} finds in a block. */
export interface BlockImports {
  readonly statics: readonly StaticImport[];
  /** String specifiers of `import("...")`, in code and in types. */
  readonly dynamics: readonly Token[];
  /** Offsets and reasons of imports the runner cannot accept. */
  readonly problems: readonly { readonly offset: number; readonly message: string }[];
}

/**
 * The imports of a block: static statements (to hoist), string `import("...")`
 * specifiers (to rewrite), and the imports it cannot follow.
 */
export function findImports(code: string, tokens: readonly Token[]): BlockImports {
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
export function stringValue(t: Token): string {
  return t.text.slice(1, -1).replace(/\\(.)/g, "$1");
}

/** The path from directory `from` to `to`, as a relative module specifier. */
export function relativeSpecifier(from: URL, to: URL): string {
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
