/**
 * The design notes as tests, half 1 of 2 (`notesShard()`: the other half is
 * tests/docs_2_test.ts, so that `deno test --parallel` runs both side by side): one
 * test per `docs/*.md`, one step per runnable block, run by the note runner in
 * {@link ../literate/mod.ts}. `deno task test:notes` runs both halves.
 *
 * @module
 */

import { markdownFiles, notesShard, testDocs } from "../literate/mod.ts";

testDocs(notesShard(markdownFiles("docs"), 0, 2));
