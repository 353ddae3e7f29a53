/**
 * The browser session of `site_browser_test.ts`, which runs it in a process of its own
 * (`deno run -A tests/site_browser.ts '<options as JSON>'`): playwright-core reads the
 * home directory and `/proc` as it loads, which the test run's permissions do not
 * allow. It serves a built site on 127.0.0.1, opens it in headless Chromium with every
 * other request blocked, reads the verdict matrix, steps through one trace, takes the
 * screenshot, measures the matrix and the trace pages at a wide, a medium and a phone's
 * width (what sticks out, what scrolls, where the last column ends) with a screenshot
 * of each, and writes what it saw as JSON. It judges nothing: the test does.
 *
 * @module
 */

import { extname, join, normalize } from "node:path";
import type { Page } from "playwright-core";
import { type StepSeen, stepSeen, withBrowserSession, writeIfChanged } from "./browser_session.ts";

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
  /** Where the screenshots of the pages at other widths go (`matrix-400.png`...). */
  readonly screenshotDir: string;
  /**
   * The widths the matrix, landing and trace pages are measured at; the matrix is
   * photographed at 1400 and 400, the trace at 400, when they are among them.
   */
  readonly fitWidths: readonly number[];
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
export interface StepState extends StepSeen {
  readonly nextDisabled: boolean;
  readonly prevDisabled: boolean;
  readonly hash: string;
}

/** A page at one viewport width. */
export interface FitSeen {
  /** Site-relative path of the page. */
  readonly page: string;
  readonly width: number;
  /** `document.documentElement.scrollWidth`: more than `innerWidth` scrolls the page sideways. */
  readonly scrollWidth: number;
  readonly innerWidth: number;
  /**
   * Elements that stick out of the viewport sideways without being inside a box that
   * scrolls or clips them (`tag.class`): what is cut off, or what makes the page scroll.
   */
  readonly outside: string[];
  /** The right edge of the matrix's last column header, when the matrix is a table. */
  readonly lastColumnRight?: number;
  /**
   * Cells of the matrix and the trace whose content is wider than the cell (`tag.class`
   * and its text): a long name running over into the next column.
   */
  readonly overflowingCells: string[];
  /** The matrix's box: how wide its content is, how wide it shows. */
  readonly matrixScroll?: { readonly scrollWidth: number; readonly clientWidth: number };
  /** The trace table's box, likewise. */
  readonly traceScroll?: { readonly scrollWidth: number; readonly clientWidth: number };
  /**
   * The matrix scrolled sideways to its end: how far it moved, and where the first
   * row header then is against the box's left edge (0: it stayed in view).
   */
  readonly sticky?: { readonly scrolled: number; readonly rowHeadOffset: number };
  /** How the matrix is laid out: `table`, or `block` for one card per strategy. */
  readonly matrixDisplay?: string;
  /** The screenshot taken, if one was. */
  readonly screenshot?: string;
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
  /** The matrix, landing and trace pages at each of the options' `fitWidths`. */
  readonly fits: FitSeen[];
}

/** What {@linkcode measureFit} evaluates in the page (plain JS: it runs in the browser). */
const MEASURE = `(() => {
  const clips = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden" || o === "clip") return true;
    }
    return false;
  };
  const outside = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > innerWidth + 0.5 || r.left < -0.5) && !clips(el)) {
      outside.push(el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
    }
  }
  const box = (sel) => {
    const el = document.querySelector(sel);
    return el ? { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth } : undefined;
  };
  const table = document.querySelector("table.matrix");
  const last = document.querySelector("table.matrix thead th:last-child");
  const wrap = document.querySelector(".matrix-wrap");
  let sticky;
  if (wrap && table && getComputedStyle(table).display === "table" &&
      wrap.scrollWidth > wrap.clientWidth) {
    wrap.scrollLeft = wrap.scrollWidth;
    const head = document.querySelector("table.matrix tbody th");
    sticky = {
      scrolled: wrap.scrollLeft,
      rowHeadOffset: head.getBoundingClientRect().left - wrap.getBoundingClientRect().left,
    };
    wrap.scrollLeft = 0;
  }
  // A cell's text reaching past its right edge runs over into the next column (a
  // table cell's scrollWidth does not show that; the text's own boxes do).
  const overflowingCells = [];
  for (const cell of document.querySelectorAll("table.matrix th, table.matrix td, table.trace td")) {
    const text = document.createRange();
    text.selectNodeContents(cell);
    if (text.getBoundingClientRect().right > cell.getBoundingClientRect().right + 0.5) {
      overflowingCells.push(cell.tagName.toLowerCase() + ": " + cell.textContent.slice(0, 40));
    }
  }
  return {
    overflowingCells,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth,
    outside: [...new Set(outside)],
    lastColumnRight: last && getComputedStyle(last.parentElement.parentElement).position !== "absolute"
      ? last.getBoundingClientRect().right : undefined,
    matrixScroll: box(".matrix-wrap"),
    traceScroll: box(".trace-wrap"),
    sticky,
    matrixDisplay: table ? getComputedStyle(table).display : undefined,
  };
})()`;

/**
 * Opens `path` at `width` and measures it (see {@linkcode FitSeen}); with `shot`, also
 * photographs it from the top to `until` (an element: the footer, with the build
 * time, stays out), at most `maxHeight` pixels.
 */
async function measureFit(
  page: Page,
  base: string,
  path: string,
  width: number,
  shot?: { readonly file: string; readonly until: string; readonly maxHeight: number },
): Promise<FitSeen> {
  await page.setViewportSize({ width, height: 900 });
  await page.goto(base + path);
  const seen = await page.evaluate(MEASURE) as Omit<FitSeen, "page" | "width">;
  if (shot) {
    const end = await page.locator(shot.until).first().boundingBox();
    if (!end) throw new Error(`${path} has no ${shot.until} to end the screenshot at`);
    const height = Math.min(shot.maxHeight, Math.ceil(end.y + end.height + 16));
    const png = await page.screenshot({ fullPage: true, clip: { x: 0, y: 0, width, height } });
    await writeIfChanged(shot.file, png);
  }
  return { page: path, width, ...seen, ...(shot ? { screenshot: shot.file } : {}) };
}

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
  return {
    ...await stepSeen(page, action, "table.trace"),
    nextDisabled: await page.locator('[data-go="next"]').isDisabled(),
    prevDisabled: await page.locator('[data-go="prev"]').isDisabled(),
    hash: new URL(page.url()).hash,
  };
}

/** Runs the session; see the module doc. */
export async function observeSite(options: SessionOptions): Promise<Observations> {
  const server = serve(normalize(options.siteDir));
  const base = `http://127.0.0.1:${server.addr.port}/`;
  const browser = {
    chromium: options.chromium,
    extraArgs: ["--disable-quic"],
    width: WIDTH,
    allow: (url: string) => url.startsWith(base),
  };
  try {
    return await withBrowserSession(browser, async ({ page, requests, blocked, errors }) => {
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
        clip: {
          x: 0,
          y: 0,
          width: WIDTH,
          height: Math.ceil(layout.y + layout.height - body.y + 16),
        },
      });
      const written = await writeIfChanged(options.screenshot, png);
      const trace = {
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
      };

      // Every page that could be too wide, at every width; a screenshot of the matrix at
      // 1400 and 400 and of the trace at 400 (the one at 1400 is the README's, above).
      const fits: FitSeen[] = [];
      const dir = options.screenshotDir;
      for (const width of options.fitWidths) {
        const phone = width === 400;
        const matrixShot = width === 1400 || phone
          ? { file: `${dir}/matrix-${width}.png`, until: ".totals", maxHeight: 2400 }
          : undefined;
        fits.push(await measureFit(page, base, "matrix.html", width, matrixShot));
        fits.push(await measureFit(page, base, "index.html", width));
        const traceShot = phone
          ? { file: `${dir}/trace-400.png`, until: ".trace-wrap", maxHeight: 2400 }
          : undefined;
        fits.push(await measureFit(page, base, trace.path, width, traceShot));
      }

      return {
        matrixPage,
        indexPage,
        trace,
        requests,
        blocked,
        errors,
        screenshot: { path: options.screenshot, bytes: png.length, written },
        fits,
      };
    });
  } finally {
    await server.shutdown();
  }
}

if (import.meta.main) {
  const options = JSON.parse(Deno.args[0]) as SessionOptions;
  const seen = await observeSite(options);
  await Deno.writeTextFile(options.report, JSON.stringify(seen, null, 2));
}
