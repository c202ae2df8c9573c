// Insights: sessions (per day, lengths, durations), tasks (over time, feedback and the LLM's
// verdicts, cost and tokens per model, languages, sentiment), events, users (power, struggling,
// costly, negative), the messages that end sessions, topics. The parts load in parallel, each
// with the page's dates and project; their numbers are a click away.

import { barChart, chartCard, emptyCard, hbarChart } from "./charts.js";
import { api, clear, errorBox, fmtDuration, fmtNum, fmtTime, fmtUsd, h, hashFor, link } from "./dom.js";
import { taskInsights } from "./insights_tasks.js";
import { cards, table } from "./widgets.js";

const slot = (testid) => h("div", { class: "slot", "data-testid": testid }, h("p", { class: "muted" }, "Loading…"));

async function fill(el, load) {
  try {
    clear(el, await load());
  } catch (err) {
    clear(el, errorBox(err));
  }
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

function events({ events: rows }) {
  if (!rows.length) return emptyCard("Events", "No event detected in these dates and project.", "chart-events");
  const top = rows.slice(0, 12);
  return chartCard("Events", hbarChart(top.map((r) => [r.event_name, r.detections]), { valueLabel: "detections" }),
    [{ label: "Event", render: (r) => link("event", { name: r.event_name }, r.event_name), csv: (r) => r.event_name },
      { label: "Detections", key: "detections", num: true }, { label: "Tasks", key: "tasks", num: true },
      { label: "Users", key: "users", num: true }], rows, "chart-events", { note: "most detected first · all on the Events page" });
}

const RANKINGS = [
  ["power", "Power users (most tasks)", "task_count"], ["struggling", "Struggling users (negative feedback, then errors)", "failure_count"],
  ["cost", "Costliest users", "cost_usd"], ["negative", "Most negative users (mean sentiment)", "sentiment_mean"],
];
const USER_COLUMNS = [
  { label: "User", render: (r) => link("user", { id: r.user_id }, r.user_id), csv: (r) => r.user_id },
  { label: "Tasks", key: "task_count", num: true }, { label: "Sessions", key: "session_count", num: true },
  { label: "✗ failure", key: "failure_count", num: true }, { label: "Errors", key: "tasks_with_errors", num: true },
  { label: "Cost", render: (r) => fmtUsd(r.cost_usd), num: true, csv: (r) => r.cost_usd },
  { label: "Sentiment", key: "sentiment_mean", num: true, digits: 2 },
  { label: "Last seen (UTC)", render: (r) => fmtTime(r.last_seen_ms) },
];

function users(d) {
  return [
    chartCard("Cost per user", d.cost.length ? hbarChart(d.cost.map((r) => [r.user_id, r.cost_usd]), { valueLabel: "USD", fmt: fmtUsd })
      : h("p", { class: "muted" }, "No cost in these dates."),
    USER_COLUMNS, d.cost, "chart-cost-per-user", { note: "the ten costliest" }),
    ...RANKINGS.map(([key, title]) => h("section", { class: "chart-card", "data-testid": `users-${key}` },
      h("header", null, h("h2", null, title), link("users", { sort: key === "power" ? "tasks" : key === "struggling" ? "failures" : key === "cost" ? "cost" : "sentiment",
        dir: key === "negative" ? "asc" : "desc" }, "all users →", { class: "small" })),
      table(USER_COLUMNS, d[key], { href: (r) => hashFor("user", { id: r.user_id }), id: (r) => r.user_id, csv: `users-${key}`,
        empty: "Nobody in these dates." }))),
  ];
}

function topics(d) {
  if (!d.topics.length) {
    return emptyCard("Topics", "No topics yet: the evaluation stage groups tasks into topics when it runs with an LLM "
      + "(llm: and evaluation: in the project config).", "topics");
  }
  return h("section", { class: "chart-card wide", "data-testid": "topics" },
    h("header", null, h("h2", null, "Topics"), h("span", { class: "muted small" }, `run ${d.run_id} · ${fmtTime(d.created_ms)} UTC`)),
    table([{ label: "Topic", key: "name" }, { label: "Tasks", key: "size", num: true },
      { label: "Terms", render: (r) => r.terms.join(", ") }, { label: "Examples", render: (r) => h("span", { class: "clip" }, r.examples.join(" · ")) },
      { label: "Method", key: "method" }], d.topics, { csv: "topics" }));
}

export async function renderInsights(view) {
  const parts = [
    ["insights/sessions", sessions, "slot-sessions"], ["insights/tasks", taskInsights, "slot-tasks"],
    ["events", events, "slot-events"], ["insights/users", users, "slot-users"],
    ["insights/endings", endings, "slot-endings"], ["insights/topics", topics, "slot-topics"],
  ];
  const slots = parts.map(([, , testid]) => slot(testid));
  clear(view, h("div", { class: "heading" }, h("h1", null, "Insights")), h("div", { class: "insights" }, slots));
  await Promise.all(parts.map(([name, draw], i) => fill(slots[i], async () => draw(await api(name)))));
}
