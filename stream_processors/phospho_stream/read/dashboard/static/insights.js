// Insights: tasks and sessions per day, session lengths and durations, the messages that end
// sessions, tokens per model, feedback over time. The charts load in parallel; numbers a click away.

import { barChart, chartCard, hbarChart } from "./charts.js";
import { api, clear, errorBox, fmtDuration, fmtNum, h } from "./dom.js";
import { cards } from "./widgets.js";

const slot = (testid) => h("div", { class: "slot", "data-testid": testid }, h("p", { class: "muted" }, "Loading…"));

async function fill(el, load) {
  try {
    clear(el, await load());
  } catch (err) {
    clear(el, errorBox(err));
  }
}

function daily(rows) {
  const labels = rows.map((r) => r.day);
  return [
    chartCard("Tasks per day", barChart(labels, [{ name: "tasks", values: rows.map((r) => r.tasks) }]),
      [{ label: "Day", key: "day" }, { label: "Tasks", key: "tasks", num: true }, { label: "Tokens", key: "tokens", num: true }],
      rows, "chart-tasks-per-day"),
    chartCard("Feedback over time", barChart(labels, [
      { name: "success", values: rows.map((r) => r.success), cls: "ok" },
      { name: "failure", values: rows.map((r) => r.failure), cls: "ko" }]),
    [{ label: "Day", key: "day" }, { label: "Success", key: "success", num: true }, { label: "Failure", key: "failure", num: true },
      { label: "Success ratio", render: (r) => (r.success + r.failure ? `${Math.round((100 * r.success) / (r.success + r.failure))} %` : "—"), num: true }],
    rows, "chart-feedback"),
  ];
}

// an axis label: 45s, 1.1m, 4.3h, 2.5d
const short = (sec) => (sec < 60 ? `${sec}s` : sec < 3600 ? `${+(sec / 60).toFixed(1)}m`
  : sec < 86400 ? `${+(sec / 3600).toFixed(1)}h` : `${+(sec / 86400).toFixed(1)}d`);

function sessions(d) {
  const pairs = (xs) => xs.map(([k, v]) => ({ k, v }));
  const buckets = d.duration_buckets.map(([lo, hi, n]) => ({
    k: hi === 0 ? "0 s" : lo === 0 ? `≤ ${short(hi)}` : `${short(lo)}–${short(hi)}`, v: n }));
  return [
    cards([
      ["Sessions", fmtNum(d.sessions), "insight-sessions"], ["Tasks / session", fmtNum(d.avg_tasks, 2)],
      ["Avg duration", fmtDuration(d.avg_duration_s)], ["Median duration", fmtDuration(d.duration_quantiles.p50)],
      ["p90 duration", fmtDuration(d.duration_quantiles.p90)], ["Dead letters", fmtNum(d.dead_letters)],
    ]),
    chartCard("Sessions per day", barChart(d.per_day.map((p) => p[0]), [{ name: "sessions", values: d.per_day.map((p) => p[1]) }]),
      [{ label: "Day", key: "k" }, { label: "Sessions", key: "v", num: true }], pairs(d.per_day), "chart-sessions-per-day"),
    chartCard("Session length (tasks per session)",
      barChart(d.lengths.map((p) => String(p[0])), [{ name: "sessions", values: d.lengths.map((p) => p[1]) }]),
      [{ label: "Tasks", key: "k" }, { label: "Sessions", key: "v", num: true }], pairs(d.lengths), "chart-session-lengths"),
    chartCard("Session duration", barChart(buckets.map((b) => b.k), [{ name: "sessions", values: buckets.map((b) => b.v) }]),
      [{ label: "Duration", key: "k" }, { label: "Sessions", key: "v", num: true }], buckets, "chart-session-durations"),
  ];
}

function endings({ endings: rows }) {
  return chartCard("Messages that end sessions", hbarChart(rows.map((r) => [r.message, r.sessions_ended]), { valueLabel: "sessions" }),
    [{ label: "Last message", key: "message" }, { label: "Sessions ended", key: "sessions_ended", num: true },
      { label: "Avg tasks in those sessions", key: "avg_session_tasks", num: true, digits: 1 }], rows, "chart-endings");
}

function models(rows) {
  return chartCard("Tokens per model", hbarChart(rows.map((r) => [r.model_name, r.total_tokens + r.span_tokens]), { valueLabel: "tokens" }),
    [{ label: "Model", key: "model_name" }, { label: "Tasks", key: "tasks", num: true },
      { label: "Prompt", key: "prompt_tokens", num: true }, { label: "Completion", key: "completion_tokens", num: true },
      { label: "Total", key: "total_tokens", num: true }, { label: "In steps", key: "span_tokens", num: true }], rows, "chart-models");
}

export async function renderInsights(view) {
  const tasks = (d) => [...daily(d.days), models(d.models)];
  const parts = [["insights/sessions", sessions, "slot-sessions"], ["insights/tasks", tasks, "slot-tasks"],
    ["insights/endings", endings, "slot-endings"]];
  const slots = parts.map(([, , testid]) => slot(testid));
  clear(view, h("div", { class: "heading" }, h("h1", null, "Insights")), h("div", { class: "insights" }, slots));
  await Promise.all(parts.map(([name, draw], i) => fill(slots[i], async () => draw(await api(name)))));
}
