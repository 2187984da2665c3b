// The live dashboard: every thread on one socket, counters, the inbox of pending interrupts
// across threads, and for the selected thread its graph (active nodes lit) and event timeline.
//
// Events mark what changed; the page redraws at most once per animation frame, reusing rows
// and cards, so hundreds of threads stay responsive.

import { interruptCard } from "../lib/cards.js";
import { openConnection, topBar } from "../lib/page.js";
import { clock, formatDuration, graphSvg, h, preview, statusBadge } from "../lib/render.js";

const MAX_ROWS = 400;
const MAX_TIMELINE = 300;
const MAX_INBOX = 150; // cards drawn at once; the count says how many wait in all
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const bar = topBar("dashboard");
$("topbar").replaceWith(bar.element);
// the dashboard keeps nothing across reloads: it rebuilds from list_threads and live events
const conn = openConnection({ storageKey: "streamhil.dashboard", banner: $("banner"), dot: bar.dot, storage: null });

const model = {
  graphs: new Map(),
  threads: new Map(), // id -> thread view (below)
  selected: null,
  filter: "all",
  search: "",
  eventTimes: [], // arrival times (ms) of the last 10 s of events
  eventsSeen: 0,
  metrics: null,
};

/** The dashboard's view of one thread, kept up to date by list_threads and events. */
function threadView(t) {
  return {
    id: t.thread_id,
    graph: t.graph,
    status: t.status,
    runId: t.run_id ?? null,
    updatedAt: t.updated_at ? new Date(t.updated_at) : new Date(),
    interrupts: t.interrupts ?? [],
    waitingSince: new Map((t.interrupts ?? []).map((i) => [i.id, new Date(t.updated_at ?? Date.now())])),
    events: [],
    eventCount: 0,
    active: new Set((t.interrupts ?? []).map((i) => topNode(i.ns, i.node))),
    watching: false,
  };
}

// --- data in ----------------------------------------------------------------------------------

let polling = false;

/** Every thread the server lists (paged), merged into the model; new ones get watched. */
async function poll() {
  if (conn.state !== "open" || polling) return;
  polling = true;
  const startedAt = Date.now();
  try {
    const threads = [];
    for (let offset = 0; ; offset += 1000) {
      const page = (await conn.listThreads({ limit: 1000, offset })).threads;
      threads.push(...page);
      if (page.length < 1000) break;
    }
    const firstPoll = !model.polledOnce;
    model.polledOnce = true;
    const seen = new Set();
    for (const t of threads) {
      seen.add(t.thread_id);
      let view = model.threads.get(t.thread_id);
      if (!view) {
        view = threadView(t);
        // a thread born while the page is open is replayed from its start: its log is short and
        // the timeline is then complete; older threads are followed live from now on
        view.replay = !firstPoll;
        model.threads.set(t.thread_id, view);
      } else if (!view.liveSince || view.liveSince < startedAt) {
        // the list is authoritative unless an event arrived after it was asked for
        view.status = t.status;
        view.runId = t.run_id ?? null;
        setInterrupts(view, t.interrupts ?? []);
      }
      view.graph = t.graph;
      const updated = t.updated_at ? new Date(t.updated_at) : null;
      if (updated && updated > view.updatedAt) view.updatedAt = updated;
      if (!view.watching) watchThread(view);
    }
    for (const id of [...model.threads.keys()]) if (!seen.has(id)) model.threads.delete(id);
    dirty.threads = dirty.inbox = dirty.counters = true;
    schedule();
  } catch {
    // shown by the banner when the connection is down
  } finally {
    polling = false;
  }
}

function watchThread(view) {
  view.watching = true;
  conn.watch(view.id, view.replay ? { after: 0 } : {}).catch(() => { view.watching = false; });
  view.replay = false;
}

async function loadGraphs() {
  try {
    const { graphs } = await conn.listGraphs();
    model.graphs = new Map(graphs.map((g) => [g.name, g]));
    dirty.detail = true;
    schedule();
  } catch {
    // retried on the next welcome
  }
}

async function pollMetrics() {
  try {
    const response = await fetch(new URL("../metrics", location.href), { headers: { accept: "application/json" } });
    if (response.ok) model.metrics = await response.json();
  } catch {
    model.metrics = null;
  }
  dirty.counters = true;
  schedule();
}

function setInterrupts(view, interrupts) {
  const now = new Date();
  const next = new Map();
  for (const i of interrupts) next.set(i.id, view.waitingSince.get(i.id) ?? now);
  view.waitingSince = next;
  view.interrupts = interrupts;
  if (interrupts.length) view.active = new Set(interrupts.map((i) => topNode(i.ns, i.node)));
}

conn.on("event", (ev) => {
  const view = model.threads.get(ev.thread_id);
  if (!view) return;
  const now = Date.now();
  model.eventTimes.push(now);
  model.eventsSeen += 1;
  view.eventCount += 1;
  view.liveSince = now;
  view.updatedAt = new Date(now);
  const data = ev.data ?? {};
  switch (ev.event) {
    case "run_started":
      view.status = "running";
      view.runId = ev.run_id;
      view.active = new Set(["__start__"]);
      break;
    case "updates":
      view.active = new Set(Object.keys(data).filter((k) => k !== "__interrupt__").map((node) => topNode(ev.ns, node)));
      break;
    case "interrupt":
      setInterrupts(view, data.interrupts ?? []);
      view.active = new Set((data.interrupts ?? []).map((i) => topNode(i.ns, i.node)));
      break;
    case "run_interrupted":
      view.status = data.interrupt_ids?.length ? "interrupted" : "idle";
      break;
    case "run_done":
      view.status = "idle";
      view.runId = null;
      setInterrupts(view, []);
      view.active = new Set(["__end__"]);
      break;
    case "run_error":
      view.status = "error";
      view.runId = null;
      view.active = new Set();
      break;
    case "run_cancelled":
      view.status = "idle";
      view.runId = null;
      view.active = new Set();
      break;
    default:
      break;
  }
  view.events.push({ ev, at: new Date(now) });
  if (view.events.length > MAX_TIMELINE) view.events.splice(0, view.events.length - MAX_TIMELINE);
  dirty.threads = dirty.counters = true;
  if (["interrupt", "run_started", "run_done", "run_error", "run_cancelled", "run_interrupted"].includes(ev.event)) dirty.inbox = true;
  if (view.id === model.selected) {
    dirty.detail = true;
    pendingTimeline.push(view.events.at(-1));
  }
  schedule();
});

conn.on("resync", (info) => {
  const view = model.threads.get(info.thread_id);
  if (!view) return;
  view.status = info.interrupts?.length ? "interrupted" : info.status ?? view.status;
  setInterrupts(view, info.interrupts ?? []);
  view.events.push({ ev: { event: "resync", seq: info.head_seq, data: { reason: info.reason } }, at: new Date() });
  dirty.threads = dirty.inbox = dirty.detail = dirty.counters = true;
  if (view.id === model.selected) dirty.timelineReset = true;
  schedule();
});

conn.on("welcome", () => {
  for (const view of model.threads.values()) view.watching = conn.watched().includes(view.id);
  loadGraphs();
  poll();
});

/** The root-graph node an event belongs to: a subgraph's node lights its parent node. */
function topNode(ns, node) {
  const first = (ns ?? [])[0];
  return first ? String(first).split(":")[0] : node;
}

// --- rendering (batched) ----------------------------------------------------------------------

const dirty = { threads: true, inbox: true, detail: true, counters: true, timelineReset: true };
const pendingTimeline = [];
let frame = null;

function schedule() {
  if (frame === null) frame = requestAnimationFrame(render);
}

function render() {
  frame = null;
  if (dirty.counters) renderCounters();
  if (dirty.threads) renderThreads();
  if (dirty.inbox) renderInbox();
  if (dirty.detail) renderDetail();
  dirty.threads = dirty.inbox = dirty.detail = dirty.counters = false;
}

function renderCounters() {
  const now = Date.now();
  while (model.eventTimes.length && now - model.eventTimes[0] > 10000) model.eventTimes.shift();
  const threads = [...model.threads.values()];
  const running = threads.filter((t) => t.status === "running").length;
  const errors = threads.filter((t) => t.status === "error").length;
  let waiting = 0;
  let oldest = null;
  for (const t of threads) {
    for (const since of t.waitingSince.values()) {
      waiting += 1;
      if (!oldest || since < oldest) oldest = since;
    }
  }
  const m = model.metrics;
  const eps = m?.events?.per_second ?? model.eventTimes.length / 10;
  $("c-threads").textContent = String(threads.length);
  $("c-running").textContent = String(running);
  $("c-runs-total").textContent = m?.runs ? `${m.runs.started} started · ${m.runs.queued} queued` : "";
  $("c-waiting").textContent = String(waiting);
  $("c-oldest").textContent = oldest ? `oldest ${formatDuration(now - oldest)}` : "";
  $("c-eps").textContent = eps >= 10 ? String(Math.round(eps)) : eps.toFixed(1);
  $("c-events-total").textContent = m?.events ? `${m.events.total} total` : `${model.eventsSeen} seen`;
  $("c-connections").textContent = m ? String(m.connections) : "–";
  $("c-errors").textContent = errors ? `${errors} thread${errors > 1 ? "s" : ""} in error` : "";
}

const rows = new Map(); // thread id -> <tr>

function visibleThreads() {
  const q = model.search.toLowerCase();
  return [...model.threads.values()]
    .filter((t) => model.filter === "all" || t.status === model.filter)
    .filter((t) => !q || t.id.toLowerCase().includes(q) || (t.graph ?? "").toLowerCase().includes(q))
    .sort((a, b) => b.updatedAt - a.updatedAt);
}

function renderThreads() {
  const list = visibleThreads();
  const shown = list.slice(0, MAX_ROWS);
  const body = $("threads-body");
  const keep = new Set(shown.map((t) => t.id));
  for (const [id, tr] of rows) if (!keep.has(id)) { tr.remove(); rows.delete(id); }
  let previous = null;
  for (const t of shown) {
    let tr = rows.get(t.id);
    if (!tr) {
      tr = h("tr", { tabindex: "0", dataset: { threadId: t.id }, on: { click: () => select(t.id), keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(t.id); } } } },
        h("td", { class: "mono" }), h("td"), h("td"), h("td"), h("td", { class: "num" }), h("td", { class: "muted" }));
      rows.set(t.id, tr);
    }
    const [idCell, graphCell, statusCell, waitCell, eventsCell, timeCell] = tr.children;
    setText(idCell, `${t.id.slice(0, 14)}${t.id.length > 14 ? "…" : ""}`);
    idCell.title = t.id;
    setText(graphCell, t.graph ?? "");
    if (statusCell.dataset.status !== t.status) {
      statusCell.dataset.status = t.status;
      statusCell.replaceChildren(statusBadge(t.status));
    }
    tr.dataset.status = t.status;
    setText(waitCell, t.interrupts.length ? String(t.interrupts.length) : "");
    setText(eventsCell, String(t.eventCount));
    setText(timeCell, clock(t.updatedAt));
    tr.classList.toggle("selected", t.id === model.selected);
    tr.setAttribute("aria-selected", String(t.id === model.selected));
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== tr) body.insertBefore(tr, expected);
    previous = tr;
  }
  $("threads-empty").hidden = list.length > 0;
  const more = $("threads-more");
  more.hidden = list.length <= MAX_ROWS;
  more.textContent = `Showing the ${MAX_ROWS} most recent of ${list.length}; filter to find others.`;
}

function setText(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

const inboxCards = new Map(); // interrupt id -> {card, since, waitEl}

function renderInbox() {
  const items = [];
  for (const t of model.threads.values()) {
    for (const i of t.interrupts) items.push({ thread: t, interrupt: i, since: t.waitingSince.get(i.id) ?? new Date() });
  }
  items.sort((a, b) => a.since - b.since);
  const total = items.length;
  items.splice(MAX_INBOX);
  const list = $("inbox-list");
  const keep = new Set(items.map((x) => x.interrupt.id));
  for (const [id, entry] of inboxCards) {
    if (!keep.has(id)) {
      entry.wrap.remove();
      inboxCards.delete(id);
    }
  }
  let previous = null;
  for (const { thread, interrupt, since } of items) {
    let entry = inboxCards.get(interrupt.id);
    if (!entry) {
      const card = interruptCard(interrupt, {
        thread: `${thread.graph} · ${thread.id.slice(0, 8)}`,
        onAnswer: (value) => conn.resume({ thread_id: thread.id, interrupt_id: interrupt.id, value }),
      });
      const waitEl = h("span", { class: "waiting-for muted small" });
      card.querySelector(".card-head").append(waitEl);
      const open = h("button", { type: "button", class: "ghost small", text: "Show thread", on: { click: () => select(thread.id) } });
      card.querySelector(".card-head").append(open);
      const wrap = h("div", { class: "inbox-item", dataset: { threadId: thread.id } }, card);
      entry = { wrap, card, waitEl, since };
      inboxCards.set(interrupt.id, entry);
    }
    entry.since = since;
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== entry.wrap) list.insertBefore(entry.wrap, expected);
    previous = entry.wrap;
  }
  updateWaitingTimes();
  $("inbox-count").textContent = String(total);
  $("inbox-empty").hidden = total > 0;
  const more = $("inbox-more");
  more.hidden = total <= MAX_INBOX;
  more.textContent = `The ${MAX_INBOX} oldest are shown; ${total - MAX_INBOX} more wait. Answer these first, or open a thread in the chat.`;
}

function updateWaitingTimes() {
  const now = Date.now();
  for (const entry of inboxCards.values()) setText(entry.waitEl, `waiting ${formatDuration(now - entry.since)}`);
}

let drawn = { thread: null, graph: null, svg: null };

function renderDetail() {
  const view = model.threads.get(model.selected);
  const graphBox = $("detail-graph");
  const timeline = $("timeline");
  if (!view) {
    $("detail-title").textContent = "Thread";
    $("detail-sub").textContent = "Select a thread to see its graph and timeline.";
    graphBox.replaceChildren();
    timeline.replaceChildren();
    drawn = { thread: null, graph: null, svg: null };
    return;
  }
  $("detail-title").textContent = `${view.graph} · ${view.id.slice(0, 12)}`;
  $("detail-sub").replaceChildren(statusBadge(view.status), ` run ${view.runId ? view.runId.slice(0, 12) : "–"} · ${view.eventCount} events since this page opened`);
  const graph = model.graphs.get(view.graph);
  if (graph && (drawn.thread !== view.id || drawn.graph !== graph)) {
    drawn = { thread: view.id, graph, svg: graphSvg(graph, view.active) };
    graphBox.replaceChildren(drawn.svg);
  } else if (!graph) {
    graphBox.replaceChildren(h("p", { class: "muted small", text: "The graph's structure is not known." }));
  }
  drawn.svg?.update(view.active);
  drawn.svg?.classList.toggle("waiting", view.status === "interrupted");
  if (dirty.timelineReset) {
    timeline.replaceChildren(...view.events.map(timelineItem));
    pendingTimeline.length = 0;
    dirty.timelineReset = false;
  } else {
    for (const item of pendingTimeline.splice(0)) timeline.append(timelineItem(item));
    while (timeline.children.length > MAX_TIMELINE) timeline.firstChild.remove();
  }
  timeline.scrollTop = timeline.scrollHeight;
}

function timelineItem({ ev, at }) {
  return h("li", { class: `tl tl-${ev.event}` },
    h("span", { class: "tl-seq mono", text: ev.seq !== undefined ? `#${ev.seq}` : "" }),
    h("span", { class: "tl-time muted", text: clock(at) }),
    h("span", { class: "tl-kind", text: ev.event }),
    h("span", { class: "tl-summary", text: summarize(ev) }));
}

function summarize(ev) {
  const data = ev.data ?? {};
  switch (ev.event) {
    case "run_started": return `${data.kind ?? "start"} ${ev.run_id ?? ""}`;
    case "updates": return Object.keys(data).join(", ");
    case "interrupt": return (data.interrupts ?? []).map((i) => `${i.node}: ${preview(i.value, 60)}`).join(" | ");
    case "run_interrupted": return `waiting on ${(data.next ?? []).join(", ")}`;
    case "run_error": return `${data.error?.type ?? "Error"}: ${data.error?.message ?? ""}`;
    case "run_cancelled": return data.reason ?? "";
    case "resync": return `log lost (${data.reason}); rebuilt from state`;
    default: return preview(data, 80);
  }
}

function select(threadId) {
  model.selected = threadId;
  dirty.detail = dirty.threads = dirty.timelineReset = true;
  schedule();
}

// --- controls ---------------------------------------------------------------------------------

for (const chip of document.querySelectorAll(".chip[data-filter]")) {
  chip.addEventListener("click", () => {
    model.filter = chip.dataset.filter;
    for (const c of document.querySelectorAll(".chip[data-filter]")) c.setAttribute("aria-pressed", String(c === chip));
    dirty.threads = true;
    schedule();
  });
}
$("thread-search").addEventListener("input", (ev) => {
  model.search = ev.target.value.trim();
  dirty.threads = true;
  schedule();
});

// for the console and for tests: the page's model and connection
globalThis.streamhilDashboard = { model, conn };

conn.connect().catch(() => {});
setInterval(poll, POLL_MS);
setInterval(pollMetrics, 1000);
setInterval(() => {
  updateWaitingTimes();
  dirty.counters = true;
  schedule();
}, 1000);
pollMetrics();
