// Sessions: one row per session window; opened, the whole transcript with each task's steps.

import { timeline } from "./charts.js";
import { api, clear, flagBadge, fmtDuration, fmtNum, fmtTime, h, hashFor, link } from "./dom.js";
import { modelOf, stepsTable } from "./tasks.js";
import { cards, filterForm, heading, pager, table } from "./widgets.js";

const FILTERS = ["from_ms", "to_ms", "user", "q"];

export const SESSION_COLUMNS = [
  { label: "Start (UTC)", render: (r) => fmtTime(r.start_ms), sort: "start" },
  { label: "User", render: (r) => (r.user_id ? link("user", { id: r.user_id }, r.user_id) : "") },
  { label: "Tasks", key: "task_count", num: true, sort: "tasks" },
  { label: "Duration", render: (r) => fmtDuration(r.duration_s), num: true, sort: "duration" },
  { label: "First input", render: (r) => h("span", { class: "clip" }, r.first_input) },
  { label: "Last input", render: (r) => h("span", { class: "clip" }, r.last_input) },
  { label: "Feedback", render: feedbackCounts, sort: "failures" },
];

function feedbackCounts(r) {
  if (!r.success_count && !r.failure_count) return h("span", { class: "muted", text: "—" });
  return [h("span", { class: "badge ok" }, `${r.success_count} ✓`), " ", h("span", { class: "badge ko" }, `${r.failure_count} ✗`)];
}

export function sessionTable(data, sortTo) {
  return table(SESSION_COLUMNS, data.rows, {
    href: (r) => hashFor("session", { id: r.window_id }), id: (r) => r.window_id,
    sort: data.sort, dir: data.dir, onSort: sortTo,
  });
}

export async function renderSessions(view, params) {
  const current = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  const sort = { sort: params.sort || "start", dir: params.dir || "desc" };
  const go = (p) => { location.hash = hashFor("sessions", p); };
  const page = Number(params.page || 1);
  const data = await api("sessions", { ...current, ...sort, page });
  const sortTo = (key) => go({ ...current, sort: key, dir: key === sort.sort && sort.dir === "desc" ? "asc" : "desc" });
  clear(view, heading("Sessions", data.total, "session"),
    filterForm([
      { name: "q", label: "Text in first/last input", placeholder: "search…" }, { name: "user", label: "User" },
      { name: "from_ms", label: "Started from (UTC)", type: "datetime" }, { name: "to_ms", label: "Started before (UTC)", type: "datetime" },
    ], current, (p) => go({ ...p, ...sort })),
    sessionTable({ ...data, ...sort }, sortTo),
    pager(data.total, data.page, data.size, (p) => go({ ...current, ...sort, page: p })));
}

function turn(t, i) {
  return h("article", { class: "turn", "data-testid": "turn", "data-id": t.task_id },
    h("header", null,
      h("span", { class: "muted" }, `#${i + 1} · ${fmtTime(t.created_ms)}`),
      link("task", { id: t.task_id }, "open task", { class: "small" }),
      flagBadge(t.feedback_flag)),
    h("div", { class: "bubble user" }, h("div", { class: "who" }, t.user_id || "user"), t.input),
    t.spans.length ? h("details", { class: "steps", open: true, "data-testid": "turn-steps" },
      h("summary", null, `${t.spans.length} step${t.spans.length === 1 ? "" : "s"}`), timeline(t.spans), stepsTable(t.spans)) : null,
    h("div", { class: "bubble assistant" }, h("div", { class: "who" }, modelOf(t) || "assistant"), t.output ?? ""));
}

export async function renderSession(view, params) {
  const { session: s, tasks, truncated } = await api("session", { id: params.id });
  clear(view,
    h("div", { class: "heading" }, h("h1", null, `Session ${s.session_id}`), link("sessions", {}, "← all sessions")),
    cards([
      ["User", s.user_id ? link("user", { id: s.user_id }, s.user_id) : "—"],
      ["Tasks", fmtNum(s.task_count), "session-task-count"],
      ["Duration", fmtDuration(s.duration_s)],
      ["Start (UTC)", fmtTime(s.start_ms)], ["End (UTC)", fmtTime(s.end_ms)],
      ["Tokens", fmtNum(s.total_tokens)], ["Feedback", feedbackCounts(s)],
    ]),
    truncated ? h("p", { class: "muted" }, `Showing the first ${tasks.length} of ${s.task_count} tasks.`) : null,
    h("section", { class: "transcript", "data-testid": "transcript" }, tasks.map(turn)));
}
