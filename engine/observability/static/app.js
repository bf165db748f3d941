// q2c status page: plain JS over the worker's read API (/api/v1). No build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);
let token = params.get("token") || sessionStorage.getItem("q2c-token") || "";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
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

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function source() {
  return $("#source").value;
}

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status}: ${body.detail || response.statusText}`);
  return body;
}

function say(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.className = isError ? "err" : "";
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// The saga type that follows a deal end to end, as the overview names it.
let dealSaga = "";

function renderOverview(o) {
  $("#worker").textContent = `worker ${o.worker_id}`;
  $("#total-sagas").textContent = o.sagas;
  dealSaga = o.deal_saga;
  const deals = o.by_state[dealSaga] || {};
  $("#total-deals").textContent = Object.values(deals).reduce((a, b) => a + b, 0);
  const rows = [];
  const states = new Set();
  for (const [type, byState] of Object.entries(o.by_state)) {
    for (const [state, n] of Object.entries(byState)) {
      states.add(state);
      rows.push(el("tr", { "data-type": type, "data-state": state },
        el("td", {}, type), el("td", { class: "state" }, state), el("td", { class: "num" }, n)));
    }
  }
  fill($("#by-state tbody"), rows);
  const select = $("#list-state");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "any state"),
    ...[...states].sort().map((s) => el("option", { value: s }, s)));
  select.value = chosen;
  const top = Math.max(1, ...o.funnel.map((f) => f.count));
  $("#funnel").replaceChildren(...o.funnel.map((f) => el("div", { class: "bar", "data-stage": f.stage },
    el("span", {}, f.stage),
    el("div", { class: "fill", style: `width:${(100 * f.count) / top}%` }),
    el("span", { class: "num" }, f.count))));
  const longest = Math.max(1, ...Object.values(o.cycle_times).map((v) => v[v.length - 1] || 0));
  fill($("#cycles tbody"), Object.entries(o.cycle_times).map(([name, values]) => {
    const p90 = quantile(values, 0.9);
    return el("tr", { "data-cycle": name }, el("td", {}, name), el("td", { class: "num" }, values.length),
      el("td", { class: "num" }, duration(quantile(values, 0.5))),
      el("td", { class: "num" }, duration(p90)),
      el("td", { class: "num" }, duration(values[values.length - 1])),
      el("td", {}, el("span", { class: "spark", style: `width:${(120 * (p90 || 0)) / longest}px` })));
  }));
}

async function loadList() {
  const state = $("#list-state").value;
  const query = new URLSearchParams({ limit: "50", source: source(), saga_type: dealSaga });
  if (state) query.set("state", state);
  const list = await api(`/sagas?${query}`);
  fill($("#saga-list tbody"), list.items.map((s) => el("tr", {},
    el("td", {}, el("a", { class: "key", "data-key": s.saga_key, onclick: () => openTimeline(s.saga_key) }, s.saga_key)),
    el("td", {}, s.saga_type), el("td", { class: "state" }, s.state),
    el("td", { class: "num" }, duration(s.in_state_seconds)))));
}

function timelineItems(saga) {
  const items = saga.history.map((h) => ({
    at: h.at, kind: h.from_state === h.to_state || h.note?.startsWith("ignored") ? "note" : "transition",
    text: `${h.event_type} (${h.event_id.slice(0, 8)}): ${h.from_state ?? "∅"} → ${h.to_state}${h.note ? ` — ${h.note}` : ""}`,
  }));
  for (const t of saga.timers) items.push({ at: t.fire_at, kind: "timer", text: `timer ${t.name} due` });
  for (const p of saga.parked) items.push({ at: p.occurred_at, kind: "parked", text: `parked ${p.event_type} (${p.event_id.slice(0, 8)})` });
  return items.sort((a, b) => a.at.localeCompare(b.at));
}

async function openTimeline(key) {
  $("#saga-key").value = key;
  try {
    const [found, invoices] = await Promise.all([
      api(`/sagas/${encodeURIComponent(key)}?source=${source()}`),
      api(`/deals/${encodeURIComponent(key)}/invoices?source=${source()}`).catch(() => null),
    ]);
    $("#timeline-key").textContent = key;
    const blocks = found.sagas.map((saga) => el("div", { class: "saga", "data-type": saga.saga_type },
      el("h4", {}, `${saga.saga_type}: `, el("span", { class: "state" }, saga.state)),
      el("ol", {}, ...timelineItems(saga).map((i) => el("li", { class: `kind-${i.kind}` },
        el("div", { class: "when" }, i.at), i.text)))));
    if (invoices) {
      blocks.push(el("h4", {}, "Invoices (as the saga recorded them)"),
        el("table", { id: "invoices" }, el("tbody", {}, ...invoices.invoices.map((inv) => el("tr", {},
          el("td", {}, inv.invoice_id), el("td", {}, inv.milestone_id ?? ""),
          el("td", {}, inv.paid ? `paid ${inv.paid_at ?? ""}` : `due ${inv.due_date}${inv.dunned ? " (dunned)" : ""}`))))));
    }
    $("#timeline-body").replaceChildren(...blocks);
    $("#timeline").hidden = false;
  } catch (err) {
    say(`timeline: ${err.message}`, true);
  }
}

function renderExceptions(list) {
  fill($("#exceptions tbody"), list.items.map((e) => el("tr", { "data-key": e.saga_key },
    el("td", {}, el("a", { class: "key", onclick: () => openTimeline(e.saga_key) }, e.saga_key)),
    el("td", {}, e.saga_type), el("td", {}, e.reason ?? ""), el("td", { class: "num" }, duration(e.age_seconds)),
    el("td", { class: "num" }, e.attempt),
    el("td", {}, el("button", { onclick: () => resolve(e.saga_key, "retry") }, "retry"), " ",
      el("button", { onclick: () => resolve(e.saga_key, "cancel") }, "cancel")))));
}

function renderDlq(summary) {
  $("#dlq-total").textContent = summary.total;
  fill($("#dlq-errors tbody"), summary.by_error.map((e) => el("tr", {},
    el("td", {}, e.topic), el("td", {}, e.error_class), el("td", { class: "num" }, e.count))));
  fill($("#dlq tbody"), summary.recent.map((d) => el("tr", {},
    el("td", {}, d.topic), el("td", { class: "num" }, `${d.partition}@${d.offset}`), el("td", {}, d.event_type ?? ""),
    el("td", {}, d.error_class), el("td", {}, d.message),
    el("td", {}, el("button", { onclick: () => replay(d) }, "replay")))));
}

async function replay(d) {
  if (!confirm(`Replay ${d.topic} ${d.partition}@${d.offset} to ${d.original_topic}?`)) return;
  try {
    const r = await api("/dlq/replay", { method: "POST", body: JSON.stringify({ topic: d.topic, partition: d.partition, offset: d.offset }) });
    say(`replayed to ${r.replayed_to} @${r.offset}`);
  } catch (err) { say(`replay: ${err.message}`, true); }
}

async function resolve(key, action) {
  const reason = prompt(`Reason to ${action} ${key}?`);
  if (!reason) return;
  try {
    await api(`/exceptions/${encodeURIComponent(key)}/${action}`, { method: "POST", body: JSON.stringify({ reason }) });
    say(`${action} requested for ${key}`);
  } catch (err) { say(`${action}: ${err.message}`, true); }
}

async function refresh() {
  if (!token) { say("enter a token"); return; }
  say("loading…");
  try {
    const [overview, exceptions] = await Promise.all([api(`/overview?source=${source()}`), api(`/exceptions?source=${source()}`)]);
    renderOverview(overview);
    renderExceptions(exceptions);
    await loadList();
    say(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) { say(err.message, true); return; }
  // The DLQ is read from Kafka and may be slower: it fills in on its own.
  api("/dlq").then(renderDlq).catch((err) => say(`dead letters: ${err.message}`, true));
}

$("#token").value = token;
$("#auth").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("#token").value.trim();
  sessionStorage.setItem("q2c-token", token);
  refresh();
});
$("#find").addEventListener("submit", (ev) => { ev.preventDefault(); const key = $("#saga-key").value.trim(); if (key) openTimeline(key); });
$("#list-state").addEventListener("change", () => loadList().catch((err) => say(err.message, true)));
$("#source").addEventListener("change", refresh);
if (params.get("key")) openTimeline(params.get("key"));
refresh();
setInterval(refresh, 15000);
