/**
 * The trace viewer: one page per counterexample. One column per CPU, one row per step,
 * the step that broke a rule marked; the objects involved with their history (what
 * allocated, unlinked, freed them, and at which step); the replay token and the command
 * that re-runs it. `assets/trace.js` adds the stepping (Next/Prev, arrow keys, rows after
 * the current step dimmed); without it the page is the whole trace, still readable.
 *
 * @module
 */

import type { Trace, TraceStep } from "../mod.ts";
import { Html, layout, markup, type Part, relativeTo, type SiteContext } from "./render.ts";

/** A labelled fact shown above the trace (strategy, scenario, executions...). */
export interface Fact {
  readonly label: string;
  readonly value: Part;
}

/** Everything a trace page shows. */
export interface TracePageInput {
  /** Site-relative path of the page, e.g. `traces/rcu-gfp-nowait.fault-vs-munmap.html`. */
  readonly path: string;
  /** What ran, e.g. `rcu-gfp-nowait × fault-vs-munmap`. */
  readonly title: string;
  /** Violation kind, or `step-budget` for a livelock. */
  readonly kind: string;
  readonly message: string;
  readonly trace: Trace;
  /** The schedule, as the explorer encodes it. */
  readonly schedule: string;
  readonly preemptions?: number;
  /** The replay token, when the trace comes from a strategy × scenario pair. */
  readonly token?: string;
  /** How to re-run it otherwise (e.g. the note's test), and why there is no token. */
  readonly rerun?: { readonly command: string; readonly why: string };
  readonly facts: readonly Fact[];
  /** Pages that show this trace (matrix, notes), site-relative. */
  readonly shownIn: readonly { readonly label: string; readonly href: string }[];
}

/** A link to a row of the trace; trace.js moves the current step there. */
function stepLink(step: string | number, text: string): Html {
  return markup`<a class="step-ref" href="#step-${step}" data-step-ref="${step}">${text}</a>`;
}

/**
 * `text`, escaped, with every `step N` turned into a link to that row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linkSteps } from "./trace_view.ts";
 * assert.equal(
 *   linkSteps("freed <here> (step 26)").value,
 *   'freed &lt;here&gt; (<a class="step-ref" href="#step-26" data-step-ref="26">step 26</a>)',
 * );
 * ```
 */
export function linkSteps(text: string): Html {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(/\bstep (\d+)\b/g)) {
    parts.push(text.slice(last, m.index), stepLink(m[1], m[0]));
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return markup`${parts}`;
}

/** What kind of object a name such as `PUD@0x0` or `VMA@0x3fe00000` stands for. */
export function objectKind(name: string): string {
  const prefix = name.split("@")[0];
  if (/^(PGD|P4D|PUD|PMD|PTE)$/.test(prefix)) return `page table (${prefix})`;
  if (prefix === "VMA") return "VMA (struct vm_area_struct)";
  if (prefix === "page") return "user page";
  if (prefix === "mm") return "mm_struct";
  return "object";
}

/**
 * How the command line is run, as a reader copies it: the wrapper at the root of a
 * clone, which installs Deno from npm the first time (the command line prints the same
 * form; `tests/full/readme_commands.ts` checks that the two agree). Not `deno task cli`:
 * after the README's set-up there is no `deno` on PATH.
 */
export const CLI = "./faultline";

/**
 * The shell command that replays a token, quoted for a POSIX shell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replayCommand } from "./trace_view.ts";
 * assert.equal(
 *   replayCommand("faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0"),
 *   "./faultline replay 'faultline1:rcu-gfp-nowait:fault-vs-munmap:0*8.1*23.0'",
 * );
 * ```
 */
export function replayCommand(token: string): string {
  return `${CLI} replay ${shellQuote(token)}`;
}

/** `text` as one word for a POSIX shell: in single quotes, its own quotes escaped. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

function accessesTitle(s: TraceStep): string {
  return s.accesses.map((a) => `${a.kind} ${a.obj}${a.part ? `.${a.part}` : ""}`).join(", ");
}

function stepCell(s: TraceStep): Html {
  return markup`<span class="label">${s.label}</span>${
    s.detail && markup` <span class="detail">${s.detail}</span>`
  }${s.choice && markup` <span class="choice">[${s.choice}]</span>`}${
    s.notes.length > 0 && markup` <span class="notes">→ ${s.notes.join(", ")}</span>`
  }`;
}

/** The columns a trace shows: the declared ones that have a step, then any others. */
function columnsOf(trace: Trace): string[] {
  const used = new Set(trace.steps.map((s) => s.column));
  const cols = trace.columns.filter((c) => used.has(c));
  for (const c of used) if (!cols.includes(c)) cols.push(c);
  return cols;
}

/**
 * The table: a header of CPU columns, one row per step (`tr[data-step]`, the violating
 * one with class `violation`), and an `end` row when the check at exit found the
 * violation.
 */
export function traceTable(trace: Trace): Html {
  const cols = columnsOf(trace);
  const bad = trace.violation?.step;
  const rows = trace.steps.map((s) => {
    const cells = cols.map((c) =>
      c === s.column
        ? markup`<td class="cpu" title="${accessesTitle(s)}">${stepCell(s)}</td>`
        : markup`<td></td>`
    );
    return markup`<tr id="step-${s.step}" data-step="${s.step}" data-column="${s.column}"${
      s.step === bad ? markup` class="violation"` : ""
    }><th scope="row"><a href="#step-${s.step}">${
      s.step === bad ? "» " : ""
    }${s.step}</a></th>${cells}</tr>\n`;
  });
  const v = trace.violation;
  const endStep = (trace.steps.at(-1)?.step ?? 0) + 1;
  const end = v && v.step === undefined &&
    markup`<tr id="step-${endStep}" data-step="${endStep}" class="violation at-exit"><th scope="row"><a href="#step-${endStep}">» end</a></th><td colspan="${cols.length}">end of the execution: the final check finds <strong>${v.kind}</strong></td></tr>\n`;
  const heads = cols.map((c) => markup`<th scope="col">${c}</th>`);
  return markup`<div class="trace-wrap"><table class="trace">
<thead><tr><th scope="col">step</th>${heads}</tr></thead>
<tbody>
${rows}${end}</tbody>
</table></div>`;
}

/** The objects the violation names: what they are, their history, the steps touching them. */
export function objectsPanel(trace: Trace): Html {
  const objects = trace.violation?.objects ?? [];
  if (objects.length === 0) return markup``;
  const items = objects.map((o) => {
    const touched = trace.steps.filter((s) => s.accesses.some((a) => a.obj === o.name))
      .map((s) => s.step);
    const history = o.history.map((h) => {
      const step = /\bstep (\d+)\b/.exec(h)?.[1];
      return markup`<li${step ? markup` data-history-step="${step}"` : ""}>${linkSteps(h)}</li>`;
    });
    const links = touched.map((n, i) => markup`${i ? ", " : ""}${stepLink(n, String(n))}`);
    const accessed = touched.length > 0 &&
      markup`<p class="touched">Accessed at steps ${links} <button type="button" class="focus" data-focus-steps="${
        touched.join(" ")
      }" aria-pressed="false" hidden>mark these rows</button></p>`;
    return markup`<section class="object">
<h3><code>${o.name}</code> <span class="obj-kind">${objectKind(o.name)}</span></h3>
<ol class="history">${history}</ol>${accessed}
</section>`;
  });
  return markup`<section class="objects"><h2>Objects involved</h2>${items}</section>`;
}

function commandBox(command: string): Html {
  return markup`<div class="command"><pre><code>${command}</code></pre><button type="button" class="copy" data-copy="${command}" hidden>Copy</button></div>`;
}

function replayPanel(input: TracePageInput): Html {
  if (input.token) {
    return markup`<section class="replay"><h2>Replay it</h2>
<p>The token names the strategy, the scenario and the schedule; run at the root of a clone of the
repository, this prints the same trace, step for step (the first run installs Deno from npm under
<code>tools/</code>):</p>
${commandBox(replayCommand(input.token))}
<p class="token">Token: <code>${input.token}</code></p></section>`;
  }
  if (input.rerun) {
    return markup`<section class="replay"><h2>Re-run it</h2><p>${input.rerun.why}</p>
${commandBox(input.rerun.command)}
<p class="token">Schedule: <code>${input.schedule}</code></p></section>`;
  }
  return markup``;
}

/**
 * The step-through controls (hidden until `trace.js` runs), on the trace pages and the
 * playground's result.
 */
export const STEPPER = markup`<div class="stepper" hidden>
<button type="button" data-go="first" title="First step (Home)">⇤ First</button>
<button type="button" data-go="prev" title="Previous step (← or k)">← Prev</button>
<span class="position" data-position aria-live="polite"></span>
<button type="button" data-go="next" title="Next step (→ or j)">Next →</button>
<button type="button" data-go="last" title="Last step (End)">Last ⇥</button>
<span class="keys">Keys: ← → (or k j), Home, End; click a row to jump to it.</span>
</div>`;

/** The whole trace page. */
export function tracePage(ctx: SiteContext, input: TracePageInput): string {
  const v = input.trace.violation;
  const where = v?.step !== undefined
    ? markup`at ${stepLink(v.step, `step ${v.step}`)}`
    : v
    ? "at the end of the execution"
    : "(no end within the step budget)";
  const facts: Fact[] = [
    ...input.facts,
    { label: "steps", value: input.trace.steps.length },
    ...(input.preemptions !== undefined
      ? [{ label: "preemptions", value: input.preemptions }]
      : []),
  ];
  const shown = input.shownIn.length > 0 &&
    markup`<p class="shown-in">Shown in ${
      input.shownIn.map((s, i) =>
        markup`${i ? ", " : ""}<a href="${relativeTo(input.path, s.href)}">${s.label}</a>`
      )
    }.</p>`;
  return layout(ctx, {
    path: input.path,
    title: `${input.kind}: ${input.title}`,
    bodyClass: "trace-page",
    wide: true,
    scripts: ["assets/trace.js"],
    body:
      markup`<h1><span class="kind">${input.kind}</span> <span class="pair">${input.title}</span></h1>
<dl class="facts">${
        facts.map((f) => markup`<div><dt>${f.label}</dt><dd>${f.value}</dd></div>`)
      }</dl>
<section class="violation-box"><h2>${input.kind} ${where}</h2><p>${
        linkSteps(input.message)
      }</p></section>
${shown}
<div class="trace-layout">
<section class="trace-main" aria-label="Trace">${STEPPER}
${traceTable(input.trace)}</section>
<aside class="trace-side">${objectsPanel(input.trace)}${replayPanel(input)}</aside>
</div>`,
  });
}
