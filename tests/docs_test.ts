/**
 * The design notes as tests: one test per `docs/*.md`, one step per runnable block,
 * run by the note runner in {@link ./doc_runner.ts}.
 *
 * @module
 */

import { markdownFiles, testDocs } from "./doc_runner.ts";

testDocs(markdownFiles("docs"));
