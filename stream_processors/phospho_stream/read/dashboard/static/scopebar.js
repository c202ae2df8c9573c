// The bar under the header: the date range and project every page uses, and the live toggle.
// Changing the range or project moves to the same page with the new scope (and its first page).

import { h } from "./dom.js";
import { facets } from "./facets.js";
import { RANGES, getScope, isLive, scopeParams, setLive } from "./scope.js";

const toInput = (ms) => (ms === null ? "" : new Date(ms).toISOString().slice(0, 16));
const fromInput = (value) => (value ? Date.parse(value + "Z") : null);

// the bar; `go(scope)` moves to the current page with that scope, `onLive(on)` follows the toggle
export function scopeBar(go, onLive) {
  const range = h("select", { name: "range", "data-testid": "scope-range", "aria-label": "date range" },
    RANGES.map(([key, label]) => h("option", { value: key }, label)));
  const from = h("input", { type: "datetime-local", name: "from", "data-testid": "scope-from", "aria-label": "from (UTC)" });
  const to = h("input", { type: "datetime-local", name: "to", "data-testid": "scope-to", "aria-label": "to (UTC)" });
  const custom = h("span", { class: "custom" }, from, h("span", { class: "muted" }, "→"), to, h("span", { class: "muted small" }, "UTC"));
  const project = h("select", { name: "project", "data-testid": "scope-project", "aria-label": "project" },
    h("option", { value: "" }, "All projects"));
  const live = h("input", { type: "checkbox", name: "live", "data-testid": "live-toggle" });
  live.checked = isLive();

  const apply = () => {
    const scope = { range: range.value, from: null, to: null, project: project.value || null };
    if (scope.range === "custom") {
      scope.from = fromInput(from.value);
      scope.to = fromInput(to.value);
    }
    go(scopeParams(scope));
  };
  range.addEventListener("change", () => {
    custom.hidden = range.value !== "custom";
    if (range.value !== "custom" || from.value || to.value) apply();
  });
  for (const input of [from, to]) input.addEventListener("change", apply);
  project.addEventListener("change", apply);
  live.addEventListener("change", () => { setLive(live.checked); onLive(live.checked); });
  facets().then((f) => {
    const have = new Set([...project.options].map((o) => o.value));
    project.append(...f.projects.filter((p) => !have.has(p)).map((p) => h("option", { value: p }, p)));
    project.value = getScope().project || "";
  }).catch(() => {});

  const bar = h("div", { class: "scope", "data-testid": "scope" },
    h("label", null, h("span", null, "Dates"), range), custom,
    h("label", null, h("span", null, "Project"), project),
    h("label", { class: "live", title: "refresh this page every few seconds" }, live, h("span", null, "Live")));
  // shows the scope of the page on display
  bar.show = () => {
    const scope = getScope();
    range.value = scope.range;
    custom.hidden = scope.range !== "custom";
    from.value = toInput(scope.from);
    to.value = toInput(scope.to);
    if (scope.project && ![...project.options].some((o) => o.value === scope.project)) {
      project.append(h("option", { value: scope.project }, scope.project));
    }
    project.value = scope.project || "";
  };
  return bar;
}
