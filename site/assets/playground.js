/**
 * The playground page's behaviour (see site/playground.ts). The form picks a strategy,
 * a scenario and a search; the textarea holds the chosen strategy's module. Explore
 * starts a Web Worker from a Blob URL of the bundled core (`FAULTLINE_CORE_SOURCE`, set
 * by assets/playground-core.js), which works from file:// where `new Worker(file URL)`
 * does not. When the code was edited, the page first transpiles it with TypeScript's
 * `transpileModule` (assets/typescript.js, loaded on first use) into CommonJS and
 * appends it to the worker's script as `faultlinePlayground.define(path, factory)`;
 * nothing is evaluated from a string. Progress arrives from the worker; Cancel
 * terminates it. The result shows the verdict, the counts and the trace, rendered in
 * the worker by the trace viewer's own functions and stepped by assets/trace.js, which
 * is loaded again for each trace. Plain DOM, no framework, no network.
 */
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("playground-data").textContent);
  const $ = (id) => document.getElementById(id);
  const form = $("playground");
  const strategySel = $("pg-strategy");
  const scenarioSel = $("pg-scenario");
  const modeSel = $("pg-mode");
  const budget = $("pg-budget");
  const source = $("pg-source");
  const pathEl = $("pg-path");
  const edited = $("pg-edited");
  const exploreBtn = $("pg-explore");
  const cancelBtn = $("pg-cancel");
  const progress = $("pg-progress");
  const result = $("pg-result");
  let worker = null;
  let blobUrl = null;

  const chosen = () => data.strategies.find((s) => s.name === strategySel.value);
  const isEdited = () => source.value !== chosen().source;
  const showEdited = () => edited.hidden = !isEdited();

  function load() {
    const s = chosen();
    source.value = s.source;
    pathEl.textContent = s.path;
    showEdited();
  }
  strategySel.addEventListener("change", load);
  $("pg-reset").addEventListener("click", load);
  source.addEventListener("input", showEdited);
  // Tab inserts two spaces in the editor instead of leaving it.
  source.addEventListener("keydown", (e) => {
    if (e.key !== "Tab" || e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
    showEdited();
  });

  let tsLoading = null;
  /** TypeScript's compiler (assets/typescript.js, about 9 MB), loaded once, on first use. */
  function typescript() {
    if (globalThis.ts) return Promise.resolve(globalThis.ts);
    if (!tsLoading) {
      tsLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "assets/typescript.js";
        script.onload = () => resolve(globalThis.ts);
        script.onerror = () => reject(new Error("could not load assets/typescript.js"));
        document.body.append(script);
      });
    }
    return tsLoading;
  }

  /** The edited module as CommonJS, or throws with TypeScript's syntax errors. */
  async function transpile(text, path) {
    const ts = await typescript();
    const out = ts.transpileModule(text, {
      fileName: path,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: false,
      },
    });
    const errors = (out.diagnostics ?? []).filter((d) =>
      d.category === ts.DiagnosticCategory.Error
    );
    if (errors.length > 0) {
      throw new Error(
        errors.map((d) => {
          const msg = ts.flattenDiagnosticMessageText(d.messageText, "\n");
          if (!d.file || d.start === undefined) return msg;
          const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
          return `${path}:${line + 1}:${character + 1}: ${msg}`;
        }).join("\n"),
      );
    }
    return out.outputText;
  }

  function stop() {
    if (worker) worker.terminate();
    worker = null;
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = null;
    exploreBtn.disabled = false;
    cancelBtn.disabled = true;
    form.classList.remove("running");
  }

  const count = (n) => n.toLocaleString("en-US");
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  function fact(dl, label, value) {
    const div = el("div");
    div.append(el("dt", label), el("dd", value));
    dl.append(div);
  }

  function showResult(r, wasEdited, path) {
    result.hidden = false;
    result.dataset.outcome = r.outcome;
    const verdict = $("pg-verdict");
    verdict.textContent = "";
    verdict.append(
      el("span", r.outcome.replace(/^violation:/, "violation: "), "kind"),
      " ",
      el("span", `${r.strategy}${wasEdited ? " (edited)" : ""} × ${r.scenario}`, "pair"),
    );
    const facts = $("pg-facts");
    facts.textContent = "";
    fact(facts, "executions", count(r.executions));
    fact(facts, "search", r.exhaustive ? "exhaustive" : "not exhaustive");
    fact(facts, "time", `${count(r.millis)} ms`);
    fact(
      facts,
      "declared",
      r.expected === undefined
        ? "(none declared)"
        : `${r.expected}${r.asExpected ? " (as found)" : " (NOT what was found)"}`,
    );
    const kinds = Object.entries(r.violations);
    if (kinds.length > 0) {
      fact(facts, "violating executions", kinds.map(([k, n]) => `${k}: ${count(n)}`).join(", "));
    }
    if (!r.counterexample && !r.exhaustive) {
      fact(facts, "note", "nothing found, but the search was not exhaustive: this shows nothing");
    }
    const ce = r.counterexample;
    const box = $("pg-violation");
    const traceBox = $("pg-trace");
    box.hidden = !ce;
    traceBox.hidden = !ce;
    if (!ce) return;
    fact(facts, "steps", String(ce.steps));
    fact(facts, "preemptions", String(ce.preemptions));
    $("pg-violation-title").textContent = `${ce.kind} ${
      ce.violationStep !== undefined ? `at step ${ce.violationStep}` : "at the end of the execution"
    }`;
    // HTML made in the worker by site/trace_view.ts (linkSteps, traceTable, objectsPanel),
    // which escapes every text it is given: the same markup as a trace page.
    $("pg-violation-message").innerHTML = ce.messageHtml;
    $("pg-table").innerHTML = ce.tableHtml;
    $("pg-objects").innerHTML = ce.objectsHtml;
    const replay = $("pg-replay");
    replay.hidden = !r.token;
    if (r.token) {
      $("pg-token").textContent = r.token;
      $("pg-command").textContent = `./faultline replay '${r.token}'`;
      $("pg-replay-why").textContent = wasEdited
        ? `The token names the strategy, the scenario and the schedule. This run was of an ` +
          `edited ${path}: the command replays the schedule on the repository's version, so ` +
          `put your edit into a clone first.`
        : `The token names the strategy, the scenario and the schedule; run at the root of a ` +
          `clone of the repository, this prints the same trace, step for step.`;
    }
    // The stepper: assets/trace.js, run again over the new table.
    history.replaceState(null, "", location.pathname + location.search);
    document.querySelectorAll("script[data-stepper]").forEach((s) => s.remove());
    const script = document.createElement("script");
    script.src = "assets/trace.js";
    script.dataset.stepper = "";
    script.onload = () => result.dataset.stepping = "ready";
    document.body.append(script);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (worker) return;
    const s = chosen();
    const wasEdited = isEdited();
    const request = {
      type: "run",
      scenario: scenarioSel.value,
      mode: modeSel.value,
      maxExecutions: Math.max(0, Math.floor(Number(budget.value) || 0)),
    };
    let code = globalThis.FAULTLINE_CORE_SOURCE;
    exploreBtn.disabled = true;
    cancelBtn.disabled = false;
    form.classList.add("running");
    result.hidden = true;
    delete result.dataset.stepping;
    try {
      if (wasEdited) {
        progress.textContent = "transpiling the edited module…";
        const js = await transpile(source.value, s.path);
        code += `\n;faultlinePlayground.define(${
          JSON.stringify(s.path)
        }, function (require, exports, module) {\n${js}\n});\n`;
        request.edited = s.path;
      } else {
        request.strategy = s.name;
      }
    } catch (err) {
      stop();
      progress.textContent = `the edited module does not compile:\n${err.message}`;
      progress.dataset.state = "error";
      return;
    }
    if (exploreBtn.disabled === false) return; // cancelled while transpiling
    blobUrl = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    worker = new Worker(blobUrl);
    const started = performance.now();
    progress.dataset.state = "running";
    progress.textContent = "exploring…";
    worker.onmessage = (m) => {
      const msg = m.data;
      if (msg.type === "progress") {
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        progress.textContent = `exploring: ${count(msg.executions)} executions, ` +
          `${count(msg.violations)} violating, ${secs} s`;
        return;
      }
      stop();
      if (msg.type === "error") {
        progress.dataset.state = "error";
        progress.textContent = `error: ${msg.message}`;
        return;
      }
      progress.dataset.state = "done";
      progress.textContent = `done: ${count(msg.executions)} executions in ${count(msg.millis)} ms`;
      showResult(msg, wasEdited, s.path);
    };
    worker.onerror = (ev) => {
      ev.preventDefault();
      stop();
      progress.dataset.state = "error";
      progress.textContent = `error in the worker: ${ev.message}`;
    };
    worker.postMessage(request);
  });

  cancelBtn.addEventListener("click", () => {
    const wasRunning = worker !== null;
    stop();
    progress.dataset.state = "cancelled";
    progress.textContent = wasRunning ? `cancelled; ${progress.textContent}` : "cancelled";
  });
})();
