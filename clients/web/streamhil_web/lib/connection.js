// The streamhil JavaScript client: one WebSocket, many threads, reconnect with replay.
// This module owns the socket and its supervision (open, handshake, close, backoff, reconnect)
// and the command API; it builds on lib/session.js (frames in and out), lib/requests.js (the
// in-flight window and answer matching), lib/threads.js (cursors and their persistence) and
// lib/heartbeat.js.
//
// Runs in browsers and in Node (pass a WebSocket constructor with `WebSocket:` where there is no
// global one). Every watched thread keeps a cursor `{epoch, seq}`: events at or below it are
// dropped as duplicates, a gap triggers a re-subscribe, and after a reconnect each thread is
// subscribed again from its cursor so the server replays exactly what was missed. With
// `storage` (e.g. sessionStorage) the cursors and the watched set survive a page reload.

import {
  CloseCode,
  ConnectionClosedError,
  ConnectionLostError,
  MessageType,
  UsageError,
  buildCommand,
  errorFromFrame,
  isRecoverable,
} from "./protocol.js";
import { EventIterator } from "./event_iterator.js";
import { Heartbeat } from "./heartbeat.js";
import { Requests } from "./requests.js";
import { ClientSession, Received } from "./session.js";
import { ThreadTable, Verdict, verdict } from "./threads.js";

export { RequestTimeoutError } from "./requests.js";

export const ConnectionState = Object.freeze({
  IDLE: "idle",
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

const DEFAULTS = {
  token: null,
  storage: null,
  storageKey: "streamhil",
  initialDelayMs: 250,
  maxDelayMs: 5000,
  requestTimeoutMs: 30000,
  maxInFlight: null, // null: max_send_queue / 16 from welcome (at most 64)
  heartbeatIntervalMs: null, // null: use welcome.limits.heartbeat_interval_ms
  client: { name: "streamhil-js", version: "0.1.0" },
  batch: true, // ask for batched messages: frames the server has ready together arrive as one
  random: Math.random,
};

export class Connection {
  /**
   * @param {string} url  the server's WebSocket URL (e.g. ws://host/ws)
   * @param {object} [options]  token, WebSocket, storage, storageKey, initialDelayMs,
   *   maxDelayMs, requestTimeoutMs, heartbeatIntervalMs, maxInFlight, client, batch
   */
  constructor(url, options = {}) {
    const unknown = Object.keys(options).filter((k) => !(k in DEFAULTS) && k !== "WebSocket");
    if (unknown.length) throw new UsageError(`unknown Connection option ${JSON.stringify(unknown[0])}`);
    this.url = url;
    this.options = { ...DEFAULTS, ...options };
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.WebSocket !== "function") {
      throw new UsageError("no WebSocket constructor: pass one with the WebSocket option");
    }
    this.state = ConnectionState.IDLE;
    this.welcome = null;
    this.epoch = null;
    this.closeInfo = null; // {code, reason, error} of the last close
    this.attempt = 0;
    this.stats = { duplicates: 0, gaps: 0, resyncs: 0, reconnects: 0, events: 0 };
    this._ws = null;
    this._session = null; // the current socket's ClientSession (frames in and out)
    this._listeners = new Map(); // name -> Set(fn)
    this._openWaiters = [];
    this._reconnectTimer = null;
    this._lastSent = 0;
    this._handshakeError = null;
    this._watchingThreads = false;
    this._requests = new Requests(this.options.requestTimeoutMs, {
      isOpen: () => this.state === ConnectionState.OPEN,
      canSend: () => this.state === ConnectionState.OPEN && this._ws !== null,
      window: () => this._window(),
      send: (type, fields) => this._session.send(type, fields),
      flush: () => this._flush(),
      forget: (id) => this._session?.forget(id),
    });
    this._threads = new ThreadTable(this.options.storage, this.options.storageKey);
    this._threads.restore();
    this._heartbeat = new Heartbeat({
      isOpen: () => this.state === ConnectionState.OPEN,
      lastSent: () => this._lastSent,
      ping: () => this._send(MessageType.PING, { payload: null }, { bypass: true }).catch(() => {}),
      abandon: (reason) => this._abandon(reason),
    });
  }

  // --- events for the application -------------------------------------------------------

  /**
   * Listen to `state` ({state, code, reason, error, retryInMs}), `event` (an event frame),
   * `resync` ({thread_id, reason, state, interrupts, status, head_seq}), `welcome`, `error`
   * (error frames that name no command), and after `watchThreads()`: `notice` (a notice frame)
   * and `threads` ({threads, counters, reconnected}: the snapshot to start over from after a
   * reconnect). Returns a function that removes the listener.
   */
  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this._listeners.get(name)?.delete(fn);
  }

  _emit(name, payload) {
    for (const fn of this._listeners.get(name) ?? []) {
      try {
        fn(payload);
      } catch (err) {
        // A listener's bug must not break the connection; report it where it can be seen.
        queueMicrotask(() => { throw err; });
      }
    }
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit("state", { state, ...extra });
  }

  // --- lifecycle --------------------------------------------------------------------------

  /** Open the connection; resolves with the `welcome` frame once the handshake is done. */
  connect() {
    if (this.state === ConnectionState.CLOSED) {
      return Promise.reject(new ConnectionClosedError("connection is closed"));
    }
    if (this.state === ConnectionState.IDLE) this._open();
    return this._whenOpen().then(() => this.welcome);
  }

  /** Close for good: pending commands fail, nothing reconnects. */
  close() {
    if (this.state === ConnectionState.CLOSED) return;
    clearTimeout(this._reconnectTimer);
    this._heartbeat.stop();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      detach(ws);
      try { ws.close(CloseCode.NORMAL, "client closed"); } catch { /* already closed */ }
    }
    const error = new ConnectionClosedError("connection closed by the client");
    this.closeInfo = { code: CloseCode.NORMAL, reason: "client closed", error };
    this._requests.failPending(error);
    this._requests.failQueued(error);
    this._failWaiters(error);
    this._endIterators(error);
    this._setState(ConnectionState.CLOSED, { code: CloseCode.NORMAL, reason: "client closed", error });
  }

  _open() {
    this._setState(this.attempt === 0 ? ConnectionState.CONNECTING : ConnectionState.RECONNECTING, {
      attempt: this.attempt,
    });
    this._handshakeError = null;
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (err) {
      this._onClose(null, `cannot open socket: ${err.message}`);
      return;
    }
    this._ws = ws;
    this._session = new ClientSession({ token: this.options.token, client: this.options.client, batch: this.options.batch });
    ws.onopen = () => this._flush(); // the hello
    ws.onmessage = (msg) => this._onText(typeof msg.data === "string" ? msg.data : null);
    ws.onerror = () => {}; // a close event always follows
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._ws = null;
      this._onClose(ev.code ?? null, ev.reason ?? "");
    };
  }

  _onClose(code, reason) {
    this._heartbeat.stop();
    const wasOpen = this.state === ConnectionState.OPEN;
    const lost = new ConnectionLostError(`connection lost (${code ?? "no close code"}${reason ? `: ${reason}` : ""})`, {
      code: "connection_lost",
    });
    this._requests.failPending(lost);
    for (const thread of this._threads.values()) {
      thread.subscribed = false;
      thread.resubscribing = false;
    }
    if (code !== null && code !== 1006 && !isRecoverable(code)) {
      const error = this._handshakeError ?? new ConnectionClosedError(`connection closed (${code}${reason ? `: ${reason}` : ""})`, {
        code: code === CloseCode.PROTOCOL_ERROR ? "protocol_error" : null,
      });
      this.closeInfo = { code, reason, error };
      this._requests.failQueued(error);
      this._failWaiters(error);
      this._endIterators(error);
      this._setState(ConnectionState.CLOSED, { code, reason, error });
      return;
    }
    const base = Math.min(this.options.maxDelayMs, this.options.initialDelayMs * 2 ** Math.min(this.attempt, 16));
    const delay = Math.round(base * (0.5 + this.options.random() / 2));
    this.attempt += 1;
    if (wasOpen) this.stats.reconnects += 1;
    this.closeInfo = { code, reason, error: lost };
    this._setState(ConnectionState.RECONNECTING, { code, reason, retryInMs: delay, attempt: this.attempt });
    this._reconnectTimer = setTimeout(() => {
      this._reconnectTimer = null;
      if (this.state !== ConnectionState.CLOSED) this._open();
    }, delay);
  }

  /**
   * Check that the open socket still reaches the server (say, when the browser reports it went
   * offline or back online): a ping now, and the socket is dropped and reconnected when no frame
   * arrives within `timeoutMs`.
   */
  checkLink(timeoutMs = 5000) {
    this._heartbeat.probe(timeoutMs);
  }

  /** Drop a socket that looks dead (no heartbeat answer) and reconnect without waiting for TCP. */
  _abandon(reason) {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    detach(ws);
    try { ws.close(CloseCode.NORMAL, reason); } catch { /* ignore */ }
    this._onClose(1006, reason);
  }

  _whenOpen() {
    if (this.state === ConnectionState.OPEN) return Promise.resolve();
    if (this.state === ConnectionState.CLOSED) {
      return Promise.reject(this.closeInfo?.error ?? new ConnectionClosedError("connection is closed"));
    }
    return new Promise((resolve, reject) => this._openWaiters.push({ resolve, reject }));
  }

  _failWaiters(error) {
    const waiters = this._openWaiters;
    this._openWaiters = [];
    for (const w of waiters) w.reject(error);
  }

  // --- frames in --------------------------------------------------------------------------

  _onText(text) {
    const ws = this._ws;
    for (const received of this._session.receiveMessage(text)) {
      this._onFrame(received);
      if (this._ws !== ws) return; // the socket was dropped: the rest of a batch goes with it
    }
    this._heartbeat.alive();
  }

  _onFrame(received) {
    switch (received.kind) {
      case Received.VIOLATION:
        this._violation(received.error);
        return;
      case Received.WELCOME:
        this._onWelcome(received.frame);
        break;
      case Received.REPLY:
        this._requests.settle(received.id, (p) => p.resolve(received.frame.result ?? {}));
        break;
      case Received.ERROR:
        this._onError(received.frame, received.id);
        break;
      case Received.EVENT:
        this._onEvent(received.frame);
        break;
      case Received.NOTICE:
        if (this._watchingThreads) this._emit("notice", received.frame);
        break;
      default: // Received.STALE: the command timed out here already
        break;
    }
  }

  _violation(error) {
    const ws = this._ws;
    this._handshakeError = error;
    if (ws) {
      this._ws = null;
      detach(ws);
      try { ws.close(CloseCode.PROTOCOL_ERROR, "protocol error"); } catch { /* ignore */ }
      this._onClose(CloseCode.PROTOCOL_ERROR, error.message);
    }
  }

  _onWelcome(frame) {
    const epochChanged = this.epoch !== null && this.epoch !== frame.epoch;
    this.welcome = frame;
    this.epoch = frame.epoch;
    this._setState(ConnectionState.OPEN, { epochChanged });
    this._emit("welcome", frame);
    this._heartbeat.start(this.options.heartbeatIntervalMs ?? this.welcome?.limits?.heartbeat_interval_ms);
    // re-subscribe first: ahead of commands queued while the socket was down
    const socket = this._ws;
    const resubscribes = [...this._threads.keys()].reverse().map((threadId) => this._subscribe(threadId, { front: true }));
    // The backoff starts over only once this connection is healthy (every re-subscribe answered):
    // a server that keeps closing new connections (4008) is retried with growing delays, not at once.
    Promise.allSettled(resubscribes).then((results) => {
      if (this._ws === socket && results.every((r) => r.status === "fulfilled")) this.attempt = 0;
    });
    if (this._watchingThreads) {
      // notices are not replayed: watch again and hand the application the fresh snapshot
      this._send(MessageType.WATCH_THREADS, {}, { front: true })
        .then((result) => this._emit("threads", { ...result, reconnected: true }))
        .catch((err) => this._emit("error", err));
    }
    this._requests.pump();
    const waiters = this._openWaiters;
    this._openWaiters = [];
    for (const w of waiters) w.resolve();
  }

  _onError(frame, id) {
    if (id !== null && this._requests.has(id)) {
      this._requests.settle(id, (p) => p.reject(errorFromFrame(frame)));
      return;
    }
    const error = errorFromFrame(frame);
    if (this.state !== ConnectionState.OPEN) this._handshakeError = error;
    this._emit("error", error);
  }

  _onEvent(frame) {
    const thread = this._threads.get(frame.thread_id);
    if (!thread || thread.resubscribing) return; // not watched, or a replay is on its way
    switch (verdict(thread.cursor, this.epoch, frame.seq)) {
      case Verdict.DUPLICATE:
        this.stats.duplicates += 1;
        return;
      case Verdict.GAP:
        this.stats.gaps += 1;
        this._resubscribe(frame.thread_id);
        return;
      default:
        break;
    }
    this._threads.setCursor(frame.thread_id, { epoch: this.epoch, seq: frame.seq });
    this.stats.events += 1;
    this._emit("event", frame);
    for (const it of thread.iterators) it.push(frame);
    thread.backlog?.push(frame);
  }

  // --- frames out -------------------------------------------------------------------------

  /** Write what the session has queued; false when there is no socket to write to. */
  _flush() {
    const ws = this._ws;
    if (!ws || !this._session) return false;
    for (const text of this._session.dataToSend()) ws.send(text);
    this._lastSent = Date.now();
    return true;
  }

  /**
   * Send a command and resolve with its `result`; rejects with the typed error of the server's
   * `error` frame, ConnectionLostError if the socket drops first, RequestTimeoutError after
   * `requestTimeoutMs`. Waits for the connection to be open.
   */
  async request(type, fields = {}) {
    buildCommand(type, "0", fields); // check the fields now, before waiting
    if (this.state === ConnectionState.IDLE) this._open();
    await this._whenOpen();
    const adopts = type === MessageType.START_RUN || type === MessageType.RESUME;
    return this._send(type, fields, adopts ? { onReply: (result) => this._adopt(result) } : {});
  }

  /**
   * Queue a command. At most `maxInFlight` commands are unanswered at once, so that a burst
   * (say, subscribing to a thousand threads) cannot overflow the server's send queue (which would
   * close the socket with 4008). `front` puts it ahead of the queue (re-subscribes after a
   * reconnect); `bypass` sends it at once (heartbeat pings). Commands not yet sent survive a
   * reconnect; sent ones fail with ConnectionLostError. `onReply` / `onError` apply the answer
   * to the client's state before any later frame is handled (see Requests.add).
   */
  _send(type, fields, options) {
    return this._requests.add(type, fields, options);
  }

  _window() {
    const serverMax = this.welcome?.limits?.max_commands_in_flight ?? Infinity;
    const configured = this.options.maxInFlight;
    if (configured) return Math.min(configured, serverMax);
    const queue = this.welcome?.limits?.max_send_queue ?? 1000;
    return Math.max(1, Math.min(64, Math.floor(queue / 16), serverMax));
  }

  // --- commands ---------------------------------------------------------------------------

  /** start_run; the connection then watches the thread (from the reply's seq, as the server does). */
  startRun(fields) { return this.request(MessageType.START_RUN, fields); }

  /** resume; `{thread_id, value}`, `{thread_id, interrupt_id, value}` or `{thread_id, answers}`. */
  resume(fields) { return this.request(MessageType.RESUME, fields); }

  cancel(fields) { return this.request(MessageType.CANCEL, fields); }
  getState(fields) { return this.request(MessageType.GET_STATE, fields); }
  getHistory(fields) { return this.request(MessageType.GET_HISTORY, fields); }
  updateState(fields) { return this.request(MessageType.UPDATE_STATE, fields); }
  listThreads(fields = {}) { return this.request(MessageType.LIST_THREADS, fields); }
  listGraphs() { return this.request(MessageType.LIST_GRAPHS, {}); }

  /**
   * Follow this identity's threads as a whole: resolves with `{threads, counters}`; then
   * `on("notice")` gets each thread created, status change and new counters, and after a
   * reconnect `on("threads")` gets a fresh snapshot (the client watches again by itself).
   */
  async watchThreads() {
    if (this._watchingThreads) {
      this._watchingThreads = false;
      await this.request(MessageType.UNWATCH_THREADS, {}).catch(() => {});
    }
    const result = await this.request(MessageType.WATCH_THREADS, {});
    this._watchingThreads = true;
    return result;
  }

  /** Whether `watchThreads()` is in force (the client renews it after each reconnect). */
  get watchingThreads() {
    return this._watchingThreads;
  }

  /** Stop the notices `watchThreads()` started. */
  async unwatchThreads() {
    if (!this._watchingThreads) return;
    this._watchingThreads = false;
    await this.request(MessageType.UNWATCH_THREADS, {}).catch(() => {});
  }
  ping(payload) { return this.request(MessageType.PING, { payload }); }

  /**
   * A start_run or resume was accepted (run as its reply is handled, before the frames after
   * it): the server subscribed us with the run, so watch the thread from the reply's seq; and
   * keep the run's first events for an iterator made right after the await.
   */
  _adopt(result) {
    const thread = this._threads.get(result.thread_id);
    if (thread && (thread.subscribed || thread.subscribing)) {
      this._keepBacklog(thread);
      return;
    }
    const entry = thread ?? this._threads.add(result.thread_id);
    entry.subscribed = true;
    entry.cursor = { epoch: this.epoch, seq: result.seq };
    this._threads.saveCursor(result.thread_id);
    this._threads.saveWatched();
    this._keepBacklog(entry);
  }

  /**
   * Keep the thread's events delivered from now until the next macrotask, for `events()`
   * iterators made then. The code that awaited a reply runs in a promise continuation, after
   * every frame that arrived in the same tick (Node's `ws` hands over all the frames of one TCP
   * read at once): an iterator it makes "right after the await" gets those events too.
   */
  _keepBacklog(thread) {
    if (thread.backlog) return;
    const backlog = [];
    thread.backlog = backlog;
    setTimeout(() => {
      if (thread.backlog === backlog) thread.backlog = null;
    }, 0);
  }

  /**
   * Watch a thread: its events reach `on("event")` and `events()` iterators, and survive
   * reconnects. `after` (a seq) replays from there; without it the stored cursor is used, or
   * live events only. Resolves with the subscribe result (which may be a resync).
   */
  async watch(threadId, { after, epoch } = {}) {
    if (typeof threadId !== "string" || !threadId) throw new UsageError("watch needs a thread id", { path: "thread_id" });
    let thread = this._threads.get(threadId);
    if (thread && after === undefined) {
      if (thread.subscribed) return { thread_id: threadId, already: true };
    } else {
      if (thread && (thread.subscribed || thread.subscribing)) {
        thread.resubscribing = true; // drop events until the new subscription's reply
        await thread.subscribing?.catch(() => {});
        await this._unsubscribeQuietly(threadId);
      }
      thread = this._threads.get(threadId) ?? this._threads.add(threadId);
      if (after !== undefined) thread.cursor = { epoch: epoch ?? this.epoch, seq: after };
      this._threads.saveCursor(threadId);
    }
    this._threads.saveWatched();
    if (this.state === ConnectionState.IDLE) this._open();
    await this._whenOpen();
    return this._subscribe(threadId);
  }

  /** Stop watching a thread and forget its cursor. */
  async unwatch(threadId) {
    const thread = this._threads.get(threadId);
    if (!thread) return;
    const wasSubscribed = thread.subscribed;
    this._threads.forget(threadId);
    if (wasSubscribed && this.state === ConnectionState.OPEN) {
      await this._send(MessageType.UNSUBSCRIBE, { thread_id: threadId }).catch(() => {});
    }
  }

  /** Whether the thread is watched, and its cursor `{epoch, seq}` (or null). */
  cursor(threadId) {
    return this._threads.get(threadId)?.cursor ?? null;
  }

  watched() {
    return [...this._threads.keys()];
  }

  /** Subscribe from the thread's cursor; one subscribe in flight per thread. */
  _subscribe(threadId, { front = false } = {}) {
    const thread = this._threads.get(threadId);
    if (!thread) return Promise.resolve(null);
    if (thread.subscribing) return thread.subscribing;
    const promise = this._doSubscribe(threadId, thread, front).finally(() => {
      if (thread.subscribing === promise) thread.subscribing = null;
    });
    thread.subscribing = promise;
    return promise;
  }

  async _doSubscribe(threadId, thread, front) {
    const fields = { thread_id: threadId };
    if (thread.cursor) {
      fields.after = thread.cursor.seq;
      if (thread.cursor.epoch) fields.epoch = thread.cursor.epoch;
    }
    thread.resubscribing = true; // drop events until the reply: the replay follows it
    try {
      return await this._send(MessageType.SUBSCRIBE, fields, {
        front,
        onReply: (result) => this._subscribed(threadId, thread, result),
        onError: (err) => this._subscribeFailed(threadId, thread, err),
      });
    } catch (err) {
      if (err.code === "already_subscribed") return { thread_id: threadId, already: true };
      throw err;
    }
  }

  /** A subscribe was refused (run as the error is handled, before the frames after it). */
  _subscribeFailed(threadId, thread, err) {
    thread.resubscribing = false;
    if (err.code === "already_subscribed") {
      thread.subscribed = true;
      return;
    }
    if (err.code === "not_found" && this._threads.get(threadId) === thread) {
      this._threads.forget(threadId);
      this._emit("error", err);
    }
  }

  /**
   * A subscribe was answered (run as the reply is handled, before the replay that follows it
   * in the same tick): the thread's events are delivered again from here.
   */
  _subscribed(threadId, thread, result) {
    if (this._threads.get(threadId) !== thread) return; // unwatched meanwhile
    thread.subscribed = true;
    thread.resubscribing = false;
    this._keepBacklog(thread);
    if (result.resync) {
      this.stats.resyncs += 1;
      thread.cursor = { epoch: result.epoch, seq: result.head_seq };
      this._threads.saveCursor(threadId);
      const info = {
        type: "resync",
        thread_id: threadId,
        reason: result.reason,
        status: result.status,
        head_seq: result.head_seq,
        state: result.state ?? null,
        interrupts: result.interrupts ?? [],
      };
      this._emit("resync", info);
      for (const it of thread.iterators) it.push(info);
      thread.backlog?.push(info);
    } else {
      thread.cursor = { epoch: result.epoch, seq: thread.cursor ? thread.cursor.seq : result.head_seq };
      this._threads.saveCursor(threadId);
    }
  }

  async _resubscribe(threadId) {
    const thread = this._threads.get(threadId);
    if (!thread || thread.resubscribing) return;
    thread.resubscribing = true;
    await this._unsubscribeQuietly(threadId);
    if (this._threads.get(threadId) === thread) await this._subscribe(threadId).catch(() => {});
  }

  async _unsubscribeQuietly(threadId) {
    const thread = this._threads.get(threadId);
    try {
      await this._send(MessageType.UNSUBSCRIBE, { thread_id: threadId });
    } catch {
      // not subscribed, or the connection dropped: the reconnect re-subscribes anyway
    }
    if (thread) thread.subscribed = false;
  }

  // --- iteration --------------------------------------------------------------------------

  /**
   * An async iterator over a watched thread's events (and `{type: "resync"}` notices), in seq
   * order, without duplicates: those that arrive after it is made, and, when made right after
   * `await` of a startRun, resume or watch (before the next macrotask), those that came in the
   * same tick as its reply. `untilTerminal: true` ends it after the next terminal run event.
   * Ends with an error if the connection closes for good. Call `return()` (or `break`) to stop.
   */
  events(threadId, { untilTerminal = false } = {}) {
    const thread = this._threads.get(threadId);
    if (!thread) throw new UsageError(`thread ${threadId} is not watched: call watch() or start a run first`);
    const it = new EventIterator(() => thread.iterators.delete(it), untilTerminal);
    for (const item of thread.backlog ?? []) it.push(item);
    thread.iterators.add(it);
    return it;
  }

  _endIterators(error) {
    for (const thread of this._threads.values()) {
      for (const it of thread.iterators) it.fail(error);
    }
  }
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
}
