// Tables, pagers, filter forms and cards shared by the pages.

import { downloadCsv, exportCsv } from "./csv.js";
import { fmtNum, h } from "./dom.js";

// columns: [{key, label, render?(row), num?, sort?, csv?(row)}]; opts: {href(row), id(row), sort, dir,
// onSort(key), csv: a file name stem (default "table"), exportAll: {name, params, total} (the CSV
// button then asks the server for the whole list)}. A table comes in a box with its CSV button.
export function table(columns, rows, opts = {}) {
  const head = h("tr", null, columns.map((c) => {
    const th = h("th", { class: c.num ? "num" : null, scope: "col" }, c.label);
    if (c.sort && opts.onSort) {
      const active = opts.sort === c.sort;
      th.classList.add("sortable");
      if (active) th.classList.add(opts.dir === "asc" ? "asc" : "desc");
      th.setAttribute("data-sort", c.sort);
      th.addEventListener("click", () => opts.onSort(c.sort));
    }
    return th;
  }));
  const cells = [];
  const body = rows.map((row) => {
    const tds = columns.map((c) => h("td", { class: c.num ? "num" : null, "data-label": c.label },
      c.render ? c.render(row) : c.num ? fmtNum(row[c.key], c.digits || 0) : row[c.key] ?? ""));
    cells.push(tds);
    const tr = h("tr", null, tds);
    if (opts.href) {
      const target = opts.href(row);
      tr.classList.add("clickable");
      tr.setAttribute("data-id", opts.id ? opts.id(row) : "");
      tr.addEventListener("click", (ev) => {
        if (ev.target.closest("a")) return; // a link inside the row goes where it says
        location.hash = target;
      });
    }
    return tr;
  });
  if (!rows.length) {
    body.push(h("tr", { class: "empty-row" }, h("td", { class: "empty", colspan: columns.length, text: opts.empty || "Nothing matches." })));
  }
  // a cell's CSV value: the column's own, else the raw number, else the text shown
  const value = (c, row, td) => (c.csv ? c.csv(row) : c.num && c.key ? row[c.key] : td.textContent);
  const csvRows = () => rows.map((row, i) => columns.map((c, j) => value(c, row, cells[i][j])));
  const grid = h("table", { class: "grid" }, h("thead", null, head), h("tbody", null, body));
  return h("div", { class: "table-box" }, csvButton(columns.map((c) => c.label), csvRows, opts),
    h("div", { class: "table-scroll" }, grid));
}

function csvButton(header, csvRows, opts) {
  const all = opts.exportAll;
  if (all) return exportButton(`CSV (all ${fmtNum(all.total)})`, all.name, all.params);
  const button = h("button", { type: "button", class: "link csv", "data-testid": "csv", title: "these rows as a CSV file",
    onclick: () => downloadCsv(opts.csv || "table", header, csvRows()) }, "CSV");
  return h("div", { class: "table-tools" }, button);
}

// a button downloading the server's CSV of a whole list (/api/export/<name> with `params`)
export function exportButton(label, name, params) {
  const note = h("span", { class: "muted small", "data-testid": "csv-note" });
  const button = h("button", { type: "button", class: "link csv", "data-testid": "csv",
    title: "every row matching the filters, as the server holds them" }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    note.textContent = "exporting…";
    try {
      const { rows, limit } = await exportCsv(name, params);
      note.textContent = rows >= limit ? `the first ${fmtNum(rows)} rows (the export's limit)` : `${fmtNum(rows)} rows`;
    } catch (err) {
      note.textContent = `export failed: ${err.message || err}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "table-tools" }, note, button);
}

export function pager(total, page, size, go, name = "pager") {
  const pages = Math.max(1, Math.ceil(total / size));
  const first = total ? (page - 1) * size + 1 : 0;
  const last = Math.min(total, page * size);
  return h("div", { class: "pager", "data-testid": name },
    h("button", { type: "button", disabled: page <= 1, onclick: () => go(page - 1), "data-testid": `${name}-prev` }, "‹ Previous"),
    h("span", null, `${fmtNum(first)}–${fmtNum(last)} of ${fmtNum(total)} · page ${fmtNum(page)} of ${fmtNum(pages)}`),
    h("button", { type: "button", disabled: page >= pages, onclick: () => go(page + 1), "data-testid": `${name}-next` }, "Next ›"));
}

export function heading(title, total, noun) {
  return h("div", { class: "heading" }, h("h1", null, title),
    total === undefined ? null : h("span", { class: "count", "data-testid": "total", "data-total": total },
      `${fmtNum(total)} ${noun}${total === 1 ? "" : "s"}`));
}

// fields: [{name, label, type: text|select|datetime, options?}]; values: current params
export function filterForm(fields, values, apply) {
  const inputs = {};
  const controls = fields.map((f) => {
    let input;
    if (f.type === "select") {
      input = h("select", { name: f.name }, h("option", { value: "" }, "any"),
        (f.options || []).map((o) => h("option", { value: Array.isArray(o) ? o[0] : o }, Array.isArray(o) ? o[1] : o)));
      if (values[f.name] && ![...input.options].some((o) => o.value === values[f.name])) {
        input.append(h("option", { value: values[f.name] }, values[f.name]));
      }
    } else if (f.type === "datetime") {
      input = h("input", { type: "datetime-local", name: f.name, step: 1 });
    } else {
      input = h("input", { type: "search", name: f.name, placeholder: f.placeholder || "" });
    }
    if (f.type === "datetime") {
      if (values[f.name]) input.value = new Date(Number(values[f.name])).toISOString().slice(0, 19);
    } else {
      input.value = values[f.name] || "";
    }
    inputs[f.name] = [f, input];
    return h("label", null, h("span", null, f.label), input);
  });
  const read = () => {
    const out = {};
    for (const [name, [f, input]] of Object.entries(inputs)) {
      if (!input.value) continue;
      out[name] = f.type === "datetime" ? String(Date.parse(input.value + "Z")) : input.value.trim();
    }
    return out;
  };
  // changed and not applied yet: a live refresh waits (app.js)
  const dirty = (ev) => { ev.currentTarget.dataset.dirty = "1"; };
  return h("form", { class: "filters", "data-testid": "filters", oninput: dirty, onchange: dirty,
    onsubmit: (ev) => { ev.preventDefault(); apply(read()); } },
    controls,
    h("div", { class: "actions" },
      h("button", { type: "submit", "data-testid": "apply" }, "Apply"),
      h("button", { type: "button", onclick: () => apply({}) }, "Reset")));
}

export function cards(items) {
  return h("div", { class: "cards" }, items.map(([label, value, testid]) =>
    h("div", { class: "card", "data-testid": testid || null }, h("div", { class: "label" }, label),
      h("div", { class: "value" }, value))));
}

export function field(label, value) {
  return [h("dt", null, label), h("dd", null, value === null || value === undefined || value === "" ? "—" : value)];
}

export function textBlock(title, text, testid) {
  if (text === null || text === undefined || text === "") return null;
  return h("section", { class: "block" }, h("h3", null, title), h("pre", { "data-testid": testid || null }, text));
}
