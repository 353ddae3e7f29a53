/**
 * What the browser sessions (`site_browser.ts`, `playground_browser.ts`) share: headless
 * Chromium launched with one page, every request the session does not allow blocked,
 * and every request, blocked request and console error or warning recorded; and
 * {@linkcode writeIfChanged} for their screenshots, and
 * {@linkcode stepSeen} for their traces' steppers. It loads playwright-core, so only
 * the sessions' own processes (`deno run -A`) may import it; the tests use
 * `browser_test.ts`.
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";

/** How a session's browser is started. */
export interface BrowserOptions {
  /** Chromium's executable. */
  readonly chromium: string;
  /** Chromium's flags besides the common ones. */
  readonly extraArgs?: readonly string[];
  /** The viewport's width (its height is 900). */
  readonly width: number;
  /** Whether a request to `url` may go through; every other one is aborted and recorded. */
  readonly allow: (url: string) => boolean;
}

/** A started browser, its page, and what the page asked for and reported. */
export interface BrowserSession {
  readonly browser: Browser;
  readonly page: Page;
  /** Every request the page made. */
  readonly requests: string[];
  /** Requests aborted because `allow` refused them. */
  readonly blocked: string[];
  /** Console errors and warnings (a Content-Security-Policy violation is one), page errors. */
  readonly errors: string[];
}

const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts Chromium as `options` say, runs `use` on its session, and closes the browser. */
export async function withBrowserSession<T>(
  options: BrowserOptions,
  use: (session: BrowserSession) => Promise<T>,
): Promise<T> {
  const browser = await chromium.launch({
    executablePath: options.chromium,
    args: [...CHROMIUM_ARGS, ...options.extraArgs ?? []],
  });
  const requests: string[] = [];
  const blocked: string[] = [];
  const errors: string[] = [];
  try {
    const context = await browser.newContext({
      viewport: { width: options.width, height: 900 },
      deviceScaleFactor: 1,
      colorScheme: "light",
      serviceWorkers: "block",
    });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (options.allow(url)) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.on("request", (r) => void requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => void errors.push(`page error: ${e.message}`));
    return await use({ browser, page, requests, blocked, errors });
  } finally {
    await browser.close();
  }
}

/** A trace's stepper after one action. */
export interface StepSeen {
  readonly action: string;
  /** How many rows are highlighted as the current step (one, when it works). */
  readonly current: number;
  /** `data-step` of the current row. */
  readonly step: number;
  /** Whether the current row is the violating step. */
  readonly violation: boolean;
  /** Rows after the current one (dimmed). */
  readonly future: number;
  /** The stepper's "step N (k of n)" line. */
  readonly position: string;
}

/** Reads the stepper of the trace table `table` (a selector) after `action`. */
export async function stepSeen(page: Page, action: string, table: string): Promise<StepSeen> {
  const rows = page.locator(`${table} tbody tr.current`);
  const current = await rows.count();
  const row = rows.first();
  return {
    action,
    current,
    step: current ? Number(await row.getAttribute("data-step")) : NaN,
    violation: current ? /\bviolation\b/.test(await row.getAttribute("class") ?? "") : false,
    future: await page.locator(`${table} tbody tr.future`).count(),
    position: await page.locator("[data-position]").textContent() ?? "",
  };
}

/** Writes `bytes` to `path` unless it already holds them. */
export async function writeIfChanged(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const old = await Deno.readFile(path);
    if (old.length === bytes.length && old.every((b, i) => b === bytes[i])) return false;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeFile(path, bytes);
  return true;
}
