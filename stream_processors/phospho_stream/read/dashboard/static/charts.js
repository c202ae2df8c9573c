// Hand-written SVG charts (no library, nothing fetched): stacked bars, horizontal bars, a
// sparkline, and a titled card holding a chart with its numbers a click away. Charts are drawn
// narrower on a phone's screen, so that their text stays readable.

import { fmtNum, h, s } from "./dom.js";
import { table } from "./widgets.js";

// the drawing's width in SVG units: its text is sized against it
export const chartWidth = () => (window.innerWidth < 700 ? 360 : 640);
export const PALETTE = 8; // series colours c0..c7 in style.css

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

// labels: [..]; series: [{name, values, cls}] stacked bottom-up; fmt: a value's tick text
export function barChart(labels, series, { height = 220, yLabel = "", fmt = (v) => fmtNum(v, 1) } = {}) {
  const W = chartWidth();
  const left = W < 640 ? 44 : 56, bottom = 36, top = 12, plotH = height - top - bottom, plotW = W - left - 8;
  const totals = labels.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => top + plotH - (v / max) * plotH;
  const step = plotW / Math.max(1, labels.length);
  const bw = Math.max(1, step * 0.8);
  const svg = s("svg", { viewBox: `0 0 ${W} ${height}`, class: "chart", role: "img", "aria-label": yLabel });
  for (let t = 0; t <= 4; t++) {
    const v = (max / 4) * t;
    svg.append(s("line", { x1: left, x2: W - 8, y1: y(v), y2: y(v), class: "gridline" }),
      s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmt(v)));
  }
  const every = Math.ceil(labels.length / (W < 640 ? 4 : 8));
  labels.forEach((label, i) => {
    let base = 0;
    const x = left + i * step + (step - bw) / 2;
    for (const sr of series) {
      const v = sr.values[i] || 0;
      if (v > 0) {
        svg.append(s("rect", { x, y: y(base + v), width: bw, height: y(base) - y(base + v), class: `bar ${sr.cls || ""}`,
          "data-label": label }, s("title", null, `${label} · ${sr.name}: ${fmt(v)}`)));
      }
      base += v;
    }
    if (i % every === 0) {
      svg.append(s("text", { x: x + bw / 2, y: height - bottom + 16, "text-anchor": "middle", class: "tick" }, label));
    }
  });
  svg.append(s("line", { x1: left, x2: W - 8, y1: y(0), y2: y(0), class: "axis" }));
  if (series.length < 2) return svg;
  return h("div", null, svg, legend(series));
}

function legend(series) {
  return h("div", { class: "legend" }, series.map((sr) => h("span", null, h("i", { class: `swatch ${sr.cls || ""}` }), sr.name)));
}

// rows: [[label, value]]: one bar per row, labels on the left; fmt: a value's text
export function hbarChart(rows, { valueLabel = "", fmt = (v) => fmtNum(v, 1) } = {}) {
  const W = chartWidth();
  const rowH = 26, labelW = Math.round(W * 0.4), height = rows.length * rowH + 8, plotW = W - labelW - 70;
  const max = Math.max(1e-12, ...rows.map((r) => r[1]));
  const chars = W < 640 ? 22 : 40;
  const svg = s("svg", { viewBox: `0 0 ${W} ${Math.max(height, 30)}`, class: "chart", role: "img", "aria-label": valueLabel });
  rows.forEach(([label, value], i) => {
    const yy = 4 + i * rowH;
    const short = String(label).length > chars ? String(label).slice(0, chars - 1) + "…" : String(label);
    svg.append(s("text", { x: labelW - 8, y: yy + 17, "text-anchor": "end", class: "label" }, short, s("title", null, String(label))),
      s("rect", { x: labelW, y: yy + 4, width: Math.max(1, (value / max) * plotW), height: rowH - 8, class: "bar" },
        s("title", null, `${label}: ${fmt(value)} ${valueLabel}`)),
      s("text", { x: labelW + (value / max) * plotW + 6, y: yy + 17, class: "tick" }, fmt(value)));
  });
  return svg;
}

// a row's trend: one bar per day of `days` ([day, n] pairs), in a tiny chart
export function sparkline(pairs, days) {
  const byDay = new Map(pairs);
  const values = days.map((d) => byDay.get(d) || 0);
  const max = Math.max(1, ...values), w = 96, hgt = 22, bw = w / Math.max(1, values.length);
  return s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "spark", role: "img", "aria-label": "per day" },
    values.map((v, i) => s("rect", { x: i * bw, y: hgt - (v / max) * hgt, width: Math.max(0.5, bw - 0.5), height: (v / max) * hgt,
      class: "bar" }, s("title", null, `${days[i]}: ${fmtNum(v)}`))));
}

// a titled chart with its numbers (and their CSV) a click away; `key` keeps the numbers open
// across a live refresh
export function chartCard(title, chart, columns, rows, testid, { csv, note } = {}) {
  const numbers = h("div", { class: "numbers", hidden: true, "data-keep": testid ? `numbers-${testid}` : null },
    table(columns, rows, { csv: csv || testid || "chart" }));
  const toggle = h("button", { type: "button", class: "link", "data-testid": "numbers-toggle",
    onclick: () => numbers.setShown(numbers.hidden) }, "Numbers");
  numbers.setShown = (shown) => { numbers.hidden = !shown; toggle.textContent = shown ? "Chart only" : "Numbers"; };
  return h("section", { class: "chart-card", "data-testid": testid || null },
    h("header", null, h("h2", null, title), toggle), note ? h("p", { class: "muted small" }, note) : null, chart, numbers);
}

// a card saying why there is nothing to chart yet
export function emptyCard(title, text, testid) {
  return h("section", { class: "chart-card empty-card", "data-testid": testid || null },
    h("header", null, h("h2", null, title)), h("p", { class: "muted" }, text));
}
