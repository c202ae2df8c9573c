// A task's steps (spans): on a timeline, in a table, and each step's input and output. Clicking a
// step on the timeline or in the table opens its input and output.

import { fmtNum, fmtTime, h, s } from "./dom.js";
import { chartWidth } from "./charts.js";
import { table } from "./widgets.js";

function openStep(box, i) {
  const step = box.querySelector(`details[data-step="${i}"]`);
  if (!step) return;
  step.open = true;
  step.scrollIntoView({ block: "nearest" });
}

// spans in order: one row each, placed on the task's time axis
function timeline(spans, onPick) {
  if (!spans.length) return h("p", { class: "muted" }, "No steps recorded for this task.");
  const W = chartWidth();
  const t0 = Math.min(...spans.map((sp) => sp.start_ms));
  const t1 = Math.max(...spans.map((sp) => sp.end_ms), t0 + 1);
  const rowH = 24, labelW = Math.round(W * 0.31), plotW = W - labelW - 90, height = spans.length * rowH + 24;
  const x = (t) => labelW + ((t - t0) / (t1 - t0)) * plotW;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart timeline", role: "img", "aria-label": "steps" });
  spans.forEach((sp, i) => {
    const yy = i * rowH;
    const model = sp.response_model || sp.request_model;
    const g = s("g", { "data-testid": "step", "data-name": sp.name, class: "step" },
      s("text", { x: labelW - 8, y: yy + 16, "text-anchor": "end", class: "label" }, `${i + 1}. ${sp.name}`),
      s("rect", { x: x(sp.start_ms), y: yy + 5, width: Math.max(2, x(sp.end_ms) - x(sp.start_ms)), height: rowH - 10,
        class: `bar ${sp.status_code === "ERROR" ? "ko" : model ? "llm" : ""}` },
        s("title", null, `${sp.name}${model ? " · " + model : ""} · ${fmtNum(sp.duration_ms)} ms`)),
      s("text", { x: Math.min(x(sp.end_ms) + 6, W - 84), y: yy + 16, class: "tick" }, `${fmtNum(sp.duration_ms)} ms`));
    if (onPick) g.addEventListener("click", () => onPick(i));
    svg.append(g);
  });
  svg.append(s("text", { x: labelW, y: height - 4, class: "tick" }, "0 ms"),
    s("text", { x: labelW + plotW, y: height - 4, "text-anchor": "end", class: "tick" }, `${fmtNum(t1 - t0)} ms`));
  return svg;
}

function stepsTable(spans, onPick) {
  const box = table([
    { label: "#", render: (r) => r.i },
    { label: "Step", key: "name" },
    { label: "Start (UTC)", render: (r) => fmtTime(r.start_ms) },
    { label: "Duration", render: (r) => `${fmtNum(r.duration_ms)} ms`, num: true, csv: (r) => r.duration_ms },
    { label: "Model", render: (r) => r.response_model || r.request_model || "" },
    { label: "Tokens in", key: "input_tokens", num: true },
    { label: "Tokens out", key: "output_tokens", num: true },
    { label: "Status", render: (r) => r.status_code + (r.status_message ? `: ${r.status_message}` : "") },
  ], spans.map((sp, i) => ({ ...sp, i: i + 1 })), { csv: "steps" });
  if (onPick) {
    box.querySelectorAll("tbody tr").forEach((tr, i) => {
      tr.classList.add("clickable");
      tr.addEventListener("click", () => onPick(i));
    });
  }
  return box;
}

// each step's input and output (the first 2,000 characters the view gives), folded
function stepIO(spans, key) {
  return h("div", { class: "step-io" }, spans.map((sp, i) => {
    const hasText = sp.input_text || sp.output_text;
    return h("details", { class: "step", "data-step": i, "data-testid": "step-io", "data-name": sp.name,
      "data-keep": `${key}-step-${i}` },
    h("summary", null, `${i + 1}. ${sp.name}`, h("span", { class: "muted small" },
      ` · ${fmtNum(sp.duration_ms)} ms${hasText ? "" : " · no input or output recorded"}`)),
    sp.input_text ? h("div", { class: "io" }, h("h3", null, "Input"), h("pre", { "data-testid": "step-input" }, sp.input_text)) : null,
    sp.output_text ? h("div", { class: "io" }, h("h3", null, "Output"), h("pre", { "data-testid": "step-output" }, sp.output_text)) : null);
  }));
}

// the timeline, the table and the inputs and outputs of a task's steps; `key` names them for a
// live refresh (which keeps the open steps open)
export function steps(spans, key = "steps") {
  if (!spans.length) return timeline(spans);
  const box = h("div", { class: "steps-box" });
  const pick = (i) => openStep(box, i);
  box.append(timeline(spans, pick), stepsTable(spans, pick), stepIO(spans, key));
  return box;
}
