// CSV downloads: a table's rows as the page holds them, or a whole list from the server
// (/api/export/<name>, the list's filters, up to its row limit). LF line ends, RFC 4180 quoting.

import { apiQuery } from "./dom.js";

function cell(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvText(header, rows) {
  return [header, ...rows].map((row) => row.map(cell).join(",")).join("\n") + "\n";
}

const stamp = () => new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");

// hands `blob` to the browser as a download named `name`
function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function downloadCsv(stem, header, rows) {
  download(`phospho-${stem}-${stamp()}.csv`, new Blob([csvText(header, rows)], { type: "text/csv;charset=utf-8" }));
}

// the server's CSV of a whole list; resolves to {rows, limit} (how many rows it holds, at most)
export async function exportCsv(name, params) {
  const response = await fetch(`/api/export/${name}?${apiQuery(params)}`);
  if (!response.ok) {
    const body = await response.json().catch(() => ({ error: response.statusText }));
    throw new Error(body.error || `HTTP ${response.status}`);
  }
  const file = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  download(file ? file[1] : `phospho-${name}-${stamp()}.csv`, await response.blob());
  return { rows: Number(response.headers.get("X-Rows")), limit: Number(response.headers.get("X-Rows-Limit")) };
}
