// A thread's conversation as DOM: events in, bubbles, step notes and interrupt cards out.
//
// The same code renders live events and replayed ones, so a reload or a reconnect shows the same
// transcript. Messages are de-duplicated by id (they arrive in `updates`, `values` and, streamed
// token by token, in `messages`).

import { interruptCard, markAnswered } from "./cards.js";
import { h, messageText, preview } from "./render.js";

export class Transcript {
  /**
   * @param {HTMLElement} root  the element to fill (role="log")
   * @param {(interrupt) => (value) => Promise} answerer  makes the onAnswer of a card
   */
  constructor(root, answerer) {
    this.root = root;
    this.answerer = answerer;
    this.reset();
  }

  reset() {
    this.root.replaceChildren();
    this.messages = new Map(); // message key -> bubble element
    this.cards = new Map(); // interrupt id -> card
    this.pending = []; // interrupt objects, in the order they appeared
    this.status = "idle";
    this.lastRun = null;
    this.activeNodes = new Set();
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
        this._divider(data.kind === "resume" ? "Resumed" : "Run started", ev);
        break;
      case "values":
        if (data && Array.isArray(data.messages)) for (const m of data.messages) this.showMessage(m, null);
        break;
      case "updates":
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
        this.status = "idle";
        this.activeNodes = new Set(["__end__"]);
        this._settleCards([]);
        this._divider("Run finished", ev, "done");
        break;
      case "run_error":
        this.status = "error";
        this.activeNodes = new Set();
        this._note(`Run failed — ${data.error?.type ?? "Error"}: ${data.error?.message ?? ""}`, "error");
        break;
      case "run_cancelled":
        this.status = "idle";
        this.activeNodes = new Set();
        this._note(`Run cancelled (${data.reason ?? "cancelled"})`, "info");
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
      for (const m of values.messages) this.showMessage(m, null);
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
        for (const m of list) this.showMessage(m, node);
        rest = Object.fromEntries(Object.entries(update).filter(([k]) => k !== "messages"));
        if (!Object.keys(rest).length) continue;
      }
      const ns = (ev.ns ?? []).map((p) => String(p).split(":")[0]);
      this.root.append(h("div", { class: "step", dataset: { node } },
        h("span", { class: "step-node", text: ns.length ? `${ns.join(" › ")} › ${node}` : node }),
        stepBody(rest)));
    }
  }

  /** Show a chat message (once per id; a streamed bubble with that id is completed). */
  showMessage(message, node) {
    if (!message || typeof message !== "object") return;
    if (message.role === "remove") {
      this.messages.get(message.id)?.remove();
      return;
    }
    const key = message.id ?? `${message.role}:${messageText(message)}`;
    const existing = this.messages.get(key);
    if (existing) {
      if (existing.classList.contains("streaming")) {
        existing.classList.remove("streaming");
        existing.querySelector(".bubble-text").textContent = messageText(message);
      }
      return;
    }
    const role = normaliseRole(message.role);
    const text = messageText(message);
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    if (!text && !calls.length) return;
    const bubble = h("div", { class: `bubble bubble-${role}`, dataset: { role } },
      h("div", { class: "bubble-meta", text: roleLabel(role, message, node) }),
      text ? h("div", { class: "bubble-text", text }) : h("div", { class: "bubble-text" }),
      calls.map((c) => h("div", { class: "tool-call" }, "calls ", h("code", { text: c.name ?? "tool" }), h("span", { class: "tool-args", text: ` ${preview(c.args ?? {}, 160)}` }))));
    this.messages.set(key, bubble);
    this.root.append(bubble);
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
        const card = interruptCard(interrupt, { onAnswer: this.answerer(interrupt) });
        this.cards.set(interrupt.id, card);
        this.root.append(card);
      }
    }
    this.pending = list.filter((i) => !this.cards.get(i.id)?.classList.contains("answered"));
    if (list.length) this.status = "interrupted";
  }

  /** Cards not in `stillPending` were answered (here or elsewhere). */
  _settleCards(stillPending) {
    const keep = new Set(stillPending);
    for (const [id, card] of this.cards) {
      if (!keep.has(id) && !card.classList.contains("answered")) markAnswered(card, "Answered");
    }
    this.pending = this.pending.filter((i) => keep.has(i.id));
  }

  /** Called when this page's own answer was acknowledged. */
  answered(interruptId) {
    this.pending = this.pending.filter((i) => i.id !== interruptId);
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
