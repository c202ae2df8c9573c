// Tasks: the filterable list (newest first, paginated on the server) and one task opened, with
// its analysis (language, sentiment, events, cost, the LLM's verdict) and its steps.

import { api, clear, eventChips, flagBadge, fmtNum, fmtTime, fmtUsd, h, hashFor, langLabel, link,
  sentimentBadge } from "./dom.js";
import { facets } from "./facets.js";
import { steps } from "./steps.js";
import { field, filterForm, heading, pager, table, textBlock } from "./widgets.js";

const FILTERS = ["user", "session", "version", "model", "flag", "q", "language", "sentiment", "event"];
const SENTIMENTS = [["positive", "positive"], ["negative", "negative"], ["neutral", "neutral"],
  ["mixed", "mixed"], ["none", "not scored"]];

// the choices that arrive after the page is shown (a scan of every task)
function fillChoices(form) {
  facets().then((f) => {
    for (const [name, values] of [["version", f.versions], ["model", f.models], ["language", f.languages], ["event", f.events]]) {
      const select = form.querySelector(`select[name=${name}]`);
      const have = new Set([...select.options].map((o) => o.value));
      select.append(...values.filter((v) => !have.has(v)).map((v) => h("option", { value: v }, v)));
    }
  }).catch(() => {});
}

// the logged model, else the models of the task's steps
export const modelOf = (t) => t.model || (t.span_models || []).join(", ");

export const TASK_COLUMNS = [
  { label: "Time (UTC)", render: (r) => fmtTime(r.created_ms), csv: (r) => fmtTime(r.created_ms) },
  { label: "User", render: (r) => (r.user_id ? link("user", { id: r.user_id }, r.user_id) : "") },
  { label: "Input", render: (r) => h("span", { class: "clip" }, r.input), csv: (r) => r.input },
  { label: "Output", render: (r) => h("span", { class: "clip" }, r.output), csv: (r) => r.output },
  { label: "Model", render: modelOf },
  { label: "Lang", render: (r) => (r.analyzed ? langLabel(r.language) : ""), csv: (r) => r.language },
  { label: "Sentiment", render: (r) => sentimentBadge(r.sentiment_label, r.sentiment_score), csv: (r) => r.sentiment_label },
  { label: "Events", render: (r) => eventChips(r.events), csv: (r) => (r.events || []).join("; ") },
  { label: "Tokens", key: "total_tokens", num: true },
  { label: "Cost", render: (r) => fmtUsd(r.cost_usd), num: true, csv: (r) => r.cost_usd },
  { label: "Steps", key: "span_count", num: true },
  { label: "Flag", render: (r) => flagBadge(r.flag, r.flag_source), csv: (r) => r.flag },
];

export function taskTable(rows, opts = {}) {
  return table(TASK_COLUMNS, rows, { href: (r) => hashFor("task", { id: r.task_id }), id: (r) => r.task_id, csv: "tasks", ...opts });
}

export async function renderTasks(view, params) {
  const go = (p) => { location.hash = hashFor("tasks", p); };
  const current = Object.fromEntries(FILTERS.filter((k) => params[k]).map((k) => [k, params[k]]));
  const page = Number(params.page || 1);
  const form = filterForm([
    { name: "q", label: "Text in input/output", placeholder: "search…" },
    { name: "user", label: "User" }, { name: "session", label: "Session" },
    { name: "version", label: "Version", type: "select", options: [] },
    { name: "model", label: "Model", type: "select", options: [] },
    { name: "flag", label: "Feedback", type: "select", options: [["success", "success"], ["failure", "failure"], ["none", "no feedback"]] },
    { name: "language", label: "Language", type: "select", options: [] },
    { name: "sentiment", label: "Sentiment", type: "select", options: SENTIMENTS },
    { name: "event", label: "Event", type: "select", options: [] },
  ], current, go);
  const data = await api("tasks", { ...current, page });
  fillChoices(form);
  clear(view, heading("Tasks", data.total, "task"), form,
    taskTable(data.rows, { exportAll: { name: "tasks", params: current, total: data.total } }),
    pager(data.total, data.page, data.size, (p) => go({ ...current, page: p })));
}

function metadataTable(metadata) {
  const entries = Object.entries(metadata || {});
  if (!entries.length) return null;
  return h("section", { class: "block" }, h("h3", null, "Metadata"),
    table([{ label: "Key", key: "k" }, { label: "Value", render: (r) => h("span", { class: "clip" }, r.v), csv: (r) => r.v }],
      entries.map(([k, v]) => ({ k, v })), { csv: "metadata" }));
}

function sentimentText(t) {
  if (t.sentiment_label) {
    return [sentimentBadge(t.sentiment_label), ` score ${fmtNum(t.sentiment_score, 2)} · magnitude ${fmtNum(t.sentiment_magnitude, 2)}`];
  }
  return t.sentiment_method ? `not scored (${t.sentiment_method.replace(/_/g, " ")})` : null;
}

// the analytics stage's columns, then the evaluation stage's (each stage writes apart: either may lag)
function analysisFacts(t, topic) {
  const analytics = t.analyzed ? [
    field("Language", langLabel(t.language)), field("Sentiment", sentimentText(t)),
    field("Events", t.events.length ? eventChips(t.events) : null),
    field("Cost", t.cost_usd === null ? (t.cost_note ? `unknown (${t.cost_note})` : null) : [fmtUsd(t.cost_usd),
      t.cost_note ? h("span", { class: "muted" }, ` · ${t.cost_note}`) : null]),
    field("Analytics version", t.analytics_version),
  ] : [field("Analysis", "not analysed yet")];
  return [
    ...analytics,
    t.eval_flag ? field("LLM evaluation", [flagBadge(t.eval_flag, "llm"), t.eval_reason ? ` ${t.eval_reason}` : "",
      t.eval_model ? h("span", { class: "muted" }, ` (${t.eval_model})`) : null]) : null,
    topic ? field("Topic", topic.name) : null,
    Object.keys(t.redactions || {}).length
      ? field("Redacted", Object.entries(t.redactions).map(([k, n]) => `${k} ×${n}`).join(", ")) : null,
  ];
}

function detectionsTable(detections) {
  if (!detections.length) return null;
  return h("section", { class: "block", "data-testid": "detections" }, h("h3", null, `Detections (${detections.length})`),
    table([
      { label: "Event", render: (r) => link("event", { name: r.event_name }, r.event_name), csv: (r) => r.event_name },
      { label: "Score", key: "score", num: true, digits: 2 }, { label: "Type", key: "score_type" },
      { label: "Label", key: "label" }, { label: "Source", key: "source" }, { label: "Scope", key: "detection_scope" },
      { label: "Detected (UTC)", render: (r) => fmtTime(r.detected_ms) },
    ], detections, { csv: "detections" }));
}

export async function renderTask(view, params) {
  const { task: t, spans, detections, topic } = await api("task", { id: params.id });
  const facts = h("dl", { class: "facts" },
    field("Created (UTC)", fmtTime(t.created_ms)),
    field("Project", t.project_id),
    field("User", t.user_id ? link("user", { id: t.user_id }, t.user_id) : null),
    // a task written without a session window (none to open) shows its session id, unlinked
    field("Session", t.session_window_id
      ? link("session", { id: t.session_window_id }, t.session_id || t.session_window_id, { "data-testid": "session-link" })
      : t.session_id),
    field("Version", t.version_id), field("Model", t.model || (t.span_models.length ? `${modelOf(t)} (in its steps)` : null)),
    field("Tokens", [[t.prompt_tokens, "prompt"], [t.completion_tokens, "completion"], [t.total_tokens, "total"]]
      .filter(([n]) => n !== null && n !== undefined).map(([n, what]) => `${fmtNum(n)} ${what}`).join(" · ")),
    field("Steps", `${fmtNum(t.span_count)} (${fmtNum(t.llm_call_count)} LLM calls, ${fmtNum(t.span_input_tokens)} in / ${fmtNum(t.span_output_tokens)} out tokens, LLM ${fmtNum(t.llm_latency_ms)} ms)`),
    field("Feedback", [flagBadge(t.feedback_flag), t.feedback_notes ? ` ${t.feedback_notes}` : ""]),
    ...analysisFacts(t, topic),
    field("Errors", t.errors.length ? t.errors.join("; ") : null),
    field("Task id", h("code", null, t.task_id)));
  clear(view,
    h("div", { class: "heading" }, h("h1", null, "Task"), link("tasks", {}, "← all tasks")),
    facts,
    textBlock("Input", t.input, "task-input"), textBlock("Output", t.output, "task-output"),
    textBlock("System prompt", t.system_prompt),
    h("section", { class: "block", "data-testid": "steps" }, h("h3", null, `Steps (${spans.length})`), steps(spans)),
    detectionsTable(detections),
    metadataTable(t.metadata),
    textBlock("Raw input (JSON)", t.raw_input), textBlock("Raw output (JSON)", t.raw_output));
}
