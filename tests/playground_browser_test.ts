/**
 * The playground in a real browser: writes `playground.html` with its assets (the core
 * bundled by `deno bundle`, TypeScript's transpiler, the page's script and the site's)
 * into a temporary site, and has headless Chromium (as in `site_browser_test.ts`) open
 * it from `file://`, the way a reader opens a downloaded site:
 *
 * - rcu-gfp-nowait × fault-vs-munmap, selected on load, explored in the page's Web
 *   Worker: live progress, then Michel's race, the same outcome, count and replay token
 *   as `check()` gives in Deno, and its trace stepped row by row to the violation;
 * - a long search (per-vma-lock × fork-vs-write-fault-stale-tlb, the matrix's largest
 *   pair) cancelled while it runs;
 * - per-vma-lock's code loaded in the editor, its detached check turned off
 *   (`LINUX_6_4_CHECKS` with `detached: false`), explored on fault-vs-munmap: the same
 *   violation and count as that edit gives in Deno, a trace stepped to its violating
 *   step, and a screenshot (`docs/img/playground.png`);
 * - a syntax error in the edited code, reported with its line.
 *
 * Any request that is not a local file or a Blob URL is blocked and fails the test, and
 * so does any console error (a Content-Security-Policy violation is one).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { check, perVmaLock, scenarios, strategies, type Trace } from "../mod.ts";
import { faultWithVmaLock, lock_vma_under_rcu } from "../strategies/per_vma_lock.ts";
import { writePlayground } from "../site/playground_bundle.ts";
import { ensureChromium, runBrowserSession } from "./browser_test.ts";
// Types only: playground_browser.ts loads playwright-core, which this process may not.
import type {
  PlaygroundObservations,
  PlaygroundSessionOptions,
  RunSeen,
} from "./playground_browser.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** What the page's script and style need besides the generated assets. */
const ASSETS = ["site.css", "trace.js", "playground.js", "playground.css"];
const EDIT = {
  strategy: "per-vma-lock",
  scenario: "fault-vs-munmap",
  from: "{ seq: true, anonVma: true, detached: true }",
  to: "{ seq: true, anonVma: true, detached: false }",
};

/** The rows the trace viewer shows: one per step, and one more when the check at exit found it. */
function rowsOf(trace: Trace): number {
  return trace.steps.length + (trace.violation && trace.violation.step === undefined ? 1 : 0);
}

/** The trace was stepped: one current row that moves with Next, →, Prev and a click. */
function assertStepped(run: RunSeen, what: string): void {
  const [load, next, right, prev, jump] = run.states;
  for (const s of run.states) assert.equal(s.current, 1, `${what}: ${s.action}: one current row`);
  assert.equal(load.step, 1, `${what}: starts at the first step`);
  assert.equal(load.future, run.rows - 1, `${what}: the rows after it dimmed`);
  assert.equal(next.step, 2, `${what}: Next`);
  assert.equal(right.step, 3, `${what}: ArrowRight`);
  assert.equal(prev.step, 2, `${what}: Prev`);
  assert.equal(jump.step, run.violationStep, `${what}: a click on the violation's row`);
  assert.ok(jump.violation, `${what}: the violation's row is current`);
  assert.match(jump.position, /: the violation$/, `${what}: the stepper says so`);
  assert.ok(
    run.progress.some((p) => /^exploring: [1-9][0-9,]* executions/.test(p)),
    `${what}: live progress: ${run.progress.join(" | ")}`,
  );
  assert.match(run.progress.at(-1) ?? "", /^done: /, `${what}: ends done`);
}

Deno.test("the playground in Chromium from file://: explore, cancel, edit a strategy, step the traces", async (t) => {
  const chromium = await ensureChromium();
  const tmp = await Deno.makeTempDir({ prefix: "faultline-playground-" });
  try {
    const site = join(tmp, "site");
    await writePlayground(ROOT, site, { notes: [], builtAt: "test" }, strategies, scenarios);
    for (const a of ASSETS) {
      await Deno.copyFile(join(ROOT, "site/assets", a), join(site, "assets", a));
    }
    await Deno.mkdir(join(ROOT, "docs/img"), { recursive: true });
    const options: PlaygroundSessionOptions = {
      siteDir: site,
      chromium,
      cancel: { strategy: "per-vma-lock", scenario: "fork-vs-write-fault-stale-tlb" },
      edit: EDIT,
      screenshot: join(ROOT, "docs/img/playground.png"),
      report: join(tmp, "report.json"),
    };
    const seen = await runBrowserSession<PlaygroundObservations>(
      "tests/playground_browser.ts",
      options,
    );

    await t.step("from file://, nothing else requested, no console error", () => {
      assert.ok(seen.url.startsWith("file://"), seen.url);
      assert.deepEqual(seen.blocked, []);
      assert.deepEqual(seen.errors, []);
      assert.ok(seen.requests.every((r) => r.startsWith("file://")), seen.requests.join(", "));
      assert.ok(seen.navHasPlayground, "the top bar links the playground");
    });

    await t.step("Michel's race, as check() finds it, stepped through", () => {
      assert.deepEqual(seen.selected, { strategy: "rcu-gfp-nowait", scenario: "fault-vs-munmap" });
      const c = check("rcu-gfp-nowait", "fault-vs-munmap");
      const run = seen.first;
      assert.equal(run.outcome, "violation:store-into-detached-table");
      assert.equal(run.outcome, c.outcome);
      assert.ok(run.facts.includes(`executions: ${c.result.executions.toLocaleString("en-US")}`));
      assert.ok(run.facts.includes("search: exhaustive"), run.facts.join("; "));
      assert.equal(run.token, c.token);
      assert.equal(run.command, `./faultline replay '${c.token}'`);
      assert.equal(run.rows, rowsOf(c.result.counterexample!.trace));
      assert.match(run.violationTitle, /^store-into-detached-table at step \d+$/);
      assertStepped(run, "rcu-gfp-nowait");
    });

    await t.step("Cancel stops a running search", () => {
      assert.match(seen.cancel.before, /^exploring: [1-9]/);
      assert.match(seen.cancel.after, /^cancelled; exploring: /);
      assert.ok(seen.cancel.resultHidden, "no result shown for a cancelled search");
      assert.ok(seen.cancel.exploreEnabled, "Explore can be clicked again");
    });

    await t.step(
      "per-vma-lock edited in the page: the detached check off finds a violation",
      () => {
        assert.equal(seen.editedPath, "strategies/per_vma_lock.ts");
        assert.ok(seen.editedBadge, "the editor says the code was edited");
        const checks = { seq: true, anonVma: true, detached: false };
        const edited = {
          ...perVmaLock,
          fault: faultWithVmaLock((k, mm, a) => lock_vma_under_rcu(k, mm, a, checks)),
        };
        const c = check(edited, EDIT.scenario);
        const run = seen.edited;
        assert.match(run.outcome, /^violation:/);
        assert.equal(run.outcome, c.outcome);
        assert.ok(run.facts.includes(`executions: ${c.result.executions.toLocaleString("en-US")}`));
        assert.ok(run.facts.includes("declared: safe (NOT what was found)"), run.facts.join("; "));
        assert.match(run.verdict, /per-vma-lock \(edited\) × fault-vs-munmap/);
        assert.equal(run.token, c.token);
        assert.equal(run.rows, rowsOf(c.result.counterexample!.trace));
        assertStepped(run, "edited per-vma-lock");
      },
    );

    await t.step("a syntax error in the edit is reported with its line", () => {
      assert.match(seen.syntaxError, /^the edited module does not compile:\n/);
      assert.match(seen.syntaxError, /strategies\/per_vma_lock\.ts:\d+:\d+: /);
    });

    await t.step("the screenshot is in docs/img/playground.png", async () => {
      const png = await Deno.readFile(seen.screenshot.path);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      assert.ok(png.length > 20_000, `${png.length} bytes`);
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
