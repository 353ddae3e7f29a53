/**
 * The playground page, `playground.html`: pick a strategy and a scenario, or edit a
 * strategy's module in the page (starting from any of the repository's), explore it in
 * the browser with live progress and a Cancel button, and step through the trace of
 * what it finds. Pure rendering, like {@link ./render.ts}: {@link ./playground_bundle.ts}
 * produces the assets (the core bundle, the TypeScript transpiler, the sources) and
 * `assets/playground.js` is the page's behaviour; the exploring happens in
 * {@link ./playground_worker.ts}, in a Web Worker.
 *
 * The page's Content-Security-Policy is the site's plus `worker-src blob:`: the worker
 * is started from a Blob URL of the bundled core (with the edited module appended),
 * which is what works from `file://`. Nothing is evaluated from a string.
 *
 * @module
 */

import type { Scenario } from "../mod.ts";
import type { StrategySource } from "./playground_bundle.ts";
import { Html, layout, markup, type SiteContext } from "./render.ts";
import { STEPPER } from "./trace_view.ts";

/** What the page shows. */
export interface PlaygroundInput {
  readonly strategies: readonly StrategySource[];
  readonly scenarios: readonly Pick<Scenario, "name" | "question">[];
  /** The strategy and scenario selected when the page opens. */
  readonly strategy?: string;
  readonly scenario?: string;
}

/** The page's path in the site. */
export const PLAYGROUND_PATH = "playground.html";

/** The data the page's script reads, as JSON safe inside `<script type="application/json">`. */
export function playgroundData(input: PlaygroundInput): string {
  return JSON.stringify({
    strategies: input.strategies,
    scenarios: input.scenarios.map((w) => ({ name: w.name, question: w.question })),
  }).replace(/</g, "\\u003c");
}

/** The whole page. */
export function playgroundPage(ctx: SiteContext, input: PlaygroundInput): string {
  const strategy = input.strategy ?? input.strategies[0]?.name;
  const scenario = input.scenario ?? input.scenarios[0]?.name;
  const strategyOptions = input.strategies.map((s) =>
    markup`<option value="${s.name}"${
      s.name === strategy ? " selected" : ""
    }>${s.name} — ${s.title}</option>`
  );
  const scenarioOptions = input.scenarios.map((w) =>
    markup`<option value="${w.name}"${
      w.name === scenario ? " selected" : ""
    }>${w.name} — ${w.question}</option>`
  );
  const first = input.strategies.find((s) => s.name === strategy);
  const html = layout(ctx, {
    path: PLAYGROUND_PATH,
    title: "Playground",
    bodyClass: "trace-page playground-page",
    wide: true,
    scripts: ["assets/playground-core.js", "assets/playground.js"],
    body: markup`<link rel="stylesheet" href="assets/playground.css">
<h1>Playground</h1>
<p class="lede">Explore a strategy against a scenario here, in your browser: the model checker,
the mm core and the strategies run in a Web Worker, as the command line runs them. Or edit a
strategy's module below, starting from any of the repository's, and explore your version: the
first draft of a proposal (<a href="notes/proposing-a-strategy.html">proposing a strategy</a> says
how to turn it into one).</p>
<noscript><p class="failing-notes">The playground needs JavaScript.</p></noscript>
<form class="playground" id="playground" autocomplete="off">
<div class="pg-row">
<label>Strategy <select id="pg-strategy" name="strategy">${strategyOptions}</select></label>
<label>Scenario <select id="pg-scenario" name="scenario">${scenarioOptions}</select></label>
</div>
<div class="pg-row">
<label>Search <select id="pg-mode" name="mode">
<option value="exhaustive" selected>exhaustive (Optimal-DPOR)</option>
<option value="dfs">dfs (every interleaving)</option>
<option value="bounded">bounded (preemptions ≤ 2)</option>
<option value="pct">pct</option>
<option value="random">random</option>
</select></label>
<label>At most <input id="pg-budget" name="budget" type="number" min="0" step="1" value="0" inputmode="numeric"> executions (0: no limit; pct and random need one)</label>
</div>
<details class="pg-code" id="pg-code-box">
<summary>The strategy's code <span class="pg-edited" id="pg-edited" hidden>edited</span></summary>
<p class="pg-rule">This is the TypeScript module that defines the strategy
(<code id="pg-path">${first?.path ?? ""}</code>). Edit it and <em>Explore</em> runs your version:
the page transpiles it with TypeScript's <code>transpileModule</code> (no type check: run
<code>deno check</code> on a clone for that) and the worker runs it. The rule for imports: only
relative paths, resolved from <code>strategies/</code> as in the repository, to a module of
<code>explore/</code>, <code>mm/</code>, <code>strategies/</code>, <code>scenarios/</code> or
<code>faultline.ts</code> (<code>../mm/mod.ts</code>, <code>./mmap_lock.ts</code>,
<code>../explore/mod.ts</code>, <code>./strategy.ts</code>): each resolves to the module as
bundled when the site was built. The module must export a <code>Strategy</code>; the first
export with a <code>name</code>, <code>expected</code>, <code>fault</code>,
<code>munmap</code> and <code>mmap</code> is the one explored. Choosing another strategy above
loads its code (your edits are lost); <em>Reset</em> reloads the chosen one's.</p>
<textarea id="pg-source" name="source" spellcheck="false" rows="24" aria-label="The strategy's TypeScript module">${
      first?.source ?? ""
    }</textarea>
<p><button type="button" id="pg-reset">Reset to the chosen strategy's code</button></p>
</details>
<div class="pg-row pg-actions">
<button type="submit" id="pg-explore">Explore</button>
<button type="button" id="pg-cancel" disabled>Cancel</button>
<span class="pg-progress" id="pg-progress" role="status" aria-live="polite"></span>
</div>
</form>
<section class="pg-result" id="pg-result" hidden aria-label="Result">
<h2 id="pg-verdict"></h2>
<dl class="facts" id="pg-facts"></dl>
<section class="violation-box" id="pg-violation" hidden><h2 id="pg-violation-title"></h2><p id="pg-violation-message"></p></section>
<div class="trace-layout" id="pg-trace" hidden>
<section class="trace-main" aria-label="Trace">${STEPPER}
<div id="pg-table"></div></section>
<aside class="trace-side"><div id="pg-objects"></div><section class="replay" id="pg-replay" hidden><h2>Replay it</h2>
<p id="pg-replay-why"></p>
<div class="command"><pre><code id="pg-command"></code></pre></div>
<p class="token">Token: <code id="pg-token"></code></p></section></aside>
</div>
</section>
<script type="application/json" id="playground-data">${new Html(playgroundData(input))}</script>`,
  });
  // The worker is started from a Blob URL: the site's policy plus `worker-src blob:`.
  const policy = "script-src 'self';";
  if (!html.includes(policy)) throw new Error("the layout's Content-Security-Policy changed");
  return html.replace(policy, "script-src 'self'; worker-src blob:;");
}
