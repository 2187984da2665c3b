// The chat page: pick a graph, start or reopen a thread, talk to it, answer its interrupts,
// travel back in its history and fork it.

import { questionOf, textAnswer, fieldForm } from "../lib/cards.js";
import { flash, openConnection, topBar } from "../lib/page.js";
import { clock, h, preview, prettyJson, statusBadge } from "../lib/render.js";
import { Transcript } from "../lib/transcript.js";

const STREAM_MODES = ["values", "updates", "messages", "custom"];
const CURRENT_KEY = "streamhil.chat.current";
const LOG_PREFIX = "streamhil.chat.log.";
const MAX_CACHED_EVENTS = 500;

const $ = (id) => document.getElementById(id);
const els = {
  banner: $("banner"),
  graphSelect: $("graph-select"),
  graphDescription: $("graph-description"),
  newThread: $("new-thread"),
  threadList: $("thread-list"),
  refreshThreads: $("refresh-threads"),
  title: $("thread-title"),
  sub: $("thread-sub"),
  status: $("thread-status"),
  historyBtn: $("history-btn"),
  cancelBtn: $("cancel-btn"),
  history: $("history"),
  transcript: $("transcript"),
  composer: $("composer"),
  input: $("composer-input"),
  hint: $("composer-hint"),
  send: $("send-btn"),
  flash: $("composer-flash"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
};

const bar = topBar("chat");
$("topbar").replaceWith(bar.element);
const conn = openConnection({ storageKey: "streamhil.chat", banner: els.banner, dot: bar.dot });

const page = {
  graphs: new Map(),
  threads: new Map(), // thread_id -> Thread (list_threads)
  current: null, // thread id
  currentGraph: null,
  cache: null, // {epoch, events}
};

const transcript = new Transcript(els.transcript, (interrupt) => async (value) => {
  const threadId = page.current;
  const accepted = await conn.resume({ thread_id: threadId, interrupt_id: interrupt.id, value, stream_modes: STREAM_MODES });
  transcript.answered(interrupt.id);
  if (page.current === threadId) transcript.runAccepted(accepted.run_id);
  renderStatus();
});

// --- the event stream -------------------------------------------------------------------------

conn.on("event", (ev) => {
  if (ev.thread_id !== page.current) return;
  remember(ev);
  const nearBottom = isNearBottom();
  transcript.apply(ev);
  if (ev.event === "run_started" && !page.currentGraph && ev.data?.graph) page.currentGraph = ev.data.graph;
  renderStatus();
  if (nearBottom) scrollToEnd();
  if (["run_done", "run_error", "run_cancelled", "run_interrupted"].includes(ev.event)) scheduleThreadRefresh();
});

conn.on("resync", (info) => {
  if (info.thread_id !== page.current) return;
  page.cache = { epoch: conn.epoch, events: [] };
  saveCache();
  transcript.applyResync(info);
  renderStatus();
  scrollToEnd();
});

conn.on("welcome", () => {
  loadGraphs();
  refreshThreads();
});

function remember(ev) {
  if (!page.cache) return;
  page.cache.epoch = conn.epoch;
  page.cache.events.push(ev);
  if (page.cache.events.length > MAX_CACHED_EVENTS) {
    page.cache = null; // too long to keep: a reload replays from the server instead
    sessionStorage.removeItem(LOG_PREFIX + page.current);
    return;
  }
  saveCache();
}

function saveCache() {
  if (!page.cache || !page.current) return;
  try {
    sessionStorage.setItem(LOG_PREFIX + page.current, JSON.stringify(page.cache));
  } catch {
    page.cache = null;
    sessionStorage.removeItem(LOG_PREFIX + page.current);
  }
}

function loadCache(threadId) {
  try {
    const cache = JSON.parse(sessionStorage.getItem(LOG_PREFIX + threadId) ?? "null");
    return cache && Array.isArray(cache.events) ? cache : null;
  } catch {
    return null;
  }
}

// --- threads ----------------------------------------------------------------------------------

/**
 * Show a thread. A reload finds the events it had rendered in sessionStorage and the connection
 * re-subscribes from the stored cursor, so only what was missed is replayed; otherwise the
 * whole log is replayed from seq 0 (or the server answers with a resync from its state).
 */
async function openThread(threadId, { fresh = null } = {}) {
  if (page.current && page.current !== threadId) {
    sessionStorage.removeItem(LOG_PREFIX + page.current);
    conn.unwatch(page.current).catch(() => {});
  }
  page.current = threadId;
  page.currentGraph = page.threads.get(threadId)?.graph ?? fresh?.graph ?? null;
  sessionStorage.setItem(CURRENT_KEY, threadId);
  history.replaceState(null, "", `#thread=${encodeURIComponent(threadId)}`);
  transcript.reset();
  closeHistory();
  els.historyBtn.disabled = false;
  if (fresh) {
    page.cache = { epoch: conn.epoch, events: [] };
    saveCache();
    transcript.runAccepted(fresh.runId);
    renderAll();
    return;
  }
  const cache = loadCache(threadId);
  const cursor = conn.cursor(threadId);
  const last = cache?.events.at(-1);
  const consistent = cache && cursor && cursor.epoch === cache.epoch && cursor.seq === (last ? last.seq : cursor.seq);
  if (consistent && last) {
    page.cache = cache;
    for (const ev of cache.events) transcript.apply(ev);
    renderAll();
    scrollToEnd();
    watch(threadId, {});
  } else {
    page.cache = { epoch: null, events: [] };
    renderAll();
    watch(threadId, { after: 0 });
  }
}

async function watch(threadId, options) {
  try {
    await conn.watch(threadId, options);
  } catch (err) {
    if (page.current !== threadId) return;
    flash(els.flash, "error", err.code === "not_found" ? "This thread no longer exists." : `Cannot open the thread: ${err.message}`);
    if (err.code === "not_found") newConversation();
  }
}

function newConversation() {
  if (page.current) {
    sessionStorage.removeItem(LOG_PREFIX + page.current);
    conn.unwatch(page.current).catch(() => {});
  }
  page.current = null;
  page.currentGraph = null;
  page.cache = null;
  sessionStorage.removeItem(CURRENT_KEY);
  history.replaceState(null, "", location.pathname + location.search);
  transcript.reset();
  closeHistory();
  els.historyBtn.disabled = true;
  renderAll();
  els.input.focus();
}

async function refreshThreads() {
  try {
    const { threads } = await conn.listThreads({ limit: 200 });
    page.threads = new Map(threads.map((t) => [t.thread_id, t]));
    if (page.current && !page.currentGraph) page.currentGraph = page.threads.get(page.current)?.graph ?? null;
    renderThreadList();
    renderHeader();
  } catch {
    // the banner already says when the connection is down
  }
}

let refreshTimer = null;
function scheduleThreadRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshThreads, 150);
}

async function loadGraphs() {
  try {
    const { graphs } = await conn.listGraphs();
    const chosen = els.graphSelect.value;
    page.graphs = new Map(graphs.map((g) => [g.name, g]));
    els.graphSelect.replaceChildren(...graphs.map((g) => h("option", { value: g.name, text: g.name })));
    if (page.graphs.has(chosen)) els.graphSelect.value = chosen;
    renderGraphDescription();
  } catch {
    // retried on the next welcome
  }
}

// --- sending ----------------------------------------------------------------------------------

/**
 * What a typed message becomes as graph input: a JSON object as it is; otherwise a user message
 * (`{"messages": [...]}`), or, for a graph whose `input_keys` (when the server lists them) lack
 * `messages` but have exactly one key, that key set to the text.
 */
function inputFor(text, graphName) {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const value = JSON.parse(trimmed);
      if (value && typeof value === "object" && !Array.isArray(value)) return { input: value, message: null };
    } catch {
      // not JSON: a message like any other
    }
  }
  const keys = page.graphs.get(graphName)?.input_keys;
  if (Array.isArray(keys) && !keys.includes("messages")) {
    if (keys.length === 1) return { input: { [keys[0]]: text }, message: null };
    throw new InputError(`${graphName} takes JSON input with the keys ${keys.join(", ")}: type it as {"${keys[0]}": …}`);
  }
  const message = { role: "user", content: text, id: `user-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` };
  return { input: { messages: [message] }, message };
}

class InputError extends Error {}

async function send(text) {
  flash(els.flash, "", "");
  if (page.current && transcript.pending.length) {
    // a thread waiting on an interrupt: typing answers it, it never starts a new run
    const interrupt = transcript.pending[0];
    const card = transcript.cards.get(interrupt.id);
    await card.submitAnswer(textAnswer(interrupt.value, text));
    if (!card.classList.contains("answered")) throw new Error(card.querySelector(".card-status").textContent);
    return;
  }
  if (page.current && transcript.status === "running") {
    flash(els.flash, "warn", "The graph is still running; wait for it to finish or cancel the run.");
    throw new Error("busy");
  }
  const graph = page.current ? page.currentGraph ?? els.graphSelect.value : els.graphSelect.value;
  let input;
  let message;
  try {
    ({ input, message } = inputFor(text, graph));
  } catch (err) {
    flash(els.flash, "warn", err.message);
    throw err;
  }
  if (page.current) {
    try {
      const accepted = await conn.startRun({ graph, thread_id: page.current, input, stream_modes: STREAM_MODES });
      if (accepted.thread_id === page.current) transcript.runAccepted(accepted.run_id);
    } catch (err) {
      if (err.code === "interrupt_pending") {
        flash(els.flash, "warn", "This thread is waiting for an answer: answer the question above.");
        watch(page.current, { after: 0 });
      } else {
        flash(els.flash, "error", `${err.code ?? "error"}: ${err.message}`);
      }
      throw err;
    }
  } else {
    if (!graph) {
      flash(els.flash, "error", "No graph to run: the server lists none.");
      throw new Error("no graph");
    }
    let result;
    try {
      result = await conn.startRun({ graph, input, stream_modes: STREAM_MODES });
    } catch (err) {
      flash(els.flash, "error", `${err.code ?? "error"}: ${err.message}`);
      throw err;
    }
    await openThread(result.thread_id, { fresh: { graph, runId: result.run_id } });
    scheduleThreadRefresh();
  }
  if (message) transcript.showMessage(message, null); // shown now; the same id arrives in the events
  scrollToEnd();
}

els.composer.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = els.input.value;
  if (!text.trim()) return;
  els.send.disabled = true;
  try {
    await send(text);
    els.input.value = "";
  } catch {
    // the reason is shown next to the box (or on the card)
  } finally {
    els.send.disabled = false;
    renderStatus();
  }
});

els.input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    els.composer.requestSubmit();
  }
});

els.newThread.addEventListener("submit", (ev) => {
  ev.preventDefault();
  newConversation();
  setSidebar(false);
});

els.graphSelect.addEventListener("change", renderGraphDescription);
els.refreshThreads.addEventListener("click", refreshThreads);
els.cancelBtn.addEventListener("click", async () => {
  try {
    await conn.cancel({ thread_id: page.current });
  } catch (err) {
    flash(els.flash, "error", `${err.code ?? "error"}: ${err.message}`);
  }
});
els.sidebarToggle.addEventListener("click", () => setSidebar(els.sidebarToggle.getAttribute("aria-expanded") !== "true"));

function setSidebar(open) {
  els.sidebar.classList.toggle("open", open);
  els.sidebarToggle.setAttribute("aria-expanded", String(open));
}

// --- time travel ------------------------------------------------------------------------------

els.historyBtn.addEventListener("click", () => {
  if (els.history.hidden) openHistory();
  else closeHistory();
});

function closeHistory() {
  els.history.hidden = true;
  els.history.replaceChildren();
  els.historyBtn.setAttribute("aria-expanded", "false");
}

async function openHistory() {
  const threadId = page.current;
  if (!threadId) return;
  els.history.hidden = false;
  els.historyBtn.setAttribute("aria-expanded", "true");
  els.history.replaceChildren(h("p", { class: "muted", text: "Loading the checkpoints…" }));
  let history;
  try {
    ({ history } = await conn.getHistory({ thread_id: threadId, limit: 50 }));
  } catch (err) {
    els.history.replaceChildren(h("p", { class: "card-error", text: `Cannot load the history: ${err.message}` }));
    return;
  }
  if (page.current !== threadId) return;
  const list = h("ol", { class: "checkpoints", reversed: true });
  history.forEach((state, i) => list.append(checkpointItem(threadId, state, i === 0)));
  els.history.replaceChildren(
    h("div", { class: "history-head" },
      h("h2", { text: "History" }),
      h("p", { class: "muted small", text: "Checkpoints, newest first. Fork one to run again from there with edited state." }),
      h("button", { type: "button", class: "ghost", text: "Close", on: { click: closeHistory } })),
    history.length ? list : h("p", { class: "muted", text: "No checkpoints yet." }));
}

function checkpointItem(threadId, state, isHead) {
  const meta = state.metadata ?? {};
  const step = meta.step ?? "?";
  const next = state.next?.length ? `next: ${state.next.join(", ")}` : "finished";
  const detail = h("div", { class: "checkpoint-detail", hidden: true });
  const item = h("li", { class: "checkpoint", dataset: { checkpointId: state.checkpoint_id ?? "" } },
    h("div", { class: "checkpoint-row" },
      h("span", { class: "step-no", text: `step ${step}` }),
      h("span", { class: "muted", text: `${meta.source ?? ""} · ${next}` }),
      state.created_at ? h("span", { class: "muted small", text: clock(state.created_at) }) : null,
      isHead ? h("span", { class: "badge badge-idle", text: "current" }) : null,
      h("span", { class: "spacer" }),
      h("button", { type: "button", class: "small", text: "Fork from here", on: { click: () => showFork(threadId, state, detail) } })),
    h("p", { class: "checkpoint-values muted small", text: preview(state.values, 140) }),
    detail);
  return item;
}

function showFork(threadId, state, detail) {
  detail.hidden = false;
  const values = state.values && typeof state.values === "object" && !Array.isArray(state.values) ? state.values : {};
  const form = fieldForm(values);
  const problem = h("p", { class: "card-error", hidden: true });
  detail.replaceChildren(
    h("p", { class: "small", text: "Edit the state, then run the graph again from this checkpoint. The original history is kept." }),
    form.element,
    problem,
    h("div", { class: "row buttons" },
      h("button", {
        type: "button",
        class: "primary",
        text: "Fork & run",
        on: { click: () => fork(threadId, state, values, form, problem) },
      }),
      h("button", { type: "button", class: "ghost", text: "Cancel", on: { click: () => { detail.hidden = true; detail.replaceChildren(); } } })));
  form.element.querySelector("input, textarea")?.focus();
}

async function fork(threadId, state, original, form, problem) {
  const result = form.read();
  problem.hidden = !result.error;
  problem.textContent = result.error ?? "";
  if (result.error) return;
  const changed = Object.fromEntries(Object.entries(result.value).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(original[k])));
  try {
    let checkpointId = state.checkpoint_id;
    if (Object.keys(changed).length) {
      const updated = await conn.updateState({ thread_id: threadId, values: changed, checkpoint_id: state.checkpoint_id });
      checkpointId = updated.checkpoint_id;
    }
    const accepted = await conn.startRun({ graph: page.currentGraph, thread_id: threadId, input: null, checkpoint_id: checkpointId, stream_modes: STREAM_MODES });
    if (page.current === threadId) transcript.runAccepted(accepted.run_id);
    closeHistory();
    renderStatus();
    scrollToEnd();
  } catch (err) {
    problem.hidden = false;
    problem.textContent = `${err.code ?? "error"}: ${err.message}`;
  }
}

// --- rendering --------------------------------------------------------------------------------

function renderAll() {
  renderHeader();
  renderStatus();
  renderThreadList();
}

function renderHeader() {
  if (!page.current) {
    els.title.textContent = "New conversation";
    els.sub.textContent = els.graphSelect.value ? `Graph ${els.graphSelect.value}` : "";
    return;
  }
  els.title.textContent = page.currentGraph ?? "Thread";
  els.sub.textContent = `Thread ${page.current}`;
}

function renderGraphDescription() {
  const graph = page.graphs.get(els.graphSelect.value);
  els.graphDescription.textContent = graph?.description ?? "";
  if (!page.current) renderHeader();
  renderStatus();
}

function renderStatus() {
  const status = page.current ? transcript.status : null;
  els.status.replaceChildren(status ? statusBadge(status) : "");
  els.cancelBtn.hidden = status !== "running";
  const pending = page.current ? transcript.pending : [];
  if (pending.length) {
    const first = pending[0];
    const more = pending.length > 1 ? ` (1 of ${pending.length}; the others are answered one at a time)` : "";
    els.hint.textContent = `Your message answers node ${first.node ?? "?"}: ${preview(questionOf(first.value), 90)}${more}`;
    els.input.placeholder = "Type your answer…";
    els.input.setAttribute("aria-label", "Answer");
  } else if (status === "running") {
    els.hint.textContent = "The graph is running…";
    els.input.placeholder = "Wait for the graph to finish…";
    els.input.setAttribute("aria-label", "Message");
  } else {
    const graph = page.current ? page.currentGraph : els.graphSelect.value;
    els.hint.textContent = page.current
      ? "Continue the conversation. A message starting with { is sent as JSON input."
      : `Starts a new thread on ${graph || "the selected graph"}. A message starting with { is sent as JSON input.`;
    els.input.placeholder = "Write a message…";
    els.input.setAttribute("aria-label", "Message");
  }
  const entry = page.threads.get(page.current);
  if (entry && status && entry.status !== status) {
    entry.status = status === "paused" ? "interrupted" : status;
    renderThreadList();
  }
}

function renderThreadList() {
  const threads = [...page.threads.values()];
  if (!threads.length) {
    els.threadList.replaceChildren(h("li", { class: "muted small empty", text: "No threads yet. Start a conversation." }));
    return;
  }
  els.threadList.replaceChildren(...threads.map((t) => {
    const current = t.thread_id === page.current;
    const waiting = t.interrupts?.length ? ` · ${t.interrupts.length} waiting` : "";
    return h("li", {},
      h("button", {
        type: "button",
        class: current ? "thread-item current" : "thread-item",
        "aria-current": current ? "true" : null,
        dataset: { threadId: t.thread_id, status: t.status },
        on: { click: () => { setSidebar(false); if (!current) openThread(t.thread_id); } },
      },
      h("span", { class: "thread-item-top" }, h("span", { class: "thread-graph", text: t.graph }), statusBadge(t.status)),
      h("span", { class: "thread-item-sub muted small", text: `${t.thread_id.slice(0, 12)}… · ${clock(t.updated_at)}${waiting}` })));
  }));
}

function isNearBottom() {
  const t = els.transcript;
  return t.scrollHeight - t.scrollTop - t.clientHeight < 120;
}

function scrollToEnd() {
  els.transcript.scrollTop = els.transcript.scrollHeight;
}

// --- start ------------------------------------------------------------------------------------

function start() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("thread");
  const threadId = fromHash || sessionStorage.getItem(CURRENT_KEY);
  // threads the connection restored but this page does not show are dropped
  for (const id of conn.watched()) if (id !== threadId) conn.unwatch(id).catch(() => {});
  if (threadId) openThread(threadId);
  else renderAll();
  conn.connect().catch(() => {});
  setInterval(() => { if (conn.state === "open") refreshThreads(); }, 5000);
}

start();
