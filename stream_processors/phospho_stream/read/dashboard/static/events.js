// Events: every event detected (counts over time, reach, sources); one event opened: its figures,
// its detections per day, and its matches, newest first, each a click away from its task.

import { PALETTE, barChart, chartCard, sparkline } from "./charts.js";
import { api, clear, flagBadge, fmtNum, fmtTime, h, hashFor, langLabel, link, sentimentBadge } from "./dom.js";
import { cards, exportButton, heading, pager, table } from "./widgets.js";

const pct = (n, of) => (of ? `${fmtNum((100 * n) / of, 1)} %` : "—");

// every day from the first to the last of `days`, as YYYY-MM-DD
function dayRange(days) {
  if (!days.length) return [];
  const sorted = [...days].sort();
  const out = [];
  for (let t = Date.parse(sorted[0] + "T00:00:00Z"); t <= Date.parse(sorted.at(-1) + "T00:00:00Z"); t += 86400e3) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

// detections per day, one series per event (the PALETTE - 1 largest, then the others together)
function perDayChart(events, days) {
  const top = events.slice(0, PALETTE - 1), rest = events.slice(PALETTE - 1);
  const values = (list) => days.map((d) => list.reduce((a, e) => a + (new Map(e.days).get(d) || 0), 0));
  const series = top.map((e, i) => ({ name: e.event_name, values: values([e]), cls: `c${i}` }));
  if (rest.length) series.push({ name: `${rest.length} others`, values: values(rest), cls: `c${PALETTE - 1}` });
  const rows = days.map((d, i) => Object.fromEntries([["day", d], ...series.map((sr) => [sr.name, sr.values[i]])]));
  return chartCard("Detections per day", barChart(days, series, { yLabel: "detections" }),
    [{ label: "Day", key: "day" }, ...series.map((sr) => ({ label: sr.name, key: sr.name, num: true }))], rows,
    "chart-events-per-day", { csv: "detections-per-day" });
}

const EVENT_COLUMNS = (sessions, days) => [
  { label: "Event", render: (r) => link("event", { name: r.event_name }, r.event_name), csv: (r) => r.event_name },
  { label: "Detections", key: "detections", num: true },
  { label: "Tasks", key: "tasks", num: true },
  { label: "Sessions", render: (r) => `${fmtNum(r.sessions_with_event)} (${pct(r.sessions_with_event, sessions)})`, num: true,
    csv: (r) => r.sessions_with_event },
  { label: "Users", key: "users", num: true },
  { label: "Source", render: (r) => r.sources.join(", ") },
  { label: "Scope", render: (r) => r.scopes.join(", ") },
  { label: "Last seen (UTC)", render: (r) => fmtTime(r.last_ms) },
  { label: "Per day", render: (r) => sparkline(r.days, days), csv: (r) => JSON.stringify(r.days) },
];

export async function renderEvents(view) {
  const data = await api("events");
  const days = dayRange(data.events.flatMap((e) => e.days.map(([d]) => d)));
  if (!data.events.length) {
    clear(view, heading("Events", 0, "event"), h("p", { class: "muted empty-state", "data-testid": "events-empty" },
      "No event detected in these dates and project. Events are defined in the project config (events: in the YAML "
      + "given to `phospho-stream up --config`): keywords, regex patterns or LLM detectors."));
    return;
  }
  clear(view, heading("Events", data.events.length, "event"),
    perDayChart(data.events, days),
    h("section", { class: "block", "data-testid": "events-table" },
      table(EVENT_COLUMNS(data.sessions, days), data.events, { href: (r) => hashFor("event", { name: r.event_name }),
        id: (r) => r.event_name, csv: "events" }),
      exportButton(`Every detection (${fmtNum(data.events.reduce((a, e) => a + e.detections, 0))}) as CSV`, "events", {})),
    h("p", { class: "muted small" }, `Sessions: the share of the ${fmtNum(data.sessions)} session windows started in these dates where the event happened.`));
}

const MATCH_COLUMNS = [
  { label: "Time (UTC)", render: (r) => fmtTime(r.created_ms) },
  { label: "User", render: (r) => (r.user_id ? link("user", { id: r.user_id }, r.user_id) : "") },
  { label: "Input", render: (r) => h("span", { class: "clip" }, r.task ? r.task.input : ""), csv: (r) => r.task && r.task.input },
  { label: "Output", render: (r) => h("span", { class: "clip" }, r.task ? r.task.output : ""), csv: (r) => r.task && r.task.output },
  { label: "Lang", render: (r) => (r.task ? langLabel(r.task.language) : "") },
  { label: "Sentiment", render: (r) => sentimentBadge(r.task && r.task.sentiment_label), csv: (r) => r.task && r.task.sentiment_label },
  { label: "Flag", render: (r) => flagBadge(r.task && r.task.flag, r.task && r.task.flag_source), csv: (r) => r.task && r.task.flag },
  { label: "Score", key: "score", num: true, digits: 2 },
  { label: "Source", key: "source" }, { label: "Scope", key: "detection_scope" },
];

export async function renderEvent(view, params) {
  const name = params.name;
  const page = Number(params.page || 1);
  const go = (p) => { location.hash = hashFor("event", { name, ...p }); };
  const [summary, matches] = await Promise.all([api("events", { event: name }), api("event", { event: name, page })]);
  const e = summary.events[0];
  const days = e ? dayRange(e.days.map(([d]) => d)) : [];
  const perDay = new Map(e ? e.days : []);
  clear(view,
    h("div", { class: "heading" }, h("h1", null, `Event: ${name}`), link("events", {}, "← all events")),
    e ? cards([
      ["Detections", fmtNum(e.detections), "event-detections"], ["Tasks", fmtNum(e.tasks)],
      ["Sessions", `${fmtNum(e.sessions_with_event)} (${pct(e.sessions_with_event, summary.sessions)})`], ["Users", fmtNum(e.users)],
      ["First seen (UTC)", fmtTime(e.first_ms)], ["Last seen (UTC)", fmtTime(e.last_ms)],
      ["Source", e.sources.join(", ")], ["Scope", e.scopes.join(", ")],
    ]) : h("p", { class: "muted" }, "No detection of this event in these dates and project."),
    e ? chartCard("Detections per day", barChart(days, [{ name: "detections", values: days.map((d) => perDay.get(d) || 0) }]),
      [{ label: "Day", key: "day" }, { label: "Detections", key: "n", num: true }], days.map((d) => ({ day: d, n: perDay.get(d) || 0 })),
      "chart-event-per-day", { csv: "event-per-day" }) : null,
    h("p", { class: "links" }, link("tasks", { event: name }, "its tasks in the Tasks page →", { "data-testid": "event-tasks-link" }),
      " ", link("sessions", { event: name }, "its sessions →")),
    h("section", { class: "block", "data-testid": "event-matches" }, h("h2", null, `Matches (${fmtNum(matches.total)})`),
      table(MATCH_COLUMNS, matches.rows, { href: (r) => hashFor("task", { id: r.task_id }), id: (r) => r.task_id,
        csv: "matches", exportAll: { name: "events", params: { event: name }, total: matches.total } }),
      pager(matches.total, matches.page, matches.size, (p) => go({ page: p }))));
}
