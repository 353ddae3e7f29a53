/**
 * The site in a real browser: the site the main job builds from the real verdict
 * matrix and the notes, served on 127.0.0.1, and has headless Chromium (Debian's package, installed by
 * `tests/install_chromium.sh` where missing) check that the matrix shows every strategy
 * and scenario with its verdict, open Michel's race from the landing page, step through
 * its trace to the violating step, and photograph the trace viewer for the README
 * (`docs/img/trace-viewer.png`); then check that the matrix, landing and trace pages fit
 * 1400, 900 and 400 px (no sideways page scroll, nothing sticking out; the whole matrix
 * at 1400, its row headers sticky at 900, cards at 400), with screenshots
 * (`docs/img/matrix-1400.png`, `matrix-400.png`, `trace-400.png`). Any request that is not to the local server is blocked
 * and fails the test: the site works offline.
 *
 * The browser runs in a child process (`tests/site_browser.ts`, `deno run -A`) because
 * playwright-core reads `/proc` and the home directory as it loads, which `deno task
 * test`'s permissions do not allow; this file judges what the child saw.
 *
 * It registers no test of its own: building the site is most of the cost, so the checks
 * run, as steps of `full/readme_commands.ts`, on the site that the README's main job
 * (`./faultline`) builds in the clean copy, against the matrix that job explored (read
 * back from the copy's results store). One build serves both.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type MatrixCell, replayToken } from "../mod.ts";
import { ensureChromium, runBrowserSession } from "./browser_test.ts";
// Types only: site_browser.ts loads playwright-core, which this process may not.
import type { MatrixSeen, Observations, SessionOptions } from "./site_browser.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const STRATEGY = "rcu-gfp-nowait";
const SCENARIO = "fault-vs-munmap";
/**
 * Where the pages must fit: a laptop (the whole matrix shows), a tablet (the matrix
 * scrolls inside its box, the strategies staying in view), a phone (one card each).
 */
const FIT_WIDTHS = [1400, 900, 400] as const;

function runSession(options: SessionOptions): Promise<Observations> {
  return runBrowserSession("tests/site_browser.ts", options);
}

/** The strategies and scenarios of the site's repository, in their registered order. */
export interface Registered {
  readonly strategies: readonly string[];
  readonly scenarios: readonly string[];
}

/** Every strategy and scenario is a header, and every pair a cell with the matrix's verdict. */
function assertMatrixShown(
  seen: MatrixSeen,
  cells: readonly MatrixCell[],
  names: Registered,
  page: string,
): void {
  assert.deepEqual(seen.strategies, names.strategies, `${page}: rows`);
  assert.deepEqual(seen.scenarios, names.scenarios, `${page}: columns`);
  assert.equal(
    seen.cells.length,
    names.strategies.length * names.scenarios.length,
    `${page}: cells`,
  );
  assert.equal(cells.length, seen.cells.length, `${page}: the matrix's cells`);
  for (const cell of cells) {
    const shown = seen.cells.find((c) =>
      c.strategy === cell.strategy && c.scenario === cell.scenario
    );
    const pair = `${page}: ${cell.strategy} × ${cell.scenario}`;
    assert.ok(shown, `${pair} is missing`);
    assert.equal(shown.verdict, cell.verdict, pair);
    assert.ok(shown.text.startsWith(cell.verdict), `${pair} shows "${shown.text}"`);
    assert.ok(shown.text.includes(cell.executions.toLocaleString("en-US")), pair);
    assert.ok(shown.text.includes(cell.exhaustive ? "exhaustive" : "NOT exhaustive"), pair);
    if (cell.kind) assert.ok(shown.text.includes(cell.kind), `${pair}: the kind`);
    assert.equal(shown.href !== null, cell.counterexample !== undefined, `${pair}: trace link`);
  }
}

/**
 * The site built in `site` from the matrix `cells` of the strategies and scenarios
 * `names`, in Chromium: the matrix, a race's trace stepped through, the screenshots,
 * every page at every width; one step of `t` per check.
 */
export async function checkSiteInBrowser(
  t: Deno.TestContext,
  site: string,
  cells: readonly MatrixCell[],
  names: Registered,
): Promise<void> {
  const chromium = await ensureChromium();
  const tmp = await Deno.makeTempDir({ prefix: "faultline-site-browser-" });
  try {
    const cell = cells.find((c) => c.strategy === STRATEGY && c.scenario === SCENARIO)!;
    await Deno.mkdir(join(ROOT, "docs/img"), { recursive: true });
    const seen = await runSession({
      siteDir: site,
      chromium,
      strategy: STRATEGY,
      scenario: SCENARIO,
      screenshot: join(ROOT, "docs/img/trace-viewer.png"),
      screenshotDir: join(ROOT, "docs/img"),
      fitWidths: FIT_WIDTHS,
      report: join(tmp, "report.json"),
    });

    await t.step("the matrix page and the landing page show every pair's verdict", () => {
      assertMatrixShown(seen.matrixPage, cells, names, "matrix.html");
      assertMatrixShown(seen.indexPage, cells, names, "index.html");
    });

    await t.step("the race's cell leads to its trace, with a replay token that replays it", () => {
      const { trace } = seen;
      assert.equal(trace.path, `traces/${STRATEGY}.${SCENARIO}.html`);
      assert.match(trace.title, new RegExp(`^${cell.kind}: ${STRATEGY} × ${SCENARIO}`));
      assert.equal(trace.token, cell.token);
      assert.equal(trace.command, `./faultline replay '${cell.token}'`);
      const replayed = replayToken(trace.token);
      assert.equal(replayed.kind, cell.kind);
      assert.equal(replayed.trace.steps.length, trace.rows);
      assert.equal(trace.violationStep, replayed.trace.violation?.step);
    });

    await t.step("the stepper moves the highlighted row and ends on the violating step", () => {
      const { rows, states, violationStep, stepperVisible } = seen.trace;
      assert.ok(stepperVisible, "the step-through controls are shown");
      for (const s of states) assert.equal(s.current, 1, `one current row after ${s.action}`);
      assert.deepEqual(states.slice(0, 4).map((s) => [s.action, s.step]), [
        ["load", 1],
        ["click Next", 2],
        ["press ArrowRight", 3],
        ["click Prev", 2],
      ]);
      assert.ok(states[0].prevDisabled && !states[0].nextDisabled);
      assert.equal(states[0].future, rows - 1, "the rows after the current one are dimmed");
      assert.equal(states[0].hash, "", "loading does not move the page to a step");
      const last = states[states.length - 1];
      assert.deepEqual(
        states.slice(3).map((s) => s.step),
        Array.from({ length: rows - 1 }, (_, i) => i + 2),
      );
      assert.equal(last.step, violationStep);
      assert.ok(last.violation, "the last step is the highlighted violation");
      assert.ok(last.nextDisabled && !last.prevDisabled);
      assert.equal(last.future, 0);
      assert.equal(last.position, `step ${rows} (${rows} of ${rows}): the violation`);
      assert.equal(last.hash, `#step-${violationStep}`);
    });

    await t.step("nothing but the local server was asked for, and nothing went wrong", () => {
      assert.deepEqual(seen.blocked, []);
      const local = /^http:\/\/127\.0\.0\.1:\d+\//;
      assert.deepEqual(seen.requests.filter((r) => !local.test(r)), []);
      assert.ok(seen.requests.some((r) => r.endsWith("/assets/trace.js")));
      assert.deepEqual(seen.errors, []);
    });

    await t.step(
      "every page fits 1400, 900 and 400 px: nothing cut off or scrolling the page",
      () => {
        assert.deepEqual([...new Set(seen.fits.map((f) => f.width))], [...FIT_WIDTHS]);
        for (const f of seen.fits) {
          const at = `${f.page} at ${f.width} px`;
          assert.equal(f.innerWidth, f.width, at);
          assert.ok(f.scrollWidth <= f.innerWidth, `${at} scrolls sideways: ${f.scrollWidth} px`);
          assert.deepEqual(f.outside, [], `${at}: these stick out of the viewport`);
          assert.deepEqual(f.overflowingCells, [], `${at}: these cells overflow`);
        }
        const matrices = seen.fits.filter((f) =>
          f.page === "matrix.html" || f.page === "index.html"
        );
        assert.equal(matrices.length, 2 * FIT_WIDTHS.length);
        for (const f of matrices) {
          const at = `${f.page} at ${f.width} px`;
          if (f.width === 1400) {
            // All of it: the last column ends inside the window, nothing hides in the box.
            assert.ok(
              f.lastColumnRight! <= f.innerWidth,
              `${at}: last column ends at ${f.lastColumnRight}`,
            );
            assert.ok(f.matrixScroll!.scrollWidth <= f.matrixScroll!.clientWidth, `${at}: cut`);
          } else if (f.width === 900) {
            // Scrolled inside its box, the strategy names stay at its left edge.
            assert.equal(f.matrixDisplay, "table", at);
            assert.ok(f.sticky && f.sticky.scrolled > 0, `${at}: expected the matrix to scroll`);
            assert.ok(Math.abs(f.sticky.rowHeadOffset) <= 1, `${at}: the row headers moved`);
          } else {
            // A phone: one card per strategy, nothing to scroll sideways.
            assert.equal(f.matrixDisplay, "block", at);
            assert.ok(f.matrixScroll!.scrollWidth <= f.matrixScroll!.clientWidth, `${at}: cut`);
          }
        }
        const phoneTrace = seen.fits.find((f) => f.width === 400 && f.page === seen.trace.path);
        assert.ok(phoneTrace?.traceScroll, "the trace page at 400 px has its trace box");
      },
    );

    await t.step("screenshots at 1400 and 400 px are in docs/img", async () => {
      for (
        const [name, width] of [["matrix-1400", 1400], ["matrix-400", 400], [
          "trace-400",
          400,
        ]] as const
      ) {
        const png = await Deno.readFile(join(ROOT, `docs/img/${name}.png`));
        assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47], `${name}: a PNG`);
        assert.equal(new DataView(png.buffer, png.byteOffset).getUint32(16), width, name);
      }
    });

    await t.step("the screenshot of the trace viewer is in docs/img", async () => {
      const png = await Deno.readFile(seen.screenshot.path);
      assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
      const view = new DataView(png.buffer, png.byteOffset);
      assert.equal(view.getUint32(16), 1400, "width");
      assert.ok(view.getUint32(20) > 900, "the whole trace is in it");
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
