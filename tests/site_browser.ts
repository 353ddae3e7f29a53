/**
 * The browser session of `site_browser_test.ts`, which runs it in a process of its own
 * (`deno run -A tests/site_browser.ts '<options as JSON>'`): playwright-core reads the
 * home directory and `/proc` as it loads, which the test run's permissions do not
 * allow. It serves a built site on 127.0.0.1, opens it in headless Chromium with every
 * other request blocked, reads the verdict matrix, steps through one trace, takes the
 * screenshot, and writes what it saw as JSON. It judges nothing: the test does.
 *
 * @module
 */

import { extname, join, normalize } from "node:path";
import { chromium, type Page } from "playwright-core";

/** What the test asks for. */
export interface SessionOptions {
  /** The built site. */
  readonly siteDir: string;
  /** Chromium's executable. */
  readonly chromium: string;
  /** The cell whose trace is opened and stepped. */
  readonly strategy: string;
  readonly scenario: string;
  /** Where the screenshot goes; left alone when the new one is the same. */
  readonly screenshot: string;
  /** Where the observations go. */
  readonly report: string;
}

/** A cell of the matrix as the page shows it. */
export interface CellSeen {
  readonly strategy: string | null;
  readonly scenario: string | null;
  readonly verdict: string | null;
  readonly text: string;
  /** Where the cell links (its trace), if it does. */
  readonly href: string | null;
}

/** A matrix as the page shows it. */
export interface MatrixSeen {
  /** Row headers, top to bottom. */
  readonly strategies: (string | null)[];
  /** Column headers, left to right. */
  readonly scenarios: (string | null)[];
  readonly cells: CellSeen[];
}

/** The trace viewer after one action. */
export interface StepState {
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
  readonly nextDisabled: boolean;
  readonly prevDisabled: boolean;
  readonly hash: string;
}

/** Everything the session saw. */
export interface Observations {
  readonly matrixPage: MatrixSeen;
  readonly indexPage: MatrixSeen;
  readonly trace: {
    /** The page the matrix cell led to, relative to the site. */
    readonly path: string;
    readonly title: string;
    readonly rows: number;
    /** `data-step` of the row marked as the violation. */
    readonly violationStep: number;
    readonly token: string;
    readonly command: string;
    readonly stepperVisible: boolean;
    readonly states: StepState[];
  };
  /** Every request the pages made. */
  readonly requests: string[];
  /** Requests aborted because they went elsewhere than the local server. */
  readonly blocked: string[];
  /** Console errors and warnings (a Content-Security-Policy violation is one), page errors. */
  readonly errors: string[];
  readonly screenshot: { readonly path: string; readonly bytes: number; readonly written: boolean };
}

const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Wide enough for two CPU columns and the objects panel side by side. */
const WIDTH = 1400;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/** Serves `dir` on 127.0.0.1, on a port the system picks, as GitHub Pages would. */
function serve(dir: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    let path = decodeURIComponent(new URL(req.url).pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + "/")) return new Response("outside the site", { status: 403 });
    try {
      const body = await Deno.readFile(file);
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

async function readMatrix(page: Page): Promise<MatrixSeen> {
  const table = page.locator("table.matrix");
  return {
    strategies: await table.locator("tbody th[scope=row]").evaluateAll((ths) =>
      ths.map((th) => th.getAttribute("data-strategy"))
    ),
    scenarios: await table.locator("thead th[data-scenario]").evaluateAll((ths) =>
      ths.map((th) => th.getAttribute("data-scenario"))
    ),
    cells: await table.locator("td.cell").evaluateAll((tds) =>
      tds.map((td) => ({
        strategy: td.getAttribute("data-strategy"),
        scenario: td.getAttribute("data-scenario"),
        verdict: td.getAttribute("data-verdict"),
        text: td.textContent ?? "",
        href: td.querySelector("a.cell-link")?.getAttribute("href") ?? null,
      }))
    ),
  };
}

async function stepState(page: Page, action: string): Promise<StepState> {
  const rows = page.locator("table.trace tbody tr.current");
  const current = await rows.count();
  const row = rows.first();
  return {
    action,
    current,
    step: current ? Number(await row.getAttribute("data-step")) : NaN,
    violation: current ? /\bviolation\b/.test(await row.getAttribute("class") ?? "") : false,
    future: await page.locator("table.trace tbody tr.future").count(),
    position: await page.locator("[data-position]").textContent() ?? "",
    nextDisabled: await page.locator('[data-go="next"]').isDisabled(),
    prevDisabled: await page.locator('[data-go="prev"]').isDisabled(),
    hash: new URL(page.url()).hash,
  };
}

/** Writes `bytes` to `path` unless it already holds them. */
async function writeIfChanged(path: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const old = await Deno.readFile(path);
    if (old.length === bytes.length && old.every((b, i) => b === bytes[i])) return false;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeFile(path, bytes);
  return true;
}

/** Runs the session; see the module doc. */
export async function observeSite(options: SessionOptions): Promise<Observations> {
  const server = serve(normalize(options.siteDir));
  const base = `http://127.0.0.1:${server.addr.port}/`;
  const browser = await chromium.launch({ executablePath: options.chromium, args: CHROMIUM_ARGS });
  const requests: string[] = [];
  const blocked: string[] = [];
  const errors: string[] = [];
  try {
    const context = await browser.newContext({
      viewport: { width: WIDTH, height: 900 },
      deviceScaleFactor: 1,
      colorScheme: "light",
      serviceWorkers: "block",
    });
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(base)) return route.continue();
      blocked.push(url);
      return route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.on("request", (r) => void requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => void errors.push(`page error: ${e.message}`));

    await page.goto(base + "matrix.html");
    const matrixPage = await readMatrix(page);
    await page.goto(base);
    const indexPage = await readMatrix(page);

    // From the landing page's matrix into the trace, as a reader would.
    await page.locator(
      `td[data-strategy="${options.strategy}"][data-scenario="${options.scenario}"] a.cell-link`,
    ).click();
    await page.waitForURL(/\/traces\//);
    await page.locator(".stepper:not([hidden])").waitFor();
    const states = [await stepState(page, "load")];
    const next = page.locator('[data-go="next"]');
    await next.click();
    states.push(await stepState(page, "click Next"));
    await page.keyboard.press("ArrowRight");
    states.push(await stepState(page, "press ArrowRight"));
    await page.locator('[data-go="prev"]').click();
    states.push(await stepState(page, "click Prev"));
    const rows = await page.locator("table.trace tbody tr[data-step]").count();
    for (let i = 0; i < rows && !await next.isDisabled(); i++) {
      await next.click();
      states.push(await stepState(page, "click Next"));
    }

    // The screenshot: the page from the top bar to the end of the trace, footer left
    // out (it holds the build time, which would change the picture on every run). From
    // the top, so that the sticky stepper is where it belongs.
    await page.evaluate("scrollTo(0, 0)");
    const body = await page.locator("body").boundingBox();
    const layout = await page.locator(".trace-layout").boundingBox();
    if (!body || !layout) throw new Error("the trace page has no layout to photograph");
    const png = await page.screenshot({
      fullPage: true,
      clip: { x: 0, y: 0, width: WIDTH, height: Math.ceil(layout.y + layout.height - body.y + 16) },
    });
    const written = await writeIfChanged(options.screenshot, png);

    return {
      matrixPage,
      indexPage,
      trace: {
        path: new URL(page.url()).pathname.slice(1),
        title: await page.title(),
        rows,
        violationStep: Number(
          await page.locator("table.trace tbody tr.violation").first().getAttribute("data-step"),
        ),
        token: await page.locator(".token code").textContent() ?? "",
        command: await page.locator(".replay .command code").textContent() ?? "",
        stepperVisible: await page.locator(".stepper").isVisible(),
        states,
      },
      requests,
      blocked,
      errors,
      screenshot: { path: options.screenshot, bytes: png.length, written },
    };
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0]) as SessionOptions;
  const seen = await observeSite(options);
  await Deno.writeTextFile(options.report, JSON.stringify(seen, null, 2));
}
