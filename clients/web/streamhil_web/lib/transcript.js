// A thread's conversation as DOM: events in, bubbles, step notes and interrupt cards out.
//
// The same code renders live events and replayed ones, so a reload or a reconnect shows the same
// transcript. A message arrives several times (in `updates`, in `values` and, streamed token by
// token, in `messages`) and is shown once: a message with an id is known by its id; one without
// is known by its place in the thread's `messages` list (the root `values` events carry the
// whole list), never by its text, so two equal messages ("ok", "ok") are two bubbles.

import { answerSummary, interruptCard, interruptError, markAnswered, markAnsweredElsewhere, markRefused } from "./cards.js";
import { h, messageText, preview } from "./render.js";

export class Transcript {
  /**
   * @param {HTMLElement} root  the element to fill (role="log")
   * @param {(interrupt) => (value) => Promise} answerer  makes the onAnswer of a card
   * @param {object} [options]  `isMine(interruptId)`: whether this page sent that answer (else
   *   it is shown as answered elsewhere); `onAnsweredElsewhere(interrupt, card)`: called when a
   *   pending card is answered by another tab or the dashboard
   */
  constructor(root, answerer, { isMine = () => false, onAnsweredElsewhere = () => {} } = {}) {
    this.root = root;
    this.answerer = answerer;
    this.isMine = isMine;
    this.onAnsweredElsewhere = onAnsweredElsewhere;
    this.reset();
  }

  reset() {
    this.root.replaceChildren();
    this.messages = new Map(); // message id -> bubble element
    this.slots = new Map(); // index in the root state's messages list -> bubble (messages without an id)
    this.unplaced = []; // bubbles of id-less messages shown from `updates`, not yet found in a `values` list
    this.cards = new Map(); // interrupt id -> card
    this.pending = []; // interrupt objects, in the order they appeared
    this.status = "idle";
    this.lastRun = null;
    this.activeNodes = new Set();
    this.interrupts = new Map(); // interrupt id -> interrupt object (every one shown)
    this.answers = new Map(); // interrupt id -> the answer a resume delivered (run_started.answers)
    this.justAnswered = []; // cards the current run's answers went to (to spot a refusal)
    this.inputRun = null; // a start run whose input (its first `values`) is still to be shown
    this.inputShownFor = null; // the run whose input bubble is shown already
    this.startedRun = null; // the run of the last `run_started` applied
    this.sent = null; // {runId, show}: what this page sent to start a run, until its divider
    this.stoppedBy = null; // why the last run was cancelled, until the next run starts
  }

  /** Apply one event frame (live or replayed). Returns true if the thread status changed. */
  apply(ev) {
    const before = this.status;
    const data = ev.data ?? {};
    switch (ev.event) {
      case "run_started":
        this.status = "running";
        this.lastRun = ev.run_id;
        this.activeNodes = new Set(["__start__"]);
        this._divider(runLabel(data, this.stoppedBy), ev);
        this.startedRun = ev.run_id;
        this.stoppedBy = null;
        this._answersOf(data.answers);
        this._discard(data.discarded_interrupts);
        this.inputRun = data.kind === "start" && !data.checkpoint_id ? ev.run_id : null;
        if (this.sent?.runId === ev.run_id) {
          const { show } = this.sent;
          this.sent = null;
          show();
        }
        break;
      case "values":
        if (this.inputRun === ev.run_id && (ev.ns ?? []).length === 0) this._input(data, ev.run_id);
        if (data && Array.isArray(data.messages)) this._stateMessages(data.messages, (ev.ns ?? []).length === 0);
        break;
      case "updates":
        if ((ev.ns ?? []).length === 0) this.inputRun = null;
        this._updates(data, ev);
        break;
      case "messages":
        this._chunk(data);
        break;
      case "custom":
        this._note(`${preview(data, 200)}`, "custom");
        break;
      case "interrupt":
        this._interrupts(data.interrupts ?? []);
        break;
      case "run_interrupted":
        this.status = data.interrupt_ids?.length ? "interrupted" : "paused";
        this.activeNodes = new Set(data.next ?? []);
        if (!data.interrupt_ids?.length) this._note(`Paused before ${(data.next ?? []).join(", ")} (breakpoint)`, "info");
        break;
      case "run_done":
        this._closeStreaming("");
        this.status = "idle";
        this.activeNodes = new Set(["__end__"]);
        this._settleCards([]);
        this._divider("Run finished", ev, "done");
        break;
      case "run_error":
        this._closeStreaming("the run failed");
        this.status = "error";
        this.activeNodes = new Set();
        this._note(`Run failed — ${data.error?.type ?? "Error"}: ${data.error?.message ?? ""}`, "error");
        break;
      case "run_cancelled":
        this._closeStreaming(data.reason === "shutdown" ? "the server stopped" : "the run was cancelled");
        this.status = "idle";
        this.activeNodes = new Set();
        this.stoppedBy = data.reason ?? "cancelled";
        this._note(data.reason === "shutdown"
          ? "Run stopped: the server stopped during it (it continues from its last checkpoint when the server is back)"
          : `Run cancelled (${data.reason ?? "cancelled"})`, "info");
        break;
      case "state_updated":
        this._note(`State edited${data.as_node ? ` as ${data.as_node}` : ""} — new checkpoint ${preview(data.checkpoint_id, 14)}`, "info");
        break;
      case "debug":
      case "tasks":
      case "checkpoints":
        break;
      default:
        this._note(`${ev.event}: ${preview(data, 160)}`, "info"); // a kind newer than this page
    }
    return before !== this.status;
  }

  /**
   * The server accepted run `runId` (its reply comes before the run's events): until they
   * arrive the thread is busy, so the composer must not start another run or claim it is idle.
   */
  runAccepted(runId) {
    if (this.lastRun === runId) return;
    this.lastRun = runId;
    this.status = "running";
  }

  /** Rebuild from a resync (`state` and pending `interrupts`) after the event log was lost. */
  applyResync(info) {
    this.reset();
    this._note(`Restored from the saved state (${info.reason?.replaceAll("_", " ") ?? "resync"}); earlier steps are not replayed.`, "info");
    const values = info.state?.values;
    if (values && Array.isArray(values.messages)) {
      this._stateMessages(values.messages, true);
    } else if (values !== undefined && values !== null) {
      this.root.append(h("div", { class: "step" }, h("span", { class: "step-node", text: "state" }), h("pre", { class: "json", text: JSON.stringify(values, null, 2) })));
    }
    const interrupts = info.interrupts ?? info.state?.interrupts ?? [];
    this.status = interrupts.length ? "interrupted" : info.status ?? "idle";
    this.activeNodes = new Set(info.state?.next ?? []);
    this._interrupts(interrupts);
  }

  _updates(data, ev) {
    if (!data || typeof data !== "object") return;
    for (const [node, update] of Object.entries(data)) {
      if (node === "__interrupt__") continue;
      this.activeNodes.delete("__start__");
      this.activeNodes.add(node);
      let rest = update;
      if (update && typeof update === "object" && !Array.isArray(update)) {
        const messages = update.messages;
        const list = Array.isArray(messages) ? messages : messages && typeof messages === "object" ? [messages] : [];
        for (const m of list) this._updateMessage(m, node, ev);
        rest = Object.fromEntries(Object.entries(update).filter(([k]) => k !== "messages"));
        if (!Object.keys(rest).length) continue;
      }
      const ns = (ev.ns ?? []).map((p) => String(p).split(":")[0]);
      this.root.append(h("div", { class: "step", dataset: { node } },
        h("span", { class: "step-node", text: ns.length ? `${ns.join(" › ")} › ${node}` : node }),
        stepBody(rest)));
    }
  }

  /**
   * The answers a resume delivers (`run_started.answers`): cards answered by another tab or the
   * dashboard say so, with the answer; remember them to spot a refusal (the node asking again).
   */
  _answersOf(answers) {
    this.justAnswered = [];
    if (!answers || typeof answers !== "object") return;
    for (const [id, value] of Object.entries(answers)) {
      this.answers.set(id, value);
      const card = this.cards.get(id);
      if (!card) continue;
      this.justAnswered.push({ card, interrupt: this.interrupts.get(id) });
      if (card.classList.contains("elsewhere") && !("elsewhereAnswer" in card)) {
        markAnsweredElsewhere(card, value); // it lost a race: now the winning answer is known
        continue;
      }
      if (card.classList.contains("answered") || card.classList.contains("sending")) continue;
      if (this.isMine(id)) {
        card.answer = value;
        markAnswered(card, `Answered — ${answerSummary(value)}`);
      } else {
        markAnsweredElsewhere(card, value);
        this.onAnsweredElsewhere(this.interrupts.get(id), card);
      }
      this.pending = this.pending.filter((i) => i.id !== id);
    }
  }

  /** Interrupts a fork from an older checkpoint left behind (`run_started.discarded_interrupts`). */
  _discard(ids) {
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      const card = this.cards.get(id);
      if (!card || card.classList.contains("answered")) continue;
      markAnswered(card, "Discarded — the thread went back to an earlier checkpoint");
      card.classList.add("discarded");
    }
    this.pending = this.pending.filter((i) => !ids.includes(i.id));
  }

  /**
   * What this page sent to start run `runId` — the typed `message`, or the structured `input` —
   * shown where a replay shows it: right after the run's divider (the events are `run_started`,
   * then the run's first `values`). Until the divider comes it waits; if it came already, the
   * bubble is shown now (the events that follow show it once: a message by its id, the input
   * once per run).
   */
  showSent(runId, { message = null, input = null }) {
    const show = () => (message ? this.showMessage(message, null) : this.showInput(input, runId));
    if (this.startedRun === runId) show();
    else this.sent = { runId, show };
  }

  /** A structured input (not a chat message) as the user's bubble, once per run. */
  showInput(values, runId) {
    if (!values || typeof values !== "object" || Array.isArray(values) || this.inputShownFor === runId) return;
    if ("messages" in values || !Object.keys(values).length) return;
    this.inputShownFor = runId;
    this.root.append(h("div", { class: "bubble bubble-user bubble-input", dataset: { role: "user" } },
      h("div", { class: "bubble-meta", text: "You · input" }),
      h("dl", { class: "kv input-kv" }, Object.entries(values).map(([k, v]) => [
        h("dt", { text: k }),
        h("dd", { text: typeof v === "string" ? v : JSON.stringify(v) }),
      ]))));
  }

  _input(values, runId) {
    this.inputRun = null;
    this.showInput(values, runId);
  }

  /** Show a chat message (once per id; a streamed bubble with that id is completed). */
  showMessage(message, node) {
    if (!message || typeof message !== "object") return null;
    if (message.role === "remove") {
      this.messages.get(message.id)?.remove();
      return null;
    }
    if (message.id === undefined || message.id === null) return this._bubble(message, node);
    const existing = this.messages.get(message.id);
    if (existing) {
      if (existing.classList.contains("streaming")) {
        existing.classList.remove("streaming");
        existing.querySelector(".bubble-text").textContent = messageText(message);
      }
      return existing;
    }
    const bubble = this._bubble(message, node);
    if (bubble) this.messages.set(message.id, bubble);
    return bubble;
  }

  /**
   * A message a node returned (`updates`). One without an id is shown at once and waits for the
   * root `values` event of the same step, which gives it its place in the list (subgraphs' own
   * lists are not the thread's: their messages are shown as they come).
   */
  _updateMessage(message, node, ev) {
    if (!message || typeof message !== "object" || (message.id !== undefined && message.id !== null) || message.role === "remove") {
      this.showMessage(message, node);
      return;
    }
    const bubble = this._bubble(message, node);
    if (bubble && (ev.ns ?? []).length === 0) this.unplaced.push({ bubble, message });
  }

  /**
   * The state's whole `messages` list. Messages with an id are shown once by id; the others by
   * their index: a new index takes the oldest bubble still waiting from `updates` (redrawn if the
   * list holds something else there) or gets a new bubble. Bubbles left waiting were not new
   * messages (a node that returned the whole list again) and are removed. `root`: the thread's
   * own list (a subgraph's `values` only adds messages with an id).
   */
  _stateMessages(list, root) {
    list.forEach((message, index) => {
      if (!message || typeof message !== "object") return;
      if ((message.id !== undefined && message.id !== null) || message.role === "remove") {
        this.showMessage(message, null);
        return;
      }
      if (!root || this.slots.has(index)) return;
      const waiting = this.unplaced.shift();
      if (waiting && sameMessage(waiting.message, message)) {
        this.slots.set(index, waiting.bubble);
        return;
      }
      const bubble = this._bubble(message, null);
      if (!bubble) return;
      if (waiting) waiting.bubble.replaceWith(bubble);
      this.slots.set(index, bubble);
    });
    if (!root) return;
    for (const { bubble } of this.unplaced) bubble.remove();
    this.unplaced = [];
  }

  /** A new bubble for `message` at the end of the transcript (null when it has nothing to show). */
  _bubble(message, node) {
    const role = normaliseRole(message.role);
    const text = messageText(message);
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    if (!text && !calls.length) return null;
    const bubble = h("div", { class: `bubble bubble-${role}`, dataset: { role } },
      h("div", { class: "bubble-meta", text: roleLabel(role, message, node) }),
      text ? h("div", { class: "bubble-text", text }) : h("div", { class: "bubble-text" }),
      calls.map((c) => h("div", { class: "tool-call" }, "calls ", h("code", { text: c.name ?? "tool" }), h("span", { class: "tool-args", text: ` ${preview(c.args ?? {}, 160)}` }))));
    this.root.append(bubble);
    return bubble;
  }

  _chunk(data) {
    const [chunk, meta] = Array.isArray(data) ? data : [data, null];
    if (!chunk || typeof chunk !== "object") return;
    const key = chunk.id;
    const piece = messageText(chunk);
    if (key === undefined || key === null) return;
    let bubble = this.messages.get(key);
    if (!bubble) {
      const role = normaliseRole(chunk.role ?? "assistant");
      bubble = h("div", { class: `bubble bubble-${role} streaming`, dataset: { role } },
        h("div", { class: "bubble-meta", text: roleLabel(role, chunk, meta?.langgraph_node ?? null) }),
        h("div", { class: "bubble-text" }));
      this.messages.set(key, bubble);
      this.root.append(bubble);
    }
    if (bubble.classList.contains("streaming")) bubble.querySelector(".bubble-text").append(document.createTextNode(piece));
  }

  _interrupts(list) {
    const ids = new Set(list.map((i) => i.id));
    this._settleCards([...ids]);
    for (const interrupt of list) {
      if (!this.cards.has(interrupt.id)) {
        this._refusal(interrupt);
        const card = interruptCard(interrupt, { onAnswer: this._answering(interrupt) });
        this.cards.set(interrupt.id, card);
        this.interrupts.set(interrupt.id, interrupt);
        this.root.append(card);
      }
    }
    this.pending = list.filter((i) => !this.cards.get(i.id)?.classList.contains("answered"));
    if (list.length) this.status = "interrupted";
  }

  /**
   * The card's onAnswer: the page's answerer, and when the answer lost a race
   * (`already_answered`) the error carries the answer that won, if the events said it already.
   */
  _answering(interrupt) {
    const send = this.answerer(interrupt);
    return async (value) => {
      try {
        return await send(value);
      } catch (err) {
        if (err?.code === "already_answered" && this.answers.has(interrupt.id)) err.answer = this.answers.get(interrupt.id);
        throw err;
      }
    };
  }

  /**
   * A new question from the node an answer of this run went to, carrying an `error`: that
   * answer was refused (the node asked again), so its card must not look accepted.
   */
  _refusal(interrupt) {
    const error = interruptError(interrupt.value);
    if (!error) return;
    const same = (a, b) => a && b && a.node === b.node && JSON.stringify(a.ns ?? []) === JSON.stringify(b.ns ?? []);
    const hit = this.justAnswered.find(({ interrupt: asked }) => same(asked, interrupt));
    if (hit) markRefused(hit.card, error);
  }

  /** Cards not in `stillPending` were answered (here or elsewhere). */
  _settleCards(stillPending) {
    const keep = new Set(stillPending);
    for (const [id, card] of this.cards) {
      if (keep.has(id) || card.classList.contains("answered") || card.classList.contains("sending")) continue;
      if (this.isMine(id)) {
        markAnswered(card, "Answered");
      } else {
        markAnsweredElsewhere(card, undefined);
        this.onAnsweredElsewhere(this.interrupts.get(id), card);
      }
    }
    this.pending = this.pending.filter((i) => keep.has(i.id));
  }

  /** Called when this page's own answer was acknowledged. */
  answered(interruptId) {
    this.pending = this.pending.filter((i) => i.id !== interruptId);
  }

  /**
   * A run ended while a message was still streaming (no final message came): the bubble stops
   * looking live and says it was cut off; `why` is empty when the run simply ended.
   */
  _closeStreaming(why) {
    for (const bubble of this.root.querySelectorAll(".bubble.streaming")) {
      bubble.classList.remove("streaming");
      if (!why) continue;
      bubble.classList.add("cut");
      bubble.append(h("div", { class: "bubble-cut muted small", text: `Cut off: ${why}.` }));
    }
  }

  _divider(label, ev, tone = "") {
    const run = ev.run_id ? ` · ${String(ev.run_id).slice(0, 10)}` : "";
    this.root.append(h("div", { class: `divider ${tone}`, role: "separator" }, h("span", { text: `${label}${run}` })));
  }

  _note(text, tone) {
    this.root.append(h("div", { class: `note note-${tone}`, text }));
  }
}

function stepBody(update) {
  if (update === null || update === undefined) return h("span", { class: "muted", text: "done" });
  if (typeof update !== "object" || Array.isArray(update)) return h("span", { class: "step-value", text: preview(update, 300) });
  return h("dl", { class: "kv" }, Object.entries(update).map(([k, v]) => [
    h("dt", { text: k }),
    h("dd", { text: typeof v === "string" ? v : preview(v, 300) }),
  ]));
}

/** A run's divider: a start, an answer's resume, or the continuation of a stopped run. */
function runLabel(data, stoppedBy) {
  if (data.kind !== "resume") return data.checkpoint_id ? "Run started from a checkpoint" : "Run started";
  const answered = data.answers && typeof data.answers === "object" && Object.keys(data.answers).length > 0;
  if (answered) return "Resumed";
  if (stoppedBy === "shutdown") return "Continued after a server restart";
  return "Continued";
}

/** Whether two deliveries of an id-less message (its update and its place in the list) agree. */
function sameMessage(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function normaliseRole(role) {
  if (role === "human") return "user";
  if (role === "ai") return "assistant";
  return ["user", "assistant", "tool", "system", "developer"].includes(role) ? role : "assistant";
}

function roleLabel(role, message, node) {
  if (role === "user") return "You";
  if (role === "tool") return `tool ${message.name ?? ""}`.trim();
  if (role === "system" || role === "developer") return role;
  return node ? `assistant · ${node}` : "assistant";
}
