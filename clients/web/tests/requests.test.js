// Node tests for lib/requests.js: the in-flight window and answer matching, with fake I/O.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ConnectionLostError, UsageError } from "../streamhil_web/lib/protocol.js";
import { RequestTimeoutError, Requests } from "../streamhil_web/lib/requests.js";

function fakeIo({ window = 2, open = true, socket = true } = {}) {
  const io = {
    open, socket, size: window, sent: [], forgotten: [], nextId: 1,
    isOpen: () => io.open,
    canSend: () => io.open && io.socket,
    window: () => io.size,
    send: (type, fields) => {
      if (fields.bad) throw new UsageError("bad fields");
      const id = String(io.nextId++);
      io.sent.push({ id, type, fields });
      return id;
    },
    flush: () => io.socket,
    forget: (id) => io.forgotten.push(id),
  };
  return io;
}

describe("Requests", () => {
  test("at most `window` commands are unanswered; an answer frees a slot", async () => {
    const io = fakeIo({ window: 2 });
    const requests = new Requests(1000, io);
    const answers = [1, 2, 3].map((n) => requests.add("ping", { payload: n }));
    assert.deepEqual(io.sent.map((s) => s.fields.payload), [1, 2]);
    requests.settle("1", (p) => p.resolve("one"));
    assert.deepEqual(io.sent.map((s) => s.fields.payload), [1, 2, 3]);
    requests.settle("2", (p) => p.resolve("two"));
    requests.settle("3", (p) => p.reject(new Error("refused")));
    assert.equal(await answers[0], "one");
    assert.equal(await answers[1], "two");
    await assert.rejects(answers[2], /refused/);
    requests.settle("3", () => assert.fail("settled twice")); // an unknown id is ignored
  });

  test("front jumps the queue; bypass goes out at once even when the window is full", async () => {
    const io = fakeIo({ window: 1 });
    const requests = new Requests(1000, io);
    const answers = [
      requests.add("a", {}),
      requests.add("b", {}),
      requests.add("c", {}, { front: true }),
      requests.add("ping", {}, { bypass: true }),
    ];
    assert.deepEqual(io.sent.map((s) => s.type), ["a", "ping"]);
    requests.settle("1", (p) => p.resolve());
    assert.deepEqual(io.sent.map((s) => s.type), ["a", "ping"]); // the ping holds the one slot
    requests.settle("2", (p) => p.resolve());
    assert.deepEqual(io.sent.map((s) => s.type), ["a", "ping", "c"]);
    requests.failQueued(new Error("closed"));
    requests.failPending(new Error("lost"));
    const outcomes = await Promise.allSettled(answers);
    assert.deepEqual(outcomes.map((o) => o.reason?.message ?? "answered"), ["answered", "closed", "lost", "answered"]);
  });

  test("nothing is sent before the connection is open; queued commands wait for it", async () => {
    const io = fakeIo({ open: false });
    const requests = new Requests(1000, io);
    const answer = requests.add("list_graphs", {});
    assert.equal(io.sent.length, 0);
    io.open = true;
    requests.pump();
    assert.equal(io.sent.length, 1);
    requests.settle("1", (p) => p.resolve({ graphs: [] }));
    assert.deepEqual(await answer, { graphs: [] });
  });

  test("a command with no answer in time fails with RequestTimeoutError and its answer goes stale", async () => {
    const io = fakeIo();
    const requests = new Requests(20, io);
    await assert.rejects(requests.add("ping", {}), (err) => err instanceof RequestTimeoutError && err.code === "timeout" && err.id === "1");
    assert.deepEqual(io.forgotten, ["1"]);
    assert.equal(requests.has("1"), false);
  });

  test("bad fields reject the command alone; a missing socket fails it as lost", async () => {
    const io = fakeIo();
    const requests = new Requests(1000, io);
    await assert.rejects(requests.add("start_run", { bad: true }), UsageError);
    io.socket = false;
    io.open = true;
    const lost = requests.add("ping", {}, { bypass: true });
    await assert.rejects(lost, (err) => err instanceof ConnectionLostError && err.code === "connection_lost");
  });

  test("failPending fails what was sent, failQueued what was not", async () => {
    const io = fakeIo({ window: 1 });
    const requests = new Requests(1000, io);
    const sent = requests.add("a", {});
    const queued = requests.add("b", {});
    requests.failPending(new Error("socket gone"));
    await assert.rejects(sent, /socket gone/);
    requests.failQueued(new Error("closed for good"));
    await assert.rejects(queued, /closed for good/);
    assert.equal(io.sent.length, 1);
  });
  test("onReply and onError run while the answer is handled, before the caller's continuation", async () => {
    const io = fakeIo({ window: 4 });
    const requests = new Requests(1000, io);
    const log = [];
    const ok = requests.add("ping", {}, { onReply: (r) => log.push(`reply ${r}`) }).then((r) => log.push(`then ${r}`));
    const bad = requests.add("ping", {}, { onError: (e) => log.push(`error ${e.message}`) }).catch((e) => log.push(`catch ${e.message}`));
    const hookBug = requests.add("ping", {}, { onReply: () => { throw new Error("hook"); } });
    requests.settle("1", (p) => p.resolve("a"));
    requests.settle("2", (p) => p.reject(new Error("b")));
    requests.settle("3", (p) => p.resolve("c"));
    assert.deepEqual(log, ["reply a", "error b"]); // synchronously, in settle
    await Promise.all([ok, bad]);
    assert.deepEqual(log, ["reply a", "error b", "then a", "catch b"]);
    await assert.rejects(hookBug, /hook/);
  });
});
