/**
 * The browser session of `playground_browser_test.ts`, run in a process of its own
 * (`deno run -A tests/playground_browser.ts '<options as JSON>'`, for the same reason as
 * `site_browser.ts`: playwright-core reads `/proc` and the home directory as it loads).
 * It opens `playground.html` from `file://` in headless Chromium, every request that is
 * not a local file or a Blob URL blocked, and does what a reader would:
 *
 * 1. explores the pair selected on load (rcu-gfp-nowait × fault-vs-munmap) and steps
 *    through its trace;
 * 2. starts a long search and cancels it while it runs;
 * 3. loads per-vma-lock's code, edits it (`edit.from` → `edit.to`), explores it on
 *    `edit.scenario`, steps to the violation and photographs the page;
 * 4. breaks the code's syntax and explores, to see the transpiler's error.
 *
 * It writes what it saw as JSON; it judges nothing: the test does.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { type StepSeen, stepSeen, withBrowserSession, writeIfChanged } from "./browser_session.ts";

/** What the test asks for. */
export interface PlaygroundSessionOptions {
  /** The site directory holding `playground.html`. */
  readonly siteDir: string;
  readonly chromium: string;
  /** The long pair to cancel. */
  readonly cancel: { readonly strategy: string; readonly scenario: string };
  /** The edit made to a strategy's code. */
  readonly edit: {
    readonly strategy: string;
    readonly scenario: string;
    readonly from: string;
    readonly to: string;
  };
  /** Where the screenshot goes; left alone when the new one is the same. */
  readonly screenshot: string;
  readonly report: string;
}

/** A finished run, as the page shows it. */
export interface RunSeen {
  /** `data-outcome` of the result. */
  readonly outcome: string;
  /** The result's heading. */
  readonly verdict: string;
  /** The facts, `label: value`. */
  readonly facts: string[];
  readonly violationTitle: string;
  readonly rows: number;
  /** `data-step` of the violating row. */
  readonly violationStep: number;
  readonly token: string;
  readonly command: string;
  /** Progress lines seen while it ran, in order, without repeats. */
  readonly progress: string[];
  /** The stepper after each action. */
  readonly states: StepSeen[];
  readonly millis: number;
}

export type { StepSeen };

/** Everything the session saw. */
export interface PlaygroundObservations {
  readonly url: string;
  /** The strategy and scenario selected on load. */
  readonly selected: { readonly strategy: string; readonly scenario: string };
  readonly navHasPlayground: boolean;
  readonly first: RunSeen;
  readonly cancel: {
    /** The progress line just before Cancel. */
    readonly before: string;
    readonly after: string;
    readonly resultHidden: boolean;
    readonly exploreEnabled: boolean;
  };
  /** The edited module's path shown, and whether the editor said "edited". */
  readonly editedPath: string;
  readonly editedBadge: boolean;
  readonly edited: RunSeen;
  readonly syntaxError: string;
  readonly requests: string[];
  readonly blocked: string[];
  readonly errors: string[];
  readonly screenshot: { readonly path: string; readonly bytes: number; readonly written: boolean };
}

/** Records every distinct text of the progress line, from before a click to the end. */
const WATCH_PROGRESS = `(() => {
  const el = document.getElementById("pg-progress");
  window.__progress = [];
  window.__observer?.disconnect();
  window.__observer = new MutationObserver(() => {
    const t = el.textContent;
    if (window.__progress.at(-1) !== t) window.__progress.push(t);
  });
  window.__observer.observe(el, { childList: true, characterData: true, subtree: true });
})()`;

/** The playground's stepper after `action`. */
function stepAfter(page: Page, action: string): Promise<StepSeen> {
  return stepSeen(page, action, "#pg-table table.trace");
}

/** Clicks Explore, waits for the result, steps through the trace, and reads it all. */
async function exploreAndStep(page: Page): Promise<RunSeen> {
  await page.evaluate(WATCH_PROGRESS);
  const started = performance.now();
  await page.locator("#pg-explore").click();
  await page.locator("#pg-result:not([hidden])").waitFor({ timeout: 120_000 });
  const millis = Math.round(performance.now() - started);
  await page.locator('#pg-result[data-stepping="ready"]').waitFor();
  await page.locator(".stepper:not([hidden])").waitFor();
  const states = [await stepAfter(page, "load")];
  await page.locator('[data-go="next"]').click();
  states.push(await stepAfter(page, "click Next"));
  await page.keyboard.press("ArrowRight");
  states.push(await stepAfter(page, "press ArrowRight"));
  await page.locator('[data-go="prev"]').click();
  states.push(await stepAfter(page, "click Prev"));
  await page.locator("#pg-table tr.violation").first().click();
  states.push(await stepAfter(page, "click the violation's row"));
  const text = async (sel: string) => (await page.locator(sel).first().textContent() ?? "").trim();
  return {
    outcome: await page.locator("#pg-result").getAttribute("data-outcome") ?? "",
    verdict: await text("#pg-verdict"),
    facts: await page.locator("#pg-facts > div").evaluateAll((divs) =>
      divs.map((d) =>
        `${d.querySelector("dt")?.textContent}: ${d.querySelector("dd")?.textContent}`
      )
    ),
    violationTitle: await text("#pg-violation-title"),
    rows: await page.locator("#pg-table table.trace tbody tr[data-step]").count(),
    violationStep: Number(
      await page.locator("#pg-table tr.violation").first().getAttribute("data-step"),
    ),
    token: await text("#pg-token"),
    command: await text("#pg-command"),
    progress: await page.evaluate("window.__progress") as string[],
    states,
    millis,
  };
}

/** Runs the session; see the module doc. */
export async function observePlayground(
  options: PlaygroundSessionOptions,
): Promise<PlaygroundObservations> {
  const url = pathToFileURL(`${options.siteDir}/playground.html`).href;
  const browser = {
    chromium: options.chromium,
    width: 1400,
    allow: (u: string) => u.startsWith("file:") || u.startsWith("blob:") || u.startsWith("data:"),
  };
  return await withBrowserSession(browser, async ({ page, requests, blocked, errors }) => {
    await page.goto(url);
    const selected = {
      strategy: await page.locator("#pg-strategy").inputValue(),
      scenario: await page.locator("#pg-scenario").inputValue(),
    };
    const navHasPlayground = await page.locator('.toplinks a[href="playground.html"]').count() ===
      1;

    // 1. The pair selected on load.
    const first = await exploreAndStep(page);

    // 2. A long search, cancelled while it runs.
    await page.locator("#pg-strategy").selectOption(options.cancel.strategy);
    await page.locator("#pg-scenario").selectOption(options.cancel.scenario);
    await page.locator("#pg-explore").click();
    await page.locator("#pg-progress", { hasText: /exploring: [1-9][0-9,]* executions/ })
      .waitFor({ timeout: 60_000 });
    const before = await page.locator("#pg-progress").textContent() ?? "";
    await page.locator("#pg-cancel").click();
    const cancel = {
      before,
      after: await page.locator("#pg-progress").textContent() ?? "",
      resultHidden: await page.locator("#pg-result").isHidden(),
      exploreEnabled: await page.locator("#pg-explore").isEnabled(),
    };

    // 3. per-vma-lock's code, edited.
    await page.locator("#pg-strategy").selectOption(options.edit.strategy);
    await page.locator("#pg-scenario").selectOption(options.edit.scenario);
    await page.locator("#pg-code-box summary").click();
    const source = page.locator("#pg-source");
    const text = await source.inputValue();
    if (!text.includes(options.edit.from)) {
      throw new Error(`${options.edit.strategy}'s code has no "${options.edit.from}"`);
    }
    await source.fill(text.replace(options.edit.from, options.edit.to));
    const editedPath = await page.locator("#pg-path").textContent() ?? "";
    const editedBadge = await page.locator("#pg-edited").isVisible();
    const edited = await exploreAndStep(page);

    // The screenshot: the form and the result, the violating step current; from the top.
    await page.locator("#pg-code-box summary").click(); // fold the code away
    await page.locator("#pg-table tr.violation").first().click();
    await page.evaluate("scrollTo(0, 0)");
    const trace = await page.locator("#pg-trace").boundingBox();
    if (!trace) throw new Error("no trace to photograph");
    const png = await page.screenshot({
      fullPage: true,
      clip: {
        x: 0,
        y: 0,
        width: 1400,
        height: Math.min(2400, Math.ceil(trace.y + trace.height + 16)),
      },
    });
    const written = await writeIfChanged(options.screenshot, png);

    // 4. A syntax error in the edited code.
    await page.locator("#pg-code-box summary").click();
    await source.fill(text.replace(options.edit.from, `${options.edit.to} }}} (`));
    await page.locator("#pg-explore").click();
    await page.locator('#pg-progress[data-state="error"]').waitFor({ timeout: 60_000 });
    const syntaxError = await page.locator("#pg-progress").textContent() ?? "";

    return {
      url,
      selected,
      navHasPlayground,
      first,
      cancel,
      editedPath,
      editedBadge,
      edited,
      syntaxError,
      requests,
      blocked,
      errors,
      screenshot: { path: options.screenshot, bytes: png.length, written },
    };
  });
}

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0]) as PlaygroundSessionOptions;
  const seen = await observePlayground(options);
  await Deno.writeTextFile(options.report, JSON.stringify(seen, null, 2));
}
