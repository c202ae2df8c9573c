// The page's router: #/<page>?<params>. Each page renders into <main>; a newer navigation
// wins over a slower, older one.

import { clear, errorBox } from "./dom.js";
import { renderInsights } from "./insights.js";
import { renderSession, renderSessions } from "./sessions.js";
import { renderTask, renderTasks } from "./tasks.js";
import { renderUser, renderUsers } from "./users.js";

const PAGES = {
  tasks: [renderTasks, "tasks"], task: [renderTask, "tasks"],
  sessions: [renderSessions, "sessions"], session: [renderSession, "sessions"],
  users: [renderUsers, "users"], user: [renderUser, "users"],
  insights: [renderInsights, "insights"],
};

const view = document.getElementById("view");
const status = document.getElementById("status");
let generation = 0;

async function route() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const page = PAGES[path] ? path : "tasks";
  const [render, tab] = PAGES[page];
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.tab === tab);
  const mine = ++generation;
  status.textContent = "Loading…";
  document.body.dataset.state = "loading";
  // render into a detached element: only the newest navigation reaches the page
  const target = document.createElement("div");
  try {
    await render(target, params);
  } catch (err) {
    clear(target, errorBox(err));
  }
  if (mine !== generation) return;
  view.replaceChildren(...target.childNodes);
  view.dataset.page = page;
  status.textContent = "";
  document.body.dataset.rendered = String(mine); // for tests: which navigation the page shows
  document.body.dataset.state = "ready";
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
route();
