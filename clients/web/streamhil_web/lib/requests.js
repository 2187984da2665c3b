// Commands in flight on one connection: those waiting for room in the in-flight window (or for
// the socket), and those sent and not yet answered, each with its timeout. The connection
// (lib/connection.js) gives it the I/O as callbacks and settles answers by command id; this
// module keeps the matching and the window, the JS counterpart of the Python SDK's requests.py.

import { ConnectionLostError, StreamhilError } from "./protocol.js";

/** A command got no answer in time. */
export class RequestTimeoutError extends StreamhilError {}

export class Requests {
  /**
   * @param {number} timeoutMs  how long a command may wait for its answer (queued time included)
   * @param {object} io  `isOpen()` (the handshake is done), `canSend()` (open, with a socket),
   *   `window()` (how many commands may be unanswered at once), `send(type, fields)` (queues the
   *   frame and returns its id; throws on bad fields), `flush()` (writes it; false without a
   *   socket), `forget(id)` (a late answer to it is stale)
   */
  constructor(timeoutMs, io) {
    this.timeoutMs = timeoutMs;
    this.io = io;
    this.pending = new Map(); // id -> entry, for commands sent and not yet answered
    this.queue = []; // entries waiting for room in the window (or for the socket)
  }

  /**
   * Queue a command; resolves with its `result`. `front` puts it ahead of the queue
   * (re-subscribes after a reconnect); `bypass` sends it at once when open (heartbeat pings).
   * `onReply(result)` and `onError(error)` run as the answer is handled, before any later frame
   * (a promise continuation runs only after every frame that arrived in the same tick): what
   * the answer changes in the client's state is in place for the frames that follow it. An
   * `onReply` that throws rejects the command with its error.
   */
  add(type, fields, { front = false, bypass = false, onReply = null, onError = null } = {}) {
    return new Promise((resolvePromise, rejectPromise) => {
      const reject = (err) => {
        try {
          onError?.(err);
        } catch (bug) {
          queueMicrotask(() => { throw bug; }); // seen, without breaking the caller's loop
        }
        rejectPromise(err);
      };
      const resolve = (result) => {
        try {
          onReply?.(result);
        } catch (err) {
          rejectPromise(err);
          return;
        }
        resolvePromise(result);
      };
      const entry = { type, fields, resolve, reject, id: null, timer: null };
      entry.timer = setTimeout(() => {
        const queued = this.queue.indexOf(entry);
        if (queued >= 0) this.queue.splice(queued, 1);
        else if (!this.pending.delete(entry.id)) return;
        else this.io.forget(entry.id); // a late answer is stale
        reject(new RequestTimeoutError(`no answer to ${type} within ${this.timeoutMs} ms`, { code: "timeout", id: entry.id }));
        this.pump();
      }, this.timeoutMs);
      if (bypass && this.io.isOpen()) this._transmit(entry);
      else if (front) this.queue.unshift(entry);
      else this.queue.push(entry);
      this.pump();
    });
  }

  /** Whether a command with this id waits for its answer. */
  has(id) {
    return this.pending.has(id);
  }

  /** End the command `id` with `fn(entry)` (`entry.resolve` / `entry.reject`); frees its slot. */
  settle(id, fn) {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    fn(pending);
    this.pump();
  }

  /** Send queued commands while the window has room. */
  pump() {
    while (this.queue.length && this.io.canSend() && this.pending.size < this.io.window()) {
      this._transmit(this.queue.shift());
    }
  }

  /** Fail every command not yet sent (they would otherwise survive a reconnect). */
  failQueued(error) {
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  /** Fail every command sent and not answered (the socket they went out on is gone). */
  failPending(error) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }

  _transmit(entry) {
    let id;
    try {
      id = this.io.send(entry.type, entry.fields);
    } catch (err) {
      clearTimeout(entry.timer);
      entry.reject(err);
      return;
    }
    entry.id = id;
    this.pending.set(id, entry);
    if (!this.io.flush()) this.settle(id, (p) => p.reject(new ConnectionLostError("not connected", { code: "connection_lost", id })));
  }
}
