// The threads a connection watches, each with its cursor `{epoch, seq}`: what an event frame means
// for it (deliver, duplicate, gap), and the cursors and the watched set kept in `storage` (e.g.
// sessionStorage) so they survive a page reload. No socket and no timers: the connection
// (lib/connection.js) acts on what it says, as the Python SDK's router.py and cursor.py.

/** What an event frame is for its thread (`verdict()`). */
export const Verdict = Object.freeze({
  DELIVER: "deliver", // the next event: deliver it and move the cursor
  DUPLICATE: "duplicate", // at or below the cursor: seen already
  GAP: "gap", // events are missing before it: subscribe again from the cursor
});

/** The verdict on an event `seq` for a thread at `cursor` on a server at `epoch`. */
export function verdict(cursor, epoch, seq) {
  if (cursor && cursor.epoch === epoch) {
    if (seq <= cursor.seq) return Verdict.DUPLICATE;
    if (seq > cursor.seq + 1) return Verdict.GAP;
  }
  return Verdict.DELIVER; // a cursor from another epoch is resolved by the subscribe reply
}

export class ThreadTable {
  /** @param {Storage|null} storage  where cursors persist (best effort); `key` prefixes their names */
  constructor(storage, key) {
    this.storage = storage;
    this.key = key;
    this._threads = new Map(); // thread_id -> {cursor, subscribed, subscribing, resubscribing, iterators, backlog}
  }

  get(threadId) {
    return this._threads.get(threadId);
  }

  keys() {
    return this._threads.keys();
  }

  values() {
    return this._threads.values();
  }

  /** Start watching a thread (no cursor: live events only, until one is set). */
  add(threadId) {
    // backlog: events delivered since a reply that (re)started the watch, kept until the next
    // macrotask for iterators made right after its await (see Connection._keepBacklog)
    const thread = { cursor: null, subscribed: false, subscribing: null, resubscribing: false, iterators: new Set(), backlog: null };
    this._threads.set(threadId, thread);
    return thread;
  }

  /** Stop watching a thread: its iterators end and its stored cursor is dropped. */
  forget(threadId) {
    const thread = this._threads.get(threadId);
    if (!thread) return;
    this._threads.delete(threadId);
    for (const it of thread.iterators) it.end();
    this._storage("removeItem", `${this.key}.cursor.${threadId}`);
    this.saveWatched();
  }

  /** Move a thread's cursor and store it. */
  setCursor(threadId, cursor) {
    const thread = this._threads.get(threadId);
    if (!thread) return;
    thread.cursor = cursor;
    this.saveCursor(threadId);
  }

  saveCursor(threadId) {
    const cursor = this._threads.get(threadId)?.cursor;
    if (cursor) this._storage("setItem", `${this.key}.cursor.${threadId}`, JSON.stringify(cursor));
  }

  saveWatched() {
    this._storage("setItem", `${this.key}.watched`, JSON.stringify([...this._threads.keys()]));
  }

  /** Watch again the threads stored by an earlier page, from their stored cursors. */
  restore() {
    const raw = this._storage("getItem", `${this.key}.watched`);
    if (!raw) return;
    let ids;
    try {
      ids = JSON.parse(raw);
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      if (typeof id !== "string") continue;
      const thread = this.add(id);
      try {
        const cursor = JSON.parse(this._storage("getItem", `${this.key}.cursor.${id}`) ?? "null");
        if (cursor && Number.isInteger(cursor.seq)) thread.cursor = { epoch: cursor.epoch ?? null, seq: cursor.seq };
      } catch {
        // a damaged cursor means live-only for that thread
      }
    }
  }

  _storage(method, ...args) {
    if (!this.storage) return null;
    try {
      return this.storage[method](...args);
    } catch {
      return null; // quota or privacy mode: persistence is best effort
    }
  }
}
