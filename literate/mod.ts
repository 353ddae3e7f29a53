/**
 * Literate design notes: Markdown whose TypeScript blocks run in order, in one shared
 * scope, and check what they declare (`expect=`, `output` fences, `timeout=`).
 * `deno test --doc` cannot do this: it runs every block alone. The site uses the same
 * outcomes to mark each block. `docs/writing-notes.md` is the user's guide.
 *
 * A note goes through one file per stage:
 * - `parse_doc.ts`: {@linkcode parseDoc} reads a note into a {@linkcode DocPage}.
 * - `imports.ts`: a small lexer finds each block's imports and whether it is complete.
 * - `compile.ts`: {@linkcode compileDocs} turns notes into modules under
 *   `.faultline/docs/`, one block a generator step, and type-checks them all at once.
 * - `worker.ts`: runs one note's module in a Web Worker, block by block.
 * - `judge.ts`: {@linkcode judgeExpectation} and {@linkcode compareOutput} judge a
 *   block against what it declares.
 * - `run.ts`: {@linkcode runDocs} and friends run notes and collect the outcomes
 *   (`outcome.ts`).
 * - `steps.ts`: {@linkcode testDocs} turns notes into `Deno.test` steps.
 * - `bless.ts`: {@linkcode blessNote} rewrites `output` fences with what blocks print
 *   (`deno task bless-notes`), for a deliberate change, reviewed in the diff.
 *
 * @module
 */

export type { DocBlock, DocError, DocPage } from "./doc_page.ts";
export {
  DIRECTIVES,
  EXPECTABLE,
  type Expectation,
  parseDoc,
  parseExpectation,
  slugify,
} from "./parse_doc.ts";
export {
  type BlockOutcome,
  type BlockStatus,
  type CompiledDoc,
  DEFAULT_TIMEOUT_SECONDS,
  type DocOutcome,
  type Exploration,
  ROOT,
  type RunOptions,
} from "./outcome.ts";
export { resolveImport } from "./imports.ts";
export { compileDocs } from "./compile.ts";
export { compareOutput, judgeExpectation } from "./judge.ts";
export { blessNote, blessOutputs } from "./bless.ts";
export { executeDoc, runBlocks, runDoc, runDocs } from "./run.ts";
export {
  docSteps,
  formatFailure,
  markdownFiles,
  notesShard,
  runDocSteps,
  stepName,
  testDocs,
} from "./steps.ts";
