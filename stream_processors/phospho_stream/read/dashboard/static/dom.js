// DOM helpers: elements are built from text nodes and attributes only, so logged text can
// never become markup. Links and API requests carry the page-wide scope (scope.js).

import { scopeFilters, scopeParams } from "./scope.js";

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// -- formatting --------------------------------------------------------------------------------

const pad = (n, w = 2) => String(n).padStart(w, "0");

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds === 0) return "0 s";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${+seconds.toFixed(1)} s`;
  const sec = Math.round(seconds);
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  const min = Math.round(sec / 60);
  if (min < 1440) return `${Math.floor(min / 60)} h ${min % 60} min`;
  const hours = Math.round(min / 60);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined) return "";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// US dollars: cents from a dollar on, else three significant digits ($0.000488)
export function fmtUsd(v) {
  if (v === null || v === undefined) return "";
  if (v === 0) return "$0";
  if (Math.abs(v) >= 1) return `$${fmtNum(v, 2)}`;
  return `$${Number(v).toLocaleString("en-US", { maximumSignificantDigits: 3, maximumFractionDigits: 12 })}`;
}

// a user's feedback, else the LLM evaluation's verdict (source "llm": marked as such)
export function flagBadge(flag, source) {
  if (!flag) return h("span", { class: "muted", text: "—" });
  const cls = `badge ${flag === "success" ? "ok" : flag === "failure" ? "ko" : ""}${source === "llm" ? " llm" : ""}`;
  return h("span", { class: cls, title: source === "llm" ? "the LLM evaluation's verdict" : null },
    source === "llm" ? `${flag} · llm` : flag);
}

export function sentimentBadge(label, score) {
  if (!label) return h("span", { class: "muted", text: "—" });
  const title = score === null || score === undefined ? null : `score ${fmtNum(score, 2)}`;
  return h("span", { class: `badge sentiment ${label}`, title, "data-sentiment": label }, label);
}

// the language a task was written in ('' when it could not be told)
export const langLabel = (code) => (code === "" ? "unknown" : code === null || code === undefined ? "" : code);

// events as chips linking to their page; counts: an {event: n} map instead of a list
export function eventChips(events, counts) {
  const names = counts ? Object.keys(counts).sort((a, b) => counts[b] - counts[a] || a.localeCompare(b)) : events || [];
  if (!names.length) return h("span", { class: "muted", text: "—" });
  return h("span", { class: "chips" }, names.map((name) => link("event", { name },
    counts ? `${name} ×${counts[name]}` : name, { class: "chip", "data-event": name })));
}

// -- routing -----------------------------------------------------------------------------------

// #/path?params, with the page-wide scope unless `params` sets it
export function hashFor(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...scopeParams(), ...(params || {}) })) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  return `#/${path}${qs ? "?" + qs : ""}`;
}

export function link(path, params, text, props) {
  return h("a", { href: hashFor(path, params), ...props }, text);
}

// -- data --------------------------------------------------------------------------------------

// GET /api/<name> with `params` and the scope's filters (the params win)
export async function api(name, params) {
  const q = apiQuery(params);
  const response = await fetch(`/api/${name}?${q}`, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

export function apiQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...scopeFilters(), ...(params || {}) })) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  return q;
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert", text: String(err.message || err) });
}
