// An in-memory stand-in for a streamhil server, speaking the wire protocol over fake sockets.
//
// `server.WebSocket` is a constructor to inject into Connection. Frames are delivered
// asynchronously (one macrotask later), like a real socket; with `batch: true` every frame sent
// before that macrotask runs is delivered in it, one after the other in the same tick (as Node's
// `ws` does with the frames of one TCP read); with `batch: "arrays"` those frames go as one
// message, a JSON array of them, to a client whose hello asked for it (protocol section 1.1;
// the welcome then says `batch: true`, and goes alone). The server keeps a per-thread event
// log with seq numbers, replays from a cursor, answers resync on an epoch change, and lets a test
// drop connections, restart (new epoch), misbehave (duplicate or skip seqs) or go silent.

export class FakeServer {
  constructor({ token = "secret", epoch = "e-1", batch = false, maxFrameBytes = 1048576, announcedMaxFrameBytes = maxFrameBytes } = {}) {
    this.token = token;
    this.epoch = epoch;
    this.batch = batch;
    this.maxFrameBytes = maxFrameBytes; // what it refuses (frame_too_large, with no id)
    this.announcedMaxFrameBytes = announcedMaxFrameBytes; // what its welcome says
    this.threads = new Map(); // id -> {log: [event], status, state}
    this.sockets = new Set();
    this.received = []; // every client frame, parsed, with the socket
    this.accepting = true;
    this.silent = false; // when true, commands get no answer (a dead link)
    this.hold = false; // when true, commands wait in `held` until release()
    this.held = [];
    this.maxHeld = 0;
    this.heldWaiters = [];
    this.waiters = [];
    this.nextRun = 1;
    const server = this;
    this.WebSocket = class FakeWebSocket {
      constructor(url) {
        this.url = url;
        this.readyState = 0;
        this.sent = [];
        this.subscriptions = new Set();
        this.welcomed = false;
        this.onopen = this.onmessage = this.onerror = this.onclose = null;
        server._connect(this);
      }
      send(text) {
        if (this.readyState !== 1) throw new Error("socket not open");
        this.sent.push(text);
        setTimeout(() => server._receive(this, text), 0);
      }
      close(code = 1000, reason = "") {
        if (this.readyState >= 2) return;
        this.readyState = 3;
        server.sockets.delete(this);
        setTimeout(() => this.onclose?.({ code, reason }), 0);
      }
    };
  }

  // --- test controls --------------------------------------------------------------------

  /** Resolve when a client frame matching `pred` has been received (now or later). */
  waitFor(pred) {
    const hit = this.received.find((r) => pred(r.frame, r.socket));
    if (hit) return Promise.resolve(hit.frame);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** Resolve on the next client frame matching `pred` (ignores frames received before). */
  next(pred) {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** Close every open socket from the server side with `code` (1006: the link just died). */
  dropAll(code = 1006, reason = "") {
    for (const ws of [...this.sockets]) {
      ws.readyState = 3;
      this.sockets.delete(ws);
      setTimeout(() => ws.onclose?.({ code, reason }), 0);
    }
  }

  /** A new incarnation of the server: new epoch, and (optionally) empty logs. */
  restart({ epoch, keepLogs = false }) {
    this.dropAll(1012, "restart");
    this.epoch = epoch;
    if (!keepLogs) {
      for (const thread of this.threads.values()) {
        thread.discardedUpTo = thread.log.length;
      }
    }
  }

  thread(id) {
    if (!this.threads.has(id)) {
      this.threads.set(id, { log: [], status: "idle", state: { values: {}, next: [] }, discardedUpTo: 0 });
    }
    return this.threads.get(id);
  }

  /** Append an event to a thread's log and send it to its subscribers. */
  emit(threadId, event, data = {}, { runId = "r-1", ns = [] } = {}) {
    const thread = this.thread(threadId);
    const frame = { type: "event", event, thread_id: threadId, run_id: runId, seq: thread.log.length + 1, ns, data };
    thread.log.push(frame);
    for (const ws of this.sockets) {
      if (ws.subscriptions.has(threadId)) this._send(ws, frame);
    }
    return frame;
  }

  /** Send a raw frame (any object, or text) to every welcomed socket. */
  sendRaw(frameOrText) {
    for (const ws of this.sockets) {
      if (ws.welcomed) this._sendText(ws, typeof frameOrText === "string" ? frameOrText : JSON.stringify(frameOrText));
    }
  }

  // --- protocol -------------------------------------------------------------------------

  _connect(ws) {
    setTimeout(() => {
      if (!this.accepting) {
        ws.readyState = 3;
        ws.onclose?.({ code: 1006, reason: "" });
        return;
      }
      ws.readyState = 1;
      this.sockets.add(ws);
      ws.onopen?.({});
    }, 0);
  }

  _send(ws, frame) {
    this._sendText(ws, JSON.stringify(frame));
  }

  _sendText(ws, text) {
    if (!this.batch) {
      setTimeout(() => {
        if (ws.readyState === 1) ws.onmessage?.({ data: text });
      }, 0);
      return;
    }
    ws.outbox ??= [];
    ws.outbox.push(text);
    if (ws.outbox.length > 1) return; // a delivery is scheduled already
    setTimeout(() => {
      const frames = ws.outbox;
      ws.outbox = [];
      if (ws.batched && frames.length > 1) {
        this.arraysSent = (this.arraysSent ?? 0) + 1;
        if (ws.readyState === 1) ws.onmessage?.({ data: `[${frames.join(",")}]` });
        return;
      }
      for (const data of frames) if (ws.readyState === 1) ws.onmessage?.({ data });
    }, 0);
  }

  _receive(ws, text) {
    if (ws.readyState !== 1) return;
    if (ws.welcomed && new TextEncoder().encode(text).length > this.maxFrameBytes) {
      // as the reference server does with a frame it does not read: no id
      this._error(ws, null, "frame_too_large", `frame is larger than max_frame_bytes=${this.maxFrameBytes}`,
        { details: { max_frame_bytes: this.maxFrameBytes } });
      return;
    }
    const frame = JSON.parse(text);
    this.received.push({ frame, socket: ws });
    for (const w of [...this.waiters]) {
      if (w.pred(frame, ws)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
    if (!ws.welcomed) {
      this._hello(ws, frame);
      return;
    }
    if (this.silent) return;
    if (this.hold) {
      this.held.push({ ws, frame });
      this.maxHeld = Math.max(this.maxHeld, this.held.length);
      for (const w of [...this.heldWaiters]) {
        if (this.held.length >= w.n) {
          this.heldWaiters.splice(this.heldWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
      return;
    }
    this._dispatch(ws, frame);
  }

  /** Resolve once at least `n` commands are held. */
  waitHeld(n) {
    if (this.held.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.heldWaiters.push({ n, resolve }));
  }

  /** Answer every held command. */
  release() {
    const held = this.held;
    this.held = [];
    for (const { ws, frame } of held) this._dispatch(ws, frame);
  }

  _dispatch(ws, frame) {
    const handler = this[`_cmd_${frame.type}`];
    if (!handler) {
      this._error(ws, frame.id ?? null, "unknown_type", `unknown type ${frame.type}`);
      return;
    }
    handler.call(this, ws, frame);
  }

  _hello(ws, frame) {
    if (frame.type !== "hello") {
      this._error(ws, null, "hello_expected", "first frame must be hello");
      this._closeFromServer(ws, 4400, "hello expected");
      return;
    }
    if (frame.token !== this.token) {
      this._error(ws, null, "unauthenticated", "bad token");
      this._closeFromServer(ws, 4401, "unauthenticated");
      return;
    }
    ws.welcomed = true;
    const batched = this.batch === "arrays" && frame.batch === true;
    const welcome = {
      ...(batched ? { batch: true } : {}),
      type: "welcome",
      protocol_version: 1,
      session_id: `s-${this.sockets.size}`,
      epoch: this.epoch,
      identity: "alice",
      capabilities: { stream_modes: [], if_busy: [], features: [] },
      limits: { max_frame_bytes: this.announcedMaxFrameBytes, heartbeat_interval_ms: 20000, max_send_queue: 1000 },
      server: { name: "fake", version: "0" },
      future_field: "ignored by clients",
    };
    if (!batched) {
      this._send(ws, welcome);
      return;
    }
    const text = JSON.stringify(welcome); // alone, ahead of the arrays that follow it
    setTimeout(() => {
      if (ws.readyState === 1) ws.onmessage?.({ data: text });
    }, 0);
    ws.batched = true;
  }

  _closeFromServer(ws, code, reason) {
    setTimeout(() => {
      if (ws.readyState !== 1) return;
      ws.readyState = 3;
      this.sockets.delete(ws);
      ws.onclose?.({ code, reason });
    }, 0);
  }

  _error(ws, id, code, message, extra = {}) {
    this._send(ws, { type: "error", id, code, message, path: extra.path ?? null, details: extra.details ?? null });
  }

  _reply(ws, id, result) {
    this._send(ws, { type: "reply", id, result });
  }

  _cmd_ping(ws, frame) {
    this._reply(ws, frame.id, { payload: frame.payload ?? null });
  }

  _cmd_subscribe(ws, frame) {
    if (!this.threads.has(frame.thread_id)) {
      this._error(ws, frame.id, "not_found", `no thread ${frame.thread_id}`, { details: { resource: "thread" } });
      return;
    }
    if (ws.subscriptions.has(frame.thread_id)) {
      this._error(ws, frame.id, "already_subscribed", "already subscribed");
      return;
    }
    const thread = this.thread(frame.thread_id);
    const head = thread.log.length;
    const base = { thread_id: frame.thread_id, epoch: this.epoch, head_seq: head, status: thread.status };
    ws.subscriptions.add(frame.thread_id);
    if (frame.after === undefined) {
      this._reply(ws, frame.id, { ...base, replayed: 0, resync: false });
      return;
    }
    let reason = null;
    if (frame.epoch !== undefined && frame.epoch !== this.epoch) reason = "epoch_changed";
    else if (frame.after > head) reason = "cursor_ahead";
    else if (frame.after < thread.discardedUpTo) reason = "cursor_too_old";
    if (reason) {
      this._reply(ws, frame.id, { ...base, replayed: 0, resync: true, reason, state: thread.state, interrupts: [] });
      return;
    }
    const replay = thread.log.slice(frame.after);
    this._reply(ws, frame.id, { ...base, replayed: replay.length, resync: false });
    for (const ev of replay) this._send(ws, ev);
  }

  _cmd_unsubscribe(ws, frame) {
    if (!ws.subscriptions.delete(frame.thread_id)) {
      this._error(ws, frame.id, "not_subscribed", "not subscribed");
      return;
    }
    this._reply(ws, frame.id, { thread_id: frame.thread_id });
  }

  _cmd_start_run(ws, frame) {
    const threadId = frame.thread_id ?? `t-${this.threads.size + 1}`;
    const thread = this.thread(threadId);
    const runId = `r-${this.nextRun++}`;
    const seq = thread.log.length;
    ws.subscriptions.add(threadId);
    this._reply(ws, frame.id, { run_id: runId, thread_id: threadId, seq, queued: false });
    thread.status = "running";
    this.emit(threadId, "run_started", { graph: frame.graph, kind: "start", checkpoint_id: null }, { runId });
    this.emit(threadId, "updates", { step: { input: frame.input ?? null } }, { runId });
    thread.status = "idle";
    this.emit(threadId, "run_done", { checkpoint_id: "c-1" }, { runId });
  }

  _cmd_get_state(ws, frame) {
    if (!this.threads.has(frame.thread_id)) {
      this._error(ws, frame.id, "not_found", `no thread ${frame.thread_id}`, { details: { resource: "thread" } });
      return;
    }
    this._reply(ws, frame.id, { state: this.thread(frame.thread_id).state });
  }

  _cmd_watch_threads(ws, frame) {
    if (ws.watchingThreads) {
      this._error(ws, frame.id, "already_subscribed", "already watching");
      return;
    }
    ws.watchingThreads = true;
    const threads = [...this.threads.entries()].map(([id, t]) => ({ thread_id: id, graph: "g", status: t.status, run_id: null,
      head_seq: t.log.length, interrupts: [], created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" }));
    this._reply(ws, frame.id, { threads, counters: { connections: this.sockets.size, runs_active: 0, runs_queued: 0,
      runs_started: this.nextRun - 1, runs_finished: 0, events_total: 0, events_per_second: 0 } });
  }

  _cmd_unwatch_threads(ws, frame) {
    if (!ws.watchingThreads) {
      this._error(ws, frame.id, "not_subscribed", "not watching");
      return;
    }
    ws.watchingThreads = false;
    this._reply(ws, frame.id, {});
  }

  /** Send a notice to every socket that watches its threads. */
  notice(frame) {
    for (const ws of this.sockets) if (ws.watchingThreads) this._send(ws, { type: "notice", ...frame });
  }

  _cmd_resume(ws, frame) {
    this._error(ws, frame.id, "ambiguous_resume", "two pending", {
      path: "value",
      details: { interrupt_ids: ["i-1", "i-2"] },
    });
  }
}
