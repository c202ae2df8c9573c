// Tasks: the filterable list (newest first, paginated on the server) and one task opened.

import { timeline } from "./charts.js";
import { api, clear, flagBadge, fmtNum, fmtTime, h, hashFor, link } from "./dom.js";
import { field, filterForm, heading, pager, table, textBlock } from "./widgets.js";

const FILTERS = ["from_ms", "to_ms", "user", "session", "version", "model", "flag", "q"];
let facets = null; // versions and models, loaded once per page load

// the version and model choices arrive after the page is shown (a scan of every task)
function fillChoices(form) {
  const load = facets ? Promise.resolve(facets) : api("facets").then((f) => (facets = f));
  load.then((f) => {
    for (const [name, values] of [["version", f.versions], ["model", f.models]]) {
      const select = form.querySelector(`select[name=${name}]`);
      const have = new Set([...select.options].map((o) => o.value));
      select.append(...values.filter((v) => !have.has(v)).map((v) => h("option", { value: v }, v)));
    }
  }).catch(() => {});
}

// the logged model, else the models of the task's steps
export const modelOf = (t) => t.model || (t.span_models || []).join(", ");

export const TASK_COLUMNS = [
  { label: "Time (UTC)", render: (r) => fmtTime(r.created_ms) },
  { label: "User", render: (r) => (r.user_id ? link("user", { id: r.user_id }, r.user_id) : "") },
  { label: "Input", render: (r) => h("span", { class: "clip" }, r.input) },
  { label: "Output", render: (r) => h("span", { class: "clip" }, r.output) },
  { label: "Model", render: modelOf },
  { label: "Tokens", key: "total_tokens", num: true },
  { label: "Steps", key: "span_count", num: true },
  { label: "Feedback", render: (r) => flagBadge(r.feedback_flag) },
];

export function taskTable(rows) {
  return table(TASK_COLUMNS, rows, { href: (r) => hashFor("task", { id: r.task_id }), id: (r) => r.task_id });
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
    { name: "from_ms", label: "From (UTC)", type: "datetime" }, { name: "to_ms", label: "To (UTC)", type: "datetime" },
  ], current, go);
  const data = await api("tasks", { ...current, page });
  fillChoices(form);
  clear(view, heading("Tasks", data.total, "task"), form, taskTable(data.rows),
    pager(data.total, data.page, data.size, (p) => go({ ...current, page: p })));
}

function metadataTable(metadata) {
  const entries = Object.entries(metadata || {});
  if (!entries.length) return null;
  return h("section", { class: "block" }, h("h3", null, "Metadata"),
    table([{ label: "Key", key: "k" }, { label: "Value", render: (r) => h("span", { class: "clip" }, r.v) }],
      entries.map(([k, v]) => ({ k, v }))));
}

export function stepsTable(spans) {
  return table([
    { label: "#", render: (r) => r.i },
    { label: "Step", key: "name" },
    { label: "Start (UTC)", render: (r) => fmtTime(r.start_ms) },
    { label: "Duration", render: (r) => `${fmtNum(r.duration_ms)} ms`, num: true },
    { label: "Model", render: (r) => r.response_model || r.request_model || "" },
    { label: "Tokens in", key: "input_tokens", num: true },
    { label: "Tokens out", key: "output_tokens", num: true },
    { label: "Status", render: (r) => r.status_code + (r.status_message ? `: ${r.status_message}` : "") },
  ], spans.map((sp, i) => ({ ...sp, i: i + 1 })));
}

export async function renderTask(view, params) {
  const { task: t, spans } = await api("task", { id: params.id });
  const facts = h("dl", { class: "facts" },
    field("Created (UTC)", fmtTime(t.created_ms)),
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
    field("Errors", t.errors.length ? t.errors.join("; ") : null),
    field("Task id", h("code", null, t.task_id)));
  clear(view,
    h("div", { class: "heading" }, h("h1", null, "Task"), link("tasks", {}, "← all tasks")),
    facts,
    textBlock("Input", t.input, "task-input"), textBlock("Output", t.output, "task-output"),
    textBlock("System prompt", t.system_prompt),
    h("section", { class: "block", "data-testid": "steps" }, h("h3", null, `Steps (${spans.length})`), timeline(spans),
      spans.length ? stepsTable(spans) : null),
    metadataTable(t.metadata),
    textBlock("Raw input (JSON)", t.raw_input), textBlock("Raw output (JSON)", t.raw_output));
}
