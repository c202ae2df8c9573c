// The page-wide filters every page takes (a date range and a project) and the live toggle.
// They live in the address (#/page?range=7d&project=...), so a link or a reload keeps them;
// only the router sets them (setScope), every module reads them.

export const RANGES = [
  ["all", "All time", null], ["1h", "Last hour", 3600e3], ["24h", "Last 24 hours", 86400e3],
  ["7d", "Last 7 days", 7 * 86400e3], ["30d", "Last 30 days", 30 * 86400e3], ["90d", "Last 90 days", 90 * 86400e3],
  ["custom", "Custom…", null],
];
export const SCOPE_KEYS = ["range", "from", "to", "project"];
const LIVE_KEY = "phospho.dashboard.live";

let current = { range: "all", from: null, to: null, project: null };

// the scope named by a page's address parameters (unknown ranges read as all time)
export function setScope(params) {
  const range = RANGES.some(([k]) => k === params.range) ? params.range : (params.from || params.to ? "custom" : "all");
  const ms = (v) => (v && /^-?\d+$/.test(v) ? Number(v) : null);
  current = { range, from: range === "custom" ? ms(params.from) : null, to: range === "custom" ? ms(params.to) : null,
    project: params.project || null };
}

export function getScope() {
  return { ...current };
}

// for links: the scope's address parameters (only what differs from the defaults)
export function scopeParams(scope = current) {
  const out = {};
  if (scope.range !== "all") out.range = scope.range;
  if (scope.range === "custom") {
    if (scope.from !== null) out.from = String(scope.from);
    if (scope.to !== null) out.to = String(scope.to);
  }
  if (scope.project) out.project = scope.project;
  return out;
}

// for API requests: from_ms, to_ms and project, a relative range counted back from now
export function scopeFilters(now = Date.now()) {
  const out = {};
  const span = (RANGES.find(([k]) => k === current.range) || [])[2];
  if (span) out.from_ms = String(Math.floor(now - span));
  if (current.range === "custom") {
    if (current.from !== null) out.from_ms = String(current.from);
    if (current.to !== null) out.to_ms = String(current.to);
  }
  if (current.project) out.project = current.project;
  return out;
}

export function isLive() {
  try {
    return localStorage.getItem(LIVE_KEY) === "1";
  } catch {
    return false;
  }
}

export function setLive(on) {
  try {
    localStorage.setItem(LIVE_KEY, on ? "1" : "0");
  } catch {
    // storage refused (private mode): the toggle lasts until the page is reloaded
  }
}
