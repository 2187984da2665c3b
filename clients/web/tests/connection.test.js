// Node tests for lib/connection.js against the in-memory FakeServer (no network, no npm deps).
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { Connection, ConnectionState, RequestTimeoutError } from "../streamhil_web/lib/connection.js";
import {
  AuthError,
  BadRequestError,
  ConflictError,
  ConnectionClosedError,
  ConnectionLostError,
  NotFoundError,
  ProtocolViolationError,
  UsageError,
} from "../streamhil_web/lib/protocol.js";
import { FakeServer } from "./fake_server.js";

const T = { timeout: 5000 };
const open = [];

function connect(server, options = {}) {
  const conn = new Connection("ws://fake/ws", {
    token: server.token,
    WebSocket: server.WebSocket,
    initialDelayMs: 5,
    maxDelayMs: 20,
    ...options,
  });
  open.push(conn);
  return conn;
}

afterEach(() => {
  while (open.length) open.pop().close();
});

/** Resolve with the first payload of `name` for which `pred` holds. */
function once(conn, name, pred = () => true) {
  return new Promise((resolve) => {
    const off = conn.on(name, (payload) => {
      if (pred(payload)) {
        off();
        resolve(payload);
      }
    });
  });
}

/** Collect the seqs a connection delivers for a thread; `until(n)` resolves once n arrived. */
function collect(conn, threadId) {
  const seqs = [];
  const waiters = [];
  conn.on("event", (ev) => {
    if (ev.thread_id !== threadId) return;
    seqs.push(ev.seq);
    for (const w of [...waiters]) {
      if (seqs.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(seqs);
      }
    }
  });
  return {
    seqs,
    until: (n) => (seqs.length >= n ? Promise.resolve(seqs) : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

class MemoryStorage {
  constructor() { this.map = new Map(); }
  getItem(k) { return this.map.has(k) ? this.map.get(k) : null; }
  setItem(k, v) { this.map.set(k, String(v)); }
  removeItem(k) { this.map.delete(k); }
}

describe("handshake", () => {
  test("hello is the first frame and carries the token; welcome resolves connect()", T, async () => {
    const server = new FakeServer({ token: "tok-1" });
    const conn = connect(server);
    const welcome = await conn.connect();
    assert.equal(welcome.epoch, "e-1");
    assert.equal(conn.state, ConnectionState.OPEN);
    const first = server.received[0].frame;
    assert.deepEqual(
      { type: first.type, protocol_version: first.protocol_version, token: first.token },
      { type: "hello", protocol_version: 1, token: "tok-1" },
    );
  });

  test("a rejected token closes for good with AuthError and no reconnect", T, async () => {
    const server = new FakeServer({ token: "right" });
    const conn = connect(server, { token: "wrong" });
    const states = [];
    conn.on("state", (s) => states.push(s.state));
    await assert.rejects(conn.connect(), (err) => err instanceof AuthError && err.code === "unauthenticated");
    assert.equal(conn.state, ConnectionState.CLOSED);
    assert.equal(conn.closeInfo.code, 4401);
    assert.equal(server.received.filter((r) => r.frame.type === "hello").length, 1);
    assert.ok(!states.includes(ConnectionState.RECONNECTING));
    await assert.rejects(conn.ping(1), AuthError); // later commands say why it closed
  });

  test("a server that cannot be reached is retried until it can", T, async () => {
    const server = new FakeServer();
    server.accepting = false;
    const conn = connect(server);
    const retried = once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING && s.attempt >= 2);
    const connected = conn.connect();
    await retried;
    server.accepting = true;
    const welcome = await connected;
    assert.equal(welcome.type, "welcome");
  });

  test("an unreadable server frame closes with a protocol error, no reconnect", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    const closed = once(conn, "state", (s) => s.state === ConnectionState.CLOSED);
    server.sendRaw("this is not json");
    const info = await closed;
    assert.ok(info.error instanceof ProtocolViolationError);
    assert.equal(info.code, 1002);
  });
});

describe("commands and typed errors", () => {
  test("error frames become errors of their family with code, path and details", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    await assert.rejects(conn.getState({ thread_id: "nope" }), (err) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.code, "not_found");
      assert.deepEqual(err.details, { resource: "thread" });
      return true;
    });
    await assert.rejects(conn.resume({ thread_id: "t", value: "yes" }), (err) => {
      assert.ok(err instanceof ConflictError);
      assert.equal(err.code, "ambiguous_resume");
      assert.equal(err.path, "value");
      assert.deepEqual(err.details.interrupt_ids, ["i-1", "i-2"]);
      return true;
    });
    // the connection goes on after errors
    assert.deepEqual(await conn.ping({ n: 1 }), { payload: { n: 1 } });
  });

  test("unknown fields and bad resume forms are refused before anything is sent", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    const before = server.received.length;
    await assert.rejects(conn.request("start_run", { graph: "g", thred_id: "x" }), (err) => err instanceof UsageError && err.path === "thred_id");
    await assert.rejects(conn.request("start_run", {}), (err) => err instanceof UsageError && err.path === "graph");
    await assert.rejects(conn.resume({ thread_id: "t" }), (err) => err instanceof UsageError && err.path === "value");
    await assert.rejects(conn.resume({ thread_id: "t", answers: {} }), UsageError);
    await assert.rejects(conn.resume({ thread_id: "t", answers: { a: 1 }, value: 2 }), UsageError);
    await assert.rejects(conn.request("frobnicate", {}), UsageError);
    assert.equal(server.received.length, before);
  });

  test("a resume with value null sends the null", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    const sent = server.next((f) => f.type === "resume");
    await conn.resume({ thread_id: "t", interrupt_id: "i-1", value: null }).catch(() => {});
    const frame = await sent;
    assert.ok("value" in frame);
    assert.equal(frame.value, null);
  });

  test("a command in flight when the socket drops fails with ConnectionLostError", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    server.silent = true;
    const arrived = server.next((f) => f.type === "ping");
    const pending = conn.ping("x");
    await arrived;
    server.dropAll(1006);
    await assert.rejects(pending, ConnectionLostError);
  });

  test("a command that gets no answer times out", T, async () => {
    const server = new FakeServer();
    const conn = connect(server, { requestTimeoutMs: 30 });
    await conn.connect();
    server.silent = true;
    await assert.rejects(conn.ping("x"), (err) => err instanceof RequestTimeoutError && err.code === "timeout");
  });

  test("a command sent while reconnecting waits and is answered after the reconnect", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    const reconnecting = once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING);
    server.dropAll(4000, "restart");
    await reconnecting;
    assert.deepEqual(await conn.ping("later"), { payload: "later" });
    assert.equal(conn.stats.reconnects, 1);
  });
});

describe("reconnect with replay", () => {
  test("after a drop, the thread is replayed from the last seq: every event once, in order", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server);
    const got = collect(conn, "t-1");
    await conn.watch("t-1", { after: 0 });
    for (let i = 0; i < 3; i++) server.emit("t-1", "updates", { n: i });
    await got.until(3);
    server.accepting = false;
    server.dropAll(1006);
    await once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING);
    server.emit("t-1", "updates", { n: 3 }); // missed while down
    server.emit("t-1", "updates", { n: 4 });
    server.accepting = true;
    const resub = await server.next((f) => f.type === "subscribe");
    assert.deepEqual({ after: resub.after, epoch: resub.epoch }, { after: 3, epoch: "e-1" });
    await got.until(5);
    server.emit("t-1", "run_done", {});
    await got.until(6);
    assert.deepEqual(got.seqs, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(conn.cursor("t-1"), { epoch: "e-1", seq: 6 });
  });

  test("events the server sends twice are delivered once", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server);
    const got = collect(conn, "t-1");
    await conn.watch("t-1", { after: 0 });
    const a = server.emit("t-1", "updates", { n: 1 });
    const b = server.emit("t-1", "updates", { n: 2 });
    server.sendRaw(a); // duplicates, as a buggy or racing server might send them
    server.sendRaw(b);
    server.emit("t-1", "updates", { n: 3 });
    await got.until(3);
    const p = conn.ping("flush"); // everything sent before the ping's answer has arrived
    await p;
    assert.deepEqual(got.seqs, [1, 2, 3]);
    assert.equal(conn.stats.duplicates, 2);
  });

  test("watchThreads: a snapshot, then notices; after a drop it watches again and hands a fresh snapshot", T, async () => {
    const server = new FakeServer();
    server.thread("t-old");
    const conn = connect(server);
    const first = await conn.watchThreads();
    assert.deepEqual(first.threads.map((t) => t.thread_id), ["t-old"]);
    assert.equal(typeof first.counters.connections, "number");
    assert.equal(conn.watchingThreads, true);
    const notice = once(conn, "notice");
    server.notice({ notice: "thread_created", thread: { thread_id: "t-new", graph: "g", status: "running", interrupts: [] } });
    assert.equal((await notice).thread.thread_id, "t-new");
    const snapshot = once(conn, "threads");
    server.thread("t-new");
    server.dropAll();
    const again = await snapshot;
    assert.equal(again.reconnected, true);
    const watches = server.received.filter((r) => r.frame.type === "watch_threads").length;
    assert.equal(watches, 2); // once by the caller, once by the client after the reconnect
    assert.deepEqual(again.threads.map((t) => t.thread_id).sort(), ["t-new", "t-old"]);
    const counters = once(conn, "notice", (n) => n.notice === "counters");
    server.notice({ notice: "counters", counters: { connections: 1 } });
    assert.equal((await counters).counters.connections, 1);
    await conn.unwatchThreads();
    let late = 0;
    conn.on("notice", () => { late += 1; });
    server.notice({ notice: "counters", counters: { connections: 2 } });
    await conn.ping("flush");
    assert.equal(late, 0);
  });

  test("a gap in seq makes the client re-subscribe from its cursor and fill the gap", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server);
    const got = collect(conn, "t-1");
    await conn.watch("t-1", { after: 0 });
    server.emit("t-1", "updates", { n: 1 });
    await got.until(1);
    // seq 2 is logged but "lost" on the way: unsubscribe the socket for one event
    const [ws] = server.sockets;
    ws.subscriptions.delete("t-1");
    server.emit("t-1", "updates", { n: 2 });
    ws.subscriptions.add("t-1");
    const resub = server.next((f) => f.type === "subscribe");
    server.emit("t-1", "updates", { n: 3 });
    assert.equal((await resub).after, 1);
    await got.until(3);
    assert.deepEqual(got.seqs, [1, 2, 3]);
    assert.equal(conn.stats.gaps, 1);
  });

  test("a new server epoch gives a resync with the current state, then live events", T, async () => {
    const server = new FakeServer({ epoch: "e-1" });
    server.thread("t-1").state = { values: { answer: 42 }, next: [] };
    const conn = connect(server);
    const got = collect(conn, "t-1");
    await conn.watch("t-1", { after: 0 });
    server.emit("t-1", "updates", { n: 1 });
    server.emit("t-1", "updates", { n: 2 });
    await got.until(2);
    const resync = once(conn, "resync");
    server.restart({ epoch: "e-2" });
    const info = await resync;
    assert.equal(info.reason, "epoch_changed");
    assert.deepEqual(info.state.values, { answer: 42 });
    assert.deepEqual(conn.cursor("t-1"), { epoch: "e-2", seq: 2 });
    server.emit("t-1", "run_started", {});
    await got.until(3);
    assert.deepEqual(got.seqs, [1, 2, 3]);
  });

  test("start_run watches the thread from the reply's seq, and the iterator ends at the terminal event", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await conn.connect();
    const iter = [];
    const result = await conn.startRun({ graph: "g", input: { q: 1 } });
    const it = conn.events(result.thread_id, { untilTerminal: true });
    for await (const ev of it) iter.push(ev.event);
    assert.deepEqual(iter, ["run_started", "updates", "run_done"]);
    assert.deepEqual(conn.cursor(result.thread_id), { epoch: "e-1", seq: 3 });
  });

  test("the iterator fails when the connection closes for good", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server);
    await conn.watch("t-1");
    const it = conn.events("t-1");
    const next = it.next();
    conn.close();
    await assert.rejects(next, ConnectionClosedError);
  });

  test("with storage, a new Connection (a page reload) re-subscribes from the stored cursor", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const storage = new MemoryStorage();
    const first = connect(server, { storage, storageKey: "chat" });
    const got1 = collect(first, "t-1");
    await first.watch("t-1", { after: 0 });
    server.emit("t-1", "updates", { n: 1 });
    server.emit("t-1", "updates", { n: 2 });
    await got1.until(2);
    first.close(); // the page goes away
    server.emit("t-1", "updates", { n: 3 });

    const second = connect(server, { storage, storageKey: "chat" });
    assert.deepEqual(second.watched(), ["t-1"]);
    const got2 = collect(second, "t-1");
    const resub = server.next((f, ws) => f.type === "subscribe" && !first._ws);
    await second.connect();
    assert.equal((await resub).after, 2);
    await got2.until(1);
    server.emit("t-1", "run_done", {});
    await got2.until(2);
    assert.deepEqual(got2.seqs, [3, 4]);
  });

  test("unwatch forgets the thread and its stored cursor", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const storage = new MemoryStorage();
    const conn = connect(server, { storage, storageKey: "k" });
    await conn.watch("t-1", { after: 0 });
    await conn.unwatch("t-1");
    assert.deepEqual(conn.watched(), []);
    assert.equal(storage.getItem("k.cursor.t-1"), null);
    assert.deepEqual(JSON.parse(storage.getItem("k.watched")), []);
  });

  test("watching an unknown thread fails with NotFoundError and leaves nothing watched", T, async () => {
    const server = new FakeServer();
    const conn = connect(server);
    await assert.rejects(conn.watch("ghost"), NotFoundError);
    assert.deepEqual(conn.watched(), []);
  });
});

for (const batch of [true, "arrays"]) describe(batch === true ? "frames delivered in one tick (Node's ws)" : "frames batched in one message (protocol section 1.1)", () => {
  // The FakeServer with `batch: true` delivers every frame it sent since the last delivery in one
  // macrotask, one onmessage after the other, as `ws` does with the frames of one TCP read: the
  // reply and the events after it reach the client before any promise continuation runs. With
  // `batch: "arrays"` it sends them as one message, a JSON array, which the client asked for.

  test("an iterator made right after await startRun gets the run's events that came with the reply", T, async () => {
    const server = new FakeServer({ batch });
    const conn = connect(server);
    await conn.connect();
    for (let i = 0; i < 3; i++) {
      const result = await conn.startRun({ graph: "g", input: { i } });
      const got = [];
      for await (const ev of conn.events(result.thread_id, { untilTerminal: true })) got.push([ev.event, ev.seq]);
      assert.deepEqual(got, [["run_started", 1], ["updates", 2], ["run_done", 3]]);
      assert.deepEqual(conn.cursor(result.thread_id), { epoch: "e-1", seq: 3 });
    }
    assert.deepEqual(conn.stats, { duplicates: 0, gaps: 0, resyncs: 0, reconnects: 0, events: 9 });
    assert.equal(conn.welcome.batch, batch === "arrays" ? true : undefined);
    if (batch === "arrays") assert.ok(server.arraysSent > 0); // the reply and the events went together
  });

  test("on('event') gets the events that come in the same tick as the start_run reply", T, async () => {
    const server = new FakeServer({ batch });
    const conn = connect(server);
    await conn.connect();
    const seen = [];
    conn.on("event", (ev) => seen.push(ev.seq));
    await conn.startRun({ graph: "g", input: {} });
    await conn.ping("flush"); // the events were sent before the ping's answer
    assert.deepEqual(seen, [1, 2, 3]);
  });

  test("a resume on a watched thread: an iterator made after the await gets the run's events", T, async () => {
    const server = new FakeServer({ batch });
    server.thread("t-1");
    server._cmd_resume = (ws, frame) => {
      const seq = server.thread("t-1").log.length;
      server._reply(ws, frame.id, { run_id: "r-9", thread_id: "t-1", seq, queued: false });
      server.emit("t-1", "run_started", { kind: "resume" }, { runId: "r-9" });
      server.emit("t-1", "run_done", {}, { runId: "r-9" });
    };
    const conn = connect(server);
    await conn.watch("t-1", { after: 0 });
    await conn.resume({ thread_id: "t-1", value: 1 });
    const got = [];
    for await (const ev of conn.events("t-1", { untilTerminal: true })) got.push(ev.seq);
    assert.deepEqual(got, [1, 2]);
  });

  test("watch(after): the replay that comes with the subscribe reply reaches an iterator made after the await", T, async () => {
    const server = new FakeServer({ batch });
    server.thread("t-1");
    server.emit("t-1", "run_started", {});
    server.emit("t-1", "run_done", {});
    const conn = connect(server);
    await conn.watch("t-1", { after: 0 });
    const got = [];
    for await (const ev of conn.events("t-1", { untilTerminal: true })) got.push(ev.seq);
    assert.deepEqual(got, [1, 2]);
  });

  test("a gap: the replay that comes with the re-subscribe reply is delivered, once and in order", T, async () => {
    const server = new FakeServer({ batch });
    server.thread("t-1");
    const conn = connect(server);
    const got = collect(conn, "t-1");
    await conn.watch("t-1", { after: 0 });
    const it = conn.events("t-1", { untilTerminal: true });
    server.emit("t-1", "updates", { n: 1 });
    await got.until(1);
    const [ws] = server.sockets;
    ws.subscriptions.delete("t-1"); // seq 2 is logged but lost on the way
    server.emit("t-1", "updates", { n: 2 });
    ws.subscriptions.add("t-1");
    server.emit("t-1", "updates", { n: 3 }); // the gap: the client re-subscribes from seq 1
    server.emit("t-1", "updates", { n: 4 }); // same tick: dropped, the replay brings it
    await server.next((f) => f.type === "subscribe");
    server.emit("t-1", "run_done", {});
    const seqs = [];
    for await (const ev of it) seqs.push(ev.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
    assert.deepEqual(got.seqs, [1, 2, 3, 4, 5]);
    assert.equal(conn.stats.gaps, 1);
  });

  test("a client that does not ask gets no arrays", T, async () => {
    const server = new FakeServer({ batch });
    const conn = connect(server, { batch: false });
    await conn.connect();
    const result = await conn.startRun({ graph: "g", input: {} });
    const got = [];
    for await (const ev of conn.events(result.thread_id, { untilTerminal: true })) got.push(ev.seq);
    assert.deepEqual(got, [1, 2, 3]);
    assert.equal(conn.welcome.batch, undefined);
    assert.equal(server.arraysSent ?? 0, 0);
  });
});

describe("frame size", () => {
  test("a command larger than the welcome's max_frame_bytes is refused at once, not sent, and frees its slot", T, async () => {
    const server = new FakeServer({ maxFrameBytes: 2000 });
    const conn = connect(server, { maxInFlight: 1 });
    await conn.connect();
    const started = Date.now();
    const err = await conn.startRun({ graph: "g", input: { text: "é".repeat(1500) } }).catch((e) => e); // 3000 bytes of UTF-8
    assert.ok(err instanceof BadRequestError, String(err));
    assert.equal(err.code, "frame_too_large");
    assert.equal(err.details.max_frame_bytes, 2000);
    assert.ok(err.details.frame_bytes > 3000);
    assert.ok(Date.now() - started < 1000);
    assert.equal(server.received.filter((r) => r.frame.type === "start_run").length, 0);
    assert.deepEqual(await conn.ping("next"), { payload: "next" }); // the window (of 1) is free
  });

  test("a frame exactly at the limit is sent; one byte more is refused", T, async () => {
    const server = new FakeServer({ maxFrameBytes: 200 });
    const conn = connect(server);
    await conn.connect();
    const payload = "a".repeat(200 - JSON.stringify({ type: "ping", id: "1", payload: "" }).length);
    assert.deepEqual(await conn.ping(payload), { payload }); // command 1: exactly 200 bytes
    await assert.rejects(conn.ping(`${payload}a`), (e) => e.code === "frame_too_large"); // command 2: 201
  });

  test("an id-less frame_too_large fails the largest command waiting for its answer, at once", T, async () => {
    const server = new FakeServer({ maxFrameBytes: 2000, announcedMaxFrameBytes: 100000 });
    const conn = connect(server, { maxInFlight: 2 });
    await conn.connect();
    server.hold = true;
    const small = conn.ping("small");
    const big = conn.ping("x".repeat(5000)).catch((e) => e);
    await server.waitHeld(1); // the small one is held; the big one was refused with no id
    const err = await big;
    assert.ok(err instanceof BadRequestError, String(err));
    assert.equal(err.code, "frame_too_large");
    server.hold = false;
    server.release();
    assert.deepEqual(await small, { payload: "small" });
    assert.deepEqual(await conn.ping("after"), { payload: "after" });
  });
});

describe("flow control", () => {
  test("no more than maxInFlight commands are unanswered at once; the rest wait their turn", T, async () => {
    const server = new FakeServer();
    const conn = connect(server, { maxInFlight: 4 });
    await conn.connect();
    server.hold = true;
    const all = Promise.all(Array.from({ length: 18 }, (_, i) => conn.ping(i)));
    let answered = 0;
    while (answered < 18) {
      await server.waitHeld(Math.min(4, 18 - answered));
      answered += server.held.length;
      server.release();
    }
    const results = await all;
    assert.deepEqual(results.map((r) => r.payload), Array.from({ length: 18 }, (_, i) => i));
    assert.equal(server.maxHeld, 4);
  });

  test("commands not yet sent when the socket drops are sent after the reconnect, after the re-subscribes", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server, { maxInFlight: 1 });
    await conn.watch("t-1", { after: 0 });
    server.hold = true;
    const first = conn.ping("sent");
    const second = conn.ping("queued");
    await server.waitHeld(1);
    server.hold = false;
    server.held = [];
    server.dropAll(1006);
    await assert.rejects(first, ConnectionLostError); // it was sent: it may have been applied
    const order = [];
    const seen = server.next((f) => { if (f.type !== "hello") order.push(f.type); return f.type === "ping"; });
    assert.deepEqual(await second, { payload: "queued" });
    await seen;
    assert.deepEqual(order, ["subscribe", "ping"]);
  });
});

describe("no reconnect storm", () => {
  test("connections closed with 4008 before their re-subscribes are answered back off more each time", T, async () => {
    const server = new FakeServer();
    server.thread("t-1");
    const conn = connect(server, { initialDelayMs: 1, maxDelayMs: 1000 });
    await conn.watch("t-1", { after: 0 });
    const attempts = [];
    conn.on("state", (s) => {
      if (s.state === ConnectionState.RECONNECTING && s.retryInMs !== undefined) attempts.push(s.attempt);
    });
    server.dropAll(4008, "slow consumer");
    for (let i = 0; i < 3; i++) {
      await server.next((f) => f.type === "subscribe"); // the re-subscribe arrives...
      server.dropAll(4008, "slow consumer"); // ...and the server closes again before answering
    }
    await once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING && s.attempt === 4);
    assert.deepEqual(attempts, [1, 2, 3, 4]); // one growing series, not a restart at 1 each time
  });
});

describe("heartbeat", () => {
  test("a server that stops answering is abandoned and the client reconnects", T, async () => {
    const server = new FakeServer();
    const conn = connect(server, { heartbeatIntervalMs: 20 });
    await conn.connect();
    server.silent = true;
    await server.next((f) => f.type === "ping");
    const reconnecting = once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING);
    server.silent = false;
    // the ping above is never answered: the client gives up on this socket
    const info = await reconnecting;
    assert.match(info.reason, /heartbeat/);
    await once(conn, "state", (s) => s.state === ConnectionState.OPEN);
  });

  test("checkLink pings at once and drops a socket that does not answer in time", T, async () => {
    const server = new FakeServer();
    const conn = connect(server); // the welcome's interval (20 s): only checkLink can be this quick
    await conn.connect();
    let ping = server.next((f) => f.type === "ping");
    conn.checkLink(50);
    await ping;
    await new Promise((resolve) => setTimeout(resolve, 100)); // past the probe's time: it was answered
    assert.equal(conn.state, ConnectionState.OPEN);
    server.silent = true;
    const reconnecting = once(conn, "state", (s) => s.state === ConnectionState.RECONNECTING);
    ping = server.next((f) => f.type === "ping");
    conn.checkLink(50);
    await ping;
    server.silent = false;
    assert.match((await reconnecting).reason, /probe/);
    await once(conn, "state", (s) => s.state === ConnectionState.OPEN);
  });
});
