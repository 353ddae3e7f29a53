/**
 * Literate design notes: Markdown whose TypeScript blocks run in order, in one shared
 * scope, and check what they declare (`expect=`, `output` fences, `timeout=`).
 * {@linkcode parseDoc} reads a note; the runner compiles, type-checks and runs notes;
 * {@linkcode testDocs} turns them into `Deno.test` steps. The site uses the same
 * outcomes to mark each block. `docs/writing-notes.md` is the user's guide.
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
export * from "./runner.ts";
