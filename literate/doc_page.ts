/**
 * The shape of a parsed design note, shared by the doc runner (tests) and the site.
 * `parseDoc` in {@link ./parse_doc.ts} produces it; nothing else parses Markdown.
 *
 * @module
 */

/** A fenced code block. */
export interface DocBlock {
  /** Stable id: `<heading slug>-<n>`, unique in the document. */
  readonly id: string;
  /** First word of the info string, lower-cased (`ts`, `text`, `output`, ...). */
  readonly lang: string;
  /** The whole info string. */
  readonly info: string;
  /** `key=value` words of the info string after the language; bare words map to `"true"`. */
  readonly directives: Readonly<Record<string, string>>;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Text of the nearest heading above the block ("" before the first). */
  readonly heading: string;
  /**
   * True for `ts`/`typescript` blocks without `run=false` or `file=`: the runner executes
   * them.
   */
  readonly runnable: boolean;
  /** An `output` fence that follows this runnable block: what it must print. */
  readonly expectedOutput?: { readonly code: string; readonly line: number };
}

/** A problem in the Markdown itself, e.g. an unterminated fence. */
export interface DocError {
  readonly line: number;
  readonly message: string;
}

/** A parsed design note. */
export interface DocPage {
  /** Path as given to parseDoc, used in messages. */
  readonly path: string;
  /** Text of the first `# ` heading, or the file name. */
  readonly title: string;
  readonly markdown: string;
  readonly blocks: readonly DocBlock[];
  readonly errors: readonly DocError[];
}
