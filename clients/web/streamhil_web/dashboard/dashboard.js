// The live dashboard: the identity's threads, counters, the inbox of pending interrupts across
// threads, and for the selected thread its graph (active nodes lit) and event timeline.
//
// Nothing polls: `watch_threads` gives the threads and the counters (with tokens: the identity's own), then notices say
// when a thread is created or changes status and when the counters change. Only the selected
// thread is subscribed, from seq 0, so its timeline is back-filled from its log. Events mark what
// changed; the page redraws at most once per animation frame, reusing rows and cards.

import { firstControl, interruptCard } from "../lib/cards.js";
import { openConnection, topBar } from "../lib/page.js";
import { clock, formatDuration, graphSvg, h, preview, statusBadge } from "../lib/render.js";

const MAX_ROWS = 400;
const MAX_TIMELINE = 300;
const MAX_INBOX = 150; // cards drawn at once; the count says how many wait in all

const $ = (id) => document.getElementById(id);
const bar = topBar("dashboard");
$("topbar").replaceWith(bar.element);
// the dashboard keeps nothing across reloads: it rebuilds from watch_threads and the selected log
const conn = openConnection({ storageKey: "streamhil.dashboard", banner: $("banner"), dot: bar.dot, storage: null });

const model = {
  graphs: new Map(),
  threads: new Map(), // id -> thread view (below)
  selected: null,
  filter: "all",
  search: "",
  counters: null, // the Counters (watch_threads, then `counters` notices; with tokens the identity's own)
  notices: 0,
  hadSnapshot: false,
};

/** The dashboard's view of one thread, kept up to date by watch_threads and its notices. */
function threadView(t) {
  const view = {
    id: t.thread_id,
    graph: t.graph,
    status: t.status,
    runId: t.run_id ?? null,
    headSeq: t.head_seq ?? 0,
    updatedAt: t.updated_at ? new Date(t.updated_at) : new Date(),
    interrupts: [],
    waitingSince: new Map(),
    events: [], // the selected thread's timeline: {ev, at, logged, replayed}
    backfillUpTo: 0, // events up to this seq were in the log before the thread was selected
    // events up to this seq happened before this page opened: the head of the threads in the
    // first snapshot; 0 for a thread first seen later (it was created while the page was open)
    seqAtOpen: 0,
    active: new Set(),
  };
  setInterrupts(view, t.interrupts ?? [], view.updatedAt);
  return view;
}

// --- data in ----------------------------------------------------------------------------------

/** A Thread (4.3) from the snapshot or a notice, merged into the model. */
function applyThread(t, { fresh = false, initial = false } = {}) {
  let view = model.threads.get(t.thread_id);
  if (!view) {
    view = threadView(t);
    if (initial) view.seqAtOpen = view.headSeq;
    model.threads.set(t.thread_id, view);
  } else {
    view.graph = t.graph;
    view.status = t.status;
    view.runId = t.run_id ?? null;
    view.headSeq = Math.max(view.headSeq, t.head_seq ?? 0);
    const updated = t.updated_at ? new Date(t.updated_at) : new Date();
    if (updated > view.updatedAt) view.updatedAt = updated;
    setInterrupts(view, t.interrupts ?? [], fresh ? view.updatedAt : new Date());
  }
  dirty.threads = dirty.inbox = dirty.counters = true;
  if (view.id === model.selected) dirty.detail = true;
  return view;
}

/** The whole list (watch_threads' reply, or the snapshot after a reconnect). */
function applySnapshot({ threads, counters }) {
  const seen = new Set();
  const initial = !model.hadSnapshot; // later snapshots follow a reconnect
  model.hadSnapshot = true;
  for (const t of threads ?? []) {
    seen.add(t.thread_id);
    applyThread(t, { fresh: true, initial });
  }
  for (const id of [...model.threads.keys()]) if (!seen.has(id)) model.threads.delete(id);
  model.counters = counters ?? null;
  dirty.threads = dirty.inbox = dirty.counters = dirty.detail = true;
  schedule();
}

async function watchThreads() {
  try {
    applySnapshot(await conn.watchThreads());
  } catch {
    // the banner says when the connection is down; the next welcome tries again
  }
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

function setInterrupts(view, interrupts, since) {
  const next = new Map();
  for (const i of interrupts) next.set(i.id, view.waitingSince.get(i.id) ?? since);
  view.waitingSince = next;
  view.interrupts = interrupts;
  if (interrupts.length) view.active = new Set(interrupts.map((i) => topNode(i.ns, i.node)));
  else if (view.status !== "running" && view.id !== model.selected) view.active = new Set();
}

conn.on("notice", (notice) => {
  model.notices += 1;
  if (notice.notice === "counters") {
    model.counters = notice.counters ?? null;
    dirty.counters = true;
  } else if (notice.thread) {
    applyThread(notice.thread);
  }
  schedule();
});

conn.on("threads", applySnapshot);

/** Events of the selected thread (the only one subscribed): its timeline and lit nodes. */
conn.on("event", (ev) => {
  const view = model.threads.get(ev.thread_id);
  if (!view || ev.thread_id !== model.selected) return;
  const data = ev.data ?? {};
  switch (ev.event) {
    case "run_started":
      view.active = new Set(["__start__"]);
      break;
    case "updates":
      view.active = new Set(Object.keys(data).filter((k) => k !== "__interrupt__").map((node) => topNode(ev.ns, node)));
      break;
    case "interrupt":
      view.active = new Set((data.interrupts ?? []).map((i) => topNode(i.ns, i.node)));
      break;
    case "run_done":
      view.active = new Set(["__end__"]);
      break;
    case "run_error":
    case "run_cancelled":
      view.active = new Set();
      break;
    default:
      break;
  }
  if (ev.seq > view.headSeq) view.headSeq = ev.seq;
  view.events.push({ ev, at: new Date(), logged: ev.seq <= view.seqAtOpen, replayed: ev.seq > view.seqAtOpen && ev.seq <= view.backfillUpTo });
  if (view.events.length > MAX_TIMELINE) view.events.splice(0, view.events.length - MAX_TIMELINE);
  dirty.detail = dirty.threads = true;
  pendingTimeline.push(view.events.at(-1));
  schedule();
});

conn.on("resync", (info) => {
  const view = model.threads.get(info.thread_id);
  if (!view || info.thread_id !== model.selected) return;
  view.events.push({ ev: { event: "resync", seq: info.head_seq, data: { reason: info.reason } }, at: new Date(), logged: false });
  dirty.detail = dirty.timelineReset = true;
  schedule();
});

conn.on("welcome", () => {
  loadGraphs();
  // after a reconnect the client watches again by itself and hands over a snapshot ("threads")
  if (!conn.watchingThreads) watchThreads();
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
  const c = model.counters;
  const eps = c?.events_per_second ?? 0;
  $("c-threads").textContent = String(threads.length);
  $("c-running").textContent = String(running);
  $("c-runs-total").textContent = c ? `${c.runs_started} started · ${c.runs_queued} queued` : "";
  $("c-waiting").textContent = String(waiting);
  $("c-oldest").textContent = oldest ? `oldest ${formatDuration(now - oldest)}` : "";
  $("c-eps").textContent = eps >= 10 ? String(Math.round(eps)) : eps.toFixed(1);
  $("c-events-total").textContent = c ? `${c.events_total} total` : "";
  $("c-connections").textContent = c ? String(c.connections) : "–";
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
    setText(eventsCell, String(t.headSeq));
    setText(timeCell, clock(t.updatedAt));
    tr.classList.toggle("selected", t.id === model.selected);
    tr.setAttribute("aria-selected", String(t.id === model.selected));
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (expected !== tr) body.insertBefore(tr, expected);
    previous = tr;
  }
  const empty = $("threads-empty");
  empty.hidden = list.length > 0;
  const filtered = model.filter !== "all" || model.search;
  setText(empty, model.threads.size && filtered
    ? `No thread matches ${describeFilter()} (${model.threads.size} thread${model.threads.size > 1 ? "s" : ""} in all).`
    : "No threads yet. Start one from the chat.");
  const more = $("threads-more");
  more.hidden = list.length <= MAX_ROWS;
  more.textContent = `Showing the ${MAX_ROWS} most recent of ${list.length}; filter to find others.`;
}

function describeFilter() {
  const parts = [];
  const chip = document.querySelector(`.chip[data-filter="${model.filter}"]`);
  if (model.filter !== "all") parts.push(`the status “${chip?.textContent ?? model.filter}”`);
  if (model.search) parts.push(`“${model.search}”`);
  return parts.join(" and ");
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
  const logged = view.events.filter((e) => e.logged).length;
  const replayed = view.events.filter((e) => e.replayed).length;
  const before = [logged ? `${logged} from before this page opened` : "", replayed ? `${replayed} from before you selected it` : ""].filter(Boolean).join(", ");
  $("detail-sub").replaceChildren(statusBadge(view.status),
    ` run ${view.runId ? view.runId.slice(0, 12) : "–"} · ${view.headSeq} events${before ? ` (${before})` : ""}`);
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

/** When a timeline row happened, as far as the page knows (events carry no time). */
function rowTime(at, logged, replayed) {
  if (logged) return { text: "earlier", title: "from the thread's log: before this page opened" };
  if (replayed) return { text: "replayed", title: "from the thread's log: after this page opened, before the thread was selected" };
  return { text: clock(at), title: null };
}

function timelineItem({ ev, at, logged, replayed }) {
  const ns = (ev.ns ?? []).map((part) => String(part).split(":")[0]);
  const when = rowTime(at, logged, replayed);
  return h("li", { class: `tl tl-${ev.event}${logged ? " tl-logged" : ""}${replayed ? " tl-replayed" : ""}`, dataset: { seq: ev.seq ?? "", ns: ns.join("/") } },
    h("span", { class: "tl-seq mono", text: ev.seq !== undefined ? `#${ev.seq}` : "" }),
    h("span", { class: "tl-time muted", text: when.text, title: when.title }),
    h("span", { class: "tl-kind", text: ev.event }),
    h("span", { class: "tl-summary" },
      ns.length ? h("span", { class: "tl-ns", text: `${ns.join(" › ")} › ` }) : null,
      summarize(ev)));
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

/** Select a thread: subscribe to it from seq 0 (its timeline back-filled from the log). */
function select(threadId) {
  if (model.selected === threadId) return;
  const previous = model.selected;
  if (previous) {
    conn.unwatch(previous).catch(() => {});
    const old = model.threads.get(previous);
    if (old) old.events = [];
  }
  model.selected = threadId;
  const view = model.threads.get(threadId);
  if (view) {
    view.events = [];
    view.backfillUpTo = view.headSeq;
    conn.watch(threadId, { after: 0 }).catch(() => {});
  }
  pendingTimeline.length = 0;
  dirty.detail = dirty.threads = dirty.timelineReset = true;
  schedule();
}

// An inbox card answered from the keyboard hands the focus to the next question (or the inbox),
// before the notice that removes the answered card arrives.
$("inbox-list").addEventListener("card-answered", (ev) => {
  if (!ev.detail?.hadFocus || document.activeElement !== ev.target) return;
  const cards = [...$("inbox-list").querySelectorAll(".card.interrupt:not(.answered)")];
  const next = cards.find((card) => card.compareDocumentPosition(ev.target) & Node.DOCUMENT_POSITION_PRECEDING) ?? cards[0];
  ((next && firstControl(next)) || $("inbox")).focus();
});

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
// waiting times age on screen; this redraws locally and asks the server nothing
setInterval(() => {
  updateWaitingTimes();
  dirty.counters = true;
  schedule();
}, 1000);
