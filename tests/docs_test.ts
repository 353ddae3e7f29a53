/**
 * The design notes as tests: one test per `docs/*.md`, one step per runnable block,
 * run by the note runner in {@link ../literate/mod.ts}.
 *
 * @module
 */

import { markdownFiles, testDocs } from "../literate/mod.ts";

testDocs(markdownFiles("docs"));
