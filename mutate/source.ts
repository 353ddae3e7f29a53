/**
 * The little of TypeScript the mutant generator needs to read: a mask of the source
 * with every comment and every string, template and regular-expression literal blanked
 * out (same length, same offsets, newlines kept), so that a pattern such as
 * `yield* spin_lock(` is only ever found in code, never in a doc comment quoting C or
 * in a trace label; and, over that mask, bracket matching, argument splitting, the
 * functions that enclose an offset and the block depth at an offset.
 *
 * Why not a real parser: the project has no npm dependency in its core and the mutated
 * code is a small, regular subset (generators calling `yield* name(args);`); a lexer
 * that gets literals and comments exactly right, plus bracket matching, is enough to
 * find every site precisely and keeps the generator auditable.
 *
 * @module
 */

/** Words after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "case",
  "yield",
  "in",
  "of",
  "else",
  "do",
  "void",
  "delete",
  "throw",
  "new",
  "await",
]);

/** Characters after which a `/` starts a regular expression. */
const REGEX_AFTER_CHAR = new Set([..."(,=:[!&|?{};+-*%<>~^"]);

/** Code with comments and literal contents replaced by spaces (newlines kept). */
export function mask(src: string): string {
  const out = src.split("");
  const n = src.length;
  const blank = (from: number, to: number) => {
    for (let j = from; j < to && j < n; j++) if (out[j] !== "\n") out[j] = " ";
  };
  /** Brace depth at which each open template `${` started. */
  const templates: number[] = [];
  let depth = 0;
  let i = 0;

  /** Scans template text from `j` (just after a backtick or a `}`); returns where code resumes. */
  const templateText = (j: number): number => {
    const from = j;
    while (j < n) {
      if (src[j] === "\\") {
        j += 2;
        continue;
      }
      if (src[j] === "`") {
        blank(from, j);
        return j + 1;
      }
      if (src[j] === "$" && src[j + 1] === "{") {
        blank(from, j);
        depth++;
        templates.push(depth);
        return j + 2;
      }
      j++;
    }
    blank(from, n);
    return n;
  };

  const previousSignificant = (j: number): { char: string; word: string } => {
    let k = j - 1;
    while (k >= 0 && /\s/.test(out[k])) k--;
    if (k < 0) return { char: "", word: "" };
    let w = k;
    while (w >= 0 && /[\w$]/.test(out[w])) w--;
    return { char: out[k], word: out.slice(w + 1, k + 1).join("") };
  };

  while (i < n) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      const end = src.indexOf("\n", i);
      const to = end < 0 ? n : end;
      blank(i, to);
      i = to;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const to = end < 0 ? n : end + 2;
      blank(i, to);
      i = to;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      blank(i + 1, j);
      i = j + 1;
    } else if (c === "`") {
      i = templateText(i + 1);
    } else if (c === "/") {
      const prev = previousSignificant(i);
      const regex = prev.char === "" || REGEX_AFTER_CHAR.has(prev.char) ||
        REGEX_AFTER_WORD.has(prev.word);
      if (!regex) {
        i++;
        continue;
      }
      let j = i + 1;
      let inClass = false;
      while (j < n && src[j] !== "\n") {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        else if (src[j] === "/" && !inClass) break;
        j++;
      }
      blank(i + 1, j);
      i = j + 1;
    } else if (c === "{") {
      depth++;
      i++;
    } else if (c === "}") {
      if (templates.length && templates[templates.length - 1] === depth) {
        templates.pop();
        depth--;
        i = templateText(i + 1);
      } else {
        depth--;
        i++;
      }
    } else {
      i++;
    }
  }
  return out.join("");
}

const OPEN: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}" };

/** The offset of the bracket closing the one at `open` in masked code, or -1. */
export function matchClose(code: string, open: number): number {
  const stack: string[] = [];
  for (let i = open; i < code.length; i++) {
    const c = code[i];
    if (c in OPEN) stack.push(OPEN[c]);
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** The offset of the bracket opening the one that closes at `close` in masked code, or -1. */
export function matchOpen(code: string, close: number): number {
  const stack: string[] = [];
  const CLOSE: Readonly<Record<string, string>> = { ")": "(", "]": "[", "}": "{" };
  for (let i = close; i >= 0; i--) {
    const c = code[i];
    if (c in CLOSE) stack.push(CLOSE[c]);
    else if (c === "(" || c === "[" || c === "{") {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

/** The top-level comma-separated pieces of `code[from, to)`, trimmed, with their offsets. */
export function splitTopLevel(
  code: string,
  from: number,
  to: number,
): { text: string; start: number; end: number }[] {
  const parts: { text: string; start: number; end: number }[] = [];
  let depth = 0;
  let start = from;
  const push = (end: number) => {
    const raw = code.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const text = raw.trim();
    if (text) parts.push({ text, start: start + lead, end: start + lead + text.length });
  };
  for (let i = from; i < to; i++) {
    const c = code[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  push(to);
  return parts;
}

/** 1-based line of `offset`. */
export function lineOf(src: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < src.length; i++) if (src[i] === "\n") line++;
  return line;
}

/** A function body: the offsets of its `{` and matching `}`, and its name if it has one. */
export interface FunctionBody {
  readonly open: number;
  readonly close: number;
  readonly name: string;
}

/**
 * Every function body in masked code: `function` declarations and expressions
 * (generators included) and arrow functions with a block body. Object-literal and
 * class methods are not looked for: no lock call of the mutated code is in one.
 */
export function functionBodies(code: string): FunctionBody[] {
  const bodies: FunctionBody[] = [];
  for (const m of code.matchAll(/\bfunction\b\s*\*?\s*([\w$]*)\s*(?:<[^>(]*>)?\s*\(/g)) {
    const paramsClose = matchClose(code, m.index + m[0].length - 1);
    if (paramsClose < 0) continue;
    let i = paramsClose + 1;
    while (/\s/.test(code[i] ?? "")) i++;
    if (code[i] === ":") {
      // A return type: skip an object type in braces, then find the body's brace.
      i++;
      while (/\s/.test(code[i] ?? "")) i++;
      if (code[i] === "{") i = matchClose(code, i) + 1;
    }
    const open = code.indexOf("{", i);
    if (open < 0) continue;
    const close = matchClose(code, open);
    if (close > 0) bodies.push({ open, close, name: m[1] });
  }
  for (const m of code.matchAll(/=>\s*\{/g)) {
    const open = m.index + m[0].length - 1;
    const close = matchClose(code, open);
    if (close > 0) bodies.push({ open, close, name: "" });
  }
  return bodies.sort((a, b) => a.open - b.open);
}

/** The innermost function body containing `offset`, if any. */
export function enclosingFunction(
  bodies: readonly FunctionBody[],
  offset: number,
): FunctionBody | undefined {
  let best: FunctionBody | undefined;
  for (const b of bodies) {
    if (b.open < offset && offset < b.close && (!best || b.open > best.open)) best = b;
  }
  return best;
}

/** How many braces are open at `offset` in masked code. */
export function braceDepth(code: string, offset: number): number {
  let depth = 0;
  for (let i = 0; i < offset; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}") depth--;
  }
  return depth;
}

/** The last non-blank character before `offset` and the word ending there (may be ""). */
export function before(code: string, offset: number): { char: string; at: number; word: string } {
  let k = offset - 1;
  while (k >= 0 && /\s/.test(code[k])) k--;
  if (k < 0) return { char: "", at: -1, word: "" };
  let w = k;
  while (w >= 0 && /[\w$]/.test(code[w])) w--;
  return { char: code[k], at: k, word: code.slice(w + 1, k + 1) };
}

/** The first non-blank character at or after `offset`, and where it is. */
export function after(code: string, offset: number): { char: string; at: number } {
  let k = offset;
  while (k < code.length && /\s/.test(code[k])) k++;
  return { char: code[k] ?? "", at: k };
}
