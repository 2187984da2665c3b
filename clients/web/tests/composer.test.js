// Node tests for chat/composer.js: what the message box says, and what a typed message becomes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { composerPrompt, inputFor, takesMessages } from "../streamhil_web/chat/composer.js";
import { InputFormError } from "../streamhil_web/lib/input_form.js";

const CHAT = { name: "chat", input_keys: ["messages"] };
const FORM = { name: "publish", input_keys: ["topic", "words"], input_schema: [{ name: "topic", type: "string", required: true }] };
const STRUCTURED = { name: "order", input_keys: ["items", "qty"], input_schema: [{ name: "qty", type: "integer" }, { name: "items", type: "array" }] };

describe("composerPrompt", () => {
  test("a pending interrupt: the message answers the first, and says how many wait", () => {
    const pending = [{ id: "i1", node: "ask", value: { question: "Ship it?" } }, { id: "i2", node: "ask", value: "Sure?" }];
    const prompt = composerPrompt({ thread: "t-1", graphName: "chat", graph: CHAT, status: "paused", pending });
    assert.equal(prompt.target, "i1");
    assert.match(prompt.hint, /^Your message answers node ask \(“Ship it\?”\) \(1 of 2;/);
    assert.equal(prompt.label, "Answer");
  });

  test("running, continuing, and starting a new thread", () => {
    assert.equal(composerPrompt({ thread: "t-1", graphName: "chat", graph: CHAT, status: "running", pending: [] }).hint, "The graph is running…");
    assert.match(composerPrompt({ thread: "t-1", graphName: "chat", graph: CHAT, status: "idle", pending: [] }).hint, /^Continue the conversation/);
    const fresh = composerPrompt({ thread: null, graphName: "chat", graph: CHAT, status: null, pending: [] });
    assert.equal(fresh.target, null);
    assert.match(fresh.hint, /^Starts a new thread on chat\./);
  });

  test("a new thread on a graph whose input is not a chat names its text field, or the form", () => {
    const field = composerPrompt({ thread: null, graphName: "publish", graph: FORM, status: null, pending: [] });
    assert.match(field.hint, /your message is its topic/);
    assert.equal(field.placeholder, "Type the topic…");
    const form = composerPrompt({ thread: null, graphName: "order", graph: STRUCTURED, status: null, pending: [] });
    assert.equal(form.placeholder, "Fill the form above…");
  });
});

describe("inputFor", () => {
  test("JSON objects go as they are; other text to a chat becomes a user message", () => {
    assert.deepEqual(inputFor(' {"topic": "x"} ', "publish", FORM, null), { input: { topic: "x" }, message: null });
    const { input, message } = inputFor("[1, 2]", "chat", CHAT, null);
    assert.equal(message.role, "user");
    assert.equal(message.content, "[1, 2]");
    assert.deepEqual(input, { messages: [message] });
    assert.equal(takesMessages({}), true); // no input keys known: a chat
  });

  test("a graph with one text field takes the text there; one without it asks for the form", () => {
    assert.deepEqual(inputFor("rivers", "publish", FORM, null), { input: { topic: "rivers" }, message: null });
    assert.throws(() => inputFor("two please", "order", STRUCTURED, null), InputFormError);
  });
});
