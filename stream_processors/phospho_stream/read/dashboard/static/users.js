// Users: their figures over the session windows in the date range and project, sortable (power,
// abusive, costly and struggling users stand out); opened, that user's sessions and tasks.

import { api, clear, eventChips, fmtDuration, fmtNum, fmtTime, fmtUsd, h, hashFor, langLabel, link } from "./dom.js";
import { sessionTable } from "./sessions.js";
import { taskTable } from "./tasks.js";
import { cards, filterForm, heading, pager, table } from "./widgets.js";

const ratio = (r) => (r.success_ratio === null ? "—" : `${Math.round(r.success_ratio * 100)} %`);
const score = (v) => (v === null || v === undefined ? "—" : fmtNum(v, 2));

const USER_COLUMNS = [
  { label: "User", render: (r) => r.user_id, sort: "user" },
  { label: "Tasks", key: "task_count", num: true, sort: "tasks" },
  { label: "Sessions", key: "session_count", num: true, sort: "sessions" },
  { label: "Tasks / session", key: "avg_session_tasks", num: true, digits: 1, sort: "avg_tasks" },
  { label: "Avg session", render: (r) => fmtDuration(r.avg_session_duration_s), num: true, sort: "avg_duration",
    csv: (r) => r.avg_session_duration_s },
  { label: "First seen (UTC)", render: (r) => fmtTime(r.first_seen_ms), sort: "first_seen" },
  { label: "Last seen (UTC)", render: (r) => fmtTime(r.last_seen_ms), sort: "last_seen" },
  { label: "Tokens", key: "total_tokens", num: true, sort: "tokens" },
  { label: "Cost", render: (r) => fmtUsd(r.cost_usd), num: true, sort: "cost", csv: (r) => r.cost_usd },
  { label: "Sentiment", render: (r) => score(r.sentiment_mean), num: true, sort: "sentiment", csv: (r) => r.sentiment_mean },
  { label: "✓ success", key: "success_count", num: true, sort: "successes" },
  { label: "✗ failure", key: "failure_count", num: true, sort: "failures" },
  { label: "Success", render: ratio, num: true, sort: "success_ratio", csv: (r) => r.success_ratio },
];

export async function renderUsers(view, params) {
  const sort = { sort: params.sort || "tasks", dir: params.dir || "desc" };
  const current = params.q ? { q: params.q } : {};
  const go = (p) => { location.hash = hashFor("users", p); };
  const data = await api("users", { ...current, ...sort, page: params.page || 1 });
  const sortTo = (key) => go({ ...current, sort: key, dir: key === sort.sort && sort.dir === "desc" ? "asc" : "desc" });
  clear(view, heading("Users", data.total, "user"),
    filterForm([{ name: "q", label: "User id contains", placeholder: "search…" }], current, (p) => go({ ...p, ...sort })),
    table(USER_COLUMNS, data.rows, { href: (r) => hashFor("user", { id: r.user_id }), id: (r) => r.user_id,
      sort: data.sort, dir: data.dir, onSort: sortTo, csv: "users",
      exportAll: { name: "users", params: { ...current, ...sort }, total: data.total } }),
    pager(data.total, data.page, data.size, (p) => go({ ...current, ...sort, page: p })));
}

export async function renderUser(view, params) {
  const id = params.id;
  const sp = Number(params.sp || 1), tp = Number(params.tp || 1);
  const sort = { sort: params.sort || "start", dir: params.dir || "desc" };
  const go = (p) => { location.hash = hashFor("user", { id, sp, tp, ...sort, ...p }); };
  const [{ user: u }, sessions, tasks] = await Promise.all([
    api("user", { id }), api("sessions", { user: id, page: sp, ...sort }), api("tasks", { user: id, page: tp })]);
  const sortTo = (key) => go({ sp: 1, sort: key, dir: key === sort.sort && sort.dir === "desc" ? "asc" : "desc" });
  const languages = Object.entries(u.languages || {}).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${langLabel(k)} ×${n}`);
  clear(view,
    h("div", { class: "heading" }, h("h1", null, `User ${u.user_id}`), link("users", {}, "← all users")),
    cards([
      ["Tasks", fmtNum(u.task_count), "user-task-count"], ["Sessions", fmtNum(u.session_count), "user-session-count"],
      ["Tasks / session", fmtNum(u.avg_session_tasks, 1)], ["Avg session", fmtDuration(u.avg_session_duration_s)],
      ["First seen (UTC)", fmtTime(u.first_seen_ms)], ["Last seen (UTC)", fmtTime(u.last_seen_ms)],
      ["Tokens", fmtNum(u.total_tokens)], ["Cost", fmtUsd(u.cost_usd) || "—", "user-cost"],
      ["Feedback", `${fmtNum(u.success_count)} ✓ · ${fmtNum(u.failure_count)} ✗ · ${ratio(u)} success`],
      ["Sentiment", `mean ${score(u.sentiment_mean)} · lowest ${score(u.sentiment_min)}`],
      ["Languages", languages.join(", ") || "—"], ["Events", eventChips(null, u.event_counts)],
    ]),
    h("section", { class: "block", "data-testid": "user-sessions" },
      h("h2", null, `Sessions (${fmtNum(sessions.total)})`),
      sessionTable({ ...sessions, ...sort }, sortTo, { exportAll: { name: "sessions", params: { user: id, ...sort }, total: sessions.total } }),
      pager(sessions.total, sessions.page, sessions.size, (p) => go({ sp: p }), "sessions-pager")),
    h("section", { class: "block", "data-testid": "user-tasks" },
      h("h2", null, `Tasks (${fmtNum(tasks.total)})`),
      taskTable(tasks.rows, { exportAll: { name: "tasks", params: { user: id }, total: tasks.total } }),
      pager(tasks.total, tasks.page, tasks.size, (p) => go({ tp: p }), "tasks-pager"),
      link("tasks", { user: id }, "filter all tasks by this user →")));
}
