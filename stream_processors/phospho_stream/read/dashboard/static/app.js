// The page's router: #/<page>?<params>. Each page renders into <main>; a newer navigation wins
// over a slower, older one. The scope bar's dates and project travel in every page's address.
// Live: the page on display is drawn again every LIVE_MS, in place (scroll position, open
// steps and numbers kept), unless the tab is hidden or someone is typing in a field.

import { clear, errorBox, hashFor } from "./dom.js";
import { renderEvent, renderEvents } from "./events.js";
import { renderInsights } from "./insights.js";
import { SCOPE_KEYS, isLive, setScope } from "./scope.js";
import { scopeBar } from "./scopebar.js";
import { renderSession, renderSessions } from "./sessions.js";
import { renderTask, renderTasks } from "./tasks.js";
import { renderUser, renderUsers } from "./users.js";

const PAGES = {
  tasks: [renderTasks, "tasks"], task: [renderTask, "tasks"],
  sessions: [renderSessions, "sessions"], session: [renderSession, "sessions"],
  users: [renderUsers, "users"], user: [renderUser, "users"],
  events: [renderEvents, "events"], event: [renderEvent, "events"],
  insights: [renderInsights, "insights"],
};
const LIVE_MS = 5000;

const view = document.getElementById("view");
const status = document.getElementById("status");
let generation = 0;
let busy = false;

function where() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return [PAGES[path] ? path : "tasks", Object.fromEntries(new URLSearchParams(query || ""))];
}

// the current page with a new scope (the page's own filters kept, its pagination reset)
function rescope(scope) {
  const [page, params] = where();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (!SCOPE_KEYS.includes(k) && !["page", "sp", "tp"].includes(k)) q.set(k, v);
  for (const [k, v] of Object.entries(scope)) q.set(k, v);
  location.hash = `#/${page}${q.toString() ? "?" + q : ""}`;
}

const bar = scopeBar(rescope, (on) => { if (on) refresh(); showLive(); });
document.getElementById("scope").replaceWith(bar);

// what a live refresh keeps: each [data-keep] element's open or shown state
function kept() {
  return new Map([...view.querySelectorAll("[data-keep]")].map((el) => [el.dataset.keep, el.tagName === "DETAILS" ? el.open : !el.hidden]));
}

function restore(states) {
  for (const el of view.querySelectorAll("[data-keep]")) {
    const state = states.get(el.dataset.keep);
    if (state === undefined) continue;
    if (el.setShown) el.setShown(state);
    else if (el.tagName === "DETAILS") el.open = state;
    else el.hidden = !state;
  }
}

function showLive(updated) {
  document.body.dataset.live = isLive() ? "on" : "off";
  if (isLive()) status.textContent = `Live${updated ? ` · updated ${updated.toISOString().slice(11, 19)} UTC` : ""}`;
  else if (!busy) status.textContent = "";
}

async function route({ refreshing = false } = {}) {
  const [page, params] = where();
  const [render, tab] = PAGES[page];
  setScope(params);
  if (!refreshing) bar.show(); // a refresh keeps the scope: the bar keeps what is being typed in it
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.tab === tab);
    a.href = hashFor(a.dataset.tab, {}); // the tabs keep the scope
  }
  const mine = ++generation;
  busy = true;
  if (!refreshing) {
    status.textContent = "Loading…";
    document.body.dataset.state = "loading";
  }
  // render into a detached element: only the newest navigation reaches the page
  const target = document.createElement("div");
  try {
    await render(target, params);
  } catch (err) {
    clear(target, errorBox(err));
  }
  if (mine !== generation) return;
  busy = false;
  const states = refreshing ? kept() : null;
  const scroll = [window.scrollX, window.scrollY];
  view.replaceChildren(...target.childNodes);
  view.dataset.page = page;
  document.body.dataset.state = "ready";
  if (refreshing) {
    restore(states);
    window.scrollTo(...scroll);
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1); // for tests
  } else {
    document.body.dataset.rendered = String(mine); // for tests: which navigation the page shows
    window.scrollTo(0, 0);
  }
  status.textContent = "";
  showLive(new Date());
}

// someone is typing in a field, or changed a filter not applied yet: a refresh would take it away
const editing = () => (document.activeElement
  && document.activeElement.matches("input[type=search], input[type=text], input[type=datetime-local], textarea"))
  || !!view.querySelector("form[data-dirty]");

function refresh() {
  if (isLive() && !busy && !document.hidden && !editing()) route({ refreshing: true });
}

window.addEventListener("hashchange", () => route());
setInterval(refresh, LIVE_MS);
route();
