/**
 * Judging a block against what it declares, as the memory model's `judgelitmus.sh`
 * judges a litmus test against its `Result:` line: the verdict of its last exploration
 * against `expect=`, and what it printed against the `output` fence after it. Each
 * judge answers undefined when the block keeps its word, else the message of a failure.
 *
 * @module
 */

import { parseExpectation } from "./parse_doc.ts";
import type { Exploration } from "./outcome.ts";

/** Lines of printed text as compared: trailing spaces and trailing blank lines dropped. */
export function comparable(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/).map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  return lines;
}

/** How the message of a block whose output does not match its fence begins. */
export const OUTPUT_DIFFERS = "printed output differs";

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
    `${OUTPUT_DIFFERS} from the output fence at ${path}:${fence.line} ` +
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
