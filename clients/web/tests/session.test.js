// Node tests for lib/session.js: the client's side of a connection as a pure state machine.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { BadRequestError, UsageError } from "../streamhil_web/lib/protocol.js";
import { ClientSession, Received } from "../streamhil_web/lib/session.js";

const WELCOME = JSON.stringify({
  type: "welcome", protocol_version: 1, session_id: "s-1", epoch: "e-1", identity: null,
  limits: { max_frame_bytes: 1048576, heartbeat_interval_ms: 20000, max_send_queue: 1000 },
  server: { name: "streamhil", version: "0.1.0" },
});

function opened() {
  const session = new ClientSession({ token: "tok" });
  session.dataToSend();
  assert.equal(session.receive(WELCOME).kind, Received.WELCOME);
  return session;
}

describe("ClientSession", () => {
  test("queues the hello first, with the token", () => {
    const session = new ClientSession({ token: "tok", client: { name: "t" } });
    const [hello, ...rest] = session.dataToSend();
    assert.deepEqual(JSON.parse(hello), { type: "hello", protocol_version: 1, token: "tok", client: { name: "t" } });
    assert.deepEqual(rest, []);
    assert.deepEqual(session.dataToSend(), []); // each frame is handed out once
    assert.equal(session.open, false);
  });

  test("numbers commands and matches their answers", () => {
    const session = opened();
    const a = session.send("ping", { payload: 1 });
    const b = session.send("list_graphs");
    assert.notEqual(a, b);
    assert.equal(session.inFlight, 2);
    assert.deepEqual(session.dataToSend().map((t) => JSON.parse(t).id), [a, b]);
    const reply = session.receive(JSON.stringify({ type: "reply", id: b, result: { graphs: [] } }));
    assert.equal(reply.kind, Received.REPLY);
    assert.equal(reply.id, b);
    assert.deepEqual(reply.frame.result, { graphs: [] });
    const error = session.receive(JSON.stringify({ type: "error", id: a, code: "invalid_field", message: "m", path: null, details: null }));
    assert.equal(error.kind, Received.ERROR);
    assert.equal(error.id, a);
    assert.equal(session.inFlight, 0);
  });

  test("a command that does not fit is refused before anything is queued", () => {
    const session = opened();
    assert.throws(() => session.send("ping", { colour: "red" }), UsageError);
    assert.throws(() => session.send("launch_rocket"), UsageError);
    assert.equal(session.inFlight, 0);
    assert.deepEqual(session.dataToSend(), []);
  });

  test("an answer to a forgotten or unknown command is stale, not an error", () => {
    const session = opened();
    const id = session.send("ping");
    session.forget(id);
    assert.equal(session.receive(JSON.stringify({ type: "reply", id, result: {} })).kind, Received.STALE);
    assert.equal(session.receive(JSON.stringify({ type: "reply", id: "999", result: {} })).kind, Received.STALE);
  });

  test("connection-level errors, events and notices are passed on", () => {
    const session = opened();
    const closing = session.receive(JSON.stringify({ type: "error", id: null, code: "slow_consumer", message: "m", path: null, details: null }));
    assert.equal(closing.kind, Received.ERROR);
    assert.equal(closing.id, null);
    const event = session.receive(JSON.stringify({ type: "event", event: "run_started", thread_id: "t", run_id: "r", seq: 1, ns: [], data: {} }));
    assert.equal(event.kind, Received.EVENT);
    const notice = session.receive(JSON.stringify({ type: "notice", notice: "counters", counters: {} }));
    assert.equal(notice.kind, Received.NOTICE);
  });

  test("a command larger than the welcome's max_frame_bytes is refused before anything is queued", () => {
    const session = opened();
    const big = "é".repeat(600_000); // 1.2 MB of UTF-8 in 600 000 UTF-16 units
    assert.throws(() => session.send("ping", { payload: big }), (err) =>
      err instanceof BadRequestError && err.code === "frame_too_large"
      && err.details.max_frame_bytes === 1048576 && err.details.frame_bytes > 1_200_000);
    assert.equal(session.inFlight, 0);
    assert.deepEqual(session.dataToSend(), []);
  });

  test("an id-less frame_too_large is the answer to the largest command waiting", () => {
    const session = opened();
    const small = session.send("ping", { payload: "a" });
    const large = session.send("ping", { payload: "b".repeat(1000) });
    const error = session.receive(JSON.stringify({ type: "error", id: null, code: "frame_too_large", message: "m", path: null, details: null }));
    assert.deepEqual([error.kind, error.id], [Received.ERROR, large]);
    assert.equal(session.inFlight, 1);
    const other = session.receive(JSON.stringify({ type: "error", id: null, code: "slow_consumer", message: "m", path: null, details: null }));
    assert.equal(other.id, null); // other connection-level errors name no command
    assert.equal(session.receive(JSON.stringify({ type: "reply", id: small, result: {} })).kind, Received.REPLY);
  });

  test("protocol violations are named", () => {
    for (const [text, message] of [
      [null, /binary/],
      ["{not json", /not JSON/],
      ["[1]", /not a JSON object/],
      [JSON.stringify({ type: "teleport" }), /teleport/],
    ]) {
      const got = opened().receive(text);
      assert.equal(got.kind, Received.VIOLATION);
      assert.match(got.error.message, message);
      assert.equal(got.error.code, "protocol_error");
    }
    const session = opened();
    assert.equal(session.receive(WELCOME).kind, Received.VIOLATION); // a second welcome
    const early = new ClientSession();
    assert.equal(early.receive(JSON.stringify({ type: "reply", id: "1", result: {} })).kind, Received.VIOLATION);
  });
});

describe("ClientSession: batched messages (protocol section 1.1)", () => {
  const event = (seq, kind = "updates") => JSON.stringify({ type: "event", event: kind, thread_id: "t", run_id: "r", seq, ns: [], data: {} });
  const batch = (...frames) => `[${frames.join(",")}]`;

  function negotiated({ ask = true, agree = true } = {}) {
    const session = new ClientSession({ token: "tok", batch: ask });
    const [hello] = session.dataToSend().map((t) => JSON.parse(t));
    assert.equal(hello.batch, ask ? true : undefined);
    const welcome = JSON.parse(WELCOME);
    if (agree) welcome.batch = true;
    const [got] = session.receiveMessage(JSON.stringify(welcome));
    return { session, got };
  }

  test("the hello asks only when told to; batched only when the welcome agrees", () => {
    assert.deepEqual(JSON.parse(new ClientSession().dataToSend()[0]), { type: "hello", protocol_version: 1 });
    assert.equal(negotiated().session.batched, true);
    assert.equal(negotiated({ agree: false }).session.batched, false);
    const unasked = negotiated({ ask: false });
    assert.equal(unasked.got.kind, Received.VIOLATION);
    assert.match(unasked.got.error.message, /did not ask/);
  });

  test("a batch's frames are read in order, each as if it came alone", () => {
    const { session } = negotiated();
    const id = session.send("ping", { payload: 1 });
    const got = session.receiveMessage(batch(JSON.stringify({ type: "reply", id, result: { payload: 1 } }), event(1), event(2, "run_done")));
    assert.deepEqual(got.map((r) => r.kind), [Received.REPLY, Received.EVENT, Received.EVENT]);
    assert.deepEqual(got.slice(1).map((r) => r.frame.seq), [1, 2]);
    assert.equal(got[0].id, id);
    assert.equal(session.inFlight, 0);
    assert.deepEqual(session.receiveMessage(event(3)).map((r) => r.frame.seq), [3]); // a lone frame as before
  });

  test("an array that was not negotiated, an empty one, and a bad element are violations", () => {
    const plain = negotiated({ agree: false }).session;
    const [refused] = plain.receiveMessage(batch(event(1), event(2)));
    assert.equal(refused.kind, Received.VIOLATION);
    assert.match(refused.error.message, /did not negotiate/);
    const [empty] = negotiated().session.receiveMessage("[]");
    assert.match(empty.error.message, /empty batch/);
    const got = negotiated().session.receiveMessage(batch(event(1), "7", event(2)));
    assert.deepEqual(got.map((r) => r.kind), [Received.EVENT, Received.VIOLATION]); // stops at the bad one
    const withWelcome = negotiated().session.receiveMessage(batch(event(1), WELCOME)); // a second welcome
    assert.deepEqual(withWelcome.map((r) => r.kind), [Received.EVENT, Received.VIOLATION]);
  });
});
