/**
 * Steps through a trace page (see site/trace_view.ts): one row is current, the rows
 * after it are dimmed, and so are the object-history lines of later steps. Next/Prev
 * buttons, arrow keys (or j/k), Home/End, a click on a row or on a "step N" link move
 * it; the URL's #step-N remembers it. Plain DOM, no framework, no network.
 */
(() => {
  "use strict";
  const table = document.querySelector("table.trace");
  if (!table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr[data-step]"));
  if (rows.length === 0) return;
  const stepper = document.querySelector(".stepper");
  const position = document.querySelector("[data-position]");
  const historyItems = Array.from(document.querySelectorAll("[data-history-step]"));
  const buttons = Array.from(document.querySelectorAll("[data-go]"));
  let current = 0;

  const stepOf = (row) => Number(row.dataset.step);
  const indexOfStep = (step) => rows.findIndex((row) => stepOf(row) === step);

  // `remember` writes the step into the URL; not on load, where a new #fragment would
  // make the browser scroll to that row once the page has loaded.
  function show(index, scroll, remember = true) {
    current = Math.max(0, Math.min(rows.length - 1, index));
    const step = stepOf(rows[current]);
    rows.forEach((row, k) => {
      row.classList.toggle("current", k === current);
      row.classList.toggle("future", k > current);
      if (k === current) row.setAttribute("aria-current", "step");
      else row.removeAttribute("aria-current");
    });
    for (const item of historyItems) {
      item.classList.toggle("future", Number(item.dataset.historyStep) > step);
    }
    const label = rows[current].querySelector("th")?.textContent?.replace("» ", "") ?? "";
    const last = rows.length - 1;
    if (position) {
      position.textContent = `step ${label} (${current + 1} of ${rows.length})` +
        (rows[current].classList.contains("violation") ? ": the violation" : "");
    }
    for (const b of buttons) {
      const go = b.dataset.go;
      b.disabled = (go === "first" || go === "prev") ? current === 0 : current === last;
    }
    if (remember) history.replaceState(null, "", `#step-${step}`);
    if (scroll) rows[current].scrollIntoView({ block: "nearest" });
  }

  const moves = {
    first: () => 0,
    prev: () => current - 1,
    next: () => current + 1,
    last: () => rows.length - 1,
  };
  for (const b of buttons) {
    b.addEventListener("click", () => show(moves[b.dataset.go](), true));
  }

  document.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t instanceof HTMLElement && t.closest("input, textarea, select, [contenteditable]")) return;
    const key = {
      ArrowRight: "next",
      ArrowDown: "next",
      j: "next",
      ArrowLeft: "prev",
      ArrowUp: "prev",
      k: "prev",
      Home: "first",
      End: "last",
    }[e.key];
    if (!key) return;
    e.preventDefault();
    show(moves[key](), true);
  });

  table.addEventListener("click", (e) => {
    const row = e.target instanceof Element ? e.target.closest("tr[data-step]") : null;
    if (!row) return;
    e.preventDefault();
    show(rows.indexOf(row), false);
  });

  document.addEventListener("click", (e) => {
    const link = e.target instanceof Element ? e.target.closest("[data-step-ref]") : null;
    if (!link) return;
    const k = indexOfStep(Number(link.dataset.stepRef));
    if (k < 0) return;
    e.preventDefault();
    show(k, true);
  });

  for (const b of document.querySelectorAll("button[data-focus-steps]")) {
    b.hidden = false;
    b.addEventListener("click", () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      const steps = new Set(b.dataset.focusSteps.split(" ").map(Number));
      for (const other of document.querySelectorAll("button[data-focus-steps]")) {
        other.setAttribute("aria-pressed", "false");
      }
      b.setAttribute("aria-pressed", String(on));
      for (const row of rows) row.classList.toggle("touches", on && steps.has(stepOf(row)));
    });
  }

  for (const b of document.querySelectorAll("button[data-copy]")) {
    if (!navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener("click", () => {
      navigator.clipboard.writeText(b.dataset.copy).then(
        () => b.textContent = "Copied",
        () => b.textContent = "Select and copy",
      );
    });
  }

  const fromHash = () => {
    const m = /^#step-(\d+)$/.exec(location.hash);
    return m ? indexOfStep(Number(m[1])) : -1;
  };
  addEventListener("hashchange", () => {
    const k = fromHash();
    if (k >= 0 && k !== current) show(k, true);
  });

  if (stepper) {
    stepper.hidden = false;
    const measure = () =>
      document.documentElement.style.setProperty("--stepper-height", `${stepper.offsetHeight}px`);
    measure();
    addEventListener("resize", measure);
  }
  document.body.classList.add("stepping");
  const start = fromHash();
  show(start >= 0 ? start : 0, start >= 0, false);
})();
