/**
 * The mutant generator: reads the locking code (`strategies/*.ts`, `mm/*.ts`) and
 * derives from it every small, plausible locking mistake of a few kinds, each one
 * change to one file, so that `deno task mutate` can ask whether the checker notices
 * it. The mutants come from the code, not from a hand-written list: a new lock call or
 * check in a strategy gets its mutants without anyone listing them.
 *
 * The categories (see {@linkcode CATEGORIES}):
 *
 * - `lock-dropped`: one lock, unlock, trylock, RCU or sequence-count call site
 *   removed (a trylock whose result is used becomes `true`: "succeeded", lock not
 *   taken);
 * - `section-dropped`: an acquisition and the releases that pair with it in the same
 *   function (same lock argument, up to the release at the acquisition's own depth)
 *   removed together, so that no lock-imbalance check gives the mutant away;
 * - `trylock-no-fallback`: `down_read()` → `down_read_trylock()`, `spin_lock()` →
 *   `spin_trylock()`, the result ignored;
 * - `exclusive-to-shared`: `down_write()` → `down_read()`, `mmap_write_lock()` →
 *   `mmap_read_lock()`, with the releases that pair with it turned into their shared
 *   forms (a downgrade dropped), in the function or else across the file;
 * - `lock-order-swapped`: two adjacent lock calls swapped;
 * - `check-removed` and `check-inverted`: a check made to pass always, or negated; a
 *   check is a call of a known check function (`mmap_seq_read_check()`,
 *   `isWriteLocked()`, `isDetached()`, `options.validate()`, ...: the call becomes the
 *   value with which it passes), or an `if` or `?:` condition that reads a checked
 *   field (`seq`, `detached`, `anon_vma`, `isTable()`, `orig_pmd`, `readEntry()`,
 *   ...: the condition is forced to the value that makes the check vanish, `false` when
 *   its branch bails out, `true` when it guards the main path, written so that the
 *   types still check: `false as boolean && (cond)`);
 * - `deferred-free-immediate`: `vm_area_free_rcu` → `vm_area_free`, and `call_rcu()`
 *   → `step()` (the callback runs at once, no grace period);
 * - `floor-ceiling-ignored`: in `free_pgd_range()` and `free_range()`, each `if` on
 *   `floor` or `ceiling` made false.
 *
 * Mutants that produce the same file are kept once.
 *
 * @module
 */

import {
  after,
  before,
  braceDepth,
  enclosingFunction,
  functionBodies,
  type FunctionBody,
  lineOf,
  mask,
  matchClose,
  matchOpen,
  splitTopLevel,
} from "./source.ts";

/** The kinds of mutant, in the order reports list them. */
export const CATEGORIES = [
  "lock-dropped",
  "section-dropped",
  "trylock-no-fallback",
  "exclusive-to-shared",
  "lock-order-swapped",
  "check-removed",
  "check-inverted",
  "deferred-free-immediate",
  "floor-ceiling-ignored",
] as const;

/** A kind of mutant. */
export type Category = typeof CATEGORIES[number];

/** Replace `[start, end)` of the original source with `text`. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** One mutant: a change to one file. */
export interface Mutant {
  /** `M1`, `M2`, ... in the order of {@linkcode generate}. */
  readonly id: string;
  readonly file: string;
  /** 1-based line of the first edit. */
  readonly line: number;
  readonly category: Category;
  /** What changes, in a few words. */
  readonly description: string;
  readonly edits: readonly Edit[];
  /** Names the mutated file must import (added if it does not). */
  readonly imports: readonly string[];
  /** The change as unified-diff lines (`@@ line N @@`, `-old`, `+new`). */
  readonly diff: readonly string[];
  /**
   * Whether the change could break the file's types, and so needs `deno check`: false
   * only when it drops or swaps whole call statements, whose values nothing uses.
   */
  readonly typeCheck: boolean;
}

/** What a lock function is, for pairing acquisitions with releases. */
interface LockSpec {
  readonly role: "acquire" | "release" | "convert" | "other";
  /** The argument that names the lock; none for RCU (one reader state per CPU). */
  readonly key?: number;
  readonly releases?: readonly string[];
  /** Releases that turn the hold into another (a downgrade). */
  readonly converters?: readonly string[];
  /** What releases the hold after a converter. */
  readonly afterConvert?: readonly string[];
  /** The shared variant, and what each paired release or converter becomes (null: dropped). */
  readonly shared?: {
    readonly name: string;
    readonly map: Readonly<Record<string, string | null>>;
  };
  /** The trylock twin that replaces a blocking acquisition with no fallback. */
  readonly trylock?: string;
}

/** Every lock, unlock, trylock, RCU and sequence-count call the generator knows. */
const LOCKS: Readonly<Record<string, LockSpec>> = {
  spin_lock: { role: "acquire", key: 1, releases: ["spin_unlock"], trylock: "spin_trylock" },
  spin_trylock: { role: "acquire", key: 1, releases: ["spin_unlock"] },
  spin_unlock: { role: "release", key: 1 },
  down_read: {
    role: "acquire",
    key: 1,
    releases: ["up_read", "vma_end_read"],
    trylock: "down_read_trylock",
  },
  down_read_trylock: { role: "acquire", key: 1, releases: ["up_read", "vma_end_read"] },
  down_write: {
    role: "acquire",
    key: 1,
    releases: ["up_write"],
    converters: ["downgrade_write"],
    afterConvert: ["up_read"],
    shared: { name: "down_read", map: { up_write: "up_read", downgrade_write: null } },
  },
  up_read: { role: "release", key: 1 },
  up_write: { role: "release", key: 1 },
  downgrade_write: { role: "convert", key: 1 },
  mmap_read_lock: { role: "acquire", key: 1, releases: ["mmap_read_unlock"] },
  mmap_read_unlock: { role: "release", key: 1 },
  mmap_write_lock: {
    role: "acquire",
    key: 1,
    releases: ["mmap_write_unlock", "mmap_write_unlock_6_4"],
    converters: ["mmap_write_downgrade", "mmap_write_downgrade_6_4"],
    afterConvert: ["mmap_read_unlock"],
    shared: {
      name: "mmap_read_lock",
      map: {
        mmap_write_unlock: "mmap_read_unlock",
        mmap_write_unlock_6_4: "mmap_read_unlock",
        mmap_write_downgrade: null,
        mmap_write_downgrade_6_4: "vma_end_write_all",
      },
    },
  },
  mmap_write_unlock: { role: "release", key: 1 },
  mmap_write_unlock_6_4: { role: "release", key: 1 },
  mmap_write_downgrade: { role: "convert", key: 1 },
  mmap_write_downgrade_6_4: { role: "convert", key: 1 },
  rcu_read_lock: { role: "acquire", releases: ["rcu_read_unlock"] },
  rcu_read_unlock: { role: "release" },
  speculative_page_walk_begin: { role: "acquire", releases: ["speculative_page_walk_end"] },
  speculative_page_walk_end: { role: "release" },
  vma_start_write: { role: "acquire", key: 1, releases: ["vma_end_write_all"] },
  vma_end_write_all: { role: "release", key: 1 },
  vma_start_read: { role: "acquire", key: 2, releases: ["vma_end_read"] },
  vma_end_read: { role: "release", key: 1 },
  synchronize_rcu: { role: "other" },
  write_seqcount: { role: "other", key: 1 },
};

/** Check functions, and the value with which each passes. */
const CHECK_CALLS: Readonly<Record<string, boolean>> = {
  mmap_seq_read_check: true,
  read_seqcount_retry: false,
  isWriteLocked: false,
  isDetached: false,
  hasAnonVma: true,
  vma_contains: true,
  pmd_trans_unstable: false,
  validate: true,
};

/** What a condition reads when it checks something the locking relies on. */
const CHECK_TOKENS =
  /\b(?:seq|detached|vm_lock_seq|mm_lock_seq|isTable|orig_pmd|orig_pte|pmdval|readEntry|anon_vma|hasAnonVma|userfaultfd_armed|vma_is_anonymous|present|existing)\b|\bvma\.(?:start|end)\b/;

/** Deferred frees and their immediate twins. */
const IMMEDIATE_TWIN: Readonly<Record<string, string>> = { vm_area_free_rcu: "vm_area_free" };

/** The functions of the floor/ceiling rule. */
const FLOOR_CEILING_FUNCTIONS: ReadonlySet<string> = new Set(["free_pgd_range", "free_range"]);

/** Where each name a mutant may need is exported from, for files under mm/. */
const MM_MODULE: Readonly<Record<string, string>> = {
  step: "./kernel.ts",
  down_read: "./rwsem.ts",
  down_read_trylock: "./rwsem.ts",
  up_read: "./rwsem.ts",
  spin_trylock: "./spinlock.ts",
  mmap_read_lock: "./mmap_lock.ts",
  mmap_read_unlock: "./mmap_lock.ts",
  vma_end_write_all: "./mmap_lock.ts",
  vm_area_free: "./vma.ts",
};

/** A call of a known function in the code. */
interface Call {
  /** The callee's last name (`validate` for `options.validate`). */
  readonly name: string;
  /** The callee as written. */
  readonly callee: string;
  /** Offset of `yield*`, or of the callee for a plain call. */
  readonly start: number;
  readonly calleeStart: number;
  /** Offset just after the closing parenthesis. */
  readonly end: number;
  readonly args: readonly string[];
  readonly yielded: boolean;
  /** Set when the call is a whole statement: where it ends (after `;`), and whether an `if`/`else` guards it. */
  readonly statement?: { readonly end: number; readonly guarded: boolean };
  readonly fn: FunctionBody | undefined;
  /** Open braces at the call, plus one when an `if`/`else` without braces guards it. */
  readonly depth: number;
}

/** The source of one file, read once: original text, mask, function bodies. */
class Source {
  readonly code: string;
  readonly bodies: FunctionBody[];
  constructor(readonly file: string, readonly text: string) {
    this.code = mask(text);
    this.bodies = functionBodies(this.code);
  }

  /** `if (` / `while (` / `for (` whose condition closes at `close`, or else. */
  guardAt(close: number): boolean {
    const open = matchOpen(this.code, close);
    return open >= 0 && ["if", "while", "for"].includes(before(this.code, open).word);
  }

  call(
    name: string,
    callee: string,
    start: number,
    calleeStart: number,
    open: number,
    yielded: boolean,
  ): Call | undefined {
    const close = matchClose(this.code, open);
    if (close < 0) return undefined;
    const args = splitTopLevel(this.code, open + 1, close).map((a) =>
      this.text.slice(a.start, a.end)
    );
    const prev = before(this.code, start);
    const next = after(this.code, close + 1);
    let statement: Call["statement"];
    if (next.char === ";") {
      if (["", ";", "{", "}"].includes(prev.char)) {
        statement = { end: next.at + 1, guarded: false };
      } else if (prev.char === ")" && this.guardAt(prev.at)) {
        statement = { end: next.at + 1, guarded: true };
      } else if (prev.word === "else") statement = { end: next.at + 1, guarded: true };
    }
    return {
      name,
      callee,
      start,
      calleeStart,
      end: close + 1,
      args,
      yielded,
      ...(statement ? { statement } : {}),
      fn: enclosingFunction(this.bodies, start),
      depth: braceDepth(this.code, start) + (statement?.guarded ? 1 : 0),
    };
  }

  /** Every `yield* name(...)` in the code, in order. */
  yieldedCalls(): Call[] {
    const calls: Call[] = [];
    for (const m of this.code.matchAll(/yield\s*\*\s*([\w$]+(?:\.[\w$]+)*)\s*\(/g)) {
      const callee = m[1];
      const name = callee.split(".").pop()!;
      const calleeStart = m.index + m[0].indexOf(callee, 5);
      const call = this.call(name, callee, m.index, calleeStart, m.index + m[0].length - 1, true);
      if (call) calls.push(call);
    }
    return calls;
  }

  /** Plain calls `name(...)` of check functions (a `Proc` passed on, not run here). */
  plainCheckCalls(): Call[] {
    const calls: Call[] = [];
    const names = Object.keys(CHECK_CALLS).filter((n) => n !== "validate").join("|");
    for (const m of this.code.matchAll(new RegExp(`(?<![\\w$.])(${names})\\s*\\(`, "g"))) {
      const lead = this.code.slice(Math.max(0, m.index - 20), m.index);
      if (/yield\s*\*\s*$/.test(lead) || /function\s*\*?\s*$/.test(lead)) continue;
      const call = this.call(m[1], m[1], m.index, m.index, m.index + m[0].length - 1, false);
      if (call) calls.push(call);
    }
    return calls;
  }

  /** The edit that removes a statement call: its whole line if alone there, else `{}` where guarded. */
  drop(call: Call): Edit {
    const end = call.statement!.end;
    if (call.statement!.guarded) return { start: call.start, end, text: "{}" };
    const lineStart = this.text.lastIndexOf("\n", call.start - 1) + 1;
    let lineEnd = this.text.indexOf("\n", end);
    if (lineEnd < 0) lineEnd = this.text.length;
    const rest = this.code.slice(lineStart, call.start) + this.code.slice(end, lineEnd);
    if (rest.trim() === "") {
      return { start: lineStart, end: Math.min(lineEnd + 1, this.text.length), text: "" };
    }
    return { start: call.start, end, text: "" };
  }

  /** The edit that renames a call's callee. */
  rename(call: Call, to: string): Edit {
    return { start: call.calleeStart, end: call.calleeStart + call.callee.length, text: to };
  }

  /** The call's text, whitespace collapsed, for descriptions. */
  show(call: Call): string {
    return short(`${call.callee}(${call.args.join(", ")})`);
  }
}

function short(text: string, max = 72): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length <= max ? one : one.slice(0, max - 1) + "…";
}

function keyOf(call: Call): string {
  const spec = LOCKS[call.name];
  return spec?.key === undefined ? "" : (call.args[spec.key] ?? "").replace(/\s+/g, "");
}

/** Whether two lock arguments name one lock (`vma_end_read(k, vma)` releases `vma.sem`). */
function sameLock(a: string, b: string): boolean {
  return a === b || a === `${b}.sem` || b === `${a}.sem`;
}

/**
 * The releases (and converters) that pair with `acquire` in its function: later calls
 * on the same lock, up to the first release at the acquisition's depth or shallower, or
 * the next acquisition of the lock.
 */
function pairedInFunction(acquire: Call, locks: readonly Call[]): Call[] {
  const spec = LOCKS[acquire.name];
  const key = keyOf(acquire);
  const out: Call[] = [];
  let releases = new Set(spec.releases ?? []);
  const converters = new Set(spec.converters ?? []);
  for (const c of locks) {
    if (c.start <= acquire.start || c.fn !== acquire.fn || !sameLock(key, keyOf(c))) continue;
    const other = LOCKS[c.name];
    if (
      other.role === "acquire" &&
      (c.name === acquire.name || (other.releases ?? []).some((r) => releases.has(r)))
    ) break;
    if (releases.has(c.name)) {
      out.push(c);
      if (c.depth <= acquire.depth) break;
    } else if (converters.has(c.name)) {
      out.push(c);
      releases = new Set([...releases, ...(spec.afterConvert ?? [])]);
    }
  }
  return out;
}

/** A mutant before it has an id and a diff. */
interface Draft {
  readonly line: number;
  readonly category: Category;
  readonly description: string;
  readonly edits: readonly Edit[];
  readonly imports?: readonly string[];
  /** Set when only whole call statements are dropped or swapped (see {@linkcode Mutant.typeCheck}). */
  readonly statementsOnly?: boolean;
}

function lockMutants(src: Source): Draft[] {
  const drafts: Draft[] = [];
  const locks = src.yieldedCalls().filter((c) => c.name in LOCKS);
  const line = (c: Call) => lineOf(src.text, c.start);
  for (const c of locks) {
    const spec = LOCKS[c.name];
    // lock-dropped
    if (c.statement) {
      drafts.push({
        line: line(c),
        category: "lock-dropped",
        description: `drop ${src.show(c)}`,
        edits: [src.drop(c)],
        statementsOnly: true,
      });
    } else if (spec.role === "acquire") {
      drafts.push({
        line: line(c),
        category: "lock-dropped",
        description: `${src.show(c)} → true (as if it succeeded; nothing taken)`,
        edits: [{ start: c.start, end: c.end, text: "true" }],
      });
    }
    if (spec.role !== "acquire") continue;
    // section-dropped
    const paired = pairedInFunction(c, locks);
    if (paired.length && paired.every((p) => p.statement)) {
      drafts.push({
        line: line(c),
        category: "section-dropped",
        description: `drop ${src.show(c)} with ${paired.map((p) => `${p.name}()`).join(", ")}`,
        edits: [
          c.statement ? src.drop(c) : { start: c.start, end: c.end, text: "true" },
          ...paired.map((p) => src.drop(p)),
        ],
        statementsOnly: c.statement !== undefined,
      });
    }
    // trylock-no-fallback
    if (spec.trylock && c.statement) {
      drafts.push({
        line: line(c),
        category: "trylock-no-fallback",
        description: `${c.name}() → ${spec.trylock}(), result ignored: ${src.show(c)}`,
        edits: [src.rename(c, spec.trylock)],
        imports: [spec.trylock],
      });
    }
    // exclusive-to-shared
    if (spec.shared && c.statement) {
      const { name, map } = spec.shared;
      let pairs = pairedInFunction(c, locks).filter((p) => p.name in map);
      if (!pairs.length) {
        pairs = locks.filter((p) => p.name in map && sameLock(keyOf(c), keyOf(p)));
      }
      if (pairs.some((p) => !p.statement)) continue;
      const edits = [src.rename(c, name)];
      const changes: string[] = [];
      const imports = new Set([name]);
      for (const p of pairs) {
        const to = map[p.name];
        if (to === null) {
          edits.push(src.drop(p));
          changes.push(`${p.name}() dropped`);
        } else {
          edits.push(src.rename(p, to));
          changes.push(`${p.name}() → ${to}()`);
          imports.add(to);
        }
      }
      drafts.push({
        line: line(c),
        category: "exclusive-to-shared",
        description: `${c.name}() → ${name}(): ${src.show(c)}` +
          (changes.length ? `; ${[...new Set(changes)].join(", ")}` : ""),
        edits,
        imports: [...imports],
      });
    }
  }
  // lock-order-swapped: two lock statements one after the other in a block.
  for (let i = 0; i + 1 < locks.length; i++) {
    const [a, b] = [locks[i], locks[i + 1]];
    if (!a.statement || !b.statement || a.statement.guarded || b.statement.guarded) continue;
    if (src.code.slice(a.statement.end, b.start).trim() !== "") continue;
    const ta = src.text.slice(a.start, a.statement.end);
    const tb = src.text.slice(b.start, b.statement.end);
    if (ta === tb) continue;
    drafts.push({
      line: line(a),
      category: "lock-order-swapped",
      description: `swap ${src.show(a)} and ${src.show(b)}`,
      edits: [
        { start: a.start, end: a.statement.end, text: tb },
        { start: b.start, end: b.statement.end, text: ta },
      ],
      statementsOnly: true,
    });
  }
  return drafts;
}

/** Whether the branch that starts at `from` bails out (return, break, continue, throw). */
function bailsOut(src: Source, from: number): boolean {
  const at = after(src.code, from);
  if (at.char === "{") {
    const close = matchClose(src.code, at.at);
    let body = src.code.slice(at.at + 1, close);
    // Only the block's own statements: blank the statements nested `if`s and `else`s
    // guard without braces, then nested blocks.
    for (const m of body.matchAll(/\bif\s*\(|\belse\b/g)) {
      const from = m[0] === "else" ? m.index + 4 : matchClose(body, m.index + m[0].length - 1) + 1;
      if (from <= 0 || after(body, from).char === "{") continue;
      const semi = body.indexOf(";", from);
      if (semi > 0) body = body.slice(0, from) + " ".repeat(semi - from) + body.slice(semi);
    }
    for (let open = body.indexOf("{"); open >= 0; open = body.indexOf("{", open + 1)) {
      const end = matchClose(body, open);
      if (end < 0) break;
      body = body.slice(0, open) + " ".repeat(end - open + 1) + body.slice(end + 1);
    }
    return /\b(?:return|break|continue|throw)\b/.test(body);
  }
  return /^(?:return|break|continue|throw)\b/.test(src.code.slice(at.at));
}

/** A `cond ? a : b` in the code: offsets of the condition and the two branches. */
interface Ternary {
  readonly cond: { readonly start: number; readonly end: number };
  readonly a: string;
  readonly b: string;
  /** The word before an opening parenthesis that bounds the condition (`note` in `k.rt.note(`). */
  readonly callee: string;
}

function ternaries(src: Source): Ternary[] {
  const code = src.code;
  const found: Ternary[] = [];
  for (let q = 0; q < code.length; q++) {
    if (code[q] !== "?" || code[q + 1] === "?" || code[q + 1] === "." || code[q - 1] === "?") {
      continue;
    }
    if (after(code, q + 1).char === ":") continue; // `x?: T`
    // The condition: back to an unmatched opener, or a separator at depth 0.
    let depth = 0;
    let i = q - 1;
    let callee = "";
    for (; i >= 0; i--) {
      const c = code[i];
      if (c === ")" || c === "]" || c === "}") depth++;
      else if (c === "(" || c === "[" || c === "{") {
        if (depth === 0) {
          if (c === "(") callee = before(code, i).word;
          break;
        }
        depth--;
      } else if (depth === 0) {
        if (c === "," || c === ";" || c === ":" || c === "?") break;
        if (c === ">" && code[i - 1] === "=") break;
        if (
          c === "=" && code[i + 1] !== "=" && !"=!<>".includes(code[i - 1]) && code[i + 1] !== ">"
        ) break;
        if (/[\w$]/.test(c) && !/[\w$]/.test(code[i - 1] ?? "")) {
          const word = /^[\w$]+/.exec(code.slice(i))![0];
          if (word === "return" || word === "yield") {
            i += word.length - 1;
            break;
          }
        }
      }
    }
    const condRaw = code.slice(i + 1, q);
    const lead = condRaw.length - condRaw.trimStart().length;
    const cond = { start: i + 1 + lead, end: i + 1 + lead + condRaw.trim().length };
    // The branches: to the matching `:`, then to the end of the expression.
    let nested = 0;
    depth = 0;
    let colon = -1;
    let end = -1;
    for (let j = q + 1; j < code.length; j++) {
      const c = code[j];
      if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") {
        if (depth === 0) {
          end = j;
          break;
        }
        depth--;
      } else if (depth === 0) {
        if (colon < 0 && c === "?" && code[j + 1] !== "." && code[j + 1] !== "?") nested++;
        else if (colon < 0 && c === ":") {
          if (nested === 0) colon = j;
          else nested--;
        } else if (colon >= 0 && (c === "," || c === ";")) {
          end = j;
          break;
        }
      }
    }
    if (colon < 0 || end < 0 || cond.end <= cond.start) continue;
    found.push({
      cond,
      a: src.text.slice(q + 1, colon).trim(),
      b: src.text.slice(colon + 1, end).trim(),
      callee,
    });
  }
  return found;
}

/**
 * A condition made constant: `false as boolean`, so that TypeScript still checks the
 * branch it guards as reachable code (a bare `false` makes it unreachable, where no
 * narrowing holds and a mutant would fail to type-check for no reason of its own).
 */
function constant(value: boolean): string {
  return `${value} as boolean`;
}

/**
 * Condition `cond` forced to `value` while TypeScript still sees it:
 * `false as boolean && (cond)` is never true, yet the branch it guards is checked
 * with the narrowing `cond` gives (`isTable(entry)` makes `entry` a table there), so
 * a removed type-guard check is not a type error where the branch never runs anyway;
 * `true as boolean || (cond)` is always true. Neither evaluates `cond`.
 */
function forced(value: boolean, cond: string): string {
  return value ? `${constant(true)} || (${cond})` : `${constant(false)} && (${cond})`;
}

const FAILURE_VALUES: ReadonlySet<string> = new Set([
  "undefined",
  "false",
  "null",
  '"retry"',
]);

function checkMutants(src: Source): Draft[] {
  const drafts: Draft[] = [];
  const checkCalls = [...src.yieldedCalls(), ...src.plainCheckCalls()]
    .filter((c) => c.name in CHECK_CALLS && (c.yielded || c.name !== "validate"))
    .sort((a, b) => a.start - b.start);
  for (const c of checkCalls) {
    const pass = CHECK_CALLS[c.name];
    const line = lineOf(src.text, c.start);
    const text = src.text.slice(c.start, c.end);
    drafts.push({
      line,
      category: "check-removed",
      description: `${src.show(c)} → ${c.yielded ? pass : `a Proc that returns ${pass}`}`,
      edits: [{
        start: c.start,
        end: c.end,
        text: c.yielded ? `(${constant(pass)})` : `(function* () { return ${pass}; })()`,
      }],
    });
    if (c.yielded) {
      drafts.push({
        line,
        category: "check-inverted",
        description: `negate ${src.show(c)}`,
        edits: [{ start: c.start, end: c.end, text: `(!(${text}))` }],
      });
    }
  }
  const hasCall = (start: number, end: number) =>
    checkCalls.some((c) => c.start >= start && c.end <= end) ||
    /yield\s*\*/.test(src.code.slice(start, end));
  const conditionMutants = (
    cond: { start: number; end: number },
    vanish: boolean,
    shown: string,
  ) => {
    if (inSetUp(src, cond.start)) return;
    const line = lineOf(src.text, cond.start);
    const text = src.text.slice(cond.start, cond.end);
    drafts.push({
      line,
      category: "check-removed",
      description: `${shown} → ${vanish}`,
      edits: [{ ...cond, text: forced(vanish, text) }],
    });
    // A configuration flag (`checks.seq`) is a constant: negating it is forcing it.
    if (/^checks\.\w+$/.test(text.trim())) return;
    drafts.push({
      line,
      category: "check-inverted",
      description: `negate ${shown}`,
      edits: [{ ...cond, text: `!(${text})` }],
    });
  };
  for (const m of src.code.matchAll(/\bif\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const close = matchClose(src.code, open);
    if (close < 0) continue;
    const cond = { start: open + 1, end: close };
    const condCode = src.code.slice(cond.start, cond.end);
    if (!CHECK_TOKENS.test(condCode) || hasCall(cond.start, cond.end)) continue;
    if (inFloorCeiling(src, open) && /\b(?:floor|ceiling)\b/.test(condCode)) continue;
    conditionMutants(
      cond,
      !bailsOut(src, close + 1),
      `if (${short(src.text.slice(cond.start, cond.end), 48)})`,
    );
  }
  for (const t of ternaries(src)) {
    const condCode = src.code.slice(t.cond.start, t.cond.end);
    if (t.callee === "note" || !CHECK_TOKENS.test(condCode)) continue;
    if (hasCall(t.cond.start, t.cond.end)) continue;
    const vanish = FAILURE_VALUES.has(t.a)
      ? false
      : FAILURE_VALUES.has(t.b)
      ? true
      : !/^checks\.\w+$/.test(condCode.trim());
    conditionMutants(t.cond, vanish, `${short(src.text.slice(t.cond.start, t.cond.end), 48)} ?`);
  }
  return drafts;
}

/** Whether `offset` is in set-up code (`setupFault()`...), which runs before the CPUs do. */
function inSetUp(src: Source, offset: number): boolean {
  return /^setup[A-Z]/.test(enclosingFunction(src.bodies, offset)?.name ?? "");
}

function inFloorCeiling(src: Source, offset: number): boolean {
  const fn = enclosingFunction(src.bodies, offset);
  return fn !== undefined && FLOOR_CEILING_FUNCTIONS.has(fn.name);
}

function floorCeilingMutants(src: Source): Draft[] {
  const drafts: Draft[] = [];
  for (const m of src.code.matchAll(/\bif\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const close = matchClose(src.code, open);
    if (close < 0 || !inFloorCeiling(src, open)) continue;
    if (!/\b(?:floor|ceiling)\b/.test(src.code.slice(open + 1, close))) continue;
    drafts.push({
      line: lineOf(src.text, open),
      category: "floor-ceiling-ignored",
      description: `${enclosingFunction(src.bodies, open)!.name}(): if (${
        short(src.text.slice(open + 1, close), 48)
      }) → if (false)`,
      edits: [{ start: open + 1, end: close, text: constant(false) }],
    });
  }
  return drafts;
}

/** Offsets of `import ... ;` and `export { ... }` statements in masked code. */
function importRanges(code: string): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (const m of code.matchAll(/\bimport\b[^;]*;|\bexport\s*(?:type\s*)?\{[^}]*\}/g)) {
    ranges.push({ start: m.index, end: m.index + m[0].length });
  }
  return ranges;
}

function deferredFreeMutants(src: Source): Draft[] {
  const drafts: Draft[] = [];
  const imports = importRanges(src.code);
  for (const [name, twin] of Object.entries(IMMEDIATE_TWIN)) {
    for (const m of src.code.matchAll(new RegExp(`(?<![\\w$.])${name}(?![\\w$])`, "g"))) {
      if (imports.some((r) => r.start <= m.index && m.index < r.end)) continue;
      if (/function\s*\*?\s*$/.test(src.code.slice(Math.max(0, m.index - 20), m.index))) continue;
      drafts.push({
        line: lineOf(src.text, m.index),
        category: "deferred-free-immediate",
        description: `${name} → ${twin} (freed at once, no grace period)`,
        edits: [{ start: m.index, end: m.index + name.length, text: twin }],
        imports: [twin],
      });
    }
  }
  for (const c of src.yieldedCalls().filter((c) => c.name === "call_rcu")) {
    drafts.push({
      line: lineOf(src.text, c.start),
      category: "deferred-free-immediate",
      description: `call_rcu(${
        short(c.args[1] ?? "", 32)
      }, …) → step(…): the callback runs now, no grace period`,
      edits: [src.rename(c, "step")],
      imports: ["step"],
    });
  }
  return drafts;
}

/** Applies `edits` to `text` (they must not overlap). */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  }
  return out;
}

/**
 * `text` with `name` imported, unless it already is or is declared there: added to
 * the import from the module that exports it (`../mm/mod.ts` for a strategy, the mm
 * file for an mm file), or as a new import after the last one.
 */
export function addImport(file: string, text: string, name: string): string {
  const code = mask(text);
  const spec = file.startsWith("mm/") ? MM_MODULE[name] : "../mm/mod.ts";
  if (!spec) throw new Error(`no module known to export ${name} for ${file}`);
  if (file.startsWith("mm/") && spec === `./${file.slice(3)}`) return text;
  const declared = new RegExp(
    `\\bfunction\\s*\\*?\\s*${name}\\b|\\b(?:const|let|var|class)\\s+${name}\\b`,
  );
  if (declared.test(code)) return text;
  const ranges = importRanges(code).filter((r) => text.startsWith("import", r.start));
  for (const r of ranges) {
    const statement = text.slice(r.start, r.end);
    const list = /\{([^}]*)\}/.exec(statement)?.[1] ?? "";
    if (new RegExp(`(?:^|[\\s,])${name}(?:$|[\\s,])`).test(list)) return text;
  }
  for (const r of ranges) {
    const statement = text.slice(r.start, r.end);
    if (/^import\s+type\b/.test(statement) || !statement.includes(`"${spec}"`)) continue;
    const brace = r.start + statement.indexOf("{");
    if (brace < r.start) continue;
    const multiline = text[brace + 1] === "\n";
    return text.slice(0, brace + 1) + (multiline ? `\n  ${name},` : ` ${name},`) +
      text.slice(brace + 1);
  }
  const last = ranges.length ? ranges[ranges.length - 1].end : 0;
  const at = last ? last : 0;
  const line = `import { ${name} } from "${spec}";`;
  return last ? text.slice(0, at) + "\n" + line + text.slice(at) : line + "\n" + text.slice(at);
}

/** The mutated text of `file`. */
export function applyMutant(text: string, mutant: Pick<Mutant, "file" | "edits" | "imports">) {
  let out = applyEdits(text, mutant.edits);
  for (const name of mutant.imports) out = addImport(mutant.file, out, name);
  return out;
}

/** The end of the line that `end` (exclusive) finishes in: a deletion ending in `\n` ends there. */
function lineEndFor(text: string, start: number, end: number): number {
  if (end > start && text[end - 1] === "\n") return end - 1;
  const at = text.indexOf("\n", end);
  return at < 0 ? text.length : at;
}

/** The edits as unified-diff lines: a `@@ line N @@` header, `-` old lines, `+` new ones. */
export function diffOf(text: string, edits: readonly Edit[]): string[] {
  const lines: string[] = [];
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    const lineStart = text.lastIndexOf("\n", e.start - 1) + 1;
    const lineEnd = lineEndFor(text, e.start, e.end);
    const old = text.slice(lineStart, lineEnd);
    const wholeLines = e.text === "" && e.start === lineStart && text[e.end - 1] === "\n";
    const now = wholeLines
      ? undefined
      : text.slice(lineStart, e.start) + e.text + text.slice(e.end, lineEnd);
    lines.push(`@@ line ${lineOf(text, e.start)} @@`);
    for (const l of old.split("\n")) lines.push(`-${l}`);
    if (now !== undefined) { for (const l of now.split("\n")) lines.push(`+${l}`); }
  }
  return lines;
}

/** The mutants of one file, before ids are given (same order as {@linkcode generate}). */
export function mutantsOf(file: string, text: string): Omit<Mutant, "id">[] {
  const src = new Source(file, text);
  const drafts = [
    ...lockMutants(src),
    ...checkMutants(src),
    ...deferredFreeMutants(src),
    ...floorCeilingMutants(src),
  ];
  const seen = new Set<string>();
  const out: Omit<Mutant, "id">[] = [];
  for (const d of drafts) {
    const { statementsOnly, ...draft } = d;
    // Only the imports the file lacks.
    const edited = applyEdits(text, d.edits);
    const imports = (d.imports ?? []).filter((n) => addImport(file, edited, n) !== edited);
    const mutant = { file, ...draft, imports };
    const result = applyMutant(text, mutant);
    if (result === text || seen.has(result)) continue;
    seen.add(result);
    out.push({ ...mutant, diff: diffOf(text, d.edits), typeCheck: statementsOnly !== true });
  }
  const order = (c: Category) => CATEGORIES.indexOf(c);
  return out.sort((a, b) => a.line - b.line || order(a.category) - order(b.category));
}

/** Every mutant of `files` (path relative to the root → text), with ids `M1`, `M2`, ... */
export function generate(files: ReadonlyMap<string, string>): Mutant[] {
  const all: Mutant[] = [];
  for (const file of [...files.keys()].sort()) {
    for (const m of mutantsOf(file, files.get(file)!)) all.push({ id: `M${all.length + 1}`, ...m });
  }
  return all;
}

/**
 * Files of `mm/` left alone: the end-of-execution audit is the checker's own oracle
 * (what would say the mutant is wrong), not code whose locking is under test.
 */
export const NOT_MUTATED: ReadonlySet<string> = new Set(["mm/check_mm.ts"]);

/** The files whose mutants are made: `strategies/*.ts` and `mm/*.ts`, tests and the audit left out. */
export function isMutated(path: string): boolean {
  return /^(?:strategies|mm)\/[^/]+\.ts$/.test(path) && !path.endsWith("_test.ts") &&
    !NOT_MUTATED.has(path);
}
