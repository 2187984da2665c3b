// What the message box says and does at each moment, as plain data (no DOM): whether a typed
// message answers a pending interrupt, continues the thread, or starts a new one on the selected
// graph, and what a typed message becomes as graph input.

import { composerHint, questionOf } from "../lib/cards.js";
import { InputFormError, singleTextField, typedValue } from "../lib/input_form.js";
import { preview } from "../lib/render.js";

/** Whether a graph's input is a chat (`messages`), as list_graphs describes it. */
export function takesMessages(graph) {
  const keys = Array.isArray(graph?.input_keys) ? graph.input_keys : null;
  return !keys || keys.includes("messages");
}

/**
 * The composer's prompt: `{target, hint, placeholder, label}`, where `target` is the id of the
 * interrupt a typed message answers (or null). `thread` is the open thread id (null for a new
 * conversation), `graphName` its graph (or the picker's choice), `graph` that graph's
 * list_graphs entry, `status` and `pending` the transcript's.
 */
export function composerPrompt({ thread, graphName, graph, status, pending }) {
  if (pending.length) {
    const first = pending[0];
    const more = pending.length > 1 ? ` (1 of ${pending.length}; the others are answered one at a time)` : "";
    const question = preview(questionOf(first.value), 90).replace(/[.:;!]+$/, "");
    return {
      target: first.id,
      hint: `Your message answers node ${first.node ?? "?"} (“${question}”)${more}. ${composerHint(first.value)}`,
      placeholder: "Type your answer…",
      label: "Answer",
    };
  }
  if (status === "running") {
    return { target: null, hint: "The graph is running…", placeholder: "Wait for the graph to finish…", label: "Message" };
  }
  if (!thread && graph && !takesMessages(graph)) {
    const field = singleTextField(graph.input_schema ?? []);
    return {
      target: null,
      hint: field
        ? `Starts a new thread on ${graphName}: your message is its ${field.name}; the form above has the input's fields.`
        : `Starts a new thread on ${graphName}: fill the form above (a message starting with { is sent as JSON input).`,
      placeholder: field ? `Type the ${field.name}…` : "Fill the form above…",
      label: "Message",
    };
  }
  return {
    target: null,
    hint: thread
      ? "Continue the conversation. A message starting with { is sent as JSON input."
      : `Starts a new thread on ${graphName || "the selected graph"}. A message starting with { is sent as JSON input.`,
    placeholder: "Write a message…",
    label: "Message",
  };
}

/**
 * What a typed message becomes as graph input: a JSON object as it is; for a graph whose input
 * has `messages`, a user message; otherwise the value of its single text field (see
 * lib/input_form.js), the other fields taken from `form` (the input form, or null).
 * Returns `{input, message}` (`message`: the user message shown at once, or null).
 */
export function inputFor(text, graphName, graph, form) {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const value = JSON.parse(trimmed);
      if (value && typeof value === "object" && !Array.isArray(value)) return { input: value, message: null };
    } catch {
      // not JSON: a message like any other
    }
  }
  if (graph && !takesMessages(graph)) {
    const field = singleTextField(graph.input_schema ?? []);
    if (!field) throw new InputFormError(`${graphName} takes structured input: fill the form above (or type it as JSON).`);
    const rest = form ? form.read({ skip: field.name }) : { value: {} };
    if (rest.error) throw new InputFormError(rest.error);
    return { input: { ...rest.value, [field.name]: typedValue(field, text) }, message: null };
  }
  const message = { role: "user", content: text, id: `user-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` };
  return { input: { messages: [message] }, message };
}
