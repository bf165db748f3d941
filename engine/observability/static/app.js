// q2c console: plain JS over the worker's read API (/api/v1), charts by the vendored uPlot.
// No build step. Signed in by an HttpOnly session cookie: this script never holds the token
// after the sign-in request, and nothing goes into the URL but the view and a deal id.
"use strict";

const $ = (sel) => document.querySelector(sel);
const CSRF = { "X-Q2C-Request": "1" };
let role = null; // "viewer" | "operator" once signed in
let dealSaga = "";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86400).toFixed(1)}d`;
}

const money = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const source = () => $("#source").value;

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    credentials: "same-origin",
    ...options,
    headers: { "Content-Type": "application/json", ...CSRF, ...(options.headers || {}) },
  });
  if (response.status === 204) return {};
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error(`${response.status}: ${body.detail || response.statusText}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body) });

function say(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.className = isError ? "err" : "";
}

// ---- tables: filterable, sortable by keyboard-usable header buttons ------------------------

// columns: [{key, label, num?, render?(row) -> Node|string, value?(row) -> sortable}]
function grid(container, columns, rows, { filter = true, id, rowAttrs = () => ({}) } = {}) {
  const state = container._grid || { sort: null, dir: 1, query: "" };
  container._grid = state;
  const value = (col, row) => (col.value ? col.value(row) : row[col.key]);
  const draw = () => {
    const q = state.query.toLowerCase();
    let shown = rows.filter((r) => !q || columns.some((c) => String(value(c, r) ?? "").toLowerCase().includes(q)));
    if (state.sort !== null) {
      const col = columns[state.sort];
      shown = [...shown].sort((a, b) => {
        const x = value(col, a), y = value(col, b);
        const cmp = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""), undefined, { numeric: true });
        return cmp * state.dir;
      });
    }
    const head = el("tr", {}, columns.map((c, i) => el("th", {
      scope: "col", class: c.num ? "num" : "",
      "aria-sort": state.sort === i ? (state.dir > 0 ? "ascending" : "descending") : "none",
    }, c.sortable === false ? c.label : el("button", {
      type: "button", class: "sort",
      onclick: () => { state.dir = state.sort === i ? -state.dir : 1; state.sort = i; draw(); },
    }, c.label, state.sort === i ? (state.dir > 0 ? " ▲" : " ▼") : ""))));
    const body = shown.map((r) => el("tr", rowAttrs(r), columns.map((c) => el("td", { class: c.num ? "num" : "" }, c.render ? c.render(r) : (r[c.key] ?? "")))));
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
    count.textContent = `${shown.length} of ${rows.length}`;
  };
  const table = el("table", { id });
  const count = el("span", { class: "count" });
  const search = el("input", { type: "search", placeholder: "filter", "aria-label": "filter rows", value: state.query });
  search.addEventListener("input", () => { state.query = search.value; draw(); });
  container.replaceChildren(...(filter ? [el("div", { class: "tools" }, search, " ", count)] : []), table);
  draw();
}

// ---- charts (uPlot) ----------------------------------------------------------------------

const charts = new Map();

function chart(id, labels, series, { bars = false, yLabel = "", percent = false, legend = false } = {}) {
  const box = document.getElementById(id);
  charts.get(id)?.destroy();
  box.replaceChildren();
  const width = Math.max(200, box.clientWidth || box.parentElement.clientWidth - 32);
  const xs = labels.map((_, i) => i);
  const opts = {
    width, height: 200,
    // One series: the title says what it is. Two: the legend names them (and dashes tell
    // them apart without colour); the table beside each chart has the values.
    legend: { show: legend, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] }, y: { range: (u, min, max) => [0, percent ? 1 : Math.max(1, max * 1.1)] } },
    axes: [
      { values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), space: 40, rotate: 0 },
      { label: yLabel, values: (u, ticks) => ticks.map((t) => (percent ? `${Math.round(t * 100)}%` : t)) },
    ],
    series: [{ label: "bucket", value: (u, v) => labels[v] ?? "" }, ...series.map((s) => ({
      label: s.label, stroke: s.stroke, fill: s.fill, width: 2, dash: s.dash,
      paths: bars && !s.line ? uPlot.paths.bars({ size: [0.7, 60] }) : undefined,
      points: { show: !bars || s.line },
      value: (u, v) => (v === null ? "–" : percent ? `${Math.round(v * 100)}%` : v),
    }))],
  };
  const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], box);
  charts.set(id, plot);
}

function bucketLabels(edges) {
  const h = (x) => (x >= 48 ? `${x / 24}d` : `${x}h`);
  return edges.map((e, i) => (i + 1 < edges.length ? `${h(e)}–${h(edges[i + 1])}` : `≥${h(e)}`));
}

// ---- operations --------------------------------------------------------------------------

function dealLink(key) {
  return el("a", { class: "key", href: `#/deal/${encodeURIComponent(key)}`, "data-key": key }, key);
}

function renderOverview(o) {
  $("#worker").textContent = `worker ${o.worker_id}`;
  $("#total-sagas").textContent = o.sagas;
  dealSaga = o.deal_saga;
  const deals = o.by_state[dealSaga] || {};
  $("#total-deals").textContent = Object.values(deals).reduce((a, b) => a + b, 0);
  const rows = [];
  for (const [type, byState] of Object.entries(o.by_state)) {
    for (const [state, n] of Object.entries(byState)) rows.push({ type, state, n });
  }
  grid($("#by-state"), [
    { key: "type", label: "saga type" }, { key: "state", label: "state" }, { key: "n", label: "count", num: true },
  ], rows, { id: "by-state-table", filter: false, rowAttrs: (r) => ({ "data-type": r.type, "data-state": r.state }) });
  const select = $("#list-state");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "any state"), ...Object.keys(deals).sort().map((s) => el("option", { value: s }, s)));
  select.value = chosen;
  const top = Math.max(1, ...o.funnel.map((f) => f.count));
  $("#funnel").replaceChildren(...o.funnel.map((f) => {
    const fill = el("div", { class: "fill" });
    fill.style.width = `${(100 * f.count) / top}%`;
    return el("div", { class: "bar", role: "listitem", "data-stage": f.stage }, el("span", {}, f.stage.replaceAll("_", " ")), fill, el("span", { class: "num" }, f.count));
  }));
  grid($("#cycles"), [
    { key: "name", label: "cycle" }, { key: "n", label: "count", num: true },
    { key: "median", label: "median", num: true, render: (r) => duration(r.median) },
    { key: "p90", label: "p90", num: true, render: (r) => duration(r.p90) },
    { key: "max", label: "max", num: true, render: (r) => duration(r.max) },
  ], Object.entries(o.cycle_times).map(([name, v]) => ({ name: name.replaceAll("_", " "), n: v.count, median: v.median, p90: v.p90, max: v.max })),
  { id: "cycles-table", filter: false, rowAttrs: (r) => ({ "data-cycle": r.name.replaceAll(" ", "_") }) });
}

let lastOps = null; // re-drawn when the view is shown: a hidden chart has no width

function renderOperations(ops) {
  lastOps = ops;
  const t = ops.throughput;
  const rate = (v) => (v === null ? "–" : v.toFixed(1));
  $("#events-rate").textContent = rate(t.events_per_s);
  $("#commands-rate").textContent = rate(t.commands_per_s);
  $("#events-total").textContent = t.events_total;
  $("#lag-total").textContent = t.lag_total;
  const byTopic = new Map();
  for (const p of t.lag) {
    const row = byTopic.get(p.topic) || { topic: p.topic, partitions: 0, records: 0, behind: 0 };
    row.partitions += 1; row.records += p.records; row.behind += p.records > 0 ? 1 : 0;
    byTopic.set(p.topic, row);
  }
  grid($("#lag"), [
    { key: "topic", label: "topic" }, { key: "partitions", label: "partitions", num: true },
    { key: "behind", label: "behind", num: true }, { key: "records", label: "lag", num: true },
  ], [...byTopic.values()], { id: "lag-table", filter: byTopic.size > 8 });
  const labels = bucketLabels(ops.aging.in_progress.edges_h);
  chart("chart-aging", labels, [
    { label: "in progress", values: ops.aging.in_progress.counts, stroke: "#1b5fbf", fill: "rgba(27,95,191,0.35)" },
    { label: "in exception", values: ops.aging.exception.counts, stroke: "#b00020", dash: [6, 3], line: true },
  ], { bars: true, yLabel: "deals", legend: true });
  grid($("#table-aging"), [{ key: "bucket", label: "in state" }, { key: "open", label: "in progress", num: true }, { key: "exc", label: "in exception", num: true }],
    labels.map((bucket, i) => ({ bucket, open: ops.aging.in_progress.counts[i], exc: ops.aging.exception.counts[i] })), { filter: false, id: "aging-table" });
  $("#stuck-total").textContent = ops.stuck.length;
  grid($("#stuck"), [
    { key: "saga_key", label: "key", render: (r) => dealLink(r.saga_key) },
    { key: "saga_type", label: "type" }, { key: "state", label: "state" },
    { key: "in_state_seconds", label: "in state", num: true, render: (r) => duration(r.in_state_seconds) },
    { key: "expected_seconds", label: "expected", num: true, render: (r) => duration(r.expected_seconds) },
  ], ops.stuck, { id: "stuck-table" });
}

const selected = new Set();

function renderExceptions(list) {
  $("#exceptions-total").textContent = list.items.length;
  const operator = role === "operator";
  const columns = [
    ...(operator ? [{ key: "pick", label: "select", sortable: false, render: (r) => el("input", {
      type: "checkbox", class: "pick", "aria-label": `select ${r.saga_key}`, checked: selected.has(r.saga_key),
      onchange: (ev) => { if (ev.target.checked) selected.add(r.saga_key); else selected.delete(r.saga_key); },
    }) }] : []),
    { key: "saga_key", label: "key", render: (r) => dealLink(r.saga_key) },
    { key: "saga_type", label: "type" },
    { key: "reason", label: "reason" },
    { key: "age_seconds", label: "age", num: true, render: (r) => duration(r.age_seconds) },
    { key: "owner", label: "owner", render: (r) => r.owner ?? "unassigned" },
    { key: "notes", label: "notes", value: (r) => r.notes.map((n) => n.text).join(" "), render: (r) => (r.notes.length ? `${r.notes[r.notes.length - 1].text} (${r.notes.length})` : "–") },
    { key: "attempt", label: "attempt", num: true },
    ...(operator ? [{ key: "act", label: "actions", sortable: false, render: (r) => el("span", { class: "actions" },
      el("button", { type: "button", class: "op", onclick: () => resolveOne(r.saga_key, "retry") }, "retry"),
      el("button", { type: "button", class: "op", onclick: () => resolveOne(r.saga_key, "cancel") }, "cancel"),
      el("button", { type: "button", class: "op", onclick: () => addNote(r.saga_key) }, "note")) }] : []),
  ];
  grid($("#exceptions"), columns, list.items, { id: "exceptions-table", rowAttrs: (r) => ({ "data-key": r.saga_key }) });
  if (!list.notes_read) say("exception notes unavailable (audit topic unreadable)", true);
}

function renderBulk() {
  if (role !== "operator") { $("#bulk").replaceChildren(); return; }
  const action = el("select", { "aria-label": "bulk action" }, el("option", { value: "retry" }, "retry"), el("option", { value: "cancel" }, "cancel"));
  const reason = el("input", { placeholder: "reason (audited)", "aria-label": "reason", size: 28 });
  const preview = el("div", { class: "preview", id: "bulk-preview" });
  const apply = el("button", { type: "button", class: "op", disabled: true }, "apply");
  const run = async (dryRun) => {
    if (!selected.size) { say("select exceptions first", true); return; }
    if (!reason.value.trim()) { say("give a reason", true); reason.focus(); return; }
    try {
      const r = await post("/exceptions/bulk", { action: action.value, keys: [...selected], reason: reason.value.trim(), dry_run: dryRun });
      grid(preview, [{ key: "saga_key", label: "key" }, { key: "outcome", label: dryRun ? "would" : "outcome" }, { key: "detail", label: "detail" }], r.items, { filter: false, id: "bulk-result" });
      apply.disabled = !dryRun;
      if (!dryRun) { selected.clear(); say(`${action.value} requested for ${r.items.filter((i) => i.outcome === "requested").length}`); }
    } catch (err) { say(`bulk: ${err.message}`, true); }
  };
  apply.addEventListener("click", () => run(false));
  $("#bulk").replaceChildren(el("div", { class: "tools" }, "Selected: ", action, " ", reason, " ",
    el("button", { type: "button", class: "op", id: "bulk-dry-run", onclick: () => run(true) }, "preview (dry run)"), " ", apply), preview);
}

async function resolveOne(key, action) {
  const reason = prompt(`Reason to ${action} ${key}?`);
  if (!reason) return;
  try { await post(`/exceptions/${encodeURIComponent(key)}/${action}`, { reason }); say(`${action} requested for ${key}`); }
  catch (err) { say(`${action}: ${err.message}`, true); }
}

async function addNote(key) {
  const note = prompt(`Note on ${key}?`);
  if (!note) return;
  const owner = prompt("New owner (empty: unchanged)") || null;
  try { await post(`/exceptions/${encodeURIComponent(key)}/note`, { note, owner }); say(`note added to ${key}`); refresh(); }
  catch (err) { say(`note: ${err.message}`, true); }
}

function renderDlq(summary) {
  $("#dlq-total").textContent = summary.total;
  const operator = role === "operator";
  grid($("#dlq-errors"), [
    { key: "topic", label: "topic" }, { key: "error_class", label: "error" }, { key: "count", label: "count", num: true },
    ...(operator ? [{ key: "act", label: "replay", sortable: false, render: (r) => el("button", { type: "button", class: "op", onclick: () => previewReplay(r) }, "preview replay") }] : []),
  ], summary.by_error, { id: "dlq-errors-table", filter: summary.by_error.length > 5 });
  grid($("#dlq"), [
    { key: "topic", label: "topic" }, { key: "offset", label: "at", num: true, render: (d) => `${d.partition}@${d.offset}` },
    { key: "event_type", label: "event" }, { key: "error_class", label: "error" }, { key: "message", label: "message" },
    ...(operator ? [{ key: "act", label: "replay", sortable: false, render: (d) => el("button", { type: "button", class: "op", onclick: () => replayOne(d) }, "replay") }] : []),
  ], summary.recent, { id: "dlq-table" });
}

async function previewReplay(group) {
  const box = $("#dlq-preview");
  try {
    const r = await post("/dlq/replay/bulk", { topic: group.topic, error_class: group.error_class, dry_run: true });
    const go = el("button", { type: "button", class: "op", onclick: async () => {
      try { const done = await post("/dlq/replay/bulk", { topic: group.topic, error_class: group.error_class, dry_run: false }); say(`replay ${done.replay_id}: ${done.replayed} of ${done.matched} replayed`); box.hidden = true; refresh(); }
      catch (err) { say(`replay: ${err.message}`, true); }
    } }, `replay ${r.matched}`);
    box.replaceChildren(el("h3", {}, `Dry run: ${r.matched} dead letter(s) of ${group.topic} / ${group.error_class} would be replayed`), el("div", { id: "dlq-preview-list" }), go,
      el("button", { type: "button", onclick: () => { box.hidden = true; } }, "close"));
    grid(box.querySelector("#dlq-preview-list"), [{ key: "offset", label: "at", render: (d) => `${d.partition}@${d.offset}` }, { key: "original_topic", label: "to" }, { key: "message", label: "message" }], r.records, { filter: false });
    box.hidden = false;
  } catch (err) { say(`replay preview: ${err.message}`, true); }
}

async function replayOne(d) {
  if (!confirm(`Replay ${d.topic} ${d.partition}@${d.offset} to ${d.original_topic}?`)) return;
  try { const r = await post("/dlq/replay", { topic: d.topic, partition: d.partition, offset: d.offset }); say(`replayed to ${r.replayed_to} @${r.offset}`); }
  catch (err) { say(`replay: ${err.message}`, true); }
}

// ---- finance -----------------------------------------------------------------------------

function renderFinance(f) {
  $("#as-of").textContent = f.as_of.slice(0, 16).replace("T", " ");
  grid($("#money"), [
    { key: "currency", label: "currency" }, { key: "legal_entity", label: "legal entity" },
    { key: "deals", label: "deals", num: true }, { key: "invoices", label: "invoices", num: true },
    ...["invoiced", "paid", "outstanding", "overdue", "recognised"].map((k) => ({ key: k, label: k, num: true, value: (r) => Number(r[k]), render: (r) => money(r[k]) })),
  ], f.totals, { id: "money-table", filter: f.totals.length > 6, rowAttrs: (r) => ({ "data-currency": r.currency, "data-entity": r.legal_entity }) });
  $("#billing-status").replaceChildren(...Object.entries(f.billing).map(([k, n]) => el("span", { class: `pill billing-${k.replaceAll(" ", "-")}`, "data-billing": k }, `${k}: ${n}`)));
  for (const [name, h] of Object.entries(f.histograms)) {
    const labels = bucketLabels(h.edges_h);
    chart(`chart-${name}`, labels, [{ label: "count", values: h.counts, stroke: "#1b5fbf", fill: "rgba(27,95,191,0.35)" }], { bars: true, yLabel: "count" });
    grid(document.getElementById(`table-${name}`), [{ key: "bucket", label: "time" }, { key: "n", label: "count", num: true }], labels.map((bucket, i) => ({ bucket, n: h.counts[i] })), { filter: false });
  }
  chart("chart-sla", f.sla.map((d) => d.day.slice(5)), [{ label: "breached", values: f.sla.map((d) => d.rate), stroke: "#b00020", fill: "rgba(176,0,32,0.12)" }], { percent: true, yLabel: "breached" });
  grid($("#table-sla"), [{ key: "day", label: "day won" }, { key: "deals", label: "deals", num: true }, { key: "breached", label: "breached", num: true }, { key: "rate", label: "rate", num: true, render: (d) => `${Math.round(d.rate * 100)}%` }], f.sla, { filter: false });
  grid($("#deal-money"), [
    { key: "deal_id", label: "deal", render: (d) => dealLink(d.deal_id) }, { key: "state", label: "state" },
    { key: "legal_entity", label: "entity" }, { key: "currency", label: "cur." },
    { key: "billing", label: "billing" }, { key: "invoices", label: "invoices", num: true },
    ...["invoiced", "paid", "outstanding", "overdue"].map((k) => ({ key: k, label: k, num: true, value: (r) => Number(r[k]), render: (r) => money(r[k]) })),
  ], f.deals, { id: "deal-money-table", rowAttrs: (d) => ({ "data-deal": d.deal_id, "data-billing": d.billing }) });
}

// ---- one deal ----------------------------------------------------------------------------

async function loadList() {
  const state = $("#list-state").value;
  const query = new URLSearchParams({ limit: "500", source: source() });
  if (dealSaga) query.set("saga_type", dealSaga);
  if (state) query.set("state", state);
  const list = await api(`/sagas?${query}`);
  grid($("#saga-list"), [
    { key: "saga_key", label: "deal", render: (s) => dealLink(s.saga_key) }, { key: "state", label: "state" },
    { key: "in_state_seconds", label: "in state", num: true, render: (s) => duration(s.in_state_seconds) },
  ], list.items, { id: "saga-list-table" });
}

async function openTimeline(key) {
  $("#saga-key").value = key;
  const box = $("#timeline");
  try {
    const t = await api(`/deals/${encodeURIComponent(key)}/timeline?source=${source()}`);
    $("#timeline-key").textContent = key;
    $("#timeline-states").replaceChildren(...Object.entries(t.states).map(([type, st]) => el("span", { class: "pill", "data-type": type }, `${type}: ${st}`)));
    grid($("#platform-ids"), [{ key: "system", label: "system" }, { key: "kind", label: "id kind" }, { key: "id", label: "platform id" }], t.platform_ids, { filter: false, id: "platform-ids-table" });
    const note = $("#timeline-note");
    note.hidden = t.commands_read;
    note.textContent = t.commands_read ? "" : "The command topics could not be read: commands are missing from this timeline.";
    $("#timeline-body").replaceChildren(...t.entries.map((e) => el("li", { class: `kind-${e.kind}`, "data-kind": e.kind },
      el("div", { class: "when" }, e.at.replace("T", " ").slice(0, 19)),
      el("span", { class: "sys" }, e.system), " ", el("span", { class: "kind" }, e.kind), " ",
      el("strong", {}, e.type),
      e.kind === "status" ? ` ${e.from_state ?? "∅"} → ${e.to_state}` : "",
      e.saga_type ? el("span", { class: "saga" }, ` (${e.saga_type})`) : "",
      el("div", { class: "ids" }, `id ${e.id}`, e.idempotency_key ? el("span", {}, " · idempotency key ", el("code", {}, e.idempotency_key)) : "",
        e.detail ? ` · ${e.detail}` : ""))));
    box.hidden = false;
    box.scrollIntoView({ block: "start" });
    box.focus({ preventScroll: true });
  } catch (err) {
    say(`timeline: ${err.message}`, true);
  }
}

// ---- navigation, sign-in, refresh --------------------------------------------------------

function route() {
  const [, view = "ops", key] = location.hash.split("/");
  const name = ["ops", "finance", "deal"].includes(view) ? view : "ops";
  for (const v of ["ops", "finance", "deal"]) $(`#view-${v}`).hidden = v !== name || !role;
  for (const a of document.querySelectorAll("#tabs a")) a.setAttribute("aria-current", a.dataset.view === name ? "page" : "false");
  if (role && name === "ops" && lastOps) renderOperations(lastOps);
  if (role && name === "finance") loadFinance();
  if (role && name === "deal") {
    loadList().catch((err) => say(err.message, true));
    if (key) openTimeline(decodeURIComponent(key));
  }
}

async function loadFinance() {
  try { renderFinance(await api(`/finance?source=${source()}`)); } catch (err) { say(`finance: ${err.message}`, true); }
}

async function refresh() {
  if (!role) return;
  say("loading…");
  try {
    const [overview, exceptions, ops] = await Promise.all([
      api(`/overview?source=${source()}`), api(`/exceptions?source=${source()}`), api(`/operations?source=${source()}`),
    ]);
    renderOverview(overview);
    renderExceptions(exceptions);
    renderOperations(ops);
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (err.status === 401) { signedOut("Your session ended: sign in again."); return; }
    say(err.message, true);
    return;
  }
  if (location.hash.startsWith("#/finance")) loadFinance();
  // The DLQ is read from Kafka and may be slower: it fills in on its own.
  api("/dlq").then(renderDlq).catch((err) => say(`dead letters: ${err.message}`, true));
}

async function signedIn(who) {
  role = who.role;
  document.body.dataset.role = role;
  $("#role").textContent = `${who.role} (${who.actor})`;
  $("#signin").hidden = true;
  $("#tabs").hidden = $("#who").hidden = false;
  renderBulk();
  await refresh(); // first: the deal list needs the overview's deal saga
  route();
}

function signedOut(message) {
  role = null;
  delete document.body.dataset.role;
  $("#signin").hidden = false;
  $("#tabs").hidden = $("#who").hidden = true;
  for (const v of ["ops", "finance", "deal"]) $(`#view-${v}`).hidden = true;
  if (message) $("#signin-msg").textContent = message;
}

$("#signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = $("#token");
  const token = input.value.trim();
  input.value = ""; // not kept: the session cookie stands for it from now on
  try {
    await signedIn(await api("/session", { method: "POST", headers: { Authorization: `Bearer ${token}` } }));
  } catch (err) {
    $("#signin-msg").textContent = err.status === 401 ? "Unknown token." : `Sign-in failed: ${err.message}`;
  }
});
$("#sign-out").addEventListener("click", async () => {
  await api("/session/end", { method: "POST" }).catch(() => {});
  signedOut("Signed out.");
});
$("#find").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = $("#saga-key").value.trim();
  if (key) location.hash = `#/deal/${encodeURIComponent(key)}`;
});
$("#list-state").addEventListener("change", () => loadList().catch((err) => say(err.message, true)));
$("#source").addEventListener("change", () => { refresh(); route(); });
$("#refresh").addEventListener("click", refresh);
window.addEventListener("hashchange", route);
window.addEventListener("resize", () => {
  // Charts are drawn to their card's width: draw them again (tables reflow on their own).
  if (!role) return;
  if (!$("#view-ops").hidden && lastOps) renderOperations(lastOps);
  if (!$("#view-finance").hidden) loadFinance();
});

(async function start() {
  const config = await fetch("/page/config").then((r) => r.json()).catch(() => ({ tokens_configured: true }));
  let who = null;
  try { who = await api("/whoami"); } catch { /* not signed in */ }
  if (who) await signedIn(who);
  else {
    signedOut(config.tokens_configured ? "Sign in with a viewer or operator token." : config.message);
    if (!config.tokens_configured) $("#signin-submit").disabled = true;
  }
  setInterval(refresh, 15000);
})();
