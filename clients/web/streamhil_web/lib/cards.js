// Interrupt cards: one card per pending interrupt, chosen by the shape of its value.
//
//   HumanInterrupt (Agent Inbox), alone or as a one-item list → tool-call review: accept / edit /
//       respond / ignore, as its `config` allows; answered with a HumanResponse (a list if the
//       request was a list)
//   a HITL-middleware review ({action_requests, review_configs}) → approve / edit / reject per
//       call, as its allowed_decisions say; answered with {decisions: [one per call]}
//   {options: [...]}                     → one button per option; the answer is the option
//   {kind: "approve"}                    → Approve / Reject; the answer is true / false
//   {kind: "edit"}, {edit: {...}}, or an instruction that says "edit" → an editable form of the
//       value's other fields; the answer is the edited object
//   a string, or {question | prompt}     → a free-text answer
//   anything else                        → the value as JSON, answered with typed JSON
// A message typed in the chat's box answers the first pending card: see composerAnswer.
// Every card also offers "answer with JSON" for shapes the UI does not know.

import { errorText, h, interruptOrigin, preview, prettyJson } from "./render.js";

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

/**
 * Whether `v` is a review in the shape of LangChain's HITL middleware: `action_requests` (each
 * `{name, args, description?}`) and `review_configs` (each `{action_name, allowed_decisions}`).
 */
export function isHitlReview(v) {
  return isObject(v) && Array.isArray(v.action_requests) && v.action_requests.length > 0
    && v.action_requests.every((a) => isObject(a) && typeof a.name === "string")
    && Array.isArray(v.review_configs) && v.review_configs.every((c) => isObject(c) && Array.isArray(c.allowed_decisions));
}

const DECISIONS = ["approve", "edit", "reject"];

/** The decisions a HITL review allows for its action `action` (all three when it says nothing). */
function allowedDecisions(value, action) {
  const config = value.review_configs.find((c) => c.action_name === action.name);
  return config ? DECISIONS.filter((d) => config.allowed_decisions.includes(d)) : DECISIONS;
}

/** The card kind for an interrupt value. */
export function interruptKind(value) {
  if (isHumanInterrupt(value) || (Array.isArray(value) && value.length === 1 && isHumanInterrupt(value[0]))) return "tool_call";
  if (isHitlReview(value)) return "tool_review";
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
  if (isHitlReview(value)) {
    const [first] = value.action_requests;
    if (value.action_requests.length > 1) return `Review ${value.action_requests.length} tool calls`;
    return typeof first.description === "string" && first.description ? first.description : `Review the call to ${first.name}`;
  }
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

/** `text` as a JSON object or array, or undefined when it is not one. */
function typedJson(text) {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return undefined;
  try {
    const value = JSON.parse(trimmed);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the chat composer sends when the user types `text` while this interrupt waits:
 * `{answer}`, or `{refused: "why"}` when typing cannot mean anything the card allows. A word
 * that names one of the card's buttons does what that button does (typing "accept" accepts);
 * nothing typed is ever turned into a different action than the buttons offer. Where the card
 * wants a structured answer (a tool-call review, a value shown as JSON), a message that is a JSON
 * object or array is sent as that JSON.
 */
export function composerAnswer(value, text) {
  const kind = interruptKind(value);
  const word = text.trim().replace(WORD_PUNCTUATION, "").toLowerCase();
  const json = typedJson(text);
  if (kind === "json") {
    if (json !== undefined) return { answer: json };
    try {
      return { answer: JSON.parse(text) };
    } catch (err) {
      return { refused: `This question wants JSON (its value is shown as JSON): ${err.message}. Type a string in quotes, e.g. "yes".` };
    }
  }
  if (kind === "tool_call") {
    if (json !== undefined) return { answer: json };
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
  if (kind === "tool_review") {
    if (json !== undefined) return { answer: json };
    if (value.action_requests.length > 1) return { refused: "This review has several tool calls: decide each one on the card." };
    const allowed = allowedDecisions(value, value.action_requests[0]);
    const decide = (decision) => ({ answer: { decisions: [decision] } });
    if (["approve", "accept"].includes(word) && allowed.includes("approve")) return decide({ type: "approve" });
    if (word === "reject" && allowed.includes("reject")) return decide({ type: "reject" });
    if (["approve", "accept", "reject", "edit"].includes(word)) {
      return {
        refused: word === "edit" && allowed.includes("edit")
          ? "Use the card's Edit button to change the arguments."
          : `This tool call cannot be answered with ${word}: ${describeActions(allowed)}.`,
      };
    }
    if (!allowed.includes("reject")) return { refused: `Use the card's buttons: ${describeActions(allowed)}.` };
    return decide({ type: "reject", message: text });
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
  if (kind === "tool_review") {
    if (value.action_requests.length > 1) return "Decide each tool call on the card (or type the decisions as JSON).";
    const [action] = value.action_requests;
    const allowed = allowedDecisions(value, action);
    const words = allowed.filter((d) => d !== "edit").map((d) => `"${d}"`);
    const typed = allowed.includes("reject")
      ? `Your message rejects ${action.name} and is sent to the model as the reason`
      : "Typing cannot answer this tool call";
    return `${typed}${words.length ? `; type ${words.join(" or ")} to do just that` : ""}, or use the card's buttons.`;
  }
  if (kind === "json") return "Type the answer as JSON (the card shows the value it answers).";
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
  if (isObject(answer) && Array.isArray(answer.decisions) && answer.decisions.every(isObject)) {
    return answer.decisions.map(decisionSummary).join("; ");
  }
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

function decisionSummary(decision) {
  if (decision.type === "approve") return "approved";
  if (decision.type === "edit") return `edited: ${preview(decision.edited_action?.args ?? {}, 80)}`;
  if (decision.type === "reject") return typeof decision.message === "string" ? `rejected: ${preview(decision.message, 80)}` : "rejected";
  return preview(decision, 80);
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
    // a focused control that gets disabled would drop the focus to <body>: keep it on the card
    const hadFocus = card.contains(document.activeElement);
    if (hadFocus) card.focus({ preventScroll: true });
    for (const c of controls()) c.disabled = true;
    status.className = "card-status";
    status.textContent = "Sending…";
    try {
      await onAnswer(answer);
      card.classList.remove("sending");
      card.answer = answer;
      markAnswered(card, `Answered — ${answerSummary(answer)}`);
      // the page moves the focus on (the next question, or the message box)
      card.dispatchEvent(new CustomEvent("card-answered", { bubbles: true, detail: { hadFocus } }));
    } catch (err) {
      busy = false;
      card.classList.remove("sending");
      if (err?.code === "already_answered") {
        markAnsweredElsewhere(card, err.answer); // the winning answer, when it is known already
        return;
      }
      for (const c of controls()) c.disabled = false;
      if (hadFocus && document.activeElement === card) firstControl(card)?.focus();
      status.className = "card-status error";
      status.textContent = ["connection_lost", "timeout"].includes(err?.code)
        ? "The connection dropped before the server confirmed this answer. If it got through, this card will say so once the connection is back; if not, send it again."
        : errorText(err);
    }
  }

  BUILDERS[kind](body, value, submit);
  card.submitAnswer = submit;
  return card;
}

/** The first control of a card that can take the focus (its answer box or first button), or null. */
export function firstControl(card) {
  return [...card.querySelectorAll(".card-body button, .card-body input, .card-body textarea, .card-body select, details.raw summary")]
    .find((c) => !c.disabled && !c.hidden && !c.readOnly && c.getClientRects().length > 0) ?? null;
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
  tool_review: "Tool call",
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

  tool_review(body, value, submit) {
    body.append(...[errorNote(value)].filter(Boolean));
    const many = value.action_requests.length > 1;
    const decisions = new Array(value.action_requests.length).fill(null);
    const send = h("button", { type: "button", class: "primary", text: `Send ${decisions.length} decisions`, disabled: true, hidden: !many,
      on: { click: () => decisions.every(Boolean) && submit({ decisions }) } });
    const decide = (i, decision, chosen) => {
      if (!many) {
        submit({ decisions: [decision] });
        return;
      }
      decisions[i] = decision;
      for (const b of chosen.parentElement.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === chosen));
      send.disabled = !decisions.every(Boolean);
    };
    value.action_requests.forEach((action, i) => {
      const allowed = allowedDecisions(value, action);
      const section = h("section", { class: "tool-action" });
      if (many && action.description) section.append(h("p", { class: "muted small", text: action.description }));
      section.append(h("p", { class: "tool-line" }, "Call ", h("code", { text: action.name }), " with:"));
      const form = fieldForm(isObject(action.args) ? action.args : {}, { readOnly: true });
      const extra = h("div", { class: "tool-extra" });
      const problem = h("p", { class: "card-error", hidden: true });
      const buttons = h("div", { class: "row buttons" });
      section.append(form.element, extra, problem, buttons);
      const editButton = h("button", { type: "button", text: "Edit", on: { click: (ev) => {
        ev.target.hidden = true;
        form.setReadOnly(false);
        form.element.querySelector("input, textarea")?.focus();
        buttons.prepend(h("button", { type: "button", class: "primary", text: many ? "Use these arguments" : "Save & run", on: { click: (e) => {
          const result = form.read();
          problem.hidden = !result.error;
          problem.textContent = result.error ?? "";
          if (!result.error) decide(i, { type: "edit", edited_action: { name: action.name, args: result.value } }, e.target);
        } } }));
      } } });
      const rejectButton = h("button", { type: "button", class: "danger", text: "Reject", on: { click: (ev) => {
        const message = extra.querySelector("textarea")?.value.trim();
        decide(i, message ? { type: "reject", message } : { type: "reject" }, ev.target);
      } } });
      if (allowed.includes("approve")) buttons.append(h("button", { type: "button", class: "primary", text: "Approve", on: { click: (ev) => decide(i, { type: "approve" }, ev.target) } }));
      if (allowed.includes("edit")) buttons.append(editButton);
      if (allowed.includes("reject")) {
        buttons.append(rejectButton);
        extra.append(h("textarea", { rows: "2", class: "answer-text", "aria-label": `Why reject ${action.name} (sent to the model)`, placeholder: "Optional: why reject (sent to the model)…" }));
      }
      body.append(section);
    });
    if (many) body.append(h("div", { class: "row buttons" }, send));
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
