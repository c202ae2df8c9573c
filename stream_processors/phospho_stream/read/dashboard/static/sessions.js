// Sessions: one row per session window; opened, the whole transcript with each task's steps.

import { api, clear, eventChips, flagBadge, fmtDuration, fmtNum, fmtTime, fmtUsd, h, hashFor, langLabel, link,
  sentimentBadge } from "./dom.js";
import { facets } from "./facets.js";
import { steps } from "./steps.js";
import { modelOf } from "./tasks.js";
import { cards, filterForm, heading, pager, table } from "./widgets.js";

const FILTERS = ["user", "q", "event", "language"];
const score = (v) => (v === null || v === undefined ? "—" : fmtNum(v, 2));

export const SESSION_COLUMNS = [
  { label: "Start (UTC)", render: (r) => fmtTime(r.start_ms), sort: "start", csv: (r) => fmtTime(r.start_ms) },
  { label: "User", render: (r) => (r.user_id ? link("user", { id: r.user_id }, r.user_id) : "") },
  { label: "Tasks", key: "task_count", num: true, sort: "tasks" },
  { label: "Duration", render: (r) => fmtDuration(r.duration_s), num: true, sort: "duration", csv: (r) => r.duration_s },
  { label: "First input", render: (r) => h("span", { class: "clip" }, r.first_input), csv: (r) => r.first_input },
  { label: "Last input", render: (r) => h("span", { class: "clip" }, r.last_input), csv: (r) => r.last_input },
  { label: "Lang", render: (r) => (r.analyzed_count ? langLabel(r.language) : "") },
  { label: "Sentiment", render: (r) => score(r.sentiment_mean), num: true, sort: "sentiment", csv: (r) => r.sentiment_mean },
  { label: "Events", render: (r) => eventChips(null, r.event_counts), csv: (r) => JSON.stringify(r.event_counts) },
  { label: "Cost", render: (r) => fmtUsd(r.cost_usd), num: true, sort: "cost", csv: (r) => r.cost_usd },
  { label: "Feedback", render: feedbackCounts, sort: "failures", csv: (r) => `${r.success_count} success, ${r.failure_count} failure` },
];

function feedbackCounts(r) {
  if (!r.success_count && !r.failure_count) return h("span", { class: "muted", text: "—" });
  return [h("span", { class: "badge ok" }, `${r.success_count} ✓`), " ", h("span", { class: "badge ko" }, `${r.failure_count} ✗`)];
}

export function sessionTable(data, sortTo, opts = {}) {
  return table(SESSION_COLUMNS, data.rows, {
    href: (r) => hashFor("session", { id: r.window_id }), id: (r) => r.window_id,
    sort: data.sort, dir: data.dir, onSort: sortTo, csv: "sessions", ...opts,
  });
}

function fillChoices(form) {
  facets().then((f) => {
    for (const [name, values] of [["event", f.events], ["language", f.languages]]) {
      const select = form.querySelector(`select[name=${name}]`);
      const have = new Set([...select.options].map((o) => o.value));
      select.append(...values.filter((v) => !have.has(v)).map((v) => h("option", { value: v }, v)));
    }
  }).catch(() => {});
}

export async function renderSessions(view, params) {
  const current = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  const sort = { sort: params.sort || "start", dir: params.dir || "desc" };
  const go = (p) => { location.hash = hashFor("sessions", p); };
  const page = Number(params.page || 1);
  const data = await api("sessions", { ...current, ...sort, page });
  const sortTo = (key) => go({ ...current, sort: key, dir: key === sort.sort && sort.dir === "desc" ? "asc" : "desc" });
  const form = filterForm([
    { name: "q", label: "Text in first/last input", placeholder: "search…" }, { name: "user", label: "User" },
    { name: "event", label: "Event", type: "select", options: [] },
    { name: "language", label: "Main language", type: "select", options: [] },
  ], current, (p) => go({ ...p, ...sort }));
  fillChoices(form);
  clear(view, heading("Sessions", data.total, "session"), form,
    sessionTable({ ...data, ...sort }, sortTo, { exportAll: { name: "sessions", params: { ...current, ...sort }, total: data.total } }),
    pager(data.total, data.page, data.size, (p) => go({ ...current, ...sort, page: p })));
}

function turn(t, i) {
  return h("article", { class: "turn", "data-testid": "turn", "data-id": t.task_id },
    h("header", null,
      h("span", { class: "muted" }, `#${i + 1} · ${fmtTime(t.created_ms)}`),
      link("task", { id: t.task_id }, "open task", { class: "small" }),
      flagBadge(t.flag, t.flag_source), t.language ? h("span", { class: "badge" }, t.language) : null,
      t.sentiment_label ? sentimentBadge(t.sentiment_label) : null, t.events.length ? eventChips(t.events) : null),
    h("div", { class: "bubble user" }, h("div", { class: "who" }, t.user_id || "user"), t.input),
    t.spans.length ? h("details", { class: "steps", open: true, "data-testid": "turn-steps", "data-keep": `turn-${t.task_id}` },
      h("summary", null, `${t.spans.length} step${t.spans.length === 1 ? "" : "s"}`), steps(t.spans, `turn-${t.task_id}`)) : null,
    h("div", { class: "bubble assistant" }, h("div", { class: "who" }, modelOf(t) || "assistant"), t.output ?? ""));
}

export async function renderSession(view, params) {
  const { session: s, tasks, truncated } = await api("session", { id: params.id });
  const languages = Object.entries(s.languages || {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${langLabel(k)} ×${n}`);
  clear(view,
    h("div", { class: "heading" }, h("h1", null, `Session ${s.session_id}`), link("sessions", {}, "← all sessions")),
    cards([
      ["User", s.user_id ? link("user", { id: s.user_id }, s.user_id) : "—"],
      ["Tasks", fmtNum(s.task_count), "session-task-count"],
      ["Duration", fmtDuration(s.duration_s)],
      ["Start (UTC)", fmtTime(s.start_ms)], ["End (UTC)", fmtTime(s.end_ms)],
      ["Tokens", fmtNum(s.total_tokens)], ["Cost", fmtUsd(s.cost_usd) || "—", "session-cost"],
      ["Feedback", feedbackCounts(s)],
      ["Languages", languages.join(", ") || "—"],
      ["Sentiment", `mean ${score(s.sentiment_mean)} · lowest ${score(s.sentiment_min)}`],
      ["Events", eventChips(null, s.event_counts), "session-events"],
    ]),
    truncated ? h("p", { class: "muted" }, `Showing the first ${tasks.length} of ${s.task_count} tasks.`) : null,
    h("section", { class: "transcript", "data-testid": "transcript" }, tasks.map(turn)));
}
