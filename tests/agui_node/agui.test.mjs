// The unchanged @ag-ui/client HttpAgent against a real `streamhil-server --demo`.
// Run by tests/web/test_agui_client.py: STREAMHIL_URL is the server, STREAMHIL_REPORT a file where
// each scenario records its thread, the interrupt ids the client saw and its final state, which
// the Python side then compares with what streamhil's own /ws surface says about those threads.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { HttpAgent } from "@ag-ui/client";
import { EventSchemas } from "@ag-ui/core/schemas";

const BASE = process.env.STREAMHIL_URL;
const REPORT = process.env.STREAMHIL_REPORT;
const report = {};

after(() => {
  if (REPORT) writeFileSync(REPORT, JSON.stringify(report, null, 1));
});

function agent(graph, options = {}) {
  assert.ok(BASE, "STREAMHIL_URL must name the server");
  return new HttpAgent({ url: `${BASE}/agui/${graph}`, threadId: randomUUID(), ...options });
}

// Runs the agent once; returns the RUN_FINISHED outcome and every event, each checked against
// @ag-ui/core's own schema (the client has verified order and pairing already, or it throws).
async function run(a, parameters = {}) {
  const events = [];
  let outcome;
  await a.runAgent(parameters, {
    onEvent: ({ event }) => {
      events.push(event);
    },
    onRunFinishedEvent: ({ event }) => {
      outcome = event.outcome;
    },
  });
  for (const event of events) {
    const parsed = EventSchemas.safeParse(event);
    assert.ok(parsed.success, `schema: ${JSON.stringify(event)} ${parsed.error}`);
  }
  assert.equal(events[0].type, "RUN_STARTED");
  assert.equal(events.at(-1).type, "RUN_FINISHED");
  return { outcome, events };
}

test("a run that pauses, a plain run refused, then resume to success", async () => {
  const a = agent("approve", { initialState: { request: "order 42" } });
  const first = await run(a);
  assert.equal(first.outcome.type, "interrupt");
  assert.equal(a.pendingInterrupts.length, 1);
  const pending = a.pendingInterrupts[0];
  assert.equal(pending.id, first.outcome.interrupts[0].id);
  assert.equal(pending.reason, "input_required");
  assert.equal(pending.message, "Approve this action?");
  assert.equal(pending.metadata.streamhil.node, "human_approval");
  assert.deepEqual(pending.metadata.streamhil.value.options, ["approve", "reject"]);
  assert.equal(a.state.proposal, "Refund the customer for: order 42");
  const steps = first.events.filter((e) => e.type === "STEP_STARTED").map((e) => e.stepName);
  assert.deepEqual(steps, ["propose", "human_approval"]);

  // the client itself refuses a run that does not answer the pending interrupt
  await assert.rejects(a.runAgent(), /pending interrupt/);
  assert.equal(a.pendingInterrupts.length, 1);

  const second = await run(a, { resume: [{ interruptId: pending.id, status: "resolved", payload: "approve" }] });
  assert.equal(second.outcome.type, "success");
  assert.deepEqual(a.pendingInterrupts, []);
  assert.equal(a.state.decision, "approved");
  assert.equal(a.state.outcome, "done: Refund the customer for: order 42");
  report.approve = { threadId: a.threadId, interruptIds: [[pending.id]], state: a.state, runs: 2 };
});

test("the parallel graph's two interrupts answered in one resume", async () => {
  const a = agent("parallel", { initialState: { doc: "the NDA" } });
  const first = await run(a);
  assert.equal(first.outcome.type, "interrupt");
  const byReviewer = Object.fromEntries(a.pendingInterrupts.map((i) => [i.metadata.streamhil.value.reviewer, i]));
  assert.deepEqual(Object.keys(byReviewer).sort(), ["finance", "legal"]);
  assert.equal(byReviewer.legal.message, "Legal: sign the NDA?");
  const ids = a.pendingInterrupts.map((i) => i.id);
  assert.equal(new Set(ids).size, 2);

  // answering only one is refused by the client (AG-UI: a resume covers every open interrupt)
  await assert.rejects(
    a.runAgent({ resume: [{ interruptId: byReviewer.legal.id, status: "resolved", payload: "signed" }] }),
    /not addressed by resume/,
  );

  const second = await run(a, {
    resume: [
      { interruptId: byReviewer.finance.id, status: "resolved", payload: "10k" },
      { interruptId: byReviewer.legal.id, status: "resolved", payload: "signed" },
    ],
  });
  assert.equal(second.outcome.type, "success");
  assert.equal(a.state.verdict, "legal=signed; finance=10k");
  report.parallel = { threadId: a.threadId, interruptIds: [ids], state: a.state, runs: 2 };
});

test("a tool-review interrupt approved with edited arguments", async () => {
  const a = agent("tool_review", {
    initialMessages: [{ id: randomUUID(), role: "user", content: "book the Ritz" }],
  });
  const first = await run(a);
  assert.equal(first.outcome.type, "interrupt");
  const types = first.events.map((e) => e.type);
  for (const type of ["TEXT_MESSAGE_START", "TEXT_MESSAGE_END", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "MESSAGES_SNAPSHOT"]) {
    assert.ok(types.includes(type), `${type} missing from ${types}`);
  }
  const assistant = a.messages.find((m) => m.role === "assistant" && m.toolCalls?.length);
  assert.ok(assistant, JSON.stringify(a.messages));
  const call = assistant.toolCalls[0];
  assert.equal(call.function.name, "book_hotel");
  assert.deepEqual(JSON.parse(call.function.arguments), { hotel_name: "the Ritz" });

  const [pending] = a.pendingInterrupts;
  assert.equal(pending.reason, "tool_call");
  assert.equal(pending.toolCallId, call.id);
  assert.ok(pending.responseSchema.properties.editedArgs, JSON.stringify(pending.responseSchema));

  const second = await run(a, {
    resume: [{ interruptId: pending.id, status: "resolved", payload: { approved: true, editedArgs: { hotel_name: "Claridge's", nights: 3 } } }],
  });
  assert.equal(second.outcome.type, "success");
  // the resumed run answers the original call; it does not start it again
  assert.ok(!second.events.some((e) => e.type === "TOOL_CALL_START" && e.toolCallId === call.id));
  const result = second.events.find((e) => e.type === "TOOL_CALL_RESULT");
  assert.equal(result.toolCallId, call.id);
  assert.equal(result.content, "Successfully booked 3 night(s) at Claridge's.");
  const tool = a.messages.find((m) => m.role === "tool");
  assert.equal(tool.toolCallId, call.id);
  assert.equal(a.messages.at(-1).content, "All set. Anything else?");
  report.tool_review = { threadId: a.threadId, interruptIds: [[pending.id]], state: a.state, runs: 2 };
});

test("the legacy on_interrupt convention, answered in forwardedProps.command.resume", async () => {
  const legacy = { streamhil: { legacy_interrupts: true } };
  const a = agent("review_edit", { initialState: { text: "streamhil runs human in the loop graphs over one socket" } });
  const asked = [];
  const first = await a.runAgent({ forwardedProps: legacy }, {
    onCustomEvent: ({ event }) => {
      asked.push(event);
    },
  });
  assert.equal(asked.length, 1);
  assert.equal(asked[0].name, "on_interrupt");
  const value = JSON.parse(asked[0].value);
  assert.equal(value.task, "Review and edit the summary");
  assert.deepEqual(a.pendingInterrupts, []); // no outcome: a legacy client resumes with a plain run
  assert.deepEqual(first.newMessages, []);

  await a.runAgent({ forwardedProps: { ...legacy, command: { resume: JSON.stringify({ summary: "Edited by a person" }) } } });
  assert.equal(a.state.summary, "Edited by a person");
  assert.equal(a.state.published, "Published: Edited by a person");
  report.review_edit = { threadId: a.threadId, interruptIds: [[asked[0].metadata.streamhil.id]], state: a.state, runs: 2 };
});
