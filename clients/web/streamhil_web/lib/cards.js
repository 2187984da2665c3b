// Interrupt cards: one card per pending interrupt, chosen by the shape of its value.
//
//   HumanInterrupt (Agent Inbox), alone or as a one-item list → tool-call review: accept / edit /
//       respond / ignore, as its `config` allows; answered with a HumanResponse (a list if the
//       request was a list)
//   {options: [...]}                     → one button per option; the answer is the option
//   {kind: "approve"}                    → Approve / Reject; the answer is true / false
//   {kind: "edit"}, {edit: {...}}, or an instruction that says "edit" → an editable form of the
//       value's other fields; the answer is the edited object
//   a string, or {question | prompt}     → a free-text answer
//   anything else                        → the value as JSON, answered with typed JSON
// Every card also offers "answer with JSON" for shapes the UI does not know.

import { h, interruptOrigin, preview, prettyJson } from "./render.js";

const TEXT_KEYS = ["question", "prompt", "message", "task", "title", "instructions", "description"];
const META_KEYS = new Set([...TEXT_KEYS, "kind", "ui", "options", "edit", "hint", "error"]);
const APPROVE_KINDS = new Set(["approve", "approval", "confirm"]);
const EDIT_KINDS = new Set(["edit", "review", "review_edit"]);

function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Whether `v` is an Agent Inbox HumanInterrupt. */
export function isHumanInterrupt(v) {
  return isObject(v) && isObject(v.action_request) && typeof v.action_request.action === "string" && isObject(v.config);
}

/** The card kind for an interrupt value. */
export function interruptKind(value) {
  if (isHumanInterrupt(value) || (Array.isArray(value) && value.length === 1 && isHumanInterrupt(value[0]))) return "tool_call";
  if (typeof value === "string") return "text";
  if (!isObject(value)) return "json";
  const kind = typeof value.kind === "string" ? value.kind : typeof value.ui === "string" ? value.ui : null;
  if (Array.isArray(value.options) && value.options.length) return "choice";
  if (kind && APPROVE_KINDS.has(kind)) return "approve";
  if ((kind && EDIT_KINDS.has(kind)) || isObject(value.edit)) return "edit";
  const instruction = TEXT_KEYS.map((k) => value[k]).find((v) => typeof v === "string");
  const editable = Object.keys(value).some((k) => !META_KEYS.has(k));
  if (instruction && editable && /\bedit/i.test(instruction)) return "edit"; // "Review and edit the summary"
  if (kind === "text" || TEXT_KEYS.some((k) => typeof value[k] === "string")) return "text";
  return "json";
}

/** The question a value asks, for headings and the composer's placeholder. */
export function questionOf(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && isHumanInterrupt(value[0])) return questionOf(value[0]);
  if (isHumanInterrupt(value)) return value.description || `Review the call to ${value.action_request.action}`;
  if (isObject(value)) {
    for (const key of TEXT_KEYS) if (typeof value[key] === "string") return value[key];
  }
  return "The graph is waiting for an answer";
}

const WORD_PUNCTUATION = /^[\s"'.!?]+|[\s"'.!?]+$/g;

/** The request of a tool-call interrupt (the value, or its one item). */
function toolRequest(value) {
  return Array.isArray(value) ? value[0] : value;
}

/** The action words a tool-call card's buttons stand for, as its config allows them. */
function toolActions(config) {
  return [["accept", "allow_accept"], ["edit", "allow_edit"], ["respond", "allow_respond"], ["ignore", "allow_ignore"]]
    .filter(([, flag]) => config?.[flag]).map(([word]) => word);
}

/**
 * What the chat composer sends when the user types `text` while this interrupt waits:
 * `{answer}`, or `{refused: "why"}` when typing cannot mean anything the card allows. A word
 * that names one of the card's buttons does what that button does (typing "accept" accepts);
 * nothing typed is ever turned into a different action than the buttons offer.
 */
export function composerAnswer(value, text) {
  const kind = interruptKind(value);
  const word = text.trim().replace(WORD_PUNCTUATION, "").toLowerCase();
  if (kind === "tool_call") {
    const request = toolRequest(value);
    const wrap = (response) => (Array.isArray(value) ? [response] : response);
    const actions = toolActions(request.config);
    if (word === "accept" && actions.includes("accept")) return { answer: wrap({ type: "accept" }) };
    if (word === "ignore" && actions.includes("ignore")) return { answer: wrap({ type: "ignore" }) };
    if (["accept", "ignore", "edit"].includes(word)) {
      const how = word === "edit" && actions.includes("edit")
        ? "Use the card's Edit button to change the arguments."
        : `This tool call cannot be answered with ${word}: ${describeActions(actions)}.`;
      return { refused: how };
    }
    if (!actions.includes("respond")) return { refused: `Use the card's buttons: ${describeActions(actions)}.` };
    return { answer: wrap({ type: "response", args: text }) };
  }
  if (kind === "choice") {
    const match = value.options.find((o) => optionLabel(o).toLowerCase() === word);
    if (match !== undefined) return { answer: optionValue(match) };
  }
  if (kind === "approve") {
    if (["yes", "y", "approve", "approved", "ok", "accept"].includes(word)) return { answer: true };
    if (["no", "n", "reject", "rejected", "deny"].includes(word)) return { answer: false };
    return { refused: "Answer yes or no (or use the Approve / Reject buttons)." };
  }
  return { answer: text };
}

function describeActions(actions) {
  const names = actions.map((a) => a[0].toUpperCase() + a.slice(1));
  return names.length ? `the card offers ${names.join(", ")}` : "the card offers no action";
}

/** What typing in the composer does while this interrupt waits, for the hint above the box. */
export function composerHint(value) {
  const kind = interruptKind(value);
  if (kind === "tool_call") {
    const request = toolRequest(value);
    const actions = toolActions(request.config);
    const words = actions.filter((a) => a === "accept" || a === "ignore").map((a) => `"${a}"`);
    const typed = actions.includes("respond")
      ? `Your message is sent to the model as a response instead of running ${request.action_request.action}`
      : "Typing cannot answer this tool call";
    return `${typed}${words.length ? `; type ${words.join(" or ")} to do just that` : ""}, or use the card's buttons.`;
  }
  if (kind === "approve") return "Type yes or no, or use the Approve / Reject buttons.";
  if (kind === "choice") return `Type one of: ${value.options.map(optionLabel).join(", ")}.`;
  if (kind === "edit") return "Your message replaces the value being edited; the card's form edits it field by field.";
  return "Your message is the answer.";
}

function optionLabel(option) {
  return isObject(option) ? String(option.label ?? preview(option.value, 40)) : String(option);
}

function optionValue(option) {
  return isObject(option) && "value" in option ? option.value : option;
}

/** A short description of an answer for the "answered" line. */
export function answerSummary(answer) {
  const one = Array.isArray(answer) && answer.length === 1 ? answer[0] : answer;
  if (isObject(one) && typeof one.type === "string" && ["accept", "edit", "response", "ignore"].includes(one.type)) {
    if (one.type === "response") return `responded: ${preview(one.args, 80)}`;
    if (one.type === "edit") return `edited: ${preview(one.args?.args ?? one.args, 80)}`;
    return one.type === "accept" ? "accepted" : "ignored";
  }
  if (answer === true) return "approved";
  if (answer === false) return "rejected";
  return preview(answer, 100);
}

/**
 * A card for one interrupt. `onAnswer(value)` sends the answer and returns a promise; the card
 * disables itself meanwhile, then shows the outcome. Options: `thread` (a label shown in the
 * header, for the dashboard inbox), `since` (Date the interrupt appeared).
 */
export function interruptCard(interrupt, { onAnswer, thread = null } = {}) {
  const value = interrupt.value;
  const kind = interruptKind(value);
  const status = h("p", { class: "card-status", role: "status" });
  const body = h("div", { class: "card-body" });
  const card = h("article", {
    class: `card interrupt kind-${kind}`,
    tabindex: "-1",
    dataset: { interruptId: interrupt.id, node: interrupt.node ?? "" },
    "aria-label": `Question from node ${interruptOrigin(interrupt)}`,
  },
  h("header", { class: "card-head" },
    h("span", { class: "node-tag", text: `node ${interruptOrigin(interrupt)}` }),
    thread ? h("span", { class: "thread-tag", text: thread }) : null,
    h("span", { class: "kind-tag", text: KIND_LABEL[kind] })),
  h("p", { class: "question", text: questionOf(value) }),
  body,
  jsonFallback((answer) => submit(answer)),
  status);

  let busy = false;
  const controls = () => card.querySelectorAll("button, input, textarea, select");

  async function submit(answer) {
    if (busy || card.classList.contains("answered")) return;
    busy = true;
    card.classList.add("sending");
    for (const c of controls()) c.disabled = true;
    status.className = "card-status";
    status.textContent = "Sending…";
    try {
      await onAnswer(answer);
      card.classList.remove("sending");
      card.answer = answer;
      markAnswered(card, `Answered — ${answerSummary(answer)}`);
    } catch (err) {
      busy = false;
      card.classList.remove("sending");
      if (err?.code === "already_answered") {
        markAnsweredElsewhere(card, err.answer); // the winning answer, when it is known already
        return;
      }
      for (const c of controls()) c.disabled = false;
      status.className = "card-status error";
      status.textContent = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? err}`;
    }
  }

  BUILDERS[kind](body, value, submit);
  card.submitAnswer = submit;
  return card;
}

/** Mark a card as answered (disables its controls). */
export function markAnswered(card, text) {
  card.classList.add("answered");
  for (const c of card.querySelectorAll("button, input, textarea, select")) c.disabled = true;
  const status = card.querySelector(".card-status");
  status.className = "card-status ok";
  status.textContent = text;
}

/** What the user typed into a card and did not send (its text boxes), or "". */
export function cardDraft(card) {
  return [...card.querySelectorAll("textarea.answer-text, textarea.json-input")]
    .filter((t) => !t.closest(".fields")).map((t) => t.value.trim()).filter(Boolean).join("\n");
}

/**
 * Mark a card answered by someone else (another tab, the dashboard): with the answer when it is
 * known, and keeping whatever was typed into the card but not sent, so no draft vanishes.
 */
export function markAnsweredElsewhere(card, answer) {
  const draft = cardDraft(card);
  const what = answer === undefined ? "" : ` — ${answerSummary(answer)}`;
  if (answer !== undefined) card.elsewhereAnswer = answer;
  markAnswered(card, `Answered elsewhere${what}`);
  card.classList.add("elsewhere");
  card.querySelector(".card-draft")?.remove();
  if (draft) {
    card.querySelector(".card-status").after(h("p", { class: "card-draft muted small" },
      "Your draft was not sent: ", h("q", { class: "pre-wrap", text: draft })));
  }
}

/** The answer this card sent was not accepted: the graph asked again, saying why. */
export function markRefused(card, reason) {
  card.classList.add("refused");
  const status = card.querySelector(".card-status");
  status.className = "card-status error";
  const sent = card.answer === undefined ? "" : ` (${answerSummary(card.answer)})`;
  status.textContent = `Not accepted${sent} — ${reason || "the graph asked again"}`;
}

/** The `error` a (re-asked) interrupt value carries, or null. */
export function interruptError(value) {
  const request = Array.isArray(value) ? value[0] : value;
  return isObject(request) && typeof request.error === "string" && request.error ? request.error : null;
}

const KIND_LABEL = {
  tool_call: "Tool call",
  choice: "Choose",
  approve: "Approve / reject",
  edit: "Review & edit",
  text: "Your answer",
  json: "JSON answer",
};

function details(value, skip = META_KEYS) {
  if (!isObject(value)) return null;
  const rows = Object.entries(value).filter(([k]) => !skip.has(k));
  if (!rows.length) return null;
  return h("dl", { class: "details" }, rows.map(([k, v]) => [
    h("dt", { text: k }),
    h("dd", {}, typeof v === "string" ? h("span", { class: "pre-wrap", text: v }) : h("pre", { class: "json", text: prettyJson(v) })),
  ]));
}

function errorNote(value) {
  const error = isObject(value) ? value.error : null;
  return typeof error === "string" && error ? h("p", { class: "card-error", text: error }) : null;
}

const BUILDERS = {
  text(body, value, submit) {
    body.append(...[errorNote(value), details(value)].filter(Boolean));
    const input = h("textarea", { rows: "2", class: "answer-text", "aria-label": "Your answer", placeholder: "Type your answer…" });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) {
        ev.preventDefault();
        if (input.value.trim()) submit(input.value);
      }
    });
    body.append(h("div", { class: "row" }, input,
      h("button", { type: "button", class: "primary", text: "Send answer", on: { click: () => input.value.trim() && submit(input.value) } })));
  },

  choice(body, value, submit) {
    body.append(...[errorNote(value), details(value)].filter(Boolean));
    body.append(h("div", { class: "row buttons" }, value.options.map((option, i) => h("button", {
      type: "button",
      class: i === 0 ? "primary" : "",
      text: optionLabel(option),
      on: { click: () => submit(optionValue(option)) },
    }))));
  },

  approve(body, value, submit) {
    body.append(...[errorNote(value), details(value)].filter(Boolean));
    body.append(h("div", { class: "row buttons" },
      h("button", { type: "button", class: "primary approve", text: "Approve", on: { click: () => submit(true) } }),
      h("button", { type: "button", class: "danger reject", text: "Reject", on: { click: () => submit(false) } })));
  },

  edit(body, value, submit) {
    const source = isObject(value.edit) ? value.edit : Object.fromEntries(Object.entries(value).filter(([k]) => !META_KEYS.has(k)));
    body.append(...[errorNote(value), isObject(value.edit) ? details(value) : null].filter(Boolean));
    const form = fieldForm(source);
    const problem = h("p", { class: "card-error", hidden: true });
    body.append(form.element, problem, h("div", { class: "row buttons" },
      h("button", {
        type: "button",
        class: "primary",
        text: "Submit",
        on: {
          click: () => {
            const result = form.read();
            problem.hidden = !result.error;
            problem.textContent = result.error ?? "";
            if (!result.error) submit(result.value);
          },
        },
      })));
  },

  tool_call(body, value, submit) {
    const asList = Array.isArray(value);
    const request = asList ? value[0] : value;
    const wrap = (response) => (asList ? [response] : response);
    const config = request.config;
    const action = request.action_request;
    body.append(...[errorNote(request)].filter(Boolean));
    body.append(h("p", { class: "tool-line" }, "Call ", h("code", { text: action.action }), " with:"));
    const form = fieldForm(isObject(action.args) ? action.args : {}, { readOnly: true });
    body.append(form.element);
    const extra = h("div", { class: "tool-extra" });
    const problem = h("p", { class: "card-error", hidden: true });
    body.append(extra, problem);
    const buttons = h("div", { class: "row buttons" });
    const showEditor = (ev) => {
      ev.target.hidden = true;
      form.setReadOnly(false);
      form.element.querySelector("input, textarea")?.focus();
      buttons.prepend(h("button", {
        type: "button",
        class: "primary",
        text: "Save & run",
        on: {
          click: () => {
            const result = form.read();
            problem.hidden = !result.error;
            problem.textContent = result.error ?? "";
            if (!result.error) submit(wrap({ type: "edit", args: { action: action.action, args: result.value } }));
          },
        },
      }));
    };
    const showResponder = (ev) => {
      ev.target.hidden = true;
      const input = h("textarea", { rows: "2", class: "answer-text", "aria-label": "Response to the model", placeholder: "Tell the model what to do instead…" });
      extra.append(h("div", { class: "row" }, input, h("button", {
        type: "button",
        text: "Send response",
        on: { click: () => input.value.trim() && submit(wrap({ type: "response", args: input.value })) },
      })));
      input.focus();
    };
    if (config.allow_accept) buttons.append(h("button", { type: "button", class: "primary", text: "Accept", on: { click: () => submit(wrap({ type: "accept" })) } }));
    if (config.allow_edit) buttons.append(h("button", { type: "button", text: "Edit", on: { click: showEditor } }));
    if (config.allow_respond) buttons.append(h("button", { type: "button", text: "Respond", on: { click: showResponder } }));
    if (config.allow_ignore) buttons.append(h("button", { type: "button", class: "danger", text: "Ignore", on: { click: () => submit(wrap({ type: "ignore" })) } }));
    body.append(buttons);
  },

  json(body, value) {
    body.append(h("pre", { class: "json", text: prettyJson(value) }));
    // the "answer with JSON" box is this card's answer box: open it
    const raw = body.parentElement?.querySelector("details.raw");
    if (raw) raw.open = true;
  },
};

/** "Answer with JSON": any value, typed as JSON. */
function jsonFallback(submit) {
  const area = h("textarea", { rows: "3", class: "json-input", "aria-label": "Answer as JSON", spellcheck: "false", placeholder: '"yes", true, {"approved": false}…' });
  const problem = h("p", { class: "card-error", hidden: true });
  return h("details", { class: "raw" },
    h("summary", { text: "Answer with JSON" }),
    area,
    problem,
    h("button", {
      type: "button",
      text: "Send JSON",
      on: {
        click: () => {
          try {
            const answer = JSON.parse(area.value);
            problem.hidden = true;
            submit(answer);
          } catch (err) {
            problem.hidden = false;
            problem.textContent = `Not valid JSON: ${err.message}`;
          }
        },
      },
    }));
}

/**
 * A form with one control per key of `obj`: text areas for strings, number inputs, checkboxes,
 * JSON text areas for the rest. `read()` returns {value} or {error}.
 */
export function fieldForm(obj, { readOnly = false } = {}) {
  const element = h("div", { class: "fields" });
  const readers = [];
  const inputs = [];
  for (const [key, original] of Object.entries(obj)) {
    const id = `f-${Math.random().toString(36).slice(2, 10)}`;
    let control;
    let read;
    if (typeof original === "boolean") {
      control = h("input", { type: "checkbox", id, checked: original });
      read = () => ({ value: control.checked });
    } else if (typeof original === "number") {
      control = h("input", { type: "number", id, value: String(original), step: "any" });
      read = () => (control.value.trim() === "" || Number.isNaN(Number(control.value))
        ? { error: `${key}: expected a number` } : { value: Number(control.value) });
    } else if (typeof original === "string") {
      control = original.length > 60 || original.includes("\n")
        ? h("textarea", { id, rows: String(Math.min(8, 2 + Math.floor(original.length / 70))), value: original })
        : h("input", { type: "text", id, value: original });
      read = () => ({ value: control.value });
    } else {
      control = h("textarea", { id, rows: "3", class: "json-input", spellcheck: "false", value: prettyJson(original) });
      read = () => {
        try {
          return { value: JSON.parse(control.value) };
        } catch (err) {
          return { error: `${key}: not valid JSON (${err.message})` };
        }
      };
    }
    inputs.push(control);
    readers.push([key, read]);
    element.append(h("div", { class: "field" }, h("label", { for: id, text: key }), control));
  }
  const setReadOnly = (flag) => {
    for (const c of inputs) {
      if (c.type === "checkbox") c.disabled = flag;
      else c.readOnly = flag;
    }
    element.classList.toggle("readonly", flag);
  };
  setReadOnly(readOnly);
  return {
    element,
    setReadOnly,
    read() {
      const out = {};
      for (const [key, read] of readers) {
        const r = read();
        if (r.error) return { error: r.error };
        out[key] = r.value;
      }
      return { value: out };
    },
  };
}
