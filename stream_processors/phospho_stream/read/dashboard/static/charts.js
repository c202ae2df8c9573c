// Hand-written SVG charts (no library, nothing fetched): bars, horizontal bars, a steps timeline.

import { fmtNum, h, s } from "./dom.js";
import { table } from "./widgets.js";

const W = 640;

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

// labels: [..]; series: [{name, values, cls}] stacked bottom-up
export function barChart(labels, series, { height = 220, yLabel = "" } = {}) {
  const left = 56, bottom = 36, top = 12, plotH = height - top - bottom, plotW = W - left - 8;
  const totals = labels.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => top + plotH - (v / max) * plotH;
  const step = plotW / Math.max(1, labels.length);
  const bw = Math.max(1, step * 0.8);
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": yLabel });
  for (let t = 0; t <= 4; t++) {
    const v = (max / 4) * t;
    svg.append(s("line", { x1: left, x2: W - 8, y1: y(v), y2: y(v), class: "gridline" }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtNum(v, 1)));
  }
  const every = Math.ceil(labels.length / 8);
  labels.forEach((label, i) => {
    let base = 0;
    const x = left + i * step + (step - bw) / 2;
    for (const sr of series) {
      const v = sr.values[i] || 0;
      if (v > 0) {
        svg.append(s("rect", { x, y: y(base + v), width: bw, height: y(base) - y(base + v), class: `bar ${sr.cls || ""}`,
          "data-label": label }, s("title", null, `${label} · ${sr.name}: ${fmtNum(v, 2)}`)));
      }
      base += v;
    }
    if (i % every === 0) {
      svg.append(s("text", { x: x + bw / 2, y: height - bottom + 16, "text-anchor": "middle", class: "tick" }, label));
    }
  });
  svg.append(s("line", { x1: left, x2: W - 8, y1: y(0), y2: y(0), class: "axis" }));
  return svg;
}

// rows: [[label, value]]: one bar per row, labels on the left
export function hbarChart(rows, { valueLabel = "" } = {}) {
  const rowH = 26, labelW = 260, height = rows.length * rowH + 8, plotW = W - labelW - 70;
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const svg = s("svg", { viewBox: `0 0 ${W} ${Math.max(height, 30)}`, class: "chart", role: "img", "aria-label": valueLabel });
  rows.forEach(([label, value], i) => {
    const yy = 4 + i * rowH;
    const short = String(label).length > 40 ? String(label).slice(0, 39) + "…" : String(label);
    svg.append(s("text", { x: labelW - 8, y: yy + 17, "text-anchor": "end", class: "label" }, short, s("title", null, String(label))),
      s("rect", { x: labelW, y: yy + 4, width: Math.max(1, (value / max) * plotW), height: rowH - 8, class: "bar" },
        s("title", null, `${label}: ${fmtNum(value, 2)} ${valueLabel}`)),
      s("text", { x: labelW + (value / max) * plotW + 6, y: yy + 17, class: "tick" }, fmtNum(value, 1)));
  });
  return svg;
}

// spans in order: one row each, placed on the task's time axis
export function timeline(spans) {
  if (!spans.length) return h("p", { class: "muted" }, "No steps recorded for this task.");
  const t0 = Math.min(...spans.map((sp) => sp.start_ms));
  const t1 = Math.max(...spans.map((sp) => sp.end_ms), t0 + 1);
  const rowH = 24, labelW = 200, plotW = W - labelW - 90, height = spans.length * rowH + 24;
  const x = (t) => labelW + ((t - t0) / (t1 - t0)) * plotW;
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart timeline", role: "img", "aria-label": "steps" });
  spans.forEach((sp, i) => {
    const yy = i * rowH;
    const model = sp.response_model || sp.request_model;
    svg.append(s("g", { "data-testid": "step", "data-name": sp.name },
      s("text", { x: labelW - 8, y: yy + 16, "text-anchor": "end", class: "label" }, `${i + 1}. ${sp.name}`),
      s("rect", { x: x(sp.start_ms), y: yy + 5, width: Math.max(2, x(sp.end_ms) - x(sp.start_ms)), height: rowH - 10,
        class: `bar ${sp.status_code === "ERROR" ? "ko" : model ? "llm" : ""}` },
        s("title", null, `${sp.name}${model ? " · " + model : ""} · ${fmtNum(sp.duration_ms)} ms`)),
      s("text", { x: Math.min(x(sp.end_ms) + 6, W - 84), y: yy + 16, class: "tick" }, `${fmtNum(sp.duration_ms)} ms`)));
  });
  svg.append(s("text", { x: labelW, y: height - 4, class: "tick" }, "0 ms"),
    s("text", { x: labelW + plotW, y: height - 4, "text-anchor": "end", class: "tick" }, `${fmtNum(t1 - t0)} ms`));
  return svg;
}

// a titled chart with its numbers a click away
export function chartCard(title, chart, columns, rows, testid) {
  const numbers = h("div", { class: "numbers", hidden: true }, table(columns, rows));
  const toggle = h("button", { type: "button", class: "link", "data-testid": "numbers-toggle",
    onclick: () => { numbers.hidden = !numbers.hidden; toggle.textContent = numbers.hidden ? "Numbers" : "Chart only"; } },
  "Numbers");
  return h("section", { class: "chart-card", "data-testid": testid || null },
    h("header", null, h("h2", null, title), toggle), chart, numbers);
}
