// DOM helpers: elements are built from text nodes and attributes only, so logged text can
// never become markup.

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

export function flagBadge(flag) {
  if (!flag) return h("span", { class: "muted", text: "—" });
  return h("span", { class: `badge ${flag === "success" ? "ok" : flag === "failure" ? "ko" : ""}`, text: flag });
}

// -- routing -----------------------------------------------------------------------------------

export function hashFor(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const qs = q.toString();
  return `#/${path}${qs ? "?" + qs : ""}`;
}

export function link(path, params, text, props) {
  return h("a", { href: hashFor(path, params), ...props }, text);
}

// -- data --------------------------------------------------------------------------------------

export async function api(name, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const response = await fetch(`/api/${name}?${q}`, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert", text: String(err.message || err) });
}
