// The chat page: pick a graph, start or reopen a thread, talk to it, answer its interrupts,
// travel back in its history and fork it. This module wires the page (events, threads, sending,
// rendering); chat/composer.js says what the message box does, chat/memory.js what the tab keeps
// across reloads, chat/history.js is the time-travel panel.

import { composerAnswer, firstControl } from "../lib/cards.js";
import { InputFormError, inputForm, singleTextField, typedValue } from "../lib/input_form.js";
import { flash, isUncertain, openConnection, topBar } from "../lib/page.js";
import { clock, errorText, h, statusBadge } from "../lib/render.js";
import { Transcript } from "../lib/transcript.js";
import { composerPrompt, inputFor, takesMessages } from "./composer.js";
import { historyPanel } from "./history.js";
import { AnsweredHere, EventLog, storeThread, storedThread } from "./memory.js";

const STREAM_MODES = ["values", "updates", "messages", "custom"];

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
  sidebarClose: $("sidebar-close"),
  backdrop: $("sidebar-backdrop"),
  inputForm: $("input-form"),
};

const bar = topBar("chat");
$("topbar").replaceWith(bar.element);
const conn = openConnection({ storageKey: "streamhil.chat", banner: els.banner, dot: bar.dot });

const page = {
  graphs: new Map(),
  threads: new Map(), // thread_id -> Thread (list_threads)
  current: null, // thread id
  currentGraph: null,
  cache: null, // the open thread's EventLog (chat/memory.js)
  form: null, // the input form of the selected graph (new conversations on non-chat graphs)
  composerTarget: null, // the interrupt a typed message answers now
};

const mine = new AnsweredHere(); // interrupts this tab answered (others: "answered elsewhere")

const transcript = new Transcript(els.transcript, (interrupt) => async (value) => {
  const threadId = page.current;
  mine.add(interrupt.id); // before sending: a reload while it is in flight still knows it
  let accepted;
  try {
    accepted = await conn.resume({ thread_id: threadId, interrupt_id: interrupt.id, value, stream_modes: STREAM_MODES });
  } catch (err) {
    // the server refused it (e.g. another tab answered first): not this tab's answer; a lost
    // connection or a timeout leaves it unknown, and the thread's events will tell
    if (!isUncertain(err)) mine.delete(interrupt.id);
    throw err;
  }
  transcript.answered(interrupt.id);
  if (page.current === threadId) transcript.runAccepted(accepted.run_id);
  renderStatus();
}, {
  isMine: (id) => mine.has(id),
  onAnsweredElsewhere: (interrupt) => {
    if (interrupt && interrupt.id === page.composerTarget && els.input.value.trim()) {
      flash(els.flash, "warn", "That question was answered in another tab or the dashboard: your draft was not sent (it is still in the box).");
    }
  },
});

// A card answered from the keyboard keeps the focus until the answer is accepted; then it moves
// to the next question already shown, or to the message box (which answers the next one).
els.transcript.addEventListener("card-answered", (ev) => {
  if (!ev.detail?.hadFocus || document.activeElement !== ev.target) return;
  const next = transcript.pending.map((i) => transcript.cards.get(i.id)).find((card) => card && card !== ev.target);
  const target = (next && firstControl(next)) || els.input;
  target.focus({ preventScroll: false });
});

// --- the event stream -------------------------------------------------------------------------

conn.on("event", (ev) => {
  if (ev.thread_id !== page.current) return;
  remember(ev);
  const nearBottom = isNearBottom();
  transcript.apply(ev);
  if (ev.event === "run_started" && !page.currentGraph && ev.data?.graph) {
    page.currentGraph = ev.data.graph;
    syncGraphPicker();
  }
  renderStatus();
  if (nearBottom) scrollToEnd();
  if (["run_done", "run_error", "run_cancelled", "run_interrupted"].includes(ev.event)) scheduleThreadRefresh();
});

conn.on("resync", (info) => {
  if (info.thread_id !== page.current) return;
  page.cache = new EventLog(page.current, { epoch: conn.epoch });
  if (!page.cache.save()) page.cache = null;
  transcript.applyResync(info);
  renderStatus();
  scrollToEnd();
});

conn.on("welcome", () => {
  loadGraphs();
  refreshThreads();
});

function remember(ev) {
  if (page.cache && !page.cache.remember(ev, conn.epoch)) page.cache = null;
}

// --- threads ----------------------------------------------------------------------------------

/**
 * Show a thread. A reload finds the events it had rendered in sessionStorage and the connection
 * re-subscribes from the stored cursor, so only what was missed is replayed; otherwise the
 * whole log is replayed from seq 0 (or the server answers with a resync from its state).
 */
async function openThread(threadId, { fresh = null, push = true } = {}) {
  if (page.current && page.current !== threadId) {
    EventLog.drop(page.current);
    conn.unwatch(page.current).catch(() => {});
  }
  page.current = threadId;
  page.currentGraph = page.threads.get(threadId)?.graph ?? fresh?.graph ?? null;
  storeThread(threadId);
  setUrl(`#thread=${encodeURIComponent(threadId)}`, push);
  syncGraphPicker();
  flash(els.flash, "", "");
  transcript.reset();
  closeHistory();
  els.historyBtn.disabled = false;
  if (fresh) {
    page.cache = new EventLog(threadId, { epoch: conn.epoch });
    if (!page.cache.save()) page.cache = null;
    transcript.runAccepted(fresh.runId);
    renderAll();
    return;
  }
  const cache = EventLog.load(threadId);
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
    page.cache = new EventLog(threadId);
    renderAll();
    watch(threadId, { after: 0 });
  }
}

async function watch(threadId, options) {
  try {
    await conn.watch(threadId, options);
  } catch (err) {
    if (page.current !== threadId) return;
    if (err.code === "not_found") {
      // the address names no thread: replace that history entry (Back must not lead to it again)
      newConversation({ push: false });
      flash(els.flash, "error", `This thread no longer exists (${threadId}). You can start a new conversation.`);
      return;
    }
    flash(els.flash, "error", `Cannot open the thread: ${err.message}`);
  }
}

function newConversation({ push = true } = {}) {
  if (page.current) {
    EventLog.drop(page.current);
    conn.unwatch(page.current).catch(() => {});
  }
  page.current = null;
  page.currentGraph = null;
  page.cache = null;
  storeThread(null);
  setUrl(location.pathname + location.search, push);
  flash(els.flash, "", "");
  transcript.reset();
  closeHistory();
  els.historyBtn.disabled = true;
  renderAll();
  els.input.focus();
}

/** The address bar names the open thread; `push` makes it a step of the browser's history. */
function setUrl(url, push) {
  const target = new URL(url, location.href);
  if (target.href === location.href) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

/** The thread the URL names (`#thread=…`), or null. */
function threadFromUrl() {
  return new URLSearchParams(location.hash.slice(1)).get("thread") || null;
}

/** Back / Forward and edited hashes: show what the URL names. */
function followUrl() {
  const threadId = threadFromUrl();
  if (threadId && threadId !== page.current) openThread(threadId, { push: false });
  else if (!threadId && page.current) newConversation({ push: false });
}

window.addEventListener("popstate", followUrl);
window.addEventListener("hashchange", followUrl);

/** The graph picker shows the open thread's graph (and the choice for a new one otherwise). */
function syncGraphPicker() {
  const graph = page.current ? page.currentGraph : null;
  if (graph && els.graphSelect.value !== graph && page.graphs.has(graph)) {
    els.graphSelect.value = graph;
    renderGraphDescription();
  }
}

async function refreshThreads() {
  try {
    const { threads } = await conn.listThreads({ limit: 200 });
    page.threads = new Map(threads.map((t) => [t.thread_id, t]));
    if (page.current && !page.currentGraph) {
      page.currentGraph = page.threads.get(page.current)?.graph ?? null;
      syncGraphPicker();
    }
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
    syncGraphPicker();
    renderGraphDescription();
  } catch {
    // retried on the next welcome
  }
}

// --- sending ----------------------------------------------------------------------------------

async function send(text) {
  flash(els.flash, "", "");
  if (page.current && transcript.pending.length) {
    // a thread waiting on an interrupt: typing answers it, it never starts a new run
    const interrupt = transcript.pending[0];
    const card = transcript.cards.get(interrupt.id);
    const result = composerAnswer(interrupt.value, text);
    if (result.refused) {
      flash(els.flash, "warn", result.refused);
      throw new Error(result.refused);
    }
    await card.submitAnswer(result.answer);
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
    ({ input, message } = inputFor(text, graph, page.graphs.get(graph), page.form));
  } catch (err) {
    flash(els.flash, "warn", err.message);
    throw err;
  }
  await startWith(graph, input, message);
}

/** Start (or continue) a run with `input`; the typed message or structured input is shown. */
async function startWith(graph, input, message) {
  let runId;
  if (page.current) {
    try {
      const accepted = await conn.startRun({ graph, thread_id: page.current, input, stream_modes: STREAM_MODES });
      if (accepted.thread_id === page.current) transcript.runAccepted(accepted.run_id);
      runId = accepted.run_id;
    } catch (err) {
      if (err.code === "interrupt_pending") {
        flash(els.flash, "warn", "This thread is waiting for an answer: answer the question above.");
        watch(page.current, { after: 0 });
      } else {
        flash(els.flash, "error", errorText(err));
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
      flash(els.flash, "error", errorText(err));
      throw err;
    }
    await openThread(result.thread_id, { fresh: { graph, runId: result.run_id } });
    runId = result.run_id;
    scheduleThreadRefresh();
  }
  transcript.showSent(runId, { message, input }); // after the run's divider, as on replay
  scrollToEnd();
}

// --- the input form (graphs whose input is not a chat) -----------------------------------------

function renderInputForm() {
  const graph = page.graphs.get(els.graphSelect.value);
  const show = !page.current && graph && !takesMessages(graph) && (graph.input_schema ?? []).length > 0;
  if (!show) {
    els.inputForm.hidden = true;
    els.inputForm.replaceChildren();
    page.form = null;
    return;
  }
  if (page.form?.graph === graph.name) {
    els.inputForm.hidden = false;
    return;
  }
  page.form = inputForm(graph, { textFieldInComposer: true });
  page.form.graph = graph.name;
  els.inputForm.replaceChildren(page.form.element);
  els.inputForm.hidden = false;
}

els.inputForm.addEventListener("input", () => flash(els.flash, "", ""));

els.inputForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const graph = els.graphSelect.value;
  const field = singleTextField(page.graphs.get(graph)?.input_schema ?? []);
  const typed = els.input.value;
  let input;
  try {
    const result = page.form.read({ skip: field && typed.trim() ? field.name : null });
    if (result.error) throw new InputFormError(result.error);
    input = result.value;
    if (field && typed.trim()) input[field.name] = typedValue(field, typed);
    page.form.check(input);
  } catch (err) {
    flash(els.flash, "warn", err.message);
    return;
  }
  const button = els.inputForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await startWith(graph, input, null);
    els.input.value = "";
  } catch {
    // said next to the box
  } finally {
    button.disabled = false;
    renderStatus();
  }
});

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

els.graphSelect.addEventListener("change", () => {
  if (page.current) newConversation(); // the picker chooses the graph of a new conversation
  renderGraphDescription();
});
els.refreshThreads.addEventListener("click", refreshThreads);
els.cancelBtn.addEventListener("click", async () => {
  try {
    await conn.cancel({ thread_id: page.current });
  } catch (err) {
    flash(els.flash, "error", errorText(err));
  }
});
els.sidebarToggle.addEventListener("click", () => setSidebar(els.sidebarToggle.getAttribute("aria-expanded") !== "true"));
els.sidebarClose.addEventListener("click", () => setSidebar(false, { focusToggle: true }));
els.backdrop.addEventListener("click", () => setSidebar(false, { focusToggle: true }));
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && els.sidebar.classList.contains("open")) {
    ev.preventDefault();
    setSidebar(false, { focusToggle: true });
  }
});

/** Open or close the threads drawer (phone width); closing gives the focus back to its button. */
function setSidebar(open, { focusToggle = false } = {}) {
  els.sidebar.classList.toggle("open", open);
  els.backdrop.hidden = !open;
  els.sidebarToggle.setAttribute("aria-expanded", String(open));
  if (open) els.sidebarClose.focus({ preventScroll: true });
  else if (focusToggle && getComputedStyle(els.sidebarToggle).display !== "none") els.sidebarToggle.focus();
}

// --- time travel (chat/history.js) -----------------------------------------------------------

const history_ = historyPanel({
  conn,
  section: els.history,
  button: els.historyBtn,
  current: () => (page.current ? { threadId: page.current, graph: page.currentGraph } : null),
  streamModes: STREAM_MODES,
  onForked: (threadId, runId) => {
    if (page.current === threadId) transcript.runAccepted(runId);
    renderStatus();
    scrollToEnd();
  },
});

function closeHistory() {
  history_.close();
}

// --- rendering --------------------------------------------------------------------------------

function renderAll() {
  renderHeader();
  renderInputForm();
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
  renderInputForm();
  renderStatus();
}

function renderStatus() {
  const status = page.current ? transcript.status : null;
  els.status.replaceChildren(status ? statusBadge(status) : "");
  els.cancelBtn.hidden = status !== "running";
  const pending = page.current ? transcript.pending : [];
  const graphName = page.current ? page.currentGraph : els.graphSelect.value;
  const prompt = composerPrompt({ thread: page.current, graphName, graph: page.graphs.get(graphName), status, pending });
  page.composerTarget = prompt.target;
  els.hint.textContent = prompt.hint;
  els.input.placeholder = prompt.placeholder;
  els.input.setAttribute("aria-label", prompt.label);
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
        on: { click: () => { setSidebar(false, { focusToggle: true }); if (!current) openThread(t.thread_id); } },
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
  const threadId = threadFromUrl() || storedThread();
  // threads the connection restored but this page does not show are dropped
  for (const id of conn.watched()) if (id !== threadId) conn.unwatch(id).catch(() => {});
  if (threadId) openThread(threadId, { push: false });
  else renderAll();
  conn.connect().catch(() => {});
  setInterval(() => { if (conn.state === "open") refreshThreads(); }, 5000);
}

start();
